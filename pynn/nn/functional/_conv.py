"""Convolutions: ``conv1d``/``conv2d``, their transposes, grouped convolution and
``unfold``/``fold`` (im2col and its adjoint); the fused conv + ReLU (+ max-pool) paths of the
layers."""

from ..._math import stack as _stack
from ...ops.conv import (
    Conv2dFunction,
    ConvTranspose2dFunction,
    FoldFunction,
    UnfoldFunction,
    deferred_conv2d,
)
from ...tensor import cat as _cat
from ._shape import pad
from ._utils import _data, _depth_taps, _float_operands, _given_stride, _tensor, _tuple

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "unfold",
]


def _conv_padding(op, input, padding, weight_shape, stride, dilation):
    """``(input, padding)`` with a string padding resolved for the kernels, which pad both
    sides alike: ``"valid"`` is 0; ``"same"`` (stride 1) pads ``d (k - 1)`` in all, the odd
    one of an even dilated kernel on the high side as PyTorch does, padded here."""
    if not isinstance(padding, str):
        return input, padding
    if padding == "valid":
        return input, 0
    if padding != "same":
        raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got "
                         f"{padding!r}")
    n = len(weight_shape) - 2
    if any(s != 1 for s in _tuple(stride, n, "stride", op)):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
    sides = _same_sides(weight_shape[2:], _tuple(dilation, n, "dilation", op))
    if any(lo != hi for lo, hi in sides):
        extra = []
        for lo, hi in reversed(sides):  # F.pad lists the last dimension first
            extra += [0, hi - lo]
        input = pad(input, tuple(extra))
    return input, tuple(lo for lo, _ in sides)


def _same_sides(kernel_size, dilation):
    """``padding="same"``'s ``(low, high)`` padding per axis: ``d (k - 1)`` in all, the odd
    one on the high side, as PyTorch pads."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel_size, dilation)]


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL = {1: "k", 2: "kH, kW", 3: "kD, kH, kW"}


def _check_operands(op, x, w, b, n, groups=1, transposed=False, layer=None):
    """Check a convolution's operands: the one place for ``conv1d``/``conv2d``, their
    transposes and the layers (the kernels check their own contract, ``_checks.conv_args``).

    ``x`` is (N, C, *spatial) or unbatched (C, *spatial) with ``n`` spatial dimensions; ``w``
    is (out_channels, C / groups, *kernel), or (C, out_channels / groups, *kernel) when
    ``transposed``; ``b`` is (out_channels,) or None; one float dtype. Errors name ``op``, or
    the ``layer`` when one checks its input (then ``w`` is its weight, or None while a
    parametrization computes it, and its ``in_channels`` give C), in the layer's words.
    """
    def fail(error):
        return error if layer is None else layer._input_error(x)

    try:
        _float_operands(op, input=x, weight=w, bias=b)
    except TypeError as error:
        raise fail(error) from None
    spatial = _SPATIAL[n]
    kernel = _KERNEL[n]
    if w is not None and w.ndim != n + 2:
        dims = ("in_channels, out_channels / groups" if transposed
                else "out_channels, in_channels / groups")
        raise ValueError(f"{op}: weight must have shape ({dims}, {kernel}), got {w.shape}")
    if x.ndim not in (n + 1, n + 2):
        raise fail(ValueError(f"{op}: input must have shape (N, C, {spatial}) or "
                              f"(C, {spatial}), got {x.shape}"))
    if layer is not None:
        expected, out = layer.in_channels, None
    elif transposed:
        expected, out = w.shape[0], w.shape[1] * groups
    else:
        expected, out = w.shape[1] * groups, w.shape[0]
    if x.shape[-n - 1] != expected:
        raise fail(ValueError(f"{op}: input has {x.shape[-n - 1]} channels but weight expects "
                              f"{expected} (input shape {x.shape}, weight shape "
                              f"{None if w is None else w.shape}, groups={groups})"))
    if layer is not None:  # its weight and bias were made for its configuration
        return
    if groups < 1 or w.shape[0] % groups or x.shape[-n - 1] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels "
                         f"({x.shape[-n - 1]}) and the weight's first dimension ({w.shape[0]})")
    if out == 0 and not transposed:
        # PyTorch refuses a weight without output channels too (a transposed one is fine).
        raise ValueError(f"{op}: expected weight to be at least 1 at dimension 0, but got "
                         f"weight of shape {w.shape}")
    if b is not None and b.shape != (out,):
        raise ValueError(f"{op}: bias must have shape ({out},), got {b.shape}")


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu, pool=None):
    x, w, b = _data(input), _data(weight), _data(bias)
    _check_operands("conv2d", x, w, b, 2, groups)
    if x.ndim == 3:  # unbatched (C, H, W)
        out = _conv2d(_tensor(input).unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups, relu, pool)
        return out.squeeze(0)
    input, padding = _conv_padding("conv2d", input, padding, w.shape, stride, dilation)
    if groups == 1 and not relu and pool is None:
        # computed when read, so that a ReLU or max-pool applied next can join the kernel
        out = deferred_conv2d(input, weight, bias, stride, padding, dilation)
        if out is not None:
            return out
    if groups != 1:
        return _grouped("conv2d", input, weight, bias, groups, 1,
                        lambda xg, wg, bg: Conv2dFunction.apply(xg, wg, bg, stride, padding,
                                                                dilation, relu, pool))
    return Conv2dFunction.apply(input, weight, bias, stride, padding, dilation, relu, pool)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), NCHW.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    weight : Tensor of shape (out_channels, C, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same" (stride 1)
    groups : int
        Channels split into this many groups, convolved separately.

    Returns
    -------
    Tensor of shape (N, out_channels, oH, oW), ``oH = (H + 2 pH - dH (kH - 1) - 1) // sH + 1``
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, False)


def _conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1):
    """``relu(conv2d(...))`` with the ReLU fused into the kernel (internal)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, 1, True)


