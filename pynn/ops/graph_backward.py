"""Backward passes as recorded Tensor operations, for ``create_graph=True``.

Every built-in node's ``backward`` works on ndarrays, which keeps the ordinary walk cheap but
leaves no graph behind. Under ``create_graph=True`` the walk calls
:meth:`pynn.autograd.ArrayFunction._backward_graph` instead, which looks the node's class up
in :data:`GRAPH_BACKWARD` here: each entry expresses the op's gradient with pynn Tensor
operations on the node's recorded inputs (``node._inputs``), so the gradients it returns are
themselves differentiable (gradient penalties, Hessian-vector products, derivatives of a
network with respect to its inputs). Nothing here runs unless ``create_graph`` is True.

An entry is ``fn(node, *grads) -> tuple`` with one Tensor gradient per output in (None for an
output that received none) and one Tensor or None per argument of ``apply`` out. Values an
entry needs from the forward are recomputed from the inputs with Tensor ops (``exp`` from
``x.exp()``), never read from the node's saved arrays, which are constants to the new graph.
Piecewise-constant factors (masks, signs) have a zero derivative (:func:`_const`), as in
PyTorch. Linear ops whose adjoint has no node of its own get one here (average pooling,
embedding), each the other's gradient.

Ops that are a composition of other recorded ops (normalisation, convolution, attention,
recurrent layers) get their gradient by rebuilding that composition and differentiating it
with :func:`pynn.autograd.grad` (:func:`_through`): slower than a closed form, but these
run only under ``create_graph``.
"""

import math
import types

import numpy as np

from .. import autograd
from ..autograd import ArrayFunction
from ..backend import active as K
from ..tensor import Tensor, _wrap
from . import (
    activation,
    attention,
    conv,
    elementwise,
    embedding,
    index,
    linalg,
    loss,
    matmul,
    norm,
    pool,
    recurrent,
    reduce,
)
from . import shape as shape_ops
from . import softmax as softmax_ops

__all__ = ["GRAPH_BACKWARD", "graph_backward"]

GRAPH_BACKWARD = {}


def _register(*classes):
    def deco(fn):
        for cls in classes:
            GRAPH_BACKWARD[cls] = fn
        return fn
    return deco


def graph_backward(node, fn, grads):
    """Run the entry ``fn`` for ``node`` on the incoming gradients and fit what it returns to
    the inputs: one value per argument, summed down to each input's shape and in its dtype.

    Parameters
    ----------
    node : ArrayFunction
        The node being differentiated (its ``_inputs`` are the arguments of ``apply``).
    fn : callable
        Its entry in :data:`GRAPH_BACKWARD`.
    grads : tuple
        One gradient (Tensor, ndarray or None) per output of the node.

    Returns
    -------
    tuple
        One Tensor or None per argument of ``apply``.
    """
    grads = tuple(g if g is None or isinstance(g, Tensor) else _wrap(np.asarray(g), None)
                  for g in grads)
    res = fn(node, *grads)
    if not isinstance(res, tuple):
        res = (res,)
    out = []
    for t, needed, g in zip(node._inputs, node.needs_input_grad, res):
        if not needed or g is None:
            out.append(None)
            continue
        if g._data.shape != t._data.shape:
            g = autograd._sum_to(g, t._data.shape)
        if g._data.dtype.kind == "c" and t._data.dtype.kind != "c":
            from .._complex import real  # the complex parts build on this package

            g = real(g)  # a real input's gradient is the real part, as PyTorch's
        if g._data.dtype != t._data.dtype:
            g = g.to(t._data.dtype)
        out.append(g)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Helpers


def _t(x):
    """A Tensor for an operand: Tensors as they are, arrays as constants, Python scalars
    kept as scalars (they broadcast without promoting the other operand)."""
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    return _wrap(np.asarray(x), None)


