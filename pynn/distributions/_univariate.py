"""Continuous distributions of scalar events."""

import math
from typing import ClassVar

import numpy as np

from .. import _dtype
from .. import _factory as _f
from . import constraints
from ._gamma import gamma_cdf, rsample_standard_gamma
from .distribution import Distribution, ExponentialFamily
from .utils import as_tensor as _as
from .utils import broadcast_all, const

__all__ = ["Cauchy", "Chi2", "Exponential", "Gamma", "Gumbel", "HalfNormal", "Laplace",
           "Normal", "StudentT", "Uniform"]

_LOG_2PI = math.log(2 * math.pi)
_EULER = 0.57721566490153286061


def _nan_like(t):
    return const(np.full(tuple(t.shape), np.nan), t)


def _full_like(t, v):
    return const(np.full(tuple(t.shape), v), t)


class _LocationScale:
    """What the real-valued location-scale families share: their parameters ``loc`` (real)
    and ``scale`` (positive), broadcast to the batch shape, reparameterised sampling, and the
    mode at ``loc``. A mixin before the Distribution base."""

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mode(self):
        return self.loc


class Normal(_LocationScale, ExponentialFamily):
    """The normal distribution ``N(loc, scale**2)`` (``torch.distributions.Normal``).

    Parameters
    ----------
    loc : Tensor or float
        The mean (``loc`` and ``scale`` broadcast together to the batch shape).
    scale : Tensor or float
        The standard deviation (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """


    @property
    def mean(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = self._draw(lambda g, s: g.standard_normal(s), shape, self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = self._value(value, self.loc)
        return (-((value - self.loc).pow(2)) / (2 * self.scale.pow(2)) - self.scale.log()
                - 0.5 * _LOG_2PI)

    def cdf(self, value):
        value = self._value(value, self.loc)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value):
        value = _as(value, self.loc)
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * _LOG_2PI + self.scale.log()


class Uniform(Distribution):
    """The uniform distribution on ``[low, high)`` (``torch.distributions.Uniform``).

    Parameters
    ----------
    low : Tensor or float
        The lower bound (broadcast with ``high`` to the batch shape).
    high : Tensor or float
        The upper bound, above ``low`` (broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"low": constraints.dependent(is_discrete=False, event_dim=0),
                       "high": constraints.dependent(is_discrete=False, event_dim=0)}
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        if (validate_args if validate_args is not None else self._validate_args) and \
                not bool(np.all(self.low._data < self.high._data)):
            raise ValueError("Uniform: expected low < high, got low="
                             f"{self.low} and high={self.high}")
        super().__init__(self.low.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        """``[low, high)``."""
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def mode(self):
        return _nan_like(self.low)

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        u = self._draw(lambda g, s: g.random(s), self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = self._value(value, self.low)
        inside = ((value >= self.low) & (value < self.high))._data
        lp = -(self.high - self.low).log()
        return lp + const(np.where(inside, 0.0, -np.inf), lp)

    def cdf(self, value):
        value = self._value(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        value = _as(value, self.low)
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Exponential(ExponentialFamily):
    """The exponential distribution of rate ``rate`` (``torch.distributions.Exponential``).

    Parameters
    ----------
    rate : Tensor or float
        The rate (positive), of the batch shape; the mean is ``1 / rate``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return _f.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        e = self._draw(lambda g, s: g.standard_exponential(s), self._extended_shape(sample_shape),
                       self.rate)
        return e / self.rate

    def log_prob(self, value):
        value = self._value(value, self.rate)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        value = self._value(value, self.rate)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-_as(value, self.rate)).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(_LocationScale, Distribution):
    """The Laplace distribution (``torch.distributions.Laplace``).

    Parameters
    ----------
    loc : Tensor or float
        The location (``loc`` and ``scale`` broadcast together to the batch shape).
    scale : Tensor or float
        The scale (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """


    @property
    def mean(self):
        return self.loc

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        finfo = _dtype.finfo(self.loc.dtype)
        u = self._draw(lambda g, s: g.uniform(float(finfo.eps) - 1, 1, s), shape, self.loc)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        value = self._value(value, self.loc)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        value = self._value(value, self.loc)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-z.abs() / self.scale).expm1()

    def icdf(self, value):
        t = _as(value, self.loc) - 0.5
        return self.loc - self.scale * t.sign() * (-2 * t.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


class Cauchy(_LocationScale, Distribution):
    """The Cauchy (Lorentz) distribution (``torch.distributions.Cauchy``).

    Parameters
    ----------
    loc : Tensor or float
        The median (``loc`` and ``scale`` broadcast together to the batch shape).
    scale : Tensor or float
        The half width at half maximum (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """


    @property
    def mean(self):
        return _nan_like(self.loc)

    @property
    def variance(self):
        return _full_like(self.loc, np.inf)

    def rsample(self, sample_shape=()):
        c = self._draw(lambda g, s: g.standard_cauchy(s), self._extended_shape(sample_shape),
                       self.loc)
        return self.loc + c * self.scale

    def log_prob(self, value):
        value = self._value(value, self.loc)
        return (-math.log(math.pi) - self.scale.log()
                - ((value - self.loc) / self.scale).pow(2).log1p())

    def cdf(self, value):
        value = self._value(value, self.loc)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (_as(value, self.loc) - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfNormal(Distribution):
    """The absolute value of a ``N(0, scale**2)`` variable (``torch.distributions.HalfNormal``).

    Parameters
    ----------
    scale : Tensor or float
        The scale of the underlying normal (positive), of the batch shape.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (self.scale,) = broadcast_all(scale)
        super().__init__(self.scale.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return _f.zeros_like(self.scale)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape=()):
        eps = self._draw(lambda g, s: g.standard_normal(s), self._extended_shape(sample_shape),
                         self.scale)
        return (eps * self.scale).abs()

    def log_prob(self, value):
        value = self._value(value, self.scale)
        lp = (math.log(2) - 0.5 * _LOG_2PI - self.scale.log()
              - value.pow(2) / (2 * self.scale.pow(2)))
        return lp + const(np.where(value._data >= 0, 0.0, -np.inf), lp)

    def cdf(self, value):
        value = self._value(value, self.scale)
        return (value / (self.scale * math.sqrt(2))).erf()

    def icdf(self, value):
        return self.scale * math.sqrt(2) * _as(value, self.scale).erfinv()

    def entropy(self):
        return 0.5 * (math.pi / 2 * self.scale.pow(2)).log() + 0.5


class Gumbel(_LocationScale, Distribution):
    """The Gumbel (type-I extreme value) distribution (``torch.distributions.Gumbel``).

    Parameters
    ----------
    loc : Tensor or float
        The location (``loc`` and ``scale`` broadcast together to the batch shape).
    scale : Tensor or float
        The scale (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """


    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        u = self._uniform(self._extended_shape(sample_shape), self.loc)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value):
        value = self._value(value, self.loc)
        z = (value - self.loc) / self.scale
        return -(z + (-z).exp()) - self.scale.log()

    def cdf(self, value):
        value = self._value(value, self.loc)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value):
        return self.loc - self.scale * (-_as(value, self.loc).log()).log()

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class Gamma(ExponentialFamily):
    """The gamma distribution (``torch.distributions.Gamma``).

    ``rsample`` is differentiable in both parameters: in ``rate`` by scaling, in
    ``concentration`` by implicit reparameterisation (PyTorch's method). The value of
    ``dx/dconcentration`` is computed from the incomplete gamma function by a central
    difference (relative error about 1e-7), not PyTorch's closed-form approximation, so the
    two agree to about 1e-4.

    Parameters
    ----------
    concentration : Tensor or float
        The shape ``alpha`` (positive; broadcast with ``rate`` to the batch shape).
    rate : Tensor or float
        The inverse scale ``beta`` (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"concentration": constraints.positive,
                                       "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        x = rsample_standard_gamma(self.concentration, shape) / self.rate
        return x.clamp(min=float(_dtype.finfo(x.dtype).tiny))

    def log_prob(self, value):
        value = self._value(value, self.rate)
        c, r = self.concentration, self.rate
        return c.xlogy(r) + (c - 1).xlogy(value) - r * value - c.lgamma()

    def cdf(self, value):
        value = self._value(value, self.rate)
        return gamma_cdf(self.concentration, self.rate * value)

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom (``torch.distributions.Chi2``).

    ``Gamma(df / 2, 1 / 2)``; ``rsample`` is differentiable in ``df`` (see :class:`Gamma`).

    Parameters
    ----------
    df : Tensor or float
        The degrees of freedom (positive), of the batch shape.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, _f.full_like(df, 0.5), validate_args=validate_args)

    def _expandable(self):
        return {"concentration", "rate"}

    @property
    def df(self):
        """The degrees of freedom, ``2 * concentration``."""
        return self.concentration * 2


class StudentT(Distribution):
    """Student's t distribution (``torch.distributions.StudentT``).

    ``rsample`` is ``loc + scale * z / sqrt(chi2 / df)``, differentiable in all three
    parameters (in ``df`` through :class:`Chi2`'s implicit gradient).

    Parameters
    ----------
    df : Tensor or float
        The degrees of freedom (positive; the three parameters broadcast together).
    loc : Tensor or float
        The location (broadcast).
    scale : Tensor or float
        The scale (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self):
        m = self.loc * 1.0
        return m.masked_fill(self.df <= 1, float("nan"))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        big = self.scale.pow(2) * df / (df - 2).clamp(min=1e-30)
        v = big.masked_fill(df <= 2, float("inf"))
        return v.masked_fill(df <= 1, float("nan"))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        z = self._draw(lambda g, s: g.standard_normal(s), shape, self.df)
        chi2 = Chi2(self.df, validate_args=False).rsample(sample_shape)
        return self.loc + self.scale * z * (self.df / chi2).sqrt()

    def log_prob(self, value):
        value = self._value(value, self.df)
        y = (value - self.loc) / self.scale
        df = self.df
        norm = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
                + (0.5 * df).lgamma() - (0.5 * (df + 1)).lgamma())
        return -0.5 * (df + 1) * (y.pow(2) / df).log1p() - norm

    def entropy(self):
        df = self.df
        log_beta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (self.scale.log()
                + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
                + 0.5 * df.log() + log_beta)

