"""Activations and the softmax family: the kernel-backed ones (relu, leaky_relu, sigmoid,
tanh, gelu, softmax, log_softmax), the NumPy ones of ``pynn/ops/activation.py``, their
in-place spellings, ``rrelu`` and ``gumbel_softmax``."""

import sys
import warnings

import numpy as np

from ...ops.activation import (
    GeluFunction,
    GluFunction,
    LeakyReluFunction,
    PointwiseFunction,
    PReluFunction,
    ReluFunction,
    SigmoidFunction,
    TanhFunction,
    deferred_relu,
    sole_reference_count,
)
from ...ops.elementwise import MulFunction
from ...ops.softmax import LogSoftmaxFunction, SoftmaxFunction
from ...random import get_generator
from ...tensor import Tensor
from ._utils import _data, _tensor

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]


def relu(input, inplace=False):
    """``max(input, 0)``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool
        Write the result into ``input``; in the autograd graph ``input`` then takes the
        op's node as its ``grad_fn``, as in PyTorch.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    # A temporary (F.relu(self.conv(x))) may have its ReLU applied later, when a max-pool
    # then takes it; the count is read before anything else refers to the argument.
    if sys.getrefcount(input) == _ALONE and not inplace:
        out = deferred_relu(input)
        if out is not None:
            return out
    _check_tensor(input, "relu")
    if inplace:
        return _in_place(input, ReluFunction.apply, True)
    return ReluFunction.apply(input)


def _relu_probe(input, inplace=False):
    return sys.getrefcount(input)


_ALONE = sole_reference_count(_relu_probe)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, else ``negative_slope * input``.

    Parameters
    ----------
    input : Tensor of any shape
    negative_slope : float
    inplace : bool
        Write the result into ``input`` (in the graph too, as :func:`relu`).

    Returns
    -------
    Tensor of the shape of ``input``
    """
    _check_tensor(input, "leaky_relu")
    slope = float(negative_slope)
    if inplace:
        return _in_place(input, lambda t: LeakyReluFunction.apply(t, slope), True,
                         "LeakyReluBackward1")
    return LeakyReluFunction.apply(input, slope)


def sigmoid(input):
    """``1 / (1 + exp(-input))``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    _check_tensor(input, "sigmoid")
    if input.is_complex():
        return input.sigmoid()  # the kernel takes float32 and float64
    return SigmoidFunction.apply(input)


def tanh(input):
    """``tanh(input)``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    _check_tensor(input, "tanh")
    if input.is_complex():
        return input.tanh()  # the kernel takes float32 and float64
    return TanhFunction.apply(input)


def gelu(input, approximate="none"):
    """GELU, ``input * Phi(input)``, exact or tanh-approximated.

    Parameters
    ----------
    input : Tensor of any shape
    approximate : {"none", "tanh"}
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    _check_tensor(input, "gelu")
    return GeluFunction.apply(input, approximate)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        Any dimension (the kernels see it moved last). None: PyTorch's deprecated implicit
        choice (dim 0 for 0-, 1- and 3-D input, else dim 1), with its warning.
    _stacklevel : int
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("softmax", input, _stacklevel)
    return SoftmaxFunction.apply(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(input, dim))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
    _stacklevel : int
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("log_softmax", input, _stacklevel)
    return LogSoftmaxFunction.apply(input, dim)


_SELU_ALPHA = 1.6732632423543772848170429916717


_SELU_SCALE = 1.0507009873554804934193349852946


def _check_tensor(input, op):
    """PyTorch's TypeError for an input that is not a Tensor (None, an ndarray, a list)."""
    if not isinstance(input, Tensor):
        kind = type(input)
        name = kind.__qualname__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {name}")


def _in_place(input, fn, inplace, node_name=None):
    """``fn(input)``, written into ``input`` when ``inplace`` (PyTorch's ``inplace=True``).

    Outside the graph the values go into ``input``'s storage (a read-only one gets the
    out-of-place result); in the graph ``input`` takes the op's own node as its ``grad_fn``,
    as PyTorch's in-place activations do (``ReluBackward0``, not a copy's node), and a view
    writes through to its base. ``node_name`` is the node's name where PyTorch's in-place
    kernel differs from the out-of-place one (``EluBackward1``).
    """
    if not (inplace and isinstance(input, Tensor)):
        return fn(input)
    if not input._recording_inplace():
        if not input._data.flags.writeable:
            return fn(input)
        return input._inplace(fn)
    out = input._inplace(fn)
    if node_name is not None and out.grad_fn is not None and getattr(
            out.grad_fn, "_inputs", None) and out.grad_fn.name().endswith("Backward0"):
        out.grad_fn.name = lambda: node_name  # the instance's name: this node only
    return out


def _pointwise(name, input, args=(), inplace=False, node_name=None):
    if not inplace:
        return PointwiseFunction.apply(input, name, args)
    return _in_place(input, lambda t: PointwiseFunction.apply(t, name, args), True, node_name)