def _data(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _const(arr, like):
    """The ndarray ``arr``, a piecewise-constant function of the Tensor ``like`` (a mask, a
    sign), as a Tensor in its dtype. When ``like`` requires grad the value is recorded as
    depending on it with a zero derivative, as PyTorch's backward formulas do: a Tensor
    reached only through such factors gets a zero gradient, not None (optimisers treat the
    two differently)."""
    arr = np.asarray(arr, like._data.dtype)
    if like.requires_grad:
        return elementwise.ZeroGradFunction.apply(lambda _: arr, like)
    return _wrap(arr, None)


def _masked(cond, g, x):
    """``g`` where ``cond``, else 0 (NaN and inf in ``g`` do not leak), the zero depending
    on ``x`` as in :func:`_const`."""
    return _where(cond, g, _const(0, x) if isinstance(x, Tensor) else 0.0)


def _needs(node):
    return node.needs_input_grad


def _cj(x):
    """``x`` conjugated when complex: PyTorch's complex gradients multiply by the conjugate
    of a holomorphic op's derivative."""
    if isinstance(x, Tensor):
        if x._data.dtype.kind != "c":
            return x
        from .._complex import conj  # the complex parts build on this package

        return conj(x)
    return x.conjugate() if isinstance(x, complex) else x


def _where(cond, a, b):
    return elementwise.WhereFunction.apply(np.asarray(cond, bool), a, b)


def _unreduce(g, axes, keepdim, shape):
    """The gradient of a reduction over ``axes`` (None: all) put back to ``shape``: the
    reduced dimensions restored, then broadcast (a recorded expand)."""
    if tuple(g._data.shape) == tuple(shape):
        return g
    if not keepdim:
        if axes is None:
            g = g.reshape((1,) * len(shape))
        else:
            for a in sorted(axes):
                g = g.unsqueeze(a)
    return g.expand(shape)


def _scatter_add(g, where, shape_):
    """Zeros of ``shape_`` with ``g`` added at the flat positions ``where`` (shaped like g):
    the adjoint of gathering those positions, recorded so it is differentiable in ``g``."""
    return shape_ops.ScatterMapFunction.apply(np.zeros(shape_, g._data.dtype), g, where, True)


def _gather_adjoint(g, where, shape_):
    """As :func:`_scatter_add` for positions that may be -1 (an element that came from no
    input: its gradient is dropped)."""
    keep = where >= 0
    if not keep.all():
        g = shape_ops.GatherMapFunction.apply(g, np.flatnonzero(keep.reshape(-1)))
        where = where[keep]
    return _scatter_add(g.reshape(where.shape), where, shape_)


def _positions(shape_, fn):
    return shape_ops.index_map(shape_, fn)


def _through(node, grads, build, argnums):
    """The gradient of ``build(*inputs)`` (the op rebuilt from recorded Tensor ops; a tuple
    for several outputs, ``grads`` one per output, None where none arrived) with respect to
    the inputs at ``argnums`` that need one, recorded (``create_graph``)."""
    # Each input enters the rebuilt op through a view of its own, and the gradients are
    # taken with respect to the views: partial derivatives even when one Tensor is passed
    # twice (attention of x with itself) or one input is computed from another.
    inputs = list(node._inputs)
    want = [i for i in argnums if node.needs_input_grad[i]]
    for i in want:
        inputs[i] = inputs[i].view_as(inputs[i])
    outs = build(*inputs)
    if not isinstance(outs, tuple):
        outs = (outs,)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    res = autograd.grad([o for o, _ in pairs], [inputs[i] for i in want],
                        [g for _, g in pairs], create_graph=True, allow_unused=True)
    full = [None] * len(inputs)
    for i, g in zip(want, res):
        full[i] = g
    return tuple(full)


# ---------------------------------------------------------------------------------------------
# Arithmetic


@_register(elementwise.AddFunction)
def _add(node, g):
    na, nb = _needs(node)
    return (g if na else None, g if nb else None)


@_register(elementwise.SubFunction)
def _sub(node, g):
    na, nb = _needs(node)
    return (g if na else None, -g if nb else None)


@_register(elementwise.MulFunction)
def _mul(node, g):
    a, b = (_t(x) for x in node._inputs)
    na, nb = _needs(node)
    return (g * _cj(b) if na else None, g * _cj(a) if nb else None)


@_register(elementwise.DivFunction)
def _div(node, g):
    a, b = (_t(x) for x in node._inputs)
    na, nb = _needs(node)
    ga = g / _cj(b) if na else None
    gb = -g * _cj(a / (b * b)) if nb else None
    return ga, gb


@_register(elementwise.NegFunction)
def _neg(node, g):
    return (-g,)


@_register(elementwise.PowFunction)
def _pow(node, g):
    a, b = (_t(x) for x in node._inputs)
    na, nb = _needs(node)
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if na:
            if not isinstance(b, Tensor):
                ga = g * 0.0 if b == 0 else g * _cj(b * a ** (b - 1))
            else:
                d = b * a ** (b - 1)
                # PyTorch takes the derivative as 0 where the exponent is 0
                ga = g * _cj(_where(_data(b) == 0, 0.0, d))
        if nb:
            # d(a^b)/db = a^b log a, 0 where a == 0 and b >= 0 (PyTorch's rule)
            av, bv = _data(a), _data(b)
            zero = (av == 0) & (bv >= 0)
            if isinstance(a, Tensor):
                safe_a = _where(zero, 1.0, a)
            else:
                safe_a = _t(np.where(zero, 1.0, av).astype(_data(g).dtype))
            d = safe_a ** b * safe_a.log()
            gb = g * _cj(_where(zero, 0.0, d))
    return ga, gb


@_register(elementwise.MaximumFunction)
def _maximum(node, g):
    a, b, is_min = node._inputs
    av, bv = _data(a), _data(b)
    wins = (av < bv) if is_min else (av > bv)
    share = np.where(wins, 1.0, np.where(av == bv, 0.5, 0.0))
    na, nb, _ = _needs(node)
    like = a if isinstance(a, Tensor) else b
    return (g * _const(share, like) if na else None,
            g * _const(1 - share, like) if nb else None, None)


@_register(elementwise.WhereFunction)
def _where_bw(node, g):
    cond = np.asarray(_data(node._inputs[0]), bool)
    _, na, nb = _needs(node)
    return (None, _where(cond, g, 0.0) if na else None,
            _where(cond, 0.0, g) if nb else None)


@_register(elementwise.ClampFunction)
def _clamp(node, g):
    x, lo, hi = node._inputs
    xv = _data(x)
    mask = np.ones(xv.shape, bool)
    if lo is not None:
        mask &= xv >= lo
    if hi is not None:
        mask &= xv <= hi
    return _masked(mask, g, x), None, None


@_register(elementwise.CloneFunction)
def _clone(node, g):
    return (g,)


@_register(elementwise.CastFunction)
def _cast(node, g):
    return g.to(node._inputs[0]._data.dtype), None


@_register(elementwise.ZeroGradFunction)
def _zero_grad(node, g):
    return (None,) + tuple(g.new_zeros(_data(a).shape) if isinstance(a, Tensor) else None
                           for a in node._inputs[1:])


@_register(elementwise.NanToNumFunction)
def _nan_to_num(node, g):
    return _where(np.isfinite(_data(node._inputs[0])), g, 0.0), None, None, None


@_register(elementwise.Atan2Function)
def _atan2(node, g):
    a, b = (_t(x) for x in node._inputs)
    na, nb = _needs(node)
    r = g / (a * a + b * b)
    return (r * b if na else None, -r * a if nb else None)


# ---------------------------------------------------------------------------------------------
# Unary functions: d(fn(x))/dx as Tensor ops of x


_SQRT_PI = math.sqrt(math.pi)

_UNARY = {
    elementwise.ExpFunction: lambda x: x.exp(),
    elementwise.Exp2Function: lambda x: x.exp2() * math.log(2.0),
    elementwise.LogFunction: lambda x: 1 / x,
    elementwise.Log2Function: lambda x: 1 / (x * math.log(2.0)),
    elementwise.Log10Function: lambda x: 1 / (x * math.log(10.0)),
    elementwise.Log1pFunction: lambda x: 1 / (x + 1),
    elementwise.Expm1Function: lambda x: x.exp(),
    elementwise.SqrtFunction: lambda x: 0.5 / x.sqrt(),
    elementwise.RsqrtFunction: lambda x: -0.5 * x.rsqrt() ** 3,
    elementwise.SinFunction: lambda x: x.cos(),
    elementwise.CosFunction: lambda x: -x.sin(),
    elementwise.TanFunction: lambda x: 1 + x.tan() ** 2,
    elementwise.AsinFunction: lambda x: (1 - x * x).rsqrt(),
    elementwise.AcosFunction: lambda x: -(1 - x * x).rsqrt(),
    elementwise.AtanFunction: lambda x: 1 / (1 + x * x),
    elementwise.SinhFunction: lambda x: x.cosh(),
    elementwise.CoshFunction: lambda x: x.sinh(),
    elementwise.AsinhFunction: lambda x: (x * x + 1).rsqrt(),
    elementwise.AcoshFunction: lambda x: (x - 1).rsqrt() * (x + 1).rsqrt(),
    elementwise.AtanhFunction: lambda x: 1 / (1 - x * x),
    elementwise.ErfFunction: lambda x: (2 / _SQRT_PI) * (-x * x).exp(),
    elementwise.ReciprocalFunction: lambda x: -(x * x).reciprocal(),
    elementwise.SquareFunction: lambda x: 2 * x,
    elementwise.AbsFunction: lambda x: _const(np.sign(x._data), x),
    elementwise.FracFunction: lambda x: 1.0,
    elementwise.Deg2radFunction: lambda x: math.pi / 180,
    elementwise.Rad2degFunction: lambda x: 180 / math.pi,
    elementwise.LgammaFunction: lambda x: x.digamma(),
    elementwise.ErfinvFunction: lambda x: (_SQRT_PI / 2) * (x.erfinv() ** 2).exp(),
    elementwise.SincFunction: lambda x: _sinc_derivative(x),
    activation.TanhFunction: lambda x: 1 - x.tanh() ** 2,
    activation.SigmoidFunction: lambda x: (s := x.sigmoid()) * (1 - s),
    elementwise.ComplexTanhFunction: lambda x: 1 - x.tanh() ** 2,
    elementwise.ComplexSigmoidFunction: lambda x: (s := x.sigmoid()) * (1 - s),
}


def _sinc_derivative(x):
    # (cos(pi x) pi x - sin(pi x)) / (pi x^2), masked to 0 at x = 0 as PyTorch's formula is
    # (so the second derivative there is 0 as well, not -pi^2 / 3)
    zero = x._data == 0
    safe = _where(zero, 1.0, x)
    px = safe * math.pi
    return _where(zero, 0.0, (px.cos() * px - px.sin()) / (px * safe))


def _unary(node, g):
    x = node._inputs[0]
    if x._data.dtype.kind not in "fc":
        x = x.to(elementwise.default_float())
    if x._data.dtype.kind == "c" and type(node) is elementwise.AbsFunction:
        zero = x._data == 0  # |z|'s gradient is g * z / |z| (PyTorch's sgn), 0 at 0
        return (g * _where(zero, 0.0, x / _where(zero, 1.0, x.abs())),)
    return (g * _cj(_UNARY[type(node)](x)),)


for _cls in _UNARY:
    GRAPH_BACKWARD[_cls] = _unary


@_register(elementwise.SafeSqrtFunction)
def _safe_sqrt(node, g):
    x = node._inputs[0]
    zero = x._data == 0
    return (_where(zero, 0.0, g * 0.5 / _where(zero, 1.0, x).sqrt()),)


# ---------------------------------------------------------------------------------------------
# Activations


@_register(activation.ReluFunction)
def _relu(node, g):
    x = node._inputs[0]
    return (_masked(~(x._data <= 0), g, x),)  # NaN passes g, as in PyTorch


@_register(activation.LeakyReluFunction)
def _leaky_relu(node, g):
    x, slope = node._inputs
    return g * _const(np.where(x._data > 0, 1.0, slope), x), None


def _phi(x):
    return (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))


