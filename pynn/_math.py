"""The math of the torch namespace, each function defined once.

Every function here is both ``pynn.<name>`` and, through the table ``_METHODS``, the Tensor
method ``t.<name>(...)``: the method *is* the function, its first argument the tensor. The
namespace versions add PyTorch's ``out=`` argument (see :func:`_with_out`); ``pynn/__init__.py``
exports them with ``from ._math import *``.

Differentiable ops are the :class:`pynn.autograd.ArrayFunction` nodes of ``pynn.ops``
(``elementwise``, ``reduce``, ``shape``, ``matmul``, ``activation``, ``softmax``); ops that
only move elements around go through one node, ``GatherMapFunction``, fed with the positions
the NumPy version of the op computes on an index array. Results have PyTorch's dtypes: a
Python scalar never promotes a tensor's dtype, integers meeting floats give the float, integer
sums are int64, true division of integers is float32.
"""

import builtins
import functools
import inspect
import math
import numbers
import operator
from collections import namedtuple

import numpy as np

from . import autograd as _autograd
from .ops import activation as _act
from .ops import elementwise as _ew
from .ops import index as _ix
from .ops import matmul as _mm
from .ops import normalize_dim
from .ops import reduce as _red
from .ops import refuse_complex as _real_only
from .ops import shape as _sh
from .ops import softmax as _sm
from .ops import special as _sp
from .tensor import Tensor, _as_array, _distinct, _in_elements, _storage, _view_op, _wrap

_ndarray = np.ndarray
_bmax, _bmin, _babs, _bsum, _bround, _ball, _bany, _bpow = (
    builtins.max, builtins.min, builtins.abs, builtins.sum, builtins.round, builtins.all,
    builtins.any, builtins.pow)


def _return_type(name, fields=("values", "indices")):
    """A named tuple of torch.return_types, printed as PyTorch prints it (one field a line)."""
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"pynn.return_types.{name}(\n{body})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__})


# The named results of torch.return_types
max_result = _return_type("max")
min_result = _return_type("min")
sort_result = _return_type("sort")
topk_result = _return_type("topk")
kthvalue_result = _return_type("kthvalue")
median_result = _return_type("median")
mode_result = _return_type("mode")
aminmax_result = _return_type("aminmax", ("min", "max"))
cummax_result = _return_type("cummax")
cummin_result = _return_type("cummin")
nanmedian_result = _return_type("nanmedian")


# ---------------------------------------------------------------------------------------------
# Argument helpers


def _const(data):
    """A Tensor outside the graph over ``data`` (NumPy scalars become 0-d arrays)."""
    return _wrap(data if type(data) is _ndarray else np.asarray(data), None)


def _tensor(x):
    """``x`` as a Tensor (Tensors as they are; arrays and numbers wrapped, no grad)."""
    return x if isinstance(x, Tensor) else _const(_as_array(x))


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _dim_arg(dim, axis, op):
    """Accept PyTorch's ``dim`` or NumPy's ``axis`` (not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim or axis, not both")
        return axis
    return dim


def _axes(dim, ndim, op):
    """``dim`` (None, int or sequence) as None or a sorted tuple of non-negative axes."""
    if isinstance(dim, (tuple, list)) and not dim:
        return None
    return _red.norm_dims(dim, ndim, op)


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype)


def _np_dtype(dtype):
    return np.dtype(getattr(dtype, "dtype", dtype))


def _float_input(input, op):
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}(): input dtype should be either floating point or complex, "
                           f"got {input._data.dtype}")


def _as_float_tensor(input):
    """Integer or bool tensors in the default float dtype (what ops with float results
    take)."""
    if input._data.dtype.kind in "fc":
        return input
    return _const(input._data.astype(_ew.default_float()))


def _write_out(op, result, out):
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}: out must be a tuple of {len(result)} tensors")
        parts = [_write_out(op, r, o) for r, o in zip(result, out)]
        return type(result)(*parts) if hasattr(result, "_fields") else tuple(parts)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a Tensor, not {type(out).__name__}")
    if _autograd.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad")
    src = result._data
    if not np.can_cast(src.dtype, out._data.dtype, "same_kind"):
        raise RuntimeError(f"{op}: result type {src.dtype} can't be cast to the desired output "
                           f"type {out._data.dtype}")
    if out._data.shape != src.shape:
        # as PyTorch, an out tensor of another shape is resized (its storage replaced)
        out._data = np.empty(src.shape, out._data.dtype)
    np.copyto(out._data, src, casting="same_kind")
    return out


def _with_out(fn):
    """The namespace form of ``fn``: ``out=`` writes the result into the given tensor(s)."""

    @functools.wraps(fn)
    def namespace_fn(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        if out is None:
            return result
        return _write_out(fn.__name__, result, out)

    return namespace_fn


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic


def add(input, other, *, alpha=1):
    """``input + alpha * other``, broadcasting, with PyTorch's type promotion.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    alpha : number
        The multiplier of ``other``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    if alpha != 1:
        other = mul(other, alpha)
    return _ew.AddFunction.apply(input, other)


def sub(input, other, *, alpha=1):
    """``input - alpha * other``, broadcasting.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    alpha : number
        The multiplier of ``other``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    if alpha != 1:
        other = mul(other, alpha)
    return _ew.SubFunction.apply(input, other)


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    alpha : number
        The multiplier of ``input``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    return sub(other, input, alpha=alpha)


def mul(input, other):
    """``input * other``, elementwise, broadcasting (``and`` for two bool tensors).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _ew.MulFunction.apply(input, other)


def div(input, other, *, rounding_mode=None):
    """``input / other``: true division (integers give float32), or rounded.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    rounding_mode : {None, "trunc", "floor"}
        None divides exactly; "trunc" rounds toward zero and "floor" down, keeping integer
        dtypes (the rounded results have a zero gradient).

    Returns
    -------
    Tensor of the broadcast shape
    """
    if rounding_mode is None:
        return _ew.DivFunction.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    return _ew.ZeroGradFunction.apply(_ROUNDED_DIV[rounding_mode], input, other)


