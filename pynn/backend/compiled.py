"""The compiled backend: the C/OpenMP kernels behind the same names and signatures as
:mod:`pynn.backend.reference`.

Each function hands its arrays to a Cython wrapper that releases the GIL and calls C with the
current thread count and instruction set. Arguments are checked with the same code as the
reference's (so both raise the same errors): before the call for the convolution, pooling and
attention kernels, which take typed memoryviews and preallocated outputs; for the kernels
called many times a step on small arrays, by the wrapper at C speed (see _buffers.pxi: an
array in a form the kernel cannot read as it is gets copied there, once), which raises
``Refused`` for what no copy makes valid; :func:`_invalid` then runs the shared checks for
the error.
"""

import numpy as np

from . import _checks as check
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


# ---------------------------------------------------------------------------------------------
# GEMM


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None,
         bias_axis=1, relu=False):
    """``C := relu?(alpha * op(A) op(B) + beta * C + bias)``; see
    :func:`pynn.backend.reference.gemm`. Non-contiguous and transposed operands are read
    through their strides, never copied."""
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
    return RuntimeError(f"{kernel}: the compiled kernel refused arguments its checks accept")


# ---------------------------------------------------------------------------------------------
# Convolution


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unfold sliding windows into columns; see :func:`pynn.backend.reference.im2col`."""
    check.float_arrays("im2col", x=x)
    check.rank("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, out_hw = check.window_args("im2col", x.shape, kernel_size, stride,
                                                padding, dilation)
    n, c = x.shape[:2]
    cols = np.empty((n, c * k[0] * k[1], out_hw[0] * out_hw[1]), x.dtype)
    _native.im2col(x, k, s, p, d, out_hw, cols, kernel_threads())
    return cols


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Sum columns back into an image; see :func:`pynn.backend.reference.col2im`."""
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


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False):
    """2-D convolution, optionally fused with ReLU; see
    :func:`pynn.backend.reference.conv2d_forward`."""
    _, s, p, d, out_hw = check.conv_args("conv2d_forward", x, w, b, stride, padding,
                                              dilation)
    y = np.empty((x.shape[0], w.shape[0], *out_hw), x.dtype)
    _native.conv2d_forward(x, w.reshape(w.shape[0], -1), b, w.shape[2:], s, p, d, out_hw, relu,
                           None, y, None, _isa, kernel_threads())
    return y


def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1, *, needs_input_grad=True,
                    has_bias=True, relu_y=None):
    """Gradients of :func:`conv2d_forward`; see
    :func:`pynn.backend.reference.conv2d_backward`."""
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


def conv2d_maxpool_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False,
                           pool_kernel=2, pool_stride=None, pool_padding=0):
    """Convolution, optional ReLU and max pooling in one pass; see
    :func:`pynn.backend.reference.conv2d_maxpool_forward`."""
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


def conv2d_maxpool_backward(x, w, dy, indices, stride=1, padding=0, dilation=1, *,
                            needs_input_grad=True, has_bias=True, relu_y=None):
    """Gradients of :func:`conv2d_maxpool_forward`; see
    :func:`pynn.backend.reference.conv2d_maxpool_backward`."""
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


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling with argmax; see :func:`pynn.backend.reference.max_pool2d_forward`."""
    k, s, p, _, out_hw = check.pool_args("max_pool2d_forward", x, kernel_size, stride,
                                              padding)
    y = np.empty(x.shape[:2] + out_hw, x.dtype)
    idx = np.empty(y.shape, np.int64)
    _native.max_pool2d_forward(x, k, s, p, y, idx, kernel_threads())
    return y, idx


def max_pool2d_backward(dy, indices, x_shape):
    """Route gradients to the maxima; see :func:`pynn.backend.reference.max_pool2d_backward`."""
    check.float_arrays("max_pool2d_backward", dy=dy)
    check.rank("max_pool2d_backward", "dy", dy, 4, "(N, C, oh, ow)")
    check.pool_indices("max_pool2d_backward", indices, dy, x_shape, check_range=False)
    dx = np.empty(tuple(int(v) for v in x_shape), dy.dtype)
    if not _native.max_pool2d_backward(dy, indices, dx, kernel_threads()):
        raise check.pool_indices_out_of_range("max_pool2d_backward", x_shape)
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling; see :func:`pynn.backend.reference.avg_pool2d_forward`."""
    k, s, p, _, out_hw = check.pool_args("avg_pool2d_forward", x, kernel_size, stride,
                                              padding)
    y = np.empty(x.shape[:2] + out_hw, x.dtype)
    _native.avg_pool2d_forward(x, k, s, p, count_include_pad, y, kernel_threads())
    return y


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad=True):
    """Gradient of average pooling; see :func:`pynn.backend.reference.avg_pool2d_backward`."""
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


