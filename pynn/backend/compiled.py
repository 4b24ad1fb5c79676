"""The compiled backend: the C/OpenMP kernels behind the same names, signatures and docstrings
as :mod:`pynn.backend.reference`.

Each function hands its arrays to a Cython wrapper that releases the GIL and calls C with the
current thread count and instruction set. Arguments are checked with the same code as the
reference's (so both raise the same errors): before the call for the convolution, pooling and
attention kernels, which write outputs allocated here; for the kernels called many times a
step on small arrays, by the wrapper at C speed (see _buffers.pxi: an array in a form the
kernel cannot read as it is gets copied there, once), which raises ``Refused`` for what no
copy makes valid, and only then are the shared checks run, for the error.

The kernel table's small kernels (``_kernel_table.py``: activations, softmax, recurrent cells,
optimiser updates) are not written here: :func:`_from_table` makes each from its row and its
reference twin. The others are written by hand, with their twin's docstring (:func:`_twin`).
"""

import inspect
import linecache

import numpy as np

from . import _checks as check
from . import _codegen, reference
from ._kernel_table import TABLE
from ._runtime import kernel_threads

try:
    from . import _native
    from ._native import Refused
except ImportError as exc:  # pragma: no cover - depends on how pynn was installed
    raise ImportError(
        "pynn's compiled kernels are not built. Install pynn with `pip install .` (or "
        "`pip install -e .` for development) and do not import it from a source tree that "
        "lacks the built extensions; or select the NumPy backend with PYNN_BACKEND=reference."
    ) from exc

ISA_NAMES = _native.ISA_NAMES


def available_isas():
    """Names of the instruction sets this build and CPU can run, best last."""
    return [name for i, name in enumerate(ISA_NAMES) if _native.isa_supported(i)]


def _initial_isa():
    import os

    wanted = os.environ.get("PYNN_ISA")
    if wanted:
        if wanted not in available_isas():
            raise RuntimeError(
                f"PYNN_ISA={wanted!r} is not available here; available: {available_isas()}"
            )
        return ISA_NAMES.index(wanted)
    return _native.best_isa()


_isa = _initial_isa()


def get_isa():
    """Name of the instruction set the SIMD kernels use."""
    return ISA_NAMES[_isa]


def set_isa(name):
    """Use the SIMD kernels built for ``name`` (one of :func:`available_isas`)."""
    global _isa
    if name not in available_isas():
        raise ValueError(f"set_isa: {name!r} is not available here; available: "
                         f"{available_isas()}")
    _isa = ISA_NAMES.index(name)


def openmp_enabled():
    """True when the kernels were built with OpenMP (False means they run on one thread)."""
    return _native.openmp_enabled()


def _twin(fn):
    """Give a hand-written kernel its reference twin's docstring, the one that defines it
    (the kernel-table test holds their signatures together)."""
    fn.__doc__ = getattr(reference, fn.__name__).__doc__
    return fn


# ---------------------------------------------------------------------------------------------
# GEMM


@_twin
def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None,
         bias_axis=1, relu=False):
    try:
        c = _native.gemm(a, b, out, trans_a, trans_b, alpha, beta, bias, bias_axis, relu, _isa,
                         kernel_threads())
    except Refused:
        raise _invalid("gemm", check.gemm_operands, a, b, out, trans_a, trans_b, bias,
                       bias_axis) from None
    return c if out is None else out


def _invalid(kernel, checks, *args, **kwargs):
    """The error for arguments a wrapper refused: ``checks(*args, **kwargs)``, the checks the
    reference backend runs, raises it. A wrapper takes every valid form of an argument
    (copying what it cannot read as it is), so checks that pass mean the two disagree: a
    bug, said so rather than taken for a result. (The checks are passed with their
    arguments, not as a closure: a closure's cells would cost every call, not only this.)"""
    checks(*args, **kwargs)
    return _disagreement(kernel)


def _disagreement(kernel):
    return RuntimeError(f"{kernel}: the compiled kernel refused arguments its checks accept")


# ---------------------------------------------------------------------------------------------
# Convolution


@_twin
def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    check.float_arrays("im2col", x=x)
    check.rank("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, out_hw = check.window_args("im2col", x.shape, kernel_size, stride,
                                                padding, dilation)
    n, c = x.shape[:2]
    cols = np.empty((n, c * k[0] * k[1], out_hw[0] * out_hw[1]), x.dtype)
    _native.im2col(x, k, s, p, d, out_hw, cols, kernel_threads())
    return cols