def _rounded_div(a, b, mode):
    a, b = _ew._operands(a, b)
    dt = np.result_type(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        if dt.kind in "iu":
            if np.any(np.asarray(b) == 0):
                raise RuntimeError("ZeroDivisionError: integer division by zero")
            if mode == "floor":
                return np.floor_divide(a, b)
            q = np.floor_divide(np.abs(a), np.abs(b))
            return (np.sign(a) * np.sign(b) * q).astype(dt, copy=False)
        q = np.true_divide(a, b)
        return np.floor(q) if mode == "floor" else np.trunc(q)


_ROUNDED_DIV = {mode: functools.partial(_rounded_div, mode=mode) for mode in ("trunc", "floor")}


def true_divide(input, other):
    """``div(input, other)`` (true division).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _ew.DivFunction.apply(input, other)


def floor_divide(input, other):
    """``div(input, other, rounding_mode="floor")``: the ``//`` operator.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return div(input, other, rounding_mode="floor")


def pow(input, exponent):
    """``input ** exponent``, elementwise; either may be a number.

    Parameters
    ----------
    input : Tensor of any shape
    exponent : Tensor or number, broadcastable with input
        The power.

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _ew.PowFunction.apply(input, exponent)


def float_power(input, exponent):
    """``pow`` computed in float64.

    Parameters
    ----------
    input : Tensor of any shape
    exponent : Tensor or number, broadcastable with input
        The power (computed in float64).

    Returns
    -------
    Tensor of float64 of the broadcast shape
    """
    a = _tensor(input).to(np.float64)
    e = exponent.to(np.float64) if isinstance(exponent, Tensor) else exponent
    return _ew.PowFunction.apply(a, e)


def neg(input):
    """``-input``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    return _ew.NegFunction.apply(input)


def positive(input):
    """``+input`` (the tensor itself).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input`` itself.
    """
    return input


def maximum(input, other):
    """Elementwise maximum of two tensors (a tie splits the gradient in halves).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    _real_only("maximum", input, other)
    return _ew.MaximumFunction.apply(input, other, False)


def minimum(input, other):
    """Elementwise minimum of two tensors (a tie splits the gradient in halves).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    _real_only("minimum", input, other)
    return _ew.MaximumFunction.apply(input, other, True)


def fmax(input, other):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    a_nan, b_nan = isnan(_tensor(input)), isnan(_tensor(other))
    return where(b_nan, input, where(a_nan, other, maximum(input, other)))


def fmin(input, other):
    """Elementwise minimum that ignores NaN.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    a_nan, b_nan = isnan(_tensor(input)), isnan(_tensor(other))
    return where(b_nan, input, where(a_nan, other, minimum(input, other)))


def fmod(input, other):
    """Remainder of the division truncated toward zero (the sign of ``input``).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _ew.FmodFunction.apply(input, other, False)


def remainder(input, other):
    """Remainder of the floor division (the sign of ``other``): the ``%`` operator.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _ew.FmodFunction.apply(input, other, True)


def atan2(input, other):
    """Elementwise angle of ``(other, input)`` in radians.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
        Angles in ``[-pi, pi]``.
    """
    return _ew.Atan2Function.apply(input, other)


def hypot(input, other):
    """Elementwise ``sqrt(input**2 + other**2)``.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    _real_only("hypot", input, other)
    return sqrt(add(mul(input, input), mul(other, other)))


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other``, broadcasting.

    With only ``condition``, ``nonzero(condition, as_tuple=True)``.

    Parameters
    ----------
    condition : Tensor of bool, broadcastable with input
    input : Tensor of any shape, optional
    other : Tensor or number, broadcastable with input, optional

    Returns
    -------
    Tensor of the broadcast shape
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    cond = _arr(condition)
    if getattr(cond, "dtype", None) is not None and cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {cond.dtype}")
    return _ew.WhereFunction.apply(cond, input, other)


def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``.

    Parameters
    ----------
    input : Tensor of any shape
    min : number or Tensor (broadcast), at least one given
    max : number or Tensor (broadcast), at least one given

    Returns
    -------
    Tensor of the input's shape
    """
    _real_only("clamp", input)
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    return _ew.ClampFunction.apply(input, min, max)


def clamp_min(input, min):
    """``clamp(input, min=min)``.

    Parameters
    ----------
    input : Tensor of any shape
    min : number or Tensor broadcastable with input
        The lower bound.

    Returns
    -------
    Tensor of the input's shape
    """
    return clamp(input, min=min)


def clamp_max(input, max):
    """``clamp(input, max=max)``.

    Parameters
    ----------
    input : Tensor of any shape
    max : number or Tensor broadcastable with input
        The upper bound.

    Returns
    -------
    Tensor of the input's shape
    """
    return clamp(input, max=max)


def lerp(input, end, weight):
    """``input + weight * (end - input)``.

    Parameters
    ----------
    input : Tensor of any shape
    end : Tensor broadcastable with input
        The end point.
    weight : Tensor or number, broadcastable with input
        The weight of ``end``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    return add(input, mul(weight, sub(end, input)))


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``.

    Parameters
    ----------
    input : Tensor of any shape
    tensor1 : Tensor, broadcastable with input
        The first factor.
    tensor2 : Tensor, broadcastable with input
        The second factor.
    value : number
        The multiplier of ``tensor1 * tensor2``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``.

    Parameters
    ----------
    input : Tensor of any shape
    tensor1 : Tensor, broadcastable with input
        The first factor.
    tensor2 : Tensor, broadcastable with input
        The second factor.
    value : number
        The multiplier of ``tensor1 / tensor2``.

    Returns
    -------
    Tensor of the broadcast shape
    """
    return add(input, div(tensor1, tensor2), alpha=value)


# ---------------------------------------------------------------------------------------------
# Elementwise functions


def _unary(name, function, doc):
    apply = function.apply

    def fn(input):
        return apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise {doc} of a tensor (integer input gives float32).\n\n"
                  "Parameters\n----------\ninput : Tensor of any shape\n\nReturns\n-------\n"
                  "Tensor of the same shape\n")
    return fn


exp = _unary("exp", _ew.ExpFunction, "``e ** x``")
exp2 = _unary("exp2", _ew.Exp2Function, "``2 ** x``")
log = _unary("log", _ew.LogFunction, "natural logarithm")
log2 = _unary("log2", _ew.Log2Function, "base-2 logarithm")
log10 = _unary("log10", _ew.Log10Function, "base-10 logarithm")
log1p = _unary("log1p", _ew.Log1pFunction, "``log(1 + x)``")
expm1 = _unary("expm1", _ew.Expm1Function, "``exp(x) - 1``")
sqrt = _unary("sqrt", _ew.SqrtFunction, "square root")
rsqrt = _unary("rsqrt", _ew.RsqrtFunction, "``1 / sqrt(x)``")
sin = _unary("sin", _ew.SinFunction, "sine")
cos = _unary("cos", _ew.CosFunction, "cosine")
tan = _unary("tan", _ew.TanFunction, "tangent")
asin = _unary("asin", _ew.AsinFunction, "arcsine")
acos = _unary("acos", _ew.AcosFunction, "arccosine")
atan = _unary("atan", _ew.AtanFunction, "arctangent")
sinh = _unary("sinh", _ew.SinhFunction, "hyperbolic sine")
cosh = _unary("cosh", _ew.CoshFunction, "hyperbolic cosine")
erf = _unary("erf", _ew.ErfFunction, "error function")
erfinv = _unary("erfinv", _ew.ErfinvFunction, "inverse error function")
reciprocal = _unary("reciprocal", _ew.ReciprocalFunction, "``1 / x``")
square = _unary("square", _ew.SquareFunction, "``x * x`` (integers stay integers)")
abs = _unary("abs", _ew.AbsFunction, "absolute value (integers stay integers)")
frac = _unary("frac", _ew.FracFunction, "fractional part ``x - trunc(x)``")
asinh = _unary("asinh", _ew.AsinhFunction, "inverse hyperbolic sine")
acosh = _unary("acosh", _ew.AcoshFunction, "inverse hyperbolic cosine")
atanh = _unary("atanh", _ew.AtanhFunction, "inverse hyperbolic tangent")
deg2rad = _unary("deg2rad", _ew.Deg2radFunction, "conversion from degrees to radians")
rad2deg = _unary("rad2deg", _ew.Rad2degFunction, "conversion from radians to degrees")
lgamma = _unary("lgamma", _ew.LgammaFunction, "``log|gamma(x)|``")
digamma = _unary("digamma", _ew.DigammaFunction, "derivative of ``lgamma``")
sinc = _unary("sinc", _ew.SincFunction, "normalised sinc ``sin(pi x) / (pi x)``")
i0 = _unary("i0", _sp.I0Function, "modified Bessel function of the first kind of order 0")


def polygamma(n, input):
    """The ``n``-th derivative of :func:`digamma` (``n = 0`` is digamma itself).

    Parameters
    ----------
    n : int
        Non-negative.
    input : Tensor of any shape

    Returns
    -------
    Tensor of the same shape
        Differentiable: its derivative is ``polygamma(n + 1, input)``.
    """
    if isinstance(n, Tensor) and n.ndim == 0 and n._data.dtype.kind in "iu":
        n = int(n._data)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n, got n={n!r}")
    return _sp.PolygammaFunction.apply(_tensor(input), int(n))


def _polygamma_method(self, n):
    """``polygamma(n, self)``: the ``n``-th derivative of digamma.

    Parameters
    ----------
    n : int

    Returns
    -------
    Tensor of self's shape
    """
    return polygamma(n, self)


def mvlgamma(input, p):
    """The log of the multivariate gamma function of dimension ``p``.

    ``p (p - 1) / 4 log(pi) + sum_{j < p} lgamma(x - j / 2)``.

    Parameters
    ----------
    input : Tensor of any shape
        Defined above ``(p - 1) / 2`` (below, the sum of lgammas is returned as it is, as
        PyTorch does).
    p : int
        The dimension, at least 1.

    Returns
    -------
    Tensor of the same shape
    """
    x = _as_float_tensor(_tensor(input))
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, got {p}")
    total = lgamma(x)
    for j in range(1, p):
        total = add(total, lgamma(sub(x, j / 2)))
    return add(total, p * (p - 1) / 4 * math.log(math.pi))


def igamma(input, other):
    """The regularised lower incomplete gamma function ``P(a, x)`` (``a = input``).

    Parameters
    ----------
    input : Tensor or number, broadcastable with other
        ``a``, positive.
    other : Tensor or number, broadcastable with input
        ``x``, non-negative.

    Returns
    -------
    Tensor of the broadcast shape
        Differentiable in ``other`` only (as PyTorch).
    """
    return _sp.GammaincFunction.apply(input, other, False)


def igammac(input, other):
    """The regularised upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``.

    Parameters
    ----------
    input : Tensor or number, broadcastable with other
        ``a``, positive.
    other : Tensor or number, broadcastable with input
        ``x``, non-negative.

    Returns
    -------
    Tensor of the broadcast shape
        Differentiable in ``other`` only (as PyTorch).
    """
    return _sp.GammaincFunction.apply(input, other, True)


def logit(input, eps=None):
    """Elementwise ``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` if given.

    Parameters
    ----------
    input : Tensor of any shape
    eps : float, optional
        Clamp bound for the input.

    Returns
    -------
    Tensor of the input's shape
    """
    _real_only("logit", input)
    if eps is not None:
        input = clamp(input, eps, 1 - eps)
    return log(div(input, rsub(input, 1)))


def xlogy(input, other):
    """Elementwise ``input * log(other)``, 0 where ``input`` is 0 (unless other is NaN).

    Parameters
    ----------
    input : Tensor or number, broadcastable with other
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    _real_only("xlogy", input, other)
    return _ew.XlogyFunction.apply(input, other)


def logaddexp(input, other):
    """Elementwise ``log(exp(input) + exp(other))`` without overflow.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    m = _const(np.maximum(_arr(input), _arr(other)))
    m = _const(np.where(np.isfinite(m._data), m._data, 0).astype(m._data.dtype, copy=False))
    return add(m, log(add(exp(sub(input, m)), exp(sub(other, m)))))


def logaddexp2(input, other):
    """Elementwise ``log2(2**input + 2**other)`` without overflow.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    ln2 = math.log(2.0)
    return div(logaddexp(mul(input, ln2), mul(other, ln2)), ln2)


def sgn(input):
    """The sign: ``z / |z|`` (0 at 0) for complex tensors, as :func:`sign` for real ones.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    if input._data.dtype.kind != "c":
        return sign(input)
    magnitude = abs(input)
    zero = _const(magnitude._data == 0)
    return where(zero, 0.0, div(input, where(zero, 1.0, magnitude)))


def signbit(input):
    """True where the sign bit is set (negative numbers and -0.0).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.signbit(input._data))


def copysign(input, other):
    """``|input|`` with the sign of ``other`` (elementwise).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    a = abs(_as_float_tensor(_tensor(input)))
    neg_ = _const(np.signbit(_arr(other)))
    return where(neg_, neg(a), a)


def heaviside(input, values):
    """0 where ``input < 0``, 1 where ``> 0``, ``values`` where 0 (not differentiable).

    Parameters
    ----------
    input : Tensor of any shape
    values : Tensor or number, broadcastable with input
        The result where input is 0.

    Returns
    -------
    Tensor of the broadcast shape
    """
    x, v = _ew._operands(input._data, _arr(values))
    return _const(np.heaviside(x, v))


def ldexp(input, other):
    """``input * 2**other`` (elementwise, in floating point).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
        The exponents.

    Returns
    -------
    Tensor of the broadcast shape
    """
    scale = exp2(_as_float_tensor(other)) if isinstance(other, Tensor) else 2.0 ** float(other)
    return mul(_as_float_tensor(_tensor(input)), scale)


def nextafter(input, other):
    """The next floating-point value after ``input`` towards ``other`` (not differentiable).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _const(np.nextafter(*_ew._operands(_arr(input), _arr(other))))


frexp_result = _return_type("frexp", ("mantissa", "exponent"))


def frexp(input):
    """Mantissa in [0.5, 1) (by magnitude) and integer exponent: ``input = m * 2**e``.

    Parameters
    ----------
    input : Tensor of any shape, floating point

    Returns
    -------
    (mantissa, exponent) : Tensor of input's dtype, Tensor of int32
    """
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes, got "
                           f"{input._data.dtype}")
    m, e = np.frexp(input._data)
    return frexp_result(_const(m), _const(e.astype(np.int32)))


def isreal(input):
    """True where an element is real.

    Every element of a real tensor; a zero imaginary part for a complex one.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    data = _arr(input)
    return _const(np.isreal(data) if data.dtype.kind == "c" else np.ones(data.shape, bool))


def gcd(input, other):
    """Elementwise greatest common divisor of integer tensors.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _const(np.gcd(*_ew._operands(_arr(input), _arr(other))))


def lcm(input, other):
    """Elementwise least common multiple of integer tensors.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _const(np.lcm(*_ew._operands(_arr(input), _arr(other))))


def _kernel_unary(name, function, doc, complex_function):
    apply = function.apply

    def fn(input):
        if input._data.dtype.kind == "c":
            return complex_function.apply(input)
        if input._data.dtype.kind != "f":
            input = input.to(_ew.default_float())
        if input._data.dtype.itemsize < 4:  # the kernels take float32 and float64
            return apply(input.to(np.float32)).to(input._data.dtype)
        return apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise {doc} (the backend's kernel).\n\nParameters\n----------\n"
                  "input : Tensor of any shape\n\nReturns\n-------\nTensor of the same shape\n")
    return fn


tanh = _kernel_unary("tanh", _act.TanhFunction, "hyperbolic tangent", _ew.ComplexTanhFunction)
sigmoid = _kernel_unary("sigmoid", _act.SigmoidFunction, "``1 / (1 + exp(-x))``",
                        _ew.ComplexSigmoidFunction)


def relu(input):
    """Elementwise ``max(input, 0)`` (the backend's kernel for float tensors).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    _real_only("relu", input)
    if input._data.dtype.kind != "f":
        return _const(np.maximum(input._data, 0).astype(input._data.dtype))
    return _act.ReluFunction.apply(input)


def _piecewise(name, np_fn, doc):
    def fn(input):
        if name == "sign" and input._data.dtype.kind == "c":
            raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support "
                                      "complex numbers. Please use torch.sgn instead.")
        _real_only(name, input)
        return _ew.ZeroGradFunction.apply(np_fn, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise {doc}; the gradient is zero, as in PyTorch.\n\nParameters\n"
                  "----------\ninput : Tensor of any shape\n\nReturns\n-------\n"
                  "Tensor of the same shape and dtype\n")
    return fn


sign = _piecewise("sign", np.sign, "sign (-1, 0 or 1)")
floor = _piecewise("floor", np.floor, "rounding down")
ceil = _piecewise("ceil", np.ceil, "rounding up")
trunc = _piecewise("trunc", np.trunc, "rounding toward zero")


def round(input, *, decimals=0):
    """Elementwise rounding to ``decimals`` places, halves to even; a zero gradient.

    Parameters
    ----------
    input : Tensor of any shape
    decimals : int
        How many decimal places.

    Returns
    -------
    Tensor of the input's shape and dtype
    """
    _real_only("round", input)
    return _ew.ZeroGradFunction.apply(np.round, input, decimals)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by finite numbers.

    NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the dtype's
    largest and smallest finite values); the gradient passes where input is finite.

    Parameters
    ----------
    input : Tensor of any shape
    nan : float
        The value replacing NaN.
    posinf : float, optional
        The value replacing +inf.
    neginf : float, optional
        The value replacing -inf.

    Returns
    -------
    Tensor of the input's shape
    """
    return _ew.NanToNumFunction.apply(input, nan, posinf, neginf)


# ---------------------------------------------------------------------------------------------
# Comparisons and logic (bool results, not differentiable)


def _compare(ufunc, name, symbol):
    ordered = ufunc in (np.less, np.less_equal, np.greater, np.greater_equal)

    def fn(input, other):
        if ordered:
            _real_only(name, input, other)
        return _const(ufunc(_arr(input), _arr(other)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise ``input {symbol} other`` as a bool tensor, broadcasting.\n\n"
                  "Parameters\n----------\ninput : Tensor of any shape\n"
                  "other : Tensor or number, broadcastable with input\n\n"
                  "Returns\n-------\nbool Tensor of the broadcast shape\n")
    return fn


eq = _compare(np.equal, "eq", "==")
ne = _compare(np.not_equal, "ne", "!=")
lt = _compare(np.less, "lt", "<")
le = _compare(np.less_equal, "le", "<=")
gt = _compare(np.greater, "gt", ">")
ge = _compare(np.greater_equal, "ge", ">=")
logical_and = _compare(np.logical_and, "logical_and", "and")
logical_or = _compare(np.logical_or, "logical_or", "or")
logical_xor = _compare(np.logical_xor, "logical_xor", "xor")


def logical_not(input):
    """Elementwise ``not input`` as a bool tensor.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.logical_not(input._data))


def _bitwise(ufunc, name):
    def fn(input, other):
        a, b = _ew._operands(_arr(input), _arr(other))
        dt = a.dtype if type(a) is _ndarray else np.asarray(a).dtype
        if dt.kind not in "biu":
            raise NotImplementedError(f"{name}: only integer and bool tensors are supported, "
                                      f"got {dt}")
        return _const(np.asarray(ufunc(a, b)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise ``{ufunc.__name__}`` of integer or bool tensors.\n\n"
                  "Parameters\n----------\ninput : Tensor of any shape\n"
                  "other : Tensor or int, broadcastable with input\n\nReturns\n-------\n"
                  "Tensor of the broadcast shape\n")
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


def bitwise_not(input):
    """Elementwise bitwise not (``~``; logical not for bool tensors).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape and dtype
    """
    if input._data.dtype.kind not in "biu":
        raise NotImplementedError(f"bitwise_not: only integer and bool tensors are supported, "
                                  f"got {input._data.dtype}")
    return _const(np.invert(input._data))


def isnan(input):
    """Elementwise test for NaN (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.isnan(input._data))


def isinf(input):
    """Elementwise test for +inf or -inf (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.isinf(input._data))


def isposinf(input):
    """Elementwise test for +inf (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.isposinf(input._data))


def isneginf(input):
    """Elementwise test for -inf (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.isneginf(input._data))


def isfinite(input):
    """Elementwise test for a finite value (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of bool of the input's shape
    """
    return _const(np.isfinite(input._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    rtol : float
        Relative tolerance.
    atol : float
        Absolute tolerance.
    equal_nan : bool
        Whether NaNs compare equal.

    Returns
    -------
    Tensor of bool of the broadcast shape
    """
    return _const(np.isclose(_arr(input), _arr(other), rtol=rtol, atol=atol,
                             equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when :func:`isclose` holds everywhere (a Python bool).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor or number, broadcastable with input
    rtol : float
        Relative tolerance.
    atol : float
        Absolute tolerance.
    equal_nan : bool
        Whether NaNs compare equal.

    Returns
    -------
    bool
    """
    return bool(np.allclose(_arr(input), _arr(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def equal(input, other):
    """True when both tensors have the same shape and elements (a Python bool).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor of any shape

    Returns
    -------
    bool
    """
    a, b = _arr(input), _arr(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------------------------
# Reductions


def _sum_dtype(arr):
    # PyTorch sums bools and integers in int64
    return np.int64 if arr.dtype.kind in "biu" else None


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
    """Sum over ``dim`` (int or tuple; all when None).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        ``axis`` is accepted as NumPy's name for it, ``keepdims`` for ``keepdim``.
    keepdim : bool
        Keep the reduced dimensions with size 1.
    dtype : dtype, optional
        Cast the input first; integer and bool tensors sum in int64.
    axis : int, optional
        NumPy's name for ``dim``.
    keepdims : bool
        NumPy's name for ``keepdim``.

    Returns
    -------
    Tensor
    """
    if axis is not None:
        dim = _dim_arg(dim, axis, "sum")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind in "biu":
        return _const(np.sum(input._data, axis=_axes(dim, input.ndim, "sum"), dtype=np.int64,
                             keepdims=bool(keepdim or keepdims)))
    if dim is not None and type(dim) is not int and not dim:
        dim = None  # an empty tuple of dims reduces over all of them, as in PyTorch
    return _red.SumFunction.apply(input, dim, bool(keepdim or keepdims))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` with NaNs counted as zero.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor
    """
    _real_only("nansum", input)
    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
    """Mean over ``dim`` (int or tuple; all when None) of a floating-point tensor.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
    keepdim : bool
    dtype : dtype, optional
        Cast the input first (integer tensors need it, as in PyTorch).
    axis : int, optional
        NumPy's name for ``dim``.
    keepdims : bool
        NumPy's name for ``keepdim``.

    Returns
    -------
    Tensor
    """
    if axis is not None:
        dim = _dim_arg(dim, axis, "mean")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input._data.dtype}")
    if dim is not None and type(dim) is not int and not dim:
        dim = None
    return _red.MeanFunction.apply(input, dim, bool(keepdim or keepdims))


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` of the elements that are not NaN.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor
    """
    keep = logical_not(isnan(input))
    return div(nansum(input, dim, keepdim, dtype=dtype), sum(keep, dim, keepdim))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over one dimension ``dim`` (all when None); integer tensors give int64.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind in "biu":
        input = _const(input._data.astype(np.int64))
    return _red.ProdFunction.apply(input, dim, keepdim)


def _var_args(dim, unbiased, keepdim, correction, op):
    if isinstance(dim, bool):  # var(x, True): the legacy unbiased flag
        if unbiased is not None:
            raise TypeError(f"{op}: unbiased given twice")
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise TypeError(f"{op}: pass unbiased or correction, not both")
    return dim, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``, divided by ``N - correction`` (Bessel's correction by default).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    unbiased : bool, optional
        The older spelling: True is ``correction=1``, False ``correction=0``.
    keepdim : bool
    correction : int, optional

    Returns
    -------
    Tensor
    """
    _float_input(input, "var")
    dim, correction = _var_args(dim, unbiased, keepdim, correction, "var")
    axes = _axes(dim, input.ndim, "var")
    n = input._data.size if axes is None else math.prod(input.shape[a] for a in axes)
    d = sub(input, mean(input, axes, keepdim=True))
    if d._data.dtype.kind == "c":  # |d|^2, real as PyTorch's
        from ._complex import conj, real  # the complex parts build on this module

        squares = real(mul(d, conj(d)))
    else:
        squares = mul(d, d)
    return div(sum(squares, axes, keepdim), _bmax(n - correction, 0))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``.

    ``sqrt(var(...))`` (see :func:`var`); the gradient is zero where the deviation is zero, as in
    PyTorch.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    unbiased : bool, optional
        Whether to use the unbiased (n - 1) estimator; see ``correction``.
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    correction : int, optional
        Subtracted from the number of elements in the divisor (1: unbiased).

    Returns
    -------
    Tensor
    """
    _float_input(input, "std")
    dim, correction = _var_args(dim, unbiased, keepdim, correction, "std")
    return _ew.SafeSqrtFunction.apply(var(input, dim, keepdim=keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(...), mean(...))`` over ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    unbiased : bool, optional
        Whether to use the unbiased (n - 1) estimator; see ``correction``.
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    correction : int, optional
        Subtracted from the number of elements in the divisor (1: unbiased).

    Returns
    -------
    tuple of Tensor
        ``(var, mean)``.
    """
    dim, correction = _var_args(dim, unbiased, keepdim, correction, "var_mean")
    return (var(input, dim, keepdim=keepdim, correction=correction),
            mean(input, _axes(dim, input.ndim, "var_mean"), keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(...), mean(...))`` over ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    unbiased : bool, optional
        Whether to use the unbiased (n - 1) estimator; see ``correction``.
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    correction : int, optional
        Subtracted from the number of elements in the divisor (1: unbiased).

    Returns
    -------
    tuple of Tensor
        ``(std, mean)``.
    """
    dim, correction = _var_args(dim, unbiased, keepdim, correction, "std_mean")
    return (std(input, dim, keepdim=keepdim, correction=correction),
            mean(input, _axes(dim, input.ndim, "std_mean"), keepdim))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (all elements when None).

    Parameters
    ----------
    input : Tensor of any shape
    p : float, inf, -inf, 0 or "fro"
        "fro" (the default) is the 2-norm.
    dim : int or tuple of int, optional
    keepdim : bool
    dtype : dtype, optional

    Returns
    -------
    Tensor
    """
    input = _cast(input, dtype)
    _float_input(input, "norm")
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not implemented in pynn (matrix norms: "
                                  "use p='fro' or a vector p)")
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return _red.NormFunction.apply(input, float(p), dim, keepdim)


def dist(input, other, p=2):
    """``norm(input - other, p)`` over all elements.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor broadcastable with input
    p : float
        The order of the norm.

    Returns
    -------
    Tensor (0-d)
    """
    return norm(sub(input, other), p)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))`` computed without overflow.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int
    keepdim : bool

    Returns
    -------
    Tensor
    """
    input = _as_float_tensor(input)
    axes = _axes(dim, input.ndim, "logsumexp")
    if input._data.size == 0:
        return log(sum(exp(input), axes, keepdim))
    # the shift is real for complex input, keeping the principal branch of log, as PyTorch's
    m = np.max(input._data.real, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(input._data.dtype)
    s = log(sum(exp(sub(input, _const(m))), axes, keepdim))
    return add(s, _const(m if keepdim else (m.reshape(()) if axes is None else
                                            np.squeeze(m, axes))))


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; integer tensors give int64.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to accumulate along.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind in "biu":
        input = _const(input._data.astype(np.int64))
    return _red.CumsumFunction.apply(input, normalize_dim(dim, input.ndim, "cumsum"))


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; integer tensors give int64.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to accumulate along.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape
    """
    input = _cast(input, dtype)
    if input._data.dtype.kind in "biu":
        input = _const(input._data.astype(np.int64))
    return _red.CumprodFunction.apply(input, normalize_dim(dim, input.ndim, "cumprod"))


def _cum_extreme(input, dim, is_min, result):
    d = normalize_dim(dim, input.ndim, result.__name__)
    data = input._data
    if data.ndim == 0:
        return result(input.clone(), _const(np.zeros((), np.int64)))
    acc = (np.minimum if is_min else np.maximum).accumulate(data, axis=d)
    # index of the last position where the running extremum was reached
    n = data.shape[d]
    pos = np.arange(n).reshape((-1,) + (1,) * (data.ndim - d - 1))
    hit = np.where(data == acc, pos, -1)
    idx = np.maximum.accumulate(hit, axis=d).astype(np.int64)
    # indices repeat, so the values come through GatherMapFunction (its backward adds up)
    where = np.take_along_axis(_positions(input), idx, d)
    return result(_gather_map(input, where), _const(idx))


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was reached.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to accumulate along.

    Returns
    -------
    cummax
        The named pair ``(values, indices)``, each of the input's shape.
    """
    _real_only("cummax", input)
    return _cum_extreme(input, dim, False, cummax_result)


def cummin(input, dim):
    """Running minimum along ``dim`` and the index where it was reached.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to accumulate along.

    Returns
    -------
    cummin
        The named pair ``(values, indices)``, each of the input's shape.
    """
    _real_only("cummin", input)
    return _cum_extreme(input, dim, True, cummin_result)


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input), dim))`` computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to accumulate along.

    Returns
    -------
    Tensor of the input's shape
    """
    input = _as_float_tensor(input)
    d = normalize_dim(dim, input.ndim, "logcumsumexp")
    if input._data.size == 0:
        return input.clone()
    m = np.max(input._data, axis=d, keepdims=True)
    m = _const(np.where(np.isfinite(m), m, 0).astype(input._data.dtype, copy=False))
    return add(log(cumsum(exp(sub(input, m)), d)), m)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    n : int
        How many times to take differences.
    dim : int
        The dimension to difference along.
    prepend : Tensor broadcastable with input, optional
        Values put before ``input`` along ``dim``.
    append : Tensor broadcastable with input, optional
        Values put after ``input`` along ``dim``.

    Returns
    -------
    Tensor
        ``n`` fewer elements along ``dim`` (after prepend/append).
    """
    d = normalize_dim(dim, input.ndim, "diff")
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, input, append) if p is not None]
        input = cat([p if p.ndim else expand(unsqueeze(p, 0), *input.shape[:d], 1,
                                                 *input.shape[d + 1:]) for p in parts], d)
    for _ in range(n):
        k = input.shape[d]
        if k == 0:
            break
        input = sub(narrow(input, d, 1, k - 1), narrow(input, d, 0, k - 1))
    return input


