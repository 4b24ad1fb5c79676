"""Shape operations (reshape, permute, expand, indexing, cat, stack) and the argument
normalisation the Tensor methods share."""

import math
import operator

import numpy as np

from ..autograd import ArrayFunction
from . import normalize_dim, unbroadcast

# ---------------------------------------------------------------------------------------------
# Argument helpers


def shape_arg(shape):
    """``reshape(2, 3)`` and ``reshape((2, 3))`` both give ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be a sequence of ints, got {shape!r}") from None


def flatten_shape(shape, start_dim, end_dim):
    if not shape:
        return (1,)
    s = normalize_dim(start_dim, len(shape), "flatten")
    e = normalize_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                         f"({end_dim}) for shape {shape}")
    return shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]


def unsqueeze_shape(shape, dim):
    dim = normalize_dim(dim, len(shape) + 1, "unsqueeze")
    return shape[:dim] + (1,) + shape[dim:]


def squeeze_shape(shape, dim):
    if dim is None:
        return tuple(n for n in shape if n != 1)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    drop = {normalize_dim(d, len(shape), "squeeze") for d in dims} if shape else set()
    return tuple(n for i, n in enumerate(shape) if not (i in drop and n == 1))


def swap_perm(ndim, dim0, dim1):
    perm = list(range(ndim))
    a = normalize_dim(dim0, ndim, "transpose")
    b = normalize_dim(dim1, ndim, "transpose")
    if ndim:
        perm[a], perm[b] = perm[b], perm[a]
    return tuple(perm)


def perm_arg(ndim, dims):
    dims = shape_arg(dims)
    perm = tuple(normalize_dim(d, ndim, "permute") for d in dims)
    if sorted(perm) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {ndim} "
                         "dimensions")
    return perm


def expand_shape(shape, sizes):
    if len(sizes) < len(shape):
        raise ValueError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                         f"or equal to the number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    out = []
    for i, size in enumerate(sizes):
        if i < lead:
            if size < 0:
                raise ValueError(f"expand: -1 is not allowed in a leading, non-existing "
                                 f"dimension ({i}); target sizes {list(sizes)}")
            out.append(size)
            continue
        have = shape[i - lead]
        if size == -1:
            size = have
        elif have != 1 and have != size:
            raise ValueError(
                f"expand: the expanded size of the tensor ({size}) must match the existing "
                f"size ({have}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                f"Tensor sizes: {list(shape)}"
            )
        out.append(size)
    return tuple(out)


def index_key(key):
    """An indexing key with Tensors replaced by their ndarrays."""
    if type(key) is tuple:
        return tuple(k._data if hasattr(k, "grad_fn") else k for k in key)
    return key._data if hasattr(key, "grad_fn") else key


def _is_advanced(key):
    parts = key if type(key) is tuple else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in parts)


def sequence_arg(op, tensors):
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    return tensors


# ---------------------------------------------------------------------------------------------
# Functions


class ReshapeFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for input of size "
                             f"{x.size} (input shape {x.shape})") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class PermuteFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, perm):
        ctx.perm = perm
        return x.transpose(perm)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.perm)), None


class ExpandFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class IndexFunction(ArrayFunction):
    """``x[key]``, basic or advanced (integer/bool arrays); the backward scatters with
    ``np.add.at`` so repeated indices accumulate."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.args = (x.shape, key)
        try:
            return x[key]
        except IndexError as exc:
            raise IndexError(f"index: {exc} (tensor shape {x.shape})") from None

    @staticmethod
    def backward(ctx, grad):
        shape, key = ctx.args
        dx = np.zeros(shape, grad.dtype)
        if _is_advanced(key):
            np.add.at(dx, key, grad)
        else:
            dx[key] = grad
        return dx, None


class CatFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = [np.asarray(a) for a in arrays]
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
        dim = normalize_dim(dim, arrays[0].ndim, "cat")
        ctx.dim = dim
        ctx.splits = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        try:
            return np.concatenate(arrays, axis=dim)
        except ValueError:
            raise ValueError(f"cat: tensors must have the same shape except in dimension "
                             f"{dim}; got shapes {[a.shape for a in arrays]}") from None

    @staticmethod
    def backward(ctx, grad):
        parts = np.split(grad, ctx.splits, axis=ctx.dim)
        return (None, *[p if n else None for p, n in zip(parts, ctx.needs_input_grad[1:])])


class StackFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = [np.asarray(a) for a in arrays]
        dim = normalize_dim(dim, arrays[0].ndim + 1, "stack")
        ctx.dim = dim
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"stack: expects each tensor to be equal size, got shapes "
                             f"{[a.shape for a in arrays]}")
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        parts = np.moveaxis(grad, ctx.dim, 0)
        return (None, *[p if n else None for p, n in zip(parts, ctx.needs_input_grad[1:])])
