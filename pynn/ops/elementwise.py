"""Elementwise arithmetic and functions with NumPy broadcasting and PyTorch's type promotion:
each backward sums its gradient back to its input's shape with :func:`pynn.ops.unbroadcast`.
Operands may be Python scalars or ndarrays (constants: no gradient)."""

import math
import numbers

import numpy as np

from .. import _dtype
from ..autograd import ArrayFunction
from . import unbroadcast

# The special functions below are NumPy and the math module only (SciPy is not a
# dependency): math's scalar erf and lgamma element by element, exact to double precision
# (these ops are rare, so their speed matters little), and digamma/trigamma by recurrence
# up to 10 and their asymptotic series, with reflection below 1/2.
_erf_scalar = np.frompyfunc(math.erf, 1, 1)
_lgamma_scalar = np.frompyfunc(math.lgamma, 1, 1)


def _elementwise(scalar_fn, x):
    return np.asarray(scalar_fn(x), dtype=np.float64).astype(x.dtype, copy=False)


def _erf(x):
    return _elementwise(_erf_scalar, x)


def _erfinv(x):
    # Newton on erf(y) = x from y = x sqrt(pi) / 2, where |x| < 1; +-inf at +-1, NaN past.
    x64 = np.asarray(x, np.float64)
    inside = np.abs(x64) < 1
    t = np.where(inside, x64, 0.0)
    y = t * (math.sqrt(math.pi) / 2)
    for _ in range(100):
        step = (_elementwise(_erf_scalar, y) - t) * (math.sqrt(math.pi) / 2) * np.exp(y * y)
        y = y - step
        if not np.any(np.abs(step) > 1e-15 * np.maximum(np.abs(y), 1e-300)):
            break
    y = np.where(inside, y, np.where(np.abs(x64) == 1, np.copysign(np.inf, x64), np.nan))
    return y.astype(np.asarray(x).dtype, copy=False)


def _poles(x):
    return (x <= 0) & (x == np.floor(x))


def _lgamma(x):
    pole = _poles(x)
    out = _elementwise(_lgamma_scalar, np.where(pole, 1.0, x).astype(x.dtype))
    return np.where(pole, np.inf, out).astype(x.dtype, copy=False)


def _shift_to_ten(y, term):
    """acc, y: y raised past 10 by unit steps, acc the sum of term(y) over the steps."""
    acc = np.zeros_like(y)
    for _ in range(10):
        small = y < 10
        if not small.any():
            break
        acc = acc + np.where(small, term(np.where(small, y, 1.0)), 0.0)
        y = np.where(small, y + 1, y)
    return acc, y


def _digamma(x):
    x64 = np.asarray(x, np.float64)
    reflect = x64 < 0.5
    y = np.where(reflect, 1 - x64, x64)
    acc, y = _shift_to_ten(y, lambda v: -1 / v)  # psi(v) = psi(v + 1) - 1 / v
    r = 1 / (y * y)
    series = (np.log(y) - 0.5 / y
              - r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r / 132)))))
    out = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(reflect, out - np.pi / np.tan(np.pi * x64), out)
    pole = _poles(x64)
    out = np.where(pole, np.where(x64 == 0, -np.inf, np.nan), out)
    return out.astype(np.asarray(x).dtype, copy=False)


def _polygamma1(x):
    """The trigamma function, the derivative of digamma."""
    x64 = np.asarray(x, np.float64)
    reflect = x64 < 0.5
    y = np.where(reflect, 1 - x64, x64)
    acc, y = _shift_to_ten(y, lambda v: 1 / (v * v))  # psi1(v) = psi1(v + 1) + 1 / v^2
    r = 1 / (y * y)
    series = (1 / y + 0.5 * r + r / y * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30
                                                                                 - r * 5 / 66)))))
    out = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(reflect, (np.pi / np.sin(np.pi * x64)) ** 2 - out, out)
    out = np.where(_poles(x64), np.inf, out)
    return out.astype(np.asarray(x).dtype, copy=False)


