"""Resampling layers: ``Upsample`` (nearest, area, (bi/tri)linear, bicubic), pixel and channel
shuffles."""

from . import functional as F
from .module import Module

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d"]


class Upsample(Module):
    """Resize the spatial dimensions to ``size`` or by ``scale_factor``.

    Resize the spatial dimensions to ``size`` or by ``scale_factor`` (see
    :func:`pynn.functional.interpolate`).

    Parameters
    ----------
    size : int or tuple of int, optional
    scale_factor : float or tuple of float, optional
    mode : {"nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"}
    align_corners : bool, optional
    recompute_scale_factor : bool, optional

    Shape
    -----
    - Input: (N, C, L) or (N, C, H, W).
    - Output: ``(N, C, *size)``.
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) \
            else scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode="nearest")`` (PyTorch's older name).

    Parameters
    ----------
    size : sequence of int, optional
    scale_factor : float or tuple of float, optional
        As :class:`Upsample`.

    Shape
    -----
    - Input: (N, C, H, W).
    - Output: (N, C, oH, oW).
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode="bilinear", align_corners=True)`` (PyTorch's older name).

    Parameters
    ----------
    size : sequence of int, optional
    scale_factor : float or tuple of float, optional
        As :class:`Upsample`.

    Shape
    -----
    - Input: (N, C, H, W).
    - Output: (N, C, oH, oW).
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(N, C r^2, H, W) to (N, C, H r, W r) (sub-pixel convolution's rearrangement).

    Parameters
    ----------
    upscale_factor : int

    Shape
    -----
    - Input: ``(*, C r^2, H, W)``.
    - Output: ``(*, C, H r, W r)``.
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(N, C, H r, W r) to (N, C r^2, H, W), the inverse of :class:`PixelShuffle`.

    Parameters
    ----------
    downscale_factor : int

    Shape
    -----
    - Input: ``(*, C, H r, W r)``.
    - Output: ``(*, C r^2, H, W)``.
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of ``groups`` groups (ShuffleNet's shuffle).

    Parameters
    ----------
    groups : int
        Divides the channel count.

    Shape
    -----
    - Input: ``(N, C, *)``.
    - Output: the input's shape.
    """

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
