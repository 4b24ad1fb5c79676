"""Probability distributions with PyTorch's interface (``torch.distributions``).

``pynn.distributions``: the probability distributions scripts use most (``Categorical``,
``Normal``, ``Bernoulli``, ``Uniform``) with PyTorch's interface: ``sample``, ``rsample``
(reparameterised, differentiable), ``log_prob`` and ``entropy`` (differentiable with respect
to the parameters), ``mean``, ``stddev``, ``variance``, and :func:`kl_divergence`.

Samples come from pynn's global generator (:func:`pynn.manual_seed`).
"""

import math
import numbers
import sys

import numpy as np

from . import _dtype
from ._factory import multinomial, rand, randn
from .autograd import no_grad
from .tensor import Size, Tensor, _wrap

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "kl_divergence"]


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    dt = like._data.dtype if like is not None else _dtype.get_default_dtype().dtype
    return _wrap(np.asarray(x, dt), None)


def _broadcast(*values):
    """The parameters as Tensors of one shape (numbers take the dtype of the tensors)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    ts = [_as_tensor(v, like) for v in values]
    shape = np.broadcast_shapes(*[t._data.shape for t in ts])
    return [t if t._data.shape == shape else t.expand(*shape) for t in ts]


def _shape(sample_shape):
    if isinstance(sample_shape, numbers.Integral):
        return (int(sample_shape),)
    return tuple(sample_shape)


class Distribution:
    """Base class of the distributions, with PyTorch's shapes.

    ``batch_shape`` counts independent distributions and ``event_shape`` is one draw's shape.

    Parameters
    ----------
    batch_shape : tuple of int
    event_shape : tuple of int
    validate_args : bool, optional
        Accepted for PyTorch's signature.
    """

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)

    @property
    def batch_shape(self):
        """The shape of the batch of distributions."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of one sample of one distribution."""
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape=()):
        """A sample of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """A reparameterised sample, differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample")

    def sample_n(self, n):
        """``sample((n,))``."""
        return self.sample((n,))

    @property
    def stddev(self):
        """The standard deviation."""
        return self.variance.sqrt()

    def perplexity(self):
        """``exp(entropy())``."""
        return self.entropy().exp()

    def __repr__(self):
        return f"{type(self).__name__}()"