_ndarray = np.ndarray


def _shape(x):
    return x.shape if type(x) is _ndarray else ()


def _conj(x):
    """``x`` conjugated if complex: the chain rule of PyTorch's complex gradients multiplies
    the incoming gradient by the conjugate of a holomorphic op's derivative."""
    if getattr(x, "dtype", None) is not None:
        return np.conj(x) if x.dtype.kind == "c" else x
    return x.conjugate() if isinstance(x, complex) else x


# ---------------------------------------------------------------------------------------------
# Type promotion (PyTorch's rules, which differ from NumPy's for mixed kinds and 0-d operands)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)


def default_float():
    """The NumPy dtype of the default float dtype (``pynn.set_default_dtype``)."""
    return _dtype._default._np


def promote_types(a, b):
    """PyTorch's ``promote_types`` for two dtypes: an integer or bool meeting a float gives
    the float (NumPy would widen int64 with float32 to float64)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb and ca >= 2 > cb:
        return a
    if ca != cb and cb >= 2 > ca:
        return b
    return np.promote_types(a, b)


def _combine(higher, lower):
    # The result of a higher-priority group of operands stands unless a lower-priority group
    # is of a higher category (bool < integer < float < complex).
    if higher is None:
        return lower
    if lower is None or _CATEGORY[higher.kind] >= max(2, _CATEGORY[lower.kind]):
        return higher  # (a float tensor with a complex scalar is complex: PyTorch's)
    if higher.kind == "b" or _CATEGORY[lower.kind] > _CATEGORY[higher.kind]:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op over ``operands``.

    Parameters
    ----------
    *operands : ndarray, Tensor or Python/NumPy scalar
        Arrays with dimensions decide first, then 0-d arrays, then scalars, each group
        counting only when it is of a higher category (bool < int < float < complex) than
        those before it. A Python float scalar has the default dtype, an int is int64.

    Returns
    -------
    numpy.dtype
    """
    dim = zero = wrapped = None
    for x in operands:
        if hasattr(x, "_data"):
            x = x._data
        if isinstance(x, np.ndarray):
            if x.ndim:
                dim = x.dtype if dim is None else promote_types(dim, x.dtype)
            else:
                zero = x.dtype if zero is None else promote_types(zero, x.dtype)
            continue
        if isinstance(x, (bool, np.bool_)):
            d = _BOOL
        elif isinstance(x, (int, np.integer)):
            d = _I64
        elif isinstance(x, complex):
            d = np.dtype(np.complex64)
        else:
            d = default_float()
        wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


def _operands(a, b):
    """``a`` and ``b`` converted to the dtype PyTorch gives ``a op b``; the cheap case (two
    arrays of one dtype, or a float array and a Python number) returns them as they are."""
    ta, tb = type(a), type(b)
    if ta is _ndarray:
        if tb is _ndarray:
            if a.dtype is b.dtype or (a.dtype == b.dtype):
                return a, b
        elif (tb is float or tb is int) and a.dtype.kind == "f":
            return a, b
    elif tb is _ndarray and (ta is float or ta is int) and b.dtype.kind == "f":
        return a, b
    dtype = result_type(a, b)
    return _cast(a, dtype), _cast(b, dtype)


def _plain_pair(a, b):
    """True when ``a op b`` needs no promotion: two arrays of one dtype, or a float array and
    a Python number. (A lambda-free function the hot forwards test first.)"""
    if type(a) is _ndarray:
        tb = type(b)
        if tb is _ndarray:
            return a.dtype is b.dtype
        return (tb is float or tb is int) and a.dtype.kind == "f"
    ta = type(a)
    return type(b) is _ndarray and (ta is float or ta is int) and b.dtype.kind == "f"


def _cast(x, dtype):
    if type(x) is _ndarray:
        return x if x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype)


