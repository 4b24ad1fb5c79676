"""The base class of the distributions: shapes, sampling, argument validation, ``expand``."""

import warnings
from typing import ClassVar

import numpy as np

from .. import _dtype
from ..autograd import no_grad
from ..random import get_generator
from ..tensor import Size, Tensor, _wrap
from . import constraints
from .utils import as_tensor, lazy_property, shape_of

__all__ = ["Distribution", "ExponentialFamily"]


class Distribution:
    """Base class of the distributions, with PyTorch's shapes and checks.

    ``batch_shape`` counts independent distributions and ``event_shape`` is one draw's shape;
    a sample has shape ``sample_shape + batch_shape + event_shape``. ``arg_constraints`` names
    each parameter's :class:`~pynn.distributions.constraints.Constraint` and ``support`` the
    set samples live in: with ``validate_args`` (on by default, as in PyTorch; see
    :meth:`set_default_validate_args`) a parameter outside its constraint, or a ``log_prob``
    value outside the support, raises ValueError.

    Parameters
    ----------
    batch_shape : tuple of int
        The shape of the batch of distributions.
    event_shape : tuple of int
        The shape of one sample of one distribution.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``; None for the default.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: ClassVar[dict] = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        """Whether distributions validate their arguments unless told (default True).

        Parameters
        ----------
        value : bool
            The new default.
        """
        if value not in (True, False):
            raise ValueError("set_default_validate_args: expected a bool, got "
                             f"{value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self):
        arg_constraints = self.arg_constraints
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None),
                                                         lazy_property):
                continue  # a lazily derived form (probs of logits): checked through its source
            value = getattr(self, param)
            if not isinstance(value, Tensor):
                value = as_tensor(value)
            valid = constraint.check(value)
            if not bool(np.all(valid._data)):
                raise ValueError(
                    f"Expected parameter {param} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self):
        """The shape of the batch of distributions."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of one sample of one distribution."""
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """This distribution with its parameters broadcast to a larger ``batch_shape``.

        Parameters
        ----------
        batch_shape : tuple of int
            The new batch shape, which the current one broadcasts to.
        _instance : Distribution, optional
            Used by subclasses.

        Returns
        -------
        Distribution
            Of the same type, sharing the parameters' storage.
        """
        batch_shape = Size(shape_of(batch_shape))
        old = len(self._batch_shape)
        new = type(self).__new__(type(self)) if _instance is None else _instance
        for key, value in self.__dict__.items():
            if isinstance(value, Tensor) and key in self._expandable():
                event = tuple(value.shape[old:])
                value = value.expand(*(tuple(batch_shape) + event))
            new.__dict__[key] = value
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _expandable(self):
        """The attributes that carry the batch shape in front (the parameters)."""
        return set(self.arg_constraints) | {"probs", "logits"}

    def _extended_shape(self, sample_shape=()):
        return Size(shape_of(sample_shape) + tuple(self._batch_shape)
                    + tuple(self._event_shape))

    def sample(self, sample_shape=()):
        """A sample of shape ``sample_shape + batch_shape + event_shape``, outside the graph.

        Parameters
        ----------
        sample_shape : tuple of int or int
            How many draws, shaped.

        Returns
        -------
        Tensor of shape ``sample_shape + batch_shape + event_shape``
        """
        if not self.has_rsample:
            raise NotImplementedError(f"{type(self).__name__} has no sample")
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """A reparameterised sample, differentiable with respect to the parameters.

        Parameters
        ----------
        sample_shape : tuple of int or int
            How many draws, shaped.

        Returns
        -------
        Tensor of shape ``sample_shape + batch_shape + event_shape``
        """
        raise NotImplementedError(f"{type(self).__name__} has no rsample")

    def sample_n(self, n):
        """``sample((n,))`` (deprecated in PyTorch).

        Parameters
        ----------
        n : int
            The number of draws.

        Returns
        -------
        Tensor of shape ``(n,) + batch_shape + event_shape``
        """
        warnings.warn("sample_n will be deprecated. Use .sample((n,)) instead", UserWarning,
                      stacklevel=2)
        return self.sample((n,))

    def log_prob(self, value):
        """The log of the density (or mass) at ``value``.

        Parameters
        ----------
        value : Tensor of shape broadcastable to ``batch_shape + event_shape``
            Points of the support.

        Returns
        -------
        Tensor of the broadcast shape less ``event_shape``
        """
        raise NotImplementedError(f"{type(self).__name__} has no log_prob")

    def cdf(self, value):
        """The cumulative distribution function ``P(X <= value)``.

        Parameters
        ----------
        value : Tensor of shape broadcastable to ``batch_shape``
            Points.

        Returns
        -------
        Tensor of the broadcast shape
        """
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, value):
        """The inverse of :meth:`cdf` (the quantile function).

        Parameters
        ----------
        value : Tensor of shape broadcastable to ``batch_shape``
            Probabilities in ``[0, 1]``.

        Returns
        -------
        Tensor of the broadcast shape
        """
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def entropy(self):
        """The entropy, one per distribution of the batch.

        Returns
        -------
        Tensor of shape ``batch_shape``
        """
        raise NotImplementedError(f"{type(self).__name__} has no entropy")

    def enumerate_support(self, expand=True):
        """Every value of a discrete support, along a new leading dimension.

        Parameters
        ----------
        expand : bool
            Broadcast to ``(n,) + batch_shape + event_shape``; else ``(n,) + (1,) * len(batch
            shape) + event_shape``.

        Returns
        -------
        Tensor
        """
        raise NotImplementedError(f"{type(self).__name__} has no enumerate_support")

    @property
    def mean(self):
        """The mean."""
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self):
        """The mode (a most probable value)."""
        raise NotImplementedError(f"{type(self).__name__} has no mode")

    @property
    def variance(self):
        """The variance."""
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self):
        """The standard deviation."""
        return self.variance.sqrt()

    def perplexity(self):
        """``exp(entropy())``.

        Returns
        -------
        Tensor of shape ``batch_shape``
        """
        return self.entropy().exp()

    def _value(self, value, like):
        """``value`` as a Tensor of ``like``'s dtype (numbers and arrays), checked if asked."""
        value = as_tensor(value, like)
        if self._validate_args:
            self._validate_sample(value)
        return value

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")  # noqa: TRY004 (PyTorch's ValueError)
        event_dim = len(self._event_shape)
        shape = tuple(value.shape)
        if shape[len(shape) - event_dim:] != tuple(self._event_shape) or len(shape) < event_dim:
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{shape} vs {tuple(self._event_shape)}.")
        try:
            np.broadcast_shapes(shape[:len(shape) - event_dim], tuple(self._batch_shape))
        except ValueError:
            raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                             f"{shape} vs {tuple(self._batch_shape + self._event_shape)}."
                             ) from None
        support = self.support
        if support is None or constraints.is_dependent(support):
            return
        if not bool(np.all(support.check(value)._data)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{shape}) to be within the support ({support!r}) of the "
                             f"distribution {self!r}, but found invalid values:\n{value}")

    def _draw(self, fn, shape, like):
        """A graph-free Tensor of ``like``'s dtype from ``fn(numpy generator, shape)``."""
        return _wrap(np.asarray(fn(get_generator(), tuple(shape)), like._data.dtype,
                                order="C"), None)

    def _uniform(self, shape, like, low=0.0):
        """Uniform draws in ``(low, 1)``, kept off 0 (and 1) by the dtype's resolution."""
        finfo = _dtype.finfo(like.dtype)
        u = get_generator().random(tuple(shape))
        u = np.clip(u, max(float(finfo.tiny), low), 1 - float(finfo.eps))
        return _wrap(u.astype(like._data.dtype), None)

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{k}: {_brief(self.__dict__[k])}" for k in names)
        return f"{type(self).__name__}({args})"


def _brief(value):
    if isinstance(value, Tensor) and value.numel() != 1:
        return f"Tensor of shape {tuple(value.shape)}"
    return str(value)


class ExponentialFamily(Distribution):
    """Base class of exponential-family distributions (PyTorch's name, for ``isinstance``).

    Parameters
    ----------
    batch_shape : tuple of int
        The shape of the batch of distributions.
    event_shape : tuple of int
        The shape of one sample of one distribution.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """
