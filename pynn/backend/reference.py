"""The NumPy reference backend: every kernel of :data:`pynn.backend.KERNELS`, written for
clarity. It is the oracle the compiled kernels are tested against, and a backend in its own
right (``pynn.set_backend("reference")``).

Layouts: images are NCHW, convolution weights (out_channels, in_channels, kh, kw), column
matrices (N, C * kh * kw, oh * ow) with rows ordered (c, i, j), softmax over the last axis.
"""

import math

import numpy as np

from . import _checks as check

# ---------------------------------------------------------------------------------------------
# GEMM


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None,
         bias_axis=1, relu=False):
    """``C := relu?(alpha * op(A) op(B) + beta * C + bias)``.

    Parameters
    ----------
    a : ndarray of shape (M, K), or (K, M) with ``trans_a``
    b : ndarray of shape (K, N), or (N, K) with ``trans_b``; the dtype of ``a``
    out : ndarray of shape (M, N), optional
        C, written in place. With ``beta == 0`` its old contents are never read.
    trans_a, trans_b : bool
        Multiply by the transpose of ``a`` / ``b`` (``op``).
    alpha, beta : float
        Scales of the product and of the old contents of ``out`` (no ``out``: ``beta`` unused).
    bias : ndarray of shape (N,) (``bias_axis=1``) or (M,) (``bias_axis=0``), optional
    bias_axis : {1, 0}
        Add ``bias`` to every row (1) or to every column (0).
    relu : bool
        Apply ``max(., 0)`` after the bias.

    Returns
    -------
    out : ndarray of shape (M, N)
        ``out`` itself when given.
    """
    op_a, op_b, dtype = check.gemm_operands(a, b, out, trans_a, trans_b, bias, bias_axis)
    result = np.matmul(op_a, op_b)
    if alpha != 1.0:
        result *= dtype.type(alpha)
    if out is not None and beta != 0.0:
        result += dtype.type(beta) * out
    if bias is not None:
        result += bias if bias_axis == 1 else bias[:, None]
    if relu:
        np.maximum(result, 0, out=result)
    if out is None:
        return result
    out[...] = result
    return out


# ---------------------------------------------------------------------------------------------
# Convolution


def _gather_windows(xp, k, s, d, out_hw):
    """View every window of the padded input: (N, C, kh, kw, oh, ow), a copy."""
    n, c = xp.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k, s, d, out_hw
    win = np.empty((n, c, kh, kw, oh, ow), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            win[:, :, i, j] = xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                                 j * dw: j * dw + sw * (ow - 1) + 1: sw]
    return win


def _scatter_windows(win, x_shape, k, s, p, d):
    """Adjoint of :func:`_gather_windows`: sum every window value back into (N, C, H, W)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    oh, ow = win.shape[-2:]
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), win.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
               j * dw: j * dw + sw * (ow - 1) + 1: sw] += win[:, :, i, j]
    return xp[:, :, ph: ph + h, pw: pw + w]


def _pad(x, p, value=0.0):
    (ph, pw) = p
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unfold sliding windows into columns.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)

    Returns
    -------
    cols : ndarray of shape (N, C * kh * kw, oh * ow)
        Row ``(c * kh + i) * kw + j``, column ``oy * ow + ox`` holds
        ``x[n, c, oy * sh - ph + i * dh, ox * sw - pw + j * dw]`` (zero in the padding).
    """
    check.float_arrays("im2col", x=x)
    check.rank("im2col", "x", x, 4, "(N, C, H, W)")
    k, s, p, d, out_hw = check.window_args("im2col", x.shape, kernel_size, stride, padding,
                                           dilation)
    win = _gather_windows(_pad(x, p), k, s, d, out_hw)
    n, c = x.shape[:2]
    return win.reshape(n, c * k[0] * k[1], out_hw[0] * out_hw[1])


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: sum columns back into an image of shape ``x_shape``.

    Parameters
    ----------
    cols : ndarray of shape (N, C * kh * kw, oh * ow)
    x_shape : tuple (N, C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
        As given to :func:`im2col`.

    Returns
    -------
    x : ndarray of shape (N, C, H, W)
        Each element is the sum of the column entries that :func:`im2col` copied from it.
    """
    check.float_arrays("col2im", cols=cols)
    check.rank("col2im", "cols", cols, 3, "(N, C*kh*kw, oh*ow)")
    x_shape = tuple(int(v) for v in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"col2im: x_shape must be (N, C, H, W), got {x_shape}")
    k, s, p, d, out_hw = check.window_args("col2im", x_shape, kernel_size, stride, padding,
                                           dilation)
    n, c = x_shape[:2]
    check.shape("col2im", "cols", cols, (n, c * k[0] * k[1], out_hw[0] * out_hw[1]))
    win = cols.reshape(n, c, k[0], k[1], out_hw[0], out_hw[1])
    return np.ascontiguousarray(_scatter_windows(win, x_shape, k, s, p, d))


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False):
    """2-D cross-correlation (PyTorch's ``conv2d``), optionally followed by ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (O, C, kh, kw)
    b : ndarray of shape (O,), optional
    stride, padding, dilation : int or (int, int)
    relu : bool
        Apply ``max(., 0)`` to the output (fused).

    Returns
    -------
    y : ndarray of shape (N, O, oh, ow)
        ``oh = (H + 2 ph - dh (kh - 1) - 1) // sh + 1``, ``ow`` likewise.
    """
    _, s, p, d, out_hw = check.conv_args("conv2d_forward", x, w, b, stride, padding, dilation)
    cols = im2col(x, w.shape[2:], s, p, d)
    y = np.matmul(w.reshape(w.shape[0], -1), cols)
    if b is not None:
        y += b[:, None]
    if relu:
        np.maximum(y, 0, out=y)
    return y.reshape(x.shape[0], w.shape[0], *out_hw)


def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1, *, needs_input_grad=True,
                    has_bias=True, relu_y=None):
    """Gradients of :func:`conv2d_forward` with respect to x, w and b.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (O, C, kh, kw)
    dy : ndarray of shape (N, O, oh, ow)
    stride, padding, dilation : int or (int, int)
        As given to the forward pass.
    needs_input_grad, has_bias : bool
        Skip ``dx`` (first layer) or ``db`` (no bias) when False; they come back as None.
    relu_y : ndarray of the shape of dy, optional
        The forward's output, when it applied ReLU (``relu=True``): ``dy`` is zeroed where it
        is ``<= 0``, as by :func:`relu_backward`. Without it, the gradients are those
        of the convolution alone.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W) or None
    dw : ndarray of shape (O, C, kh, kw)
    db : ndarray of shape (O,) or None
    """
    _, s, p, d, out_hw = check.conv_args("conv2d_backward", x, w, None, stride, padding, dilation)
    check.float_arrays("conv2d_backward", x=x, dy=dy, relu_y=relu_y)
    check.shape("conv2d_backward", "dy", dy, (x.shape[0], w.shape[0], *out_hw))
    if relu_y is not None:
        check.same_shape("conv2d_backward", "dy", dy, "relu_y", relu_y)
        dy = relu_backward(relu_y, dy)
    n, o = dy.shape[:2]
    dy2 = dy.reshape(n, o, -1)
    cols = im2col(x, w.shape[2:], s, p, d)
    dw = np.matmul(dy2, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = dy2.sum(axis=(0, 2)) if has_bias else None
    dx = None
    if needs_input_grad:
        dcols = np.matmul(w.reshape(o, -1).T, dy2)
        dx = col2im(dcols, x.shape, w.shape[2:], s, p, d)
    return dx, dw, db


def conv2d_maxpool_forward(x, w, b=None, stride=1, padding=0, dilation=1, relu=False,
                           pool_kernel=2, pool_stride=None, pool_padding=0):
    """:func:`conv2d_forward` followed by :func:`max_pool2d_forward`, in one call.

    The compiled backend pools each output plane while it is in cache, so the convolution's
    full-size output is never stored.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (O, C, kh, kw)
    b : ndarray of shape (O,), optional
    stride, padding, dilation : int or (int, int)
    relu : bool
        Apply ``max(., 0)`` to the convolution's output (before the pooling, which commutes
        with it).
    pool_kernel, pool_stride, pool_padding : int or (int, int)
        As ``kernel_size``, ``stride`` and ``padding`` of :func:`max_pool2d_forward`, on the
        convolution's (oh, ow) output planes.

    Returns
    -------
    y : ndarray of shape (N, O, ph, pw)
        The pooled output.
    indices : int64 ndarray of shape (N, O, ph, pw)
        Flat index of each maximum within its (oh, ow) plane of the convolution's output (after
        the ReLU, so ties among zeros go to the first), as :func:`max_pool2d_forward` gives them.
    """
    kernel = "conv2d_maxpool_forward"
    _, s, p, d, conv_hw = check.conv_args(kernel, x, w, b, stride, padding, dilation)
    pk, ps, pp, _ = check.conv_pool_args(kernel, conv_hw, pool_kernel, pool_stride, pool_padding)
    return max_pool2d_forward(conv2d_forward(x, w, b, s, p, d, relu), pk, ps, pp)


def conv2d_maxpool_backward(x, w, dy, indices, stride=1, padding=0, dilation=1, *,
                            needs_input_grad=True, has_bias=True, relu_y=None):
    """Gradients of :func:`conv2d_maxpool_forward` with respect to x, w, b.

    ``dy`` is routed to the maxima as by :func:`max_pool2d_backward`, then through
    :func:`conv2d_backward`; the compiled backend unpools a chunk of images at a time, in
    cache.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (O, C, kh, kw)
    stride, padding, dilation : int or (int, int)
        As given to the forward pass.
    dy : ndarray of shape (N, O, ph, pw)
        Gradient of the pooled output.
    indices : int64 ndarray of shape (N, O, ph, pw)
        From the forward pass.
    needs_input_grad, has_bias : bool
        As for :func:`conv2d_backward`.
    relu_y : ndarray of the shape of dy, optional
        The pooled output, when the forward applied ReLU: ``dy`` is zeroed where it is
        ``<= 0`` (the maximum commutes with ReLU).

    Returns
    -------
    dx, dw, db
        As for :func:`conv2d_backward`.
    """
    kernel = "conv2d_maxpool_backward"
    _, s, p, d, conv_hw = check.conv_args(kernel, x, w, None, stride, padding, dilation)
    check.conv_pool_grad(kernel, x, w, dy, indices, conv_hw, relu_y=relu_y)
    if relu_y is not None:
        dy = relu_backward(relu_y, dy)
    dconv = max_pool2d_backward(dy, indices, (*dy.shape[:2], *conv_hw))
    return conv2d_backward(x, w, dconv, s, p, d, needs_input_grad=needs_input_grad,
                           has_bias=has_bias)


# ---------------------------------------------------------------------------------------------
# Pooling


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling, with PyTorch's tie rules.

    Padding counts as -inf and is never selected; the first maximum in row-major window order
    wins; a NaN always wins (the last one).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding at most half the kernel.

    Returns
    -------
    y : ndarray of shape (N, C, oh, ow)
        ``oh = (H + 2 ph - kh) // sh + 1``, ``ow`` likewise.
    indices : int64 ndarray of shape (N, C, oh, ow)
        Flat index ``h * W + w`` of each maximum within its (H, W) plane, as in PyTorch.
    """
    k, s, p, d, (oh, ow) = check.pool_args("max_pool2d_forward", x, kernel_size, stride, padding)
    n, c, h, w = x.shape
    win = _gather_windows(_pad(x, p, -np.inf), k, s, d, (oh, ow)).reshape(n, c, -1, oh, ow)
    inside = _gather_windows(_pad(np.ones((1, 1, h, w), bool), p, False), k, s, d, (oh, ow))
    first_inside = inside.reshape(1, 1, -1, oh, ow).argmax(axis=2)
    nan = np.isnan(win)
    last_nan = nan.shape[2] - 1 - nan[:, :, ::-1].argmax(axis=2)
    with np.errstate(invalid="ignore"):
        pos = np.where(win.max(axis=2) > -np.inf, win.argmax(axis=2), first_inside)
    pos = np.where(nan.any(axis=2), last_nan, pos)
    y = np.take_along_axis(win, pos[:, :, None], axis=2)[:, :, 0]
    ki, kj = np.divmod(pos, k[1])
    rows = np.arange(oh)[:, None] * s[0] - p[0] + ki
    cols = np.arange(ow)[None, :] * s[1] - p[1] + kj
    return y, (rows * w + cols).astype(np.int64)


def max_pool2d_backward(dy, indices, x_shape):
    """Route each output gradient to the input position that was the maximum.

    Parameters
    ----------
    dy : ndarray of shape (N, C, oh, ow)
    indices : int64 ndarray of shape (N, C, oh, ow)
        From :func:`max_pool2d_forward`.
    x_shape : tuple (N, C, H, W)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradients routed to the same position add up.
    """
    check.float_arrays("max_pool2d_backward", dy=dy)
    check.rank("max_pool2d_backward", "dy", dy, 4, "(N, C, oh, ow)")
    check.pool_indices("max_pool2d_backward", indices, dy, x_shape)
    n, c, h, w = x_shape
    dx = np.zeros((n * c, h * w), dy.dtype)
    rows = np.repeat(np.arange(n * c), dy.shape[2] * dy.shape[3])
    np.add.at(dx, (rows, indices.reshape(-1)), dy.reshape(-1))
    return dx.reshape(x_shape)