@_register(activation.GeluFunction)
def _gelu(node, g):
    x, approximate = node._inputs
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = (k * (x + 0.044715 * x ** 3)).tanh()
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    else:
        d = 0.5 * (1 + (x * (1 / math.sqrt(2))).erf()) + x * _phi(x)
    return g * d, None


def _softplus_t(x, beta, threshold):
    from .. import functional as F
    return F.softplus(x, beta, threshold)


_POINTWISE = {
    "elu": lambda x, alpha, scale, input_scale: _where(
        x._data > 0, scale,
        (scale * alpha * input_scale) * (x.clamp(max=0) * input_scale).exp()),
    "softplus": lambda x, beta, threshold: _where(x._data * beta > threshold, 1.0,
                                                  (x * beta).sigmoid()),
    "softsign": lambda x: 1 / (1 + x.abs()) ** 2,
    "hardtanh": lambda x, lo, hi: _const((x._data > lo) & (x._data < hi), x),
    "hardsigmoid": lambda x: _const(((x._data > -3) & (x._data < 3)) / 6, x),
    "hardswish": lambda x: _where(x._data < -3, 0.0, _where(x._data > 3, 1.0,
                                                           (2 * x + 3) / 6)),
    "silu": lambda x: (s := x.sigmoid()) * (1 + x * (1 - s)),
    "mish": lambda x: (t := _softplus_t(x, 1.0, 20.0).tanh()) + x * (1 - t * t) * x.sigmoid(),
    "logsigmoid": lambda x: (-x).sigmoid(),
    "tanhshrink": lambda x: x.tanh() ** 2,
    "softshrink": lambda x, lambd: _const(np.abs(x._data) > lambd, x),
    "hardshrink": lambda x, lambd: _const(np.abs(x._data) > lambd, x),
    "threshold": lambda x, threshold, value: _const(x._data > threshold, x),
}


@_register(activation.PointwiseFunction)
def _pointwise(node, g):
    x, name, args = node._inputs
    fn = _POINTWISE.get(name)
    if fn is None:
        raise NotImplementedError(f"create_graph=True: the backward of {node.name()} ({name}) "
                                  "is not recorded, so higher-order gradients through it are "
                                  "not supported")
    return g * fn(x, *args), None, None


@_register(activation.PReluFunction)
def _prelu(node, g):
    x, weight = node._inputs
    nx, nw = _needs(node)
    w = weight.reshape((-1,) + (1,) * (x._data.ndim - 2)) if weight._data.size > 1 \
        else weight.reshape(())
    pos = x._data > 0
    gx = _where(pos, g, g * w) if nx else None
    gw = None
    if nw:
        gw = _where(pos, 0.0, g * x)
        if weight._data.size == 1:
            gw = gw.sum().reshape(weight._data.shape)
        else:
            axes = (0,) + tuple(range(2, x._data.ndim))
            gw = gw.sum(dim=axes).reshape(weight._data.shape)
    return gx, gw


# ---------------------------------------------------------------------------------------------
# Reductions


@_register(reduce.SumFunction)
def _sum(node, g):
    return _unreduce(g, node.axes, node.keepdim, node.x_shape), None, None


@_register(reduce.MeanFunction)
def _mean(node, g):
    return _unreduce(g / node.count, node.axes, node.keepdim, node.x_shape), None, None


