"""Less common families: negative binomial, Weibull, Pareto, Kumaraswamy, continuous
Bernoulli and the low-rank multivariate normal."""

import math
from typing import ClassVar

import numpy as np

from .. import _dtype
from .. import _factory as _f
from .. import linalg as _linalg
from ..nn import functional as _F
from ..random import get_generator
from . import constraints
from ._discrete import _BinaryParam, _Trials
from ._multivariate import TransformedDistribution, _mahalanobis
from ._univariate import _EULER, Exponential, Uniform
from .distribution import Distribution, ExponentialFamily
from .transforms import AffineTransform, ExpTransform, PowerTransform
from .utils import as_tensor, broadcast_all, const, lazy_property

__all__ = ["ContinuousBernoulli", "FisherSnedecor", "GeneralizedPareto", "HalfCauchy",
           "InverseGamma", "Kumaraswamy", "LKJCholesky",
           "LogisticNormal", "LowRankMultivariateNormal", "NegativeBinomial", "Pareto",
           "VonMises", "Weibull", "Wishart"]

_LOG_2PI = math.log(2 * math.pi)


class NegativeBinomial(_Trials):
    """Successes before ``total_count`` failures (``torch.distributions.NegativeBinomial``).

    Each trial succeeds with probability ``probs``.

    Parameters
    ----------
    total_count : Tensor or float
        The number of failures that stops the trials (non-negative, need not be an integer;
        broadcast with the probabilities).
    probs : Tensor or float, optional
        The success probability, in ``[0, 1)`` (broadcast).
    logits : Tensor or float, optional
        Its log-odds (broadcast). Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"total_count": constraints.greater_than_eq(0),
                                       "probs": constraints.half_open_interval(0.0, 1.0),
                                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        n = np.broadcast_to(self.total_count._data.astype(np.float64), shape)
        p = np.broadcast_to(self.probs._data.astype(np.float64), shape)
        # NumPy counts failures before n successes: its success is our failure
        return self._draw(lambda g, s: g.negative_binomial(n, 1 - p), shape, self._param)

    def log_prob(self, value):
        value = self._value(value, self._param)
        n, logits = self.total_count, self.logits
        # log sigmoid(-l) = -softplus(l), log sigmoid(l) = -softplus(-l)
        unnormalised = -n * _F.softplus(logits) - value * _F.softplus(-logits)
        norm = -(n + value).lgamma() + (1 + value).lgamma() + n.lgamma()
        norm = norm.masked_fill((n + value) == 0, 0.0)
        return unnormalised - norm


class Weibull(TransformedDistribution):
    """The Weibull distribution (``torch.distributions.Weibull``).

    ``scale * E ** (1 / concentration)`` for a standard exponential ``E``.

    Parameters
    ----------
    scale : Tensor or float
        The scale ``lambda`` (positive; broadcast with ``concentration``).
    concentration : Tensor or float
        The shape ``k`` (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"scale": constraints.positive,
                                       "concentration": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        base = Exponential(_f.ones_like(self.scale), validate_args=validate_args)
        super().__init__(base, [PowerTransform(self.concentration.reciprocal()),
                                AffineTransform(0, self.scale)], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return Weibull(self.scale.expand(*batch_shape), self.concentration.expand(*batch_shape),
                       validate_args=False)

    @property
    def mean(self):
        return self.scale * (1 + self.concentration.reciprocal()).lgamma().exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(k.reciprocal())

    @property
    def variance(self):
        k = self.concentration
        return self.scale.pow(2) * ((1 + 2 / k).lgamma().exp()
                                    - (1 + k.reciprocal()).lgamma().exp().pow(2))

    def entropy(self):
        k = self.concentration
        return _EULER * (1 - k.reciprocal()) + (self.scale / k).log() + 1


class Pareto(TransformedDistribution):
    """The Pareto (type I) distribution (``torch.distributions.Pareto``).

    ``scale * exp(E / alpha)`` for a standard exponential ``E``.

    Parameters
    ----------
    scale : Tensor or float
        The smallest value (positive; broadcast with ``alpha``).
    alpha : Tensor or float
        The tail index (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"alpha": constraints.positive,
                                       "scale": constraints.positive}
    has_rsample = True

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return Pareto(self.scale.expand(*batch_shape), self.alpha.expand(*batch_shape),
                      validate_args=False)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        """``[scale, inf)``."""
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class Kumaraswamy(TransformedDistribution):
    """The Kumaraswamy distribution on ``(0, 1)`` (``torch.distributions.Kumaraswamy``).

    ``(1 - U ** (1 / b)) ** (1 / a)`` for uniform ``U``: a Beta-like law with a closed-form
    cdf, so its samples are differentiable.

    Parameters
    ----------
    concentration1 : Tensor or float
        ``a`` (positive; broadcast with ``concentration0``).
    concentration0 : Tensor or float
        ``b`` (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"concentration1": constraints.positive,
                                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1,
                                                                 concentration0)
        finfo = _dtype.finfo(self.concentration0.dtype)
        base = Uniform(_f.full_like(self.concentration0, 0.0),
                       _f.full_like(self.concentration0, 1.0), validate_args=validate_args)
        parts = [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                 PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, parts, validate_args=validate_args)
        self._tiny = float(finfo.tiny)

    def expand(self, batch_shape, _instance=None):
        return Kumaraswamy(self.concentration1.expand(*batch_shape),
                           self.concentration0.expand(*batch_shape), validate_args=False)

    def _moment(self, n):
        a, b = self.concentration1, self.concentration0
        return b * ((1 + n / a).lgamma() + b.lgamma() - (1 + n / a + b).lgamma()).exp()

    @property
    def mean(self):
        return self._moment(1)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        mode = ((a - 1) / (a * b - 1)).pow(a.reciprocal())
        return mode.masked_fill((a < 1) | (b < 1), float("nan"))

    @property
    def variance(self):
        return self._moment(2) - self._moment(1).pow(2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * ((b + 1).digamma() + _EULER) - \
            a.log() - b.log()


class ContinuousBernoulli(_BinaryParam, ExponentialFamily):
    """The continuous Bernoulli on ``[0, 1]`` (``torch.distributions.ContinuousBernoulli``).

    The density is proportional to ``p**x (1 - p)**(1 - x)``; it is the right likelihood for
    pixel intensities in a VAE. Near ``p = 1/2`` (inside ``lims``) Taylor expansions keep the
    normaliser and moments accurate.

    Parameters
    ----------
    probs : Tensor or float, optional
        ``p`` in ``[0, 1]`` (broadcast).
    logits : Tensor or float, optional
        Its log-odds (broadcast). Give exactly one of ``probs`` and ``logits``.
    lims : tuple of float
        The interval around 1/2 where the expansions replace the closed forms.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        (shape,) = self._set_probs_or_logits(probs, logits)
        self._lims = lims
        super().__init__(shape, validate_args=validate_args)

    def _outside(self):
        p = self.probs
        return (p <= self._lims[0]) | (p >= self._lims[1])

    def _cut(self):
        """``probs`` where the closed forms apply, a harmless stand-in elsewhere (so that
        neither branch of the ``where`` makes a NaN gradient)."""
        return _where(self._outside(), self.probs, self._lims[0])

    def _log_normalizer(self):
        p = self._cut()
        # C(p) = 2 atanh(1 - 2p) / (1 - 2p) = log((1 - p) / p) / (1 - 2p), both signs alike
        log_norm = ((-p).log1p() - p.log()).abs().log() - (1 - 2 * p).abs().log()
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _where(self._outside(), log_norm, taylor)

    @property
    def mean(self):
        p = self._cut()
        closed = p / (2 * p - 1) + 1 / ((-p).log1p() - p.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return _where(self._outside(), closed, taylor)

    @property
    def variance(self):
        p = self._cut()
        closed = p * (p - 1) / (1 - 2 * p).pow(2) + 1 / ((-p).log1p() - p.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _where(self._outside(), closed, taylor)

    def log_prob(self, value):
        value = self._value(value, self._param)
        bce = _F.binary_cross_entropy_with_logits(
            *_broadcast_pair(self.logits, value), reduction="none")
        return -bce + self._log_normalizer()

    def cdf(self, value):
        value = self._value(value, self._param)
        p = self._cut()
        closed = (p.pow(value) * (1 - p).pow(1 - value) + p - 1) / (2 * p - 1)
        inside = _where(self._outside(), closed, value)
        return _where(value <= 0, 0.0 * inside, _where(value >= 1, 0.0 * inside + 1, inside))

    def icdf(self, value):
        value = as_tensor(value, self._param)
        p = self._cut()
        closed = ((-p + value * (2 * p - 1)).log1p() - (-p).log1p()) / (p.log() - (-p).log1p())
        return _where(self._outside(), closed, value)

    def rsample(self, sample_shape=()):
        u = self._draw(lambda g, s: g.random(s), self._extended_shape(sample_shape), self._param)
        return self.icdf(u)

    def entropy(self):
        log_p0 = (-self.probs).log1p()
        log_p1 = self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._log_normalizer() - log_p0


def _where(cond, a, b):
    from .. import _math as _m

    return _m.where(cond, a, b)


def _broadcast_pair(a, b):
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    return (a if tuple(a.shape) == shape else a.expand(*shape),
            b if tuple(b.shape) == shape else b.expand(*shape))


class LowRankMultivariateNormal(Distribution):
    """A normal with covariance ``W W^T + diag(D)`` (``LowRankMultivariateNormal`` of PyTorch).

    Densities use the Cholesky factor of the assembled ``D x D`` covariance (PyTorch uses the
    Woodbury identity, cheaper for large ``D``; the values agree).

    Parameters
    ----------
    loc : Tensor of shape (..., D)
        The mean.
    cov_factor : Tensor of shape (..., D, R)
        ``W``, the low-rank factor.
    cov_diag : Tensor of shape (..., D)
        ``D``, the positive diagonal.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        loc = as_tensor(loc)
        cov_factor, cov_diag = as_tensor(cov_factor, loc), as_tensor(cov_diag, loc)
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        d = loc.shape[-1]
        if cov_factor.shape[-2] != d or cov_diag.dim() < 1 or cov_diag.shape[-1] != d:
            raise ValueError(f"LowRankMultivariateNormal: loc of shape {tuple(loc.shape)}, "
                             f"cov_factor of shape {tuple(cov_factor.shape)} and cov_diag of "
                             f"shape {tuple(cov_diag.shape)} do not share the event size {d}")
        batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                    tuple(cov_diag.shape[:-1]))
        r = cov_factor.shape[-1]
        self.loc = loc.expand(*batch, d)
        self.cov_factor = cov_factor.expand(*batch, d, r)
        self.cov_diag = cov_diag.expand(*batch, d)
        super().__init__(batch, (d,), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        d, r = self.cov_factor.shape[-2:]
        return LowRankMultivariateNormal(self.loc.expand(*batch_shape, d),
                                         self.cov_factor.expand(*batch_shape, d, r),
                                         self.cov_diag.expand(*batch_shape, d),
                                         validate_args=False)

    @property
    def covariance_matrix(self):
        """``W W^T + diag(D)``, ``batch_shape + (D, D)``."""
        return self.cov_factor @ self.cov_factor.mT + self.cov_diag.diag_embed()

    @property
    def precision_matrix(self):
        """The inverse covariance."""
        return _linalg.inv(self.covariance_matrix)

    @property
    def scale_tril(self):
        """The lower Cholesky factor of the covariance."""
        return _linalg.cholesky(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.cov_factor.pow(2).sum(-1) + self.cov_diag

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        r = self.cov_factor.shape[-1]
        rng = get_generator()
        eps_w = const(rng.standard_normal(shape[:-1] + (r,)), self.loc)
        eps_d = const(rng.standard_normal(shape), self.loc)
        return (self.loc + (self.cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1)
                + self.cov_diag.sqrt() * eps_d)

    def log_prob(self, value):
        value = self._value(value, self.loc)
        low = self.scale_tril
        m = _mahalanobis(low, value - self.loc)
        d = self._event_shape[0]
        return -0.5 * (d * _LOG_2PI + m) - low.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def entropy(self):
        d = self._event_shape[0]
        return (0.5 * d * (1.0 + _LOG_2PI)
                + self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1))


def _log_bessel_i(x, order):
    """``log I_order(x)`` (order 0 or 1) of a Tensor, from the scaled ``i0e``/``i1e``."""
    from .. import special

    scaled = special.i0e(x) if order == 0 else special.i1e(x)
    return scaled.log() + x


class VonMises(Distribution):
    """The von Mises distribution of angles (``torch.distributions.VonMises``).

    The circular analogue of the normal: density ``exp(k cos(x - loc)) / (2 pi I0(k))``.
    Samples lie in ``[-pi, pi)``; there is no ``rsample`` (as in PyTorch).

    Parameters
    ----------
    loc : Tensor or float
        The mean angle, in radians (broadcast with ``concentration``).
    concentration : Tensor or float
        ``k``, the concentration (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real,
                                       "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The circular variance, ``1 - I1(k) / I0(k)``."""
        k = self.concentration
        return 1 - (_log_bessel_i(k, 1) - _log_bessel_i(k, 0)).exp()

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        k = np.broadcast_to(self.concentration._data.astype(np.float64), shape)
        x = get_generator().vonmises(0.0, k)
        x = np.mod(x + np.broadcast_to(self.loc._data, shape) + np.pi, 2 * np.pi) - np.pi
        return const(x, self.loc)

    def log_prob(self, value):
        value = self._value(value, self.loc)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _log_bessel_i(k, 0)


class HalfCauchy(Distribution):
    """The absolute value of a ``Cauchy(0, scale)`` variable (``torch.distributions.HalfCauchy``).

    Parameters
    ----------
    scale : Tensor or float
        The scale of the underlying Cauchy (positive), of the batch shape.
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
        return const(np.full(tuple(self.scale.shape), np.inf), self.scale)

    @property
    def mode(self):
        return _f.zeros_like(self.scale)

    @property
    def variance(self):
        return const(np.full(tuple(self.scale.shape), np.inf), self.scale)

    def rsample(self, sample_shape=()):
        c = self._draw(lambda g, s: g.standard_cauchy(s), self._extended_shape(sample_shape),
                       self.scale)
        return (c * self.scale).abs()

    def log_prob(self, value):
        value = self._value(value, self.scale)
        lp = (math.log(2 / math.pi) - self.scale.log()
              - (value / self.scale).pow(2).log1p())
        return lp + const(np.where(value._data >= 0, 0.0, -np.inf), lp)

    def cdf(self, value):
        value = self._value(value, self.scale)
        return (value / self.scale).atan() * (2 / math.pi)

    def icdf(self, prob):
        return (as_tensor(prob, self.scale) * (math.pi / 2)).tan() * self.scale

    def entropy(self):
        return math.log(2 * math.pi) + self.scale.log()


class InverseGamma(TransformedDistribution):
    """``1 / X`` for ``X ~ Gamma(concentration, rate)`` (``torch.distributions.InverseGamma``).

    Parameters
    ----------
    concentration : Tensor or float
        The shape ``alpha`` (positive; broadcast with ``rate``).
    rate : Tensor or float
        The scale ``beta`` of ``1 / X`` (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"concentration": constraints.positive,
                                       "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        from ._univariate import Gamma

        base = Gamma(concentration, rate, validate_args=validate_args)
        neg_one = _f.full_like(base.rate, -1.0)
        super().__init__(base, PowerTransform(neg_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return InverseGamma(self.concentration.expand(*batch_shape),
                            self.rate.expand(*batch_shape), validate_args=False)

    @property
    def concentration(self):
        """The shape ``alpha``."""
        return self.base_dist.concentration

    @property
    def rate(self):
        """The scale ``beta``."""
        return self.base_dist.rate

    @property
    def mean(self):
        c = self.concentration
        return (self.rate / (c - 1)).masked_fill(c <= 1, float("inf"))

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        c = self.concentration
        v = self.rate.pow(2) / ((c - 1).pow(2) * (c - 2))
        return v.masked_fill(c <= 2, float("inf"))

    def entropy(self):
        c = self.concentration
        return c + self.rate.log() + c.lgamma() - (1 + c) * c.digamma()


class LogisticNormal(TransformedDistribution):
    """A diagonal normal stick-broken onto the simplex (``torch.distributions.LogisticNormal``).

    Parameters
    ----------
    loc : Tensor of shape (..., K - 1)
        The normal's mean.
    scale : Tensor of shape (..., K - 1)
        Its standard deviation (positive; broadcast with ``loc``).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        from ._multivariate import Independent
        from ._univariate import Normal
        from .transforms import StickBreakingTransform

        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(Independent(base, 1), StickBreakingTransform(),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        k = self.loc.shape[-1]
        return LogisticNormal(self.loc.expand(*batch_shape, k),
                              self.scale.expand(*batch_shape, k), validate_args=False)

    @property
    def loc(self):
        """The normal's mean."""
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        """The normal's standard deviation."""
        return self.base_dist.base_dist.scale


class FisherSnedecor(Distribution):
    """The F distribution (``torch.distributions.FisherSnedecor``).

    ``rsample`` is a ratio of chi-squared draws, differentiable in both degrees of freedom
    (see ``Gamma``).

    Parameters
    ----------
    df1 : Tensor or float
        The numerator's degrees of freedom (positive; broadcast with ``df2``).
    df2 : Tensor or float
        The denominator's degrees of freedom (positive; broadcast).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"df1": constraints.positive,
                                       "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        super().__init__(self.df1.shape, validate_args=validate_args)

    @property
    def mean(self):
        d2 = self.df2
        return (d2 / (d2 - 2)).masked_fill(d2 <= 2, float("nan"))

    @property
    def mode(self):
        d1, d2 = self.df1, self.df2
        return ((d1 - 2) / d1 * d2 / (d2 + 2)).masked_fill(d1 <= 2, float("nan"))

    @property
    def variance(self):
        d1, d2 = self.df1, self.df2
        v = 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))
        return v.masked_fill(d2 <= 4, float("nan"))

    def rsample(self, sample_shape=()):
        from ._univariate import Gamma

        tiny = float(_dtype.finfo(self.df1.dtype).tiny)
        x1 = Gamma(0.5 * self.df1, 0.5 * self.df1, validate_args=False).rsample(sample_shape)
        x2 = Gamma(0.5 * self.df2, 0.5 * self.df2, validate_args=False).rsample(sample_shape)
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        value = self._value(value, self.df1)
        a, b = 0.5 * self.df1, 0.5 * self.df2
        ratio = self.df1 / self.df2
        return ((a + b).lgamma() - a.lgamma() - b.lgamma() + a * ratio.log()
                + (a - 1) * value.log() - (a + b) * (ratio * value).log1p())


class LKJCholesky(Distribution):
    """LKJ-distributed Cholesky factors of correlation matrices (``LKJCholesky`` of PyTorch).

    The correlation matrix ``L L^T`` has density proportional to
    ``det(L L^T) ** (concentration - 1)``; samples come from the onion method (a Beta draw
    for each row's length below the diagonal, a uniform direction for the row). There is no
    ``rsample``, as in PyTorch.

    Parameters
    ----------
    dim : int
        The matrices' size (at least 2).
    concentration : Tensor or float
        ``eta``, positive; 1 is uniform over correlation matrices. Its shape is the batch
        shape.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = int(dim)
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.shape, (self.dim, self.dim),
                         validate_args=validate_args)

    def sample(self, sample_shape=()):
        from ._multivariate import Beta

        shape = tuple(self._extended_shape(sample_shape))
        d = self.dim
        eta = self.concentration.detach()
        # row i >= 1 has a squared length below the diagonal of Beta(i / 2, eta + (d-1-i) / 2)
        # (row 0 has none: its Beta draw is discarded)
        rows = np.arange(d, dtype=np.float64)
        a = const(np.maximum(rows / 2, 0.5), eta)
        b = eta.unsqueeze(-1) + const((d - 1 - rows) / 2, eta)
        with_len = Beta(a, b, validate_args=False).sample(
            shape[:-2][:len(shape) - 2 - len(self._batch_shape)]).numpy()
        with_len[..., 0] = 0.0
        rng = get_generator()
        u = np.tril(rng.standard_normal(shape), -1)
        norms = np.linalg.norm(u, axis=-1, keepdims=True)
        direction = np.divide(u, norms, out=np.zeros_like(u), where=norms > 0)
        w = np.sqrt(with_len)[..., None] * direction
        diag = np.sqrt(np.clip(1 - (w ** 2).sum(-1), np.finfo(np.float64).tiny, None))
        w = w + diag[..., None] * np.eye(d)
        return const(w, self.concentration)

    def log_prob(self, value):
        value = self._value(value, self.concentration)
        d = self.dim
        diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        # exponent of L_ii: d - i + 2 (eta - 1) for i = 2 .. d
        order = const(d - np.arange(2, d + 1, dtype=np.float64), self.concentration)
        exponent = 2 * (self.concentration - 1).unsqueeze(-1) + order
        unnormalised = (exponent * diag.log()).sum(-1)
        dm1 = d - 1
        alpha = self.concentration + 0.5 * dm1
        norm = 0.5 * dm1 * math.log(math.pi) + _mvlgamma(alpha - 0.5, dm1) - alpha.lgamma() * dm1
        return unnormalised - norm


def _mvlgamma(a, p):
    """The multivariate log-gamma ``log Gamma_p(a)`` of a Tensor ``a``."""
    return p * (p - 1) / 4 * math.log(math.pi) + sum((a - 0.5 * j).lgamma() for j in range(p))


def _mvdigamma(a, p):
    """Its derivative, ``sum_j digamma(a - j / 2)``."""
    return sum((a - 0.5 * j).digamma() for j in range(p))


class Wishart(ExponentialFamily):
    """The Wishart distribution over positive definite matrices (``torch.distributions.Wishart``).

    ``X = sum_k z_k z_k^T`` of ``df`` draws ``z_k ~ N(0, covariance)``, for real ``df``;
    ``rsample`` is Bartlett's decomposition, differentiable in the matrix and in ``df``
    (through the chi-squared draws' implicit gradient). Give exactly one of
    ``covariance_matrix``, ``precision_matrix`` and ``scale_tril``.

    Parameters
    ----------
    df : Tensor or float
        The degrees of freedom, above ``p - 1`` for ``p x p`` matrices (broadcast with the
        matrix's batch shape).
    covariance_matrix : Tensor of shape (..., p, p), optional
        The scale matrix ``V`` (positive definite).
    precision_matrix : Tensor of shape (..., p, p), optional
        Its inverse.
    scale_tril : Tensor of shape (..., p, p), optional
        Its lower Cholesky factor.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    support = constraints.positive_definite
    has_rsample = True

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, matrix = given[0]
        matrix = as_tensor(matrix)
        if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"Wishart: {name} must be square matrices, got shape "
                             f"{tuple(matrix.shape)}")
        df = as_tensor(df, matrix)
        p = matrix.shape[-1]
        batch = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(df.shape))
        self.df = df.expand(*batch) if tuple(df.shape) != batch else df
        self.__dict__[name] = matrix.expand(*batch, p, p)
        super().__init__(batch, (p, p), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _linalg.cholesky(_linalg.inv(matrix))

    @property
    def arg_constraints(self):
        """The parameters' constraints (``df`` above ``p - 1``)."""
        p = self._event_shape[-1] if len(self._event_shape) else 1
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(p - 1)}

    def _expandable(self):
        return {"df", "covariance_matrix", "precision_matrix", "scale_tril"}

    @lazy_property
    def scale_tril(self):
        """The lower Cholesky factor of the scale matrix."""
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        """The scale matrix ``V = L L^T``."""
        low = self._unbroadcasted_scale_tril
        return (low @ low.mT).expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self):
        """The inverse of the scale matrix."""
        return _linalg.inv(self.covariance_matrix)

    def _df(self):
        return self.df.unsqueeze(-1).unsqueeze(-1)

    @property
    def mean(self):
        return self._df() * self.covariance_matrix

    @property
    def mode(self):
        p = self._event_shape[-1]
        factor = (self.df - p - 1).masked_fill(self.df - p - 1 <= 0, float("nan"))
        return factor.unsqueeze(-1).unsqueeze(-1) * self.covariance_matrix

    @property
    def variance(self):
        v = self.covariance_matrix
        diag = v.diagonal(dim1=-2, dim2=-1)
        return self._df() * (v.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def rsample(self, sample_shape=()):
        from ._univariate import Chi2

        shape = tuple(self._extended_shape(sample_shape))
        p = self._event_shape[-1]
        like = self._unbroadcasted_scale_tril
        # Bartlett: A lower triangular, A_ii^2 ~ chi2(df - i), A_ij ~ N(0, 1) below
        dfs = self.df.unsqueeze(-1) - const(np.arange(p, dtype=np.float64), like)
        chi = Chi2(dfs, validate_args=False).rsample(shape[:len(shape) - 2
                                                            - len(self._batch_shape)])
        noise = np.tril(get_generator().standard_normal(shape), -1)
        a = const(noise, like) + chi.sqrt().diag_embed()
        la = like @ a
        return la @ la.mT

    def log_prob(self, value):
        value = self._value(value, self.df)
        nu, p = self.df, self._event_shape[-1]
        low = self._unbroadcasted_scale_tril
        half_log_det = low.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        shape = np.broadcast_shapes(tuple(low.shape), tuple(value.shape))
        low_x = low.expand(*shape) if tuple(low.shape) != shape else low
        value_x = value.expand(*shape) if tuple(value.shape) != shape else value
        # tr(V^-1 X) = |L^-1 chol(X)|_F^2, and log det X from X's Cholesky factor
        chol_x = _linalg.cholesky(value_x)
        trace = _linalg.solve(low_x.tril(), chol_x).pow(2).sum((-2, -1))
        log_det_x = 2 * chol_x.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return (-nu * (p * math.log(2) / 2 + half_log_det) - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * log_det_x - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * math.log(2) / 2 + half_log_det) + _mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)


class GeneralizedPareto(Distribution):
    """The generalised Pareto distribution (``torch.distributions.GeneralizedPareto``).

    ``P(X > x) = (1 + c z) ** (-1 / c)`` for ``z = (x - loc) / scale`` (``exp(-z)`` at
    ``c = 0``): exponential tails at ``c = 0``, heavy ones above, a bounded support below.

    Parameters
    ----------
    loc : Tensor or float
        The lower end of the support (the three parameters broadcast together).
    scale : Tensor or float
        The scale (positive).
    concentration : Tensor or float
        The shape ``c`` (any real).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive,
                                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        """``[loc, loc - scale / c]`` for negative ``c``, else ``[loc, inf)``."""
        c = self.concentration
        upper = _where(c < 0, self.loc - self.scale / _where(c < 0, c, -1.0), float("inf"))
        return constraints.interval(self.loc, upper)

    def _safe_c(self):
        """``c``, with 1 where it is 0 (the ``c = 0`` limit is taken by a ``where``)."""
        c = self.concentration
        return _where(c == 0, 1.0, c)

    def _z(self, value):
        return (value - self.loc) / self.scale

    def log_prob(self, value):
        value = self._value(value, self.loc)
        z = self._z(value)
        c, safe = self.concentration, self._safe_c()
        tail = _where(c == 0, z, (1 + 1 / safe) * (safe * z).log1p())
        return -self.scale.log() - tail

    def _log_survival(self, z):
        c, safe = self.concentration, self._safe_c()
        return _where(c == 0, -z, -(safe * z).log1p() / safe)

    def cdf(self, value):
        value = self._value(value, self.loc)
        return -self._log_survival(self._z(value)).expm1()

    def icdf(self, value):
        value = as_tensor(value, self.loc)
        c, safe = self.concentration, self._safe_c()
        log_s = (-value).log1p()  # log of the survival probability
        z = _where(c == 0, -log_s, (-safe * log_s).expm1() / safe)
        return self.loc + self.scale * z

    def rsample(self, sample_shape=()):
        u = self._draw(lambda g, s: g.random(s), self._extended_shape(sample_shape), self.loc)
        return self.icdf(u)

    @property
    def mean(self):
        c = self.concentration
        ok = c < 1
        return _where(ok, self.loc + self.scale / (1 - _where(ok, c, 0.0)), float("nan"))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        c = self.concentration
        ok = c < 0.5
        cs = _where(ok, c, 0.0)
        return _where(ok, self.scale.pow(2) / ((1 - cs).pow(2) * (1 - 2 * cs)), float("nan"))

    def entropy(self):
        return self.scale.log() + self.concentration + 1