def _avg_divisor(x_shape, k, s, p, d, out_hw, count_include_pad, dtype):
    if count_include_pad:
        return dtype.type(k[0] * k[1])
    ones = np.ones((1, 1) + tuple(x_shape[2:]), dtype)
    return _gather_windows(_pad(ones, p), k, s, d, out_hw).sum(axis=(2, 3))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling over each kh x kw window.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding at most half the kernel.
    count_include_pad : bool
        True (PyTorch's default): every window divides by ``kh * kw``. False: by the number of
        its positions that fall inside the image.

    Returns
    -------
    y : ndarray of shape (N, C, oh, ow)
        ``oh = (H + 2 ph - kh) // sh + 1``, ``ow`` likewise.
    """
    k, s, p, d, out_hw = check.pool_args("avg_pool2d_forward", x, kernel_size, stride, padding)
    win = _gather_windows(_pad(x, p), k, s, d, out_hw)
    div = _avg_divisor(x.shape, k, s, p, d, out_hw, count_include_pad, x.dtype)
    return win.sum(axis=(2, 3)) / div


def avg_pool2d_backward(dy, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad=True):
    """Gradient of :func:`avg_pool2d_forward`.

    Parameters
    ----------
    dy : ndarray of shape (N, C, oh, ow)
    x_shape : tuple (N, C, H, W)
    kernel_size, stride, padding : int or (int, int)
        As given to the forward pass.
    count_include_pad : bool

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    check.float_arrays("avg_pool2d_backward", dy=dy)
    check.rank("avg_pool2d_backward", "dy", dy, 4, "(N, C, oh, ow)")
    x_shape = tuple(int(v) for v in x_shape)
    k, s, p, d, out_hw = check.window_args("avg_pool2d_backward", x_shape, kernel_size, stride,
                                      padding, 1)
    check.pool_padding("avg_pool2d_backward", k, p)
    check.shape("avg_pool2d_backward", "dy", dy, x_shape[:2] + out_hw)
    div = _avg_divisor(x_shape, k, s, p, d, out_hw, count_include_pad, dy.dtype)
    g = dy / div
    win = np.broadcast_to(g[:, :, None, None], g.shape[:2] + k + out_hw)
    return np.ascontiguousarray(_scatter_windows(win, x_shape, k, s, p, d))


# ---------------------------------------------------------------------------------------------
# Softmax family (last axis)


def _no_columns(x):
    """Softmax over an empty axis is empty (NumPy's max would refuse it)."""
    return x.shape[-1] == 0


def softmax_forward(x):
    """Softmax over the last axis, shifted by the row maximum so it never overflows.

    Parameters
    ----------
    x : ndarray of shape (..., C)

    Returns
    -------
    y : ndarray of shape (..., C)
    """
    check.rows("softmax_forward", x=x)
    if _no_columns(x):
        return np.empty_like(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y, dy):
    """Gradient of :func:`softmax_forward`: ``dx = y * (dy - sum(dy * y))`` over the last axis.

    Parameters
    ----------
    y : ndarray of shape (..., C)
        The softmax output.
    dy : ndarray of shape (..., C)

    Returns
    -------
    dx : ndarray of shape (..., C)
    """
    check.rows("softmax_backward", y=y, dy=dy)
    if _no_columns(y):
        return np.empty_like(y)
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax_forward(x):
    """Log-softmax over the last axis: ``x - max - log(sum(exp(x - max)))``.

    Parameters
    ----------
    x : ndarray of shape (..., C)

    Returns
    -------
    y : ndarray of shape (..., C)
    """
    check.rows("log_softmax_forward", x=x)
    if _no_columns(x):
        return np.empty_like(x)
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def log_softmax_backward(y, dy):
    """Gradient of :func:`log_softmax_forward`: ``dx = dy - exp(y) * sum(dy)`` over the last axis.

    Parameters
    ----------
    y : ndarray of shape (..., C)
        The log-softmax output.
    dy : ndarray of shape (..., C)

    Returns
    -------
    dx : ndarray of shape (..., C)
    """
    check.rows("log_softmax_backward", y=y, dy=dy)
    if _no_columns(y):
        return np.empty_like(y)
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)


def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Layer normalisation of each row of x (N, C), as ``torch.nn.functional.layer_norm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per row, the variance biased
    (divided by C).

    Parameters
    ----------
    x : ndarray of shape (N, C)
    weight, bias : ndarray of shape (C,) or None (1 and 0)
    eps : float

    Returns
    -------
    y : ndarray of shape (N, C)
    mean, rstd : ndarray of shape (N,)
        Each row's mean and ``1 / sqrt(var + eps)``, summed in float64; what
        :func:`layer_norm_backward` takes.
    """
    check.layer_norm_args("layer_norm_forward", x, weight=weight, bias=bias)
    wide = x.astype(np.float64)
    mean = wide.mean(axis=1) if x.shape[1] else np.full(x.shape[0], np.nan)
    var = np.square(wide - mean[:, None]).mean(axis=1) if x.shape[1] else mean
    rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    mean = mean.astype(x.dtype)
    y = (x - mean[:, None]) * rstd[:, None]
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y.astype(x.dtype, copy=False), mean, rstd


def layer_norm_backward(x, dy, mean, rstd, weight=None, input_grad=True, weight_grad=True,
                        bias_grad=True):
    """Gradients of :func:`layer_norm_forward`.

    With ``xhat = (x - mean) rstd`` and ``g = dy * weight``:
    ``dx = rstd (g - mean(g) - xhat mean(g xhat))`` per row, ``dweight = sum(dy xhat)`` and
    ``dbias = sum(dy)`` over the rows (summed in float64).

    Parameters
    ----------
    x, dy : ndarray of shape (N, C)
    mean, rstd : ndarray of shape (N,), from the forward
    weight : ndarray of shape (C,) or None
    input_grad, weight_grad, bias_grad : bool
        Which gradients to compute.

    Returns
    -------
    dx : ndarray of shape (N, C) or None
    dweight, dbias : ndarray of shape (C,) or None
    """
    check.layer_norm_args("layer_norm_backward", x, weight=weight, dy=dy, mean=mean,
                          rstd=rstd)
    xhat = (x - mean[:, None]) * rstd[:, None]
    dx = dweight = dbias = None
    if input_grad:
        g = dy * weight if weight is not None else dy
        cols = max(x.shape[1], 1)
        mean_g = g.sum(axis=1, dtype=np.float64, keepdims=True) / cols
        mean_gx = (g.astype(np.float64) * xhat).sum(axis=1, keepdims=True) / cols
        dx = (rstd[:, None] * (g - mean_g.astype(x.dtype) - xhat * mean_gx.astype(x.dtype)))
        dx = dx.astype(x.dtype, copy=False)
    if weight_grad:
        dweight = (dy.astype(np.float64) * xhat).sum(axis=0).astype(x.dtype)
    if bias_grad:
        dbias = dy.sum(axis=0, dtype=np.float64).astype(x.dtype)
    return dx, dweight, dbias


def batch_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Batch normalisation of x (N, C, ...) with the batch's statistics, per channel.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with each channel's mean and biased
    variance over N and the trailing dims, as ``torch.nn.functional.batch_norm`` in training.

    Parameters
    ----------
    x : ndarray of shape (N, C, ...)
    weight, bias : ndarray of shape (C,) or None (1 and 0)
    eps : float

    Returns
    -------
    y : ndarray of x's shape
    mean, var, rstd : ndarray of shape (C,)
        Each channel's mean, biased variance and ``1 / sqrt(var + eps)``, summed in float64.
    """
    check.batch_norm_args("batch_norm_forward", x, weight=weight, bias=bias)
    axes = (0,) + tuple(range(2, x.ndim))
    cshape = (1, -1) + (1,) * (x.ndim - 2)
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axes)
    var = np.square(wide - mean.reshape(cshape)).mean(axis=axes)
    rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    mean, var = mean.astype(x.dtype), var.astype(x.dtype)
    y = (x - mean.reshape(cshape)) * rstd.reshape(cshape)
    if weight is not None:
        y *= weight.reshape(cshape)
    if bias is not None:
        y += bias.reshape(cshape)
    return y.astype(x.dtype, copy=False), mean, var, rstd