def bincount(input, weights=None, minlength=0):
    """Counts of each value of a 1-D non-negative integer tensor (weighted sums with ``weights``).

    Parameters
    ----------
    input : Tensor of non-negative ints of shape (N,)
    weights : Tensor of shape (N,), optional
        A weight per element of ``input``.
    minlength : int
        The least length of the result.

    Returns
    -------
    Tensor of shape (max(max(input) + 1, minlength),)
        int64, or the weights' dtype with ``weights``.
    """
    w = None if weights is None else _arr(weights)
    out = np.bincount(input._data, weights=w, minlength=minlength)
    if weights is None:
        return _const(out.astype(np.int64))
    return _const(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


def histc(input, bins=100, min=0, max=0):
    """Histogram with ``bins`` equal bins over ``[min, max]``.

    Histogram with ``bins`` equal bins over ``[min, max]`` (the data's range when both are 0);
    values outside are ignored.

    Parameters
    ----------
    input : Tensor of shape (N,)
    bins : int
        How many bins.
    min : number
        The lower end of the range (``min == max``: the data's range).
    max : number
        The upper end of the range.

    Returns
    -------
    Tensor of shape (bins,)
    """
    data = input._data
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
    return _const(counts.astype(data.dtype))


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where ``values`` would be inserted to keep ``sorted_sequence`` sorted.

    Indices where ``values`` would be inserted into the last dimension of ``sorted_sequence`` to
    keep it sorted.

    Parameters
    ----------
    sorted_sequence : Tensor of shape (..., K)
        Sorted along its last dimension.
    values : Tensor of shape (..., M), or number
        The values to place.
    out_int32 : bool
        int32 indices instead of int64.
    right : bool
        Whether a value equal to a boundary goes to the right bucket.
    side : {'left', 'right'}, optional
        Which index for a value equal to an element.
    sorter : Tensor of int64 of the sequence's shape, optional
        Indices sorting the sequence.

    Returns
    -------
    Tensor of int64 (int32 with ``out_int32``) of the shape of values
    """
    seq = _arr(sorted_sequence)
    vals = np.asarray(_arr(values))
    right = right or side == "right"
    side_ = "right" if right else "left"
    if sorter is not None:
        seq = np.take_along_axis(seq, _arr(sorter), -1)
    if seq.ndim <= 1:
        out = np.searchsorted(seq, vals, side=side_)
    else:
        out = np.stack([np.searchsorted(s, v, side=side_) for s, v in zip(
            seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1]))]).reshape(
            vals.shape)
    return _const(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each element among the sorted 1-D ``boundaries``.

    Parameters
    ----------
    input : Tensor of any shape
    boundaries : Tensor of shape (K,)
        Sorted bucket boundaries.
    out_int32 : bool
        int32 indices instead of int64.
    right : bool
        Whether a value equal to a boundary goes to the right bucket.

    Returns
    -------
    Tensor of int64 (int32 with ``out_int32``) of the input's shape
    """
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _values_at(input, dim, idx_keep, keepdim):
    """Values of ``input`` at keepdim-shaped indices along ``dim``, differentiable."""
    return _red.TakeAlongFunction.apply(input, dim, idx_keep, keepdim)


def _index_result(idx_keep, dim, keepdim, ndim):
    return _const(idx_keep if keepdim or not ndim else np.squeeze(idx_keep, dim))


def _minmax(input, dim, keepdim, other, is_min, result):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return _ew.MaximumFunction.apply(input, other, is_min)
    if dim is None:
        return _red.AmaxFunction.apply(input, None, keepdim, is_min)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{result.__name__}: dim must be an int when indices are returned (use "
                        f"amax/amin for several dims), got {dim!r}")
    data = input._data
    if data.size == 0:
        raise IndexError(f"{result.__name__}(): Expected reduction dim {dim} to have non-zero "
                         "size")
    idx = _red.arg_reduce(data, dim, True, np.argmin if is_min else np.argmax)
    d = normalize_dim(dim, data.ndim, result.__name__)
    return result(_values_at(input, d, idx, keepdim), _index_result(idx, d, keepdim, data.ndim))


def max(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=False):
    """The maximum, along ``dim`` with its indices, or the elementwise maximum.

    The maximum; along ``dim`` the named pair ``(values, indices)``; with a tensor as second
    argument the elementwise :func:`maximum`.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, or Tensor broadcastable with input, optional
        The dimension to reduce; a Tensor gives the elementwise result.
    keepdim : bool
    other : Tensor broadcastable with input, optional
        Gives the elementwise :func:`maximum` instead.
    axis : int, optional
        NumPy's name for ``dim``.
    keepdims : bool
        NumPy's name for ``keepdim``.

    Returns
    -------
    Tensor (0-d), or ``max(values, indices)`` along ``dim``
        Over all elements ties share the gradient equally; along ``dim`` it goes to the
        returned index.
    """
    _real_only("max", input)
    return _minmax(input, _dim_arg(dim, axis, "max"), keepdim or keepdims, other, False,
                   max_result)


def min(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=False):
    """The minimum, ``(values, indices)`` along ``dim``, or :func:`minimum`; see :func:`max`.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, or Tensor broadcastable with input, optional
        The dimension to reduce; a Tensor gives the elementwise result.
    keepdim : bool
        Whether reduced dimensions are kept with size 1.
    other : Tensor broadcastable with input, optional
        Gives the elementwise :func:`minimum` instead.
    axis : int, optional
        NumPy's name for ``dim``.
    keepdims : bool
        NumPy's name for ``keepdim``.

    Returns
    -------
    Tensor (0-d), or ``min(values, indices)`` along ``dim``
    """
    _real_only("min", input)
    return _minmax(input, _dim_arg(dim, axis, "min"), keepdim or keepdims, other, True,
                   min_result)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (int, tuple; all when empty), values only; ties share the gradient.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor
    """
    _real_only("amax", input)
    return _red.AmaxFunction.apply(input, dim if dim != () else None, keepdim, False)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim``, values only; ties share the gradient.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor
    """
    _real_only("amin", input)
    return _red.AmaxFunction.apply(input, dim if dim != () else None, keepdim, True)


def aminmax(input, *, dim=None, keepdim=False):
    """The named pair ``(min, max)`` over ``dim`` (all when None).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    aminmax
        The named pair ``(min, max)``.
    """
    _real_only("aminmax", input)
    return aminmax_result(amin(input, () if dim is None else dim, keepdim),
                          amax(input, () if dim is None else dim, keepdim))


def _check_arg_input(input, op):
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input")


def argmax(input, dim=None, keepdim=False):
    """Indices of the maxima (int64, not differentiable); flat indices when ``dim`` is None.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor of int64
    """
    _real_only("argmax", input)
    _check_arg_input(input, "argmax")
    return _const(_red.arg_reduce(input._data, dim, keepdim, np.argmax))


def argmin(input, dim=None, keepdim=False):
    """Indices of the minima (int64, not differentiable).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor of int64
    """
    _real_only("argmin", input)
    _check_arg_input(input, "argmin")
    return _const(_red.arg_reduce(input._data, dim, keepdim, np.argmin))


def _argsort(data, dim, descending):
    """Stable argsort along ``dim``; descending keeps equal elements in their order and puts
    NaN first, ascending puts NaN last (PyTorch's orders)."""
    if data.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    n = data.shape[dim]
    rev = np.argsort(np.flip(data, dim), axis=dim, kind="stable")
    return np.flip(n - 1 - rev, dim)


def sort(input, dim=-1, descending=False, stable=False):
    """Sorted values along ``dim`` and where they came from.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to sort along.
    descending : bool
    stable : bool
        pynn's sort is always stable.

    Returns
    -------
    ``sort(values, indices)``
    """
    _real_only("sort", input)
    d = normalize_dim(dim, input.ndim, "sort")
    idx = _argsort(input._data, d, descending).astype(np.int64, copy=False)
    if input.ndim == 0:
        return sort_result(input.clone(), _const(idx))
    return sort_result(_values_at(input, d, idx, True), _const(idx))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to sort along.
    descending : bool
        Largest first.
    stable : bool
        Whether equal elements keep their order.

    Returns
    -------
    Tensor of int64 of the input's shape
    """
    _real_only("argsort", input)
    d = normalize_dim(dim, input.ndim, "argsort")
    return _const(_argsort(input._data, d, descending).astype(np.int64, copy=False))


def msort(input):
    """``sort(input, dim=0).values``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    _real_only("sort", input)
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices.

    Parameters
    ----------
    input : Tensor of any shape
    k : int
        How many values.
    dim : int, optional
        The dimension to work along.
    largest : bool
        The largest (else the smallest).
    sorted : bool
        Whether the values come sorted.

    Returns
    -------
    ``topk(values, indices)``, each of ``input``'s shape with ``k`` along ``dim``
    """
    _real_only("topk", input)
    d = normalize_dim(dim, input.ndim, "topk")
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n}")
    if input.ndim == 0:
        return topk_result(input.clone(), _const(np.zeros((), np.int64)))
    idx = np.take(_argsort(input._data, d, largest), np.arange(k), axis=d).astype(np.int64)
    return topk_result(_values_at(input, d, idx, True), _const(idx))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index.

    Parameters
    ----------
    input : Tensor of any shape
    k : int
        Which smallest value (1-based).
    dim : int, optional
        The dimension to work along.
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    kthvalue
        The named pair ``(values, indices)``.
    """
    _real_only("kthvalue", input)
    d = normalize_dim(dim, input.ndim, "kthvalue")
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k ({k}) out of range for dimension "
                           f"{dim} of size {n}")
    if input.ndim == 0:
        return kthvalue_result(input.clone(), _const(np.zeros((), np.int64)))
    idx = np.take(_argsort(input._data, d, False), [k - 1], axis=d).astype(np.int64)
    return kthvalue_result(_values_at(input, d, idx, keepdim),
                           _index_result(idx, d, keepdim, input.ndim))


