"""Sampling of pynn.distributions: moments against the known mean and variance over many
draws (fixed seeds, tolerances of several standard errors), reparameterised gradients, and
the Gamma family's implicit gradient against PyTorch's."""

import numpy as np
import pytest

import pynn
import pynn.distributions as pd

torch = pytest.importorskip("torch")
td = torch.distributions

N = 40000


def _f64(a):
    return pynn.tensor(a, dtype=pynn.float64)


MOMENT_CASES = [
    ("exponential", lambda: pd.Exponential(_f64([0.5, 3.0]))),
    ("laplace", lambda: pd.Laplace(_f64([0.0, -1.0]), _f64([1.0, 0.3]))),
    ("halfnormal", lambda: pd.HalfNormal(_f64([0.5, 2.0]))),
    ("lognormal", lambda: pd.LogNormal(_f64([0.0, -1.0]), _f64([0.3, 0.5]))),
    ("gumbel", lambda: pd.Gumbel(_f64([0.0, 2.0]), _f64([1.0, 0.5]))),
    ("studentt", lambda: pd.StudentT(_f64([5.0, 9.0]), _f64([1.0, 0.0]), _f64([1.0, 2.0]))),
    ("gamma", lambda: pd.Gamma(_f64([0.3, 4.0]), _f64([1.0, 2.0]))),
    ("chi2", lambda: pd.Chi2(_f64([1.0, 6.0]))),
    ("beta", lambda: pd.Beta(_f64([0.5, 3.0]), _f64([2.0, 3.0]))),
    ("dirichlet", lambda: pd.Dirichlet(_f64([0.5, 2.0, 3.0]))),
    ("poisson", lambda: pd.Poisson(_f64([0.5, 12.0]))),
    ("geometric", lambda: pd.Geometric(_f64([0.2, 0.9]))),
    ("binomial", lambda: pd.Binomial(_f64([5.0, 20.0]), _f64([0.3, 0.8]))),
    ("multinomial", lambda: pd.Multinomial(7, _f64([0.2, 0.5, 0.3]))),
    ("onehot", lambda: pd.OneHotCategorical(_f64([0.2, 0.5, 0.3]))),
    ("mvn", lambda: pd.MultivariateNormal(_f64([1.0, -1.0]),
                                          _f64([[2.0, 0.6], [0.6, 0.5]]))),
    ("negative_binomial", lambda: pd.NegativeBinomial(_f64([2.5, 10.0]), _f64([0.3, 0.6]))),
    ("weibull", lambda: pd.Weibull(_f64([1.0, 2.0]), _f64([0.8, 3.0]))),
    ("pareto", lambda: pd.Pareto(_f64([1.0, 2.0]), _f64([5.0, 9.0]))),
    ("kumaraswamy", lambda: pd.Kumaraswamy(_f64([0.5, 3.0]), _f64([2.0, 3.0]))),
    ("continuous_bernoulli", lambda: pd.ContinuousBernoulli(_f64([0.1, 0.5, 0.8]))),
    ("lowrank_mvn", lambda: pd.LowRankMultivariateNormal(
        _f64([1.0, -1.0, 0.0]), _f64([[1.0], [0.5], [-1.0]]), _f64([0.5, 1.0, 0.2]))),
    ("inverse_gamma", lambda: pd.InverseGamma(_f64([5.0, 9.0]), _f64([1.0, 3.0]))),
    ("fisher_snedecor", lambda: pd.FisherSnedecor(_f64([3.0, 10.0]), _f64([12.0, 20.0]))),
    ("generalized_pareto", lambda: pd.GeneralizedPareto(_f64([0.0, 1.0, -1.0]),
                                                         _f64([1.0, 2.0, 0.5]),
                                                         _f64([0.0, -0.4, 0.15]))),
    ("mixture", lambda: pd.MixtureSameFamily(pd.Categorical(_f64([0.3, 0.7])),
                                             pd.Normal(_f64([-2.0, 1.0]), _f64([0.5, 1.0])))),
]