def batch_norm_backward(x, dy, mean, rstd, weight=None, input_grad=True, weight_grad=True,
                        bias_grad=True):
    """Gradients of :func:`batch_norm_forward`.

    Per channel, with m values, ``xhat = (x - mean) rstd``: ``dbias = sum(dy)``,
    ``dweight = sum(dy xhat)`` (summed in float64) and
    ``dx = weight rstd (dy - dbias / m - xhat dweight / m)``.

    Parameters
    ----------
    x, dy : ndarray of shape (N, C, ...)
    mean, rstd : ndarray of shape (C,), from the forward
    weight : ndarray of shape (C,) or None
    input_grad, weight_grad, bias_grad : bool
        Which gradients to compute.

    Returns
    -------
    dx : ndarray of x's shape or None
    dweight, dbias : ndarray of shape (C,) or None
    """
    check.batch_norm_args("batch_norm_backward", x, weight=weight, dy=dy, mean=mean,
                          rstd=rstd)
    axes = (0,) + tuple(range(2, x.ndim))
    cshape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - mean.reshape(cshape)) * rstd.reshape(cshape)
    sum_dy = dy.sum(axis=axes, dtype=np.float64)
    sum_dyx = (dy.astype(np.float64) * xhat).sum(axis=axes)
    dx = None
    if input_grad:
        m = max(x.size // max(x.shape[1], 1), 1)
        scale = rstd if weight is None else weight * rstd
        dx = scale.reshape(cshape) * (dy - (sum_dy / m).astype(x.dtype).reshape(cshape)
                                      - xhat * (sum_dyx / m).astype(x.dtype).reshape(cshape))
        dx = dx.astype(x.dtype, copy=False)
    return (dx, sum_dyx.astype(x.dtype) if weight_grad else None,
            sum_dy.astype(x.dtype) if bias_grad else None)


def softmax_cross_entropy_forward(logits, labels, ignore_index=-100, label_smoothing=0.0,
                                  reduction="mean"):
    """Cross-entropy of softmax(logits) against integer labels, fused.

    The per-sample loss is ``(1 - eps) * -log p[y] + eps * mean_c(-log p[c])``, computed from
    log-probabilities (never ``log(0)``); samples whose label is ``ignore_index`` count zero.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
    labels : integer ndarray of shape (N,)
        Class indices in ``[0, C)``, or ``ignore_index``.
    ignore_index : int
    label_smoothing : float
        ``eps`` above, in [0, 1].
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides by the number of samples not ignored (NaN when there are none, as
        in PyTorch).

    Returns
    -------
    loss : 0-d ndarray, or shape (N,) with ``reduction="none"``
    probs : ndarray of shape (N, C)
        softmax(logits), for the backward pass.
    """
    kernel = "softmax_cross_entropy_forward"
    check.cross_entropy_args(kernel, "logits", logits, labels, reduction, label_smoothing,
                             ignore_index)
    n, c = logits.shape
    check.label_range(kernel, labels, c, ignore_index)
    logp = log_softmax_forward(logits).astype(np.float64)
    valid = labels != ignore_index
    nll = -logp[np.arange(n), np.where(valid, labels, 0)]
    per_sample = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(axis=1)
    per_sample = np.where(valid, per_sample, 0.0)
    if reduction == "none":
        loss = per_sample.astype(logits.dtype)
    elif reduction == "sum":
        loss = np.asarray(per_sample.sum(), logits.dtype)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = np.asarray(per_sample.sum() / np.float64(valid.sum()), logits.dtype)
    return loss, softmax_forward(logits)


def softmax_cross_entropy_backward(probs, labels, grad, ignore_index=-100, label_smoothing=0.0,
                                   reduction="mean"):
    """Gradient of :func:`softmax_cross_entropy_forward` with respect to the logits.

    Parameters
    ----------
    probs : ndarray of shape (N, C)
        As returned by the forward pass.
    labels : integer ndarray of shape (N,)
    grad : scalar, or ndarray of shape (N,) with ``reduction="none"``
        The gradient of the loss.
    ignore_index : int
    label_smoothing : float
    reduction : {"mean", "sum", "none"}
        As given to the forward pass.

    Returns
    -------
    dlogits : ndarray of shape (N, C)
        ``g_i * (p_i - (1 - eps) onehot(y_i) - eps / C)``, zero for ignored samples; ``g_i`` is
        ``grad`` divided by the number of samples not ignored for ``"mean"``.
    """
    kernel = "softmax_cross_entropy_backward"
    check.cross_entropy_args(kernel, "probs", probs, labels, reduction, label_smoothing,
                             ignore_index)
    n, c = probs.shape
    check.label_range(kernel, labels, c, ignore_index)
    grad = check.cross_entropy_grad(kernel, grad, reduction, n)
    valid = labels != ignore_index
    if reduction == "none":
        g = np.where(valid, grad, 0).astype(probs.dtype)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = grad / np.float64(valid.sum()) if reduction == "mean" else grad
        g = np.where(valid, scale, 0).astype(probs.dtype)
    target = np.full((n, c), label_smoothing / c, probs.dtype)
    target[np.arange(n)[valid], labels[valid]] += 1.0 - label_smoothing
    return ((probs - target) * g[:, None]).astype(probs.dtype)


# ---------------------------------------------------------------------------------------------
# Recurrent cells: the element-wise part of one time step, between the GEMMs the caller does
# (the input projection of all steps at once, and h_prev @ W_hh^T each step). Gate blocks
# follow PyTorch's order and layout, so its weights apply unchanged.


def _sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow for either sign of x (exp(-|x|) <= 1)."""
    with np.errstate(under="ignore"):  # exp(-1000) is 0, as it should be
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def lstm_cell_forward(gates, c_prev):
    """One LSTM step from its gate pre-activations.

    Parameters
    ----------
    gates : ndarray of shape (N, 4H)
        ``x W_ih^T + b_ih + h_prev W_hh^T + b_hh``; blocks input, forget, cell, output.
    c_prev : ndarray of shape (N, H)

    Returns
    -------
    h, c : ndarray of shape (N, H)
        ``c = f * c_prev + i * g`` and ``h = o * tanh(c)``.
    acts : ndarray of shape (N, 5H)
        ``[i, f, g, o, tanh(c)]``, what :func:`lstm_cell_backward` needs.
    """
    hidden = check.recurrent_cell("lstm_cell_forward", {"gates": gates}, 4, c_prev=c_prev)
    H = hidden
    i = _sigmoid(gates[:, :H])
    f = _sigmoid(gates[:, H:2 * H])
    g = np.tanh(gates[:, 2 * H:3 * H])
    o = _sigmoid(gates[:, 3 * H:])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    return h, c, np.concatenate([i, f, g, o, tc], axis=1)


def lstm_cell_backward(acts, c_prev, dh, dc=None):
    """Gradients of :func:`lstm_cell_forward`.

    Parameters
    ----------
    acts : ndarray of shape (N, 5H)
        From the forward pass.
    c_prev : ndarray of shape (N, H)
    dh, dc : ndarray of shape (N, H)
        Gradients reaching h and c (``dc`` None: zero, as after the last step).

    Returns
    -------
    dgates : ndarray of shape (N, 4H)
    dc_prev : ndarray of shape (N, H)
    """
    hidden = check.recurrent_cell("lstm_cell_backward", {"acts": acts}, 5, c_prev=c_prev,
                                  dh=dh, dc=dc)
    H = hidden
    i, f, g, o, tc = (acts[:, k * H:(k + 1) * H] for k in range(5))
    dct = dh * o * (1 - tc * tc)
    if dc is not None:
        dct = dct + dc
    dgates = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f),
                             dct * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
    return dgates, dct * f


def lstm_sequence_forward(x, w_ih, w_hh, bias, hs, cs, reverse=False, record=True):
    """An LSTM layer over L steps: its hidden and cell states, written in place.

    Parameters
    ----------
    x : ndarray of shape (L, N, H_in)
    w_ih : ndarray of shape (4H, H_in)
    w_hh : ndarray of shape (4H, H)
    bias : ndarray of shape (4H,) or None
        ``b_ih + b_hh``. Step t's gate pre-activations are
        ``x[t] w_ih^T + h_prev w_hh^T + bias``.
    hs, cs : ndarray of shape (L + 2, N, H)
        Hidden and cell states, written in place: step t reads row t (row t + 2 when
        ``reverse``, the steps then running from L - 1 down to 0) and writes row t + 1, so
        rows 1..L are the outputs in time order and the initial state is row 0 (row L + 1).
    reverse : bool
    record : bool
        Whether to return what :func:`lstm_sequence_backward` needs.

    Returns
    -------
    acts : ndarray of shape (L, N, 5H) or None
        Each step's :func:`lstm_cell_forward` activations, when ``record``.
    """
    L, n, H = check.recurrent_sequence("lstm_sequence_forward", 4, ("hs", "cs"), w_hh, x=x,
                                       w_ih=w_ih, bias=bias, hs=hs, cs=cs)
    acts = np.empty((L, n, 5 * H), x.dtype) if record else None
    off = 2 if reverse else 0
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        gates = x[t] @ w_ih.T + hs[t + off] @ w_hh.T
        if bias is not None:
            gates += bias
        hs[t + 1], cs[t + 1], a = lstm_cell_forward(gates, cs[t + off])
        if record:
            acts[t] = a
    return acts


def lstm_sequence_backward(acts, cs, w_hh, dout, dc=None, reverse=False, need_h0=False):
    """Gradients of :func:`lstm_sequence_forward` (gate pre-activations, initial state).

    Parameters
    ----------
    acts : ndarray of shape (L, N, 5H)
        From the forward.
    cs : ndarray of shape (L + 2, N, H)
        The cell states the forward wrote.
    w_hh : ndarray of shape (4H, H)
    dout : ndarray of shape (L, N, H)
        Gradient reaching each step's output h.
    dc : ndarray of shape (N, H) or None
        Gradient reaching the last step's c (None: zero).
    reverse : bool
        As in the forward.
    need_h0 : bool
        Whether to return the initial hidden state's gradient.

    Returns
    -------
    dgates : ndarray of shape (L, N, 4H)
    dc0 : ndarray of shape (N, H)
        The initial cell state's gradient.
    dh0 : ndarray of shape (N, H) or None
        The initial hidden state's gradient, when ``need_h0``.
    """
    L, n, H = check.recurrent_sequence("lstm_sequence_backward", 4, (), w_hh, acts=acts,
                                       cs=cs, dout=dout, dc=dc)
    off = 2 if reverse else 0
    order = list(range(L)) if reverse else list(range(L - 1, -1, -1))
    dgates = np.empty((L, n, 4 * H), acts.dtype)
    dh0 = None
    dh = dout[order[0]] if L else None
    for s, t in enumerate(order):
        dgates[t], dc = lstm_cell_backward(acts[t], cs[t + off], dh, dc)
        if s + 1 < L:
            dh = dout[order[s + 1]] + dgates[t] @ w_hh
        elif need_h0:
            dh0 = dgates[t] @ w_hh
    if dc is None:
        dc = np.zeros((n, H), acts.dtype)
    if need_h0 and dh0 is None:
        dh0 = np.zeros((n, H), acts.dtype)
    return dgates, dc, dh0


def gru_sequence_forward(x, w_ih, w_hh, b_ih, b_hh, hs, reverse=False, record=True):
    """A GRU layer over L steps: its hidden states, written in place.

    Parameters
    ----------
    x : ndarray of shape (L, N, H_in)
    w_ih : ndarray of shape (3H, H_in)
    w_hh : ndarray of shape (3H, H)
    b_ih, b_hh : ndarray of shape (3H,) or None
        Step t's projections are ``x[t] w_ih^T + b_ih`` and ``h_prev w_hh^T + b_hh``
        (:func:`gru_cell_forward`).
    hs : ndarray of shape (L + 2, N, H)
        Hidden states, written in place, laid out as in :func:`lstm_sequence_forward`.
    reverse : bool
    record : bool
        Whether to return what :func:`gru_sequence_backward` needs.

    Returns
    -------
    acts : ndarray of shape (L, N, 4H) or None
        Each step's :func:`gru_cell_forward` activations, when ``record``.
    """
    L, n, H = check.recurrent_sequence("gru_sequence_forward", 3, ("hs",), w_hh, x=x,
                                       w_ih=w_ih, b_ih=b_ih, b_hh=b_hh, hs=hs)
    acts = np.empty((L, n, 4 * H), x.dtype) if record else None
    off = 2 if reverse else 0
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        gi, gh = x[t] @ w_ih.T, hs[t + off] @ w_hh.T
        if b_ih is not None:
            gi += b_ih
            gh += b_hh
        hs[t + 1], a = gru_cell_forward(gi, gh, hs[t + off])
        if record:
            acts[t] = a
    return acts


def gru_sequence_backward(acts, hs, w_hh, dout, reverse=False, need_h0=False):
    """Gradients of :func:`gru_sequence_forward` (both projections, initial state).

    Parameters
    ----------
    acts : ndarray of shape (L, N, 4H)
        From the forward.
    hs : ndarray of shape (L + 2, N, H)
        The hidden states the forward wrote.
    w_hh : ndarray of shape (3H, H)
    dout : ndarray of shape (L, N, H)
        Gradient reaching each step's output.
    reverse : bool
        As in the forward.
    need_h0 : bool
        Whether to return the initial state's gradient.

    Returns
    -------
    dgi, dgh : ndarray of shape (L, N, 3H)
        Gradients of each step's ``x w_ih^T + b_ih`` and ``h_prev w_hh^T + b_hh``.
    dh0 : ndarray of shape (N, H) or None
        The initial state's gradient, when ``need_h0``.
    """
    L, n, H = check.recurrent_sequence("gru_sequence_backward", 3, (), w_hh, acts=acts, hs=hs,
                                       dout=dout)
    off = 2 if reverse else 0
    order = list(range(L)) if reverse else list(range(L - 1, -1, -1))
    dgi, dgh = np.empty((L, n, 3 * H), acts.dtype), np.empty((L, n, 3 * H), acts.dtype)
    dh0 = np.zeros((n, H), acts.dtype) if need_h0 else None
    dh = dout[order[0]] if L else None
    for s, t in enumerate(order):
        dgi[t], dgh[t], direct = gru_cell_backward(acts[t], hs[t + off], dh)
        if s + 1 < L:
            dh = dout[order[s + 1]] + direct + dgh[t] @ w_hh
        elif need_h0:
            dh0 = direct + dgh[t] @ w_hh
    return dgi, dgh, dh0


def rnn_sequence_forward(x, w_ih, w_hh, bias, hs, reverse=False, relu=False):
    """An Elman RNN layer over L steps: its hidden states, written in place.

    Parameters
    ----------
    x : ndarray of shape (L, N, H_in)
    w_ih : ndarray of shape (H, H_in)
    w_hh : ndarray of shape (H, H)
    bias : ndarray of shape (H,) or None
        ``b_ih + b_hh``. Step t's state is ``act(x[t] w_ih^T + h_prev w_hh^T + bias)``.
    hs : ndarray of shape (L + 2, N, H)
        Hidden states, written in place, laid out as in :func:`lstm_sequence_forward`.
    reverse : bool
    relu : bool
        The activation: ReLU, or tanh.
    """
    L = check.recurrent_sequence("rnn_sequence_forward", 1, ("hs",), w_hh, x=x, w_ih=w_ih,
                                 bias=bias, hs=hs)[0]
    off = 2 if reverse else 0
    act = relu_forward if relu else tanh_forward
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        pre = x[t] @ w_ih.T + hs[t + off] @ w_hh.T
        if bias is not None:
            pre += bias
        hs[t + 1] = act(pre)


def rnn_sequence_backward(hs, w_hh, dout, reverse=False, relu=False, need_h0=False):
    """Gradients of :func:`rnn_sequence_forward` (pre-activations, initial state).

    Parameters
    ----------
    hs : ndarray of shape (L + 2, N, H)
        The hidden states the forward wrote.
    w_hh : ndarray of shape (H, H)
    dout : ndarray of shape (L, N, H)
        Gradient reaching each step's output.
    reverse, relu : bool
        As in the forward.
    need_h0 : bool
        Whether to return the initial state's gradient.

    Returns
    -------
    dgates : ndarray of shape (L, N, H)
        Gradients of each step's pre-activation.
    dh0 : ndarray of shape (N, H) or None
        The initial state's gradient, when ``need_h0``.
    """
    L, n, H = check.recurrent_sequence("rnn_sequence_backward", 1, (), w_hh, dout=dout, hs=hs)
    act_backward = relu_backward if relu else tanh_backward
    order = list(range(L)) if reverse else list(range(L - 1, -1, -1))
    dgates = np.empty((L, n, H), dout.dtype)
    dh0 = np.zeros((n, H), dout.dtype) if need_h0 else None
    dh = dout[order[0]] if L else None
    for s, t in enumerate(order):
        dgates[t] = act_backward(hs[t + 1], dh)
        if s + 1 < L:
            dh = dout[order[s + 1]] + dgates[t] @ w_hh
        elif need_h0:
            dh0 = dgates[t] @ w_hh
    return dgates, dh0


def gru_cell_forward(gi, gh, h_prev):
    """One GRU step from its two projections.

    Parameters
    ----------
    gi : ndarray of shape (N, 3H)
        ``x W_ih^T + b_ih``; blocks reset, update, new.
    gh : ndarray of shape (N, 3H)
        ``h_prev W_hh^T + b_hh``, same blocks.
    h_prev : ndarray of shape (N, H)

    Returns
    -------
    h : ndarray of shape (N, H)
        ``(1 - z) * n + z * h_prev`` with ``r = sigmoid(gi_r + gh_r)``,
        ``z = sigmoid(gi_z + gh_z)``, ``n = tanh(gi_n + r * gh_n)``.
    acts : ndarray of shape (N, 4H)
        ``[r, z, n, gh_n]``, what :func:`gru_cell_backward` needs.
    """
    hidden = check.recurrent_cell("gru_cell_forward", {"gi": gi, "gh": gh}, 3, h_prev=h_prev)
    H = hidden
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h = (1 - z) * n + z * h_prev
    return h, np.concatenate([r, z, n, gh[:, 2 * H:]], axis=1)


def gru_cell_backward(acts, h_prev, dh):
    """Gradients of :func:`gru_cell_forward`.

    Parameters
    ----------
    acts : ndarray of shape (N, 4H)
        From the forward pass.
    h_prev : ndarray of shape (N, H)
    dh : ndarray of shape (N, H)
        The gradient reaching h.

    Returns
    -------
    dgi, dgh : ndarray of shape (N, 3H)
        Gradients of the two projections (``dgi`` and ``dgh`` differ only in the new-gate
        block, where ``dgh_n = r * dgi_n``).
    dh_prev : ndarray of shape (N, H)
        The part of h_prev's gradient that does not pass through ``gh``: ``dh * z``. The
        caller adds ``dgh @ W_hh``.
    """
    hidden = check.recurrent_cell("gru_cell_backward", {"acts": acts}, 4, h_prev=h_prev,
                                  dh=dh)
    H = hidden
    r, z, n, ghn = (acts[:, k * H:(k + 1) * H] for k in range(4))
    dn = dh * (1 - z) * (1 - n * n)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * ghn * r * (1 - r)
    dgi = np.concatenate([dr, dz, dn], axis=1)
    dgh = np.concatenate([dr, dz, dn * r], axis=1)
    return dgi, dgh, dh * z


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention: B independent (query, key, value) problems, B being batch x
# heads for multi-head attention.


def _causal_bias(l, s, dtype):
    """0 where query i may see key j (j <= i, PyTorch's is_causal), -inf elsewhere."""
    return np.where(np.tri(l, s, dtype=bool), dtype.type(0), dtype.type(-np.inf))


def attention_forward(q, k, v, mask=None, causal=False, scale=None, dropout_mask=None):
    """``softmax(scale q k^T + mask) v`` per problem.

    Parameters
    ----------
    q : ndarray of shape (B, L, E)
    k : ndarray of shape (B, S, E)
    v : ndarray of shape (B, S, Ev)
    mask : ndarray broadcastable to (B, L, S), optional
        Added to the scores: 0 keeps a key, -inf hides it (any float works as a bias).
    causal : bool
        Also hide key j from query i when j > i.
    scale : float, optional
        Default ``1 / sqrt(E)``.
    dropout_mask : ndarray broadcastable to (B, L, S), optional
        Multiplies the probabilities before they weight v (0, or 1 / (1 - p) for dropout p).

    Returns
    -------
    out : ndarray of shape (B, L, Ev)
    probs : ndarray of shape (B, L, S)
        The attention weights before dropout. A query that sees no key at all gets weights
        0 and output 0 (PyTorch gives NaN there).
    """
    scale = check.attention_args("attention_forward", q, k, v, mask, dropout_mask, scale)
    scores = np.matmul(q, k.transpose(0, 2, 1)) * q.dtype.type(scale)
    if mask is not None:
        scores = scores + mask
    if causal:
        scores = scores + _causal_bias(q.shape[1], k.shape[1], q.dtype)
    top = scores.max(axis=-1, keepdims=True, initial=-np.inf)
    top = np.where(np.isneginf(top), 0, top)  # a row of -inf: exp gives zeros, not NaN
    e = np.exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    probs = (e / np.where(total == 0, 1, total)).astype(q.dtype)
    weights = probs if dropout_mask is None else probs * dropout_mask
    return np.matmul(weights, v).astype(q.dtype), probs


def attention_backward(q, k, v, probs, dout, scale=None, dropout_mask=None):
    """Gradients of :func:`attention_forward` with respect to q, k and v.

    The masks need no gradient and are not needed: ``probs`` carries them.

    Parameters
    ----------
    q, k, v : ndarray of shape (B, L, E), (B, S, E), (B, S, Ev)
        The forward pass's inputs.
    probs : ndarray of shape (B, L, S)
        As returned by the forward pass.
    dout : ndarray of shape (B, L, Ev)
    scale : float, optional
        As given to the forward pass (default ``1 / sqrt(E)``).
    dropout_mask : ndarray broadcastable to (B, L, S), optional
        As given to the forward pass.

    Returns
    -------
    dq : ndarray of shape (B, L, E)
    dk : ndarray of shape (B, S, E)
    dv : ndarray of shape (B, S, Ev)
    """
    scale = check.attention_args("attention_backward", q, k, v, None, dropout_mask, scale,
                                 probs=probs, dout=dout)
    weights = probs if dropout_mask is None else probs * dropout_mask
    dv = np.matmul(weights.transpose(0, 2, 1), dout)
    dp = np.matmul(dout, v.transpose(0, 2, 1))
    if dropout_mask is not None:
        dp = dp * dropout_mask
    ds = probs * (dp - (dp * probs).sum(axis=-1, keepdims=True)) * q.dtype.type(scale)
    dq = np.matmul(ds, k)
    dk = np.matmul(ds.transpose(0, 2, 1), q)
    return dq.astype(q.dtype), dk.astype(q.dtype), dv.astype(q.dtype)


# ---------------------------------------------------------------------------------------------
# Activations. Backward functions return a new array and never modify their inputs.


def relu_forward(x):
    """``max(x, 0)``; NaN propagates.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    y : ndarray of the shape of x
    """
    check.float_arrays("relu_forward", x=x)
    return np.where(x < 0, x.dtype.type(0), x)


def relu_backward(y, dy):
    """0 where the ReLU output ``y`` is ``<= 0``, else ``dy``.

    A NaN output passes ``dy``, as PyTorch's ``threshold_backward(dy, y, 0)`` does.

    Parameters
    ----------
    y : ndarray of any shape
        The forward pass's output.
    dy : ndarray of the shape of y

    Returns
    -------
    dx : ndarray of the shape of y
    """
    check.float_arrays("relu_backward", y=y, dy=dy)
    check.same_shape("relu_backward", "y", y, "dy", dy)
    return np.where(y <= 0, dy.dtype.type(0), dy)


def leaky_relu_forward(x, negative_slope=0.01):
    """``x`` where positive, else ``negative_slope * x``.

    Parameters
    ----------
    x : ndarray of any shape
    negative_slope : float

    Returns
    -------
    y : ndarray of the shape of x
    """
    check.float_arrays("leaky_relu_forward", x=x)
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(x, dy, negative_slope=0.01):
    """``dy`` where ``x > 0``, else ``negative_slope * dy``.

    Parameters
    ----------
    x : ndarray of any shape
        The forward pass's input.
    dy : ndarray of the shape of x
    negative_slope : float

    Returns
    -------
    dx : ndarray of the shape of x
    """
    check.float_arrays("leaky_relu_backward", x=x, dy=dy)
    check.same_shape("leaky_relu_backward", "x", x, "dy", dy)
    return np.where(x > 0, dy, dy * dy.dtype.type(negative_slope))


def sigmoid_forward(x):
    """``1 / (1 + exp(-x))``, evaluated without overflow for either sign of x.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    y : ndarray of the shape of x
    """
    check.float_arrays("sigmoid_forward", x=x)
    return _sigmoid(x)


def sigmoid_backward(y, dy):
    """``dy * y * (1 - y)``; ``y`` is the sigmoid output.

    Parameters
    ----------
    y : ndarray of any shape
        The forward pass's output.
    dy : ndarray of the shape of y

    Returns
    -------
    dx : ndarray of the shape of y
    """
    check.float_arrays("sigmoid_backward", y=y, dy=dy)
    check.same_shape("sigmoid_backward", "y", y, "dy", dy)
    return dy * y * (1 - y)


def tanh_forward(x):
    """``tanh(x)``.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    y : ndarray of the shape of x
    """
    check.float_arrays("tanh_forward", x=x)
    return np.tanh(x)


def tanh_backward(y, dy):
    """``dy * (1 - y**2)``; ``y`` is the tanh output.

    Parameters
    ----------
    y : ndarray of any shape
        The forward pass's output.
    dy : ndarray of the shape of y

    Returns
    -------
    dx : ndarray of the shape of y
    """
    check.float_arrays("tanh_backward", y=y, dy=dy)
    check.same_shape("tanh_backward", "y", y, "dy", dy)
    return dy * (1 - y * y)


_erf = np.frompyfunc(math.erf, 1, 1)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def gelu_forward(x, approximate="none"):
    """GELU: ``x * Phi(x)``, or its tanh approximation.

    Parameters
    ----------
    x : ndarray of any shape
    approximate : {"none", "tanh"}
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Returns
    -------
    y : ndarray of the shape of x
    """
    check.float_arrays("gelu_forward", x=x)
    check.gelu_approximate("gelu_forward", approximate)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x ** 3)))
    return (0.5 * x * (1 + _erf(x / math.sqrt(2.0)).astype(np.float64))).astype(x.dtype)


