"""``Flatten``: merge a range of dimensions (by default all but the batch one)."""

from . import functional as F
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim``: (N, C, H, W) -> (N, C*H*W) by default.

    Parameters
    ----------
    start_dim : int
        Default 1: keep the batch dimension.
    end_dim : int

    Shape
    -----
    - Input: ``(N, *dims)``.
    - Output: (N, prod(dims)) with the defaults; in general the dimensions ``start_dim`` to
      ``end_dim`` are replaced by their product.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (the inverse of :class:`Flatten`).

    Parameters
    ----------
    dim : int
    unflattened_size : tuple of int
        Its product is the size of ``dim`` (one entry may be -1).

    Shape
    -----
    - Input: ``(*, S, *)`` with S at ``dim``.
    - Output: ``(*, *unflattened_size, *)``.
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        shape = tuple(input.shape)
        dim = self.dim % len(shape)
        return input.reshape(*shape[:dim], *self.unflattened_size, *shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
