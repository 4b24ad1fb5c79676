"""Pooling layers: max, average and adaptive, in 1-D and 2-D."""

from . import functional as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d", "MaxUnpool1d", "MaxUnpool2d",
]


class MaxPool2d(Module):
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
        super().__init__()
        if dilation != 1 and dilation != (1, 1):
            raise NotImplementedError("MaxPool2d: dilation is not implemented")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


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


class AvgPool2d(Module):
    """2-D average pooling.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default: ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size; padded positions count as zeros.
    ceil_mode : bool
        Only False is implemented.
    count_include_pad : bool
        Divide by kH * kW everywhere (True) or by the number of in-image positions.
    divisor_override : None
        Only None is implemented.

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW), ``oH = (H + 2 pH - kH) // sH + 1`` (``oW``
      likewise).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        if ceil_mode or divisor_override is not None:
            raise NotImplementedError(f"{type(self).__name__}: ceil_mode and divisor_override "
                                      f"are not implemented")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            count_include_pad=self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """1-D average pooling over (N, C, L) input.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Default: ``kernel_size``.
    padding : int
    ceil_mode : False
    count_include_pad : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: (N, C, oL) or (C, oL), ``oL = (L + 2 p - k) // s + 1``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        if ceil_mode:
            raise NotImplementedError("AvgPool1d: ceil_mode is not implemented")
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
        unpool = F.max_unpool2d if self._dims == 2 else F.max_unpool1d
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
