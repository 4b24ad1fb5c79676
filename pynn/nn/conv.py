"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d``, their transposes, and the lazy
forms of all six (``in_channels`` taken from the first input)."""

import math

import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init
from .functional._conv import _SPATIAL, _check_operands, _same_sides
from .functional._utils import _data
from .lazy import LazyModuleMixin, uninitialized_like
from .linear import _input_error, _layer_dtype
from .module import Module
from .parameter import Parameter

__all__ = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
    "LazyConvTranspose3d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n, name, who="Conv2d"):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{who}: {name} must be an int or a tuple of {n}, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _pair(v, name):
    return _ntuple(v, 2, name)


class _ConvNd(Module):
    """What the convolution layers share: hyper-parameters, parameters with PyTorch's names,
    shapes and initialisation, the input check and the repr."""

    _n = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, device, dtype, output_padding=0):
        super().__init__()
        who = type(self).__name__
        n = self._n
        dtype = _layer_dtype(dtype, device)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{who}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{who}: padding_mode must be one of {list(_PADDING_MODES)}, but "
                             f"got padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {who}')
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size", who)
        self.stride = _ntuple(stride, n, "stride", who)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{who}: invalid padding string {padding!r}, should be one "
                                 f"of ['valid', 'same']")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding", who)
        self.dilation = _ntuple(dilation, n, "dilation", who)
        self.output_padding = _ntuple(output_padding, n, "output_padding", who)
        self.transposed = self._transposed
        self.groups = int(groups)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
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

    def _check_input(self, input):
        # not self.weight: a parametrized weight is computed anew at each read (F.conv*
        # checks its dtype then)
        w = self._parameters.get("weight")
        _check_operands(type(self).__name__, _data(input), None if w is None else w._data,
                        None, self._n, self.groups, self._transposed, layer=self)

    def _input_error(self, x):
        n = self._n
        dims = _SPATIAL[n]
        if not isinstance(x, np.ndarray) or x.ndim not in (n + 1, n + 2):
            return _input_error(self, x, f"{n + 1}-D (C, {dims}) or {n + 2}-D (N, C, {dims}) "
                                         f"input")
        if x.shape[-n - 1] != self.in_channels:
            layout = f"(N, C, {dims})" if x.ndim == n + 2 else f"(C, {dims})"
            return _input_error(self, x, f"input with {self.in_channels} channels (C of "
                                         f"{layout})")
        return _input_error(self, x, None)

    def _padded(self, input):
        """The input padded by ``padding_mode`` (and the padding left for the kernel)."""
        if self.padding_mode == "zeros" or self.padding == "valid":
            return input, self.padding
        if self.padding == "same":
            sides = _same_sides(self.kernel_size, self.dilation)
        else:
            sides = [(p, p) for p in self.padding]
        pads = []
        for lo, hi in reversed(sides):
            pads += [lo, hi]
        return F.pad(input, tuple(pads), mode=self.padding_mode), 0

    def extra_repr(self):
        n = self._n
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"  # 'same' prints unquoted, as PyTorch's
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W) input.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same"
        Zero padding on each side; ``"same"`` needs stride 1 (and an odd dilated kernel).
    groups : int
        Input and output channels are split into this many groups, convolved separately
        (one kernel call per group).
    bias : bool
        Learn an additive bias per output channel.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    device : None or "cpu"
        pynn runs on the CPU only; any other device raises ValueError.
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels / groups, kH, kW)
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
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)

    def _fusable(self):
        return self.groups == 1 and self.padding_mode == "zeros"

    def _forward_relu(self, input):
        """``relu(self(input))`` with the ReLU fused into the kernel (used by Sequential)."""
        if not self._fusable():
            return F.relu(self(input))
        self._check_input(input)
        return F._conv2d_relu(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation)

    def _forward_pooled(self, input, relu, pool):
        """``pool(relu?(self(input)))`` for a :class:`MaxPool2d` ``pool``, in one kernel call
        that pools the output while it is in cache (used by Sequential). Sequential decides
        its steps once, so a pool's options changed since then are honoured here."""
        if not self._fusable() or pool.ceil_mode or pool.return_indices:
            out = self(input)
            out = pool(F.relu(out) if relu else out)
            return out
        self._check_input(input)
        return F._conv2d_maxpool(input, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, relu, pool.kernel_size, pool.stride,
                                 pool.padding)


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over (N, C, L) input.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output.
    kernel_size : int
        The size of the window.
    stride : int
        The stride of the window.
    padding : int, "valid" or "same"
    dilation : int
        The spacing between kernel elements.
    groups : int
        Input and output channels are split into this many groups, convolved separately.
    bias : bool
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels / groups, kernel_size)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    - Input: (N, C_in, L) or (C_in, L).
    - Output: (N, C_out, oL), ``oL = (L + 2 p - d (k - 1) - 1) // s + 1``.
    """

    _n = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv3d(_ConvNd):
    """3-D convolution (cross-correlation) over (N, C, D, H, W) input.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, dilation : int or (int, int, int)
    padding : int, (int, int, int), "valid" or "same"
        Zero padding on each side; ``"same"`` needs stride 1.
    groups : int
        Input and output channels are split into this many groups, convolved separately.
    bias : bool
        Learn an additive bias per output channel.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels / groups, kD, kH, kW)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    - Input: (N, C_in, D, H, W) or (C_in, D, H, W).
    - Output: (N, C_out, oD, oH, oW), ``oD = (D + 2 pD - dD (kD - 1) - 1) // sD + 1``
      (``oH``, ``oW`` likewise).
    """

    _n = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        input, padding = self._padded(input)
        return F.conv3d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        x = input._data if isinstance(input, Tensor) else input
        n = self._n
        wanted = tuple(int(v) for v in tuple(output_size)[-n:])
        pads = []
        for i in range(n):
            base = ((x.shape[x.ndim - n + i] - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = wanted[i] - base
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"{self._layer_name()}: requested an output size of {wanted}, "
                                 f"which cannot be reached from input shape {x.shape}")
            pads.append(extra)
        return tuple(pads)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (the adjoint of Conv2d; "deconvolution") over NCHW input.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output.
    kernel_size : int or (int, int)
        The size of the window.
    stride : int or (int, int)
        The stride of the window.
    padding : int or (int, int)
        Zero padding on each side (of the equivalent convolution's output).
    output_padding : int or (int, int)
        ``output_padding`` adds rows/columns on one side of the output (smaller than
        stride).
    groups : int
    bias : bool
    dilation : int or (int, int)
        The spacing between kernel elements.
    padding_mode : "zeros"
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels / groups, kH, kW)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    - Input: (N, C_in, H, W) or (C_in, H, W).
    - Output: (N, C_out, oH, oW), ``oH = (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1``.
    """

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution over (N, C, L) input.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output.
    kernel_size : int
        The size of the window.
    stride : int
        The stride of the window.
    padding : int
        Zero padding on each side.
    output_padding : int
        Extra size added to one side of the output.
    groups : int
    bias : bool
    dilation : int
        The spacing between kernel elements.
    padding_mode : "zeros"
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels / groups, kernel_size)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    - Input: (N, C_in, L) or (C_in, L).
    - Output: (N, C_out, oL), ``oL = (L - 1) s - 2 p + d (k - 1) + op + 1``.
    """

    _n = 1

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution (the adjoint of Conv3d) over (N, C, D, H, W) input.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride : int or (int, int, int)
    padding : int or (int, int, int)
        Zero padding on each side (of the equivalent convolution's output).
    output_padding : int or (int, int, int)
        Extra size added to one side of the output (smaller than stride or dilation).
    groups : int
    bias : bool
    dilation : int or (int, int, int)
    padding_mode : "zeros"
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels / groups, kD, kH, kW)
    bias : Parameter of shape (out_channels,) or None

    Shape
    -----
    - Input: (N, C_in, D, H, W) or (C_in, D, H, W).
    - Output: (N, C_out, oD, oH, oW), ``oD = (D - 1) sD - 2 pD + dD (kD - 1) + opD + 1``
      (``oH``, ``oW`` likewise).
    """

    _n = 3

    def forward(self, input, output_size=None):
        self._check_input(input)
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class _LazyConv(LazyModuleMixin):
    """A convolution whose ``in_channels`` is the first input's channel count: built with a
    placeholder count, an uninitialised weight (and bias), both made at the first call."""

    def _lazy_init(self, out_channels, kernel_size, device, dtype, **args):
        self._eager.__init__(self, args["groups"], out_channels, kernel_size, **args,
                             device=device, dtype=dtype)
        self.in_channels = 0
        self.weight = uninitialized_like(self.weight)
        if self.bias is not None:
            self.bias = uninitialized_like(self.bias)

    def _lazy_size(self):
        return self.in_channels

    def _input_size(self, input):
        x = _data(input)
        n = self._n
        if not isinstance(x, np.ndarray) or x.ndim not in (n + 1, n + 2):
            raise self._input_error(x)
        return int(x.shape[-n - 1])

    def _state_size(self, prefix, state_dict):
        w = state_dict.get(prefix + "weight")
        if w is None or len(np.shape(w)) != self._n + 2:
            return None
        shape = np.shape(w)
        return int(shape[0]) if self._transposed else int(shape[1]) * self.groups

    def _materialize(self, in_channels):
        if in_channels % self.groups:
            raise ValueError(f"{self._layer_name()}: in_channels ({in_channels}) must be "
                             f"divisible by groups ({self.groups})")
        self.in_channels = in_channels
        if self._transposed:
            shape = (in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, in_channels // self.groups) + self.kernel_size
        self.weight.materialize(shape)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


def _lazy_class(eager):
    if eager._transposed:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                     groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                     dtype=None):
            _LazyConv._lazy_init(self, out_channels, kernel_size, device, dtype, stride=stride,
                                 padding=padding, output_padding=output_padding, groups=groups,
                                 bias=bias, dilation=dilation, padding_mode=padding_mode)
        extra = "\n    output_padding : int or tuple of int"
        padding_words = ""
    else:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                     bias=True, padding_mode="zeros", device=None, dtype=None):
            _LazyConv._lazy_init(self, out_channels, kernel_size, device, dtype, stride=stride,
                                 padding=padding, dilation=dilation, groups=groups, bias=bias,
                                 padding_mode=padding_mode)
        extra = ""
        padding_words = ', "valid" or "same"'
    name = "Lazy" + eager.__name__
    spatial = _SPATIAL[eager._n]
    doc = f"""A :class:`{eager.__name__}` whose ``in_channels`` is taken from the first input.

    The weight and bias are uninitialised parameters until the first call (or a
    ``load_state_dict``) gives them their shapes, in place, so an optimiser built before
    then trains them; the layer is then a :class:`{eager.__name__}`.

    Parameters
    ----------
    out_channels : int
    kernel_size, stride, dilation : int or tuple of int
    padding : int, tuple of int{padding_words}
    groups : int
    bias : bool
    padding_mode : str
        As :class:`{eager.__name__}`.
    device : str or pynn.device, optional
    dtype : pynn.dtype, optional{extra}

    Shape
    -----
    - Input: (N, C_in, {spatial}) or (C_in, {spatial}), C_in fixed by the first call.
    - Output: as :class:`{eager.__name__}`.
    """
    return type(name, (_LazyConv, eager), {"__init__": __init__, "_eager": eager,
                                           "__module__": __name__, "__qualname__": name,
                                           "__doc__": doc})


LazyConv1d = _lazy_class(Conv1d)
LazyConv2d = _lazy_class(Conv2d)
LazyConv3d = _lazy_class(Conv3d)
LazyConvTranspose1d = _lazy_class(ConvTranspose1d)
LazyConvTranspose2d = _lazy_class(ConvTranspose2d)
LazyConvTranspose3d = _lazy_class(ConvTranspose3d)