def float_operands(a, b):
    """As :func:`_operands`, then integers and bools become float32 (true division)."""
    if type(a) is _ndarray and a.dtype.kind == "f" and (
            type(b) is float or type(b) is _ndarray and b.dtype is a.dtype):
        return a, b
    a, b = _operands(a, b)
    dt = a.dtype if type(a) is _ndarray else np.asarray(a).dtype
    if dt.kind in "biu":
        f = default_float()
        return _cast(a, f), _cast(b, f)
    return a, b


def as_float(x):
    """``x`` itself if floating point, else converted to the default float dtype: what
    ``exp``, ``sqrt`` ... do to integer input."""
    return x if x.dtype.kind in "fc" else x.astype(default_float())


# ---------------------------------------------------------------------------------------------
# Arithmetic


class AddFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        if type(a) is _ndarray and type(b) is _ndarray:  # the common case, tested inline
            if a.dtype is not b.dtype:
                a, b = _operands(a, b)
        elif not _plain_pair(a, b):
            a, b = _operands(a, b)
        ctx.shapes = (a.shape if type(a) is _ndarray else (),
                      b.shape if type(b) is _ndarray else ())
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if na else None, unbroadcast(grad, sb) if nb else None)


def _is_tensor_arg(node, k):
    """Whether argument ``k`` of the recorded call was a tensor (not a Python/NumPy number)."""
    return not isinstance(node._inputs[k], (numbers.Number, np.generic))


def _wrapped_number_slots(node):
    """PyTorch wraps a number operand of ``+``, ``*`` and ``/`` into a tensor, second
    (``3 * x`` is ``mul(x, 3)``): a grad_fn hook sees a None gradient in its place."""
    tensors = [i for i in range(len(node._inputs)) if _is_tensor_arg(node, i)]
    return tensors + [i for i in range(len(node._inputs)) if i not in tensors]


class SubFunction(ArrayFunction):
    def _hook_slots(self):
        # ``x - 3`` keeps the number's slot; ``3 - x`` is PyTorch's one-input rsub
        return [0, 1] if _is_tensor_arg(self, 0) else [1]

    def name(self):
        # PyTorch's: ``number - tensor`` is its own node
        return "SubBackward0" if _is_tensor_arg(self, 0) else "RsubBackward1"

    @staticmethod
    def forward(ctx, a, b):
        if type(a) is _ndarray and type(b) is _ndarray:  # the common case, tested inline
            if a.dtype is not b.dtype:
                a, b = _operands(a, b)
        elif not _plain_pair(a, b):
            a, b = _operands(a, b)
        if type(a) is _ndarray and a.dtype.kind == "b":
            raise RuntimeError("sub: subtraction of bool tensors is not supported; use "
                               "logical_xor() or bitwise_xor()")
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
        if type(a) is _ndarray and type(b) is _ndarray:  # the common case, tested inline
            if a.dtype is not b.dtype:
                a, b = _operands(a, b)
        elif not _plain_pair(a, b):
            a, b = _operands(a, b)
        ctx.save_for_backward(a, b)
        if type(a) is _ndarray and a.dtype.kind == "b":
            return np.logical_and(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        return (unbroadcast(grad * _conj(b), _shape(a)) if na else None,
                unbroadcast(grad * _conj(a), _shape(b)) if nb else None)


class DivFunction(ArrayFunction):
    """True division; integer and bool operands give float32, as in PyTorch."""

    def name(self):
        # PyTorch's: ``number / tensor`` is the reciprocal times the number
        return "DivBackward0" if _is_tensor_arg(self, 0) else "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        if not _plain_pair(a, b) or (a.dtype.kind if type(a) is _ndarray else b.dtype.kind) \
                != "f":
            a, b = float_operands(a, b)
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b = ctx.saved_tensors
        ga = unbroadcast(grad / _conj(b), _shape(a)) if na else None
        gb = unbroadcast(-grad * _conj(a / (b * b)), _shape(b)) if nb else None
        return ga, gb


AddFunction._hook_slots = MulFunction._hook_slots = DivFunction._hook_slots = \
    _wrapped_number_slots


class PowFunction(ArrayFunction):
    def name(self):
        # PyTorch's: a number exponent, a tensor exponent, a number base
        if not _is_tensor_arg(self, 0):
            return "PowBackward2"
        return "PowBackward1" if _is_tensor_arg(self, 1) else "PowBackward0"

    @staticmethod
    def forward(ctx, a, b):
        a, b = _operands(a, b)
        if type(a) is _ndarray and a.dtype.kind in "iu" and np.any(np.asarray(b) < 0):
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        a, b, out = ctx.saved_tensors
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if na:
                if type(b) is not _ndarray and b == 0:
                    ga = np.zeros(_shape(a), grad.dtype)
                else:
                    d = b * np.power(a, b - 1)
                    # PyTorch takes the derivative as 0 where the exponent is 0
                    d = np.where(np.asarray(b) == 0, 0, d)
                    ga = unbroadcast(grad * _conj(d), _shape(a))
            if nb:
                # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's rule)
                d = out * np.log(a)
                d = np.where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0, d)
                gb = unbroadcast(grad * _conj(d), _shape(b))
        return ga, gb


