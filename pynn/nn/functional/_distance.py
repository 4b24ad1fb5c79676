"""Distances and similarities between vectors: cosine, p-norm, ``normalize``, ``pdist``."""

import numpy as np

from ...tensor import _wrap
from ._utils import _data, _tensor

__all__ = [
    "cosine_similarity",
    "normalize",
    "pairwise_distance",
    "pdist",
]


def _norm(x, dim, keepdim=False, p=2.0):
    if p == 2 and not x.is_complex():
        return (x * x).sum(dim, keepdim=keepdim).sqrt()
    if p == 2:  # real, as PyTorch's norm of a complex tensor
        return x.abs().square().sum(dim, keepdim=keepdim).sqrt()
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    if p == float("inf"):
        return x.abs().amax(dim, keepdim=keepdim)
    return (x.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / max(|x1| |x2|, eps)`` along ``dim`` (broadcasting the two).

    Parameters
    ----------
    x1, x2 : Tensor of broadcastable shapes
    dim : int
    eps : float

    Returns
    -------
    Tensor of the broadcast shape without ``dim``
    """
    a, b = _tensor(x1), _tensor(x2)
    dot = (a * b).sum(dim)
    n1 = (a * a).sum(dim)
    n2 = (b * b).sum(dim)
    return dot / (n1 * n2).clamp(min=eps * eps).sqrt()


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``|x1 - x2 + eps|_p`` along the last dimension.

    Parameters
    ----------
    x1, x2 : Tensor of shape (N, D) or (D,) (broadcastable)
    p : float
    eps : float
    keepdim : bool

    Returns
    -------
    Tensor of shape (N,) (or (N, 1) with ``keepdim``)
    """
    return _norm(_tensor(x1) - x2 + eps, -1, keepdim, p)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(|input|_p, eps)`` along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    p : float
    dim : int
    eps : float
    out : None

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    x = _tensor(input)
    return x / _norm(x, dim, True, p).clamp(min=eps)


def pdist(input, p=2.0):
    """The ``p``-norm distances between every pair of rows, ``i < j`` in row-major order.

    Parameters
    ----------
    input : Tensor of shape (N, M)
    p : float
        The norm's order.

    Returns
    -------
    Tensor of shape (N * (N - 1) / 2,)
        Differentiable.
    """
    x = _data(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    i, j = np.triu_indices(x.shape[0], 1)
    diff = input[_wrap(i, None)] - input[_wrap(j, None)]
    return diff.norm(p=p, dim=1)