def median(input, dim=None, keepdim=False):
    """The lower median, along ``dim`` with its indices.

    The lower median: over all elements a 0-d tensor (ties share the gradient), along ``dim`` the
    named pair ``(values, indices)``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, optional
        The dimension to reduce (all elements when None, values only).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor (0-d), or ``median(values, indices)`` along ``dim``
    """
    _real_only("median", input)
    data = input._data
    if dim is None:
        if data.size == 0:
            return _const(np.array(np.nan, data.dtype))
        flat = np.sort(data.reshape(-1))
        y = flat[(flat.size - 1) // 2] if not np.isnan(flat[-1]) or data.dtype.kind != "f" \
            else flat[-1]
        y = np.asarray(y, data.dtype).reshape((1,) * data.ndim)
        return _red.TieShareFunction.apply(input, y, None, False)
    d = normalize_dim(dim, input.ndim, "median")
    if input.ndim == 0:
        return median_result(input.clone(), _const(np.zeros((), np.int64)))
    n = data.shape[d]
    order = _argsort(data, d, False)
    idx = np.take(order, [(n - 1) // 2], axis=d)
    if data.dtype.kind == "f":
        # a NaN anywhere in the slice is the median (the first NaN, as PyTorch reports)
        first_nan = np.argmax(np.isnan(data), axis=d, keepdims=True)
        has_nan = np.any(np.isnan(data), axis=d, keepdims=True)
        idx = np.where(has_nan, first_nan, idx)
    idx = idx.astype(np.int64)
    return median_result(_values_at(input, d, idx, keepdim),
                         _index_result(idx, d, keepdim, input.ndim))



_QUANTILE_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    x = _tensor(input)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    qs = np.asarray(_arr(q), dtype=x._data.dtype)
    if qs.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if np.any((qs < 0) | (qs > 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in _QUANTILE_INTERPOLATIONS:
        raise ValueError(f"{name}() interpolation must be one of {_QUANTILE_INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    shape = x.shape
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = normalize_dim(dim, x.ndim, name)
        if x.ndim == 0:
            x = x.reshape(1)
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    # NaNs sort last: a slice's k valid values come first
    ordered = sort(x, dim=d).values
    nans = np.isnan(x._data).sum(axis=d, keepdims=True)
    k = n - nans if ignore_nan else np.full_like(nans, n)
    # the linear weight is differentiable in q too (PyTorch's q may require grad)
    q_grad = q.reshape(-1) if isinstance(q, Tensor) and q.requires_grad else None
    outs = []
    for i, qv in enumerate(qs.reshape(-1)):
        rank = qv * (k - 1).astype(qs.dtype)
        if interpolation == "lower":
            rank = np.floor(rank)
        elif interpolation == "higher":
            rank = np.ceil(rank)
        elif interpolation == "nearest":
            rank = np.round(rank)  # half to even, as torch.round
        lo = np.clip(np.floor(rank), 0, n - 1).astype(np.int64)
        hi = np.clip(np.ceil(rank), 0, n - 1).astype(np.int64)
        v_lo, v_hi = gather(ordered, d, _const(lo)), gather(ordered, d, _const(hi))
        if q_grad is not None and interpolation == "linear":
            weight = q_grad[i] * _const((k - 1).astype(qs.dtype)) - _const(lo.astype(qs.dtype))
        else:
            weight = _const(np.asarray(0.5 if interpolation == "midpoint" else rank - lo,
                                       qs.dtype))
        v = v_lo + (v_hi - v_lo) * weight
        if not ignore_nan:
            v = where(_const(nans > 0), _const(np.array(np.nan, qs.dtype)), v)
        if dim is None:
            v = v.reshape((1,) * len(shape) if keepdim else ())
        elif not keepdim or len(shape) == 0:
            v = v.squeeze(d)
        outs.append(v)
    return outs[0] if qs.ndim == 0 else stack(outs)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles of ``input`` (all elements, or along ``dim``).

    A slice holding a NaN gives NaN (:func:`nanquantile` leaves NaNs out). Differentiable: the
    gradient goes to the one or two values each quantile is interpolated from.

    Parameters
    ----------
    input : Tensor of any shape, float dtype
    q : float, or Tensor of shape (Q,), in [0, 1]
    dim : int, optional
        The dimension to reduce (all elements, flattened, when None).
    keepdim : bool
        Whether the reduced dimension is kept with size 1.
    interpolation : {"linear", "lower", "higher", "midpoint", "nearest"}
        How a quantile between two values is taken.

    Returns
    -------
    Tensor
        The reduced shape; with a leading dimension of size ``len(q)`` when ``q`` is 1-D.
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` of the values that are not NaN (NaN where a slice has none).

    Parameters
    ----------
    input : Tensor of any shape, float dtype
    q : float, or Tensor of shape (Q,), in [0, 1]
    dim : int, optional
        The dimension to reduce (all elements, flattened, when None).
    keepdim : bool
        Whether the reduced dimension is kept with size 1.
    interpolation : {"linear", "lower", "higher", "midpoint", "nearest"}
        How a quantile between two values is taken.

    Returns
    -------
    Tensor
        The reduced shape; with a leading dimension of size ``len(q)`` when ``q`` is 1-D.
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)

def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` of the values that are not NaN (NaN where a slice has none).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, optional
        The dimension to reduce (all elements when None, values only).
    keepdim : bool
        Whether the reduced dimension is kept with size 1.

    Returns
    -------
    Tensor (0-d), or ``nanmedian(values, indices)`` along ``dim``
    """
    x = _tensor(input)
    if x._data.dtype.kind != "f":
        return median(x, dim, keepdim)
    flat = dim is None
    if flat:
        x, d = x.reshape(-1), 0
    else:
        d = normalize_dim(dim, x.ndim, "nanmedian")
        if x.ndim == 0:
            return nanmedian_result(x.clone(), _const(np.zeros((), np.int64)))
    if x.shape[d] == 0:
        if flat:
            return _const(np.array(np.nan, x._data.dtype))
        raise IndexError("nanmedian(): expected a non-empty dimension to reduce")
    # NaNs sort last: the lower median of a slice's k values is at (k - 1) // 2
    ordered = sort(x, dim=d, stable=True)
    k = x.shape[d] - np.isnan(x._data).sum(axis=d, keepdims=True)
    at = _const(np.maximum(k - 1, 0) // 2)
    values = gather(ordered.values, d, at)
    if flat:
        return values.reshape(())
    indices = gather(ordered.indices, d, at)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return nanmedian_result(values, indices)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` is in ``test_elements`` (``torch.isin``).

    Parameters
    ----------
    elements : Tensor of any shape, or a number
    test_elements : Tensor of any shape, or a number
    assume_unique : bool
        Accepted for PyTorch's signature (both are searched the same way).
    invert : bool
        Whether to answer "not in" instead.

    Returns
    -------
    Tensor of bool
        Of the shape of ``elements``.
    """
    return _const(np.isin(_arr(elements), _arr(test_elements), invert=invert))


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements (``itertools.combinations``).

    Parameters
    ----------
    input : Tensor of shape (N,)
    r : int
        The length of each combination.
    with_replacement : bool
        Whether an element may repeat within a combination.

    Returns
    -------
    Tensor of shape (C, r)
        One combination a row, in lexicographic order of positions (empty (0,) when there
        is none); differentiable.
    """
    import itertools

    if input.ndim != 1:
        raise ValueError(f"combinations: expected a 1-D tensor, got {input.ndim}-D")
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = np.array(list(pick(builtins.range(input.shape[0]), r)), np.int64)
    if rows.size == 0:
        return input[_const(np.zeros(0, np.int64))]
    return input[_const(rows)]


def unravel_index(indices, shape):
    """Flat indices as coordinates in ``shape`` (``torch.unravel_index``).

    Parameters
    ----------
    indices : Tensor of any shape, integer dtype
    shape : int or sequence of int

    Returns
    -------
    tuple of Tensor
        One int64 tensor of the shape of ``indices`` per dimension of ``shape``.
    """
    idx = np.asarray(_arr(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected integer indices, got {idx.dtype}")
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    total = math.prod(shape)
    if np.any((idx < -total) | (idx >= total)):
        raise RuntimeError(f"unravel_index: index out of range for a tensor of shape {shape}")
    coords = np.unravel_index(np.where(idx < 0, idx + total, idx), shape)
    return tuple(_const(c.astype(np.int64)) for c in coords)


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to (``torch.broadcast_shapes``).

    Parameters
    ----------
    *shapes : int or sequence of int

    Returns
    -------
    Size
    """
    from .tensor import Size

    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} do not broadcast") from None


def erfc(input):
    """The complementary error function, ``1 - erf(input)``; differentiable.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        The same shape (float).
    """
    return 1 - erf(input)


def unfold(self, dimension, size, step):
    """The windows of length ``size`` every ``step`` along ``dimension``, as a new last dim.

    ``Tensor.unfold``: patches, sliding windows; differentiable.

    Parameters
    ----------
    dimension : int
    size : int
        The window length.
    step : int
        The distance between window starts.

    Returns
    -------
    Tensor
        ``dimension`` becomes ``(n - size) // step + 1`` windows; a last dimension of
        ``size`` is added.
    """
    d = normalize_dim(dimension, _bmax(self.ndim, 1), "unfold")
    x = self.reshape(1) if self.ndim == 0 else self
    n = x.shape[d]
    if size < 0 or size > n:
        raise RuntimeError(f"unfold: size ({size}) must be at most the size of dimension {d} "
                           f"({n})")
    if step <= 0:
        raise RuntimeError(f"unfold: step must be positive, got {step}")
    starts = np.arange(0, n - size + 1, step)
    windows = starts[:, None] + np.arange(size)[None, :]
    out = movedim(x, d, -1)[(Ellipsis, _const(windows))]
    out = movedim(out, -2, d)
    return out.reshape(out.shape[:-1]) if self.ndim == 0 else out


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim``, with its index.

    The most frequent value along ``dim`` (the smallest among equally frequent ones) and the index
    of its last occurrence.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, optional
        The dimension to reduce (all elements when None, values only).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    mode
        The named pair ``(values, indices)``.
    """
    d = normalize_dim(dim, input.ndim, "mode")
    data = input._data
    if input.ndim == 0:
        return mode_result(input.clone(), _const(np.zeros((), np.int64)))
    moved = np.moveaxis(data, d, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]
        out[r] = np.flatnonzero(row == best)[-1]
    idx = np.expand_dims(out.reshape(moved.shape[:-1]), d)
    return mode_result(_values_at(input, d, idx, keepdim),
                       _index_result(idx, d, keepdim, input.ndim))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (sorted), optionally with the inverse indices and the counts.

    Parameters
    ----------
    input : Tensor of any shape
    sorted : bool
        Whether the values are sorted (they always are).
    return_inverse : bool
        Also return where each element of ``input`` went.
    return_counts : bool
        Also return how often each value occurs.
    dim : int, optional
        The dimension to work along.

    Returns
    -------
    Tensor, or a tuple ``(values, inverse?, counts?)``
    """
    _real_only("unique", input)
    data = input._data
    res = np.unique(data, return_inverse=return_inverse, return_counts=return_counts,
                    axis=dim)
    if not (return_inverse or return_counts):
        return _const(res)
    values, *rest = res
    out = [_const(values)]
    if return_inverse:
        inv = rest.pop(0)
        out.append(_const(inv.reshape(data.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_const(rest.pop(0).astype(np.int64)))
    return tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Elements with consecutive repeats collapsed (of the flattened tensor).

    Parameters
    ----------
    input : Tensor of any shape
    return_inverse : bool
        Also return where each element of ``input`` went.
    return_counts : bool
        Also return how often each value occurs.
    dim : int, optional
        The dimension to work along.

    Returns
    -------
    Tensor, or a tuple with the inverse indices and counts
    """
    if dim is not None:
        raise NotImplementedError("unique_consecutive: dim is not implemented in pynn")
    flat = input._data.reshape(-1)
    start = np.ones(flat.size, bool)
    start[1:] = flat[1:] != flat[:-1]
    out = [_const(flat[start])]
    if return_inverse:
        out.append(_const((np.cumsum(start) - 1).reshape(input.shape).astype(np.int64)))
    if return_counts:
        out.append(_const(np.diff(np.append(np.flatnonzero(start), flat.size))
                          .astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` is nonzero (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor of bool
    """
    return _const(np.all(input._data, axis=_axes(dim, input.ndim, "all"), keepdims=keepdim))


def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` is nonzero (bool tensor).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).
    keepdim : bool
        Whether reduced dimensions are kept with size 1.

    Returns
    -------
    Tensor of bool
    """
    return _const(np.any(input._data, axis=_axes(dim, input.ndim, "any"), keepdims=keepdim))


def count_nonzero(input, dim=None):
    """The number of nonzero elements over ``dim`` (int64).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or tuple of int, optional
        The dimensions to reduce (all when None).

    Returns
    -------
    Tensor of int64
    """
    return _const(np.asarray(np.count_nonzero(input._data, axis=_axes(
        dim, input.ndim, "count_nonzero")), np.int64))


def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements.

    An int64 tensor (n, ndim), or a tuple of ndim 1-D tensors with ``as_tuple=True``.

    Parameters
    ----------
    input : Tensor of any shape
    as_tuple : bool
        Return one index tensor per dimension instead of an (n, ndim) tensor.

    Returns
    -------
    Tensor of int64 of shape (n, input.ndim), or a tuple of ndim tensors of shape (n,)
    """
    data = input._data
    if as_tuple:
        if data.ndim == 0:
            return (_const(np.flatnonzero(data.reshape(1)).astype(np.int64)),)
        return tuple(_const(i.astype(np.int64)) for i in np.nonzero(data))
    return _const(np.argwhere(data).astype(np.int64))


def argwhere(input):
    """``nonzero(input)``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of int64 of shape (n, input.ndim)
        The indices of the non-zero elements, one per row.
    """
    return _const(np.argwhere(input._data).astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Matrix products


def matmul(input, other):
    """Matrix product with broadcasting batch dimensions (``@``).

    1-D operands are promoted and the added dimension removed.

    2-D float operands use the ``gemm`` kernel.

    Parameters
    ----------
    input : Tensor of shape (*, n, k) or (k,)
    other : Tensor of shape (*, k, m) or (k,)

    Returns
    -------
    Tensor of shape (*, n, m) (without n or m for 1-D operands)
    """
    return _mm.MatmulFunction.apply(input, other)


def _rmatmul(self, other):
    return _mm.MatmulFunction.apply(other, self)


def _check_ndim(op, t, n, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{what}' must be Tensor, not {type(t).__name__}")
    if t.ndim != n:
        raise RuntimeError(f"{op}: {what} must be a {n}-D tensor, got {t.ndim}-D "
                           f"(shape {tuple(t.shape)})")


def mm(input, mat2):
    """Product of matrices (n, k) and (k, m): (n, m).

    Parameters
    ----------
    input : Tensor of shape (n, m)
    mat2 : Tensor of shape (m, p)

    Returns
    -------
    Tensor of shape (n, p)
    """
    _check_ndim("mm", input, 2, "input")
    _check_ndim("mm", mat2, 2, "mat2")
    return _mm.MatmulFunction.apply(input, mat2)


def spmm(input, mat2):
    """Product of a sparse matrix (n, m) and a dense one (m, p).

    pynn keeps "sparse" tensors dense (see :meth:`Tensor.to_sparse`), so this is :func:`mm`.

    Parameters
    ----------
    input : Tensor of shape (n, m)
    mat2 : Tensor of shape (m, p)

    Returns
    -------
    Tensor of shape (n, p)
    """
    return mm(input, mat2)


def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The tensor itself, as pynn has no sparse storage.

    Every op takes dense tensors, so code written for ``torch.sparse`` runs unchanged
    (``is_sparse`` stays False).

    Parameters
    ----------
    sparse_dim : int, optional
        Accepted for PyTorch compatibility.
    layout : pynn.layout, optional
        Accepted for PyTorch compatibility.
    blocksize : (int, int), optional
        Accepted for PyTorch compatibility.
    dense_dim : int, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
        ``self``.
    """
    return self


def to_dense(self, dtype=None, *, masked_grad=None):
    """The tensor itself (pynn's tensors are always dense), as ``dtype`` if given.

    Parameters
    ----------
    dtype : pynn.dtype, optional
        Convert to it.
    masked_grad : bool, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return self if dtype is None else self.to(dtype)


def bmm(input, mat2):
    """Batched product of (b, n, k) and (b, k, m): (b, n, m), without broadcasting.

    Parameters
    ----------
    input : Tensor of shape (b, n, m)
    mat2 : Tensor of shape (b, m, p)

    Returns
    -------
    Tensor of shape (b, n, p)
    """
    _check_ndim("bmm", input, 3, "input")
    _check_ndim("bmm", mat2, 3, "mat2")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return _mm.MatmulFunction.apply(input, mat2)


def mv(input, vec):
    """Product of a matrix (n, m) and a vector (m,): (n,).

    Parameters
    ----------
    input : Tensor of shape (n, m)
    vec : Tensor of shape (m,)

    Returns
    -------
    Tensor of shape (n,)
    """
    _check_ndim("mv", input, 2, "input")
    _check_ndim("mv", vec, 1, "vec")
    return _mm.MatmulFunction.apply(input, vec)


def dot(input, other):
    """Inner product of two 1-D tensors of one size (0-d result).

    Parameters
    ----------
    input : Tensor of shape (n,)
    other : Tensor of shape (n,)

    Returns
    -------
    Tensor (0-d)
    """
    _check_ndim("dot", input, 1, "input")
    _check_ndim("dot", other, 1, "tensor")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and "
                           f"src [{other.shape[0]}] to have the same number of elements")
    return _mm.MatmulFunction.apply(input, other)


def vdot(input, other):
    """Inner product of two 1-D tensors of one size, the first conjugated (0-d result).

    Parameters
    ----------
    input : Tensor of shape (n,)
        Conjugated when complex.
    other : Tensor of shape (n,)

    Returns
    -------
    Tensor (0-d)
    """
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"vdot: expected both vectors to have same dtype, but found "
                           f"{input.dtype} and {other.dtype}")
    if input._data.dtype.kind == "c":
        from ._complex import conj  # the complex parts build on this module

        input = conj(input)
    return dot(input, other)


def inner(input, other):
    """Sum over the last dimensions of both (a scalar times a tensor for 0-d input).

    Parameters
    ----------
    input : Tensor of shape (*, n)
    other : Tensor of shape (*, n)
        The same last dimension as input.

    Returns
    -------
    Tensor of shape input.shape[:-1] + other.shape[:-1]
    """
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    return einsum("...k,...k->...", input, other) if input.ndim == other.ndim == 1 else \
        tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def outer(input, vec2):
    """Outer product of vectors (n,) and (m,): (n, m).

    Parameters
    ----------
    input : Tensor of shape (n,)
    vec2 : Tensor of shape (m,)

    Returns
    -------
    Tensor of shape (n, m)
    """
    _check_ndim("outer", input, 1, "input")
    _check_ndim("outer", vec2, 1, "vec2")
    return mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1)))


ger = outer


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``.

    Parameters
    ----------
    input : Tensor broadcastable to (n, m)
    vec1 : Tensor of shape (n,)
    vec2 : Tensor of shape (m,)
    beta, alpha : number

    Returns
    -------
    Tensor of shape (n, m)
    """
    prod = outer(vec1, vec2)
    if alpha != 1:
        prod = mul(prod, alpha)
    if beta == 0:  # PyTorch ignores input then (nan and inf included)
        return add(prod, _const(np.zeros(_arr(input).shape, prod._data.dtype)))
    return add(input if beta == 1 else mul(input, beta), prod)


def chain_matmul(*matrices, out=None):
    """The product of the matrices, left to right.

    PyTorch's older form of ``linalg.multi_dot``.

    Parameters
    ----------
    *matrices : Tensor of shape (n_i, n_{i+1})
    out : Tensor of shape (n_0, n_k), optional

    Returns
    -------
    Tensor of shape (n_0, n_k)
    """
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    result = matrices[0]
    for m in matrices[1:]:
        result = mm(result, m)
    if out is not None:
        out.copy_(result)
        return out
    return result


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a vector: columns are powers of ``x``.

    Parameters
    ----------
    x : Tensor of shape (n,)
    N : int, optional
        Number of columns (default n).
    increasing : bool
        Powers 0, 1, ... from the left (default: decreasing, as NumPy).

    Returns
    -------
    Tensor of shape (n, N)
    """
    _check_ndim("vander", x, 1, "x")
    cols = x.shape[0] if N is None else int(N)
    if cols < 0:
        raise RuntimeError("N must be non-negative.")
    powers = range(cols) if increasing else range(cols - 1, -1, -1)
    base = x if x._data.dtype.kind in "fc" else x.to(np.int64)
    if cols == 0:
        return _const(np.zeros((x.shape[0], 0), base._data.dtype))
    unit = _const(np.ones(base.shape, base._data.dtype))
    return stack([pow(base, p) if p else unit for p in powers], 1)


def diagflat(input, offset=0):
    """The flattened input on diagonal ``offset`` of a square matrix.

    Parameters
    ----------
    input : Tensor of any shape
    offset : int
        0 the main diagonal, > 0 above it, < 0 below.

    Returns
    -------
    Tensor of shape (n + |offset|, n + |offset|), n the number of elements
    """
    return diag(reshape(input, (-1,)), offset)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoidal integral of ``y`` along ``dim`` (one fewer element).

    Parameters
    ----------
    y : Tensor of any shape
    x : Tensor, optional
        Sample points (along ``dim``, or 1-D); default spacing ``dx``.
    dx : number, optional
        Constant spacing (default 1).
    dim : int

    Returns
    -------
    Tensor with ``dim`` one shorter
    """
    n = y.shape[dim]
    mids = mul(add(narrow(y, dim, 1, n - 1), narrow(y, dim, 0, n - 1)), 0.5)
    if x is not None:
        if x.ndim == 1:
            steps = reshape(diff(x), (-1,) + (1,) * (y.ndim - 1 - (dim % y.ndim)))
        else:
            steps = diff(x, dim=dim)
        mids = mul(mids, steps)
    elif dx is not None:
        mids = mul(mids, dx)
    return cumsum(mids, dim)


histogram_result = _return_type("histogram", ("hist", "bin_edges"))


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """Histogram of the values, with the bins' edges (not differentiable).

    Parameters
    ----------
    input : Tensor of any shape, floating point
    bins : int or Tensor of shape (B + 1,)
        How many equal bins, or their edges.
    range : (float, float), optional
        The range of equal bins (default the data's).
    weight : Tensor of the input's shape, optional
        Each value's weight.
    density : bool
        Normalise to a probability density.

    Returns
    -------
    (hist, bin_edges) : Tensors of the input's dtype
    """
    data = _arr(input)
    if data.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, but got input {data.dtype}")
    edges = _arr(bins) if isinstance(bins, Tensor) else int(bins)
    hist, edges = np.histogram(data, bins=edges, range=range,
                               weights=None if weight is None else _arr(weight),
                               density=density)
    return histogram_result(_const(hist.astype(data.dtype)), _const(edges.astype(data.dtype)))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` with ``input`` broadcast to (n, m).

    Parameters
    ----------
    input : Tensor broadcastable to (n, p)
    mat1 : Tensor of shape (n, m)
        The first matrix.
    mat2 : Tensor of shape (m, p)
        The second matrix.
    beta : number
        The multiplier of ``input``.
    alpha : number
        The multiplier of the product.

    Returns
    -------
    Tensor of shape (n, p)
    """
    prod_ = mm(mat1, mat2)
    return _scaled_sum(input, prod_, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``.

    Parameters
    ----------
    input : Tensor broadcastable to (n,)
    mat : Tensor of shape (n, m)
        The matrix.
    vec : Tensor of shape (m,)
        The vector.
    beta : number
        The multiplier of ``input``.
    alpha : number
        The multiplier of the product.

    Returns
    -------
    Tensor of shape (n,)
    """
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``.

    Parameters
    ----------
    input : Tensor broadcastable to (b, n, p)
    batch1 : Tensor of shape (b, n, m)
        The first batch of matrices.
    batch2 : Tensor of shape (b, m, p)
        The second batch of matrices.
    beta : number
        The multiplier of ``input``.
    alpha : number
        The multiplier of the product.

    Returns
    -------
    Tensor of shape (b, n, p)
    """
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum(bmm(batch1, batch2), 0)``.

    Parameters
    ----------
    input : Tensor broadcastable to (n, p)
    batch1 : Tensor of shape (b, n, m)
        The first batch of matrices.
    batch2 : Tensor of shape (b, m, p)
        The second batch of matrices.
    beta : number
        The multiplier of ``input``.
    alpha : number
        The multiplier of the product.

    Returns
    -------
    Tensor of shape (n, p)
    """
    return _scaled_sum(input, sum(bmm(batch1, batch2), 0), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    if alpha != 1:
        product = mul(product, alpha)
    if beta == 0:  # as PyTorch, input is ignored (its NaNs too)
        return product
    return add(product, input if beta == 1 else mul(input, beta))


def einsum(equation, *operands):
    """Einstein summation over the operands, as ``numpy.einsum`` (``...`` broadcasts).

    Parameters
    ----------
    equation : str
        Like ``"bij,bjk->bik"``; without ``->`` the output is the letters used once, sorted.
    *operands : Tensor (or one list of them)

    Returns
    -------
    Tensor
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _mm.EinsumFunction.apply(equation, *operands)


def tensordot(a, b, dims=2):
    """Sum of products over ``dims`` (tensor contraction).

    Sum of products over ``dims`` (the last ``dims`` of a with the first of b, or two lists of
    dimensions).

    Parameters
    ----------
    a : Tensor of any shape
        The first tensor.
    b : Tensor of any shape
        The second tensor.
    dims : int or pair of sequences of int
        The last ``dims`` of a with the first of b, or the dimensions paired.

    Returns
    -------
    Tensor
    """
    if isinstance(dims, numbers.Integral):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j % b.ndim] = sa[i % a.ndim]
    out = [c for c in sa if c not in sb] + [c for c in sb if c not in sa]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


# ---------------------------------------------------------------------------------------------
# Shape


def reshape(input, *shape):
    """The same elements in a new shape (one entry may be -1).

    Parameters
    ----------
    input : Tensor of any shape
    *shape : int
        The new shape, as ints or one sequence (one entry may be -1).

    Returns
    -------
    Tensor
        A view when the layout allows, else a copy.
    """
    return _sh.ReshapeFunction.apply(input, _sh.shape_arg(shape))


def view(input, *shape):
    """As :func:`reshape` (NumPy decides whether the result shares memory)."""
    if len(shape) == 1 and type(shape[0]) is not int and not isinstance(
            shape[0], (tuple, list, numbers.Integral)):
        raise NotImplementedError("view(dtype): reinterpreting the bytes of a tensor is not "
                                  "supported by pynn; use .to(dtype) to convert")
    return _sh.ReshapeFunction.apply(input, _sh.shape_arg(shape))


def view_as(input, other):
    """``input.view(other.shape)``."""
    return _sh.ReshapeFunction.apply(input, other.shape)


def reshape_as(input, other):
    """``input.reshape(other.shape)``."""
    return _sh.ReshapeFunction.apply(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one.

    Parameters
    ----------
    input : Tensor of any shape
    start_dim : int
        The first dimension to flatten.
    end_dim : int
        The last dimension to flatten.

    Returns
    -------
    Tensor
    """
    return _sh.ReshapeFunction.apply(input, _sh.flatten_shape(input.shape, start_dim, end_dim))


def ravel(input):
    """All elements as a 1-D tensor.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of shape (input.numel(),)
    """
    return _sh.ReshapeFunction.apply(input, (-1,))


def unflatten(input, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one may be -1).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension to unflatten.
    sizes : sequence of int
        The new sizes of ``dim`` (one may be -1).

    Returns
    -------
    Tensor
        A view.
    """
    d = normalize_dim(dim, input.ndim, "unflatten")
    sizes = tuple(sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(input.shape[d] // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != input.shape[d]:
        raise RuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({input.shape[d]}) in the input tensor")
    return _sh.ReshapeFunction.apply(input, input.shape[:d] + sizes + input.shape[d + 1:])


def squeeze(input, dim=None):
    """Drop dimensions of size 1 (all, or those of ``dim`` that have size 1).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int or sequence of int, optional
        The dimensions of size 1 to remove (all when None).

    Returns
    -------
    Tensor
        A view.
    """
    return _sh.ReshapeFunction.apply(input, _sh.squeeze_shape(input.shape, dim))


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        Where the new dimension of size 1 goes.

    Returns
    -------
    Tensor
        A view.
    """
    return _sh.ReshapeFunction.apply(input, _sh.unsqueeze_shape(input.shape, dim))


def permute(input, *dims):
    """Reorder the dimensions.

    Parameters
    ----------
    input : Tensor of any shape
    *dims : int
        The new order of the dimensions (ints or one sequence).

    Returns
    -------
    Tensor
        A view.
    """
    return _sh.PermuteFunction.apply(input, _sh.perm_arg(input.ndim, dims))


def transpose(input, dim0, dim1):
    """Swap two dimensions.

    Parameters
    ----------
    input : Tensor of any shape
    dim0 : int
        The first dimension.
    dim1 : int
        The second dimension.

    Returns
    -------
    Tensor
        A view.
    """
    return _sh.PermuteFunction.apply(input, _sh.swap_perm(input.ndim, dim0, dim1))


swapaxes = swapdims = transpose


def t(input):
    """The transpose of a matrix; tensors of fewer than 2 dimensions come back as they are.

    Parameters
    ----------
    input : Tensor of shape (), (n,) or (n, m)

    Returns
    -------
    Tensor
        A view.
    """
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return input if input.ndim < 2 else transpose(input, 0, 1)


def _T(input):
    """All dimensions reversed (the transpose of a matrix)."""
    if input.ndim < 2:
        return input
    return _sh.PermuteFunction.apply(input, tuple(range(input.ndim - 1, -1, -1)))


def _mT(input):
    """The last two dimensions swapped (a batch of matrices transposed)."""
    if input.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {input.ndim}-D tensor.")
    return transpose(input, -2, -1)


def _H(input):
    """The conjugate transpose of a matrix (the transpose, for real tensors)."""
    if input.ndim > 2:
        raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{input.ndim}-D tensor.")
    return _conj_if_complex(_T(input))


def _mH(input):
    """The last two dimensions swapped and conjugated (``mT`` for real tensors)."""
    return _conj_if_complex(_mT(input))


def _conj_if_complex(t):
    if t._data.dtype.kind != "c":
        return t
    from ._complex import conj  # the complex parts build on this module

    return conj(t)  # in the graph: mH and adjoint of a parameter have gradients


def adjoint(input):
    """The conjugate transpose of the last two dimensions (``mT`` for real tensors).

    Parameters
    ----------
    input : Tensor of shape (*, n, m)

    Returns
    -------
    Tensor of shape (*, m, n)
        The last two dimensions swapped, conjugated if complex (a view for real tensors).
    """
    return _conj_if_complex(_mT(input))


def movedim(input, source, destination):
    """Move dimension(s) ``source`` to position(s) ``destination``.

    Parameters
    ----------
    input : Tensor of any shape
    source : int or sequence of int
        The dimensions to move.
    destination : int or sequence of int
        Where they go.

    Returns
    -------
    Tensor
        A view.
    """
    src = [source] if isinstance(source, numbers.Integral) else list(source)
    dst = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    nd = input.ndim
    src = [normalize_dim(s, nd, "movedim") for s in src]
    dst = [normalize_dim(s, nd, "movedim") for s in dst]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    perm = tuple(next(rest) if p is None else p for p in perm)
    return _sh.PermuteFunction.apply(input, perm)


moveaxis = movedim


def expand(input, *sizes):
    """Broadcast to ``sizes`` (-1 keeps a dimension); a read-only view."""
    return _sh.ExpandFunction.apply(input, _sh.expand_shape(input.shape, _sh.shape_arg(sizes)))


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, *other.shape)


def broadcast_to(input, size):
    """``input.expand(size)``.

    Parameters
    ----------
    input : Tensor of any shape
    size : sequence of int
        The target shape (-1 keeps a dimension).

    Returns
    -------
    Tensor of shape ``size``
        A view.
    """
    return expand(input, *size)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape.

    Parameters
    ----------
    *tensors : Tensor of any shape
        Tensors with broadcastable shapes.

    Returns
    -------
    tuple of Tensor
        Views, all of the broadcast shape.
    """
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, *shape) for t in tensors)


def _check_seq(op, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    return tensors


def cat(tensors, dim=0, *, axis=None):
    """Concatenate tensors along an existing dimension.

    Parameters
    ----------
    tensors : sequence of Tensor
        Shapes equal except along ``dim``; 1-D empty tensors are skipped, as in PyTorch.
    dim : int
    axis : int, optional
        NumPy's name for ``dim``, which PyTorch also takes.

    Returns
    -------
    Tensor
        Its size along ``dim`` is the sum of the inputs' sizes; its dtype the promoted one.
    """
    return _sh.CatFunction.apply(dim if axis is None else axis, *_check_seq("cat", tensors))


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    """Stack equally-shaped tensors along a new dimension.

    Parameters
    ----------
    tensors : sequence of Tensor, all of one shape S
    dim : int
        Where the new dimension goes, ``-len(S) - 1 <= dim <= len(S)``.
    axis : int, optional
        NumPy's name for ``dim``, which PyTorch also takes.

    Returns
    -------
    Tensor
        Shape S with ``len(tensors)`` inserted at ``dim``.
    """
    tensors = _check_seq("stack", tensors)
    return _sh.StackFunction.apply(dim if axis is None else axis, *tensors)


def _at_least(fn, tensors):
    """``fn`` of one tensor, or a tuple of ``fn`` of each (given as several arguments or as
    one sequence), as PyTorch's atleast_*d take them."""
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        return fn(tensors[0])
    items = tensors[0] if len(tensors) == 1 else tensors
    return tuple(fn(t) for t in items)


def atleast_1d(*tensors):
    """0-d tensors as shape (1,); others as they are.

    Parameters
    ----------
    *tensors : Tensor of any shape, or one sequence of Tensors

    Returns
    -------
    Tensor, or a tuple of them for several
    """
    return _at_least(lambda t: reshape(t, (1,)) if t.ndim == 0 else t, tensors)


def atleast_2d(*tensors):
    """Tensors of fewer than 2 dimensions as shape (1, n).

    Parameters
    ----------
    *tensors : Tensor of any shape, or one sequence of Tensors

    Returns
    -------
    Tensor, or a tuple of them for several
    """
    return _at_least(lambda t: reshape(t, (1, -1)) if t.ndim < 2 else t, tensors)


def atleast_3d(*tensors):
    """Tensors of fewer than 3 dimensions with 3.

    () as (1, 1, 1), (n,) as (1, n, 1) and (m, n) as (m, n, 1).

    Parameters
    ----------
    *tensors : Tensor of any shape, or one sequence of Tensors

    Returns
    -------
    Tensor, or a tuple of them for several
    """
    def one(t):
        if t.ndim == 0:
            return reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return reshape(t, (1, -1, 1))
        return unsqueeze(t, -1) if t.ndim == 2 else t

    return _at_least(one, tensors)


def _split_along(op, input, sections, dim, min_ndim):
    if input.ndim < min_ndim:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {min_ndim} dimension"
                           f"{'s' if min_ndim > 1 else ''}, but got a tensor with {input.ndim} "
                           f"dimensions!")
    if isinstance(sections, int) and input.shape[dim] % sections:
        raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the size "
                           f"of the dimension {input.shape[dim]} is not divisible by the split_"
                           f"size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for a 1-D tensor): equal parts, or before the indices.

    Parameters
    ----------
    input : Tensor of any shape with at least 1 dimension
    indices_or_sections : int or sequence of int
        A count that divides the dimension, or the indices to split before.

    Returns
    -------
    tuple of Tensor (views)
    """
    return _split_along("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input, indices_or_sections):
    """Split along dim 0: equal parts, or before the indices.

    Parameters
    ----------
    input : Tensor of any shape with at least 2 dimensions
    indices_or_sections : int or sequence of int

    Returns
    -------
    tuple of Tensor (views)
    """
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """Split along dim 2: equal parts, or before the indices.

    Parameters
    ----------
    input : Tensor of any shape with at least 3 dimensions
    indices_or_sections : int or sequence of int

    Returns
    -------
    tuple of Tensor (views)
    """
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors).

    Parameters
    ----------
    tensors : sequence of Tensor
        The tensors, with compatible shapes.

    Returns
    -------
    Tensor
    """
    tensors = [atleast_1d(t) for t in _check_seq("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate along dim 0, 1-D tensors as rows.

    Parameters
    ----------
    tensors : sequence of Tensor
        The tensors, with compatible shapes.

    Returns
    -------
    Tensor of at least 2 dimensions
    """
    return cat([atleast_2d(t) for t in _check_seq("vstack", tensors)], 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate along dim 2, after making each tensor at least 3-D.

    Parameters
    ----------
    tensors : sequence of Tensor
        The tensors, with compatible shapes.

    Returns
    -------
    Tensor of at least 3 dimensions
    """
    out = []
    for t_ in _check_seq("dstack", tensors):
        if t_.ndim == 0:
            t_ = reshape(t_, (1, 1, 1))
        elif t_.ndim == 1:
            t_ = reshape(t_, (1, -1, 1))
        elif t_.ndim == 2:
            t_ = unsqueeze(t_, 2)
        out.append(t_)
    return cat(out, 2)


def column_stack(tensors):
    """Stack 1-D tensors as columns (others are concatenated along dim 1).

    Parameters
    ----------
    tensors : sequence of Tensor
        The tensors, with compatible shapes.

    Returns
    -------
    Tensor of 2 dimensions
    """
    return cat([reshape(t_, (-1, 1)) if t_.ndim < 2 else t_
                for t_ in _check_seq("column_stack", tensors)], 1)


def _slice(input, d, start, stop):
    key = (slice(None),) * d + (slice(start, stop),)
    return _sh.SliceFunction.apply(input, key)


def narrow(input, dim, start, length):
    """The ``length`` elements from ``start`` along ``dim`` (a view in PyTorch).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension narrowed.
    start : int
        The first index.
    length : int
        How many elements.

    Returns
    -------
    Tensor
        A view, ``length`` long along ``dim``.
    """
    d = normalize_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}).")
    return _slice(input, d, start, start + length)


def select(input, dim, index):
    """The slice at ``index`` along ``dim``, that dimension removed.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : int
        The position along ``dim``.

    Returns
    -------
    Tensor
        A view with ``dim`` removed.
    """
    d = normalize_dim(dim, input.ndim, "select")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return _sh.SliceFunction.apply(input, (slice(None),) * d + (int(index) % n,))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be shorter), or of the given sizes.

    Parameters
    ----------
    tensor : Tensor of any shape
        The tensor to split.
    split_size_or_sections : int or sequence of int
        The size of each piece, or the list of sizes.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
    """
    d = normalize_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if _bany(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if _bsum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
    spans, start = [], 0
    for s in sizes:
        spans.append((start, start + s))
        start += s
    return _split_at(tensor, d, spans, False)


def _split_at(input, d, spans, squeeze):
    pieces = _sh.SplitFunction.apply(input, d, tuple(spans), squeeze)
    return pieces if type(pieces) is tuple else (pieces,)


def chunk(input, chunks, dim=0):
    """At most ``chunks`` pieces of equal size ``ceil(n / chunks)`` along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    chunks : int
        How many pieces.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
        Views, at most ``chunks`` of them.
    """
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[normalize_dim(dim, input.ndim, "chunk")]
    return split(input, _bmax(-(-n // chunks), 1) if n else 1, dim)


def tensor_split(input, indices_or_sections, dim=0):
    """``numpy.array_split``: ``n`` nearly equal pieces, or pieces between indices.

    Parameters
    ----------
    input : Tensor of any shape
    indices_or_sections : int or sequence of int
        How many pieces, or the indices to split before.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
        Views.
    """
    d = normalize_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        q, r = divmod(n, k)
        bounds = np.cumsum([0] + [q + 1] * r + [q] * (k - r))
    else:
        bounds = [0] + [_bmin(_bmax(int(i), 0), n) for i in indices_or_sections] + [n]
    bounds = [int(b) for b in bounds]
    # each piece runs from its start to the next index, empty when that comes before it
    spans = [(a, _bmax(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
    return _split_at(input, d, spans, False)


def unbind(input, dim=0):
    """The slices along ``dim``, that dimension removed (a tuple).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
        Views, ``dim`` removed.
    """
    d = normalize_dim(dim, input.ndim, "unbind")
    n = input.shape[d]
    if n == 0:
        return ()
    return _split_at(input, d, [(i, i + 1) for i in range(n)], True)


def _positions(input):
    return np.arange(input._data.size, dtype=np.int64).reshape(input.shape)


def _gather_map(input, where):
    return _sh.GatherMapFunction.apply(input, np.asarray(where, np.int64))


def _index_arr(index, op):
    idx = _arr(index)
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {idx.dtype}")
    return idx.astype(np.int64, copy=False)


def _index_positions(input, d, index, op):
    """Flat positions of ``input`` picked by ``index`` along ``d`` (gather/scatter rule:
    other dimensions of index no larger than input's)."""
    pos = _positions(input)
    if index.ndim != pos.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor")
    for k, (i, s) in enumerate(zip(index.shape, pos.shape)):
        if k != d and i > s:
            raise RuntimeError(f"{op}(): Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be smaller than self {list(pos.shape)} "
                               f"apart from dimension {d}")
    pos = pos[tuple(slice(0, i) if k != d else slice(None) for k, i in enumerate(index.shape))]
    n = pos.shape[d]
    if index.size and (index.min() < -n or index.max() >= n):
        raise RuntimeError(f"{op}(): index out of bounds for dimension {d} with size {n}")
    return np.take_along_axis(pos, index % _bmax(n, 1), d)


def gather(input, dim, index, *, sparse_grad=False):
    """Values picked along ``dim`` at ``index``.

    ``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on): values picked along ``dim``;
    the result has the shape of ``index``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64, same number of dimensions as input
        Positions along ``dim``.
    sparse_grad : bool
        Accepted for PyTorch's signature (the gradient is dense).

    Returns
    -------
    Tensor of the shape of index
    """
    d = normalize_dim(dim, input.ndim, "gather")
    return _gather_map(input, _index_positions(input, d, _index_arr(index, "gather"),
                                               "gather"))


def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting (flattened when ``dim`` is None).

    Parameters
    ----------
    input : Tensor of any shape
    indices : Tensor of int64, broadcastable with input
        Indices along ``dim``.
    dim : int, optional
        The dimension indexed (None: the flattened input).

    Returns
    -------
    Tensor
    """
    idx = _index_arr(indices, "take_along_dim")
    if dim is None:
        return take(input, idx.reshape(-1))
    d = normalize_dim(dim, input.ndim, "take_along_dim")
    shape = list(np.broadcast_shapes(tuple(s if k != d else 1 for k, s in enumerate(
        input.shape)), tuple(s if k != d else 1 for k, s in enumerate(idx.shape))))
    xs = list(shape)
    xs[d] = input.shape[d]
    shape[d] = idx.shape[d]
    pos = np.broadcast_to(_positions(input), xs)
    return _gather_map(input, np.take_along_axis(pos, np.broadcast_to(idx, shape) %
                                                 _bmax(input.shape[d], 1), d))


def _scatter(input, dim, index, src, accumulate, op):
    d = normalize_dim(dim, input.ndim, op)
    idx = _index_arr(index, op)
    where = _index_positions(input, d, idx, op)
    if isinstance(src, Tensor):
        if src.ndim != idx.ndim or _bany(i > s for i, s in zip(idx.shape, src.shape)):
            raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be smaller than "
                               f"src {list(src.shape)}")
        if src.shape != idx.shape:
            src = _sh.SliceFunction.apply(src, tuple(slice(0, i) for i in idx.shape))
    return _sh.ScatterMapFunction.apply(input, src, where, accumulate)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with values written at ``index`` along ``dim``.

    A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written at ``index`` along
    ``dim`` (the inverse of :func:`gather`).

    ``reduce="add"`` adds instead of writing; where indices repeat, which write wins is
    unspecified (as in PyTorch).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64, same number of dimensions as input
        Positions along ``dim``.
    src : Tensor of index's shape (or larger), optional
        The values written (or ``value``).
    value : number, optional
        One value written everywhere, instead of ``src``.
    reduce : {'add', 'multiply'}, optional
        Combine with the present values instead of replacing them.

    Returns
    -------
    Tensor of the input's shape
    """
    if src is None:
        src = value
    if reduce not in (None, "add"):
        raise NotImplementedError(f"scatter: reduce={reduce!r} is not implemented in pynn "
                                  "(None or 'add')")
    return _scatter(input, dim, index, src, reduce == "add", "scatter")


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64, same number of dimensions as input
        Positions along ``dim``.
    src : Tensor of index's shape (or larger)
        The values written.

    Returns
    -------
    Tensor of the input's shape
    """
    return _scatter(input, dim, index, src, True, "scatter_add")


_SCATTER_REDUCE = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` into which the ``src`` values ``index`` sends along ``dim`` are reduced.

    The values sent to one position are reduced together (and with the present value when
    ``include_self``).

    Differentiable in ``input`` and ``src``: ``sum`` and ``mean`` as sums, ``amax``/``amin``
    sharing the gradient among the values that tie for the extremum, ``prod`` as
    ``result / value`` (so not at zeros). Positions no index reaches keep ``input``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64, same number of dimensions as input
        Positions along ``dim``.
    src : Tensor of index's shape (or larger)
        The values reduced.
    reduce : {"sum", "prod", "mean", "amax", "amin"}
    include_self : bool
        Whether the present values of ``input`` take part.

    Returns
    -------
    Tensor of the input's shape
    """
    op = "scatter_reduce"
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"{op}(): reduce argument must be either sum, prod, mean, amax or "
                           f"amin, got {reduce}")
    d = normalize_dim(dim, input.ndim, op)
    idx = _index_arr(index, op)
    pos = _index_positions(input, d, idx, op).reshape(-1)
    x = input._data
    s = _arr(src)[tuple(slice(0, i) for i in idx.shape)].reshape(-1).astype(x.dtype)
    hit = np.zeros(x.size, bool)
    hit[pos] = True
    count = np.bincount(pos, minlength=x.size).astype(x.dtype)
    if include_self:
        count += 1
    flat = x.reshape(-1)
    if reduce in ("sum", "mean"):
        # a sum of recorded ops: input (kept, or zeroed where hit) plus the scattered src
        base = input if include_self else where(_const(hit.reshape(x.shape)), 0, input)
        out = scatter_add(base, d, index, src) if isinstance(src, Tensor) else \
            _const(base._data.copy())
        if not isinstance(src, Tensor):
            np.add.at(out._data.reshape(-1), pos, s)
        if reduce == "mean":
            out = out / _const(np.where(hit, np.maximum(count, 1), 1).reshape(x.shape))
            if x.dtype.kind in "iu":
                out = out.floor().to(input.dtype)
        return out
    ufunc = _SCATTER_REDUCE[reduce]
    res = flat.copy()
    if not include_self:
        res[hit] = {"prod": 1, "amax": -np.inf, "amin": np.inf}[reduce] \
            if x.dtype.kind == "f" else {"prod": 1, "amax": np.iinfo(x.dtype).min,
                                         "amin": np.iinfo(x.dtype).max}[reduce]
    ufunc.at(res, pos, s)
    result = _const(res.reshape(x.shape))
    if not (_autograd.is_grad_enabled() and (
            input.requires_grad or isinstance(src, Tensor) and src.requires_grad)):
        return result
    # the value is res exactly; the gradient comes from a recorded sum with res's derivative
    with np.errstate(divide="ignore", invalid="ignore"):
        if reduce == "prod":
            w_self, w_src = res / flat, res[pos] / s
        else:
            w_self = (flat == res).astype(x.dtype)
            w_src = (s == res[pos]).astype(x.dtype)
            ties = np.bincount(pos, weights=w_src, minlength=x.size) + \
                (w_self if include_self else 0)
            ties = np.where(hit, np.maximum(ties, 1), 1)
            w_self, w_src = w_self / ties, w_src / ties[pos]
    w_self = np.where(hit, w_self if include_self else 0, 1).reshape(x.shape)
    terms = input * _const(w_self)
    if isinstance(src, Tensor):
        w = w_src.reshape(idx.shape)
        part = src if src.shape == tuple(idx.shape) else src[tuple(slice(0, i) for i in
                                                                   idx.shape)]
        terms = scatter_add(terms, d, index, part * _const(w.astype(x.dtype)))
    return result + (terms - terms.detach())


def _dim_positions(input, d, index, op):
    idx = _index_arr(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    n = input.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}(): index out of range in self")
    return np.take(_positions(input), idx.reshape(-1) % _bmax(n, 1), axis=d) if input.ndim \
        else np.zeros(idx.reshape(-1).shape, np.int64)


def index_select(input, dim, index):
    """The slices at ``index`` (a 1-D int tensor) along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64 of shape (K,)
        Positions along ``dim``.

    Returns
    -------
    Tensor
        The input's shape with K along ``dim``.
    """
    d = normalize_dim(dim, input.ndim, "index_select")
    if input.ndim == 0:
        return _gather_map(input, _dim_positions(input, d, index, "index_select"))
    idx = _index_arr(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    n = input.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError("index_select(): index out of range in self")
    return _sh.IndexSelectFunction.apply(input, idx.reshape(-1) % _bmax(n, 1), d)


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``.

    A copy of ``input`` with ``alpha * source`` added at the slices ``index`` along ``dim``
    (repeated indices add up).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64 of shape (K,)
        Positions along ``dim``.
    source : Tensor of input's shape with K along dim
        The values.
    alpha : number
        The multiplier of ``source``.

    Returns
    -------
    Tensor of the input's shape
    """
    d = normalize_dim(dim, input.ndim, "index_add")
    where = _dim_positions(input, d, index, "index_add")
    if alpha != 1:
        source = mul(source, alpha)
    return _sh.ScatterMapFunction.apply(input, source, where, True)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices ``index`` along ``dim`` replaced by ``source``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64 of shape (K,)
        Positions along ``dim``.
    source : Tensor of input's shape with K along dim
        The values.

    Returns
    -------
    Tensor of the input's shape
    """
    d = normalize_dim(dim, input.ndim, "index_copy")
    return _sh.ScatterMapFunction.apply(input, source, _dim_positions(input, d, index,
                                                                      "index_copy"), False)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64 of shape (K,)
        Positions along ``dim``.
    value : number
        The value written.

    Returns
    -------
    Tensor of the input's shape
    """
    d = normalize_dim(dim, input.ndim, "index_fill")
    return _sh.ScatterMapFunction.apply(input, _arr(value) if isinstance(value, Tensor) else
                                        value, _dim_positions(input, d, index, "index_fill"),
                                        False)


def _scatter_view(input, src, where, op):
    """A copy of ``input`` with ``src`` written at the flat positions ``where`` (the elements
    of one of its views), ``src`` of that view's shape exactly."""
    _check_src(src, where.shape, op)
    return _sh.ScatterMapFunction.apply(input, src, where, False)


def _check_src(src, shape, op):
    if tuple(src.shape) != tuple(shape):
        raise RuntimeError(f"{op}: expected src to have a size equal to the slice of self. src "
                           f"size = {list(src.shape)}, slice size = {list(shape)}")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with ``src`` written into the slice ``start:end:step`` along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    src : Tensor of the slice's shape
        The values written.
    dim : int
        The dimension sliced.
    start : int or None
        The first index (None: 0).
    end : int or None
        One past the last index (None: the end).
    step : int
        Positive.

    Returns
    -------
    Tensor of the input's shape
    """
    d = normalize_dim(dim, input.ndim, "slice_scatter")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_view(input, src, _positions(input)[key], "slice_scatter")


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``src`` written into the slice at ``index`` along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    src : Tensor of input's shape without dim
        The values written.
    dim : int
        The dimension indexed.
    index : int
        The position along ``dim``.

    Returns
    -------
    Tensor of the input's shape
    """
    d = normalize_dim(dim, input.ndim, "select_scatter")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    where = np.take(_positions(input), int(index) % n, axis=d)
    return _scatter_view(input, src, where, "select_scatter")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with ``src`` written into the diagonal that :func:`diagonal` reads.

    Parameters
    ----------
    input : Tensor of shape (..., n, m, ...)
        At least 2 dimensions: dim1 and dim2 hold the matrices.
    src : Tensor of the diagonal's shape
        The values written (the diagonal last, as :func:`diagonal` gives it).
    offset : int
        Which diagonal: 0 the main one, positive above, negative below.
    dim1 : int
        The first dimension of the matrices.
    dim2 : int
        The second dimension of the matrices.

    Returns
    -------
    Tensor of the input's shape
    """
    d1 = normalize_dim(dim1, input.ndim, "diagonal_scatter")
    d2 = normalize_dim(dim2, input.ndim, "diagonal_scatter")
    where = np.diagonal(_positions(input), offset, d1, d2)
    return _scatter_view(input, src, where, "diagonal_scatter")


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written at the flat positions ``index``.

    ``input`` is read as if flattened; with ``accumulate`` the values are added (repeated
    positions adding up), else written.

    Parameters
    ----------
    input : Tensor of any shape
    index : Tensor of int64 of any shape
        Positions in the flattened input (negative from the end).
    source : Tensor of shape (K,) or any shape of K elements
        The values, K being index's number of elements.
    accumulate : bool
        Add instead of writing.

    Returns
    -------
    Tensor of the input's shape
    """
    idx = _index_arr(index, "put").reshape(-1)
    n = input._data.size
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {int(idx[bad][0])} on a tensor "
                         f"of {n} elements.")
    count = source.numel() if isinstance(source, Tensor) else np.size(source)
    if count != idx.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {count}, "
                           f"index.numel() = {idx.size}")
    src = reshape(source, (-1,)) if isinstance(source, Tensor) else np.reshape(source, -1)
    return _sh.ScatterMapFunction.apply(input, src, idx % builtins.max(n, 1),
                                        builtins.bool(accumulate))


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """A copy of ``input`` into which the slices of ``source`` are reduced at ``index``.

    Slice ``i`` of ``source`` along ``dim`` is reduced into slice ``index[i]`` of ``input``
    (:func:`scatter_reduce` with the index spread over the other dimensions).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension indexed.
    index : Tensor of int64 of shape (K,)
        Positions along ``dim``.
    source : Tensor of input's shape with K along dim
        The values.
    reduce : {"prod", "mean", "amax", "amin"}
    include_self : bool
        Whether the present values of ``input`` take part.

    Returns
    -------
    Tensor of the input's shape
    """
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d = normalize_dim(dim, input.ndim, "index_reduce")
    idx = _index_arr(index, "index_reduce")
    src_shape = tuple(source.shape)
    expected = list(input.shape)
    expected[d] = idx.size
    if idx.ndim != 1 or list(src_shape) != expected:
        raise RuntimeError(f"index_reduce(): expected a 1-D index and a source of shape "
                           f"{expected} (the input's, index's length along dim {dim}), got "
                           f"index of shape {list(idx.shape)} and source of shape "
                           f"{list(src_shape)}")
    spread = np.broadcast_to(idx.reshape((1,) * d + (-1,) + (1,) * (input.ndim - d - 1)),
                             src_shape)
    return scatter_reduce(input, d, _const(np.ascontiguousarray(spread)), source, reduce,
                          include_self=include_self)


def renorm(input, p, dim, maxnorm):
    """``input`` with each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down.

    Each slice ``input.select(dim, i)`` whose p-norm is above ``maxnorm`` is multiplied by
    ``maxnorm / (norm + 1e-7)``; the others are kept.

    Parameters
    ----------
    input : Tensor of shape (d0, d1, ...)
        At least 2 dimensions.
    p : float
        The norm's order (positive).
    dim : int
        The dimension whose slices are normalised.
    maxnorm : float
        The largest norm kept.

    Returns
    -------
    Tensor of the input's shape
    """
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           f"dimensions")
    d = normalize_dim(dim, input.ndim, "renorm")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    others = tuple(k for k in range(input.ndim) if k != d)
    norms = norm(input, p, dim=others, keepdim=True)
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7),
                  _const(np.ones((), input._data.dtype)))
    return input * scale


def narrow_copy(input, dim, start, length):
    """A copy of :func:`narrow`'s slice.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        The dimension narrowed.
    start : int
        The first index.
    length : int
        How many elements.

    Returns
    -------
    Tensor
        A new tensor, ``length`` long along ``dim``.
    """
    return narrow(input, dim, start, length).clone()


def unsafe_chunk(input, chunks, dim=0):
    """:func:`chunk` (PyTorch's form without its checks on later in-place writes).

    Parameters
    ----------
    input : Tensor of any shape
    chunks : int
        How many pieces at most.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
    """
    return chunk(input, chunks, dim)


def unsafe_split(tensor, split_size, dim=0):
    """:func:`split` into pieces of ``split_size`` (PyTorch's form without some checks).

    Parameters
    ----------
    tensor : Tensor of any shape
    split_size : int
        The length of each piece along ``dim`` (the last may be shorter).
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
    """
    return split(tensor, split_size, dim)


def split_with_sizes(input, split_sizes, dim=0):
    """Pieces of the given sizes along ``dim`` (:func:`split` with a list of sizes).

    Parameters
    ----------
    input : Tensor of any shape
    split_sizes : sequence of int
        The length of each piece along ``dim``: non-negative, summing to that dimension's
        length.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
        Views, one a size.
    """
    if isinstance(split_sizes, numbers.Integral):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 1) must be tuple "
                        f"of ints, not {type(split_sizes).__name__}")
    return split(input, list(split_sizes), dim)


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    """:func:`split_with_sizes` (PyTorch's form without its checks on later in-place writes).

    Parameters
    ----------
    input : Tensor of any shape
    split_sizes : sequence of int
        The length of each piece along ``dim``, summing to that dimension's length.
    dim : int
        The dimension split.

    Returns
    -------
    tuple of Tensor
    """
    return split_with_sizes(input, split_sizes, dim)


