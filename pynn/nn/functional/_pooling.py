"""Pooling: max and average in 1-D and 2-D, adaptive pooling, and max-unpooling."""

import sys

import numpy as np

from ...ops.activation import PendingRelu, sole_reference_count
from ...ops.conv import PendingConv
from ...ops.pool import (
    AdaptiveMaxPoolFunction,
    AvgPool2dFunction,
    MaxPool2dFunction,
    SeparableMapFunction,
    adaptive_bins,
    deferred_max_pool2d,
)
from ...tensor import _wrap
from ._shape import pad
from ._utils import _data, _float_operands, _given_stride, _tensor, _tuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
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
        out = -(-(n + 2 * pi - ki) // si) + 1
        if (out - 1) * si >= n + pi:  # the last window would start in the right padding
            out -= 1
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
        Only False is implemented.
    count_include_pad : bool
        Divide by kH * kW everywhere (True) or by the number of in-image positions.
    divisor_override : None
        Only None is implemented.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    """
    if ceil_mode or divisor_override is not None:
        raise NotImplementedError("avg_pool2d: ceil_mode and divisor_override are not supported")
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
    ceil_mode : False
    count_include_pad : bool

    Returns
    -------
    Tensor of shape (N, C, oL), ``oL = (L + 2 p - k) // s + 1``
    """
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


def _average_map(size, out, dtype):
    start, end = adaptive_bins(size, out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


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
    return SeparableMapFunction.apply(input, _average_map(x.shape[-2], oh, x.dtype),
                                      _average_map(x.shape[-1], ow, x.dtype))


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
    return SeparableMapFunction.apply(input, None, _average_map(x.shape[-1], o, x.dtype))


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
