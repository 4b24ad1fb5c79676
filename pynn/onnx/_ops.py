"""The translation of each pynn autograd node type into ONNX nodes.

:data:`OPS` maps a node type's name (``type(node).__name__``, e.g. ``"LinearFunction"``) to a
function ``fn(g, n)``: ``g`` is the :class:`~pynn.onnx._graph.GraphBuilder`, ``n`` the
:class:`~pynn.onnx._graph.TracedNode` whose ``args`` are the arguments of the node's
``forward`` (a :class:`~pynn.onnx._graph.Value` for each Tensor), and ``n.out`` the output it
computed during the trace. The function adds ONNX nodes and returns the name of its result
(a list of names for a node with several outputs). To support a new op, write one such
function next to its family and add a row to the table at the end.
"""

import math

import numpy as np

from ._graph import INT64_MAX, INT64_MIN, Value, node_name, onnx_dtype
from ._record import COMPARISONS, common_dtype
from .errors import UnsupportedOperatorError

__all__ = ["DERIVED_ARGS", "OPS"]


def _pair(v):
    return [int(v), int(v)] if isinstance(v, (int, np.integer)) else [int(a) for a in v]


def _axis(dim, ndim):
    dim = int(dim)
    return dim + ndim if dim < 0 else dim


def _unsupported(n, why):
    raise UnsupportedOperatorError(f"onnx export: {n.op} ({node_name(n.node)}) {why}")


# ---------------------------------------------------------------------------------------------
# Linear layers and matrix products


def linear(g, n):
    x, w, b, relu = n.args
    if x.ndim == 2:
        y = g.add("Gemm", [x, w, b], transB=1)
    else:
        y = g.add("MatMul", [x, g.add("Transpose", [w], perm=[1, 0])])
        if b is not None:
            y = g.add("Add", [y, b])
    return g.add("Relu", [y]) if relu else y


def matmul(g, n):
    a, b = n.args
    dt = n.out.dtype
    return g.add("MatMul", [g.name_of(a, dt), g.name_of(b, dt)])


def einsum(g, n):
    equation, *ops = n.args
    dt = n.out.dtype
    return g.add("Einsum", [g.name_of(o, dt) for o in ops], equation=equation.replace(" ", ""))


# ---------------------------------------------------------------------------------------------
# Convolution, pooling, padding, resampling


def _max_pool(g, x, kernel_size, stride, padding):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    return g.add("MaxPool", [x], kernel_shape=k, strides=s, pads=p + p)


def conv2d(g, n):
    x, w, b, stride, padding, dilation, relu, pool = n.args
    p = _pair(padding)
    y = g.add("Conv", [x, w, b], kernel_shape=list(w.shape[2:]), strides=_pair(stride),
              pads=p + p, dilations=_pair(dilation))
    if relu:
        y = g.add("Relu", [y])
    if pool is not None:
        y = _max_pool(g, y, *pool)
    return y


