"""Activation layers: each forwards to the function of the same name in
:mod:`pynn.functional`."""

import warnings

from . import functional as F
from ..tensor import Tensor
from .module import Module

__all__ = ["GELU", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "Softmax", "Tanh"]


class ReLU(Module):
    """``max(x, 0)``, elementwise.

    Parameters
    ----------
    inplace : bool
        Accepted and ignored: pynn never overwrites the input.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x``.

    Parameters
    ----------
    negative_slope : float
    inplace : bool
        Accepted and ignored: pynn never overwrites the input.

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
        return F.leaky_relu(input, self.negative_slope)

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


def _dim(module, input):
    """``module.dim``, or -1 when it is None.

    PyTorch's ``dim=None`` is a deprecated legacy rule (dim 0 for 0-, 1- and 3-D input, else
    dim 1). pynn uses the last dimension instead, which agrees with that rule for 1-D and
    2-D input (the usual (N, classes) case) and warns where the two differ (3-D and more).
    """
    if module.dim is not None:
        return module.dim
    ndim = input.ndim if isinstance(input, Tensor) else getattr(input, "ndim", 0)
    if ndim >= 3:
        warnings.warn(f"{type(module).__name__}(dim=None) on {ndim}-D input: pynn uses the last "
                      f"dimension, where PyTorch's legacy rule takes dim {0 if ndim == 3 else 1}"
                      f"; pass dim explicitly", stacklevel=3)
    return -1


class Softmax(Module):
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))``, computed stably.

    Parameters
    ----------
    dim : int or None
        None means the last dimension. (PyTorch's deprecated implicit choice takes dim 0 of
        3-D input and dim 1 of 4-D and more; there pynn warns and uses the last dimension.)

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input; slices along ``dim`` sum to 1.
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, _dim(self, input))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Parameters
    ----------
    dim : int or None
        None means the last dimension, as in :class:`Softmax`.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, _dim(self, input))

    def extra_repr(self):
        return f"dim={self.dim}"
