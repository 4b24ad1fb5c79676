"""Fully connected layer, and ``Identity``."""

import math

import numpy as np

from .._device import check_device
from .._dtype import get_default_dtype, np_dtype
from ..ops.matmul import LinearFunction
from ..tensor import Tensor
from . import functional as F
from . import init
from .lazy import LazyModuleMixin
from .module import Module
from .parameter import Parameter, UninitializedParameter

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]


def _layer_dtype(dtype, device=None):
    """The NumPy dtype of a layer's parameters: ``dtype`` (a pynn or NumPy dtype) or the
    default dtype; ``device`` must be the CPU."""
    check_device(device)
    dtype = np_dtype(get_default_dtype() if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"layer parameters must have a floating-point dtype, got {dtype}")
    return dtype


def _input_error(module, x, expected):
    """The error for input ``x`` that ``module`` cannot take: a TypeError for a dtype that
    is not the parameters' one, else a ValueError saying what was expected."""
    x = x._data if isinstance(x, Tensor) else x
    if not isinstance(x, np.ndarray):
        return TypeError(f"{module._layer_name()}: expected a pynn.Tensor input, got "
                         f"{type(x).__name__}")
    ref = next((p for p in module._parameters.values() if p is not None), None)
    if ref is not None and x.dtype != ref._data.dtype and x.ndim and expected is None:
        hint = (" (convert the input with .to(...), or the layer with .double() / .float())"
                if x.dtype.kind == "f" else " (convert it with .float())")
        return TypeError(f"{module._layer_name()}: input has dtype {x.dtype} but the layer's "
                         f"parameters are {ref._data.dtype}{hint}")
    if expected is None and x.dtype not in _COMPUTED_DTYPES:
        return TypeError(f"{module._layer_name()}: dtype {x.dtype} is not supported: pynn's "
                         "layers compute in float32 or float64 (convert the layer and its "
                         "input with .float())")
    return ValueError(f"{module._layer_name()}: expected {expected}, got shape {x.shape}")


# The dtypes the layers' kernels compute in (a .half() layer keeps its parameters, but
# running it is refused with the layer's name).
_COMPUTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Identity(Module):
    """Returns its input unchanged.

    Parameters
    ----------
    *args, **kwargs : any
        Ignored (as PyTorch's, for swapping a layer out without changing the call).

    Shape
    -----
    - Input: (*), anything.
    - Output: the input itself.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """Fully connected layer: ``y = x W^T + b``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias.
    device : None or "cpu"
        pynn runs on the CPU only; any other device raises ValueError.
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
        U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's ``kaiming_uniform_(a=sqrt(5))``).
    bias : Parameter of shape (out_features,) or None
        U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Shape
    -----
    - Input: ``(*, in_features)``.
    - Output: ``(*, out_features)``.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the weight and bias as PyTorch's default initialisation does.

        ``kaiming_uniform_(a=sqrt(5))`` for the weight, which is U(-1/sqrt(fan_in),
        1/sqrt(fan_in)), and the same bound for the bias.
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return self._linear(input, False)

    def _forward_relu(self, input):
        """``relu(self(input))`` with the ReLU fused into the GEMM (used by Sequential)."""
        return self._linear(input, True)

    def _linear(self, input, relu):
        # The input is checked here, where the error can name the layer; the weight and
        # bias are the layer's own, and the GEMM checks their shapes. They are read from the
        # registry: an attribute read of a parameter first fails the instance lookup and
        # then goes through __getattr__, a visible cost on the batch-1 step.
        params = self._parameters
        # Not in the registry when reparametrized (weight_norm, spectral_norm, parametrize);
        # .get(name, self.<name>) would compute a parametrized default on every call.
        weight = params["weight"] if "weight" in params else self.weight  # noqa: SIM401
        bias = params["bias"] if "bias" in params else self.bias  # noqa: SIM401
        x = input._data if isinstance(input, Tensor) else input
        if not isinstance(x, np.ndarray) or x.ndim == 0 or x.shape[-1] != self.in_features \
                or x.dtype != weight._data.dtype or x.dtype not in _COMPUTED_DTYPES:
            raise self._input_error(x)
        return LinearFunction.apply(input, weight, bias, relu)

    def _input_error(self, x):
        if isinstance(x, np.ndarray) and x.ndim and x.shape[-1] == self.in_features:
            return _input_error(self, x, None)
        return _input_error(self, x, f"input with {self.in_features} features (last "
                                     f"dimension)")

    def _layer_name(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x1^T A x2 + b`` for each output feature.

    Parameters
    ----------
    in1_features : int
        Size of the first input's last dimension.
    in2_features : int
        Size of the second input's last dimension.
    out_features : int
        Size of each output sample.
    bias : bool
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (out_features, in1_features, in2_features)
    bias : Parameter of shape (out_features,) or None
        Both U(-1/sqrt(in1_features), 1/sqrt(in1_features)), as PyTorch.

    Shape
    -----
    - Input1: ``(*, in1_features)``; Input2: ``(*, in2_features)``.
    - Output: ``(*, out_features)``.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.in1_features = int(in1_features)
        self.in2_features = int(in2_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in1_features,
                                          self.in2_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw weight and bias from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is taken from the first input.

    The weight and bias are uninitialised parameters until the first call (or a
    ``load_state_dict``) gives them their shapes, in place, so an optimiser built before then
    trains them; the layer is then a :class:`Linear`, as PyTorch's.

    Parameters
    ----------
    out_features : int
    bias : bool
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Shape
    -----
    - Input: ``(*, in_features)``, in_features fixed by the first call.
    - Output: ``(*, out_features)``.
    """

    _eager = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        dtype = _layer_dtype(dtype, device)
        self.in_features = 0
        self.out_features = int(out_features)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def _lazy_size(self):
        return self.in_features

    def _input_size(self, input):
        x = input._data if isinstance(input, Tensor) else np.asarray(input)
        return int(x.shape[-1])

    def _state_size(self, prefix, state_dict):
        w = state_dict.get(prefix + "weight")
        return None if w is None or len(np.shape(w)) != 2 else int(np.shape(w)[1])

    def _materialize(self, in_features):
        self.in_features = in_features
        self.weight.materialize((self.out_features, in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()

    def extra_repr(self):
        # before the first call the bias is uninitialised, not absent (as PyTorch prints it)
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