def _conv2d_maxpool(input, weight, bias, stride, padding, dilation, relu, pool_kernel,
                    pool_stride, pool_padding):
    """``max_pool2d(relu?(conv2d(...)), pool_kernel, pool_stride, pool_padding)`` in one
    kernel call that pools the output while it is in cache (internal)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, 1, relu,
                   (pool_kernel, _given_stride(pool_stride), pool_padding))


def _grouped(op, input, weight, bias, groups, in_axis, fn):
    """Run ``fn(x, w, b)`` on each of ``groups`` channel groups (checked by
    :func:`_check_operands`) and join the outputs along dim 1. ``in_axis`` is the weight's
    dimension that holds input channels (1 for a convolution, 0 for a transposed one)."""
    x, w = _data(input), _data(weight)
    cin = x.shape[1] // groups
    rows = w.shape[0] // groups
    out_per = rows if in_axis == 1 else w.shape[1]
    outs = []
    x_t, w_t = _tensor(input), _tensor(weight)
    b_t = None if bias is None else _tensor(bias)
    for g in range(groups):
        xs = x_t[:, g * cin:(g + 1) * cin]
        ws = w_t[g * rows:(g + 1) * rows]
        bs = None if b_t is None else b_t[g * out_per:(g + 1) * out_per]
        outs.append(fn(xs, ws, bs))
    return _cat(outs, 1)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation), NCL: :func:`conv2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    weight : Tensor of shape (out_channels, C / groups, k)
    bias : Tensor of shape (out_channels,), optional
    stride, dilation : int
    padding : int, "valid" or "same"
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oL), ``oL = (L + 2 p - d (k - 1) - 1) // s + 1``
    """
    _check_operands("conv1d", _data(input), _data(weight), _data(bias), 1, groups)
    (s,), (d,) = _tuple(stride, 1, "stride", "conv1d"), _tuple(dilation, 1, "dilation", "conv1d")
    p = padding if isinstance(padding, str) else (0, _tuple(padding, 1, "padding", "conv1d")[0])
    xt = _tensor(input).unsqueeze(-2)
    out = conv2d(xt, _tensor(weight).unsqueeze(2), bias, (1, s), p, (1, d), groups)
    return out.squeeze(-2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the adjoint of :func:`conv2d`), NCHW.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    weight : Tensor of shape (C, out_channels / groups, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, padding, output_padding, dilation : int or (int, int)
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oH, oW),
    ``oH = (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1`` (``oW`` likewise)
    """
    x, w = _data(input), _data(weight)
    _check_operands("conv_transpose2d", x, w, _data(bias), 2, groups, transposed=True)
    if x.ndim == 3:
        return conv_transpose2d(_tensor(input).unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    s = _tuple(stride, 2, "stride", "conv_transpose2d")
    p = _tuple(padding, 2, "padding", "conv_transpose2d")
    op = _tuple(output_padding, 2, "output_padding", "conv_transpose2d")
    d = _tuple(dilation, 2, "dilation", "conv_transpose2d")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than either "
                         f"stride {s} or dilation {d}")
    out_hw = tuple((n - 1) * si - 2 * pi + di * (k - 1) + o + 1
                   for n, si, pi, di, k, o in zip(x.shape[2:], s, p, d, w.shape[2:], op))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: output size {out_hw} is too small (input shape "
                         f"{x.shape}, weight shape {w.shape})")
    if any(o >= si for o, si in zip(op, s)):
        raise NotImplementedError("conv_transpose2d: output_padding must be smaller than "
                                  "stride")

    def one(xg, wg, bg):
        return ConvTranspose2dFunction.apply(xg, wg, bg, s, p, d, out_hw)

    if groups != 1:
        return _grouped("conv_transpose2d", input, weight, bias, groups, 0, one)
    return one(input, weight, bias)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution, NCL: :func:`conv_transpose2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    weight : Tensor of shape (C, out_channels / groups, k)
    bias : Tensor of shape (out_channels,), optional
    stride, padding, output_padding, dilation : int
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oL), ``oL = (L - 1) s - 2 p + d (k - 1) + op + 1``
    """
    _check_operands("conv_transpose1d", _data(input), _data(weight), _data(bias), 1, groups,
                    transposed=True)

    def pair(v, name, lead):
        return (lead, _tuple(v, 1, name, "conv_transpose1d")[0])

    out = conv_transpose2d(_tensor(input).unsqueeze(-2), _tensor(weight).unsqueeze(2), bias,
                           pair(stride, "stride", 1), pair(padding, "padding", 0),
                           pair(output_padding, "output_padding", 0), groups,
                           pair(dilation, "dilation", 1))
    return out.squeeze(-2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation), NCDHW.

    Computed as one :func:`conv2d` over height and width whose input channels are the
    ``kD`` depth taps of every input channel: a depth output is a plane, and its taps are
    the input planes its kernel reads, so the 2-D kernels (and their gradients) do the work.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    weight : Tensor of shape (out_channels, C / groups, kD, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, dilation : int or (int, int, int)
    padding : int, (int, int, int), "valid" or "same" (stride 1)
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oD, oH, oW),
    ``oD = (D + 2 pD - dD (kD - 1) - 1) // sD + 1`` (``oH``, ``oW`` likewise)
    """
    x, w, b = _data(input), _data(weight), _data(bias)
    _check_operands("conv3d", x, w, b, 3, groups)
    if x.ndim == 4:
        return conv3d(_tensor(input).unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    input, padding = _conv_padding("conv3d", _tensor(input), padding, w.shape, stride,
                                   dilation)
    s = _tuple(stride, 3, "stride", "conv3d")
    p = _tuple(padding, 3, "padding", "conv3d")
    d = _tuple(dilation, 3, "dilation", "conv3d")
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"conv3d: stride and dilation must be positive and padding "
                         f"non-negative, got stride={s}, padding={p}, dilation={d}")
    n, depth = input.shape[0], input.shape[2]
    out_c, cg, kd = w.shape[:3]
    od = (depth + 2 * p[0] - d[0] * (kd - 1) - 1) // s[0] + 1
    if od < 1:
        raise ValueError(f"conv3d: the kernel (dilated depth {d[0] * (kd - 1) + 1}) is larger "
                         f"than the padded input depth {depth + 2 * p[0]} (input shape "
                         f"{tuple(x.shape)}, weight shape {w.shape})")
    xp = pad(input, (0, 0, 0, 0, p[0], p[0])) if p[0] else input
    taps = _stack(_depth_taps(xp, kd, s[0], d[0], od), 1)  # (N, kD, C, oD, H, W)
    h, wd = taps.shape[-2:]
    # channels ordered (group, tap, channel of the group): each group's taps stay together
    planes = (taps.reshape(n, kd, groups, cg, od, h, wd).permute(0, 4, 2, 1, 3, 5, 6)
              .reshape(n * od, groups * kd * cg, h, wd))
    w2 = _tensor(weight).permute(0, 2, 1, 3, 4).reshape(out_c, kd * cg, *w.shape[3:])
    y = conv2d(planes, w2, bias, s[1:], p[1:], d[1:], groups)
    return y.reshape(n, od, out_c, *y.shape[-2:]).permute(0, 2, 1, 3, 4).contiguous()


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution (the adjoint of :func:`conv3d`), NCDHW.

    Computed as one :func:`conv_transpose2d` per input plane with the ``kD`` depth taps of
    the kernel as extra output channels, each tap's planes then summed at their depths.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    weight : Tensor of shape (C, out_channels / groups, kD, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, padding, output_padding, dilation : int or (int, int, int)
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oD, oH, oW),
    ``oD = (D - 1) sD - 2 pD + dD (kD - 1) + opD + 1`` (``oH``, ``oW`` likewise)
    """
    x, w = _data(input), _data(weight)
    _check_operands("conv_transpose3d", x, w, _data(bias), 3, groups, transposed=True)
    if x.ndim == 4:
        return conv_transpose3d(_tensor(input).unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    s = _tuple(stride, 3, "stride", "conv_transpose3d")
    p = _tuple(padding, 3, "padding", "conv_transpose3d")
    op = _tuple(output_padding, 3, "output_padding", "conv_transpose3d")
    d = _tuple(dilation, 3, "dilation", "conv_transpose3d")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"conv_transpose3d: output_padding {op} must be smaller than either "
                         f"stride {s} or dilation {d}")
    n, c, depth, h, wd = x.shape
    og, kd = w.shape[1], w.shape[2]
    out_c = og * groups
    full = (depth - 1) * s[0] + d[0] * (kd - 1) + 1 + op[0]
    od = full - 2 * p[0]
    if od < 1:
        raise ValueError(f"conv_transpose3d: output depth {od} is too small (input shape "
                         f"{x.shape}, weight shape {w.shape})")
    planes = _tensor(input).permute(0, 2, 1, 3, 4).reshape(n * depth, c, h, wd)
    w2 = _tensor(weight).permute(0, 2, 1, 3, 4).reshape(c, kd * og, *w.shape[3:])
    z = conv_transpose2d(planes, w2, None, s[1:], p[1:], op[1:], groups, d[1:])
    oh, ow = z.shape[-2:]
    # (N, D, group, tap, channel of the group) -> (tap, N, out_channels, D, oH, oW)
    z = (z.reshape(n, depth, groups, kd, og, oh, ow).permute(3, 0, 2, 4, 1, 5, 6)
         .reshape(kd, n, out_c, depth, oh, ow))
    spread = (depth - 1) * s[0] + 1
    out = None
    for i in range(kd):
        tap = z[i]
        if s[0] > 1:  # the input planes land s[0] apart
            tap = _stack([tap] + [tap.new_zeros(tap.shape)] * (s[0] - 1), 3)
            tap = tap.reshape(n, out_c, depth * s[0], oh, ow)[:, :, :spread]
        lo = i * d[0]
        tap = pad(tap, (0, 0, 0, 0, lo - p[0], full - spread - lo - p[0]))
        out = tap if out is None else out + tap
    if bias is not None:
        out = out + _tensor(bias).reshape(1, out_c, 1, 1, 1)
    return out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a batched image as columns (im2col).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W)
    kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    Tensor of shape (N, C kH kW, L), L the number of blocks
    """
    x = _data(input)
    _float_operands("unfold", input=x)
    if x.ndim != 4:
        raise ValueError(f"unfold: input must have shape (N, C, H, W), got {x.shape}")
    args = [_tuple(v, 2, n, "unfold") for v, n in ((kernel_size, "kernel_size"),
                                                    (dilation, "dilation"),
                                                    (padding, "padding"), (stride, "stride"))]
    return UnfoldFunction.apply(input, *args)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns of blocks back into a batched image (col2im; the adjoint of :func:`unfold`).

    Parameters
    ----------
    input : Tensor of shape (N, C kH kW, L)
    output_size, kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    Tensor of shape (N, C, H, W), ``(H, W) = output_size``
    """
    cols = _data(input)
    _float_operands("fold", input=cols)
    k = _tuple(kernel_size, 2, "kernel_size", "fold")
    if cols.ndim != 3 or cols.shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: input must have shape (N, C * {k[0]} * {k[1]}, L), got "
                         f"{cols.shape}")
    hw = _tuple(output_size, 2, "output_size", "fold")
    shape = (cols.shape[0], cols.shape[1] // (k[0] * k[1])) + hw
    return FoldFunction.apply(input, shape, k, _tuple(dilation, 2, "dilation", "fold"),
                              _tuple(padding, 2, "padding", "fold"),
                              _tuple(stride, 2, "stride", "fold"))