@_twin
def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    check.float_arrays("col2im", cols=cols)
    check.rank("col2im", "cols", cols, 3, "(N, C*kh*kw, oh*ow)")
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"col2im: x_shape must be (N, C, H, W), got {x_shape}")
    k, s, p, d, out_hw = check.window_args("col2im", x_shape, kernel_size, stride,
                                                padding, dilation)
    n, c = x_shape[:2]
    check.shape("col2im", "cols", cols, (n, c * k[0] * k[1], out_hw[0] * out_hw[1]))
    x = np.empty(x_shape, cols.dtype)
    _native.col2im(cols, k, s, p, d, out_hw, x, kernel_threads())
    return x


@_twin
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False):
    _, s, p, d, out_hw = check.conv_args("conv2d_forward", x, w, b, stride, padding,
                                              dilation)
    y = np.empty((x.shape[0], w.shape[0], *out_hw), x.dtype)
    _native.conv2d_forward(x, w.reshape(w.shape[0], -1), b, w.shape[2:], s, p, d, out_hw, relu,
                           None, y, None, _isa, kernel_threads())
    return y


@_twin
def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1, *, needs_input_grad=True,
                    has_bias=True, relu_y=None):
    kernel = "conv2d_backward"
    _, s, p, d, out_hw = check.conv_args(kernel, x, w, None, stride, padding, dilation)
    check.float_arrays(kernel, x=x, dy=dy, relu_y=relu_y)
    check.shape(kernel, "dy", dy, (x.shape[0], w.shape[0], *out_hw))
    if relu_y is not None:
        check.same_shape(kernel, "dy", dy, "relu_y", relu_y)
    dx = np.empty(x.shape, x.dtype) if needs_input_grad else None
    dw = np.empty((w.shape[0], w[0].size), x.dtype)
    db = np.empty(w.shape[0], x.dtype) if has_bias else None
    _native.conv2d_backward(x, w.reshape(w.shape[0], -1), dy, relu_y, w.shape[2:], s, p, d,
                            out_hw, None, None, dx, dw, db, _isa, kernel_threads())
    return dx, dw.reshape(w.shape), db


@_twin
def conv2d_maxpool_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False,
                           pool_kernel=2, pool_stride=None, pool_padding=0):
    kernel = "conv2d_maxpool_forward"
    _, s, p, d, conv_hw = check.conv_args(kernel, x, w, b, stride, padding, dilation)
    pk, ps, pp, pool_hw = check.conv_pool_args(kernel, conv_hw, pool_kernel, pool_stride,
                                               pool_padding)
    y = np.empty((x.shape[0], w.shape[0], *pool_hw), x.dtype)
    idx = np.empty(y.shape, np.int64)
    if y.size:
        _native.conv2d_forward(x, w.reshape(w.shape[0], -1), b, w.shape[2:], s, p, d, conv_hw,
                               relu, (pk, ps, pp), y, idx, _isa, kernel_threads())
    return y, idx


@_twin
def conv2d_maxpool_backward(x, w, dy, indices, stride=1, padding=0, dilation=1, *,
                            needs_input_grad=True, has_bias=True, relu_y=None):
    kernel = "conv2d_maxpool_backward"
    _, s, p, d, conv_hw = check.conv_args(kernel, x, w, None, stride, padding, dilation)
    check.conv_pool_grad(kernel, x, w, dy, indices, conv_hw, check_range=False, relu_y=relu_y)
    dx = np.empty(x.shape, x.dtype) if needs_input_grad else None
    dw = np.empty((w.shape[0], w[0].size), x.dtype)
    db = np.empty(w.shape[0], x.dtype) if has_bias else None
    if dy.size == 0:  # no pooled output: nothing flows back
        for grad in (dx, dw, db):
            if grad is not None:
                grad[...] = 0
    elif not _native.conv2d_backward(x, w.reshape(w.shape[0], -1), dy, relu_y, w.shape[2:], s,
                                     p, d, conv_hw, ((1, 1), (1, 1), (0, 0)), indices, dx, dw,
                                     db, _isa, kernel_threads()):
        raise check.pool_indices_out_of_range(kernel, (*dy.shape[:2], *conv_hw))
    return dx, dw.reshape(w.shape), db


# ---------------------------------------------------------------------------------------------
# Pooling


@_twin
def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    k, s, p, _, out_hw = check.pool_args("max_pool2d_forward", x, kernel_size, stride,
                                              padding)
    y = np.empty(x.shape[:2] + out_hw, x.dtype)
    idx = np.empty(y.shape, np.int64)
    _native.max_pool2d_forward(x, k, s, p, y, idx, _isa, kernel_threads())
    return y, idx


