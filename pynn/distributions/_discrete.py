"""Discrete distributions: Bernoulli, Categorical and the counts built on them."""

import math
from typing import ClassVar

import numpy as np

from .. import _dtype
from .. import _factory as _f
from ..nn import functional as _F
from ..tensor import Size, _wrap
from . import constraints
from .distribution import Distribution, ExponentialFamily
from .utils import (
    as_tensor,
    broadcast_all,
    const,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
    shape_of,
)

__all__ = ["Bernoulli", "Binomial", "Categorical", "Geometric", "Multinomial",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _BinaryParam:
    """One parameter given as ``probs`` (the probability of 1, or of success) or as
    ``logits`` (its log-odds), the other computed when first read: what Bernoulli, Binomial,
    NegativeBinomial, Geometric, ContinuousBernoulli and LogitRelaxedBernoulli share. A mixin
    before the Distribution base."""

    def _set_probs_or_logits(self, probs, logits, *others):
        """Keep the one of ``probs`` and ``logits`` given (ValueError unless exactly one),
        broadcast with ``others``; return the broadcast ``others`` and the batch shape."""
        _one_of(probs, logits)
        name, value = ("probs", probs) if probs is not None else ("logits", logits)
        *others, param = broadcast_all(*others, value)
        setattr(self, name, param)
        return (*others, param.shape)

    @lazy_property
    def logits(self):
        """The log-odds ``log p - log(1 - p)``."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability ``p`` (of 1, or of success)."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def _param(self):
        return self.__dict__.get("probs", self.__dict__.get("logits"))


def _softplus(x):
    return _F.softplus(x)


class Bernoulli(_BinaryParam, ExponentialFamily):
    """A Bernoulli distribution over {0, 1} (``torch.distributions.Bernoulli``).

    Parameters
    ----------
    probs : Tensor or float, optional
        The probability of 1, of the batch shape.
    logits : Tensor or float, optional
        Its log-odds, of the batch shape. Give exactly one of ``probs`` and ``logits``; the
        other is computed when first read.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        (shape,) = self._set_probs_or_logits(probs, logits)
        super().__init__(shape, validate_args=validate_args)

    @property
    def param_shape(self):
        """The parameters' shape (the batch shape)."""
        return Size(self._param.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        mode = const((p._data >= 0.5).astype(np.float64), p)
        return mode.masked_fill(p == 0.5, float("nan"))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs._data, shape)
        u = self._draw(lambda g, s: g.random(s), shape, self._param)._data
        return const((u < p).astype(np.float64), self._param)

    def log_prob(self, value):
        value = self._value(value, self._param)
        # log sigmoid(l) = -softplus(-l); log(1 - sigmoid(l)) = -softplus(l)
        return -(value * _softplus(-self.logits) + (1 - value) * _softplus(self.logits))

    def entropy(self):
        return self.probs * _softplus(-self.logits) + (1 - self.probs) * _softplus(self.logits)

    def enumerate_support(self, expand=True):
        v = np.arange(2.0).reshape((2,) + (1,) * len(self._batch_shape))
        if expand:
            v = np.broadcast_to(v, (2,) + tuple(self._batch_shape))
        return const(v, self._param)


class Categorical(Distribution):
    """A categorical distribution over ``0 .. K-1`` (``torch.distributions.Categorical``).

    Parameters
    ----------
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``; the
        other is computed when first read.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            probs = as_tensor(probs)
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            param = self.probs
        else:
            logits = as_tensor(logits)
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            param = self.logits
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self):
        """The normalised log-probabilities (``log probs``, clamped away from -inf)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """The probabilities, summing to 1 along the last dimension."""
        return logits_to_probs(self.logits)

    @property
    def _param(self):
        return self.__dict__.get("probs", self.__dict__.get("logits"))

    @property
    def param_shape(self):
        """The parameters' shape, ``batch_shape + (K,)``."""
        return Size(self._param.shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        """``{0, ..., K-1}``."""
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        return const(np.full(tuple(self._batch_shape), np.nan), self._param)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.mean

    def sample(self, sample_shape=()):
        shape = shape_of(sample_shape)
        n = math.prod(shape)
        p = self.probs._data.astype(np.float64).reshape(-1, self._num_events)
        cum = np.cumsum(p, -1)
        cum /= cum[:, -1:]
        u = self._draw(lambda g, s: g.random(s), (n, p.shape[0]), self.probs)._data
        draws = (u[..., None] >= cum).sum(-1)
        # a zero-probability category is never drawn, even where cum repeats at the end
        draws = np.minimum(draws, self._num_events - 1)
        return _wrap(np.asarray(draws.reshape(shape + tuple(self._batch_shape)),
                                np.int64, order="C"), None)

    def log_prob(self, value):
        value = self._value(value, self._param).long()
        logits = self.logits
        shape = np.broadcast_shapes(tuple(value.shape), tuple(logits.shape[:-1]))
        if tuple(logits.shape[:-1]) != shape:
            logits = logits.expand(*shape, self._num_events)
        if tuple(value.shape) != shape:
            value = value.expand(*shape)
        return logits.gather(-1, value.unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(_dtype.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        k = np.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            k = np.broadcast_to(k, (self._num_events,) + tuple(self._batch_shape))
        return _wrap(np.asarray(k, np.int64, order="C"), None)

    def _validate_sample(self, value):
        value = value if value.is_floating_point() else value.double()
        super()._validate_sample(value)


class _CategoricalParams:
    """The parameters of a distribution built on a Categorical (``self._categorical``):
    OneHotCategorical, Multinomial, ExpRelaxedCategorical. A mixin before the Distribution
    base."""

    @property
    def probs(self):
        """The probabilities, summing to 1 along the last dimension."""
        return self._categorical.probs

    @property
    def logits(self):
        """The normalised log-probabilities."""
        return self._categorical.logits

    @property
    def param_shape(self):
        """The parameters' shape, ``batch_shape + (K,)``."""
        return self._categorical.param_shape


class OneHotCategorical(_CategoricalParams, Distribution):
    """A categorical with one-hot samples (``torch.distributions.OneHotCategorical``).

    Parameters
    ----------
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = Size(shape_of(batch_shape))
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        k = self._event_shape[0]
        return _F.one_hot(self.probs.argmax(-1), k).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return _F.one_hot(idx, self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value):
        value = self._value(value, self.probs)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        k = self._event_shape[0]
        v = np.eye(k).reshape((k,) + (1,) * len(self._batch_shape) + (k,))
        if expand:
            v = np.broadcast_to(v, (k,) + tuple(self._batch_shape) + (k,))
        return const(v, self.probs)


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """One-hot samples with the straight-through gradient (PyTorch's class of that name).

    ``rsample`` returns the one-hot draw in the forward pass and passes the gradient on to
    ``probs`` as if the draw were ``probs`` (a biased estimator, Bengio et al., 2013).

    Parameters
    ----------
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    has_rsample = True

    def rsample(self, sample_shape=()):
        draw = self.sample(sample_shape)
        return draw + (self.probs - self.probs.detach())


class _Trials(_BinaryParam, Distribution):
    """A count of Bernoulli trials' outcomes with a ``total_count``: the parameters (one of
    ``probs`` and ``logits``, broadcast with the count, which takes their dtype) and their
    conversions, shared by :class:`Binomial` and ``NegativeBinomial``."""

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        total_count, shape = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = total_count.to(self._param.dtype)
        super().__init__(shape, validate_args=validate_args)


class Binomial(_Trials):
    """The number of successes in ``total_count`` trials (``torch.distributions.Binomial``).

    Parameters
    ----------
    total_count : Tensor or int
        The number of trials (non-negative; broadcast with the probabilities).
    probs : Tensor, optional
        The probability of success of each trial (broadcast with ``total_count``).
    logits : Tensor, optional
        Its log-odds (broadcast with ``total_count``). Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        super().__init__(total_count, probs, logits, validate_args=validate_args)

    @property
    def param_shape(self):
        """The parameters' shape (the batch shape)."""
        return Size(self._param.shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        """``{0, ..., total_count}``."""
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        n = np.broadcast_to(self.total_count._data, shape).astype(np.int64)
        p = np.broadcast_to(self.probs._data.astype(np.float64), shape)
        return self._draw(lambda g, s: g.binomial(n, p), shape, self._param)

    def log_prob(self, value):
        value = self._value(value, self._param)
        n, logits = self.total_count, self.logits
        # log(1 + e^l) written as max(l, 0) + log1p(e^-|l|), the normaliser n log(1 + e^l)
        norm = n * _softplus(logits) - (n + 1).lgamma()
        return value * logits - norm - (value + 1).lgamma() - (n - value + 1).lgamma()

    def entropy(self):
        n = self.total_count._data
        if n.size and not np.all(n == n.flat[0]):
            raise NotImplementedError("Inhomogeneous total count not supported by "
                                      "`entropy`.")
        support = self.enumerate_support(expand=False)
        lp = self.log_prob(support)
        return -(lp.exp() * lp).sum(0)

    def enumerate_support(self, expand=True):
        n = self.total_count._data
        if n.size and not np.all(n == n.flat[0]):
            raise NotImplementedError("Inhomogeneous total count not supported by "
                                      "`enumerate_support`.")
        top = int(n.flat[0]) if n.size else 0
        v = np.arange(top + 1.0).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            v = np.broadcast_to(v, (top + 1,) + tuple(self._batch_shape))
        return const(v, self._param)


class Multinomial(_CategoricalParams, Distribution):
    """Category counts of ``total_count`` draws (``torch.distributions.Multinomial``).

    Parameters
    ----------
    total_count : int
        The number of draws (one for the whole batch).
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, (int, np.integer)):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits,
                                        validate_args=validate_args)
        self._binomial = Binomial(self.total_count, probs=self._categorical.probs,
                                  validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = Size(shape_of(batch_shape))
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = self._binomial.expand(tuple(batch_shape) + tuple(self._event_shape))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        """Count vectors summing to at most ``total_count``."""
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = shape_of(sample_shape)
        k = self._event_shape[0]
        p = self.probs._data.astype(np.float64).reshape(-1, k)
        p = p / p.sum(-1, keepdims=True)
        from ..random import get_generator

        draws = get_generator().multinomial(self.total_count, p, size=shape + (p.shape[0],))
        return const(draws.reshape(shape + tuple(self._batch_shape) + (k,)), self.probs)

    def log_prob(self, value):
        value = self._value(value, self.probs)
        logits = self.logits
        # 0 * log 0 counts as 0: a category of probability 0 that was not drawn
        zero = ((value == 0) & (logits == float("-inf")))
        if bool(zero.any()):
            logits = logits.masked_fill(zero, 0.0)
        return ((value.sum(-1) + 1).lgamma() - (value + 1).lgamma().sum(-1)
                + (logits * value).sum(-1))

    def entropy(self):
        n = self.total_count
        support = self._binomial.enumerate_support(expand=False)  # (n+1, 1.., 1)
        weights = self._binomial.log_prob(support).exp()
        return (n * self._categorical.entropy() - math.lgamma(n + 1)
                + (weights * (support + 1).lgamma()).sum((0, -1)))


class Geometric(_BinaryParam, Distribution):
    """The number of failures before the first success (``torch.distributions.Geometric``).

    Parameters
    ----------
    probs : Tensor or float, optional
        The probability of success of each trial, in ``(0, 1]``, of the batch shape.
    logits : Tensor or float, optional
        Its log-odds, of the batch shape. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.interval(0.0, 1.0),
                                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        (shape,) = self._set_probs_or_logits(probs, logits)
        super().__init__(shape, validate_args=validate_args)
        if self._validate_args and probs is not None and bool((self.probs == 0).any()):
            raise ValueError("Geometric: expected probs in (0, 1], got a 0")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return _f.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        p = np.broadcast_to(self.probs._data.astype(np.float64), shape)
        return self._draw(lambda g, s: g.geometric(p) - 1, shape, self._param)

    def log_prob(self, value):
        value = self._value(value, self._param)
        p = self.probs
        certain = (p == 1) & (value == 0)  # 0 * log(0): a sure success, no failures
        q = p.masked_fill(certain, 0.0) if bool(certain.any()) else p
        return value * (-q).log1p() + p.log()

    def entropy(self):
        return _F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                   reduction="none") / self.probs


class Poisson(ExponentialFamily):
    """The Poisson distribution of mean ``rate`` (``torch.distributions.Poisson``).

    Parameters
    ----------
    rate : Tensor or float
        The mean (non-negative), of the batch shape.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        lam = np.broadcast_to(self.rate._data.astype(np.float64), shape)
        return self._draw(lambda g, s: g.poisson(lam), shape, self.rate)

    def log_prob(self, value):
        value = self._value(value, self.rate)
        return value.xlogy(self.rate) - self.rate - (value + 1).lgamma()