def _row_kernel(kernel, fn, kind, *args, **arrays):
    """Run a softmax-family kernel over the rows of the last axis of the named arrays, with
    ``args`` after the arrays."""
    try:
        return fn(kind, *arrays.values(), *args, kernel_threads())
    except Refused:
        raise _invalid(kernel, check.rows, kernel, **arrays) from None


def softmax_forward(x):
    """Softmax over the last axis; see :func:`pynn.backend.reference.softmax_forward`."""
    return _row_kernel("softmax_forward", _native.rows_forward, _native.SOFTMAX, _isa, x=x)


def softmax_backward(y, dy):
    """Gradient of softmax from its output; see :func:`pynn.backend.reference.softmax_backward`."""
    return _row_kernel("softmax_backward", _native.rows_backward, _native.SOFTMAX, _isa,
                       y=y, dy=dy)


def log_softmax_forward(x):
    """Log-softmax over the last axis; see :func:`pynn.backend.reference.log_softmax_forward`."""
    return _row_kernel("log_softmax_forward", _native.rows_forward, _native.LOG_SOFTMAX,
                       _isa, x=x)


def log_softmax_backward(y, dy):
    """Gradient of log-softmax from its output; see
    :func:`pynn.backend.reference.log_softmax_backward`."""
    return _row_kernel("log_softmax_backward", _native.rows_backward, _native.LOG_SOFTMAX,
                       _isa, y=y, dy=dy)


def _xent_options(kernel, reduction, label_smoothing, ignore_index):
    """The fused loss's options, checked in full only when they are not the usual kind: the
    full checks would cost a noticeable part of a small loss's call."""
    if (reduction not in check.REDUCTIONS or type(ignore_index) is not int
            or not 0.0 <= label_smoothing <= 1.0):
        check.cross_entropy_options(kernel, reduction, label_smoothing, ignore_index)


def softmax_cross_entropy_forward(logits, labels, ignore_index=-100, label_smoothing=0.0,
                                  reduction="mean"):
    """Fused softmax + cross-entropy; see
    :func:`pynn.backend.reference.softmax_cross_entropy_forward`."""
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


def softmax_cross_entropy_backward(probs, labels, grad, ignore_index=-100, label_smoothing=0.0,
                                   reduction="mean"):
    """Gradient of the fused loss; see
    :func:`pynn.backend.reference.softmax_cross_entropy_backward`."""
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
# Recurrent cells


def lstm_cell_forward(gates, c_prev):
    """One LSTM step from its gate pre-activations; see
    :func:`pynn.backend.reference.lstm_cell_forward`."""
    try:
        return _native.lstm_cell_forward(gates, c_prev, _isa, kernel_threads())
    except Refused:
        raise _invalid("lstm_cell_forward", check.recurrent_cell, "lstm_cell_forward",
                       {"gates": gates}, 4, c_prev=c_prev) from None


