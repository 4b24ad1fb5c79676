"""Vector-valued distributions and the ones built from other distributions."""

import math
from typing import ClassVar

import numpy as np

from .. import _dtype
from .. import linalg as _linalg
from ..autograd import no_grad
from ..tensor import Size
from . import constraints
from ._discrete import Categorical, _BinaryParam, _CategoricalParams
from ._gamma import rsample_standard_gamma
from ._univariate import Normal
from .distribution import Distribution, ExponentialFamily
from .transforms import ComposeTransform, ExpTransform, SigmoidTransform, Transform
from .utils import (
    as_tensor,
    broadcast_all,
    clamp_probs,
    lazy_property,
    shape_of,
    sum_rightmost,
)

__all__ = ["Beta", "Dirichlet", "ExpRelaxedCategorical", "Independent", "LogNormal",
           "LogitRelaxedBernoulli", "MixtureSameFamily", "MultivariateNormal",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "TransformedDistribution"]

_LOG_2PI = math.log(2 * math.pi)


def _copy_base(new, self, batch_shape, event_shape):
    Distribution.__init__(new, batch_shape, event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


class MultivariateNormal(Distribution):
    """The multivariate normal distribution (``torch.distributions.MultivariateNormal``).

    Give the covariance by exactly one of ``covariance_matrix``, ``precision_matrix`` and
    ``scale_tril`` (its lower Cholesky factor ``L``, ``covariance = L L^T``); the others are
    computed when read. Everything is differentiable with respect to ``loc`` and the matrix.

    Parameters
    ----------
    loc : Tensor of shape (..., D)
        The mean.
    covariance_matrix : Tensor of shape (..., D, D), optional
        Symmetric positive definite.
    precision_matrix : Tensor of shape (..., D, D), optional
        The inverse covariance.
    scale_tril : Tensor of shape (..., D, D), optional
        Lower triangular with a positive diagonal.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        loc = as_tensor(loc)
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, matrix = next((n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                                  ("precision_matrix", precision_matrix),
                                                  ("scale_tril", scale_tril))
                            if m is not None)
        matrix = as_tensor(matrix, loc)
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: {name} of shape {tuple(matrix.shape)} does "
                             f"not match loc of shape {tuple(loc.shape)}")
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        d = loc.shape[-1]
        self.__dict__[name] = matrix.expand(*batch_shape, d, d)
        self.loc = loc.expand(*batch_shape, d)
        super().__init__(batch_shape, (d,), validate_args=validate_args)  # checks, then factors
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _linalg.cholesky(_linalg.inv(matrix))

    def _expandable(self):
        return {"loc", "covariance_matrix", "precision_matrix", "scale_tril"}

    @lazy_property
    def scale_tril(self):
        """The lower Cholesky factor ``L`` of the covariance, ``batch_shape + (D, D)``."""
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape * 2)

    @lazy_property
    def covariance_matrix(self):
        """``L L^T``, ``batch_shape + (D, D)``."""
        low = self._unbroadcasted_scale_tril
        return (low @ low.mT).expand(*self._batch_shape, *self._event_shape * 2)

    @lazy_property
    def precision_matrix(self):
        """The inverse covariance, ``batch_shape + (D, D)``."""
        return _linalg.inv(self.covariance_matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(
            *self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = self._draw(lambda g, s: g.standard_normal(s), shape, self.loc)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        value = self._value(value, self.loc)
        diff = value - self.loc
        m = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        d = self._event_shape[0]
        return -0.5 * (d * _LOG_2PI + m) - self._half_log_det()

    def entropy(self):
        d = self._event_shape[0]
        h = 0.5 * d * (1.0 + _LOG_2PI) + self._half_log_det()
        return h.expand(*self._batch_shape) if len(self._batch_shape) else h


def _mahalanobis(scale_tril, diff):
    """``|L^-1 diff|^2`` over the last dimension, broadcasting the batches."""
    shape = np.broadcast_shapes(tuple(scale_tril.shape[:-2]), tuple(diff.shape[:-1]))
    d = diff.shape[-1]
    low = scale_tril.expand(*shape, d, d) if tuple(scale_tril.shape[:-2]) != shape else \
        scale_tril
    diff = diff.expand(*shape, d) if tuple(diff.shape[:-1]) != shape else diff
    # a triangular solve reads only the lower triangle (so only it gets a gradient)
    z = _linalg.solve(low.tril(), diff.unsqueeze(-1)).squeeze(-1)
    return z.pow(2).sum(-1)


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution on the simplex (``torch.distributions.Dirichlet``).

    ``rsample`` normalises independent gamma draws, each differentiable in its
    concentration by implicit reparameterisation (see :class:`Gamma`). The expected gradient
    is PyTorch's; a single draw's gradient differs, because PyTorch differentiates the
    Dirichlet draw as a whole rather than through its gamma components.

    Parameters
    ----------
    concentration : Tensor of shape (..., K)
        Positive concentrations; ``K`` is the event size.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {
        "concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        concentration = as_tensor(concentration)
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        g = rsample_standard_gamma(self.concentration, shape)
        finfo = _dtype.finfo(g.dtype)
        return (g / g.sum(-1, keepdim=True)).clamp(min=float(finfo.tiny),
                                                   max=1 - float(finfo.eps))

    def log_prob(self, value):
        value = self._value(value, self.concentration)
        c = self.concentration
        return ((c - 1).xlogy(value).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        c = self.concentration
        cm1 = (c - 1).clamp(min=0)
        mode = cm1 / cm1.sum(-1, keepdim=True)
        all_small = (c < 1).all(-1)
        if bool(all_small.any()):
            from ..nn import functional as _F

            corner = _F.one_hot(c.argmax(-1), c.shape[-1]).to(c.dtype)
            mode = mode.masked_fill(all_small.unsqueeze(-1), 0.0) + \
                corner * all_small.unsqueeze(-1).to(c.dtype)
        return mode

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return (c.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma()
                - ((c - 1.0) * c.digamma()).sum(-1))


class Beta(ExponentialFamily):
    """The beta distribution on ``[0, 1]`` (``torch.distributions.Beta``).

    ``rsample`` is ``X / (X + Y)`` of gamma draws, differentiable in both concentrations
    (see :class:`Dirichlet` for how its per-draw gradient relates to PyTorch's).

    Parameters
    ----------
    concentration1 : Tensor or float
        ``alpha`` (positive; broadcast with ``concentration0`` to the batch shape).
    concentration0 : Tensor or float
        ``beta`` (positive).
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
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def _total(self):
        return self.concentration1 + self.concentration0

    @property
    def mean(self):
        return self.concentration1 / self._total

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        return Dirichlet(_stack2(a, b), validate_args=False).mode[..., 0]

    @property
    def variance(self):
        t = self._total
        return self.concentration1 * self.concentration0 / (t.pow(2) * (t + 1))

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        x = rsample_standard_gamma(self.concentration1, shape)
        y = rsample_standard_gamma(self.concentration0, shape)
        finfo = _dtype.finfo(x.dtype)
        return (x / (x + y)).clamp(min=float(finfo.tiny), max=1 - float(finfo.eps))

    def log_prob(self, value):
        value = self._value(value, self.concentration1)
        a, b = self.concentration1, self.concentration0
        return ((a - 1).xlogy(value) + (b - 1).xlogy(1 - value) + (a + b).lgamma()
                - a.lgamma() - b.lgamma())

    def entropy(self):
        return Dirichlet(_stack2(self.concentration1, self.concentration0),
                         validate_args=False).entropy()


def _stack2(a, b):
    from .. import _math as _m

    return _m.stack([a, b], -1)


class Independent(Distribution):
    """Batch dimensions reinterpreted as event dimensions (``torch.distributions.Independent``).

    ``log_prob`` and ``entropy`` sum over those dimensions: a diagonal Gaussian over vectors is
    ``Independent(Normal(loc, scale), 1)``.

    Parameters
    ----------
    base_distribution : Distribution
        The distribution whose batch dimensions are reinterpreted.
    reinterpreted_batch_ndims : int
        How many rightmost batch dimensions become event dimensions.
    validate_args : bool, optional
        Check the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        batch = tuple(base_distribution.batch_shape)
        if n < 0 or n > len(batch):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {n} vs {len(batch)}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        cut = len(batch) - n
        super().__init__(batch[:cut], batch[cut:] + tuple(base_distribution.event_shape),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = tuple(shape_of(batch_shape))
        n = self.reinterpreted_batch_ndims
        new.base_dist = self.base_dist.expand(
            batch_shape + tuple(self._event_shape[:n]))
        new.reinterpreted_batch_ndims = n
        return _copy_base(new, self, batch_shape, self._event_shape)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        if self.reinterpreted_batch_ndims > 0:
            return False
        return self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        """The base's support on events of the reinterpreted dimensions."""
        result = self.base_dist.support
        if self.reinterpreted_batch_ndims:
            result = constraints.independent(result, self.reinterpreted_batch_ndims)
        return result

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand=True):
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamily(Distribution):
    """A mixture of components of one family (``torch.distributions.MixtureSameFamily``).

    The component distributions are the rightmost batch dimension of
    ``component_distribution``; ``mixture_distribution`` chooses among them.

    Parameters
    ----------
    mixture_distribution : Categorical
        The mixing weights, of batch shape ``batch_shape`` and ``K`` categories.
    component_distribution : Distribution
        The components, of batch shape ``batch_shape + (K,)``.
    validate_args : bool, optional
        Check the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of "  # noqa: TRY004 (PyTorch's ValueError)
                             "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of "  # noqa: TRY004 (PyTorch's ValueError)
                             "torch.distributions.Distribution")
        mb = tuple(mixture_distribution.batch_shape)
        cb = tuple(component_distribution.batch_shape)
        if len(cb) < 1:
            raise ValueError("MixtureSameFamily: the components need a batch dimension "
                             "for K")
        try:
            shape = np.broadcast_shapes(mb, cb[:-1])
        except ValueError:
            raise ValueError(f"`mixture_distribution.batch_shape` ({mb}) is not compatible "
                             f"with `component_distribution.batch_shape`({cb})") from None
        k = mixture_distribution.param_shape[-1]
        if k != cb[-1]:
            raise ValueError(f"`mixture_distribution component` ({k}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({cb[-1]})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = k
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(shape, component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = tuple(shape_of(batch_shape))
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        return _copy_base(new, self, batch_shape, self._event_shape)

    @property
    def mixture_distribution(self):
        """The Categorical over the components."""
        return self._mixture_distribution

    @property
    def component_distribution(self):
        """The components (their last batch dimension indexes them)."""
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        """The components' support."""
        return self._component_distribution.support

    def _pad(self, x):
        """``x`` with a component dimension before the event dimensions."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self):
        """The mixing probabilities, shaped to broadcast against a component quantity."""
        p = self._mixture_distribution.probs
        for _ in range(self._event_ndims):
            p = p.unsqueeze(-1)
        return p

    @property
    def mean(self):
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        w = self._weights()
        dim = -1 - self._event_ndims
        within = (w * self._component_distribution.variance).sum(dim)
        between = (w * (self._component_distribution.mean
                        - self._pad(self.mean)).pow(2)).sum(dim)
        return within + between

    def cdf(self, x):
        x = self._pad(as_tensor(x, self._mixture_distribution.probs))
        cdf_x = self._component_distribution.cdf(x)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        x = as_tensor(x, self._mixture_distribution.probs)
        if self._validate_args:
            self._validate_sample(x)
        lp = self._component_distribution.log_prob(self._pad(x))
        log_mix = self._mixture_distribution.logits.log_softmax(-1)
        return (lp + log_mix).logsumexp(-1)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = tuple(shape_of(sample_shape))
            idx = self._mixture_distribution.sample(shape)            # S + B
            comp = self._component_distribution.sample(shape)        # S + B + (K,) + E
            event = tuple(self._event_shape)
            idx = idx.reshape(*idx.shape, 1, *([1] * len(event)))
            idx = idx.expand(*idx.shape[:-len(event) - 1] if event else idx.shape[:-1],
                             1, *event)
            return comp.gather(len(shape) + len(self._batch_shape), idx).squeeze(
                len(shape) + len(self._batch_shape))

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n  "
                f"{self._component_distribution!r})")


class TransformedDistribution(Distribution):
    """A distribution pushed through transforms (``TransformedDistribution`` of PyTorch).

    ``X ~ base_distribution``, ``Y = transforms[-1](...transforms[0](X))``; ``log_prob(y)``
    is the base's log-density at the inverse image minus each transform's log-Jacobian.

    Parameters
    ----------
    base_distribution : Distribution
        The distribution of ``X``.
    transforms : Transform or list of Transform
        Applied in order.
    validate_args : bool, optional
        Check the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")  # noqa: TRY004 (PyTorch's ValueError)
        self.transforms = transforms
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        chain = ComposeTransform(self.transforms)
        if len(base_shape) < chain.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{chain.domain.event_dim}, but got {base_shape}.")
        forward_shape = tuple(chain.forward_shape(base_shape))
        expanded = tuple(chain.inverse_shape(forward_shape))
        if base_shape != expanded:
            cut = len(expanded) - base_event_dim
            base_distribution = base_distribution.expand(expanded[:cut])
        extra = chain.domain.event_dim - base_event_dim
        if extra > 0:
            base_distribution = Independent(base_distribution, extra)
        self.base_dist = base_distribution
        event_dim = chain.codomain.event_dim + max(base_event_dim - chain.domain.event_dim, 0)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = tuple(shape_of(batch_shape))
        shape = batch_shape + tuple(self._event_shape)
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        cut = len(shape) - len(self.base_dist.event_shape)
        new.base_dist = self.base_dist.expand(shape[:cut])
        new.transforms = self.transforms
        return _copy_base(new, self, batch_shape, self._event_shape)

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        """The last transform's codomain (as events of ``event_shape``)."""
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self._event_shape) > support.event_dim:
            support = constraints.independent(support,
                                              len(self._event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        like = next((v for v in self.__dict__.values() if hasattr(v, "_data")), None)
        value = as_tensor(value, like)
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self._event_shape)
        total = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            total = total - sum_rightmost(t.log_abs_det_jacobian(x, y),
                                          event_dim - t.domain.event_dim)
            y = x
        return total + sum_rightmost(self.base_dist.log_prob(y),
                                     event_dim - len(self.base_dist.event_shape))

    def _monotone_sign(self):
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return 1
        if isinstance(sign, int):
            return sign
        return sign

    def cdf(self, value):
        y = as_tensor(value)
        for t in reversed(self.transforms):
            y = t.inv(y)
        value = self.base_dist.cdf(y)
        sign = self._monotone_sign()
        if isinstance(sign, int):
            return value if sign == 1 else 1 - value
        return sign * (value - 0.5) + 0.5

    def icdf(self, value):
        value = as_tensor(value)
        sign = self._monotone_sign()
        if isinstance(sign, int):
            value = value if sign == 1 else 1 - value
        else:
            value = sign * (value - 0.5) + 0.5
        x = self.base_dist.icdf(value)
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f"{type(self).__name__}({self.base_dist!r}, {self.transforms!r})"


class LogNormal(TransformedDistribution):
    """``exp(X)`` for ``X ~ Normal(loc, scale)`` (``torch.distributions.LogNormal``).

    Parameters
    ----------
    loc : Tensor or float
        The mean of ``log Y`` (broadcast with ``scale`` to the batch shape).
    scale : Tensor or float
        The standard deviation of ``log Y`` (positive).
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    @property
    def loc(self):
        """The mean of ``log Y``."""
        return self.base_dist.loc

    @property
    def scale(self):
        """The standard deviation of ``log Y``."""
        return self.base_dist.scale

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class LogitRelaxedBernoulli(_BinaryParam, Distribution):
    """The logit of a relaxed Bernoulli draw (``torch.distributions.LogitRelaxedBernoulli``).

    ``rsample`` is ``(logits + log u - log(1 - u)) / temperature`` with uniform ``u``.

    Parameters
    ----------
    temperature : Tensor or float
        The relaxation temperature (positive).
    probs : Tensor or float, optional
        The probability of 1, of the batch shape.
    logits : Tensor or float, optional
        Its log-odds, of the batch shape. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        (shape,) = self._set_probs_or_logits(probs, logits)
        self.temperature = as_tensor(temperature, self._param)
        super().__init__(shape, validate_args=validate_args)

    @property
    def param_shape(self):
        """The parameters' shape (the batch shape)."""
        return Size(self._param.shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(self._draw(lambda g, s: g.random(s), shape, self._param))
        return (self.logits + u.log() - (-u).log1p()) / self.temperature

    def log_prob(self, value):
        value = self._value(value, self._param)
        from ..nn import functional as _F

        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * _F.softplus(diff)


class _Relaxed:
    """What the relaxed distributions share: their parameters are their base distribution's
    (which checked them). A mixin before TransformedDistribution."""

    def _check_parameters(self):
        pass

    @property
    def temperature(self):
        """The relaxation temperature."""
        return self.base_dist.temperature

    @property
    def logits(self):
        """The base distribution's logits (log-odds, or normalised log-probabilities)."""
        return self.base_dist.logits

    @property
    def probs(self):
        """The base distribution's probabilities."""
        return self.base_dist.probs


class RelaxedBernoulli(_Relaxed, TransformedDistribution):
    """The binary Concrete distribution on ``(0, 1)`` (``torch.distributions.RelaxedBernoulli``).

    ``sigmoid`` of a :class:`LogitRelaxedBernoulli` draw: differentiable samples that approach
    0/1 as the temperature goes to 0.

    Parameters
    ----------
    temperature : Tensor or float
        The relaxation temperature (positive).
    probs : Tensor or float, optional
        The probability of 1, of the batch shape.
    logits : Tensor or float, optional
        Its log-odds, of the batch shape. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.unit_interval,
                                       "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)



class ExpRelaxedCategorical(_CategoricalParams, Distribution):
    """The log of a relaxed one-hot draw (``torch.distributions.ExpRelaxedCategorical``).

    ``rsample`` is ``log_softmax((logits + gumbel) / temperature)``.

    Parameters
    ----------
    temperature : Tensor or float
        The relaxation temperature (positive).
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        self.temperature = as_tensor(temperature, self._categorical._param)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def _check_parameters(self):
        pass  # the categorical checked them

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch_shape = tuple(shape_of(batch_shape))
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        return _copy_base(new, self, batch_shape, self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = clamp_probs(self._draw(lambda g, s: g.random(s), shape, self.logits))
        gumbels = -((-u.log()).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value):
        value = self._value(value, self.logits)
        k = self._event_shape[0]
        log_scale = math.lgamma(k) + (k - 1) * self.temperature.log()
        score = self.logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_Relaxed, TransformedDistribution):
    """The Gumbel-softmax distribution (``torch.distributions.RelaxedOneHotCategorical``).

    A relaxed one-hot categorical on the simplex (the Concrete distribution).

    Parameters
    ----------
    temperature : Tensor or float
        The relaxation temperature (positive).
    probs : Tensor of shape (..., K), optional
        Non-negative weights, normalised along the last dimension.
    logits : Tensor of shape (..., K), optional
        Unnormalised log-probabilities. Give exactly one of ``probs`` and ``logits``.
    validate_args : bool, optional
        Check the parameters and the values given to ``log_prob``.
    """

    arg_constraints: ClassVar[dict] = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