class Categorical(Distribution):
    """A categorical distribution over ``0 .. K-1`` (``torch.distributions.Categorical``).

    Parameters
    ----------
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Accepted for PyTorch's signature.
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _as_tensor(probs)
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            eps = float(np.finfo(self.probs._data.dtype).eps)
            self.logits = self.probs.clamp(eps, 1 - eps).log()
        else:
            logits = _as_tensor(logits)
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self._num_events = self.probs._data.shape[-1]
        super().__init__(self.probs._data.shape[:-1])

    @property
    def param_shape(self):
        """The parameters' shape, ``batch_shape + (K,)``."""
        return Size(self.probs._data.shape)

    @property
    def mean(self):
        """Undefined (NaN), as in PyTorch."""
        return _wrap(np.full(self._batch_shape, np.nan, self.probs._data.dtype), None)

    @property
    def mode(self):
        """The most probable category."""
        return self.probs.argmax(-1)

    @property
    def variance(self):
        """Undefined (NaN), as in PyTorch."""
        return self.mean

    def sample(self, sample_shape=()):
        """Category indices (int64) of shape ``sample_shape + batch_shape``."""
        shape = _shape(sample_shape)
        n = math.prod(shape)
        rows = self.probs.detach().reshape(-1, self._num_events)
        draws = multinomial(rows, n, replacement=True)._data  # (B, n)
        out = np.moveaxis(draws, 1, 0).reshape(shape + tuple(self._batch_shape))
        return _wrap(np.ascontiguousarray(out), None)

    def log_prob(self, value):
        """``log p(value)``, differentiable with respect to the parameters.

        Parameters
        ----------
        value : Tensor of category indices, shaped ``sample_shape + batch_shape``
        """
        value = _as_tensor(value).long()
        logits = self.logits
        shape = np.broadcast_shapes(value._data.shape, logits._data.shape[:-1])
        if logits._data.shape[:-1] != shape:
            logits = logits.expand(*shape, self._num_events)
        if value._data.shape != shape:
            value = value.expand(*shape)
        return logits.gather(-1, value.unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        """``-sum(p log p)`` over the categories."""
        return -(self.logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        """The categories ``0 .. K-1``, shaped ``(K,) + batch_shape`` (or ``(K, 1, ...)``)."""
        k = np.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            k = np.broadcast_to(k, (self._num_events,) + tuple(self._batch_shape)).copy()
        return _wrap(k.astype(np.int64), None)

    def __repr__(self):
        return f"Categorical(probs: {tuple(self.probs._data.shape)})"


class Normal(Distribution):
    """A normal distribution (``torch.distributions.Normal``).

    Parameters
    ----------
    loc : Tensor or float
        The mean, of the batch shape (``loc`` and ``scale`` broadcast together).
    scale : Tensor or float
        The standard deviation (positive).
    validate_args : bool, optional
        Accepted for PyTorch's signature.
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast(loc, scale)
        super().__init__(self.loc._data.shape)

    @property
    def mean(self):
        """``loc``."""
        return self.loc

    @property
    def mode(self):
        """``loc``."""
        return self.loc

    @property
    def stddev(self):
        """``scale``."""
        return self.scale

    @property
    def variance(self):
        """``scale ** 2``."""
        return self.scale.pow(2)

    def rsample(self, sample_shape=()):
        """``loc + scale * eps`` with standard normal ``eps``: differentiable."""
        eps = randn(self._extended_shape(sample_shape), dtype=self.loc._data.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        """The log-density at ``value``."""
        value = _as_tensor(value, self.loc)
        var = self.scale.pow(2)
        return -((value - self.loc).pow(2)) / (2 * var) - self.scale.log() - \
            0.5 * math.log(2 * math.pi)

    def entropy(self):
        """``0.5 + 0.5 log(2 pi) + log(scale)``."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        """``P(X <= value)``."""
        value = _as_tensor(value, self.loc)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def __repr__(self):
        return f"Normal(loc: {self.loc}, scale: {self.scale})"


class Bernoulli(Distribution):
    """A Bernoulli distribution over {0, 1} (``torch.distributions.Bernoulli``).

    Parameters
    ----------
    probs : Tensor or float, optional
        The probability of 1, of the batch shape.
    logits : Tensor or float, optional
        Its log-odds, of the batch shape. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Accepted for PyTorch's signature.
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = _broadcast(probs)
            eps = float(np.finfo(self.probs._data.dtype).eps)
            p = self.probs.clamp(eps, 1 - eps)
            self.logits = p.log() - (1 - p).log()
        else:
            (self.logits,) = _broadcast(logits)
            self.probs = self.logits.sigmoid()
        super().__init__(self.probs._data.shape)

    @property
    def mean(self):
        """``probs``."""
        return self.probs

    @property
    def variance(self):
        """``probs * (1 - probs)``."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """0/1 values of the parameters' dtype, shaped ``sample_shape + batch_shape``."""
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs._data, shape)
        u = rand(shape, dtype=self.probs._data.dtype)._data
        return _wrap((u < p).astype(self.probs._data.dtype), None)

    def log_prob(self, value):
        """``value log p + (1 - value) log(1 - p)``, computed from the logits stably."""
        value = _as_tensor(value, self.logits)
        # log sigmoid(l) = -softplus(-l); log(1 - sigmoid(l)) = -softplus(l)
        return -(value * _softplus(-self.logits) + (1 - value) * _softplus(self.logits))

    def entropy(self):
        """``-(p log p + (1 - p) log(1 - p))``."""
        return self.probs * _softplus(-self.logits) + (1 - self.probs) * _softplus(self.logits)

    def __repr__(self):
        return f"Bernoulli(probs: {self.probs})"


def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


class Uniform(Distribution):
    """The uniform distribution on ``[low, high)`` (``torch.distributions.Uniform``).

    Parameters
    ----------
    low, high : Tensor or float
        The bounds, broadcast together to the batch shape.
    validate_args : bool, optional
        Accepted for PyTorch's signature.
    """

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast(low, high)
        super().__init__(self.low._data.shape)

    @property
    def mean(self):
        """``(low + high) / 2``."""
        return (self.low + self.high) / 2

    @property
    def variance(self):
        """``(high - low) ** 2 / 12``."""
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        """``low + u (high - low)``, differentiable in ``low`` and ``high``."""
        u = rand(self._extended_shape(sample_shape), dtype=self.low._data.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        """``-log(high - low)`` inside the support, ``-inf`` outside."""
        value = _as_tensor(value, self.low)
        inside = ((value >= self.low) & (value < self.high))._data
        lp = -(self.high - self.low).log()
        return lp + _wrap(np.where(inside, 0.0, -np.inf).astype(lp._data.dtype), None)

    def entropy(self):
        """``log(high - low)``."""
        return (self.high - self.low).log()


def kl_divergence(p, q):
    """``KL(p || q)`` for two distributions of one family (Normal, Categorical, Bernoulli).

    Parameters
    ----------
    p, q : Distribution
        Of the same family and broadcastable batch shapes.

    Returns
    -------
    Tensor of the batch shape
    """
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale).pow(2)
        t1 = ((p.loc - q.loc) / q.scale).pow(2)
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        return (p.probs * (p.logits - q.logits)).sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        return p.probs * (_softplus(-q.logits) - _softplus(-p.logits)) + \
            (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    raise NotImplementedError(f"kl_divergence is not implemented for {type(p).__name__} and "
                              f"{type(q).__name__}")


# PyTorch's submodule paths (``from torch.distributions.normal import Normal``,
# ``torch.distributions.kl.kl_divergence``) name this one module.
for _sub in ("bernoulli", "categorical", "distribution", "kl", "normal", "uniform"):
    sys.modules[f"{__name__}.{_sub}"] = globals()[_sub] = sys.modules[__name__]
del _sub