def lstm_cell_backward(acts, c_prev, dh, dc=None):
    """Gradients of :func:`lstm_cell_forward`; see
    :func:`pynn.backend.reference.lstm_cell_backward`."""
    try:
        return _native.lstm_cell_backward(acts, c_prev, dh, dc, _isa, kernel_threads())
    except Refused:
        raise _invalid("lstm_cell_backward", check.recurrent_cell, "lstm_cell_backward",
                       {"acts": acts}, 5, c_prev=c_prev, dh=dh, dc=dc) from None


def gru_cell_forward(gi, gh, h_prev):
    """One GRU step from its two projections; see
    :func:`pynn.backend.reference.gru_cell_forward`."""
    try:
        return _native.gru_cell_forward(gi, gh, h_prev, _isa, kernel_threads())
    except Refused:
        raise _invalid("gru_cell_forward", check.recurrent_cell, "gru_cell_forward",
                       {"gi": gi, "gh": gh}, 3, h_prev=h_prev) from None


def gru_cell_backward(acts, h_prev, dh):
    """Gradients of :func:`gru_cell_forward`; see
    :func:`pynn.backend.reference.gru_cell_backward`."""
    try:
        return _native.gru_cell_backward(acts, h_prev, dh, _isa, kernel_threads())
    except Refused:
        raise _invalid("gru_cell_backward", check.recurrent_cell, "gru_cell_backward",
                       {"acts": acts}, 4, h_prev=h_prev, dh=dh) from None


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention


def _problems_view(mask, b, l, s):
    """A mask as a (B, L, S) view (zero strides where it broadcasts): a copy only if the
    mask's is an ndarray subclass or misaligned (see _buffers.pxi)."""
    return None if mask is None else np.broadcast_to(mask, (b, l, s))


def attention_forward(q, k, v, mask=None, causal=False, scale=None, dropout_mask=None):
    """``softmax(scale q k^T + mask) v`` per problem; see
    :func:`pynn.backend.reference.attention_forward`."""
    scale = check.attention_args("attention_forward", q, k, v, mask, dropout_mask, scale)
    b, l, s = q.shape[0], q.shape[1], k.shape[1]
    out = np.empty((b, l, v.shape[2]), q.dtype)
    probs = np.empty((b, l, s), q.dtype)
    _native.attention_forward(q, k, v, _problems_view(mask, b, l, s), bool(causal), scale,
                              _problems_view(dropout_mask, b, l, s), out, probs, _isa,
                              kernel_threads())
    return out, probs


def attention_backward(q, k, v, probs, dout, scale=None, dropout_mask=None):
    """Gradients of :func:`attention_forward`; see
    :func:`pynn.backend.reference.attention_backward`."""
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
# Activations


def _unary(name, act, x, param=0.0):
    try:
        return _native.activation_forward(act, x, param, _isa, kernel_threads())
    except Refused:
        raise _invalid(name, check.float_arrays, name, x=x) from None


def _binary(name, act, a_name, a, dy, param=0.0):
    try:
        return _native.activation_backward(act, a, dy, param, _isa, kernel_threads())
    except Refused:
        raise _invalid(name, check.same_float_shapes, name, **{a_name: a, "dy": dy}) from None


def relu_forward(x):
    """``max(x, 0)``; see :func:`pynn.backend.reference.relu_forward`."""
    return _unary("relu_forward", _native.RELU, x)


def relu_backward(y, dy):
    """``dy`` where ``y > 0``; see :func:`pynn.backend.reference.relu_backward`."""
    return _binary("relu_backward", _native.RELU, "y", y, dy)


def leaky_relu_forward(x, negative_slope=0.01):
    """Leaky ReLU; see :func:`pynn.backend.reference.leaky_relu_forward`."""
    return _unary("leaky_relu_forward", _native.LEAKY_RELU, x, negative_slope)


def leaky_relu_backward(x, dy, negative_slope=0.01):
    """Gradient of leaky ReLU; see :func:`pynn.backend.reference.leaky_relu_backward`."""
    return _binary("leaky_relu_backward", _native.LEAKY_RELU, "x", x, dy, negative_slope)


