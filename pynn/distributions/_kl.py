"""The Kullback-Leibler divergence between distributions (``torch.distributions.kl``).

:func:`kl_divergence` dispatches on the pair of types to the most specific function
registered with :func:`register_kl`; a pair with none raises NotImplementedError.
"""

import math
import warnings

import numpy as np

from .. import linalg as _linalg
from ..nn import functional as _F
from ._discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from ._more import ContinuousBernoulli, LowRankMultivariateNormal, Pareto
from ._multivariate import (
    Beta,
    Dirichlet,
    Independent,
    MultivariateNormal,
    TransformedDistribution,
    _mahalanobis,
)
from ._univariate import (
    _EULER,
    Cauchy,
    Exponential,
    Gamma,
    Gumbel,
    HalfNormal,
    Laplace,
    Normal,
    Uniform,
)
from .distribution import Distribution
from .utils import const, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}
_KL_MEMO = {}


def register_kl(type_p, type_q):
    """A decorator registering ``fn(p, q)`` as ``KL(p || q)`` for a pair of types.

    The most specific registered pair (by the classes' method resolution orders) is used for
    subclasses too.

    Parameters
    ----------
    type_p : type
        A subclass of Distribution.
    type_q : type
        A subclass of Distribution.

    Returns
    -------
    callable
        The decorator, which returns the function unchanged.
    """
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: expected subclasses of Distribution, got {t!r}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMO.clear()
        return fn

    return decorator


def _dispatch(type_p, type_q):
    matches = [(p, q) for p, q in _KL_REGISTRY
               if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return None
    mro_p, mro_q = type_p.__mro__, type_q.__mro__

    def rank(pair):
        return mro_p.index(pair[0]), mro_q.index(pair[1])

    best = min(matches, key=rank)
    swapped = min(matches, key=lambda pair: rank(pair)[::-1])
    if _KL_REGISTRY[best] is not _KL_REGISTRY[swapped]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({best[0].__name__}, {swapped[1].__name__})",
                      RuntimeWarning, stacklevel=3)
    return _KL_REGISTRY[best]


def kl_divergence(p, q):
    """``KL(p || q) = E_p[log p(x) - log q(x)]``, one value per distribution of the batch.

    Parameters
    ----------
    p : Distribution
        The distribution the expectation is over.
    q : Distribution
        The other, of a broadcastable batch shape.

    Returns
    -------
    Tensor of the broadcast batch shape
    """
    key = (type(p), type(q))
    if key not in _KL_MEMO:
        _KL_MEMO[key] = _dispatch(*key)
    fn = _KL_MEMO[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p of type "
                                  f"{type(p).__name__} and q of type {type(q).__name__}")
    return fn(p, q)


