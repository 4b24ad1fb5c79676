"""Distance layers: cosine similarity and p-norm distance between pairs of vectors."""

from . import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """``x1 . x2 / max(|x1| |x2|, eps)`` along ``dim``.

    Parameters
    ----------
    dim : int
    eps : float

    Shape
    -----
    - Input1, Input2: broadcastable shapes.
    - Output: the broadcast shape without ``dim``.
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``|x1 - x2 + eps|_p`` along the last dimension.

    Parameters
    ----------
    p : float
    eps : float
    keepdim : bool

    Shape
    -----
    - Input1, Input2: (N, D) or (D,).
    - Output: (N,) (or (N, 1) with ``keepdim``).
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
