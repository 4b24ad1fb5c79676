"""Activation layers: each forwards to the function of the same name in
:mod:`pynn.functional`."""

import inspect
import warnings

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


class ReLU(Module):
    """``max(x, 0)``, elementwise.

    Parameters
    ----------
    inplace : bool
        Write the result into the input when it is outside the autograd graph.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x``.

    Parameters
    ----------
    negative_slope : float
    inplace : bool
        Write the result into the input when it is outside the autograd graph.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, elementwise.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``, elementwise.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """
    def forward(self, input):
        return F.tanh(input)


class GELU(Module):
    """Gaussian error linear unit ``x * Phi(x)``, exact or tanh-approximated.

    Parameters
    ----------
    approximate : {"none", "tanh"}
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))``, computed stably.

    Parameters
    ----------
    dim : int or None
        None: PyTorch's deprecated implicit choice (dim 0 of 0-, 1- and 3-D input, else dim
        1), with its warning.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input; slices along ``dim`` sum to 1.
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Parameters
    ----------
    dim : int or None
        None: PyTorch's deprecated implicit choice, as in :class:`Softmax`.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


_SHAPE_DOC = """
    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """


def _simple(name, fn_name, doc, params=(), defaults=(), fixed=None):
    """A parameter-free activation module forwarding to ``F.<fn_name>`` with the
    hyper-parameters ``params`` (PyTorch's names and defaults), shown by ``extra_repr``."""

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        values = dict(zip(params, defaults))
        if len(args) > len(params):
            raise TypeError(f"{name}() takes at most {len(params)} arguments")
        values.update(zip(params, args))
        for key, val in kwargs.items():
            if key not in params:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
            values[key] = val
        for key in params:
            setattr(self, key, values[key])

    def forward(self, input):
        return getattr(F, fn_name)(input, *(getattr(self, k) for k in params))

    def extra_repr(self):
        parts = []
        for key in params:
            val = getattr(self, key)
            if key == "inplace":
                if val:
                    parts.append("inplace=True")
            else:
                parts.append(f"{key}={val}")
        return ", ".join(parts)

    # The documented signature is PyTorch's, not ``(*args, **kwargs)``.
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
           for k, d in zip(params, defaults)])
    entries = "".join(f"\n    {k} : {_PARAM_DOCS[k]}" for k in params)
    section = f"\n\n    Parameters\n    ----------{entries}\n" if params else "\n"
    return type(name, (Module,), {
        "__init__": __init__, "forward": forward, "extra_repr": extra_repr,
        "__doc__": doc + section + _SHAPE_DOC, "__module__": __name__,
        "__qualname__": name,
    })


# The hyper-parameters of the modules of _simple: ``name : type`` and a description.
_PARAM_DOCS = {
    "alpha": "float\n        The scale of the negative part.",
    "inplace": "bool\n        Whether to overwrite the input (the result is the input).",
    "beta": "float\n        The sharpness of the curve.",
    "threshold": "float\n        Above it (Softplus: ``beta x`` above it) the output is the input.",
    "value": "float\n        The output where the input is not above ``threshold``.",
    "lambd": "float\n        The half-width of the band around 0 that is shrunk or zeroed.",
    "dim": "int\n        The dimension split into the two halves.",
}


ELU = _simple("ELU", "elu", "``x`` where positive, else ``alpha (exp(x) - 1)``.",
              ("alpha", "inplace"), (1.0, False))
CELU = _simple("CELU", "celu", "``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.",
               ("alpha", "inplace"), (1.0, False))
SELU = _simple("SELU", "selu", "Scaled ELU with the self-normalising constants.",
               ("inplace",), (False,))
SiLU = _simple("SiLU", "silu", "``x * sigmoid(x)`` (swish).", ("inplace",), (False,))
Mish = _simple("Mish", "mish", "``x * tanh(softplus(x))``.", ("inplace",), (False,))
Softplus = _simple("Softplus", "softplus", "``log(1 + exp(beta x)) / beta`` (linear above "
                   "``threshold``).", ("beta", "threshold"), (1.0, 20.0))
Softsign = _simple("Softsign", "softsign", "``x / (1 + |x|)``.")
Hardsigmoid = _simple("Hardsigmoid", "hardsigmoid", "``relu6(x + 3) / 6``.", ("inplace",),
                      (False,))
Hardswish = _simple("Hardswish", "hardswish", "``x * relu6(x + 3) / 6``.", ("inplace",),
                    (False,))
LogSigmoid = _simple("LogSigmoid", "logsigmoid", "``log(sigmoid(x))``, computed stably.")
Tanhshrink = _simple("Tanhshrink", "tanhshrink", "``x - tanh(x)``.")
Softshrink = _simple("Softshrink", "softshrink", "Shrink towards 0 by ``lambd``.", ("lambd",),
                     (0.5,))
Hardshrink = _simple("Hardshrink", "hardshrink", "``x`` where ``|x| > lambd``, else 0.",
                     ("lambd",), (0.5,))
Threshold = _simple("Threshold", "threshold", "``x`` where ``x > threshold``, else ``value``.",
                    ("threshold", "value", "inplace"), (None, None, False))
GLU = _simple("GLU", "glu", "Gated linear unit: ``a * sigmoid(b)`` of the halves along ``dim``.",
              ("dim",), (-1,))


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``.

    Parameters
    ----------
    min_val, max_val : float
    inplace : bool
    min_value, max_value : float, optional
        PyTorch's deprecated names of ``min_val`` and ``max_val`` (with its warning).

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        if min_value is not None or max_value is not None:
            warnings.warn("keyword argument `min_value`/`max_value` is deprecated and will be "
                          "removed in the future; use `min_val`/`max_val` instead",
                          FutureWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``.

    Parameters
    ----------
    inplace : bool

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class PReLU(Module):
    """``max(0, x) + weight * min(0, x)`` with a learned ``weight``.

    Parameters
    ----------
    num_parameters : int
        1 (one slope shared) or the number of channels (dim 1 of the input).
    init : float
        The initial slope.
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (num_parameters,)

    Shape
    -----
    - Input: ``(N, C, *)`` or any shape with ``num_parameters=1``.
    - Output: the shape of the input.
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        from .linear import _layer_dtype
        from .parameter import Parameter

        self.num_parameters = int(num_parameters)
        self.init = init
        self.weight = Parameter(np.full(self.num_parameters, init,
                                        _layer_dtype(dtype, device)))

    def reset_parameters(self):
        """Set every slope back to ``init``."""
        self.weight._data.fill(self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softmin(Module):
    """``softmax(-x)`` along ``dim``.

    Parameters
    ----------
    dim : int

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) at every position.

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: the shape of the input.
    """

    def forward(self, input):
        x = input._data if isinstance(input, Tensor) else input
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input of 3 or 4 dimensions, got shape "
                             f"{x.shape}")
        return F.softmax(input, -3)


class RReLU(Module):
    """Randomised leaky ReLU.

    In train mode each negative input is scaled by a slope drawn from U(lower, upper); in eval mode
    by ``(lower + upper) / 2``.

    Parameters
    ----------
    lower, upper : float
    inplace : bool

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                            else "")
