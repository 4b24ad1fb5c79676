"""Pooling layers: max, average, power-average and adaptive, in 1-D, 2-D and 3-D."""

from . import functional as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool1d",
    "LPPool2d", "LPPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d",
    "MaxUnpool3d",
]


class _MaxPoolNd(Module):
    """What the max-pooling layers hold: their options, under PyTorch's attribute names."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling; padding counts as -inf.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size.
    dilation : int
        Only 1 is implemented.
    return_indices : bool
        Also return the flat index ``h * W + w`` of each maximum (for ``MaxUnpool2d``-style
        uses).
    ceil_mode : bool
        Round the output size up (windows overhanging the bottom/right edge are kept).

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW), ``oH = (H + 2 pH - kH) // sH + 1`` (``oW``
      likewise; rounded up with ``ceil_mode``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        if dilation != 1 and dilation != (1, 1):
            raise NotImplementedError("MaxPool2d: dilation is not implemented")
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool1d(MaxPool2d):
    """1-D max pooling over (N, C, L) input; padding counts as -inf.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    padding : int
    dilation : 1
    return_indices, ceil_mode : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, oL) or (C, oL), ``oL = (L + 2 p - k) // s + 1``.
    """

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class _AvgPoolNd(Module):
    """What the 2-D and 3-D average-pooling layers hold: their options, by PyTorch's names."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size; padded positions count as zeros.
    ceil_mode : bool
        Round the output size up (windows overhanging the bottom/right edge are kept).
    count_include_pad : bool
        Divide by kH * kW everywhere (True) or by the number of in-image positions.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW), ``oH = (H + 2 pH - kH) // sH + 1`` (``oW``
      likewise).
    """

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool1d(Module):
    """1-D average pooling over (N, C, L) input.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    padding : int
    ceil_mode : bool
        Round the output length up (a window overhanging the end is kept).
    count_include_pad : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, oL) or (C, oL), ``oL = (L + 2 p - k) // s + 1`` (rounded up with
      ``ceil_mode``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()

        def as1(v):
            return v if isinstance(v, tuple) else (v,)

        self.kernel_size = as1(kernel_size)
        self.stride = as1(stride if stride is not None else kernel_size)
        self.padding = as1(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _Adaptive(Module):
    _fn = None

    def __init__(self, output_size, return_indices=None):
        super().__init__()
        self.output_size = output_size
        if return_indices is not None:
            self.return_indices = return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_Adaptive):
    """Average pooling to a fixed output size, whatever the input's (bins of nearly equal size).

    Parameters
    ----------
    output_size : int or (int or None, int or None)
        None keeps that input dimension.

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW).
    """

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_Adaptive):
    """Average pooling to a fixed output length.

    Parameters
    ----------
    output_size : int

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, output_size) or (C, output_size).
    """

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max pooling to a fixed output size.

    Parameters
    ----------
    output_size : int or (int or None, int or None)
    return_indices : bool

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW).
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size, return_indices)

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_Adaptive):
    """Max pooling to a fixed output length.

    Parameters
    ----------
    output_size : int
    return_indices : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, output_size) or (C, output_size).
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size, return_indices)

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class MaxUnpool2d(Module):
    """The inverse of :class:`MaxPool2d`: each maximum back at its index, zeros elsewhere.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int)

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W), with indices of the same shape (from
      ``MaxPool2d(..., return_indices=True)``).
    - Output: (N, C, oH, oW), ``oH = (H - 1) sH - 2 pH + kH`` (``oW`` likewise), or
      ``output_size``.
    """

    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()

        def as_tuple(v):  # as PyTorch's attributes: one int a dimension
            return tuple(int(i) for i in v) if isinstance(v, (tuple, list)) else \
                (int(v),) * self._dims

        self.kernel_size = as_tuple(kernel_size)
        self.stride = as_tuple(stride if stride is not None else kernel_size)
        self.padding = as_tuple(padding)

    def forward(self, input, indices, output_size=None):
        unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[self._dims]
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    """The inverse of :class:`MaxPool1d`: each maximum back at its index, zeros elsewhere.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    padding : int

    Shape
    -----
    - Input: (N, C, L) or (C, L), with indices of the same shape.
    - Output: (N, C, oL), ``oL = (L - 1) s - 2 p + k``, or ``output_size``.
    """

    _dims = 1


class MaxUnpool3d(MaxUnpool2d):
    """The inverse of :class:`MaxPool3d`: each maximum back at its index, zeros elsewhere.

    Parameters
    ----------
    kernel_size : int or (int, int, int)
    stride : int or (int, int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int, int)

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W), with indices of the same shape (from
      ``MaxPool3d(..., return_indices=True)``).
    - Output: (N, C, oD, oH, oW), ``oD = (D - 1) sD - 2 pD + kD`` (``oH``, ``oW``
      likewise), or ``output_size``.
    """

    _dims = 3


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling; padding counts as -inf.

    Parameters
    ----------
    kernel_size : int or (int, int, int)
    stride : int or (int, int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int, int)
        At most half the kernel size.
    dilation : int or (int, int, int)
        Along height and width only 1 is implemented.
    return_indices : bool
        Also return the flat index ``d * H * W + h * W + w`` of each maximum (for
        :class:`MaxUnpool3d`).
    ceil_mode : bool
        Round the output size up (windows overhanging the far edges are kept).

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: (N, C, oD, oH, oW), ``oD = (D + 2 pD - dD (kD - 1) - 1) // sD + 1`` (``oH``,
      ``oW`` likewise; rounded up with ``ceil_mode``).
    """

    def forward(self, input):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling.

    Parameters
    ----------
    kernel_size : int or (int, int, int)
    stride : int or (int, int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int, int)
        At most half the kernel size; padded positions count as zeros.
    ceil_mode : bool
        Round the output size up (windows overhanging the far edges are kept).
    count_include_pad : bool
        Divide by kD * kH * kW everywhere (True) or by the number of in-volume positions.
    divisor_override : int, optional
        Divide every window's sum by this instead.

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: (N, C, oD, oH, oW), ``oD = (D + 2 pD - kD) // sD + 1`` (``oH``, ``oW``
      likewise; rounded up with ``ceil_mode``).
    """

    def forward(self, input):
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(_Adaptive):
    """Average pooling to a fixed output size, whatever the input's.

    Parameters
    ----------
    output_size : int or (int or None, int or None, int or None)
        None keeps that input dimension.

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: (N, C, oD, oH, oW) or (C, oD, oH, oW).
    """

    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_Adaptive):
    """Max pooling to a fixed output size.

    Parameters
    ----------
    output_size : int or (int or None, int or None, int or None)
    return_indices : bool

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: (N, C, oD, oH, oW) or (C, oD, oH, oW).
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size, return_indices)

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _LPPool(Module):
    _fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride,
                              self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """1-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    norm_type : float
        The power ``p``: 1 gives sum pooling, large values approach max pooling.
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, oL) or (C, oL), ``oL = (L - k) // s + 1``.
    """

    _fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """2-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    norm_type : float
        The power ``p``.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW), ``oH = (H - kH) // sH + 1`` (``oW`` likewise).
    """

    _fn = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    """3-D power-average pooling: ``(sum over a window of x^p)^(1/p)``.

    Parameters
    ----------
    norm_type : float
        The power ``p``.
    kernel_size : int or (int, int, int)
    stride : int or (int, int, int), optional
        Default: ``kernel_size``.
    ceil_mode : bool

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: (N, C, oD, oH, oW), ``oD = (D - kD) // sD + 1`` (``oH``, ``oW`` likewise).
    """

    _fn = staticmethod(F.lp_pool3d)