def _int_list(op, name, position, values):
    """``values`` as a tuple of ints, else PyTorch's TypeError for argument ``name``."""
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be tuple of "
                        f"ints, not {type(values).__name__}") from None
    out = []
    for i, v in enumerate(values):
        try:
            out.append(operator.index(v))
        except TypeError:
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be tuple of "
                            f"ints, but found element of type {type(v).__name__} at pos "
                            f"{i}") from None
    return tuple(out)


def _strided_layout(op, size, stride, storage_offset, nbytes, itemsize):
    """``(offset, size, stride)`` of an ``as_strided`` call, checked as PyTorch checks them:
    the lengths agree, no negative stride, size or offset, and every element within the
    storage of ``nbytes`` bytes."""
    size = _int_list(op, "size", 2, size)
    stride = _int_list(op, "stride", 3, stride)
    offset = int(storage_offset)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if _bany(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if _bany(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if 0 not in size:
        need = itemsize * (offset + 1 + _bsum((n - 1) * s for n, s in zip(size, stride)))
        if need > nbytes:
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                f"{offset}, and itemsize {itemsize} requiring a storage size of {need} are out "
                f"of bounds for storage of size {nbytes}")
    return offset, size, stride


def _in_storage(arr):
    """``((offset, shape, strides), nbytes)``: where ``arr`` lies in its storage, in elements
    from the storage's start, and the storage's length in bytes."""
    start, nbytes = _storage(arr)
    here = _in_elements(arr, start, arr.itemsize)
    if here is None:
        raise RuntimeError(
            f"as_strided: the tensor ({tuple(arr.shape)}, {arr.dtype}) does not lie on whole "
            f"elements of its storage (a view of another dtype); call it on a .clone()")
    return (here[0], arr.shape, here[1]), nbytes


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes and strides.

    Element ``(i0, i1, ...)`` of the result is the storage's element ``storage_offset +
    i0 * stride[0] + i1 * stride[1] + ...``: positions count elements from the start of the
    storage (the memory ``input`` is a view of, as :meth:`Tensor.storage_offset` counts them),
    not from ``input``'s first element. Writes through the view reach ``input``. Windows may
    overlap (a sliding window with ``stride`` smaller than ``size``); the gradient of elements
    read several times adds up, as in PyTorch.

    Parameters
    ----------
    input : Tensor of any shape
    size : sequence of int
        The shape of the view.
    stride : sequence of int
        Its strides, in elements (non-negative, one per dimension of ``size``).
    storage_offset : int or None
        The storage position of its first element (None: ``input``'s own).

    Returns
    -------
    Tensor of shape ``size``
        A view sharing ``input``'s storage.

    Raises
    ------
    RuntimeError
        For an element beyond the end of the storage, a negative stride or offset, or sizes
        and strides of different lengths.
    """
    arr = input._data
    source, nbytes = _in_storage(arr)
    target = _strided_layout("as_strided", size, stride,
                             source[0] if storage_offset is None else storage_offset, nbytes,
                             arr.itemsize)
    return _ix.AsStridedFunction.apply(input, _ix.AsStrided(source, target))


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of ``input`` with ``src`` written into the view :func:`as_strided` gives of it.

    The copy keeps ``input``'s place in its storage (PyTorch's: strides, storage offset and
    storage size; C order from offset 0 when ``input`` holds an element twice, as an expanded
    tensor does), so ``size``, ``stride`` and ``storage_offset`` (default: ``input``'s) mean
    what they mean to :func:`as_strided`. Elements of ``src`` that land on storage positions
    ``input`` does not hold are dropped; of several landing on one position, the last is
    written.

    The gradient of ``input`` is zero where ``src`` was written, one elsewhere: the derivative
    (PyTorch 2.13's backward gives ``input`` the gradient of the written positions instead).

    Parameters
    ----------
    input : Tensor of any shape
    src : Tensor of shape ``size``
        The values written.
    size : sequence of int
        The shape of the view.
    stride : sequence of int
        Its strides in the storage, in elements.
    storage_offset : int or None
        The storage position of its first element (None: ``input``'s own).

    Returns
    -------
    Tensor of the input's shape
    """
    arr = input._data
    n = arr.size
    if _distinct(arr.shape, arr.strides, arr.itemsize):
        source, nbytes = _in_storage(arr)
    else:
        source, nbytes = (0, arr.shape, _ix._c_strides(arr.shape)), n * arr.itemsize
    target = _strided_layout("as_strided_scatter", size, stride,
                             source[0] if storage_offset is None else storage_offset, nbytes,
                             arr.itemsize)
    _check_src(src, target[1], "as_strided_scatter")
    slot, inv, _ = _ix.AsStrided(source, target).maps()
    element = np.empty(n, np.int64)  # input's element at each of its (distinct) positions
    element[inv] = np.arange(n)
    where = np.where(slot >= 0, element[slot], -1)
    # of the src elements landing on one position the last is written (the others, and those
    # landing outside input, are dropped: no gradient either)
    _, last = np.unique(where[::-1], return_index=True)
    kept = np.sort(where.size - 1 - last)
    kept = kept[where[kept] >= 0]
    if kept.size == where.size:
        return _scatter_view(input, src, where.reshape(target[1]), "as_strided_scatter")
    return _sh.ScatterMapFunction.apply(input, _gather_map(reshape(src, (-1,)), kept),
                                        where[kept], False)


def is_nonzero(input):
    """Whether a one-element tensor is not zero (``False`` for ``0``, ``0.0`` and ``False``).

    Parameters
    ----------
    input : Tensor of one element

    Returns
    -------
    bool
    """
    n = input._data.size
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0 else
                           "Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(-1)[0] != 0)


def _mask_arr(mask, op):
    m = np.asarray(_arr(mask))
    if m.dtype != np.bool_:
        raise RuntimeError(f"{op}: expected mask dtype to be Bool but got {m.dtype}")
    return m


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where ``mask`` is True.

    A copy of ``input`` with ``value`` where ``mask`` (broadcast) is True; the value keeps
    ``input``'s dtype.

    Parameters
    ----------
    input : Tensor of any shape
    mask : Tensor of bool, broadcastable with input
        Where to act.
    value : number
        The value written.

    Returns
    -------
    Tensor of the input's shape
    """
    m = _mask_arr(mask, "masked_fill")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        value = value.to(input._data.dtype)
    else:
        value = np.asarray(value, input._data.dtype)
    out = _ew.WhereFunction.apply(m, value, input)
    if out.shape != input.shape:
        raise RuntimeError(f"masked_fill: mask of shape {m.shape} does not broadcast to the "
                           f"input's shape {tuple(input.shape)}")
    return out


def masked_select(input, mask):
    """The elements where ``mask`` (broadcast with input) is True, as a 1-D tensor.

    Parameters
    ----------
    input : Tensor of any shape
    mask : Tensor of bool, broadcastable with input
        Where to act.

    Returns
    -------
    Tensor of shape (K,)
        The K elements where ``mask`` is True.
    """
    m = _mask_arr(mask, "masked_select")
    shape = np.broadcast_shapes(input.shape, m.shape)
    pos = np.broadcast_to(_positions(input), shape)
    return _gather_map(input, pos[np.broadcast_to(m, shape)])


def masked_scatter(input, mask, source):
    """A copy of ``input`` with the elements where ``mask`` is True taken from ``source`` in order.

    Parameters
    ----------
    input : Tensor of any shape
    mask : Tensor of bool, broadcastable with input
        Where to act.
    source : Tensor of any shape
        Read in order; at least as many elements as ``mask`` has Trues.

    Returns
    -------
    Tensor of the input's shape
    """
    m = np.broadcast_to(_mask_arr(mask, "masked_scatter"), input.shape)
    where = _positions(input)[m]
    if source.numel() < where.size:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as ones in mask")
    src = _slice(reshape(source, (-1,)), 0, 0, where.size)
    return _sh.ScatterMapFunction.apply(input, src, where, False)


def take(input, index):
    """Elements at the flat positions ``index`` (the result has index's shape).

    Parameters
    ----------
    input : Tensor of any shape
    index : Tensor of int64 of any shape
        Positions in the flattened input.

    Returns
    -------
    Tensor of the shape of index
    """
    idx = _index_arr(index, "take")
    n = input._data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements")
    return _gather_map(input, idx % _bmax(n, 1))


def repeat(input, *sizes):
    """The tensor tiled ``sizes`` times along each dimension (leading sizes add dimensions)."""
    sizes = _sh.shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    return _gather_map(input, np.tile(_positions(input), sizes))


def tile(input, dims):
    """The tensor tiled ``dims`` times (missing leading entries taken as 1).

    Parameters
    ----------
    input : Tensor of any shape
    dims : sequence of int
        The repetitions along each dimension.

    Returns
    -------
    Tensor
    """
    return _gather_map(input, np.tile(_positions(input), tuple(dims)))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times.

    Each element (or slice along ``dim``) repeated ``repeats`` times in place; the input is
    flattened when ``dim`` is None.

    Parameters
    ----------
    input : Tensor of any shape
    repeats : int or Tensor of shape (input.size(dim),), optional
        The repetitions of each element.
    dim : int, optional
        The dimension repeated along (None: the flattened input).
    output_size : int, optional
        The total length along ``dim`` (saves a pass).

    Returns
    -------
    Tensor
    """
    if repeats is None:  # repeat_interleave(repeats): indices repeated by their counts
        counts = _index_arr(input, "repeat_interleave")
        return _const(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    reps = _arr(repeats)
    if isinstance(reps, np.ndarray) and reps.ndim == 0:
        reps = int(reps)
    pos = _positions(input)
    if dim is None:
        return _gather_map(input, np.repeat(pos.reshape(-1), reps))
    return _gather_map(input, np.repeat(pos, reps, axis=normalize_dim(dim, input.ndim,
                                                                      "repeat_interleave")))


def flip(input, dims):
    """The tensor with the order of elements reversed along ``dims``.

    Parameters
    ----------
    input : Tensor of any shape
    dims : int or sequence of int
        The dimensions to reverse.

    Returns
    -------
    Tensor of the input's shape
    """
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    axes = tuple(normalize_dim(d, input.ndim, "flip") for d in dims)
    return _gather_map(input, np.flip(_positions(input), axes))


def fliplr(input):
    """``flip(input, 1)``.

    Parameters
    ----------
    input : Tensor of shape (n, m, *)

    Returns
    -------
    Tensor of the input's shape
    """
    return flip(input, (1,))


def flipud(input):
    """``flip(input, 0)``.

    Parameters
    ----------
    input : Tensor of shape (n, *)

    Returns
    -------
    Tensor of the input's shape
    """
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    """Elements shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor when None).

    Parameters
    ----------
    input : Tensor of any shape
    shifts : int or sequence of int
        By how many places (one per dimension of ``dims``).
    dims : int or sequence of int, optional
        The dimensions (None: the flattened tensor).

    Returns
    -------
    Tensor of the input's shape
    """
    pos = _positions(input)
    if dims is None:
        return _gather_map(input, np.roll(pos.reshape(-1), shifts).reshape(input.shape))
    return _gather_map(input, np.roll(pos, shifts, dims))


def rot90(input, k=1, dims=(0, 1)):
    """Rotation by 90 degrees ``k`` times in the plane of ``dims``.

    Parameters
    ----------
    input : Tensor of any shape
    k : int
        How many quarter turns (from the first dimension toward the second).
    dims : sequence of two int
        The plane of rotation.

    Returns
    -------
    Tensor
    """
    return _gather_map(input, np.rot90(_positions(input), k, tuple(dims)))


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the planes ``(dim1, dim2)``, as the last dimension.

    Parameters
    ----------
    input : Tensor of any shape
    offset : int
        Which diagonal: 0 the main one, positive above, negative below.
    dim1 : int
        The first dimension of the matrices.
    dim2 : int
        The second dimension of the matrices.

    Returns
    -------
    Tensor
        A view; the diagonal is the last dimension.
    """
    d1 = normalize_dim(dim1, input.ndim, "diagonal")
    d2 = normalize_dim(dim2, input.ndim, "diagonal")
    return _gather_map(input, np.diagonal(_positions(input), offset, d1, d2))


def diag(input, diagonal=0):
    """A vector as a diagonal matrix, or a matrix's diagonal as a vector.

    A 1-D tensor as a square matrix with it on diagonal ``diagonal``; a matrix's diagonal as a 1-D
    tensor.

    Parameters
    ----------
    input : Tensor of shape (n,) or (n, m)
    diagonal : int
        Which diagonal: 0 the main one, positive above, negative below.

    Returns
    -------
    Tensor
        The matrix with ``input`` on a diagonal (1-D input), or the diagonal (2-D input).
    """
    if input.ndim == 1:
        n = input.shape[0]
        size = n + _babs(diagonal)
        where = np.full((size, size), -1, np.int64)
        rows = np.arange(n) + _bmax(-diagonal, 0)
        where[rows, rows + diagonal] = np.arange(n)
        return _gather_map(input, where)
    if input.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return _gather_map(input, np.diagonal(_positions(input), diagonal))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Each last-dimension vector as the diagonal of a matrix (planes ``dim1, dim2``).

    Parameters
    ----------
    input : Tensor of any shape
    offset : int
        Which diagonal: 0 the main one, positive above, negative below.
    dim1 : int
        The first dimension of the matrices.
    dim2 : int
        The second dimension of the matrices.

    Returns
    -------
    Tensor
        One more dimension: the last dimension of input becomes diagonals.
    """
    n = input.shape[-1]
    size = n + _babs(offset)
    pos = _positions(input)
    where = np.full(input.shape[:-1] + (size, size), -1, np.int64)
    rows = np.arange(n) + _bmax(-offset, 0)
    where[..., rows, rows + offset] = pos
    out_nd = input.ndim + 1
    d1, d2 = normalize_dim(dim1, out_nd, "diag_embed"), normalize_dim(dim2, out_nd, "diag_embed")
    where = np.moveaxis(where, (-2, -1), (d1, d2))
    return _gather_map(input, where)


def trace(input):
    """Sum of the main diagonal of a matrix (integers give int64).

    Parameters
    ----------
    input : Tensor of shape (n, m)

    Returns
    -------
    Tensor (0-d)
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return sum(diag(input))


def _triangle(input, diagonal, lower, op):
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2:]
    keep = (np.tri(rows, cols, diagonal, dtype=bool) if lower else
            ~np.tri(rows, cols, diagonal - 1, dtype=bool))
    return _gather_map(input, np.where(keep, _positions(input), -1))


def tril(input, diagonal=0):
    """The lower triangle of the last two dimensions (on and below ``diagonal``), zeros elsewhere.

    Parameters
    ----------
    input : Tensor of shape (*, n, m)
    diagonal : int
        Which diagonal: 0 the main one, positive above, negative below.

    Returns
    -------
    Tensor of the input's shape
    """
    return _triangle(input, diagonal, True, "tril")


def triu(input, diagonal=0):
    """The upper triangle of the last two dimensions (on and above ``diagonal``).

    Parameters
    ----------
    input : Tensor of shape (*, n, m)
    diagonal : int
        Which diagonal: 0 the main one, positive above, negative below.

    Returns
    -------
    Tensor of the input's shape
    """
    return _triangle(input, diagonal, False, "triu")


def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim`` (the first dimension of size 3 when None).

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor of the same shape as input
    dim : int, optional
        A dimension of size 3 (by default the first one).

    Returns
    -------
    Tensor of the input's shape
    """
    shape = np.broadcast_shapes(input.shape, other.shape)
    if dim is None:
        dims = [k for k, s in enumerate(shape) if s == 3]
        if not dims:
            raise RuntimeError("cross: no dimension of size 3 in input")
        dim = dims[0]
    d = normalize_dim(dim, len(shape), "cross")
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d] if input.ndim > d else 1} and "
                           f"{other.shape[d] if other.ndim > d else 1}")
    a, b = broadcast_tensors(input, other)
    a0, a1, a2 = unbind(a, d)
    b0, b1, b2 = unbind(b, d)
    return stack([sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)),
                  sub(mul(a0, b1), mul(a1, b0))], d)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of ``(*, P, M)`` and ``(*, R, M)``: ``(*, P, R)``.

    Parameters
    ----------
    x1 : Tensor of shape (B, P, M) or (P, M)
        The first set of row vectors.
    x2 : Tensor of shape (B, R, M) or (R, M)
        The second set of row vectors.
    p : float
        The order of the norm.
    compute_mode : str
        Accepted for PyTorch's signature (distances are taken from the differences).

    Returns
    -------
    Tensor of shape (B, P, R) or (P, R)
    """
    _real_only("cdist", x1, x2)
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError("cdist only supports at least 2D tensors")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    diff = sub(unsqueeze(x1, -2), unsqueeze(x2, -3))
    return norm(diff, p, -1)


def kron(input, other):
    """Kronecker product: blocks ``input[i, j] * other``.

    Parameters
    ----------
    input : Tensor of any shape
    other : Tensor of any shape

    Returns
    -------
    Tensor
        Each dimension the product of the inputs' sizes.
    """
    a, b = input, other
    nd = _bmax(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + tuple(a.shape))
    b = reshape(b, (1,) * (nd - b.ndim) + tuple(b.shape))
    ea = reshape(a, tuple(x for s in a.shape for x in (s, 1)))
    eb = reshape(b, tuple(x for s in b.shape for x in (1, s)))
    return reshape(mul(ea, eb), tuple(p * q for p, q in zip(a.shape, b.shape)))


def block_diag(*tensors):
    """The tensors (2-D, 1-D as rows, 0-d as 1x1) as blocks on a diagonal.

    Parameters
    ----------
    *tensors : Tensor of shape (), (n,) or (n, m)
        The blocks.

    Returns
    -------
    Tensor of 2 dimensions
    """
    mats = [reshape(t_, (1, -1)) if t_.ndim < 2 else t_ for t_ in tensors]
    cols = _bsum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        right_ = cols - left - m.shape[1]
        parts = [p for p in (_const(np.zeros((m.shape[0], left), m._data.dtype)), m,
                             _const(np.zeros((m.shape[0], right_), m._data.dtype)))]
        rows.append(cat(parts, 1))
        left += m.shape[1]
    return cat(rows, 0)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors (``indexing``: "ij" matrix, "xy" Cartesian).

    Parameters
    ----------
    *tensors : Tensor of shape (N_i,)
        1-D tensors.
    indexing : {'ij', 'xy'}, optional
        Matrix ('ij') or Cartesian ('xy') indexing.

    Returns
    -------
    tuple of Tensor
        Each of shape (N_1, N_2, ...) (``'xy'``: the first two swapped).
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    shape = [t_.numel() for t_ in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for k, t_ in enumerate(tensors):
        axis = (1 - k if k < 2 else k) if swap else k
        view_shape = [1] * len(tensors)
        view_shape[axis] = -1
        out.append(expand(reshape(t_, tuple(view_shape)), *shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """All combinations of the elements of 1-D tensors, one per row.

    Parameters
    ----------
    *tensors : Tensor of shape (N_i,)
        1-D tensors.

    Returns
    -------
    Tensor of shape (N_1 * N_2 * ..., len(tensors))
    """
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) of a 2-D tensor whose columns are observations.

    Parameters
    ----------
    input : Tensor of shape (V, N) or (N,)
        V variables (rows), N observations.
    correction : int, optional
        Subtracted from the number of elements in the divisor (1: unbiased).
    fweights : Tensor of int of shape (N,), optional
        Frequency weights of the observations.
    aweights : Tensor of shape (N,), optional
        Observation weights.

    Returns
    -------
    Tensor of shape (V, V)
    """
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights and aweights are not implemented in pynn")
    x = input if input.ndim == 2 else reshape(input, (1, -1))
    n = x.shape[1]
    d = sub(x, mean(x, 1, keepdim=True))
    c = div(matmul(d, t(d)), _bmax(n - correction, 0))
    return reshape(c, ()) if input.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows of a 2-D tensor.

    Parameters
    ----------
    input : Tensor of shape (V, N) or (N,)
        V variables (rows), N observations.

    Returns
    -------
    Tensor of shape (V, V)
    """
    c = cov(input)
    if c.ndim == 0:
        return div(c, c)
    s = sqrt(diagonal(c))
    return clamp(div(div(c, unsqueeze(s, 1)), unsqueeze(s, 0)), -1, 1)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of ``y`` along ``dim`` by the trapezoidal rule.

    Parameters
    ----------
    y : Tensor of any shape
        The values to integrate.
    x : Tensor broadcastable with y, optional
        The sample points.
    dx : float, optional
        The spacing between samples (1 by default).
    dim : int
        The dimension to integrate along.

    Returns
    -------
    Tensor
        ``dim`` removed.
    """
    d = normalize_dim(dim, y.ndim, "trapezoid")
    k = y.shape[d]
    if k == 0:
        return sum(y, d)
    mid = mul(add(narrow(y, d, 1, k - 1), narrow(y, d, 0, k - 1)), 0.5)
    if x is None:
        return mul(sum(mid, d), 1.0 if dx is None else dx)
    xd = diff(x, dim=-1 if x.ndim == 1 else d)
    if x.ndim == 1 and y.ndim > 1:
        xd = reshape(xd, (-1,) + (1,) * (y.ndim - d - 1))
    return sum(mul(mid, xd), d)