@_twin
def max_pool2d_backward(dy, indices, x_shape):
    check.float_arrays("max_pool2d_backward", dy=dy)
    check.rank("max_pool2d_backward", "dy", dy, 4, "(N, C, oh, ow)")
    check.pool_indices("max_pool2d_backward", indices, dy, x_shape, check_range=False)
    dx = np.empty(tuple(int(v) for v in x_shape), dy.dtype)
    if not _native.max_pool2d_backward(dy, indices, dx, kernel_threads()):
        raise check.pool_indices_out_of_range("max_pool2d_backward", x_shape)
    return dx


@_twin
def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    k, s, p, _, out_hw = check.pool_args("avg_pool2d_forward", x, kernel_size, stride,
                                              padding)
    y = np.empty(x.shape[:2] + out_hw, x.dtype)
    _native.avg_pool2d_forward(x, k, s, p, count_include_pad, y, kernel_threads())
    return y


@_twin
def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad=True):
    kernel = "avg_pool2d_backward"
    check.float_arrays(kernel, dy=dy)
    check.rank(kernel, "dy", dy, 4, "(N, C, oh, ow)")
    x_shape = tuple(int(v) for v in x_shape)
    k, s, p, _, out_hw = check.window_args(kernel, x_shape, kernel_size, stride, padding,
                                                1)
    check.pool_padding(kernel, k, p)
    check.shape(kernel, "dy", dy, x_shape[:2] + out_hw)
    dx = np.empty(x_shape, dy.dtype)
    _native.avg_pool2d_backward(dy, k, s, p, count_include_pad, dx, kernel_threads())
    return dx


# ---------------------------------------------------------------------------------------------
# Softmax family (last axis)


def _xent_options(kernel, reduction, label_smoothing, ignore_index):
    """The fused loss's options, checked in full only when they are not the usual kind: the
    full checks would cost a noticeable part of a small loss's call."""
    if (reduction not in check.REDUCTIONS or type(ignore_index) is not int
            or not 0.0 <= label_smoothing <= 1.0):
        check.cross_entropy_options(kernel, reduction, label_smoothing, ignore_index)


@_twin
def softmax_cross_entropy_forward(logits, labels, ignore_index=-100, label_smoothing=0.0,
                                  reduction="mean"):
    kernel = "softmax_cross_entropy_forward"
    _xent_options(kernel, reduction, label_smoothing, ignore_index)
    args = (ignore_index, label_smoothing, reduction == "none", _isa, kernel_threads())
    try:
        bad, total, n_valid, probs, rows = _native.cross_entropy_forward(logits, labels, *args)
    except Refused:
        raise _invalid(kernel, check.cross_entropy_args, kernel, "logits", logits, labels,
                       reduction, label_smoothing, ignore_index) from None
    if bad >= 0:
        raise check.bad_label(kernel, labels[bad], probs.shape[1], ignore_index)
    if reduction == "none":
        return rows.astype(logits.dtype), probs
    if reduction == "mean":
        total = total / n_valid if n_valid else float("nan")
    return np.asarray(total, logits.dtype), probs


def _norm_kernels(kind, checks):
    """The compiled ``<kind>_forward`` and ``<kind>_backward`` of a normalisation (layer or
    batch norm: the same arguments, statistics over rows or over channels)."""
    forward_name, backward_name = f"{kind}_forward", f"{kind}_backward"
    native_forward, native_backward = (getattr(_native, forward_name),
                                       getattr(_native, backward_name))

    def forward(x, weight=None, bias=None, eps=1e-5):
        try:
            return native_forward(x, weight, bias, eps, _isa, kernel_threads())
        except Refused:
            raise _invalid(forward_name, checks, forward_name, x, weight=weight,
                           bias=bias) from None

    def backward(x, dy, mean, rstd, weight=None, input_grad=True, weight_grad=True,
                 bias_grad=True):
        try:
            return native_backward(x, dy, mean, rstd, weight, input_grad, weight_grad,
                                   bias_grad, _isa, kernel_threads())
        except Refused:
            raise _invalid(backward_name, checks, backward_name, x, weight=weight, dy=dy,
                           mean=mean, rstd=rstd) from None

    forward.__name__ = forward.__qualname__ = forward_name
    backward.__name__ = backward.__qualname__ = backward_name
    return _twin(forward), _twin(backward)