@pytest.mark.parametrize("name, build", MOMENT_CASES, ids=[c[0] for c in MOMENT_CASES])
def test_sample_moments(name, build):
    pynn.manual_seed(3)
    dist = build()
    x = dist.sample((N,))
    assert tuple(x.shape) == (N,) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    assert not x.requires_grad
    data = x.numpy()
    mean, var = dist.mean.numpy(), dist.variance.numpy()
    # the sample mean is within 5 standard errors; the variance within 10% (heavy tails
    # excluded: every case here has a finite fourth moment)
    np.testing.assert_array_less(np.abs(data.mean(0) - mean), 5 * np.sqrt(var / N) + 1e-12)
    np.testing.assert_allclose(data.var(0), var, rtol=0.1, atol=1e-3)


def test_vonmises_circular_moments():
    pynn.manual_seed(4)
    dist = pd.VonMises(_f64([0.5, -3.0]), _f64([2.0, 20.0]))
    x = dist.sample((N,)).numpy()
    assert ((x >= -np.pi) & (x < np.pi)).all()
    d = x - dist.loc.numpy()
    # E[cos(x - loc)] = I1(k) / I0(k) = 1 - circular variance; E[sin(x - loc)] = 0
    np.testing.assert_allclose(np.cos(d).mean(0), 1 - dist.variance.numpy(), atol=0.01)
    np.testing.assert_allclose(np.sin(d).mean(0), 0, atol=0.01)


def test_cauchy_sample_quantiles():
    pynn.manual_seed(0)
    x = pd.Cauchy(_f64(1.0), _f64(2.0)).sample((N,)).numpy()
    np.testing.assert_allclose(np.quantile(x, [0.25, 0.5, 0.75]), [-1.0, 1.0, 3.0], atol=0.1)


def test_relaxed_samples_live_on_their_supports_and_harden_when_cold():
    pynn.manual_seed(0)
    hot = pd.RelaxedBernoulli(_f64(5.0), probs=_f64([0.3])).sample((N,)).numpy()
    cold = pd.RelaxedBernoulli(_f64(0.05), probs=_f64([0.3])).sample((N,)).numpy()
    assert ((hot > 0) & (hot < 1)).all() and ((cold >= 0) & (cold <= 1)).all()
    assert abs((cold > 0.5).mean() - 0.3) < 0.02 and np.abs(hot - 0.5).max() < 0.5
    s = pd.RelaxedOneHotCategorical(_f64(0.05), probs=_f64([0.2, 0.5, 0.3])).sample((N,))
    np.testing.assert_allclose(s.numpy().sum(-1), 1, rtol=1e-9)
    np.testing.assert_allclose((s.numpy().argmax(-1)[:, None] == np.arange(3)).mean(0),
                               [0.2, 0.5, 0.3], atol=0.02)


def test_sampling_follows_the_global_seed():
    for build in (lambda: pd.Gamma(_f64([2.0]), _f64([1.0])), lambda: pd.Poisson(_f64([3.0])),
                  lambda: pd.Dirichlet(_f64([1.0, 2.0]))):
        pynn.manual_seed(7)
        a = build().sample((4,)).numpy()
        pynn.manual_seed(7)
        np.testing.assert_array_equal(a, build().sample((4,)).numpy())


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 2.5, 10.0, 150.0])
def test_gamma_implicit_gradient_matches_torch(a):
    """dx/dalpha at the drawn x, against PyTorch's (its closed-form approximation is good
    to about 1e-4; ours is closer to the exact value)."""
    pynn.manual_seed(0)
    alpha = pynn.tensor(np.full(200, a), dtype=pynn.float64, requires_grad=True)
    x = pd.Gamma(alpha, 1.0).rsample()
    (x * 1.0).sum().backward()
    want = torch._standard_gamma_grad(torch.tensor(np.full(200, a)), torch.tensor(x.detach()
                                                                                  .numpy()))
    np.testing.assert_allclose(alpha.grad.numpy(), want.numpy(), rtol=1e-3, atol=1e-10)