trapz = trapezoid


# ---------------------------------------------------------------------------------------------
# Softmax family (methods and namespace names of the nn engineer's kernels)


def softmax(input, dim=None, dtype=None):
    """Softmax along ``dim`` (``dtype``: cast the input first).

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, optional
        The dimension the probabilities sum to 1 along.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape
    """
    input = _cast(input, dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return _sm.SoftmaxFunction.apply(input, dim)


def log_softmax(input, dim=None, dtype=None):
    """``log(softmax(input))`` along ``dim``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int, optional
        The dimension the probabilities sum to 1 along.
    dtype : pynn.dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape
    """
    input = _cast(input, dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _sm.LogSoftmaxFunction.apply(input, dim)


# ---------------------------------------------------------------------------------------------
# Operators and the method table


def _radd(self, other):
    return _ew.AddFunction.apply(other, self)


def _rsub(self, other):
    return _ew.SubFunction.apply(other, self)


def _rmul(self, other):
    return _ew.MulFunction.apply(other, self)


def _rtruediv(self, other):
    return _ew.DivFunction.apply(other, self)


def _rpow(self, other):
    return _ew.PowFunction.apply(other, self)


def _rfloordiv(self, other):
    return div(other, self, rounding_mode="floor")


def _rmod(self, other):
    return _ew.FmodFunction.apply(other, self, True)


def _eq(self, other):
    if other is None:
        return False
    return _const(np.equal(self._data, _arr(other)))


def _ne(self, other):
    if other is None:
        return True
    return _const(np.not_equal(self._data, _arr(other)))


def _and(self, other):
    return bitwise_and(self, other)


def _or(self, other):
    return bitwise_or(self, other)


def _xor(self, other):
    return bitwise_xor(self, other)


def _rand(self, other):
    return bitwise_and(other, self)


def _ror(self, other):
    return bitwise_or(other, self)


def _rxor(self, other):
    return bitwise_xor(other, self)


def _add_op(self, other, _apply=_ew.AddFunction.apply):
    return _apply(self, other)


def _sub_op(self, other, _apply=_ew.SubFunction.apply):
    return _apply(self, other)


def _mul_op(self, other, _apply=_ew.MulFunction.apply):
    return _apply(self, other)


def _truediv_op(self, other, _apply=_ew.DivFunction.apply):
    return _apply(self, other)


def _pow_op(self, other, _apply=_ew.PowFunction.apply):
    return _apply(self, other)


def _matmul_op(self, other, _apply=_mm.MatmulFunction.apply):
    return _apply(self, other)


# Operators: the hot ones call their Function directly (no keyword handling).
_OPERATORS = {
    "__add__": _add_op,
    "__radd__": _radd,
    "__sub__": _sub_op,
    "__rsub__": _rsub,
    "__mul__": _mul_op,
    "__rmul__": _rmul,
    "__truediv__": _truediv_op,
    "__rtruediv__": _rtruediv,
    "__floordiv__": floor_divide,
    "__rfloordiv__": _rfloordiv,
    "__mod__": remainder,
    "__rmod__": _rmod,
    "__pow__": _pow_op,
    "__rpow__": _rpow,
    "__matmul__": _matmul_op,
    "__rmatmul__": _rmatmul,
    "__neg__": neg,
    "__pos__": positive,
    "__abs__": abs,
    "__invert__": bitwise_not,
    "__lshift__": bitwise_left_shift,
    "__rshift__": bitwise_right_shift,
    "__and__": _and,
    "__or__": _or,
    "__xor__": _xor,
    "__rand__": _rand,
    "__ror__": _ror,
    "__rxor__": _rxor,
    "__eq__": _eq,
    "__ne__": _ne,
    "__lt__": lt,
    "__le__": le,
    "__gt__": gt,
    "__ge__": ge,
}

# Namespace functions that are Tensor methods of the same name.
_METHOD_NAMES = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "pow", "float_power", "neg",
    "positive", "maximum", "minimum", "fmod", "remainder", "atan2", "hypot", "clamp", "clamp_min",
    "clamp_max", "lerp", "addcmul", "addcdiv", "exp", "exp2", "log", "log2", "log10", "log1p",
    "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "erf",
    "erfinv", "reciprocal", "square", "abs", "frac", "tanh", "sigmoid", "relu", "sign", "floor",
    "ceil", "trunc", "round", "nan_to_num", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isclose", "allclose",
    "equal", "sum", "nansum", "mean", "nanmean", "prod", "var", "std", "norm", "dist", "logsumexp",
    "cumsum", "cumprod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "sort",
    "argsort", "msort", "topk", "kthvalue", "median", "mode", "unique", "unique_consecutive",
    "quantile", "nanquantile", "nanmedian", "erfc", "cov", "corrcoef", "scatter_reduce",
    "all", "any", "count_nonzero", "nonzero", "argwhere", "matmul", "mm", "bmm", "mv", "dot",
    "vdot", "inner", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm", "reshape", "view",
    "view_as", "reshape_as", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "permute",
    "transpose", "swapaxes", "swapdims", "t", "adjoint", "movedim", "moveaxis", "expand",
    "expand_as", "broadcast_to", "narrow", "select", "split", "chunk", "tensor_split", "unbind",
    "gather", "take_along_dim", "scatter", "scatter_add", "index_select", "index_add",
    "index_copy", "index_fill", "masked_fill", "masked_select", "masked_scatter", "take", "repeat",
    "tile", "repeat_interleave", "flip", "fliplr", "flipud", "roll", "rot90", "diagonal", "diag",
    "diag_embed", "trace", "tril", "triu", "cross", "softmax", "log_softmax", "asinh", "acosh",
    "atanh", "deg2rad", "rad2deg", "lgamma", "digamma", "sinc", "logit", "xlogy", "logaddexp",
    "logaddexp2", "sgn", "signbit", "copysign", "heaviside", "gcd", "lcm", "fmax", "fmin",
    "cummax", "cummin", "logcumsumexp", "diff", "bincount", "histc", "kron", "bitwise_left_shift",
    "bitwise_right_shift", "to_sparse", "to_dense", "unfold", "ldexp", "nextafter", "frexp",
    "isreal", "addr", "diagflat", "hsplit", "vsplit", "dsplit", "histogram", "i0", "mvlgamma",
    "igamma", "igammac", "slice_scatter", "select_scatter", "diagonal_scatter", "put",
    "index_reduce", "renorm", "narrow_copy", "is_nonzero", "unsafe_chunk", "unsafe_split",
    "split_with_sizes", "unsafe_split_with_sizes", "as_strided", "as_strided_scatter"
]

# Tensor method aliases that the namespace spells differently.
_METHOD_ALIASES = {
    "absolute": abs, "negative": neg, "multiply": mul, "divide": div, "subtract": sub,
    "clip": clamp, "arcsin": asin, "arccos": acos, "arctan": atan, "arctan2": atan2,
    "greater": gt, "greater_equal": ge, "less": lt, "less_equal": le, "not_equal": ne,
    "fix": trunc, "arcsinh": asinh, "arccosh": acosh, "arctanh": atanh,
}

_PROPERTIES = {"T": _T, "mT": _mT, "H": _H, "mH": _mH}

# Namespace-only (not Tensor methods in PyTorch either).
_NAMESPACE_ONLY = [
    "rsub", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
    "column_stack", "atleast_1d", "atleast_2d", "einsum", "tensordot", "where",
    "broadcast_tensors", "var_mean", "std_mean", "cdist", "block_diag", "meshgrid",
    "cartesian_prod", "trapezoid", "trapz", "searchsorted", "bucketize", "spmm", "combinations",
    "unravel_index", "broadcast_shapes", "isin", "atleast_3d", "chain_matmul", "vander",
    "cumulative_trapezoid", "polygamma",
]


def _where_method(self, condition, other):
    """``where(condition, self, other)`` (the method's argument order)."""
    return where(condition, self, other)


# NumPy's ufuncs given a Tensor, as with PyTorch's: arithmetic and comparisons with an ndarray
# or a NumPy scalar go to the Tensor's operators (recorded, PyTorch's type promotion); any
# other ufunc (``np.sqrt(t)``, ``np.isnan(t)``) runs on the data and gives a Tensor back.
_UFUNC_OPERATORS = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"), np.true_divide: ("__truediv__", "__rtruediv__"),
    np.floor_divide: ("__floordiv__", "__rfloordiv__"), np.remainder: ("__mod__", "__rmod__"),
    np.power: ("__pow__", "__rpow__"), np.matmul: ("__matmul__", "__rmatmul__"),
    np.equal: ("__eq__", "__eq__"), np.not_equal: ("__ne__", "__ne__"),
    np.less: ("__lt__", "__gt__"), np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"), np.greater_equal: ("__ge__", "__le__"),
}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    names = _UFUNC_OPERATORS.get(ufunc) if method == "__call__" and not kwargs else None
    if names is not None and len(inputs) == 2:
        a, b = inputs
        return getattr(a, names[0])(b) if isinstance(a, Tensor) else getattr(b, names[1])(a)
    # .numpy() refuses a tensor that requires grad, as PyTorch's conversion does
    arrays = [x.numpy() if isinstance(x, Tensor) else x for x in inputs]
    out = kwargs.get("out")
    if out is not None:
        kwargs["out"] = tuple(o.numpy() if isinstance(o, Tensor) else o for o in out)
    result = getattr(ufunc, method)(*arrays, **kwargs)
    if out is not None:
        return out[0] if len(out) == 1 else out
    if isinstance(result, tuple):
        return tuple(_const(r) if isinstance(r, (_ndarray, np.generic)) else r for r in result)
    return _const(result) if isinstance(result, (_ndarray, np.generic)) else result


