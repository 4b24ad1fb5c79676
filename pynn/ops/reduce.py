"""Reductions: sum, mean, amax/amin (ties share the gradient), values at given indices
(``max(dim)``), and the non-differentiable argmax/argmin."""

import math

import numpy as np

from ..autograd import ArrayFunction
from . import normalize_dim


def norm_dims(dim, ndim, op):
    """``dim`` (None, int, or sequence of ints) as None or a sorted tuple of axes."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(sorted(normalize_dim(int(d), ndim, op) for d in dim))
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(dim)} repeats a dimension")
        return axes
    return (normalize_dim(int(dim), ndim, op),)


def _expand_grad(grad, axes, keepdim, shape):
    """Undo a reduction's shape change on its gradient, then broadcast to ``shape``."""
    if axes is not None and not keepdim:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


class SumFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axes = norm_dims(dim, x.ndim, "sum")
        ctx.args = (axes, keepdim, x.shape)
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        axes, keepdim, shape = ctx.args
        return _expand_grad(grad, axes, keepdim, shape), None, None


class MeanFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        if x.dtype.kind not in "fc":
            raise TypeError(f"mean: input dtype should be floating point, got {x.dtype}")
        axes = norm_dims(dim, x.ndim, "mean")
        count = x.size if axes is None else math.prod(x.shape[a] for a in axes)
        ctx.args = (axes, keepdim, x.shape, count)
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        axes, keepdim, shape, count = ctx.args
        return _expand_grad(grad / count, axes, keepdim, shape), None, None


class AmaxFunction(ArrayFunction):
    """Maximum (or minimum, ``is_min``) over ``dim``; the gradient is shared equally by the
    elements that tie for the extremum (PyTorch's ``amax`` and full ``max()`` rule)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_min):
        op = "amin" if is_min else "amax"
        if x.size == 0:
            raise RuntimeError(f"{op}: cannot reduce an empty tensor (shape {x.shape})")
        axes = norm_dims(dim, x.ndim, op)
        y = (np.min if is_min else np.max)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim)
        if keepdim:
            return y
        return y.reshape(()) if axes is None else np.squeeze(y, axes)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        axes, _ = ctx.args
        mask = x == y
        count = mask.sum(axis=axes, keepdims=True)
        g = grad.reshape(y.shape)
        return np.where(mask, g / count, 0).astype(grad.dtype, copy=False), None, None, None


class TakeAlongFunction(ArrayFunction):
    """``take_along_axis(x, indices, dim)`` with keepdim-shaped indices; the values of
    ``max(dim)`` / ``min(dim)``. The gradient goes to the indexed elements."""

    @staticmethod
    def forward(ctx, x, dim, indices, keepdim):
        dim = normalize_dim(dim, x.ndim, "max")
        ctx.args = (x.shape, dim, indices, keepdim)
        y = np.take_along_axis(x, indices, dim) if x.ndim else x
        return y if keepdim or x.ndim == 0 else np.squeeze(y, dim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, indices, keepdim = ctx.args
        if not shape:
            return grad, None, None, None
        dx = np.zeros(shape, grad.dtype)
        np.put_along_axis(dx, indices, grad if keepdim else np.expand_dims(grad, dim), dim)
        return dx, None, None, None


def arg_reduce(data, dim, keepdim, fn):
    """Indices (int64) of ``fn`` (np.argmax / np.argmin) over ``dim`` (all when None)."""
    if dim is None:
        idx = np.asarray(fn(data), np.int64)
        return idx.reshape((1,) * data.ndim) if keepdim else idx
    dim = normalize_dim(dim, data.ndim, fn.__name__)
    if data.ndim == 0:
        return np.zeros((), np.int64)
    return fn(data, axis=dim, keepdims=keepdim).astype(np.int64, copy=False)