def elu(input, alpha=1.0, inplace=False):
    """``x`` where positive, else ``alpha (exp(x) - 1)``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (float(alpha), 1.0, 1.0), inplace, "EluBackward1")


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the self-normalising constants of Klambauer et al.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (_SELU_ALPHA, _SELU_SCALE, 1.0), inplace, "EluBackward1")


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (float(alpha), 1.0, 1.0 / alpha), inplace, "CeluBackward1")


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (swish).

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("silu", input, (), inplace)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("mish", input, (), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    Parameters
    ----------
    input : Tensor of any shape
    beta, threshold : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("softplus", input, (float(beta), float(threshold)))


def softsign(input):
    """``x / (1 + |x|)``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if isinstance(input, Tensor) and input.is_complex():  # not holomorphic: the graph's rules
        return input / (input.abs() + 1)
    return _pointwise("softsign", input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clipped to ``[min_val, max_val]``.

    Parameters
    ----------
    input : Tensor of any shape
    min_val, max_val : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _pointwise("hardtanh", input, (float(min_val), float(max_val)), inplace)


def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardswish", input, (), inplace)


def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardsigmoid", input, (), inplace)


def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("logsigmoid", input)


def tanhshrink(input):
    """``x - tanh(x)``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("tanhshrink", input)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    Parameters
    ----------
    input : Tensor of any shape
    lambd : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("softshrink", input, (float(lambd),))


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0.

    Parameters
    ----------
    input : Tensor of any shape
    lambd : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardshrink", input, (float(lambd),))


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value``.

    Parameters
    ----------
    input : Tensor of any shape
    threshold, value : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("threshold", input, (float(threshold), float(value)), inplace,
                      "ThresholdBackward1")


def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)``, ``weight`` one value or one per channel (dim 1).

    Parameters
    ----------
    input : Tensor of shape (N, C, *) (or any shape with a single weight)
    weight : Tensor of shape (1,) or (C,)

    Returns
    -------
    Tensor of the shape of ``input``
    """
    x, w = _data(input), _data(weight)
    if w.size != 1 and (x.ndim < 2 or w.size != x.shape[1]):
        raise ValueError(f"prelu: weight has {w.size} values but the input of shape {x.shape} "
                         f"has {x.shape[1] if x.ndim > 1 else 1} channels (dim 1)")
    return PReluFunction.apply(input, weight)


def glu(input, dim=-1):
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the halves of ``input`` on ``dim``.

    Parameters
    ----------
    input : Tensor of any shape, with an even size along ``dim``
    dim : int

    Returns
    -------
    Tensor with half the size along ``dim``
    """
    x = _data(input)
    if x.shape[dim] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size "
                         f"{x.shape[dim]}")
    return GluFunction.apply(input, dim % x.ndim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-input, dim)``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
    _stacklevel : int
    dtype : numpy dtype, optional

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dim is None:
        dim = _implicit_dim("softmin", input, _stacklevel)
    return softmax(-_tensor(input), dim, dtype=dtype)


def _implicit_dim(op, input, stacklevel):
    """PyTorch's deprecated choice of dimension for the softmax family, with its warning."""
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=stacklevel + 1)
    return 0 if np.ndim(_data(input)) in (0, 1, 3) else 1


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Sample from the Gumbel-softmax distribution.

    ``softmax((logits + g) / tau)`` with Gumbel noise g; ``hard`` returns one-hot samples whose
    gradient is the soft sample's.

    Parameters
    ----------
    logits : Tensor of shape (*, C)
    tau : float
    hard : bool
    eps : float
        Unused (PyTorch's deprecated argument).
    dim : int

    Returns
    -------
    Tensor of the shape of ``logits``
    """
    x = _data(logits)
    noise = -np.log(get_generator().exponential(size=x.shape)).astype(x.dtype)
    soft = softmax((_tensor(logits) + noise) / tau, dim)
    if not hard:
        return soft
    s = _data(soft)
    index = s.argmax(axis=dim)
    onehot = np.zeros_like(s)
    np.put_along_axis(onehot, np.expand_dims(index, dim), 1.0, axis=dim)
    return soft - soft.detach() + onehot


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU.

    Negative inputs are scaled by a slope drawn from U(lower, upper) per element in training, by
    ``(lower + upper) / 2`` otherwise.

    Parameters
    ----------
    input : Tensor of any shape
    lower, upper : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    _check_tensor(input, "rrelu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = _data(input)
    slope = get_generator().uniform(lower, upper, x.shape)
    factor = np.where(x >= 0, 1.0, slope).astype(x.dtype)
    return _in_place(input, lambda t: MulFunction.apply(t, factor), inplace)


def relu_(input):
    """:func:`relu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    _check_tensor(input, "relu_")
    return relu(input, inplace=True)


def elu_(input, alpha=1.0):
    """:func:`elu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
        The scale of the negative part.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    """:func:`celu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
        The scale of the negative part.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return celu(input, alpha, inplace=True)


def selu_(input):
    """:func:`selu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    """:func:`leaky_relu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    negative_slope : float

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    _check_tensor(input, "leaky_relu_")
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """:func:`hardtanh` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    min_val : float
    max_val : float

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    """:func:`threshold` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    threshold : float
        The threshold.
    value : float
        The output where ``input`` is not above ``threshold``.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return globals()["threshold"](input, threshold, value, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """:func:`rrelu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    lower : float
    upper : float
    training : bool

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    _check_tensor(input, "rrelu_")
    return rrelu(input, lower, upper, training, inplace=True)