def _inf_where(value, mask):
    mask = np.broadcast_to(np.asarray(mask), tuple(value.shape))
    if not mask.any():
        return value
    return value + const(np.where(mask, np.inf, 0.0), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (var_ratio - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    return (p.probs * (_F.softplus(-q.logits) - _F.softplus(-p.logits))
            + (1 - p.probs) * (_F.softplus(q.logits) - _F.softplus(p.logits)))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    # where p is 0 the term is 0; where q is 0 and p is not, the divergence is infinite
    t = t.masked_fill(p.probs == 0, 0.0)
    inf = (q.probs._data == 0) & (p.probs._data != 0)
    return _inf_where(t, inf).sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if not bool((p.total_count == q.total_count).all()):
        raise NotImplementedError("KL between Binomials where q.total_count > "
                                  "p.total_count is not implemented")
    n = p.total_count
    kl = n * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return kl


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    s1, s2 = a1 + b1, a2 + b2
    return (a2.lgamma() + b2.lgamma() + s1.lgamma() - a1.lgamma() - b1.lgamma() - s2.lgamma()
            + (a1 - a2) * a1.digamma() + (b1 - b2) * b1.digamma()
            + (s2 - s1) * s1.digamma())


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    cp, rp, cq, rq = p.concentration, p.rate, q.concentration, q.rate
    return (cq * (rp / rq).log() + cq.lgamma() - cp.lgamma() + (cp - cq) * cp.digamma()
            + (rq - rp) * (cp / rp))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    cp, cq = p.concentration, q.concentration
    sp = cp.sum(-1)
    return (sp.lgamma() - cq.sum(-1).lgamma() - (cp.lgamma() - cq.lgamma()).sum(-1)
            + ((cp - cq) * (cp.digamma() - sp.digamma().unsqueeze(-1))).sum(-1))


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    # E_p[x] = 1 / rate and E_p[log x] = -euler - log(rate)
    a = q.concentration
    return (a.lgamma() + a * (p.rate / q.rate).log() + (a - 1) * _EULER + q.rate / p.rate
            - 1)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    ratio = p.scale / q.scale
    diff = (p.loc - q.loc).abs()
    return -ratio.log() + diff / q.scale + ratio * (-diff / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    num = (p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)
    return (num / (4 * p.scale * q.scale)).log()


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * _EULER
    t3 = (ct2 + (1 + ct1).lgamma() - ct3).exp()
    return t1 + t2 + t3 - (1 + _EULER)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low._data > p.low._data) | (q.high._data < p.high._data)
    return _inf_where(result, outside)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = (math.sqrt(math.pi * 2) * q.scale / width).log()
    t2 = width.pow(2) / 12
    t3 = ((p.high + p.low - 2 * q.loc) / 2).pow(2)
    return t1 + 0.5 * (t2 + t3) / q.scale.pow(2)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    ratio = p.scale / q.scale
    z = (p.loc - q.loc) / p.scale
    # -entropy(p) - E_p[log q]; E_p|x - q.loc| is the folded normal's mean
    t1 = -ratio.log() - 0.5 * math.log(2 * math.pi) - 0.5
    expected_abs = (p.scale * math.sqrt(2 / math.pi) * (-0.5 * z.pow(2)).exp()
                    + (p.loc - q.loc) * (z / math.sqrt(2)).erf())
    return t1 + math.log(2) + expected_abs / q.scale


def _scale_tril(dist):
    if isinstance(dist, MultivariateNormal):
        return dist._unbroadcasted_scale_tril
    return dist.scale_tril


@register_kl(MultivariateNormal, MultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different "
                         "event shapes cannot be computed")
    lp, lq = _scale_tril(p), _scale_tril(q)
    half_log_det = (lq.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                    - lp.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    shape = np.broadcast_shapes(tuple(lp.shape), tuple(lq.shape))
    trace = _linalg.solve(lq.tril().expand(*shape), lp.expand(*shape)).pow(2).sum((-2, -1))
    maha = _mahalanobis(lq, q.loc - p.loc)
    d = p.event_shape[0]
    kl = half_log_det + 0.5 * (trace + maha - d)
    batch = tuple(p.batch_shape) if len(p.batch_shape) >= len(q.batch_shape) else \
        tuple(q.batch_shape)
    return kl.expand(*np.broadcast_shapes(tuple(kl.shape), batch))


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence of Independent distributions with different "
                                  "reinterpreted_batch_ndims")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError("kl_divergence of TransformedDistributions needs the same "
                                  "transforms and event shape")
    extra = len(p.event_shape) - len(p.base_dist.event_shape)
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), extra)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    scale_ratio = p.scale / q.scale
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return _inf_where(result, p.scale._data < q.scale._data)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return (p.mean * (p.logits - q.logits) + p._log_normalizer() + (-p.probs).log1p()
            - q._log_normalizer() - (-q.probs).log1p())


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var = q.scale.pow(2)
    rate2 = p.rate.pow(2)
    return (0.5 * (rate2 * var * 2 * math.pi).log() - 1
            + (rate2.reciprocal() - q.loc / p.rate + 0.5 * q.loc.pow(2)) / var)


def _kl_infinite(p, q):
    """KL(p || q) where p's support reaches outside q's: +inf."""
    like = next(v for v in p.__dict__.values() if hasattr(v, "_data"))
    return const(np.full(tuple(p.batch_shape), np.inf), like)


# p on the whole real line (or half of it) against q on a bounded or half-bounded set
for _p, _qs in (((Normal, Laplace, Gumbel),
                 (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)),
                ((Exponential, Gamma), (Beta, ContinuousBernoulli, Pareto, Uniform))):
    for _pt in _p:
        for _qt in _qs:
            register_kl(_pt, _qt)(_kl_infinite)
del _p, _qs, _pt, _qt
