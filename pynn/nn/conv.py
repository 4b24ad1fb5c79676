"""2-D convolution layer."""

import math

import numpy as np

from . import functional as F
from ..tensor import Tensor
from . import init
from .linear import _input_error, _layer_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d"]


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"Conv2d: {name} must be an int or a pair, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v), int(v))


class Conv2d(Module):
    """2-D convolution (cross-correlation) over (N, C, H, W) input.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        Zero padding on each side; ``"same"`` needs stride 1 (and an odd dilated kernel).
    groups : int
        Only 1 is implemented (others raise NotImplementedError).
    bias : bool
        Learn an additive bias per output channel.
    padding_mode : "zeros"
        The only mode implemented.
    device : None or "cpu"
        pynn runs on the CPU only; any other device raises ValueError.
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels, kH, kW)
    bias : Parameter of shape (out_channels,) or None
        Both U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kH * kW, as PyTorch.

    Shape
    -----
    - Input: (N, C_in, H, W) or (C_in, H, W).
    - Output: (N, C_out, oH, oW) or (C_out, oH, oW), with
      ``oH = (H + 2 pH - dH (kH - 1) - 1) // sH + 1`` (``oW`` likewise).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        if groups != 1:
            raise NotImplementedError(f"Conv2d: groups={groups} is not implemented (only "
                                      f"groups=1)")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not "
                                      f"implemented (only 'zeros')")
        dtype = _layer_dtype(dtype, device)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: invalid padding string {padding!r}, should be one "
                                 f"of ['valid', 'same']")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the weight and bias as PyTorch's default initialisation does.

        ``kaiming_uniform_(a=sqrt(5))`` for the weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        for the bias.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        self._check_input(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation)

    def _forward_relu(self, input):
        """``relu(self(input))`` with the ReLU fused into the kernel (used by Sequential)."""
        self._check_input(input)
        return F._conv2d_relu(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation)

    def _forward_pooled(self, input, relu, pool):
        """``pool(relu?(self(input)))`` for a :class:`MaxPool2d` ``pool``, in one kernel call
        that pools the output while it is in cache (used by Sequential)."""
        self._check_input(input)
        return F._conv2d_maxpool(input, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, relu, pool.kernel_size, pool.stride,
                                 pool.padding)

    def _check_input(self, input):
        x = input._data if isinstance(input, Tensor) else input
        if not isinstance(x, np.ndarray) or x.ndim not in (3, 4) \
                or x.shape[-3] != self.in_channels or x.dtype != self.weight._data.dtype:
            raise self._input_error(x)

    def _input_error(self, x):
        if not isinstance(x, np.ndarray) or x.ndim not in (3, 4):
            return _input_error(self, x, "3-D (C, H, W) or 4-D (N, C, H, W) input")
        if x.shape[-3] != self.in_channels:
            layout = "(N, C, H, W)" if x.ndim == 4 else "(C, H, W)"
            return _input_error(self, x, f"input with {self.in_channels} channels (C of "
                                         f"{layout})")
        return _input_error(self, x, None)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s