# Views of their first argument: linked to it when made outside the graph (Tensor._view_op)
_VIEWS = ["reshape", "view", "view_as", "reshape_as", "flatten", "ravel", "unflatten", "squeeze",
          "unsqueeze", "permute", "transpose", "swapaxes", "swapdims", "t", "adjoint", "movedim",
          "moveaxis", "expand", "expand_as", "broadcast_to", "narrow", "select", "split", "chunk",
          "tensor_split", "unbind", "diagonal", "unfold", "_T", "_mT", "as_strided"]


def _install():
    for name in _VIEWS:
        globals()[name] = _view_op(globals()[name])
    _PROPERTIES.update(T=_T, mT=_mT)
    Tensor.__array_ufunc__ = _array_ufunc
    for name, fn in _OPERATORS.items():
        setattr(Tensor, name, fn)
    for name in _METHOD_NAMES:
        setattr(Tensor, name, globals()[name])
    for name, fn in _METHOD_ALIASES.items():
        setattr(Tensor, name, fn)
    Tensor.where = _where_method
    Tensor.polygamma = _polygamma_method  # its order: x.polygamma(n)
    for name, fn in _PROPERTIES.items():
        setattr(Tensor, name, property(fn, doc=fn.__doc__))


_install()

# Tensor methods with no torch-namespace function of that name.
_METHOD_ONLY = {"view", "view_as", "reshape_as", "expand", "expand_as", "repeat", "to_sparse",
                "to_dense", "unfold"}

