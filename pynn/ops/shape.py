"""Shape operations (reshape, permute, expand, indexing, cat, stack) and the argument
normalisation the Tensor methods share."""

import math
import operator

import numpy as np

from ..autograd import ArrayFunction
from . import normalize_dim, unbroadcast
from .elementwise import result_type

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


def sequence_arg(op, tensors):
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    return tensors


# ---------------------------------------------------------------------------------------------
# Functions


class ReshapeFunction(ArrayFunction):
    def name(self):
        return "ViewBackward0"  # PyTorch's for view, reshape and flatten

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


class CatFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = [np.asarray(a) for a in arrays]
        dtype = result_type(*arrays)
        arrays = [a if a.dtype == dtype else a.astype(dtype) for a in arrays]
        # 1-D empty tensors are skipped (PyTorch's legacy rule); their gradient is empty too
        ctx.empty = [a.ndim == 1 and a.shape[0] == 0 for a in arrays]
        if any(ctx.empty) and not all(ctx.empty):
            arrays = [a for a, e in zip(arrays, ctx.empty) if not e]
        else:
            ctx.empty = [False] * len(arrays)
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
        parts = iter(np.split(grad, ctx.splits, axis=ctx.dim))
        grads = [np.zeros(0, grad.dtype) if e else next(parts) for e in ctx.empty]
        return (None, *[g if n else None for g, n in zip(grads, ctx.needs_input_grad[1:])])


class StackFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = [np.asarray(a) for a in arrays]
        dtype = result_type(*arrays)
        arrays = [a if a.dtype == dtype else a.astype(dtype) for a in arrays]
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


class SliceFunction(ArrayFunction):
    """``x[key]`` for a basic key (ints and slices, a view); the backward writes the gradient
    into zeros (used by narrow, split, chunk, unbind, select)."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.x_shape, ctx.key = x.shape, key
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        shape, key = ctx.x_shape, ctx.key
        dx = np.zeros(shape, grad.dtype)
        dx[key] = grad
        return dx, None


def index_map(shape, fn):
    """Apply the element-moving NumPy function ``fn`` to the flat positions of an array of
    ``shape``: the result says where each output element comes from (for
    :class:`GatherMapFunction`)."""
    return fn(np.arange(math.prod(shape), dtype=np.int64).reshape(shape))


class GatherMapFunction(ArrayFunction):
    """``out = x.ravel()[where]`` for an int64 array ``where`` of flat positions (-1: zero):
    every op that only moves, repeats or drops elements (flip, roll, repeat, tile, diagonal,
    tril, index_select, gather, take, masked_select ...) through one node whose backward
    adds each output gradient back at its position."""

    @staticmethod
    def forward(ctx, x, where):
        ctx.x_shape, ctx.where = x.shape, where
        flat = x.reshape(-1)
        if where.size and where.min() < 0:
            out = flat[np.maximum(where, 0)]
            out[where < 0] = 0
            return out
        return flat[where]

    @staticmethod
    def backward(ctx, grad):
        shape, where = ctx.x_shape, ctx.where
        w = where.reshape(-1)
        g = grad.reshape(-1)
        keep = w >= 0
        if not keep.all():
            w, g = w[keep], g[keep]
        size = math.prod(shape)
        if grad.dtype.kind == "f" and grad.dtype.itemsize <= 8:
            dx = np.bincount(w, weights=g, minlength=size).astype(grad.dtype, copy=False)
        else:
            dx = np.zeros(size, grad.dtype)
            np.add.at(dx, w, g)
        return dx.reshape(shape), None


class ScatterMapFunction(ArrayFunction):
    """A copy of ``x`` with ``src`` written (or added, ``accumulate``) at the flat positions
    ``where`` (shaped like ``src``): scatter, scatter_add, index_add, index_copy,
    masked_scatter."""

    @staticmethod
    def forward(ctx, x, src, where, accumulate):
        ctx.where, ctx.accumulate, ctx.src_shape = where, accumulate, np.shape(src)
        if type(src) is not np.ndarray:
            src = np.full(where.shape, src, x.dtype)
        out = np.array(x, copy=True).reshape(-1)
        src = np.broadcast_to(src.astype(x.dtype, copy=False), where.shape)
        if accumulate:
            np.add.at(out, where.reshape(-1), src.reshape(-1))
        else:
            out[where.reshape(-1)] = src.reshape(-1)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        where, accumulate, src_shape = ctx.where, ctx.accumulate, ctx.src_shape
        nx, nsrc, _, _ = ctx.needs_input_grad
        gx = gsrc = None
        flat = grad.reshape(-1)
        if nx:
            if accumulate:
                gx = grad
            else:
                gx = flat.copy()
                gx[where.reshape(-1)] = 0
                gx = gx.reshape(grad.shape)
        if nsrc:
            gsrc = unbroadcast(flat[where], src_shape)
        return gx, gsrc, None, None


class IndexSelectFunction(ArrayFunction):
    """``np.take(x, index, axis)`` for a 1-D int64 index; the backward adds each gradient
    slice back into its row (repeated indices add up)."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.x_shape, ctx.index, ctx.axis = x.shape, index, axis
        return np.take(x, index, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        shape, index, axis = ctx.x_shape, ctx.index, ctx.axis
        dx = np.zeros(shape, grad.dtype)
        np.add.at(np.moveaxis(dx, axis, 0), index, np.moveaxis(grad, axis, 0))
        return dx, None, None


class SplitFunction(ArrayFunction):
    """The pieces ``x[start:stop]`` along ``dim`` for ``(start, stop)`` in ``spans`` (views),
    as one multi-output node: split, chunk, tensor_split, unbind (``squeeze``: each span is
    one index and the dimension is dropped). The backward adds every piece's gradient into
    one array, so a loop over ``unbind`` costs one allocation, not one per piece."""

    @staticmethod
    def forward(ctx, x, dim, spans, squeeze):
        ctx.x_shape, ctx.dim, ctx.spans, ctx.squeeze = x.shape, dim, spans, squeeze
        lead = (slice(None),) * dim
        if squeeze:
            return tuple(x[lead + (a,)] for a, _ in spans)
        return tuple(x[lead + (slice(a, b),)] for a, b in spans)

    @staticmethod
    def backward(ctx, *grads):
        shape, dim, spans, squeeze = ctx.x_shape, ctx.dim, ctx.spans, ctx.squeeze
        g0 = next(g for g in grads if g is not None)
        dx = np.zeros(shape, g0.dtype)
        lead = (slice(None),) * dim
        for g, (a, b) in zip(grads, spans):
            if g is not None:
                dx[lead + ((a,) if squeeze else (slice(a, b),))] += g
        return dx, None, None, None
