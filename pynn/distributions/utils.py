"""Helpers the distributions share (``torch.distributions.utils``): parameter broadcasting and
the conversions between probabilities and logits."""

import numbers

import numpy as np

from .. import _dtype
from .. import _math as _m
from ..tensor import Tensor, _wrap

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]


def as_tensor(x, like=None):
    """``x`` as a Tensor: a number takes ``like``'s dtype (else the default dtype)."""
    if isinstance(x, Tensor):
        return x
    dt = like._data.dtype if like is not None else _dtype.get_default_dtype().dtype
    return _wrap(np.asarray(x, dt), None)


def broadcast_all(*values):
    """The values as Tensors of one broadcast shape.

    Numbers take the dtype of the Tensors among ``values`` (else the default dtype).

    Parameters
    ----------
    *values : Tensor of broadcastable shapes, or number
        The parameters.

    Returns
    -------
    tuple of Tensor
        Each of the broadcast shape.
    """
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number, np.ndarray)):
            raise ValueError("broadcast_all: expected Tensors or numbers, got "  # noqa: TRY004 (PyTorch's ValueError)
                             f"{type(v).__name__}")
    like = next((v for v in values if isinstance(v, Tensor) and v.is_floating_point()), None)
    ts = [as_tensor(v, like) for v in values]
    shape = np.broadcast_shapes(*[t._data.shape for t in ts])
    return tuple(t if t._data.shape == shape else t.expand(*shape) for t in ts)


def clamp_probs(probs):
    """``probs`` clamped into ``[eps, 1 - eps]`` (``eps`` of its dtype), for finite logs.

    Parameters
    ----------
    probs : Tensor of any shape
        Probabilities.

    Returns
    -------
    Tensor of the same shape
    """
    eps = float(np.finfo(probs._data.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: ``sigmoid`` (binary) or ``softmax`` over the last dimension.

    Parameters
    ----------
    logits : Tensor of any shape
        Log-odds (binary) or unnormalised log-probabilities (categorical, last dimension).
    is_binary : bool
        Whether each element is its own Bernoulli's log-odds.

    Returns
    -------
    Tensor of the same shape
    """
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def probs_to_logits(probs, is_binary=False):
    """Logits from probabilities (clamped first, so that 0 and 1 give finite logits).

    Parameters
    ----------
    probs : Tensor of any shape
        Probabilities (of 1, when binary; normalised over the last dimension otherwise).
    is_binary : bool
        Whether to give log-odds ``log p - log(1 - p)`` rather than ``log p``.

    Returns
    -------
    Tensor of the same shape
    """
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


class lazy_property:
    """A property computed on first use and then stored on the instance.

    The distributions keep whichever of ``probs`` and ``logits`` they were given and compute
    the other only when read.

    Parameters
    ----------
    wrapped : callable
        The getter.
    """

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def sum_rightmost(value, dim):
    """``value`` summed over its rightmost ``dim`` dimensions (none when ``dim <= 0``)."""
    if dim <= 0:
        return value
    return value.reshape(*value.shape[:value.dim() - dim], -1).sum(-1)


def shape_of(sample_shape):
    """A ``sample_shape`` argument (int, tuple or Size) as a tuple."""
    if isinstance(sample_shape, numbers.Integral):
        return (int(sample_shape),)
    return tuple(int(s) for s in sample_shape)


def lgamma_np(x):
    """``log|gamma(x)|`` of an ndarray, elementwise (NumPy has no vectorised one)."""
    return _m.lgamma(_wrap(np.asarray(x, np.float64), None))._data


def const(array, like):
    """An ndarray as a graph-free Tensor of ``like``'s dtype."""
    return _wrap(np.asarray(array, like._data.dtype, order="C"), None)