def gelu_backward(x, dy, approximate="none"):
    """Gradient of :func:`gelu_forward`.

    Parameters
    ----------
    x : ndarray of any shape
        The forward pass's input.
    dy : ndarray of the shape of x
    approximate : {"none", "tanh"}
        As given to the forward pass.

    Returns
    -------
    dx : ndarray of the shape of x
    """
    check.float_arrays("gelu_backward", x=x, dy=dy)
    check.same_shape("gelu_backward", "x", x, "dy", dy)
    check.gelu_approximate("gelu_backward", approximate)
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x ** 3))
        dt = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dt)
    xd = x.astype(np.float64)
    cdf = 0.5 * (1 + _erf(xd / math.sqrt(2.0)).astype(np.float64))
    pdf = np.exp(-0.5 * xd * xd) / math.sqrt(2 * math.pi)
    return (dy * (cdf + xd * pdf)).astype(x.dtype)


# ---------------------------------------------------------------------------------------------
# Reductions and optimiser updates


def bias_grad(dy, axis=1):
    """Sum ``dy`` over every axis but ``axis``: the gradient of a bias broadcast along it.

    Parameters
    ----------
    dy : ndarray of shape (N, C, ...) for ``axis=1``, or (..., C) for ``axis=-1``
    axis : int
        The bias's axis (negative counts from the end).

    Returns
    -------
    db : ndarray of shape (C,)
        Summed in float64, returned in the dtype of dy.
    """
    check.bias_grad_args("bias_grad", dy, axis)
    axis %= dy.ndim
    others = tuple(i for i in range(dy.ndim) if i != axis)
    return dy.sum(axis=others, dtype=np.float64).astype(dy.dtype)