layer_norm_forward, layer_norm_backward = _norm_kernels("layer_norm", check.layer_norm_args)
batch_norm_forward, batch_norm_backward = _norm_kernels("batch_norm", check.batch_norm_args)


@_twin
def softmax_cross_entropy_backward(probs, labels, grad, ignore_index=-100, label_smoothing=0.0,
                                   reduction="mean"):
    kernel = "softmax_cross_entropy_backward"
    _xent_options(kernel, reduction, label_smoothing, ignore_index)
    per_row = reduction == "none"
    if per_row:
        rows, grad = grad, 0.0
    elif type(grad) is not float:
        rows, grad = None, check.cross_entropy_grad(kernel, grad, reduction, None)
    else:
        rows = None
    args = (ignore_index, label_smoothing, grad, reduction == "mean")
    try:
        bad, dlogits = _native.cross_entropy_backward(probs, labels, *args, rows, _isa,
                                                      kernel_threads())
    except Refused:
        raise _invalid(kernel, check.cross_entropy_args, kernel, "probs", probs, labels,
                       reduction, label_smoothing, ignore_index, grad=rows) from None
    if bad >= 0:
        raise check.bad_label(kernel, labels[bad], probs.shape[1], ignore_index)
    return dlogits


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention


def _problems_view(mask, b, l, s):
    """A mask as a (B, L, S) view (zero strides where it broadcasts): a copy only if the
    mask's is an ndarray subclass or misaligned (see _buffers.pxi)."""
    return None if mask is None else np.broadcast_to(mask, (b, l, s))


@_twin
def attention_forward(q, k, v, mask=None, causal=False, scale=None, dropout_mask=None):
    scale = check.attention_args("attention_forward", q, k, v, mask, dropout_mask, scale)
    b, l, s = q.shape[0], q.shape[1], k.shape[1]
    out = np.empty((b, l, v.shape[2]), q.dtype)
    probs = np.empty((b, l, s), q.dtype)
    _native.attention_forward(q, k, v, _problems_view(mask, b, l, s), bool(causal), scale,
                              _problems_view(dropout_mask, b, l, s), out, probs, _isa,
                              kernel_threads())
    return out, probs


@_twin
def attention_backward(q, k, v, probs, dout, scale=None, dropout_mask=None):
    scale = check.attention_args("attention_backward", q, k, v, None, dropout_mask, scale,
                                 probs=probs, dout=dout)
    b, l, s = q.shape[0], q.shape[1], k.shape[1]
    dq, dk, dv = np.empty(q.shape, q.dtype), np.empty(k.shape, q.dtype), np.empty(v.shape,
                                                                                  q.dtype)
    _native.attention_backward(q, k, v, probs, dout, scale,
                               _problems_view(dropout_mask, b, l, s), dq, dk, dv, _isa,
                               kernel_threads())
    return dq, dk, dv


# ---------------------------------------------------------------------------------------------
# Recurrent layers over whole sequences


@_twin
def lstm_sequence_forward(x, w_ih, w_hh, bias, hs, cs, reverse=False, record=True):
    L, n, H = check.recurrent_sequence("lstm_sequence_forward", 4, ("hs", "cs"), w_hh, x=x,
                                       w_ih=w_ih, bias=bias, hs=hs, cs=cs)
    acts = np.empty((L, n, 5 * H), x.dtype) if record else None
    _native.lstm_sequence_forward(x, w_ih, w_hh, bias, hs, cs, acts, bool(reverse), _isa,
                                  kernel_threads())
    return acts


@_twin
def lstm_sequence_backward(acts, cs, w_hh, dout, dc=None, reverse=False, need_h0=False):
    L, n, H = check.recurrent_sequence("lstm_sequence_backward", 4, (), w_hh, acts=acts,
                                       cs=cs, dout=dout, dc=dc)
    dgates = np.empty((L, n, 4 * H), acts.dtype)
    if L == 0:  # no step: the gradients reaching c_n and h_n are c_0's and h_0's
        dc0 = np.zeros((n, H), acts.dtype) if dc is None else dc.copy()
        return dgates, dc0, np.zeros((n, H), acts.dtype) if need_h0 else None
    dc0 = np.empty((n, H), acts.dtype)
    dh0 = np.empty((n, H), acts.dtype) if need_h0 else None
    _native.lstm_sequence_backward(acts, cs, w_hh, dout, dc, dgates, dc0, dh0, bool(reverse),
                                   _isa, kernel_threads())
    return dgates, dc0, dh0


@_twin
def gru_sequence_forward(x, w_ih, w_hh, b_ih, b_hh, hs, reverse=False, record=True):
    L, n, H = check.recurrent_sequence("gru_sequence_forward", 3, ("hs",), w_hh, x=x,
                                       w_ih=w_ih, b_ih=b_ih, b_hh=b_hh, hs=hs)
    acts = np.empty((L, n, 4 * H), x.dtype) if record else None
    _native.gru_sequence_forward(x, w_ih, w_hh, b_ih, b_hh, hs, acts, bool(reverse), _isa,
                                 kernel_threads())
    return acts


@_twin
def gru_sequence_backward(acts, hs, w_hh, dout, reverse=False, need_h0=False):
    L, n, H = check.recurrent_sequence("gru_sequence_backward", 3, (), w_hh, acts=acts, hs=hs,
                                       dout=dout)
    dgi, dgh = np.empty((L, n, 3 * H), acts.dtype), np.empty((L, n, 3 * H), acts.dtype)
    dh0 = np.zeros((n, H), acts.dtype) if need_h0 else None
    _native.gru_sequence_backward(acts, hs, w_hh, dout, dgi, dgh, dh0, bool(reverse), _isa,
                                  kernel_threads())
    return dgi, dgh, dh0


@_twin
def rnn_sequence_forward(x, w_ih, w_hh, bias, hs, reverse=False, relu=False):
    check.recurrent_sequence("rnn_sequence_forward", 1, ("hs",), w_hh, x=x, w_ih=w_ih,
                             bias=bias, hs=hs)
    _native.rnn_sequence_forward(x, w_ih, w_hh, bias, hs, bool(relu), bool(reverse), _isa,
                                 kernel_threads())


@_twin
def rnn_sequence_backward(hs, w_hh, dout, reverse=False, relu=False, need_h0=False):
    L, n, H = check.recurrent_sequence("rnn_sequence_backward", 1, (), w_hh, dout=dout, hs=hs)
    dgates = np.empty((L, n, H), dout.dtype)
    dh0 = np.zeros((n, H), dout.dtype) if need_h0 else None
    _native.rnn_sequence_backward(hs, w_hh, dout, dgates, dh0, bool(relu), bool(reverse), _isa,
                                  kernel_threads())
    return dgates, dh0


# ---------------------------------------------------------------------------------------------
# Reductions


@_twin
def bias_grad(dy, axis=1):
    try:
        return _native.bias_grad(dy, axis, _isa, kernel_threads())
    except Refused:
        raise _invalid("bias_grad", check.bias_grad_args, "bias_grad", dy, axis) from None


# ---------------------------------------------------------------------------------------------
# The kernel table's small kernels


_FROM_TABLE = """\
def {name}({params}):
    kernel = {name!r}
{converts}    try:
        return _native.{name}({args}_isa, kernel_threads())
    except Refused:
        pass
{refused}
    raise _disagreement(kernel)
"""


def _from_table(row):
    """Define the compiled kernel of a table row here: the reference twin's signature (its
    parameters, defaults and all) and docstring, a call of the row's Cython wrapper with the
    reference's parameters of the wrapper's argument names (or the row's ``convert``
    expressions), and, when the wrapper refuses them, the row's ``refused`` checks. Written as
    source, as dataclasses does, so that a call costs what a hand-written shim would."""
    if not hasattr(_native, row.name):
        raise ImportError(f"pynn's compiled extension predates the kernel table's row "
                          f"{row.name!r}: rebuild it (python setup.py build_ext --inplace, or "
                          f"pip install .)")
    twin = getattr(reference, row.name)
    params = []
    for p in inspect.signature(twin).parameters.values():
        if p.kind is p.KEYWORD_ONLY and "*" not in params:
            params.append("*")
        params.append(p.name)
    convert = row.convert or {}
    converts = "".join(f"    {name} = {expr}\n" for name, expr in convert.items())
    args = "".join(f"{a}, " for a in _codegen.Wrapper(row).py_args)
    refused = "\n".join("    " + line for line in row.refused.strip().splitlines())
    source = _FROM_TABLE.format(name=row.name, params=", ".join(params), converts=converts,
                                args=args, refused=refused)
    filename = f"<pynn.backend.compiled: {row.name} from the kernel table>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), globals())  # noqa: S102  (our own table's source)
    fn = globals()[row.name]
    fn.__defaults__, fn.__kwdefaults__ = twin.__defaults__, twin.__kwdefaults__
    fn.__doc__ = twin.__doc__


for _row in TABLE:
    if _row.args:
        _from_table(_row)
del _row