_EXPORTS = [n for n in _METHOD_NAMES if n not in _METHOD_ONLY] + list(_METHOD_ALIASES) + \
    _NAMESPACE_ONLY
_namespace = globals()
for _name in _EXPORTS:
    _namespace[_name] = _with_out(_namespace[_name] if _name in _namespace
                                  else _METHOD_ALIASES[_name])
__all__ = list(_EXPORTS)
del _namespace, _name

# pynn.linalg, and the namespace and method forms PyTorch keeps outside it (inverse, det ...)
from . import linalg  # noqa: E402  (it reads the functions defined above)

for _name, _fn in linalg.NAMESPACE.items():
    globals()[_name] = _with_out(_fn)
    __all__.append(_name)
del _name, _fn


def _method_doc(doc, bound):
    """``doc`` without the entry of ``bound`` (the argument a Tensor method binds to self) in
    its Parameters section; the section goes when nothing is left in it."""
    lines = inspect.cleandoc(doc).split("\n")
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return doc
    end = start
    while end < len(lines) and lines[end].strip() and not (
            end + 1 < len(lines) and lines[end + 1].startswith("---")):
        end += 1
    out, skip = [], False
    for line in lines[start:end]:
        if not line.startswith(" "):
            names, sep, typ = line.partition(" : ")
            kept = [n for n in names.split(", ") if n.lstrip("*") != bound]
            skip = not kept
            if kept:
                line = ", ".join(kept) + sep + typ
        if not skip:
            out.append(line)
    if out:
        return "\n".join(lines[:start] + out + lines[end:])
    rest = lines[end + 1:] if end < len(lines) and not lines[end].strip() else lines[end:]
    return "\n".join(lines[:start - 2] + rest).rstrip() + "\n"


def _method_docs():
    """The Tensor methods installed from functions document the method's own arguments: the
    function's docstring without the argument the method binds (the namespace function, a
    :func:`_with_out` wrapper, keeps the full docstring)."""
    done = set()
    for name in _METHOD_NAMES + list(linalg.NAMESPACE):
        fn = Tensor.__dict__[name]
        if id(fn) in done or not fn.__doc__:
            continue
        done.add(id(fn))
        bound = next(iter(inspect.signature(fn).parameters))
        fn.__doc__ = _method_doc(fn.__doc__, bound)


_method_docs()