class MaximumFunction(ArrayFunction):
    """``maximum`` (or ``minimum``, ``is_min``); a tie sends half the gradient each way."""

    @staticmethod
    def forward(ctx, a, b, is_min):
        a, b = _operands(a, b)
        ctx.save_for_backward(a, b)
        ctx.is_min = is_min
        return (np.minimum if is_min else np.maximum)(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb, _ = ctx.needs_input_grad
        wins = (a < b) if ctx.is_min else (a > b)
        share = np.where(wins, 1.0, np.where(a == b, 0.5, 0.0)).astype(grad.dtype, copy=False)
        ga = unbroadcast(grad * share, _shape(a)) if na else None
        gb = unbroadcast(grad * (1 - share), _shape(b)) if nb else None
        return ga, gb, None


class FmodFunction(ArrayFunction):
    """``fmod`` (sign of the dividend) or ``remainder`` (sign of the divisor, ``floor``)."""

    @staticmethod
    def forward(ctx, a, b, floor):
        a, b = _operands(a, b)
        ctx.save_for_backward(a, b)
        ctx.floor = floor
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.remainder if floor else np.fmod)(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb, _ = ctx.needs_input_grad
        ga = unbroadcast(grad, _shape(a)) if na else None
        gb = None
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                q = (np.floor if ctx.floor else np.trunc)(np.true_divide(a, b))
            gb = unbroadcast(-grad * q, _shape(b))
        return ga, gb, None


class Atan2Function(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        a, b = float_operands(a, b)
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        r = grad / (a * a + b * b)
        return (unbroadcast(r * b, _shape(a)) if na else None,
                unbroadcast(-r * a, _shape(b)) if nb else None)


class XlogyFunction(ArrayFunction):
    """``x * log(y)``, 0 where x is 0 and y is not NaN."""

    @staticmethod
    def forward(ctx, x, y):
        x, y = float_operands(x, y)
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.multiply(x, np.log(y))
        return np.where((np.asarray(x) == 0) & ~np.isnan(y), 0, out).astype(out.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if nx:
                gx = np.where((np.asarray(x) == 0) & (np.asarray(y) <= 0), 0, grad * np.log(y))
                gx = unbroadcast(gx.astype(grad.dtype, copy=False), _shape(x))
            if ny:
                gy = unbroadcast(grad * x / y, _shape(y))
        return gx, gy


class WhereFunction(ArrayFunction):
    """``where(condition, a, b)``; the gradient goes to the operand each element came from."""

    def _hook_slots(self):
        return [1, 2]  # PyTorch's grad_inputs: a and b, a number among them wrapped

    @staticmethod
    def forward(ctx, cond, a, b):
        a, b = _operands(a, b)
        cond = np.asarray(cond, bool)
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        zero = grad.dtype.type(0)
        return (None, unbroadcast(np.where(cond, grad, zero), sa) if na else None,
                unbroadcast(np.where(cond, zero, grad), sb) if nb else None)


class NegFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not "
                               "supported; use logical_not() or ~")
        return np.negative(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class ClampFunction(ArrayFunction):
    """``clip(x, min, max)`` with scalar bounds (either may be None); the gradient passes
    where ``min <= x <= max``, as in PyTorch."""

    def name(self):
        return "ClampBackward1"  # PyTorch's, whichever bounds are given

    @staticmethod
    def forward(ctx, x, lo, hi):
        dtype = result_type(x, *(v for v in (lo, hi) if v is not None))
        if dtype != x.dtype:
            x = x.astype(dtype)
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        if lo is not None and hi is not None and lo > hi:
            return np.full_like(x, hi)  # PyTorch: max wins when min > max
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


class ZeroGradFunction(ArrayFunction):
    """``fn(*args)`` for a piecewise-constant ``fn`` (floor, sign, rounding division ...):
    differentiable with a zero gradient for every array argument, as in PyTorch."""

    @staticmethod
    def forward(ctx, fn, *args):
        ctx.shapes = [a.shape if type(a) is _ndarray else None for a in args]
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(*args)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(None if s is None else np.zeros(s, grad.dtype)
                               for s in ctx.shapes)


class NanToNumFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(np.isfinite(x), grad, grad.dtype.type(0)), None, None, None


class CastFunction(ArrayFunction):
    def name(self):
        return "ToCopyBackward0"  # PyTorch's

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


# ---------------------------------------------------------------------------------------------
# Unary functions: y = fn(x) with dy/dx from (grad, x, y). Those of float results turn integer
# input into float32 first, as PyTorch does.


def _unary(name, fn, derivative, to_float=True, doc=""):
    # No np.errstate here: entering it costs more than exp on a small array, and these are
    # every model's ops. NumPy warns (once per site) where PyTorch silently gives inf or nan.
    def forward(ctx, x):
        if to_float and x.dtype.kind not in "fc":
            x = x.astype(default_float())
        y = fn(x)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if y.dtype.kind == "c":  # holomorphic: grad times the conjugate derivative
            return np.conj(derivative(np.conj(grad), x, y))
        return derivative(grad, x, y)

    cls = type(name, (ArrayFunction,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__doc__": doc or f"Elementwise ``{fn.__name__}``.", "__module__": __name__})
    return cls


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI, _SQRT_PI_OVER_TWO = 2.0 / math.sqrt(math.pi), math.sqrt(math.pi) / 2.0

ExpFunction = _unary("ExpFunction", np.exp, lambda g, x, y: g * y)
Exp2Function = _unary("Exp2Function", np.exp2, lambda g, x, y: g * y * _LN2)
LogFunction = _unary("LogFunction", np.log, lambda g, x, y: g / x)
Log2Function = _unary("Log2Function", np.log2, lambda g, x, y: g / (x * _LN2))
Log10Function = _unary("Log10Function", np.log10, lambda g, x, y: g / (x * _LN10))
Log1pFunction = _unary("Log1pFunction", np.log1p, lambda g, x, y: g / (x + 1))
Expm1Function = _unary("Expm1Function", np.expm1, lambda g, x, y: g * (y + 1))
SqrtFunction = _unary("SqrtFunction", np.sqrt, lambda g, x, y: g / (2 * y))
RsqrtFunction = _unary("RsqrtFunction", lambda x: 1 / np.sqrt(x),
                       lambda g, x, y: -0.5 * g * y * y * y, doc="Elementwise ``1/sqrt``.")
SinFunction = _unary("SinFunction", np.sin, lambda g, x, y: g * np.cos(x))
CosFunction = _unary("CosFunction", np.cos, lambda g, x, y: -g * np.sin(x))
TanFunction = _unary("TanFunction", np.tan, lambda g, x, y: g * (1 + y * y))
AsinFunction = _unary("AsinFunction", np.arcsin, lambda g, x, y: g / np.sqrt(1 - x * x))
AcosFunction = _unary("AcosFunction", np.arccos, lambda g, x, y: -g / np.sqrt(1 - x * x))
AtanFunction = _unary("AtanFunction", np.arctan, lambda g, x, y: g / (1 + x * x))
SinhFunction = _unary("SinhFunction", np.sinh, lambda g, x, y: g * np.cosh(x))
CoshFunction = _unary("CoshFunction", np.cosh, lambda g, x, y: g * np.sinh(x))
ErfFunction = _unary("ErfFunction", _erf,
                     lambda g, x, y: g * _TWO_OVER_SQRT_PI * np.exp(-x * x))
ErfinvFunction = _unary("ErfinvFunction", _erfinv,
                        lambda g, x, y: g * _SQRT_PI_OVER_TWO * np.exp(y * y))
ReciprocalFunction = _unary("ReciprocalFunction", np.reciprocal, lambda g, x, y: -g * y * y)
SquareFunction = _unary("SquareFunction", np.square, lambda g, x, y: 2 * g * x,
                        to_float=False)
AbsFunction = _unary("AbsFunction", np.abs, lambda g, x, y: g * np.sign(x), to_float=False)
FracFunction = _unary("FracFunction", lambda x: x - np.trunc(x), lambda g, x, y: g,
                      to_float=False, doc="Elementwise ``x - trunc(x)``.")
SafeSqrtFunction = _unary("SafeSqrtFunction", np.sqrt,
                          lambda g, x, y: np.where(y == 0, 0, g / (2 * y)).astype(g.dtype),
                          doc="``sqrt`` whose gradient is 0 where the result is 0 (``std``).")
AsinhFunction = _unary("AsinhFunction", np.arcsinh, lambda g, x, y: g / np.sqrt(x * x + 1))
# sqrt(x - 1) sqrt(x + 1), not sqrt(x^2 - 1): the branch of complex arccosh's derivative
AcoshFunction = _unary("AcoshFunction", np.arccosh,
                       lambda g, x, y: g / (np.sqrt(x - 1) * np.sqrt(x + 1)))
AtanhFunction = _unary("AtanhFunction", np.arctanh, lambda g, x, y: g / (1 - x * x))
Deg2radFunction = _unary("Deg2radFunction", np.deg2rad, lambda g, x, y: g * (math.pi / 180))
Rad2degFunction = _unary("Rad2degFunction", np.rad2deg, lambda g, x, y: g * (180 / math.pi))
LgammaFunction = _unary("LgammaFunction", _lgamma, lambda g, x, y: g * _digamma(x))
DigammaFunction = _unary("DigammaFunction", _digamma, lambda g, x, y: g * _polygamma1(x))


def _complex_sigmoid(z):
    return 1 / (1 + np.exp(-z))


# tanh and sigmoid of complex tensors (the kernels take float32 and float64 only)
ComplexTanhFunction = _unary("ComplexTanhFunction", np.tanh, lambda g, x, y: g * (1 - y * y))
ComplexSigmoidFunction = _unary("ComplexSigmoidFunction", _complex_sigmoid,
                                lambda g, x, y: g * y * (1 - y))
ComplexTanhFunction.name = lambda self: "TanhBackward0"  # PyTorch's names
ComplexSigmoidFunction.name = lambda self: "SigmoidBackward0"

def _sinc(x):
    return np.sinc(x)


def _sinc_grad(g, x, y):
    px = np.pi * x
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(x == 0, 0, (np.cos(px) * px - np.sin(px)) / (px * x))
    return g * d.astype(x.dtype, copy=False)


SincFunction = _unary("SincFunction", _sinc, _sinc_grad, doc="``sin(pi x) / (pi x)``.")