@pytest.mark.parametrize("name, build, params, mean_fn", [
    # E[x] depends on the parameters; the pathwise gradient of the sample mean estimates it
    ("gamma", lambda p: pd.Gamma(p[0], p[1]), [2.0, 3.0],
     lambda c, r: (1 / r, -c / r ** 2)),
    ("beta", lambda p: pd.Beta(p[0], p[1]), [2.0, 3.0],
     lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),
    ("chi2", lambda p: pd.Chi2(p[0]), [3.0], lambda k: (1.0,)),
    ("normal", lambda p: pd.Normal(p[0], p[1]), [1.0, 2.0], lambda m, s: (1.0, 0.0)),
    ("laplace", lambda p: pd.Laplace(p[0], p[1]), [1.0, 2.0], lambda m, s: (1.0, 0.0)),
    ("exponential", lambda p: pd.Exponential(p[0]), [2.0], lambda r: (-1 / r ** 2,)),
    ("lognormal", lambda p: pd.LogNormal(p[0], p[1]), [0.1, 0.3],
     lambda m, s: (np.exp(m + s * s / 2), s * np.exp(m + s * s / 2))),
    ("gumbel", lambda p: pd.Gumbel(p[0], p[1]), [1.0, 2.0], lambda m, s: (1.0, 0.5772156649)),
    ("halfnormal", lambda p: pd.HalfNormal(p[0]), [2.0], lambda s: (np.sqrt(2 / np.pi),)),
    ("weibull", lambda p: pd.Weibull(p[0], p[1]), [2.0, 1.0], lambda s, k: (1.0, -2.0 * (
        1 - 0.5772156649))),
    ("pareto", lambda p: pd.Pareto(p[0], p[1]), [1.0, 5.0], lambda s, a: (a / (a - 1),
                                                                       -s / (a - 1) ** 2)),
    ("continuous_bernoulli", lambda p: pd.ContinuousBernoulli(p[0]), [0.8],
     # mean p / (2p - 1) + 1 / log((1 - p) / p)
     lambda p: (-1 / (2 * p - 1) ** 2 + 1 / (p * (1 - p) * np.log(p / (1 - p)) ** 2),)),
])
def test_rsample_gradient_of_the_mean(name, build, params, mean_fn):
    pynn.manual_seed(1)
    ps = [pynn.tensor(v, dtype=pynn.float64, requires_grad=True) for v in params]
    build(ps).rsample((N,)).mean().backward()
    np.testing.assert_allclose([p.grad.item() for p in ps], mean_fn(*params), rtol=0.05,
                               atol=0.02)


def test_dirichlet_rsample_gradient_of_the_mean():
    pynn.manual_seed(2)
    c = pynn.tensor([1.0, 2.0, 3.0], dtype=pynn.float64, requires_grad=True)
    x = pd.Dirichlet(c).rsample((N,))
    x[:, 0].mean().backward()
    # d/dc_j of c_0 / sum(c)
    want = np.array([5.0, -1.0, -1.0]) / 36
    np.testing.assert_allclose(c.grad.numpy(), want, atol=0.01)


def test_mvn_rsample_is_loc_plus_scale_tril_times_noise():
    loc = pynn.tensor([1.0, 2.0], dtype=pynn.float64, requires_grad=True)
    tril = pynn.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=pynn.float64, requires_grad=True)
    pynn.manual_seed(5)
    x = pd.MultivariateNormal(loc, scale_tril=tril).rsample((3,))
    pynn.manual_seed(5)
    eps = pynn.randn(3, 2, dtype=pynn.float64)
    np.testing.assert_allclose(x.detach().numpy(), (1.0 * loc + eps @ tril.T).detach().numpy())
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(tril.grad.numpy(), np.tile(eps.numpy().sum(0), (2, 1)))


def test_studentt_rsample_reaches_all_parameters():
    ps = [pynn.tensor(v, dtype=pynn.float64, requires_grad=True) for v in (4.0, 1.0, 2.0)]
    pd.StudentT(*ps).rsample((10,)).pow(2).sum().backward()
    assert all(p.grad is not None and np.isfinite(p.grad.item()) for p in ps)


def test_no_rsample_for_discrete_and_mixtures():
    for dist in (pd.Poisson(_f64(1.0)), pd.Categorical(_f64([0.5, 0.5])),
                 pd.MixtureSameFamily(pd.Categorical(_f64([0.5, 0.5])),
                                      pd.Normal(_f64([0.0, 1.0]), 1.0))):
        assert not dist.has_rsample
        with pytest.raises(NotImplementedError):
            dist.rsample()