def sgd_step(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False, first_step=False):
    """One SGD update in place, as ``torch.optim.SGD`` does it.

    ``g = grad (+ weight_decay * param)``; with momentum, ``buf = g`` on the first step, else
    ``buf = momentum * buf + (1 - dampening) * g``, and ``g = g + momentum * buf`` (Nesterov)
    or ``g = buf``; then ``param -= lr * g``.

    Parameters
    ----------
    param : C-contiguous ndarray of any shape
        Updated in place.
    grad : ndarray of the shape of param
    momentum_buffer : C-contiguous ndarray of the shape of param, optional
        ``buf``, updated in place; required when ``momentum != 0``.
    lr, momentum, dampening, weight_decay : float
    nesterov, maximize : bool
        ``maximize`` ascends (uses ``-grad``).
    first_step : bool
        Initialise ``buf`` to ``g`` instead of decaying it.
    """
    check.sgd_args("sgd_step", param, grad, momentum_buffer, momentum)
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * param
    if momentum != 0.0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1.0 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


def adam_step(param, grad, exp_avg, exp_avg_sq, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled_weight_decay=False, max_exp_avg_sq=None,
              maximize=False):
    """One Adam (or AdamW) update in place, as ``torch.optim.Adam`` / ``AdamW`` do it.

    ``m += (1 - beta1) (g - m)``, ``v = beta2 v + (1 - beta2) g^2``, then
    ``param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)``.

    Parameters
    ----------
    param : C-contiguous ndarray of any shape
        Updated in place.
    grad : ndarray of the shape of param
    exp_avg, exp_avg_sq : C-contiguous ndarray of the shape of param
        ``m`` and ``v``, updated in place.
    step : int
        The step number, counting from 1 (for the bias corrections).
    lr, beta1, beta2, eps, weight_decay : float
    decoupled_weight_decay : bool
        AdamW: ``param *= 1 - lr * weight_decay`` instead of adding ``weight_decay * param``
        to the gradient.
    max_exp_avg_sq : C-contiguous ndarray of the shape of param, optional
        AMSGrad: the running maximum of ``v`` (updated in place), used in place of ``v``.
    maximize : bool
        Ascend (use ``-grad``).
    """
    check.step_args("adam_step", param, grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
               max_exp_avg_sq=max_exp_avg_sq)
    step = check.integer("adam_step", "step", step, minimum=1)
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        if decoupled_weight_decay:
            param *= 1.0 - lr * weight_decay
        else:
            g = g + weight_decay * param
    exp_avg += (1.0 - beta1) * (g - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1.0 - beta2) * g * g
    step_size = lr / (1.0 - beta1 ** step)
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = np.sqrt(second) / bias_correction2_sqrt + eps
    param -= step_size * exp_avg / denom


