"""Probability distributions with PyTorch's interface (``torch.distributions``).

Each distribution has PyTorch's constructor, ``batch_shape`` and ``event_shape``,
``sample``/``rsample(sample_shape)`` (reparameterised draws are differentiable with respect
to the parameters), ``log_prob``, ``entropy``, ``mean``/``mode``/``stddev``/``variance``,
``cdf``/``icdf`` where PyTorch has them, ``expand``, ``arg_constraints``/``support`` (from
:mod:`pynn.distributions.constraints`) and ``validate_args`` checks. Parameters given as
``probs`` are also readable as ``logits`` and the other way round. :func:`kl_divergence`
covers the common pairs and :func:`register_kl` adds more; ``TransformedDistribution`` with
``pynn.distributions.transforms``, ``biject_to`` and ``transform_to`` build new
distributions from old.

Samples come from pynn's global generator (:func:`pynn.manual_seed`).
"""

import sys

from . import constraint_registry as _registry
from . import constraints, transforms, utils  # noqa: F401 (torch.distributions.utils)
from ._discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    Multinomial,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from ._kl import kl_divergence, register_kl
from ._more import (
    ContinuousBernoulli,
    FisherSnedecor,
    GeneralizedPareto,
    HalfCauchy,
    InverseGamma,
    Kumaraswamy,
    LKJCholesky,
    LogisticNormal,
    LowRankMultivariateNormal,
    NegativeBinomial,
    Pareto,
    VonMises,
    Weibull,
    Wishart,
)
from ._multivariate import (
    Beta,
    Dirichlet,
    ExpRelaxedCategorical,
    Independent,
    LogitRelaxedBernoulli,
    LogNormal,
    MixtureSameFamily,
    MultivariateNormal,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    TransformedDistribution,
)
from ._univariate import (
    Cauchy,
    Chi2,
    Exponential,
    Gamma,
    Gumbel,
    HalfNormal,
    Laplace,
    Normal,
    StudentT,
    Uniform,
)
from .distribution import Distribution, ExponentialFamily
from .transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
)

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "ContinuousBernoulli",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "Dirichlet",
    "Distribution",
    "ExpRelaxedCategorical",
    "ExpTransform",
    "Exponential",
    "ExponentialFamily",
    "FisherSnedecor",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent",
    "IndependentTransform",
    "InverseGamma",
    "Kumaraswamy",
    "LKJCholesky",
    "Laplace",
    "LogNormal",
    "LogisticNormal",
    "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal",
    "LowerCholeskyTransform",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Pareto",
    "Poisson",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StickBreakingTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "VonMises",
    "Weibull",
    "Wishart",
    "biject_to",
    "constraints",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]

# PyTorch's name of the identity (an instance: documented in transforms, not listed here)
identity_transform = transforms.identity_transform
#: Bijections from unconstrained space onto a constraint's set: ``biject_to(constraint)``.
biject_to = _registry.biject_to
#: Maps from unconstrained space onto a constraint's set: ``transform_to(constraint)``.
transform_to = _registry.transform_to

# PyTorch's submodule paths (``from torch.distributions.normal import Normal``) name the
# module that defines each class.
_SUBMODULES = {
    "bernoulli": "_discrete", "binomial": "_discrete", "categorical": "_discrete",
    "geometric": "_discrete", "multinomial": "_discrete", "one_hot_categorical": "_discrete",
    "poisson": "_discrete", "beta": "_multivariate", "dirichlet": "_multivariate",
    "independent": "_multivariate", "log_normal": "_multivariate",
    "mixture_same_family": "_multivariate", "multivariate_normal": "_multivariate",
    "relaxed_bernoulli": "_multivariate", "relaxed_categorical": "_multivariate",
    "transformed_distribution": "_multivariate", "cauchy": "_univariate",
    "chi2": "_univariate", "exponential": "_univariate", "gamma": "_univariate",
    "gumbel": "_univariate", "half_normal": "_univariate", "laplace": "_univariate",
    "normal": "_univariate", "studentT": "_univariate", "uniform": "_univariate",
    "continuous_bernoulli": "_more", "kumaraswamy": "_more",
    "lowrank_multivariate_normal": "_more", "negative_binomial": "_more", "pareto": "_more",
    "weibull": "_more", "fishersnedecor": "_more", "half_cauchy": "_more",
    "inverse_gamma": "_more", "logistic_normal": "_more", "von_mises": "_more",
    "lkj_cholesky": "_more", "wishart": "_more", "generalized_pareto": "_more",
    "exp_family": "distribution", "kl": "_kl",
}
for _alias, _real in _SUBMODULES.items():
    sys.modules[f"{__name__}.{_alias}"] = globals()[_alias] = sys.modules[f"{__name__}.{_real}"]
del _alias, _real