@_register(reduce.AmaxFunction)
def _amax(node, g):
    x, dim, keepdim, is_min = node._inputs
    xv = x._data
    axes = reduce.norm_dims(dim, xv.ndim, "amax")
    y = (np.min if is_min else np.max)(xv, axis=axes, keepdims=True)
    mask = xv == y
    share = mask / mask.sum(axis=axes, keepdims=True)
    return _unreduce(g, axes, keepdim, xv.shape) * _const(share, x), None, None, None


@_register(reduce.TieShareFunction)
def _tie_share(node, g):
    x, y, dim, keepdim = node._inputs
    xv, yv = x._data, _data(y)
    axes = reduce.norm_dims(dim, xv.ndim, "median")
    mask = (xv == yv) | (np.isnan(xv) & np.isnan(yv))
    share = mask / mask.sum(axis=axes, keepdims=True)
    return _unreduce(g, axes, keepdim, xv.shape) * _const(share, x), None, None, None


@_register(reduce.TakeAlongFunction)
def _take_along(node, g):
    x, dim, indices, keepdim = node._inputs
    shape_ = x._data.shape
    if not shape_:
        return g, None, None, None
    d = shape_ops.normalize_dim(dim, len(shape_), "max")
    if not keepdim:
        g = g.unsqueeze(d)
    where = _positions(shape_, lambda a: np.take_along_axis(a, indices, d))
    return _scatter_add(g, where, shape_), None, None, None


@_register(reduce.NormFunction)
def _norm(node, g):
    x, p, dim, keepdim = node._inputs
    xv = x._data
    axes = reduce.norm_dims(dim, xv.ndim, "norm")
    g = _unreduce(g, axes, keepdim, xv.shape)
    if p == 0:
        return g * 0.0, None, None, None
    if p == 1:
        return g * _const(np.sign(xv), x), None, None, None
    a = np.abs(xv)
    if p in (math.inf, -math.inf):
        y = (np.max if p > 0 else np.min)(a, axis=axes, keepdims=True)
        mask = a == y
        share = np.sign(xv) * mask / mask.sum(axis=axes, keepdims=True)
        return g * _const(share, x), None, None, None
    y = x.norm(p, dim=axes, keepdim=True)
    zero = np.broadcast_to(y._data == 0, xv.shape)
    ys = _where(y._data == 0, 1.0, y)
    if p == 2:
        d = x / ys
    else:
        d = _const(np.sign(xv), x) * x.abs() ** (p - 1) / ys ** (p - 1)
    return _where(zero, 0.0, g * d), None, None, None


@_register(reduce.ProdFunction)
def _prod(node, g):
    x, dim, keepdim = node._inputs
    if np.any(x._data == 0):
        raise NotImplementedError("create_graph=True: the recorded backward of prod does not "
                                  "handle inputs holding zeros")
    axes = None if dim is None else (shape_ops.normalize_dim(dim, x._data.ndim, "prod"),)
    y = x.prod() if dim is None else x.prod(dim, keepdim=True)
    return _unreduce(g, axes, keepdim, x._data.shape) * _cj(y / x), None, None


@_register(reduce.CumsumFunction)
def _cumsum(node, g):
    d = node._inputs[1]
    if g._data.ndim == 0:
        return g, None
    return g.flip(d).cumsum(d).flip(d), None


# ---------------------------------------------------------------------------------------------
# Shape and indexing


@_register(shape_ops.ReshapeFunction)
def _reshape(node, g):
    return g.reshape(node._inputs[0]._data.shape), None


@_register(shape_ops.PermuteFunction)
def _permute(node, g):
    return g.permute(*[int(i) for i in np.argsort(node._inputs[1])]), None


@_register(shape_ops.ExpandFunction)
def _expand(node, g):
    return autograd._sum_to(g, node._inputs[0]._data.shape), None


@_register(shape_ops.CatFunction)
def _cat(node, g):
    parts = node._inputs[1:]
    d = node.dim
    lead = (slice(None),) * d
    out = [None]
    start = 0
    for t, n, empty in zip(parts, node.needs_input_grad[1:], node.empty):
        size = 0 if empty else _data(t).shape[d]
        if n:
            out.append(g.new_zeros((0,)) if empty else g[lead + (slice(start, start + size),)])
        else:
            out.append(None)
        start += size
    return tuple(out)


@_register(shape_ops.StackFunction)
def _stack(node, g):
    lead = (slice(None),) * node.dim
    return (None, *[g[lead + (i,)] if n else None
                    for i, n in enumerate(node.needs_input_grad[1:])])


@_register(shape_ops.SliceFunction, index.IndexFunction)
def _index(node, g):
    x, key = node._inputs
    shape_ = x._data.shape
    return _scatter_add(g, _positions(shape_, lambda a: np.asarray(a[key])), shape_), None


@_register(shape_ops.IndexSelectFunction)
def _index_select(node, g):
    x, idx, axis = node._inputs
    shape_ = x._data.shape
    where = _positions(shape_, lambda a: np.take(a, _data(idx), axis=axis))
    return _scatter_add(g, where, shape_), None, None


@_register(shape_ops.SplitFunction)
def _split(node, *grads):
    x, dim, spans, squeeze = node._inputs
    shape_ = x._data.shape
    lead = (slice(None),) * dim
    total = None
    for g, (a, b) in zip(grads, spans):
        if g is None:
            continue
        key = lead + ((a,) if squeeze else (slice(a, b),))
        part = _scatter_add(g, _positions(shape_, lambda arr, key=key: arr[key]), shape_)
        total = part if total is None else total + part
    return total, None, None, None


@_register(shape_ops.GatherMapFunction)
def _gather_map(node, g):
    x, where = node._inputs
    return _gather_adjoint(g, where, x._data.shape), None


@_register(shape_ops.ScatterMapFunction)
def _scatter_map(node, g):
    where, accumulate = node._inputs[2:]
    nx, nsrc = _needs(node)[:2]
    gx = gsrc = None
    if nx:
        if accumulate:
            gx = g
        else:
            mask = np.ones(g._data.size, bool)
            mask[where.reshape(-1)] = False
            gx = g * _const(mask.reshape(g._data.shape), g)
    if nsrc:
        gsrc = shape_ops.GatherMapFunction.apply(g, where)
    return gx, gsrc, None, None


@_register(index.IndexPutFunction)
def _index_put(node, g):
    key = node._inputs[2]
    accumulate = node._inputs[3] if len(node._inputs) > 3 else False
    nx, nv = _needs(node)[:2]
    gx = gv = None
    if nx:
        if accumulate:
            gx = g
        else:
            mask = np.ones(g._data.shape, bool)
            mask[key] = False
            gx = g * _const(mask, g)
    if nv:
        gv = g[key]
    return gx, gv, None, None


@_register(index.OverwriteFunction)
def _overwrite(node, g):
    return g * 0.0, None


# ---------------------------------------------------------------------------------------------
# Matrix products


@_register(matmul.MatmulFunction)
def _matmul(node, g):
    a, b = node._inputs
    na, nb = _needs(node)
    a2 = a.unsqueeze(0) if a._data.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b._data.ndim == 1 else b
    g2 = g
    if a._data.ndim == 1:
        g2 = g2.unsqueeze(-2 if b._data.ndim > 1 else -1)
    if b._data.ndim == 1:
        g2 = g2.unsqueeze(-1)
    ga = gb = None
    if na:
        ga = autograd._sum_to(g2 @ _cj(b2).transpose(-1, -2),
                              a2._data.shape).reshape(a._data.shape)
    if nb:
        gb = autograd._sum_to(_cj(a2).transpose(-1, -2) @ g2,
                              b2._data.shape).reshape(b._data.shape)
    return ga, gb


@_register(matmul.LinearFunction)
def _linear(node, g):
    x, w, b, relu = node._inputs
    nx, nw, nb = _needs(node)[:3]
    n_out = w._data.shape[0]
    g2 = g.reshape(-1, n_out) if g._data.ndim != 2 else g
    if relu:
        x2 = x._data.reshape(-1, x._data.shape[-1])
        pre = x2 @ w._data.T + (0 if b is None else b._data)
        g2 = _where(pre <= 0, 0.0, g2)
    dx = dw = db = None
    if nx:
        dx = (g2 @ w).reshape(x._data.shape)
    if nw:
        x2t = x.reshape(-1, x._data.shape[-1]) if x._data.ndim != 2 else x
        dw = g2.transpose(0, 1) @ x2t
    if nb and b is not None:
        db = g2.sum(dim=0)
    return dx, dw, db, None


@_register(matmul.EinsumFunction)
def _einsum(node, g):
    from .. import _math
    arrays = node._inputs[1:]
    ins, out = node.subs
    grads = [None]
    for i, (sub, a) in enumerate(zip(ins, arrays)):
        if not node.needs_input_grad[i + 1]:
            grads.append(None)
            continue
        if len(set(sub)) != len(sub):
            raise NotImplementedError(
                f"einsum: the gradient of an operand with a repeated subscript ({sub!r}) is "
                "not implemented")
        others = [(s, _t(b)) for j, (s, b) in enumerate(zip(ins, arrays)) if j != i]
        present = set(out).union(*(set(s) for s, _ in others))
        kept = "".join(c for c in sub if c in present)
        sizes = dict(zip(sub, _data(a).shape))
        gi = _math.einsum(",".join([out] + [s for s, _ in others]) + "->" + kept, g,
                          *[_cj(b) for _, b in others])
        if kept != sub:
            for k, c in enumerate(sub):
                if c not in present:
                    gi = gi.unsqueeze(k)
            gi = gi.expand(tuple(sizes[c] for c in sub))
        grads.append(gi)
    return tuple(grads)


# ---------------------------------------------------------------------------------------------
# Softmax family and losses


@_register(softmax_ops.SoftmaxFunction)
def _softmax(node, g):
    x, dim = node._inputs
    if x._data.ndim == 0:
        return g * 0.0, None
    y = x.softmax(dim)
    return y * (g - (g * y).sum(dim=dim, keepdim=True)), None


@_register(softmax_ops.LogSoftmaxFunction)
def _log_softmax(node, g):
    x, dim = node._inputs
    if x._data.ndim == 0:
        return g * 0.0, None
    return g - x.softmax(dim) * g.sum(dim=dim, keepdim=True), None


@_register(softmax_ops.CrossEntropyFunction)
def _cross_entropy(node, g):
    logits, labels, ignore_index, smoothing, reduction = node._inputs
    lv = _data(labels)
    n, c = logits._data.shape
    valid = lv != ignore_index
    safe = np.where(valid, lv, 0)
    target = np.zeros((n, c))
    target[np.arange(n), safe] = 1.0
    target = target * (1 - smoothing) + smoothing / c
    rows = valid[:, None].astype(np.float64)
    d = (logits.softmax(-1) - _const(target, logits)) * _const(rows, logits)
    if reduction == "none":
        return d * g.unsqueeze(-1), None, None, None, None
    if reduction == "mean":
        g = g / max(int(valid.sum()), 1) if valid.any() else g * math.nan
    return d * g, None, None, None, None


@_register(softmax_ops.NLLLossFunction)
def _nll_loss(node, g):
    logp, labels, weight, ignore_index, reduction = node._inputs
    lv = _data(labels)
    n, c = logp._data.shape
    valid = lv != ignore_index
    safe = np.where(valid, lv, 0)
    w = (_data(weight)[safe] if weight is not None else np.ones(n)) * valid
    if reduction == "mean":
        g = g / float(w.sum())
    elif reduction == "none":
        pass
    where = np.arange(n) * c + safe
    src = -(_const(w, logp) * g)
    return _scatter_add(src, where, logp._data.shape), None, None, None, None


def _reduced(g, shape_, reduction):
    if reduction == "none":
        return g
    size = math.prod(shape_)
    return (g / size if reduction == "mean" else g).expand(shape_)


@_register(loss.MSELossFunction)
def _mse(node, g):
    x, y, reduction = node._inputs
    nx, ny, _ = _needs(node)
    diff = _t(x) - _t(y)
    gd = 2 * diff * _reduced(g, diff._data.shape, reduction)
    return (gd if nx else None, -gd if ny else None, None)


@_register(loss.BCEWithLogitsFunction)
def _bce_logits(node, g):
    x, y, weight, pos_weight, reduction = (_t(v) if v is not None and not isinstance(v, str)
                                           else v for v in node._inputs)
    nx, ny = _needs(node)[:2]
    gr = _reduced(g, x._data.shape, reduction)
    if weight is not None:
        gr = gr * weight
    s = x.sigmoid()
    gx = gy = None
    if pos_weight is None:
        if nx:
            gx = gr * (s - y)
        if ny:
            gy = gr * -x
    else:
        l_ = 1 + (pos_weight - 1) * y
        if nx:
            gx = gr * ((1 - y) - l_ * (1 - s))
        if ny:
            gy = gr * (-x + (pos_weight - 1) * _softplus_t(-x, 1.0, 20.0))
    return gx, gy, None, None, None