def rmsprop_step(param, grad, square_avg, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, momentum_buffer=None, centered=False, grad_avg=None,
                 maximize=False):
    """One RMSProp update in place, as ``torch.optim.RMSprop`` does it.

    ``square_avg = alpha * square_avg + (1 - alpha) g^2``; centred, ``grad_avg`` tracks the
    mean of g and the denominator is ``sqrt(square_avg - grad_avg^2) + eps``; with momentum,
    ``buf = momentum * buf + g / denom`` and ``param -= lr * buf``.

    Parameters
    ----------
    param : C-contiguous ndarray of any shape
        Updated in place.
    grad : ndarray of the shape of param
    square_avg : C-contiguous ndarray of the shape of param
        Updated in place.
    lr, alpha, eps, weight_decay, momentum : float
    momentum_buffer : C-contiguous ndarray of the shape of param, optional
        ``buf``, updated in place; required when ``momentum != 0``.
    centered : bool
        Normalise by the variance of g rather than its second moment.
    grad_avg : C-contiguous ndarray of the shape of param, optional
        Updated in place; required when ``centered``.
    maximize : bool
        Ascend (use ``-grad``).
    """
    check.rmsprop_args("rmsprop_step", param, grad, square_avg, momentum_buffer, grad_avg,
                       momentum, centered)
    g = -grad if maximize else grad
    if weight_decay != 0.0:
        g = g + weight_decay * param
    square_avg *= alpha
    square_avg += (1.0 - alpha) * g * g
    if centered:
        grad_avg += (1.0 - alpha) * (g - grad_avg)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum != 0.0:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg
