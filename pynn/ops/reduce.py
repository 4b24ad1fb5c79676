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
    def name(self):
        return "SumBackward0" if self.axes is None else "SumBackward1"  # as PyTorch's

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axes = norm_dims(dim, x.ndim, "sum")
        ctx.axes, ctx.keepdim, ctx.x_shape = axes, keepdim, x.shape
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_grad(grad, ctx.axes, ctx.keepdim, ctx.x_shape), None, None


class MeanFunction(ArrayFunction):
    def name(self):
        return "MeanBackward0" if self.axes is None else "MeanBackward1"  # as PyTorch's

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        if x.dtype.kind not in "fc":
            raise TypeError(f"mean: input dtype should be floating point, got {x.dtype}")
        axes = norm_dims(dim, x.ndim, "mean")
        count = x.size if axes is None else math.prod(x.shape[a] for a in axes)
        ctx.axes, ctx.keepdim, ctx.x_shape, ctx.count = axes, keepdim, x.shape, count
        if x.dtype.itemsize < 4:  # half precision accumulates in float32, as PyTorch's
            return (np.sum(x, axis=axes, keepdims=keepdim, dtype=np.float32) / count).astype(
                x.dtype)
        # a sum and a division: np.mean's own overhead costs more on small arrays
        total = np.sum(x, axis=axes, keepdims=keepdim)
        if count:
            return total / count
        return np.full(np.shape(total), np.nan, x.dtype)  # the mean of nothing

    @staticmethod
    def backward(ctx, grad):
        return _expand_grad(grad / ctx.count, ctx.axes, ctx.keepdim, ctx.x_shape), None, None


class AmaxFunction(ArrayFunction):
    """Maximum (or minimum, ``is_min``) over ``dim``; the gradient is shared equally by the
    elements that tie for the extremum (PyTorch's ``amax`` and full ``max()`` rule)."""

    def name(self):
        # PyTorch's: max()/min() over everything, amax/amin along dims
        is_min = self._inputs[3]
        if self.axes is None:
            return "MinBackward1" if is_min else "MaxBackward1"
        return "AminBackward0" if is_min else "AmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_min):
        op = "amin" if is_min else "amax"
        if x.size == 0:
            raise RuntimeError(f"{op}: cannot reduce an empty tensor (shape {x.shape})")
        axes = norm_dims(dim, x.ndim, op)
        y = (np.min if is_min else np.max)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axes = axes
        if keepdim:
            return y
        return y.reshape(()) if axes is None else np.squeeze(y, axes)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        mask = x == y
        count = mask.sum(axis=ctx.axes, keepdims=True)
        g = grad.reshape(y.shape)
        return np.where(mask, g / count, 0).astype(grad.dtype, copy=False), None, None, None


