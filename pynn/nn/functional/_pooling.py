"""Pooling: max, average and power-average in 1-D, 2-D and 3-D, adaptive pooling, and
max-unpooling."""

import sys

import numpy as np

from ..._math import stack as _stack
from ...ops.activation import PendingRelu, sole_reference_count
from ...ops.conv import PendingConv
from ...ops.pool import (
    AdaptiveMaxPoolFunction,
    AvgPool2dFunction,
    MaxPool2dFunction,
    SeparableMapFunction,
    adaptive_bins,
    average_map,
    deferred_max_pool2d,
)
from ...tensor import _wrap
from ._resampling import _separable
from ._shape import pad
from ._utils import _data, _depth_taps, _float_operands, _given_stride, _tensor, _tuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _pool_input(op, input):
    x = _data(input)
    _float_operands(op, input=x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: input must have shape (N, C, H, W) or (C, H, W), got "
                         f"{x.shape}")
    return x.ndim == 3


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling (padding counts as -inf).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding at most half the kernel.
    dilation : int
        Only 1 is implemented.
    ceil_mode : bool
        Round the output size up: windows overhanging the bottom/right edge are kept.
    return_indices : bool
        Also return the indices of the maxima.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    indices : int64 Tensor of the same shape, with ``return_indices``
        The flat position ``h * W + w`` of each maximum in its (H, W) plane.
    """
    # A pending convolution or ReLU (F.relu of a temporary) that nothing but this call
    # refers to: pooled in the convolution's kernel, or before the ReLU is applied (see
    # pynn.ops.pool.deferred_max_pool2d).
    if (sys.getrefcount(input) == _ALONE and type(input) in _PENDING and not ceil_mode
            and not return_indices and dilation == 1):
        return deferred_max_pool2d(input, kernel_size, _given_stride(stride), padding)
    if dilation != 1 and _tuple(dilation, 2, "dilation", "max_pool2d") != (1, 1):
        raise NotImplementedError("max_pool2d: dilation is not supported")
    if ceil_mode:
        return _max_pool2d_ceil(input, kernel_size, stride, padding, return_indices)
    if _pool_input("max_pool2d", input):
        res = max_pool2d(_tensor(input).unsqueeze(0), kernel_size, stride, padding,
                         return_indices=return_indices)
        if return_indices:
            return res[0].squeeze(0), res[1].squeeze(0)
        return res.squeeze(0)
    stride = _given_stride(stride)
    if return_indices:
        out, ctx = MaxPool2dFunction.apply_with_ctx(input, kernel_size, stride, padding)
        return out, _wrap(ctx.saved_tensors[0], None)
    return MaxPool2dFunction.apply(input, kernel_size, stride, padding)



def _max_pool2d_probe(input, kernel_size=2, stride=None, padding=0, dilation=1,
                      ceil_mode=False, return_indices=False):
    return sys.getrefcount(input)


_ALONE = sole_reference_count(_max_pool2d_probe)
_PENDING = (PendingRelu, PendingConv)


def _max_pool2d_ceil(input, kernel_size, stride, padding, return_indices):
    """``ceil_mode=True``: the windows that overhang the bottom/right edge are kept. The input
    gets -inf rows/columns there (never a maximum) and is pooled as usual."""
    x = _data(input)
    k = _tuple(kernel_size, 2, "kernel_size", "max_pool2d")
    s = k if stride is None or stride == () else _tuple(stride, 2, "stride", "max_pool2d")
    p = _tuple(padding, 2, "padding", "max_pool2d")
    extra = []
    for n, ki, si, pi in zip(x.shape[-2:], k, s, p):
        out = _pooled_length("max_pool2d", n, ki, si, pi, 1, True)
        extra.append(max((out - 1) * si + ki - (n + 2 * pi), 0))
    if not any(extra):
        return max_pool2d(input, k, s, p, return_indices=return_indices)
    padded = pad(input, (0, extra[1], 0, extra[0]), value=-np.inf)
    res = max_pool2d(padded, k, s, p, return_indices=return_indices)
    if not return_indices:
        return res
    idx = res[1]._data
    w_pad = x.shape[-1] + extra[1]
    return res[0], _wrap((idx // w_pad) * x.shape[-1] + idx % w_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding (zeros) at most half the kernel.
    ceil_mode : bool
        Round the output size up: windows overhanging the bottom/right edge are kept (and
        averaged over their part inside the padded input).
    count_include_pad : bool
        Divide by kH * kW everywhere (True) or by the number of in-image positions.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    """
    if ceil_mode or divisor_override is not None:
        _pool_input("avg_pool2d", input)
        return _avg_pool("avg_pool2d", input, 2, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override)
    if _pool_input("avg_pool2d", input):
        return avg_pool2d(_tensor(input).unsqueeze(0), kernel_size, stride, padding,
                          count_include_pad=count_include_pad).squeeze(0)
    return AvgPool2dFunction.apply(input, kernel_size, _given_stride(stride), padding,
                                   bool(count_include_pad))


