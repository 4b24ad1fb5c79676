"""Elementwise arithmetic with NumPy broadcasting: each backward sums its gradient back to
its input's shape with :func:`pynn.ops.unbroadcast`. Operands may be Python scalars or
ndarrays (constants: no gradient)."""

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast

_ndarray = np.ndarray


def _shape(x):
    return x.shape if type(x) is _ndarray else ()


class AddFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape if type(a) is _ndarray else (),
                      b.shape if type(b) is _ndarray else ())
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if na else None, unbroadcast(grad, sb) if nb else None)


class SubFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape if type(a) is _ndarray else (),
                      b.shape if type(b) is _ndarray else ())
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if na else None, -unbroadcast(grad, sb) if nb else None)


class MulFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        return (unbroadcast(grad * b, _shape(a)) if na else None,
                unbroadcast(grad * a, _shape(b)) if nb else None)


class DivFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad / b, _shape(a)) if na else None
        gb = unbroadcast(-grad * a / (b * b), _shape(b)) if nb else None
        return ga, gb


class PowFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if na:
            if type(b) is not _ndarray and b == 0:
                ga = np.zeros(_shape(a), grad.dtype)
            else:
                ga = unbroadcast(grad * b * np.power(a, b - 1), _shape(a))
        if nb:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's rule)
            with np.errstate(divide="ignore", invalid="ignore"):
                d = out * np.log(a)
            d = np.where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0, d)
            gb = unbroadcast(grad * d, _shape(b))
        return ga, gb


class NegFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class AbsFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class ExpFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class LogFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.saved_tensors[0]


class SqrtFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return 0.5 * grad / ctx.saved_tensors[0]


class ClampFunction(ArrayFunction):
    """``clip(x, min, max)`` with scalar bounds (either may be None); the gradient passes
    where ``min <= x <= max``, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        if lo is not None and hi is not None:
            mask = (x >= lo) & (x <= hi)
        elif lo is not None:
            mask = x >= lo
        else:
            mask = x <= hi
        return np.where(mask, grad, grad.dtype.type(0)), None, None


class CastFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.src), None


class CloneFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx, grad):
        return grad