class TakeAlongFunction(ArrayFunction):
    """``take_along_axis(x, indices, dim)`` with keepdim-shaped indices; the values of
    ``max(dim)`` / ``min(dim)``. The gradient goes to the indexed elements."""

    @staticmethod
    def forward(ctx, x, dim, indices, keepdim):
        dim = normalize_dim(dim, x.ndim, "max")
        ctx.x_shape, ctx.dim, ctx.indices, ctx.keepdim = x.shape, dim, indices, keepdim
        y = np.take_along_axis(x, indices, dim) if x.ndim else x
        return y if keepdim or x.ndim == 0 else np.squeeze(y, dim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, indices, keepdim = ctx.x_shape, ctx.dim, ctx.indices, ctx.keepdim
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


class ProdFunction(ArrayFunction):
    """Product over one axis or all; the gradient of each element is the product of the
    others (from prefix and suffix products, so zeros need no special case)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        axis = None if dim is None else normalize_dim(dim, x.ndim, "prod")
        ctx.axis, ctx.keepdim = axis, keepdim
        ctx.save_for_backward(x)
        return np.prod(x, axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        axis, keepdim = ctx.axis, ctx.keepdim
        flat = axis is None
        xs = x.reshape(-1) if flat else x
        ax = 0 if flat else axis
        if xs.ndim == 0:
            return grad.copy(), None, None
        ones = np.ones_like(np.take(xs, [0], axis=ax))
        left = np.cumprod(np.concatenate([ones, np.delete(xs, -1, axis=ax)], axis=ax), axis=ax)
        rev = np.flip(xs, ax)
        right = np.flip(np.cumprod(np.concatenate([ones, np.delete(rev, -1, axis=ax)], axis=ax),
                                   axis=ax), ax)
        others = left * right
        if others.dtype.kind == "c":  # PyTorch's complex gradients: grad times conj(d/dx)
            others = np.conj(others)
        g = grad.reshape(()) if flat else (grad if keepdim else np.expand_dims(grad, ax))
        dx = g * others
        return dx.reshape(x.shape), None, None


class CumsumFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim) if x.ndim else x.copy()

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim == 0:
            return grad, None
        d = ctx.dim
        return np.flip(np.cumsum(np.flip(grad, d), axis=d), d), None


class CumprodFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim):
        y = np.cumprod(x, axis=dim) if x.ndim else x.copy()
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if grad.ndim == 0:
            return grad, None
        if x.dtype.kind == "c":  # PyTorch's complex gradients: grad times conj(d/dx)
            x, y = np.conj(x), np.conj(y)
        d = ctx.dim
        if np.all(x != 0):
            s = np.flip(np.cumsum(np.flip(grad * y, d), axis=d), d)
            return s / x, None
        # With zeros: d y_k / d x_i is the product of x_j for j <= k, j != i, built column by
        # column (quadratic in the length of dim, which only this rare case pays).
        xm = np.moveaxis(x, d, -1)
        gm = np.moveaxis(grad, d, -1)
        n = xm.shape[-1]
        dx = np.empty_like(xm)
        for i in range(n):
            xi = xm.copy()
            xi[..., i] = 1
            p = np.cumprod(xi, axis=-1)
            dx[..., i] = np.sum(gm[..., i:] * p[..., i:], axis=-1)
        return np.moveaxis(dx, -1, d), None


class NormFunction(ArrayFunction):
    """The vector p-norm over ``dim`` (None: all elements); p may be inf, -inf or 0."""

    @staticmethod
    def forward(ctx, x, p, dim, keepdim):
        axes = norm_dims(dim, x.ndim, "norm")
        a = np.abs(x)
        if p == math.inf:
            y = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros(())
        elif p == -math.inf:
            y = np.min(a, axis=axes, keepdims=True)
        elif p == 0:
            y = np.sum(a != 0, axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            y = np.sum(a, axis=axes, keepdims=True)
        elif p == 2:
            y = np.sqrt(np.sum(x * x if x.dtype.kind != "c" else a * a, axis=axes,
                               keepdims=True))
        else:
            y = np.sum(a ** p, axis=axes, keepdims=True) ** (1.0 / p)
        # real for complex x, as PyTorch's; np.sign(z) in the gradient is then z / |z|
        y = y.astype(a.dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.p, ctx.axes = p, axes
        if keepdim:
            return y
        return y.reshape(()) if axes is None else np.squeeze(y, axes)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        p, axes = ctx.p, ctx.axes
        g = grad.reshape(y.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                dx = np.zeros_like(x)
            elif p == 1:
                dx = g * np.sign(x)
            elif p in (math.inf, -math.inf):
                mask = np.abs(x) == y
                count = mask.sum(axis=axes, keepdims=True)
                dx = np.where(mask, g * np.sign(x) / count, 0)
            elif p == 2:
                dx = np.where(y == 0, 0, g * x / y)
            else:
                dx = np.where(y == 0, 0, g * np.sign(x) * np.abs(x) ** (p - 1) / y ** (p - 1))
        return dx.astype(x.dtype, copy=False), None, None, None


class TieShareFunction(ArrayFunction):
    """Pick the value ``y`` (keepdim-shaped) of a reduction over ``dim`` (None: all) out of
    ``x``; the gradient is shared equally by the elements equal to it (``median()``)."""

    @staticmethod
    def forward(ctx, x, y, dim, keepdim):
        axes = norm_dims(dim, x.ndim, "median")
        ctx.save_for_backward(x, y)
        ctx.axes = axes
        if keepdim:
            return y.copy()
        return y.reshape(()) if axes is None else np.squeeze(y, axes)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        mask = (x == y) | (np.isnan(x) & np.isnan(y))
        count = mask.sum(axis=ctx.axes, keepdims=True)
        g = grad.reshape(y.shape)
        return np.where(mask, g / count, 0).astype(grad.dtype, copy=False), None, None, None