def _unit_height(op, input):
    x = _data(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: input must have shape (N, C, L) or (C, L), got {x.shape}")
    return _tensor(input).unsqueeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling: :func:`max_pool2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    kernel_size, stride, padding : int
    dilation : 1
    ceil_mode, return_indices : bool

    Returns
    -------
    Tensor of shape (N, C, oL), ``oL = (L + 2 p - k) // s + 1`` (rounded up with ceil_mode)
    indices : int64 Tensor of the same shape, with ``return_indices``
    """
    k = _tuple(kernel_size, 1, "kernel_size", "max_pool1d")[0]
    s = k if stride is None or stride == () else _tuple(stride, 1, "stride", "max_pool1d")[0]
    p = _tuple(padding, 1, "padding", "max_pool1d")[0]
    res = max_pool2d(_unit_height("max_pool1d", input), (1, k), (1, s), (0, p), dilation,
                     ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling: :func:`avg_pool2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    kernel_size, stride, padding : int
    ceil_mode : bool
        Round the output length up (a window overhanging the end is kept).
    count_include_pad : bool

    Returns
    -------
    Tensor of shape (N, C, oL), ``oL = (L + 2 p - k) // s + 1`` (rounded up with ceil_mode)
    """
    if ceil_mode:
        _unit_height("avg_pool1d", input)
        return _avg_pool("avg_pool1d", input, 1, kernel_size, stride, padding, True,
                         count_include_pad, None)
    k = _tuple(kernel_size, 1, "kernel_size", "avg_pool1d")[0]
    s = k if stride is None or stride == () else _tuple(stride, 1, "stride", "avg_pool1d")[0]
    p = _tuple(padding, 1, "padding", "avg_pool1d")[0]
    return avg_pool2d(_unit_height("avg_pool1d", input), (1, k), (1, s), (0, p), ceil_mode,
                      count_include_pad).squeeze(-2)


def _out_size(op, x, output_size, n):
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: input must have {n + 1} or {n + 2} dimensions, got shape "
                         f"{x.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * n
    if len(sizes) != n:
        raise ValueError(f"{op}: output_size must have {n} elements, got {output_size!r}")
    return tuple(x.shape[x.ndim - n + i] if o is None else int(o) for i, o in enumerate(sizes))


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size.

    Bin ``i`` averages ``[floor(i H / oH), ceil((i + 1) H / oH))`` (likewise along W).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        None keeps the input's size.

    Returns
    -------
    Tensor of shape (N, C, oH, oW)
    """
    x = _data(input)
    _float_operands("adaptive_avg_pool2d", input=x)
    oh, ow = _out_size("adaptive_avg_pool2d", x, output_size, 2)
    if (oh, ow) == (1, 1):
        return _tensor(input).mean((-2, -1), keepdim=True)
    return SeparableMapFunction.apply(input, average_map(x.shape[-2], oh, x.dtype),
                                      average_map(x.shape[-1], ow, x.dtype))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    output_size : int

    Returns
    -------
    Tensor of shape (N, C, output_size)
    """
    x = _data(input)
    _float_operands("adaptive_avg_pool1d", input=x)
    (o,) = _out_size("adaptive_avg_pool1d", x, output_size, 1)
    return SeparableMapFunction.apply(input, None, average_map(x.shape[-1], o, x.dtype))


def _adaptive_max(op, input, output_size, n, return_indices):
    x = _data(input)
    _float_operands(op, input=x)
    out = _out_size(op, x, output_size, n)
    y, ctx = AdaptiveMaxPoolFunction.apply_with_ctx(input, out)
    if return_indices:
        return y, _wrap(ctx.saved_tensors[0], None)
    return y


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
    return_indices : bool
        Also return the flat position ``h * W + w`` of each maximum.

    Returns
    -------
    Tensor of shape (N, C, oH, oW)
    """
    return _adaptive_max("adaptive_max_pool2d", input, output_size, 2, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    output_size : int
    return_indices : bool

    Returns
    -------
    Tensor of shape (N, C, output_size)
    """
    return _adaptive_max("adaptive_max_pool1d", input, output_size, 1, return_indices)


def _max_unpool(op, input, indices, kernel_size, stride, padding, output_size, n):
    x, idx = _data(input), _data(indices)
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected a {n + 1}-D or {n + 2}-D input, got shape {x.shape}")
    if idx.shape != x.shape or idx.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be integers of the input's shape {x.shape}, got "
                         f"{idx.dtype} of shape {idx.shape}")
    k = _tuple(kernel_size, n, "kernel_size", op)
    s = k if stride is None else _tuple(stride, n, "stride", op)
    p = _tuple(padding, n, "padding", op)
    default = tuple((x.shape[-n + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(n))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in tuple(output_size)[-n:])
        if any(abs(a - b) >= st for a, b, st in zip(size, default, s)):
            raise ValueError(f"{op}: output_size {size} is not within a stride of the "
                             f"default {default}")
    plane = int(np.prod(size))
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output "
                           f"volumes are of size {'x'.join(map(str, size))})")
    lead = x.shape[:-n]
    flat_in, flat_idx = input.reshape(lead + (-1,)), _wrap(idx.reshape(lead + (-1,)), None)
    out = _wrap(np.zeros(lead + (plane,), x.dtype), None)
    # each input value lands at its index; the gradient gathers it back
    return out.scatter(-1, flat_idx, flat_in).reshape(lead + size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool1d` given its indices: maxima in place, zeros elsewhere.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    indices : Tensor of int64, the input's shape
        From ``max_pool1d(..., return_indices=True)``.
    kernel_size, stride, padding : int or tuple of int
        The pooling's (stride defaults to kernel_size).
    output_size : sequence of int, optional
        The output length (to undo a pooling that dropped a remainder).

    Returns
    -------
    Tensor of shape (N, C, L_out)
    """
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding,
                       output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool2d` given its indices: maxima in place, zeros elsewhere.

    As in SegNet's decoder.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    indices : Tensor of int64, the input's shape
        From ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding : int or tuple of int
        The pooling's (stride defaults to kernel_size).
    output_size : sequence of int, optional
        The output height and width (to undo a pooling that dropped a remainder).

    Returns
    -------
    Tensor of shape (N, C, H_out, W_out)
    """
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding,
                       output_size, 2)


# --- pooling along any axes: 3-D pooling, and the options the 2-D kernels lack ---------------


def _window(op, n, kernel_size, stride, padding, dilation=1):
    """Kernel, stride, padding and dilation as ``n``-tuples, checked as PyTorch does."""
    k = _tuple(kernel_size, n, "kernel_size", op)
    s = k if _given_stride(stride) is None else _tuple(stride, n, "stride", op)
    p = _tuple(padding, n, "padding", op)
    d = _tuple(dilation, n, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding "
                         f"non-negative, got kernel_size={k}, stride={s}, padding={p}, "
                         f"dilation={d}")
    if any(pi > (di * (ki - 1) + 1) // 2 for pi, ki, di in zip(p, k, d)):
        raise ValueError(f"{op}: padding {p} must be at most half of kernel_size {k}")
    return k, s, p, d


def _pooled_length(op, size, k, s, p, d, ceil_mode):
    """PyTorch's output length of a pooling window along one axis: with ``ceil_mode`` a last
    window that starts inside the input or its left padding is kept."""
    span = d * (k - 1) + 1
    if size + 2 * p < span:
        raise ValueError(f"{op}: the window (extent {span}) is larger than the padded input "
                         f"({size} + 2*{p})")
    room = size + 2 * p - span
    out = (-(-room // s) if ceil_mode else room // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _average_matrix(op, size, k, s, p, ceil_mode, count_include_pad, dtype, ones=False):
    """The (out, size) map of average pooling along one axis: each row holds a window's
    weights, ``1 / divisor`` (or 1 when ``ones``: a divisor applied afterwards). The
    divisor counts the window's positions inside the padded input (``count_include_pad``;
    a ceil-mode window overhanging it counts less) or inside the input only; pooling along
    several axes multiplies the axes' divisors, as PyTorch's window size does."""
    out = _pooled_length(op, size, k, s, p, 1, ceil_mode)
    m = np.zeros((out, size), dtype)
    for o in range(out):
        start = o * s - p
        end = min(start + k, size + p)
        lo, hi = max(start, 0), min(end, size)
        m[o, lo:hi] = 1 if ones else 1 / (end - start if count_include_pad else hi - lo)
    return m


def _avg_pool(op, input, n, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    """Average pooling over the last ``n`` (1-3) axes as separable maps: a window's average
    is its axes' averages in turn, with the divisor a product of per-axis counts."""
    x = _tensor(input)
    _float_operands(op, input=x._data)
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected a {n + 1}-D or {n + 2}-D input, got shape "
                         f"{tuple(x.shape)}")
    if x.ndim == n + 1:
        return _avg_pool(op, x.unsqueeze(0), n, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override).squeeze(0)
    k, s, p, _ = _window(op, n, kernel_size, stride, padding)
    ones = divisor_override is not None
    if ones and (isinstance(divisor_override, bool) or int(divisor_override) == 0):
        raise ValueError(f"{op}: divisor must be not zero, got {divisor_override!r}")
    dt = x._data.dtype
    maps = [_average_matrix(op, size, ki, si, pi, ceil_mode, count_include_pad, dt, ones)
            for size, ki, si, pi in zip(x.shape[2:], k, s, p)]
    if n == 3 and not ceil_mode:
        # height and width by the 2-D kernel (its divisor is kH kW or the in-image count,
        # as the separable map's), depth by its map
        planes = x.reshape(x.shape[0], -1, *x.shape[-2:])
        y = AvgPool2dFunction.apply(planes, k[1:], s[1:], p[1:],
                                    bool(count_include_pad) or ones)
        if ones:
            y = y * float(k[1] * k[2])
        y = _separable(y.reshape(*x.shape[:3], *y.shape[-2:]).transpose(2, -1), maps[:1])
        y = y.transpose(2, -1)
    else:
        y = _separable(x, maps)
    return y / float(divisor_override) if ones else y


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    kernel_size, stride, padding : int or (int, int, int)
        ``stride=None`` means ``kernel_size``; padding (zeros) at most half the kernel.
    ceil_mode : bool
        Round the output size up (windows overhanging the far edges are kept).
    count_include_pad : bool
        Divide by kD * kH * kW everywhere (True) or by the number of in-volume positions.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Returns
    -------
    Tensor of shape (N, C, oD, oH, oW), ``oD = (D + 2 pD - kD) // sD + 1`` (``oH``, ``oW``
    likewise; rounded up with ``ceil_mode``)
    """
    return _avg_pool("avg_pool3d", input, 3, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling (padding counts as -inf).

    A window's maximum is the maximum over its depth taps of their 2-D windows' maxima:
    height and width are pooled by :func:`max_pool2d`, then the depth taps are compared.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    kernel_size, stride, padding : int or (int, int, int)
        ``stride=None`` means ``kernel_size``; padding at most half the kernel.
    dilation : int or (int, int, int)
        Along depth any; along height and width only 1 is implemented.
    ceil_mode : bool
        Round the output size up (windows overhanging the far edges are kept).
    return_indices : bool
        Also return the flat position ``d * H * W + h * W + w`` of each maximum.

    Returns
    -------
    Tensor of shape (N, C, oD, oH, oW)
        ``oD = (D + 2 pD - dD (kD - 1) - 1) // sD + 1`` (``oH``, ``oW`` likewise).
    indices : int64 Tensor of the same shape, with ``return_indices``
    """
    x = _tensor(input)
    _float_operands("max_pool3d", input=x._data)
    if x.ndim not in (4, 5):
        raise ValueError(f"max_pool3d: input must have shape (N, C, D, H, W) or (C, D, H, W), "
                         f"got {tuple(x.shape)}")
    if x.ndim == 4:
        res = max_pool3d(x.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)
        return (res[0].squeeze(0), res[1].squeeze(0)) if return_indices else res.squeeze(0)
    k, s, p, d = _window("max_pool3d", 3, kernel_size, stride, padding, dilation)
    if d[1:] != (1, 1):
        raise NotImplementedError("max_pool3d: dilation along height and width is not "
                                  "supported")
    n, c, depth, h, w = x.shape
    od = _pooled_length("max_pool3d", depth, k[0], s[0], p[0], d[0], ceil_mode)
    planes = max_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], p[1:], 1, ceil_mode,
                        return_indices)
    y, hw_index = planes if return_indices else (planes, None)
    y = y.reshape(n, c, depth, *y.shape[-2:])
    back = max((od - 1) * s[0] + d[0] * (k[0] - 1) + 1 - depth - p[0], 0)
    if p[0] or back:
        y = pad(y, (0, 0, 0, 0, p[0], back), value=-np.inf)
    out, tap = _stack(_depth_taps(y, k[0], s[0], d[0], od), 2).max(dim=2)
    if not return_indices:
        return out
    # the depth of each maximum, then its 2-D index in that plane
    at = np.arange(od).reshape(1, 1, od, 1, 1) * s[0] - p[0] + tap._data * d[0]
    hw_index = hw_index._data.reshape(n, c, depth, *out.shape[-2:])
    flat = at * (h * w) + np.take_along_axis(hw_index, at, axis=2)
    return out, _wrap(flat.astype(np.int64), None)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed output size (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    output_size : int or (int or None, int or None, int or None)
        None keeps the input's size.

    Returns
    -------
    Tensor of shape (N, C, oD, oH, oW)
    """
    x = _tensor(input)
    _float_operands("adaptive_avg_pool3d", input=x._data)
    od, oh, ow = _out_size("adaptive_avg_pool3d", x._data, output_size, 3)
    if x.ndim == 4:
        return adaptive_avg_pool3d(x.unsqueeze(0), (od, oh, ow)).squeeze(0)
    if (od, oh, ow) == (1, 1, 1):
        return x.mean((-3, -2, -1), keepdim=True)
    dt = x._data.dtype
    return _separable(x, [average_map(size, o, dt) for size, o in zip(x.shape[2:],
                                                                       (od, oh, ow))])


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    output_size : int or (int or None, int or None, int or None)
    return_indices : bool
        Also return the flat position ``d * H * W + h * W + w`` of each maximum.

    Returns
    -------
    Tensor of shape (N, C, oD, oH, oW)
    """
    x = _tensor(input)
    _float_operands("adaptive_max_pool3d", input=x._data)
    od, oh, ow = _out_size("adaptive_max_pool3d", x._data, output_size, 3)
    if x.ndim == 4:
        res = adaptive_max_pool3d(x.unsqueeze(0), (od, oh, ow), return_indices)
        return (res[0].squeeze(0), res[1].squeeze(0)) if return_indices else res.squeeze(0)
    n, c, depth, h, w = x.shape
    y, ctx = AdaptiveMaxPoolFunction.apply_with_ctx(x.reshape(n, c * depth, h, w), (oh, ow))
    y = y.reshape(n, c, depth, oh, ow)
    starts, ends = adaptive_bins(depth, od)
    outs, taps = zip(*(y[:, :, a:b].max(dim=2) for a, b in zip(starts, ends)))
    out = _stack(outs, 2)
    if not return_indices:
        return out
    at = starts.reshape(1, 1, od, 1, 1) + np.stack([t._data for t in taps], 2)
    hw_index = ctx.saved_tensors[0].reshape(n, c, depth, oh, ow)
    flat = at * (h * w) + np.take_along_axis(hw_index, at, axis=2)
    return out, _wrap(flat.astype(np.int64), None)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool3d` given its indices: maxima in place, zeros elsewhere.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    indices : Tensor of int64, the input's shape
        From ``max_pool3d(..., return_indices=True)``.
    kernel_size, stride, padding : int or tuple of int
        The pooling's (stride defaults to kernel_size).
    output_size : sequence of int, optional
        The output depth, height and width.

    Returns
    -------
    Tensor of shape (N, C, D_out, H_out, W_out)
    """
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding,
                       output_size, 3)


def _lp_pool(op, input, n, norm_type, kernel_size, stride, ceil_mode):
    """``(sum of x^p over a window)^(1/p)``: a window's average of ``x^p`` times its size.
    As PyTorch, a negative sum (odd ``p``) gives zero."""
    x = _tensor(input)
    k = _tuple(kernel_size, n, "kernel_size", op)
    p = float(norm_type)
    if p == np.inf:  # the limit: the largest magnitude in the window
        pool = (max_pool1d, max_pool2d, max_pool3d)[n - 1]
        return pool(x.abs(), k[0] if n == 1 else k, stride, 0, 1, ceil_mode)
    if n == 1:
        total = avg_pool1d(x.pow(p), k[0], stride, 0, ceil_mode)
    elif n == 2:
        total = avg_pool2d(x.pow(p), k, stride, 0, ceil_mode)
    else:
        total = avg_pool3d(x.pow(p), k, stride, 0, ceil_mode)
    total = total * float(np.prod(k))
    return (total.sign() * total.abs().relu()).pow(1.0 / p)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    norm_type : float
        The power ``p`` (1: sum pooling; large: towards max pooling).
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Returns
    -------
    Tensor of shape (N, C, oL)
    """
    return _lp_pool("lp_pool1d", input, 1, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    norm_type : float
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Returns
    -------
    Tensor of shape (N, C, oH, oW)
    """
    return _lp_pool("lp_pool2d", input, 2, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    norm_type : float
    kernel_size : int or (int, int, int)
    stride : int or (int, int, int), optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Returns
    -------
    Tensor of shape (N, C, oD, oH, oW)
    """
    return _lp_pool("lp_pool3d", input, 3, norm_type, kernel_size, stride, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """:func:`max_pool1d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    kernel_size, stride, padding, dilation : int
        As :func:`max_pool1d`.
    ceil_mode : bool
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """:func:`max_pool2d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
        As :func:`max_pool2d`.
    ceil_mode : bool
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """:func:`max_pool3d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    kernel_size, stride, padding, dilation : int or (int, int, int)
        As :func:`max_pool3d`.
    ceil_mode : bool
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """:func:`adaptive_max_pool1d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    output_size : int
        As :func:`adaptive_max_pool1d`.
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """:func:`adaptive_max_pool2d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or tuple
        As :func:`adaptive_max_pool2d`.
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    """:func:`adaptive_max_pool3d` returning the indices too (PyTorch's name).

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    output_size : int or tuple
        As :func:`adaptive_max_pool3d`.
    return_indices : bool
        Ignored: the indices are always returned.

    Returns
    -------
    (Tensor, int64 Tensor)
    """
    return adaptive_max_pool3d(input, output_size, True)