def conv_transpose2d(g, n):
    x, w, b, stride, padding, dilation, out_hw = n.args
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    k = list(w.shape[2:])
    natural = [(x.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1 for i in (0, 1)]
    extra = [int(o) - nat for o, nat in zip(out_hw, natural)]
    return g.add("ConvTranspose", [x, w, b], kernel_shape=k, strides=s, pads=p + p,
                 dilations=d, output_padding=extra)


def max_pool2d(g, n):
    x, kernel_size, stride, padding = n.args
    return _max_pool(g, x, kernel_size, stride, padding)


def avg_pool2d(g, n):
    x, kernel_size, stride, padding, count_include_pad = n.args
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    return g.add("AveragePool", [x], kernel_shape=k, strides=s, pads=p + p,
                 count_include_pad=int(bool(count_include_pad)))


def adaptive_max_pool(g, n):
    x, out_size = n.args
    spatial = x.shape[x.ndim - len(out_size):]
    if any(s % o for s, o in zip(spatial, out_size)) or x.ndim != 2 + len(out_size):
        _unsupported(n, f"pools {tuple(spatial)} to {tuple(out_size)}, which are not whole "
                     "windows of one size; only evenly dividing adaptive max pooling of "
                     "(N, C, *) input is exported")
    k = [s // o for s, o in zip(spatial, out_size)]
    return g.add("MaxPool", [x], kernel_shape=k, strides=k)


def separable_map(g, n):
    # y = a_h @ x @ a_w.T: both maps are constants, so two MatMuls (batch dims broadcast)
    x, a_h, a_w = n.args
    y = g.add("MatMul", [x, g.const(np.ascontiguousarray(a_w.T), hint="resample")])
    if a_h is not None:
        y = g.add("MatMul", [g.const(a_h, hint="resample"), y])
    return y


def _pad_mode(idx, valid, length):
    """(left, right, mode) such that the padding helper gives ``idx`` / ``valid``."""
    from ..ops.conv import pad_index

    total = len(idx) - length
    for mode in ("constant", "reflect", "replicate", "circular"):
        for left in range(min(total, 0) - length, max(total, 0) + length + 1):
            right = total - left
            try:
                i2, v2 = pad_index(length, left, right, mode)
            except (ZeroDivisionError, ValueError):
                continue
            if len(i2) == len(idx) and np.array_equal(i2[v2], idx[valid]) and \
                    np.array_equal(v2, valid):
                return left, right, mode
    return None


def pad(g, n):
    x, index, value = n.args
    begins, ends = [0] * x.ndim, [0] * x.ndim
    modes = set()
    for axis, idx, valid in index:
        found = _pad_mode(np.asarray(idx), np.asarray(valid), x.shape[axis])
        if found is None:
            _unsupported(n, "pads in a way ONNX's Pad cannot express")
        begins[axis], ends[axis], mode = found
        modes.add(mode)
    if len(modes) > 1:
        _unsupported(n, f"mixes padding modes {sorted(modes)}")
    mode = modes.pop() if modes else "constant"
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}[mode]
    if mode == "circular" and g.opset < 19:
        _unsupported(n, "is circular padding, which needs opset 19 or later")
    ins = [x, g.ints(begins + ends)]
    if mode == "constant":
        ins.append(g.const(np.asarray(value, x.dtype)))
    return g.add("Pad", ins, mode=onnx_mode)


# ---------------------------------------------------------------------------------------------
# Normalisation


def batch_norm(g, n):
    x, weight, bias, running_mean, running_var, training, _momentum, eps = n.args
    c = x.shape[1]
    scale = weight if weight is not None else np.ones(c, x.dtype)
    shift = bias if bias is not None else np.zeros(c, x.dtype)
    if not training:
        return g.add("BatchNormalization", [x, scale, shift, running_mean, running_var],
                     epsilon=float(eps))
    # batch statistics (a BatchNorm without running stats): normalise by the batch itself
    axes = [0] + list(range(2, x.ndim))
    cshape = [1, c] + [1] * (x.ndim - 2)
    mean = g.reduce("ReduceMean", x, axes, True)
    xc = g.add("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.add("Mul", [xc, xc]), axes, True)
    std = g.add("Sqrt", [g.add("Add", [var, g.const(np.asarray(eps, x.dtype))])])
    y = g.add("Div", [xc, std])
    y = g.add("Mul", [y, g.reshape(g.name_of(scale), cshape)])
    return g.add("Add", [y, g.reshape(g.name_of(shift), cshape)])


def layer_norm(g, n):
    x, weight, bias, ndim_norm, eps = n.args
    norm_shape = x.shape[x.ndim - ndim_norm:]
    scale = weight if weight is not None else np.ones(norm_shape, x.dtype)
    if g.opset >= 17:
        return g.add("LayerNormalization", [x, scale, bias], axis=-int(ndim_norm),
                     epsilon=float(eps))
    axes = list(range(x.ndim - ndim_norm, x.ndim))
    mean = g.reduce("ReduceMean", x, axes, True)
    xc = g.add("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.add("Mul", [xc, xc]), axes, True)
    std = g.add("Sqrt", [g.add("Add", [var, g.const(np.asarray(eps, x.dtype))])])
    y = g.add("Mul", [g.add("Div", [xc, std]), scale])
    return g.add("Add", [y, bias]) if bias is not None else y


# ---------------------------------------------------------------------------------------------
# Activations


def _erf_gelu(g, x):
    dt = x.dtype
    inner = g.add("Erf", [g.add("Mul", [x, g.const(np.asarray(1 / math.sqrt(2), dt))])])
    half_x = g.add("Mul", [x, g.const(np.asarray(0.5, dt))])
    return g.add("Mul", [half_x, g.add("Add", [inner, g.const(np.asarray(1, dt))])])


def _tanh_gelu(g, x):
    dt = x.dtype
    cube = g.add("Mul", [x, g.add("Mul", [x, x])])
    inner = g.add("Add", [x, g.add("Mul", [cube, g.const(np.asarray(0.044715, dt))])])
    t = g.add("Tanh", [g.add("Mul", [inner, g.const(np.asarray(math.sqrt(2 / math.pi), dt))])])
    half_x = g.add("Mul", [x, g.const(np.asarray(0.5, dt))])
    return g.add("Mul", [half_x, g.add("Add", [t, g.const(np.asarray(1, dt))])])


def gelu(g, n):
    x, approximate = n.args
    if g.opset >= 20:
        return g.add("Gelu", [x], approximate=approximate)
    return _tanh_gelu(g, x) if approximate == "tanh" else _erf_gelu(g, x)


def leaky_relu(g, n):
    x, slope = n.args
    return g.add("LeakyRelu", [x], alpha=float(slope))


def _c(x, v):
    """A scalar constant in ``x``'s dtype."""
    return np.asarray(v, x.dtype)


def _softplus(g, x, beta, threshold):
    bx = g.add("Mul", [x, _c(x, beta)]) if beta != 1 else x.name
    soft = g.add("Softplus", [bx])
    if beta != 1:
        soft = g.add("Div", [soft, _c(x, beta)])
    return g.add("Where", [g.add("Greater", [bx, _c(x, threshold)]), x, soft])


def _elu(g, x, alpha, scale, input_scale):
    if input_scale == 1 and math.isclose(scale, 1.0507009873554805) and \
            math.isclose(alpha, 1.6732632423543772):
        return g.add("Selu", [x])
    xs = g.add("Mul", [x, _c(x, input_scale)]) if input_scale != 1 else x.name
    y = g.add("Elu", [xs], alpha=float(alpha))
    if input_scale != 1:  # the positive part is x itself, not x * input_scale
        y = g.add("Where", [g.add("Greater", [x, _c(x, 0)]), x, y])
    return g.add("Mul", [y, _c(x, scale)]) if scale != 1 else y


def _pointwise_rows():
    """``name -> fn(g, x, *args)`` for :class:`~pynn.ops.activation.PointwiseFunction`."""
    return {
        "elu": _elu,
        "softplus": _softplus,
        "softsign": lambda g, x: g.add("Softsign", [x]),
        "hardtanh": lambda g, x, lo, hi: g.add("Clip", [x, _c(x, lo), _c(x, hi)]),
        "hardsigmoid": lambda g, x: g.add("HardSigmoid", [x], alpha=1 / 6, beta=0.5),
        "hardswish": lambda g, x: g.add("HardSwish", [x]),
        "silu": lambda g, x: g.add("Mul", [x, g.add("Sigmoid", [x])]),
        "mish": lambda g, x: g.add("Mul", [x, g.add("Tanh", [g.add("Softplus", [x])])]),
        "logsigmoid": lambda g, x: g.add("Neg", [g.add("Softplus", [g.add("Neg", [x])])]),
        "tanhshrink": lambda g, x: g.add("Sub", [x, g.add("Tanh", [x])]),
        "softshrink": lambda g, x, lambd: g.add("Shrink", [x], lambd=float(lambd),
                                                bias=float(lambd)),
        "hardshrink": lambda g, x, lambd: g.add("Shrink", [x], lambd=float(lambd)),
        "threshold": lambda g, x, th, value: g.add(
            "Where", [g.add("Greater", [x, _c(x, th)]), x, _c(x, value)]),
    }


_POINTWISE = _pointwise_rows()


def pointwise(g, n):
    x, name, args = n.args
    fn = _POINTWISE.get(name)
    if fn is None:
        _unsupported(n, f"activation {name!r} has no ONNX translation")
    return fn(g, x, *args)


def prelu(g, n):
    x, weight = n.args
    shape = [-1] + [1] * (x.ndim - 2) if np.prod(weight.shape) > 1 else [1]
    return g.add("PRelu", [x, g.reshape(weight.name, shape)])


def glu(g, n):
    x, dim = n.args
    axis = _axis(dim, x.ndim)
    half = x.shape[axis] // 2
    a = g.slice(x, [0], [half], [axis])
    b = g.slice(x, [half], [2 * half], [axis])
    return g.add("Mul", [a, g.add("Sigmoid", [b])])


def softmax(g, n):
    x, dim = n.args
    op = "LogSoftmax" if n.op == "LogSoftmaxFunction" else "Softmax"
    return g.add(op, [x], axis=_axis(dim, x.ndim) if x.ndim else 0)


def identity(g, n):
    return g.add("Identity", [n.args[0]])


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic


def _binary(op_type):
    def translate(g, n):
        a, b = n.args[:2]
        dt = n.out.dtype
        return g.add(op_type, [g.name_of(a, dt), g.name_of(b, dt)])

    translate.__name__ = op_type.lower()
    return translate


def mul(g, n):
    a, b = n.args
    dt = n.out.dtype
    return g.add("And" if dt == np.bool_ else "Mul", [g.name_of(a, dt), g.name_of(b, dt)])


def div(g, n):
    a, b = n.args
    dt = n.out.dtype
    return g.add("Div", [g.name_of(a, dt), g.name_of(b, dt)])


def maximum(g, n):
    a, b, is_min = n.args
    dt = n.out.dtype
    return g.add("Min" if is_min else "Max", [g.name_of(a, dt), g.name_of(b, dt)])


def fmod(g, n):
    a, b, floor = n.args
    dt = n.out.dtype
    a, b = g.name_of(a, dt), g.name_of(b, dt)
    if not floor or dt.kind in "iu":
        return g.add("Mod", [a, b], fmod=int(not floor))
    q = g.add("Floor", [g.add("Div", [a, b])])
    return g.add("Sub", [a, g.add("Mul", [q, b])])


def where(g, n):
    cond, a, b = n.args
    dt = n.out.dtype
    return g.add("Where", [g.name_of(cond, np.bool_), g.name_of(a, dt), g.name_of(b, dt)])


def clamp(g, n):
    x, lo, hi = n.args
    dt = n.out.dtype
    lo_c = None if lo is None else np.asarray(lo, dt)
    hi_c = None if hi is None else np.asarray(hi, dt)
    if lo_c is not None and hi_c is not None and lo_c > hi_c:
        lo_c = hi_c
    return g.add("Clip", [g.name_of(x, dt), lo_c, hi_c])


def atan2(g, n):
    # atan(a / b), moved by +-pi where b < 0; +-pi/2 (or 0) where b == 0
    a, b = n.args
    dt = n.out.dtype
    a, b = g.name_of(a, dt), g.name_of(b, dt)
    zero = np.zeros((), dt)
    base = g.add("Atan", [g.add("Div", [a, b])])
    a_neg = g.add("Less", [a, zero])
    turn = g.add("Where", [a_neg, np.asarray(-math.pi, dt), np.asarray(math.pi, dt)])
    y = g.add("Where", [g.add("Less", [b, zero]), g.add("Add", [base, turn]), base])
    axis = g.add("Mul", [g.add("Sign", [a]), np.asarray(math.pi / 2, dt)])
    return g.add("Where", [g.add("Equal", [b, zero]), axis, y])


def xlogy(g, n):
    x, y = n.args
    dt = n.out.dtype
    x, y = g.name_of(x, dt), g.name_of(y, dt)
    zero = np.zeros((), dt)
    return g.add("Where", [g.add("Equal", [x, zero]), zero,
                           g.add("Mul", [x, g.add("Log", [y])])])


def nan_to_num(g, n):
    x, nan, posinf, neginf = n.args
    info = np.finfo(x.dtype)
    big = np.asarray(info.max if posinf is None else posinf, x.dtype)
    small = np.asarray(info.min if neginf is None else neginf, x.dtype)
    y = g.add("Where", [g.add("IsNaN", [x]), np.asarray(nan, x.dtype), x])
    y = g.add("Where", [g.add("IsInf", [y], detect_negative=0), big, y])
    return g.add("Where", [g.add("IsInf", [y], detect_positive=0), small, y])


def cast(g, n):
    return g.add("Cast", [n.args[0]], to=onnx_dtype(n.out.dtype))


def _unary_rows():
    """``node type -> fn(g, x)`` for the elementwise functions of one argument."""
    def const(x, v):
        return np.asarray(v, x.dtype)

    def log_base(base):
        return lambda g, x: g.add("Div", [g.add("Log", [x]), const(x, math.log(base))])

    return {
        "NegFunction": lambda g, x: g.add("Neg", [x]),
        "ExpFunction": lambda g, x: g.add("Exp", [x]),
        "Exp2Function": lambda g, x: g.add("Pow", [const(x, 2.0), x]),
        "LogFunction": lambda g, x: g.add("Log", [x]),
        "Log2Function": log_base(2.0),
        "Log10Function": log_base(10.0),
        "Log1pFunction": lambda g, x: g.add("Log", [g.add("Add", [x, const(x, 1)])]),
        "Expm1Function": lambda g, x: g.add("Sub", [g.add("Exp", [x]), const(x, 1)]),
        "SqrtFunction": lambda g, x: g.add("Sqrt", [x]),
        "SafeSqrtFunction": lambda g, x: g.add("Sqrt", [x]),
        "RsqrtFunction": lambda g, x: g.add("Reciprocal", [g.add("Sqrt", [x])]),
        "ReciprocalFunction": lambda g, x: g.add("Reciprocal", [x]),
        "SquareFunction": lambda g, x: g.add("Mul", [x, x]),
        "AbsFunction": lambda g, x: g.add("Abs", [x]),
        "SinFunction": lambda g, x: g.add("Sin", [x]),
        "CosFunction": lambda g, x: g.add("Cos", [x]),
        "TanFunction": lambda g, x: g.add("Tan", [x]),
        "AsinFunction": lambda g, x: g.add("Asin", [x]),
        "AcosFunction": lambda g, x: g.add("Acos", [x]),
        "AtanFunction": lambda g, x: g.add("Atan", [x]),
        "SinhFunction": lambda g, x: g.add("Sinh", [x]),
        "CoshFunction": lambda g, x: g.add("Cosh", [x]),
        "AsinhFunction": lambda g, x: g.add("Asinh", [x]),
        "AcoshFunction": lambda g, x: g.add("Acosh", [x]),
        "AtanhFunction": lambda g, x: g.add("Atanh", [x]),
        "ErfFunction": lambda g, x: g.add("Erf", [x]),
        "Deg2radFunction": lambda g, x: g.add("Mul", [x, const(x, math.pi / 180)]),
        "Rad2degFunction": lambda g, x: g.add("Mul", [x, const(x, 180 / math.pi)]),
        "ReluFunction": lambda g, x: g.add("Relu", [x]),
        "SigmoidFunction": lambda g, x: g.add("Sigmoid", [x]),
        "TanhFunction": lambda g, x: g.add("Tanh", [x]),
    }


_UNARY = _unary_rows()


def unary(g, n):
    x = n.args[0]
    if isinstance(x, Value) and x.dtype != n.out.dtype:  # integer input of a float function
        x = Value(g.name_of(x, n.out.dtype), n.out)
    return _UNARY[n.op](g, x)


# Functions without a gradient recorded through ZeroGradFunction, by NumPy function name.
_ZERO_GRAD = {"floor": "Floor", "ceil": "Ceil", "rint": "Round", "round": "Round",
              "sign": "Sign", "trunc": None}


def zero_grad(g, n):
    fn, *args = n.args
    name = getattr(fn, "__name__", str(fn))
    op = _ZERO_GRAD.get(name)
    if op is None or len(args) != 1:
        _unsupported(n, f"wraps the function {name!r}, which has no ONNX translation")
    return g.add(op, [args[0]])


def compare(g, n):
    a, b, name = n.args
    _, op_type, negate = COMPARISONS[name]
    dt = np.dtype(np.bool_) if op_type in ("And", "Or", "Xor") else common_dtype(a, b)
    y = g.add(op_type, [g.name_of(a, dt), g.name_of(b, dt)])
    return g.add("Not", [y]) if negate else y


def logical_not(g, n):
    return g.add("Not", [g.name_of(n.args[0], np.bool_)])


def arg_reduce(g, n):
    x, dim, keepdim, name = n.args
    op_type = "ArgMax" if name == "argmax" else "ArgMin"
    if dim is None:
        y = g.add(op_type, [g.reshape(x, [-1])], axis=0, keepdims=0)
        return g.reshape(y, [1] * x.ndim) if keepdim else y
    return g.add(op_type, [x], axis=_axis(dim, x.ndim), keepdims=int(bool(keepdim)))


# ---------------------------------------------------------------------------------------------
# Reductions


def _axes(dim, ndim):
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return sorted(_axis(d, ndim) for d in dims)


def _reduction(op_type):
    def translate(g, n):
        x, dim, keepdim = n.args[:3]
        x_name = g.name_of(x, n.out.dtype)
        return g.reduce(op_type, x_name, _axes(dim, x.ndim), keepdim)

    translate.__name__ = op_type.lower()
    return translate


def amax(g, n):
    x, dim, keepdim, is_min = n.args
    return g.reduce("ReduceMin" if is_min else "ReduceMax", x, _axes(dim, x.ndim), keepdim)


def take_along(g, n):
    # The values of max(dim) / min(dim): the traced indices tell which of the two it was.
    x, dim, indices, keepdim = n.args
    axis = _axis(dim, x.ndim) if x.ndim else 0
    if x.ndim == 0:
        return g.add("Identity", [x])
    for op_type, fn in (("ReduceMax", np.argmax), ("ReduceMin", np.argmin)):
        if indices.shape[axis] == 1 and np.array_equal(fn(x.array, axis=axis, keepdims=True),
                                                       indices):
            return g.reduce(op_type, x, [axis], keepdim)
    # topk / sort: the k largest (or smallest) in order
    k = indices.shape[axis]
    data = x.array
    for largest in (1, 0):
        order = np.argsort(-data if largest else data, axis=axis, kind="stable")
        if np.array_equal(np.take(order, np.arange(k), axis=axis), indices):
            values, _ = g.add("TopK", [x, g.ints([k])], n_out=2, axis=axis, largest=largest,
                              sorted=1)
            return values
    _unsupported(n, "takes values at indices that are not the largest or smallest in order "
                 "(median, kthvalue, gather ...); max, min, topk and sort are exported")


def cumsum(g, n):
    x, dim = n.args
    return g.add("CumSum", [x, g.const(np.asarray(_axis(dim, x.ndim), np.int64))])


def norm(g, n):
    x, p, dim, keepdim = n.args
    ops = {1: "ReduceL1", 2: "ReduceL2"}
    if p not in ops:
        _unsupported(n, f"is a norm of order {p!r}; only p=1 and p=2 are exported")
    return g.reduce(ops[p], x, _axes(dim, x.ndim), keepdim)


# ---------------------------------------------------------------------------------------------
# Shapes and indexing


def _reshape_target(in_shape, out_shape):
    """The Reshape shape for ``in_shape -> out_shape`` that also fits other sizes of the
    leading (batch) dimensions: leading sizes kept from the input are 0 ("copy"), and the
    first size after them is -1 (inferred)."""
    target = list(out_shape)
    k = 0
    while k < min(len(in_shape), len(out_shape)) and in_shape[k] == out_shape[k]:
        k += 1
    if 0 in out_shape or 0 in in_shape:
        return target
    target[:k] = [0] * k
    if k < len(target):
        target[k] = -1
    return target


def _unit_axes(in_shape, out_shape):
    """When ``in_shape -> out_shape`` only removes and inserts sizes of 1 (squeeze,
    unsqueeze), the input axes removed and the output axes inserted; else None. Equal sizes
    are matched first, so a traced batch of 1 is kept, not squeezed away."""
    i = j = 0
    removed, inserted = [], []
    while i < len(in_shape) or j < len(out_shape):
        if i < len(in_shape) and j < len(out_shape) and in_shape[i] == out_shape[j]:
            i, j = i + 1, j + 1
        elif j < len(out_shape) and out_shape[j] == 1:
            inserted.append(j)
            j += 1
        elif i < len(in_shape) and in_shape[i] == 1:
            removed.append(i)
            i += 1
        else:
            return None
    return removed, inserted


def reshape(g, n):
    x = n.args[0]
    units = _unit_axes(x.shape, n.out.shape)
    if units is not None:  # squeeze / unsqueeze: no sizes written into the graph
        removed, inserted = units
        y = g.squeeze(x, removed) if removed else x.name
        y = g.unsqueeze(y, inserted) if inserted else y
        return y if removed or inserted else g.add("Identity", [x])
    return g.reshape(x, _reshape_target(x.shape, n.out.shape))


def permute(g, n):
    x, perm = n.args
    return g.add("Transpose", [x], perm=[int(p) for p in perm])


def expand(g, n):
    x = n.args[0]
    out = list(n.out.shape)
    lead = len(out) - x.ndim
    # 1 keeps the input's size (ONNX's Expand broadcasts both ways): batch sizes stay free
    target = [1 if i >= lead and x.shape[i - lead] == s else s for i, s in enumerate(out)]
    return g.add("Expand", [x, g.ints(target)])


def cat(g, n):
    dim, *parts = n.args
    dt = n.out.dtype
    parts = [p for p in parts if not (np.ndim(getattr(p, "array", p)) == 1 and
                                      np.shape(getattr(p, "array", p))[0] == 0)]
    return g.add("Concat", [g.name_of(p, dt) for p in parts], axis=_axis(dim, n.out.ndim))


def stack(g, n):
    dim, *parts = n.args
    dt = n.out.dtype
    axis = _axis(dim, n.out.ndim)
    return g.add("Concat", [g.unsqueeze(g.name_of(p, dt), [axis]) for p in parts], axis=axis)


def _index(g, n, x, key):
    """``x[key]`` for NumPy keys of ints, slices, None, ``...`` and at most one integer
    array."""
    key = key if isinstance(key, tuple) else (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - n_real) + key[i + 1:]
    key = key + (slice(None),) * (x.ndim - sum(1 for k in key if k is not None))
    starts, ends, axes, steps = [], [], [], []
    squeeze, arrays, out_dims = [], [], 0
    nones = []
    ax = 0
    for k in key:
        if k is None:
            nones.append(out_dims)
            out_dims += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                lo, hi = (0, INT64_MAX) if step > 0 else (-1, INT64_MIN)
                starts.append(lo if k.start is None else int(k.start))
                ends.append(hi if k.stop is None else int(k.stop))
                axes.append(ax)
                steps.append(step)
            out_dims += 1
        elif isinstance(k, (int, np.integer)):
            i = int(k)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(ax)
            steps.append(1)
            squeeze.append(ax)
        else:
            arr = np.asarray(k)
            if arr.dtype == np.bool_:
                if arr.ndim != 1:
                    _unsupported(n, "indexes with a multi-dimensional boolean mask")
                arr = np.flatnonzero(arr)
            arrays.append((ax, arr))
            out_dims += arr.ndim
        ax += 1
    y = x.name if isinstance(x, Value) else x
    if axes:
        y = g.slice(y, starts, ends, axes, steps)
    if len(arrays) > 1:
        _unsupported(n, "indexes with more than one integer array")
    shift = 0
    if arrays:
        a_ax, arr = arrays[0]
        y = g.add("Gather", [y, g.const(arr.astype(np.int64), hint="indices")], axis=a_ax)
        shift = arr.ndim - 1
        squeeze = [s + shift if s > a_ax else s for s in squeeze]
    if squeeze:
        y = g.squeeze(y, squeeze)
    if nones:
        y = g.unsqueeze(y, nones)
    return y if y != getattr(x, "name", None) else g.add("Identity", [y])


def slice_(g, n):
    x, key = n.args
    return _index(g, n, x, key)


def gather_map(g, n):
    # ``where_`` holds flat positions in x (-1: a zero), traced for x's shape. When every
    # sample of the batch takes the same positions within its own row, gather within rows:
    # the batch size stays free; otherwise the positions are fixed for the traced shape.
    x, where_ = n.args
    valid = where_ >= 0
    pos = np.maximum(where_, 0)
    y = None
    if where_.ndim and x.ndim > 1 and where_.shape[0] == x.shape[0]:
        inner = math.prod(x.shape[1:])
        rows = np.arange(x.shape[0]).reshape((-1,) + (1,) * (where_.ndim - 1)) * inner
        base = pos[0]
        if np.array_equal(pos, np.where(valid, base[None] + rows, 0)) and \
                (valid == valid[:1]).all():
            valid = valid[0]
            g.matched.add(id(where_))  # computed from the shape: not a traced constant
            y = g.add("Gather", [g.reshape(x, [0, -1]),
                                 g.const(base.astype(np.int64), hint="positions")], axis=1)
    if y is None:
        g.fixed_shape.add(node_name(n.node))
        y = g.add("Gather", [g.reshape(x, [-1]), g.const(pos.astype(np.int64),
                                                          hint="positions")], axis=0)
    if not valid.all():
        y = g.add("Where", [g.const(valid), y, np.zeros((), x.dtype)])
    return y


def index_select(g, n):
    x, index, axis = n.args
    return g.add("Gather", [x, g.name_of(index, np.int64)], axis=_axis(axis, x.ndim))


def _scatter(g, n, x, positions, values, reduction=None):
    """A copy of ``x`` with ``values`` (broadcast to ``positions``' shape) written (or added)
    at the flat ``positions``: for the traced shape of x."""
    g.fixed_shape.add(node_name(n.node))
    flat = g.reshape(x, [-1])
    src = g.add("Expand", [values, g.ints(positions.shape)])
    out = g.add("ScatterND", [flat, g.const(positions.reshape(-1, 1).astype(np.int64)),
                              g.reshape(src, [-1])], reduction=reduction)
    return g.reshape(out, list(x.shape))


def index_put(g, n):
    x, value, key, *rest = n.args
    accumulate = bool(rest and rest[0])
    if accumulate and g.opset < 16:
        _unsupported(n, "adds into positions, which needs opset 16 or later")
    positions = np.arange(math.prod(x.shape), dtype=np.int64).reshape(x.shape)[key]
    return _scatter(g, n, x, positions, g.name_of(value, x.dtype),
                    "add" if accumulate else None)


def split(g, n):
    # one Slice per piece that something uses ("" for the others: no node is made)
    x, dim, spans, squeeze = n.args
    axis = _axis(dim, x.ndim)
    outs = []
    for (a, b), used in zip(spans, n.outs):
        if used is None:
            outs.append("")
            continue
        piece = g.slice(x, [a], [a + 1 if squeeze else b], [axis])
        outs.append(g.squeeze(piece, [axis]) if squeeze else piece)
    return outs


def scatter_map(g, n):
    x, src, where_, accumulate = n.args
    if accumulate and g.opset < 16:
        _unsupported(n, "adds into positions, which needs opset 16 or later")
    return _scatter(g, n, x, where_, g.name_of(src, x.dtype), "add" if accumulate else None)


def overwrite(g, n):
    return g.add("Identity", [g.const(n.args[1], hint="filled")])


def embedding(g, n):
    weight, indices = n.args[:2]
    if not isinstance(indices, Value):  # the layer passes the input's array, not the Tensor
        indices = g.match_input(indices) or indices
    return g.add("Gather", [weight, g.name_of(indices, np.int64)], axis=0)


# ---------------------------------------------------------------------------------------------
# Losses


def _reduce_loss(g, loss, reduction):
    if reduction == "none":
        return loss
    return g.reduce("ReduceMean" if reduction == "mean" else "ReduceSum", loss, None, False)


def mse_loss(g, n):
    x, y, reduction = n.args
    dt = n.out.dtype
    diff = g.add("Sub", [g.name_of(x, dt), g.name_of(y, dt)])
    return _reduce_loss(g, g.add("Mul", [diff, diff]), reduction)


def bce(g, n):
    x, y, weight, reduction = n.args
    dt = n.out.dtype
    y = g.name_of(y, dt)
    floor = np.asarray(-100, dt)  # PyTorch clamps the logs, so 0 and 1 give finite losses
    log_x = g.add("Max", [g.add("Log", [x]), floor])
    log_1mx = g.add("Max", [g.add("Log", [g.add("Sub", [np.ones((), dt), x])]), floor])
    one_minus_y = g.add("Sub", [np.ones((), dt), y])
    per = g.add("Neg", [g.add("Add", [g.add("Mul", [y, log_x]),
                                      g.add("Mul", [one_minus_y, log_1mx])])])
    if weight is not None:
        per = g.add("Mul", [per, g.name_of(weight, dt)])
    return _reduce_loss(g, per, reduction)


def bce_with_logits(g, n):
    x, y, weight, pos_weight, reduction = n.args
    dt = n.out.dtype
    y = g.name_of(y, dt)
    one = np.ones((), dt)
    # log(1 + e^-x) = softplus(-x), computed by ONNX without overflow
    softplus_neg = g.add("Softplus", [g.add("Neg", [x])])
    if pos_weight is not None:
        scale = g.add("Add", [one, g.add("Mul", [g.add("Sub", [g.name_of(pos_weight, dt), one]),
                                                  y])])
        softplus_neg = g.add("Mul", [scale, softplus_neg])
    per = g.add("Add", [g.add("Mul", [g.add("Sub", [one, y]), x]), softplus_neg])
    if weight is not None:
        per = g.add("Mul", [per, g.name_of(weight, dt)])
    return _reduce_loss(g, per, reduction)


def _labels(g, labels):
    if not isinstance(labels, Value):
        labels = g.match_input(labels) or labels
    return g.name_of(labels, np.int64)


def cross_entropy(g, n):
    logits, labels, ignore_index, label_smoothing, reduction = n.args
    if label_smoothing:
        _unsupported(n, "uses label smoothing, which ONNX's SoftmaxCrossEntropyLoss lacks")
    if getattr(labels, "ndim", np.ndim(labels)) != logits.ndim - 1:
        _unsupported(n, "takes class probabilities as targets; only class indices export")
    return g.add("SoftmaxCrossEntropyLoss", [logits, _labels(g, labels)],
                 reduction=reduction, ignore_index=int(ignore_index))


def nll_loss(g, n):
    logp, labels, weight, ignore_index, reduction = n.args
    return g.add("NegativeLogLikelihoodLoss", [logp, _labels(g, labels), weight],
                 reduction=reduction, ignore_index=int(ignore_index))


# ---------------------------------------------------------------------------------------------
# Recurrent layers: ONNX's LSTM / GRU / RNN, with PyTorch's gate blocks reordered


def _recurrent_weights(g, w_ih, w_hh, b_ih, b_hh, order):
    """W (1, G*H, in), R (1, G*H, H) and B (1, 2*G*H) in ONNX's gate order (or "")."""
    h = w_hh.shape[0] // len(order)
    idx = g.const(np.concatenate([np.arange(b * h, (b + 1) * h) for b in order])
                  .astype(np.int64), hint="gate_order")

    def rows(v):
        return g.add("Gather", [v, idx], axis=0)

    W = g.unsqueeze(rows(w_ih), [0])
    R = g.unsqueeze(rows(w_hh), [0])
    B = ""
    if b_ih is not None:
        B = g.unsqueeze(g.add("Concat", [rows(b_ih), rows(b_hh)], axis=0), [0])
    return W, R, B


def _state(g, h):
    return "" if h is None else g.unsqueeze(h, [0])


def lstm(g, n):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse = n.args
    H = w_hh.shape[1]
    W, R, B = _recurrent_weights(g, w_ih, w_hh, b_ih, b_hh, (0, 3, 1, 2))  # ifgo -> iofc
    Y, _, Yc = g.add("LSTM", [x, W, R, B, "", _state(g, h0), _state(g, c0)], n_out=3,
                     hidden_size=H, direction="reverse" if reverse else "forward")
    return g.squeeze(Y, [1]), g.squeeze(Yc, [0])


def gru(g, n):
    x, h0, w_ih, w_hh, b_ih, b_hh, reverse = n.args
    H = w_hh.shape[1]
    W, R, B = _recurrent_weights(g, w_ih, w_hh, b_ih, b_hh, (1, 0, 2))  # rzn -> zrh
    Y, _ = g.add("GRU", [x, W, R, B, "", _state(g, h0)], n_out=2, hidden_size=H,
                 direction="reverse" if reverse else "forward", linear_before_reset=1)
    return g.squeeze(Y, [1])


def rnn(g, n):
    x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity = n.args
    H = w_hh.shape[1]
    W, R, B = _recurrent_weights(g, w_ih, w_hh, b_ih, b_hh, (0,))
    act = "Relu" if nonlinearity == "relu" else "Tanh"
    Y, _ = g.add("RNN", [x, W, R, B, "", _state(g, h0)], n_out=2, hidden_size=H,
                 direction="reverse" if reverse else "forward", activations=[act])
    return g.squeeze(Y, [1])


# ---------------------------------------------------------------------------------------------
# Attention, decomposed into MatMul / Softmax


def _causal_mask(l, s, dtype):
    return np.where(np.tri(l, s, dtype=bool), 0, -np.inf).astype(dtype)


def _attend(g, q, k, v, mask, causal, scale, ndim, dtype, l, s):
    """``softmax(scale q k^T + mask) v`` on (*, L, E) values of rank ``ndim``."""
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    scores = g.add("MatMul", [q, g.add("Transpose", [k], perm=perm)])
    scores = g.add("Mul", [scores, np.asarray(scale, dtype)])
    if mask is not None:
        scores = g.add("Add", [scores, g.name_of(mask, dtype)])
    if causal:
        scores = g.add("Add", [scores, g.const(_causal_mask(l, s, dtype), hint="causal")])
    return g.add("MatMul", [g.add("Softmax", [scores], axis=-1), v])


def scaled_dot_product_attention(g, n):
    q, k, v, mask, causal, scale, _dropout = n.args
    dt = q.dtype
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    if isinstance(mask, np.ndarray):
        mask = mask.astype(dt)
    return _attend(g, q, k, v, mask, causal, scale, max(q.ndim, k.ndim), dt,
                   q.shape[-2], k.shape[-2])


def _padding_mask_from_input(g, mask, n_batch, heads, s_len):
    """When the additive mask (N * heads, 1, S) is a key padding mask that is a graph input
    (bool: True hides; or float: added), the same mask computed from that input, shaped
    (N, 1, 1, S); else None."""
    if mask.shape != (n_batch * heads, 1, s_len):
        return None
    per_head = mask.reshape(n_batch, heads, s_len)
    if not (per_head == per_head[:, :1]).all():
        return None
    add = per_head[:, 0]
    for v in g.inputs:
        if v.shape != (n_batch, s_len):
            continue
        if v.dtype == np.bool_ and np.array_equal(np.where(v.array, -np.inf, 0), add):
            hidden = g.add("Where", [v, np.asarray(-np.inf, mask.dtype),
                                     np.zeros((), mask.dtype)])
            return g.unsqueeze(hidden, [1, 2])
        if v.dtype.kind == "f" and np.array_equal(v.array.astype(mask.dtype), add):
            return g.unsqueeze(g.name_of(v, mask.dtype), [1, 2])
    return None


def multihead_attention(g, n):
    a, b, c, layout, e, heads, batch_first, mask, causal, _dropout, _keep = n.args
    arrays = (a, b, c)
    d = e // heads
    # tokens (L, N, E) [or (N, L, E)] -> (N, heads, L, d)
    to_heads = [0, 2, 1, 3] if batch_first else [1, 2, 0, 3]
    from_heads = [0, 2, 1, 3] if batch_first else [2, 0, 1, 3]
    parts = []
    for i, col in layout:
        src = arrays[i]
        cols = g.slice(src, [col], [col + e], [src.ndim - 1])
        split = g.reshape(cols, [0, 0, heads, d])
        parts.append(g.add("Transpose", [split], perm=to_heads))
    qa, ka = arrays[layout[0][0]], arrays[layout[1][0]]
    l_len = qa.shape[1] if batch_first else qa.shape[0]
    s_len = ka.shape[1] if batch_first else ka.shape[0]
    n_batch = qa.shape[0] if batch_first else qa.shape[1]
    m = None
    if mask is not None:
        mask = np.asarray(mask).astype(qa.dtype)
        m = _padding_mask_from_input(g, mask, n_batch, heads, s_len)
        if m is not None:
            g.matched.add(id(n.args[7]))  # not a constant: the check must not flag it
        if m is None and mask.ndim == 3 and mask.shape[0] != 1:
            m = mask.reshape(n_batch, heads, mask.shape[1], mask.shape[2])
        elif m is None:
            m = mask.reshape(mask.shape[1:]) if mask.ndim == 3 else mask
    out = _attend(g, parts[0], parts[1], parts[2], m, causal, 1 / math.sqrt(d), 4, qa.dtype,
                  l_len, s_len)
    return g.reshape(g.add("Transpose", [out], perm=from_heads), [0, 0, -1])


# ---------------------------------------------------------------------------------------------
# The table: autograd node type name -> translation


OPS = {
    # linear algebra
    "LinearFunction": linear,
    "MatmulFunction": matmul,
    "EinsumFunction": einsum,
    # convolution, pooling, padding, resampling
    "Conv2dFunction": conv2d,
    "ConvTranspose2dFunction": conv_transpose2d,
    "MaxPool2dFunction": max_pool2d,
    "AvgPool2dFunction": avg_pool2d,
    "AdaptiveMaxPoolFunction": adaptive_max_pool,
    "SeparableMapFunction": separable_map,
    "PadFunction": pad,
    # normalisation
    "BatchNormFunction": batch_norm,
    "LayerNormFunction": layer_norm,
    # activations
    "GeluFunction": gelu,
    "LeakyReluFunction": leaky_relu,
    "PointwiseFunction": pointwise,
    "PReluFunction": prelu,
    "GluFunction": glu,
    "SoftmaxFunction": softmax,
    "LogSoftmaxFunction": softmax,
    # elementwise arithmetic
    "AddFunction": _binary("Add"),
    "SubFunction": _binary("Sub"),
    "MulFunction": mul,
    "DivFunction": div,
    "PowFunction": _binary("Pow"),
    "MaximumFunction": maximum,
    "FmodFunction": fmod,
    "WhereFunction": where,
    "ClampFunction": clamp,
    "XlogyFunction": xlogy,
    "Atan2Function": atan2,
    "CastFunction": cast,
    "NanToNumFunction": nan_to_num,
    "CloneFunction": identity,
    "ZeroGradFunction": zero_grad,
    "CompareFunction": compare,
    "LogicalNotFunction": logical_not,
    "ArgReduceFunction": arg_reduce,
    **{name: unary for name in _UNARY},
    # reductions
    "SumFunction": _reduction("ReduceSum"),
    "MeanFunction": _reduction("ReduceMean"),
    "ProdFunction": _reduction("ReduceProd"),
    "AmaxFunction": amax,
    "TakeAlongFunction": take_along,
    "CumsumFunction": cumsum,
    "NormFunction": norm,
    # shapes and indexing
    "ReshapeFunction": reshape,
    "PermuteFunction": permute,
    "ExpandFunction": expand,
    "CatFunction": cat,
    "StackFunction": stack,
    "SliceFunction": slice_,
    "SplitFunction": split,
    "IndexFunction": slice_,
    "GatherMapFunction": gather_map,
    "IndexSelectFunction": index_select,
    "IndexPutFunction": index_put,
    "ScatterMapFunction": scatter_map,
    "OverwriteFunction": overwrite,
    "EmbeddingFunction": embedding,
    # losses
    "MSELossFunction": mse_loss,
    "BCEFunction": bce,
    "BCEWithLogitsFunction": bce_with_logits,
    "CrossEntropyFunction": cross_entropy,
    "NLLLossFunction": nll_loss,
    # recurrent layers
    "LSTMFunction": lstm,
    "GRUFunction": gru,
    "RNNFunction": rnn,
    # attention
    "ScaledDotProductAttentionFunction": scaled_dot_product_attention,
    "MultiheadAttentionFunction": multihead_attention,
    # module hooks (identities in the forward pass)
    "_HookInputFunction": identity,
    "_HookOutputFunction": identity,
}


# Arguments that a translation recomputes in the graph instead of storing (max(dim)'s
# indices): not constants, whatever values they had in the trace.
DERIVED_ARGS = {"TakeAlongFunction": {2}}