def sigmoid_forward(x):
    """Logistic sigmoid; see :func:`pynn.backend.reference.sigmoid_forward`."""
    return _unary("sigmoid_forward", _native.SIGMOID, x)


def sigmoid_backward(y, dy):
    """Gradient of the sigmoid from its output; see
    :func:`pynn.backend.reference.sigmoid_backward`."""
    return _binary("sigmoid_backward", _native.SIGMOID, "y", y, dy)


def tanh_forward(x):
    """``tanh(x)``; see :func:`pynn.backend.reference.tanh_forward`."""
    return _unary("tanh_forward", _native.TANH, x)


def tanh_backward(y, dy):
    """Gradient of tanh from its output; see :func:`pynn.backend.reference.tanh_backward`."""
    return _binary("tanh_backward", _native.TANH, "y", y, dy)


def _gelu(approximate):
    return _native.GELU_TANH if approximate == "tanh" else _native.GELU


def gelu_forward(x, approximate="none"):
    """GELU; see :func:`pynn.backend.reference.gelu_forward`."""
    check.gelu_approximate("gelu_forward", approximate)
    return _unary("gelu_forward", _gelu(approximate), x)


def gelu_backward(x, dy, approximate="none"):
    """Gradient of GELU; see :func:`pynn.backend.reference.gelu_backward`."""
    check.gelu_approximate("gelu_backward", approximate)
    return _binary("gelu_backward", _gelu(approximate), "x", x, dy)


# ---------------------------------------------------------------------------------------------
# Reductions and optimiser updates


def bias_grad(dy, axis=1):
    """Sum over every axis but ``axis``; see :func:`pynn.backend.reference.bias_grad`."""
    try:
        return _native.bias_grad(dy, axis, _isa, kernel_threads())
    except Refused:
        raise _invalid("bias_grad", check.bias_grad_args, "bias_grad", dy, axis) from None


def sgd_step(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False, first_step=False):
    """One SGD update in place, fused; see :func:`pynn.backend.reference.sgd_step`."""
    if momentum != 0.0 and momentum_buffer is None:
        raise ValueError("sgd_step: momentum != 0 needs a momentum_buffer")
    args = (lr, momentum, dampening, weight_decay, nesterov, maximize, first_step, _isa,
            kernel_threads())
    try:
        _native.sgd_step(param, grad, momentum_buffer, *args)
    except Refused:
        raise _invalid("sgd_step", check.step_args, "sgd_step", param, grad,
                       momentum_buffer=momentum_buffer) from None


def adam_step(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, max_exp_avg_sq=None,
              maximize=False):
    """One Adam/AdamW update in place, fused; see :func:`pynn.backend.reference.adam_step`."""
    step = check.integer("adam_step", "step", step, minimum=1)
    args = (step, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, _isa,
            kernel_threads())
    try:
        _native.adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *args)
    except Refused:
        raise _invalid("adam_step", check.step_args, "adam_step", param, grad, exp_avg=exp_avg,
                       exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq) from None


def rmsprop_step(param, grad, square_avg, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, momentum_buffer=None, centered=False, grad_avg=None,
                 maximize=False):
    """One RMSProp update in place, fused; see :func:`pynn.backend.reference.rmsprop_step`."""
    if momentum != 0.0 and momentum_buffer is None:
        raise ValueError("rmsprop_step: momentum != 0 needs a momentum_buffer")
    if centered and grad_avg is None:
        raise ValueError("rmsprop_step: centered=True needs grad_avg")
    args = (lr, alpha, eps, weight_decay, momentum, centered, maximize, _isa,
            kernel_threads())
    try:
        _native.rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, *args)
    except Refused:
        raise _invalid("rmsprop_step", check.step_args, "rmsprop_step", param, grad,
                       square_avg=square_avg, momentum_buffer=momentum_buffer,
                       grad_avg=grad_avg) from None