@_register(loss.BCEFunction)
def _bce(node, g):
    x, y, weight, reduction = (_t(v) if v is not None and not isinstance(v, str) else v
                               for v in node._inputs)
    nx, ny = _needs(node)[:2]
    gr = _reduced(g, x._data.shape, reduction)
    if weight is not None:
        gr = gr * weight
    gx = gr * (x - y) / (x * (1 - x)).clamp(min=1e-12) if nx else None
    gy = gr * ((-x).log1p().clamp(min=-100) - x.log().clamp(min=-100)) if ny else None
    return gx, gy, None, None


# ---------------------------------------------------------------------------------------------
# Composite ops: rebuilt from recorded ops and differentiated


def _layer_norm_graph(x, weight, bias, ndim_norm, eps):
    dims = tuple(range(x.dim() - ndim_norm, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(dim=dims, keepdim=True)
    y = xc * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


@_register(norm.LayerNormFunction)
def _layer_norm(node, g):
    return _through(node, (g,), _layer_norm_graph, (0, 1, 2))


def _batch_norm_graph(x, weight, bias, running_mean, running_var, training, momentum, eps):
    cshape = (1, -1) + (1,) * (x.dim() - 2)
    axes = (0,) + tuple(range(2, x.dim()))
    if training:
        mean = x.mean(dim=axes, keepdim=True)
        xc = x - mean
        var = (xc * xc).mean(dim=axes, keepdim=True)
    else:
        xc = x - _t(running_mean).reshape(cshape)
        var = _t(running_var).reshape(cshape)
    y = xc * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(cshape)
    if bias is not None:
        y = y + bias.reshape(cshape)
    return y


@_register(norm.BatchNormFunction)
def _batch_norm(node, g):
    return _through(node, (g,), _batch_norm_graph, (0, 1, 2))


def _pair(v):
    return tuple(int(i) for i in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _conv2d_graph(x, w, b, stride, padding, dilation, relu, pool):
    if pool is not None:
        raise NotImplementedError("create_graph=True: the recorded backward of the fused "
                                  "conv2d + max-pool is not supported")
    n = x._data.shape[0]
    o, _, kh, kw = w._data.shape
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    cols = conv.UnfoldFunction.apply(x, (kh, kw), dilation, padding, stride)
    y = w.reshape(o, -1) @ cols
    h_out = (x._data.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = cols._data.shape[2] // h_out
    y = y.reshape(n, o, h_out, w_out)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    if relu:
        y = y.relu()
    return y


@_register(conv.Conv2dFunction)
def _conv2d(node, g):
    return _through(node, (g,), _conv2d_graph, (0, 1, 2))


def _conv_transpose2d_graph(x, w, b, stride, padding, dilation, out_hw):
    n, cin, h, wd = x._data.shape
    cout, kh, kw = w._data.shape[1:]
    cols = w.reshape(cin, cout * kh * kw).transpose(0, 1) @ x.reshape(n, cin, h * wd)
    y = conv.FoldFunction.apply(cols, (n, cout, *out_hw), (kh, kw), _pair(dilation),
                                _pair(padding), _pair(stride))
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


@_register(conv.ConvTranspose2dFunction)
def _conv_transpose2d(node, g):
    return _through(node, (g,), _conv_transpose2d_graph, (0, 1, 2))


@_register(conv.UnfoldFunction)
def _unfold(node, g):
    x, kernel_size, dilation, padding, stride = node._inputs
    return (conv.FoldFunction.apply(g, x._data.shape, kernel_size, dilation, padding, stride),
            None, None, None, None)


@_register(conv.FoldFunction)
def _fold(node, g):
    kernel_size, dilation, padding, stride = node._inputs[2:]
    return (conv.UnfoldFunction.apply(g, kernel_size, dilation, padding, stride),
            None, None, None, None, None)


@_register(conv.PadFunction)
def _pad(node, g):
    x, idx = node._inputs[:2]
    shape_ = x._data.shape

    def move(a):
        for axis, ix, valid in idx:
            a = np.take(a, ix, axis=axis)
            if not valid.all():
                s = [1] * a.ndim
                s[axis] = -1
                a = np.where(valid.reshape(s), a, -1)
        return a

    return _gather_adjoint(g, _positions(shape_, move), shape_), None, None


# ---------------------------------------------------------------------------------------------
# Pooling, resampling, embedding


def _plane_positions(arg, x_shape, pooled_dims):
    """Flat positions in an array of ``x_shape`` of indices ``arg`` that count within each
    plane of the last ``pooled_dims`` dimensions."""
    n_in = math.prod(x_shape[len(x_shape) - pooled_dims:])
    n_out = math.prod(arg.shape[len(arg.shape) - pooled_dims:])
    rows = arg.size // max(n_out, 1)
    return (arg.reshape(rows, n_out) + (np.arange(rows) * n_in)[:, None]).reshape(arg.shape)


@_register(pool.MaxPool2dFunction)
def _max_pool2d(node, g):
    x = node._inputs[0]
    where = _plane_positions(node.saved_tensors[0], x._data.shape, 2)
    return _scatter_add(g, where, x._data.shape), None, None, None


@_register(pool.AdaptiveMaxPoolFunction)
def _adaptive_max_pool(node, g):
    x = node._inputs[0]
    where = _plane_positions(node.saved_tensors[0], x._data.shape, node.pooled_dims)
    return _scatter_add(g, where, x._data.shape), None


class AvgPool2dAdjointFunction(ArrayFunction):
    """The input gradient of ``avg_pool2d`` as a node of its own (``x_shape``, then the
    pooling's arguments): linear in the gradient, its own gradient is ``avg_pool2d``."""

    @staticmethod
    def forward(ctx, grad, x_shape, kernel_size, stride, padding, count_include_pad):
        ctx.pooling = (kernel_size, stride, padding, count_include_pad)
        return K.avg_pool2d_backward(grad, x_shape, kernel_size, stride, padding,
                                     count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        return (K.avg_pool2d_forward(grad, *ctx.pooling),) + (None,) * 5


@_register(pool.AvgPool2dFunction)
def _avg_pool2d(node, g):
    x, kernel_size, stride, padding, count_include_pad = node._inputs
    return (AvgPool2dAdjointFunction.apply(g, x._data.shape, kernel_size, stride, padding,
                                           count_include_pad), None, None, None, None)


@_register(AvgPool2dAdjointFunction)
def _avg_pool2d_adjoint(node, g):
    _, _, kernel_size, stride, padding, count_include_pad = node._inputs
    return (pool.AvgPool2dFunction.apply(g, kernel_size, stride, padding, count_include_pad),
            None, None, None, None, None)


@_register(pool.SeparableMapFunction)
def _separable_map(node, g):
    # y = a_h x a_w^T, so the gradient a_h^T g a_w is the same map with transposed matrices
    _, a_h, a_w = node._inputs
    return (pool.SeparableMapFunction.apply(g, None if a_h is None else a_h.T, a_w.T),
            None, None)


class EmbeddingBackwardFunction(ArrayFunction):
    """The weight gradient of ``embedding`` as a node of its own (``grad``, ``indices``, the
    number of rows, ``padding_idx``, ``scale_grad_by_freq``), computed by the embedding's
    own backward. Its gradient is the plain row gather with the padding row zero, unscaled
    by frequency, as PyTorch's double backward of embedding does."""

    @staticmethod
    def forward(ctx, grad, indices, num, padding_idx, scale):
        ctx.indices, ctx.padding_idx = indices, padding_idx
        same = types.SimpleNamespace(saved_tensors=(indices,), num_embeddings=num,
                                     padding_idx=padding_idx, scale_grad_by_freq=scale)
        return embedding.EmbeddingFunction.backward(same, grad)[0]

    @staticmethod
    def backward(ctx, grad):
        indices, padding_idx = ctx.indices, ctx.padding_idx
        rows = np.take(grad, indices, axis=0)
        if padding_idx is not None:
            rows[indices == padding_idx] = 0
        return rows, None, None, None, None


@_register(embedding.EmbeddingFunction)
def _embedding(node, g):
    weight, indices, padding_idx, scale = node._inputs
    return (EmbeddingBackwardFunction.apply(g, _data(indices), weight._data.shape[0],
                                            padding_idx, scale), None, None, None)


@_register(EmbeddingBackwardFunction)
def _embedding_backward(node, g):
    _, indices, _, padding_idx, _ = node._inputs
    rows = embedding.EmbeddingFunction.apply(g, indices, None, False)
    if padding_idx is not None:
        rows = _where((indices != padding_idx)[..., None], rows, 0.0)
    return rows, None, None, None, None


# ---------------------------------------------------------------------------------------------
# More elementwise ops and losses


@_register(elementwise.XlogyFunction)
def _xlogy(node, g):
    x, y = (_t(v) for v in node._inputs)
    nx, ny = _needs(node)
    gx = gy = None
    if nx:
        xv, yv = _data(x), _data(y)
        gx = _where((xv == 0) & (yv <= 0), 0.0, g * y.log())
    if ny:
        gy = g * x / y
    return gx, gy


@_register(activation.GluFunction)
def _glu(node, g):
    x, dim = node._inputs
    a, b = x.chunk(2, dim)
    s = b.sigmoid()
    return shape_ops.CatFunction.apply(dim, g * s, g * a * s * (1 - s)), None


@_register(reduce.CumprodFunction)
def _cumprod(node, g):
    x, d = node._inputs
    if g._data.ndim == 0:
        return g, None
    if np.any(x._data == 0):
        raise NotImplementedError("create_graph=True: the recorded backward of cumprod does "
                                  "not handle inputs holding zeros")
    y = x.cumprod(d)
    return (g * _cj(y)).flip(d).cumsum(d).flip(d) / _cj(x), None


def _sign_of(d):
    return _const(np.sign(d._data), d)


_PAIRWISE = {  # name: (d/dx, d/dy) as Tensor ops of (x, y, *args)
    "l1_loss": (lambda x, y: _sign_of(x - y), lambda x, y: -_sign_of(x - y)),
    "smooth_l1_loss": (
        lambda x, y, b: _smooth_l1_t(x - y, b), lambda x, y, b: -_smooth_l1_t(x - y, b)),
    "huber_loss": (lambda x, y, d: _huber_t(x - y, d), lambda x, y, d: -_huber_t(x - y, d)),
    "kl_div": (
        lambda x, y, lt: -y.exp() if lt else -y,
        lambda x, y, lt: y.exp() * (y - x + 1) if lt else _where(
            _data(y) > 0, _where(_data(y) > 0, y, 1.0).log() + 1 - x, 0.0)),
    "soft_margin_loss": (lambda x, y: -y * (-y * x).sigmoid(),
                         lambda x, y: -x * (-y * x).sigmoid()),
    "poisson_nll_loss": (
        lambda x, y, log_input, full, eps: x.exp() - y if log_input else 1 - y / (x + eps),
        lambda x, y, log_input, full, eps: _poisson_dy(x, y, log_input, full, eps)),
    "hinge_embedding_loss": (
        lambda x, y, margin: _const((y._data == 1) * 1.0
                                    - ((y._data == -1) & (margin - x._data > 0)), x),
        None),
}


def _poisson_dy(x, y, log_input, full, eps):
    g = -x if log_input else -(x + eps).log()
    if full:
        big = y._data > 1
        safe = _where(big, y, 1.0)
        g = g + _where(big, safe.log() + 0.5 / safe, 0.0)
    return g


def _smooth_l1_t(d, beta):
    if beta == 0:
        return _sign_of(d)
    return _where(np.abs(d._data) < beta, d / beta, _sign_of(d))


def _huber_t(d, delta):
    return _where(np.abs(d._data) <= delta, d, delta * _sign_of(d))


@_register(loss.PairwiseLossFunction)
def _pairwise(node, g):
    x, y = (_t(v) for v in node._inputs[:2])
    name, args, reduction, shape_, _ = node.meta
    fns = _PAIRWISE.get(name)
    if fns is None:
        raise NotImplementedError(f"create_graph=True: the recorded backward of {name} is not "
                                  "implemented")
    if not isinstance(y, Tensor):
        y = _wrap(np.asarray(y, x._data.dtype), None)
    nx, ny = _needs(node)[:2]
    gr = _reduced(g, shape_, reduction)
    return (gr * fns[0](x, y, *args) if nx else None,
            gr * fns[1](x, y, *args) if ny and fns[1] is not None else None, None, None, None)


# ---------------------------------------------------------------------------------------------
# Attention, rebuilt from recorded ops


def _attention_graph(q, k, v, mask, causal, scale, dmask):
    """``softmax(scale q k^T + mask) v`` over the last two dims as recorded ops, with the
    kernels' rules: a row whose keys are all hidden gives zeros; ``dmask`` (dropout
    multipliers, constants) applies to the weights."""
    e = q._data.shape[-1]
    scale = 1.0 / math.sqrt(e) if scale is None else scale
    scores = (q @ k.transpose(-1, -2)) * scale
    l, s = q._data.shape[-2], k._data.shape[-2]
    bias = np.zeros((l, s))
    if causal:
        bias = np.where(np.tri(l, s, dtype=bool), 0.0, -np.inf)
    total = bias if mask is None else bias + _data(mask)
    dead = np.isneginf(total).all(axis=-1, keepdims=True)
    if causal:
        scores = scores + _const(np.where(dead, 0.0, bias), scores)
    if isinstance(mask, Tensor):
        scores = scores + _where(dead, 0.0, mask)
    elif mask is not None:
        scores = scores + _const(np.where(dead, 0.0, mask), scores)
    probs = scores.softmax(-1)
    if dead.any():
        probs = _where(dead, 0.0, probs)
    if dmask is not None:
        probs = probs * _const(dmask.reshape(probs._data.shape), probs)
    return probs @ v


@_register(attention.ScaledDotProductAttentionFunction)
def _sdpa(node, g):
    dmask = node.saved_tensors[4]

    def build(q, k, v, mask, causal, scale, dropout_p):
        return _attention_graph(q, k, v, mask, causal, scale, dmask)

    return _through(node, (g,), build, (0, 1, 2, 3))


@_register(attention.MultiheadAttentionFunction)
def _multihead_attention(node, g):
    dmask = node.saved_tensors[4]

    def build(a, b, c, layout, e, heads, batch_first, mask, causal, dropout_p, keep):
        arrays = (a, b, c)
        d = e // heads

        def split(i, col):
            x = arrays[i][..., col:col + e]
            if batch_first:
                n, l_, _ = x._data.shape
                t = x.reshape(n, l_, heads, d).permute(0, 2, 1, 3)
            else:
                l_, n, _ = x._data.shape
                t = x.reshape(l_, n, heads, d).permute(1, 2, 0, 3)
            return t.reshape(n * heads, l_, d)

        qh, kh, vh = (split(i, col) for i, col in layout)
        out = _attention_graph(qh, kh, vh, mask, causal, None, dmask)
        bsz, l_, _ = out._data.shape
        t = out.reshape(bsz // heads, heads, l_, d)
        t = t.permute(0, 2, 1, 3) if batch_first else t.permute(2, 0, 1, 3)
        return t.reshape(t._data.shape[:2] + (e,))

    return _through(node, (g,), build, (0, 1, 2))


# ---------------------------------------------------------------------------------------------
# Recurrent layers, rebuilt step by step from recorded ops (gate blocks as PyTorch's)


def _time_steps(x, reverse):
    steps = range(x._data.shape[0])
    return reversed(steps) if reverse else steps


def _projection(x, w_ih, b_ih):
    """The input projection of every step, (L, N, G*H)."""
    y = x @ w_ih.transpose(0, 1)
    return y if b_ih is None else y + b_ih


def _zero_state(x, w_hh):
    return _wrap(np.zeros((x._data.shape[1], w_hh._data.shape[1]), x._data.dtype), None)


def _in_time_order(states, reverse):
    return states[::-1] if reverse else states


def _lstm_graph(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    h = _zero_state(x, w_hh) if h0 is None else h0
    c = _zero_state(x, w_hh) if c0 is None else c0
    gx = _projection(x, w_ih, b_ih)
    outs = []
    for t in _time_steps(x, reverse):
        gates = gx[t] + h @ w_hh.transpose(0, 1)
        if b_hh is not None:
            gates = gates + b_hh
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outs.append(h)
    return shape_ops.StackFunction.apply(0, *_in_time_order(outs, reverse)), c


def _gru_graph(x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
    h = _zero_state(x, w_hh) if h0 is None else h0
    gx = _projection(x, w_ih, b_ih)
    outs = []
    for t in _time_steps(x, reverse):
        gh = h @ w_hh.transpose(0, 1)
        if b_hh is not None:
            gh = gh + b_hh
        xr, xz, xn = gx[t].chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r = (xr + hr).sigmoid()
        z = (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h = (1 - z) * n + z * h
        outs.append(h)
    return shape_ops.StackFunction.apply(0, *_in_time_order(outs, reverse))


def _rnn_graph(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity):
    h = _zero_state(x, w_hh) if h0 is None else h0
    gx = _projection(x, w_ih, b_ih)
    outs = []
    for t in _time_steps(x, reverse):
        a = gx[t] + h @ w_hh.transpose(0, 1)
        if b_hh is not None:
            a = a + b_hh
        h = a.relu() if nonlinearity == "relu" else a.tanh()
        outs.append(h)
    return shape_ops.StackFunction.apply(0, *_in_time_order(outs, reverse))


@_register(recurrent.LSTMFunction)
def _lstm(node, g_out, g_cn):
    return _through(node, (g_out, g_cn), _lstm_graph, range(7))


@_register(recurrent.GRUFunction)
def _gru(node, g):
    return _through(node, (g,), _gru_graph, range(6))


@_register(recurrent.RNNFunction)
def _rnn(node, g):
    return _through(node, (g,), _rnn_graph, range(6))


# ---------------------------------------------------------------------------------------------
# Linear algebra (recorded through the same nodes, so each is differentiable again)


def _inv(a):
    return linalg.InvFunction.apply(a)


@_register(linalg.InvFunction)
def _inv_bw(node, g):
    yt = _inv(node._inputs[0]).mT
    return (-(yt @ g @ yt),)


@_register(linalg.DetFunction)
def _det(node, g):
    a = node._inputs[0]
    # through inv(A): a singular A (whose adjugate the first-order backward uses) raises
    d = linalg.DetFunction.apply(a)
    return ((g * d).unsqueeze(-1).unsqueeze(-1) * _inv(a).mT,)


@_register(linalg.SlogdetFunction)
def _slogdet(node, g_sign, g_log):
    a = node._inputs[0]
    if g_log is None:
        return (None,)
    return (g_log.unsqueeze(-1).unsqueeze(-1) * _inv(a).mT,)


@_register(linalg.SolveFunction)
def _solve(node, g):
    a, b, vector = node._inputs
    na, nb, _ = _needs(node)
    a = _t(a)
    x = linalg.SolveFunction.apply(a, _t(b), vector)
    gb = linalg.SolveFunction.apply(a.mT, g, vector)
    ga = None
    if na:
        ga = -(gb.unsqueeze(-1) * x.unsqueeze(-2)) if vector else -(gb @ x.mT)
    return ga, gb if nb else None, None
