"""2-D max and average pooling layers."""

from . import functional as F
from .module import Module

__all__ = ["AvgPool2d", "MaxPool2d"]


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
    return_indices, ceil_mode : bool
        Only False is implemented (use ``F.max_pool2d(..., return_indices=True)`` for the
        indices).

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: (N, C, oH, oW) or (C, oH, oW), ``oH = (H + 2 pH - kH) // sH + 1`` (``oW``
      likewise).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if dilation != 1 or ceil_mode or return_indices:
            raise NotImplementedError("MaxPool2d: dilation, ceil_mode and return_indices are "
                                      "not implemented (use F.max_pool2d(..., "
                                      "return_indices=True) for the indices)")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


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
            raise NotImplementedError("AvgPool2d: ceil_mode and divisor_override are not "
                                      "implemented")
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
