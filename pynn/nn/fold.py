"""``Unfold`` / ``Fold``: sliding blocks of an image to columns and back (im2col, col2im)."""

from . import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Unfold(Module):
    """Extract sliding local blocks as columns.

    Parameters
    ----------
    kernel_size, dilation, padding, stride : int or (int, int)

    Shape
    -----
    - Input: (N, C, H, W).
    - Output: (N, C kH kW, L), L the number of blocks.
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Sum columns of blocks back into an image (the adjoint of :class:`Unfold`).

    Parameters
    ----------
    output_size, kernel_size, dilation, padding, stride : int or (int, int)

    Shape
    -----
    - Input: (N, C kH kW, L).
    - Output: ``(N, C, *output_size)``.
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
