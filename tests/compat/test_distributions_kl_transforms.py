"""kl_divergence, register_kl, validate_args, constraints, transforms and biject_to of
pynn.distributions against torch.distributions."""

import numpy as np
import pytest

import pynn
import pynn.distributions as pd
from pynn.distributions import constraints, transforms

torch = pytest.importorskip("torch")
td = torch.distributions

RNG = np.random.default_rng(2)
POS, POS2 = RNG.random(3) + 0.5, RNG.random(3) + 0.5
LOC, LOC2 = RNG.standard_normal(3), RNG.standard_normal(3)
UNIT, UNIT2 = RNG.random(3) * 0.8 + 0.1, RNG.random(3) * 0.8 + 0.1
LOGITS, LOGITS2 = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
CONC, CONC2 = RNG.random((3, 4)) + 0.5, RNG.random((3, 4)) + 0.5
A, B = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((3, 3))
COV, COV2 = A @ A.transpose(0, 2, 1) + 2 * np.eye(3), B @ B.T + np.eye(3)

KL = [
    ("mvn_mvn", [LOGITS[:2, :3], COV, LOGITS2[0, :3], COV2],
     lambda d, p: (d.MultivariateNormal(p[0], p[1]), d.MultivariateNormal(p[2], p[3]))),
    ("mvn_tril", [LOGITS[:2, :3], np.linalg.cholesky(COV), LOGITS2[0, :3], COV2],
     lambda d, p: (d.MultivariateNormal(p[0], scale_tril=p[1]),
                   d.MultivariateNormal(p[2], precision_matrix=p[3]))),
    ("beta", [POS, POS2, POS2, POS], lambda d, p: (d.Beta(p[0], p[1]), d.Beta(p[2], p[3]))),
    ("gamma", [POS, POS2, POS2, POS], lambda d, p: (d.Gamma(p[0], p[1]), d.Gamma(p[2], p[3]))),
    ("dirichlet", [CONC, CONC2], lambda d, p: (d.Dirichlet(p[0]), d.Dirichlet(p[1]))),
    ("exponential", [POS, POS2], lambda d, p: (d.Exponential(p[0]), d.Exponential(p[1]))),
    ("exponential_gamma", [POS, POS2, POS],
     lambda d, p: (d.Exponential(p[0]), d.Gamma(p[1], p[2]))),
    ("laplace", [LOC, POS, LOC2, POS2],
     lambda d, p: (d.Laplace(p[0], p[1]), d.Laplace(p[2], p[3]))),
    ("uniform_normal", [LOC, LOC + POS, LOC2, POS2],
     lambda d, p: (d.Uniform(p[0], p[1]), d.Normal(p[2], p[3]))),
    ("uniform_uniform", [LOC, LOC + POS, LOC - 1, LOC + POS + POS2],
     lambda d, p: (d.Uniform(p[0], p[1]), d.Uniform(p[2], p[3]))),
    ("normal_laplace", [LOC, POS, LOC2, POS2],
     lambda d, p: (d.Normal(p[0], p[1]), d.Laplace(p[2], p[3]))),
    ("poisson", [POS, POS2], lambda d, p: (d.Poisson(p[0]), d.Poisson(p[1]))),
    ("geometric", [UNIT, UNIT2], lambda d, p: (d.Geometric(p[0]), d.Geometric(p[1]))),
    ("binomial", [UNIT, UNIT2], lambda d, p: (d.Binomial(5, p[0]), d.Binomial(5, p[1]))),
    ("gumbel", [LOC, POS, LOC2, POS2], lambda d, p: (d.Gumbel(p[0], p[1]), d.Gumbel(p[2], p[3]))),
    ("halfnormal", [POS, POS2], lambda d, p: (d.HalfNormal(p[0]), d.HalfNormal(p[1]))),
    ("cauchy", [LOC, POS, LOC2, POS2], lambda d, p: (d.Cauchy(p[0], p[1]), d.Cauchy(p[2], p[3]))),
    ("onehot", [LOGITS, LOGITS2], lambda d, p: (d.OneHotCategorical(logits=p[0]),
                                               d.OneHotCategorical(logits=p[1]))),
    ("categorical", [CONC, CONC2],
     lambda d, p: (d.Categorical(probs=p[0]), d.Categorical(probs=p[1]))),
    ("independent", [LOGITS, CONC, LOGITS2, CONC2],
     lambda d, p: (d.Independent(d.Normal(p[0], p[1]), 1), d.Independent(d.Normal(p[2], p[3]),
                                                                          1))),
    ("lowrank_lowrank", [LOGITS[:2, :3], LOGITS2[:3, :2], POS, LOGITS2[0, :3], A[0], POS2],
     lambda d, p: (d.LowRankMultivariateNormal(p[0], p[1], p[2]),
                   d.LowRankMultivariateNormal(p[3], p[4], p[5]))),
    ("mvn_lowrank", [LOGITS[:2, :3], COV, LOGITS2[0, :3], A[0], POS2],
     lambda d, p: (d.MultivariateNormal(p[0], p[1]),
                   d.LowRankMultivariateNormal(p[2], p[3], p[4]))),
    ("lowrank_mvn", [LOGITS2[0, :3], A[0], POS2, LOGITS[:2, :3], COV],
     lambda d, p: (d.LowRankMultivariateNormal(p[0], p[1], p[2]),
                   d.MultivariateNormal(p[3], p[4]))),
    ("pareto", [POS, POS2 + 1, POS * 0.9, POS2],
     lambda d, p: (d.Pareto(p[0], p[1]), d.Pareto(p[2], p[3]))),
    ("continuous_bernoulli", [UNIT, UNIT2],
     lambda d, p: (d.ContinuousBernoulli(p[0]), d.ContinuousBernoulli(p[1]))),
    ("exponential_normal", [POS, LOC, POS2],
     lambda d, p: (d.Exponential(p[0]), d.Normal(p[1], p[2]))),
    ("normal_gamma_infinite", [LOC, POS, POS2, POS],
     lambda d, p: (d.Normal(p[0], p[1]), d.Gamma(p[2], p[3]))),
    ("gamma_uniform_infinite", [POS, POS2, LOC, LOC + 1],
     lambda d, p: (d.Gamma(p[0], p[1]), d.Uniform(p[2], p[3]))),
    ("lognormal", [LOC, POS, LOC2, POS2],
     lambda d, p: (d.LogNormal(p[0], p[1]), d.LogNormal(p[2], p[3]))),
]


@pytest.mark.parametrize("name, arrays, build", KL, ids=[c[0] for c in KL])
def test_kl_divergence_matches_torch(name, arrays, build):
    out = {}
    for lib, d in ((pynn, pd), (torch, td)):
        params = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        r = d.kl_divergence(*build(d, params))
        if r.requires_grad:  # not the constant infinite ones
            r.sum().backward()
        out[lib] = (r.requires_grad, r.detach().numpy().copy(),
                    [np.zeros(p.shape) if p.grad is None else p.grad.numpy().copy()
                     for p in params])
    assert out[pynn][0] == out[torch][0]
    assert out[pynn][1].shape == out[torch][1].shape
    np.testing.assert_allclose(out[pynn][1], out[torch][1], rtol=1e-7, atol=1e-9)
    for g, h in zip(out[pynn][2], out[torch][2]):
        np.testing.assert_allclose(g, h, rtol=1e-6, atol=1e-9)


def test_kl_infinite_where_the_support_is_not_covered():
    p = pd.Uniform(_f([0.0, 0.0]), _f([1.0, 1.0]))
    q = pd.Uniform(_f([0.0, 0.5]), _f([2.0, 2.0]))
    got = pd.kl_divergence(p, q).numpy()
    assert got[1] == np.inf and np.isclose(got[0], np.log(2))
    got = pd.kl_divergence(pd.Categorical(_f([0.5, 0.5, 0.0])),
                           pd.Categorical(_f([0.5, 0.0, 0.5]))).item()
    assert got == np.inf


def _f(a):
    return pynn.tensor(a, dtype=pynn.float64)


def test_unregistered_pair_raises_and_register_kl_adds_one():
    with pytest.raises(NotImplementedError, match="Poisson.*Normal"):
        pd.kl_divergence(pd.Poisson(_f(1.0)), pd.Normal(_f(0.0), _f(1.0)))

    class MyNormal(pd.Normal):
        pass

    # a subclass uses its base's pair until it registers a more specific one
    p, q = MyNormal(_f(0.0), _f(1.0)), pd.Normal(_f(1.0), _f(2.0))
    assert np.isclose(pd.kl_divergence(p, q).item(),
                      td.kl_divergence(td.Normal(0.0, 1.0), td.Normal(1.0, 2.0)).item())

    @pd.register_kl(MyNormal, pd.Normal)
    def _kl(p, q):
        return _f(42.0)

    assert pd.kl_divergence(p, q).item() == 42.0
    assert pd.kl_divergence(q, p).item() != 42.0
    with pytest.raises(TypeError):
        pd.register_kl(int, pd.Normal)


@pytest.mark.parametrize("build", [
    lambda d, lib: d.Normal(lib.tensor([0.0]), lib.tensor([-1.0])),
    lambda d, lib: d.Exponential(lib.tensor([0.0])),
    lambda d, lib: d.Gamma(lib.tensor([1.0]), lib.tensor([-1.0])),
    lambda d, lib: d.Beta(lib.tensor([0.0]), lib.tensor([1.0])),
    lambda d, lib: d.Bernoulli(probs=lib.tensor([1.5])),
    lambda d, lib: d.Categorical(probs=lib.tensor([0.5, -0.1])),
    lambda d, lib: d.Dirichlet(lib.tensor([1.0, 0.0])),
    lambda d, lib: d.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda d, lib: d.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor([[1.0, 0.0],
                                                                             [1.0, -1.0]])),
    lambda d, lib: d.Uniform(lib.tensor(1.0), lib.tensor(0.0)),
    lambda d, lib: d.Poisson(lib.tensor([-1.0])),
    lambda d, lib: d.StudentT(lib.tensor([0.0])),
    lambda d, lib: d.Binomial(lib.tensor([2.5]), lib.tensor([0.5])),
])
def test_invalid_parameters_raise_value_error_like_torch(build):
    with pytest.raises(ValueError):
        build(td, torch)
    with pytest.raises(ValueError, match="(?i)expected|low"):
        build(pd, pynn)


def test_validate_args_off_accepts_and_default_can_change():
    pd.Normal(pynn.tensor([0.0]), pynn.tensor([-1.0]), validate_args=False)
    pd.Distribution.set_default_validate_args(False)
    try:
        pd.Normal(pynn.tensor([0.0]), pynn.tensor([-1.0]))
    finally:
        pd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        pd.Normal(pynn.tensor([0.0]), pynn.tensor([-1.0]))


@pytest.mark.parametrize("build, value", [
    (lambda d, lib: d.Exponential(lib.tensor([1.0])), [-1.0]),
    (lambda d, lib: d.Beta(lib.tensor([1.0]), lib.tensor([2.0])), [1.5]),
    (lambda d, lib: d.Poisson(lib.tensor([1.0])), [0.5]),
    (lambda d, lib: d.Bernoulli(lib.tensor([0.3])), [2.0]),
    (lambda d, lib: d.Categorical(lib.tensor([0.3, 0.7])), [2]),
    (lambda d, lib: d.Dirichlet(lib.tensor([1.0, 2.0])), [0.3, 0.3]),
    (lambda d, lib: d.Normal(lib.zeros(3), 1.0), [[0.0, 0.0]]),
    (lambda d, lib: d.MultivariateNormal(lib.zeros(3), lib.eye(3)), [0.0, 1.0]),
    (lambda d, lib: d.Uniform(lib.tensor(0.0), lib.tensor(1.0)), [2.0]),
])
def test_log_prob_outside_the_support_raises_like_torch(build, value):
    with pytest.raises(ValueError):
        build(td, torch).log_prob(torch.tensor(value))
    with pytest.raises(ValueError):
        build(pd, pynn).log_prob(pynn.tensor(value))


def test_constructor_errors():
    for d, lib in ((pd, pynn), (td, torch)):
        with pytest.raises(ValueError):
            d.Categorical()
        with pytest.raises(ValueError):
            d.Bernoulli(probs=lib.tensor(0.5), logits=lib.tensor(0.0))
        with pytest.raises(ValueError):
            d.MultivariateNormal(lib.zeros(2))
        with pytest.raises(ValueError):
            d.Independent(d.Normal(lib.zeros(2), 1.0), 2)
        with pytest.raises(ValueError):
            d.MixtureSameFamily(d.Categorical(lib.ones(3)), d.Normal(lib.zeros(2), 1.0))


CHECKS = [
    ("real", lambda c: c.real, [0.0, float("nan"), float("inf")]),
    ("positive", lambda c: c.positive, [0.0, 1.0, -1.0]),
    ("nonnegative", lambda c: c.nonnegative, [0.0, 1.0, -1.0]),
    ("unit_interval", lambda c: c.unit_interval, [0.0, 1.0, 1.5]),
    ("boolean", lambda c: c.boolean, [0.0, 1.0, 0.5]),
    ("nonnegative_integer", lambda c: c.nonnegative_integer, [0.0, 2.0, 1.5]),
    ("positive_integer", lambda c: c.positive_integer, [0.0, 2.0, -1.0]),
    ("greater_than", lambda c: c.greater_than(1.0), [1.0, 2.0, 0.0]),
    ("less_than", lambda c: c.less_than(1.0), [1.0, 2.0, 0.0]),
    ("interval", lambda c: c.interval(-1.0, 1.0), [-1.0, 1.0, 2.0]),
    ("half_open_interval", lambda c: c.half_open_interval(-1.0, 1.0), [-1.0, 1.0, 0.0]),
    ("integer_interval", lambda c: c.integer_interval(0, 3), [0.0, 3.0, 4.0]),
    ("simplex", lambda c: c.simplex, [[0.5, 0.5], [0.6, 0.6], [1.0, 0.0]]),
    ("real_vector", lambda c: c.real_vector, [[0.5, float("nan")], [0.6, 0.6]]),
    ("one_hot", lambda c: c.one_hot, [[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    ("lower_cholesky", lambda c: c.lower_cholesky,
     [[[1.0, 0.0], [2.0, 1.0]], [[1.0, 1.0], [2.0, 1.0]], [[1.0, 0.0], [2.0, -1.0]]]),
    ("lower_triangular", lambda c: c.lower_triangular,
     [[[1.0, 0.0], [2.0, -1.0]], [[1.0, 1.0], [2.0, 1.0]]]),
    ("positive_definite", lambda c: c.positive_definite,
     [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    ("symmetric", lambda c: c.symmetric, [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    ("independent", lambda c: c.independent(c.positive, 1), [[1.0, 2.0], [1.0, -2.0]]),
]


@pytest.mark.parametrize("name, get, values", CHECKS, ids=[c[0] for c in CHECKS])
def test_constraints_check_like_torch(name, get, values):
    got = get(constraints).check(pynn.tensor(values, dtype=pynn.float64))
    want = get(td.constraints).check(torch.tensor(values, dtype=torch.float64))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert get(constraints).event_dim == get(td.constraints).event_dim
    assert get(constraints).is_discrete == get(td.constraints).is_discrete


def test_dependent_constraints():
    assert constraints.is_dependent(pd.Uniform.support)
    assert constraints.is_dependent(pd.Binomial.support)
    assert not constraints.is_dependent(pd.Normal.support)
    s = pd.Uniform(_f(0.0), _f(2.0)).support
    assert bool(s.check(_f(1.0))) and not bool(s.check(_f(3.0)))
    with pytest.raises(ValueError):
        constraints.dependent.check(_f(1.0))


TRANSFORMS = [
    ("exp", lambda T: T.ExpTransform(), (4, 3)),
    ("sigmoid", lambda T: T.SigmoidTransform(), (4, 3)),
    ("tanh", lambda T: T.TanhTransform(), (4, 3)),
    ("softplus", lambda T: T.SoftplusTransform(), (4, 3)),
    ("affine", lambda T: T.AffineTransform(2.0, -3.0), (4, 3)),
    ("affine_event", lambda T: T.AffineTransform(1.0, 0.5, event_dim=1), (4, 3)),
    ("power", lambda T: T.PowerTransform(2.5), (4, 3)),
    ("stickbreaking", lambda T: T.StickBreakingTransform(), (4, 3)),
    ("compose", lambda T: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.TanhTransform(),
                                              T.AffineTransform(1.0, 3.0)]), (4, 3)),
    ("compose_event", lambda T: T.ComposeTransform([T.StickBreakingTransform(),
                                                    T.ExpTransform()]), (4, 3)),
    ("inverse", lambda T: T.SigmoidTransform().inv, (4, 3)),
    ("independent", lambda T: T.IndependentTransform(T.ExpTransform(), 1), (4, 3)),
    ("corr_cholesky", lambda T: T.CorrCholeskyTransform(), (4, 6)),
]


@pytest.mark.parametrize("name, build, shape", TRANSFORMS, ids=[c[0] for c in TRANSFORMS])
def test_transforms_match_torch(name, build, shape):
    x0 = RNG.standard_normal(shape) * 0.8
    if name in ("power", "inverse"):
        x0 = np.abs(x0) + 0.1
        if name == "inverse":
            x0 = x0 / (x0.max() + 0.5)
    out = {}
    for lib, T in ((pynn, transforms), (torch, td.transforms)):
        t = build(T)
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        y = t(x)
        ladj = t.log_abs_det_jacobian(x, y)
        back = t.inv(y.detach())
        (y.sum() + ladj.sum()).backward()
        out[lib] = [y.detach().numpy(), ladj.detach().numpy(), back.detach().numpy(),
                    x.grad.numpy(), tuple(t.forward_shape(shape)), t.bijective,
                    t.domain.event_dim, t.codomain.event_dim]
    for g, w in zip(out[pynn], out[torch]):
        if isinstance(g, np.ndarray):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9)
        else:
            assert g == w
    np.testing.assert_allclose(out[pynn][2], x0, rtol=1e-6, atol=1e-9)


def test_transform_caching_and_equality():
    t = transforms.TanhTransform(cache_size=1)
    x = _f([20.0, -30.0])
    y = t(x)
    assert t.inv(y) is x  # exact, though tanh(20) rounds to 1
    assert transforms.ExpTransform() == transforms.ExpTransform()
    assert transforms.ExpTransform() != transforms.SigmoidTransform()
    assert transforms.AffineTransform(1.0, 2.0) == transforms.AffineTransform(1.0, 2.0)
    assert transforms.ExpTransform().inv.inv == transforms.ExpTransform()
    assert transforms.identity_transform(x) is x
    with pytest.raises(ValueError):
        transforms.ExpTransform(cache_size=2)


@pytest.mark.parametrize("name", ["real", "positive", "nonnegative", "greater_than",
                                  "less_than", "unit_interval", "interval", "simplex",
                                  "lower_cholesky", "real_vector", "independent",
                                  "corr_cholesky"])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_biject_to_maps_reals_into_the_constraint(name, registry):
    make = {"greater_than": lambda c: c.greater_than(2.0), "less_than": lambda c: c.less_than(-1.0),
            "interval": lambda c: c.interval(-2.0, 5.0),
            "independent": lambda c: c.independent(c.positive, 1)}.get(
                name, lambda c: getattr(c, name))
    c = make(constraints)
    if (name, registry) == ("lower_cholesky", "biject_to"):  # not a bijection: none, as in torch
        for lib in (pd, td):
            with pytest.raises(NotImplementedError):
                lib.biject_to(make(lib.constraints))
        return
    t = getattr(pd, registry)(c)
    tt = getattr(td, registry)(make(td.constraints))
    x0 = RNG.standard_normal({"lower_cholesky": (4, 3, 3), "corr_cholesky": (4, 6)}.get(
        name, (4, 3)))
    y = t(_f(x0))
    assert bool(c.check(y).all())
    want = tt(torch.tensor(x0))
    assert tuple(y.shape) == tuple(want.shape)
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-7, atol=1e-12)
    if t.bijective and name != "lower_cholesky":
        np.testing.assert_allclose(t.inv(y).numpy(), x0, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(t.log_abs_det_jacobian(_f(x0), y).numpy(),
                                   tt.log_abs_det_jacobian(torch.tensor(x0), want).numpy(),
                                   rtol=1e-7, atol=1e-9)


def test_transformed_distribution_squashed_gaussian_policy():
    """The SAC idiom: tanh of a Normal, rsample, log_prob of the sample, gradients."""
    out = {}
    for lib, d in ((pynn, pd), (torch, td)):
        mu = lib.tensor(LOC, dtype=lib.float64, requires_grad=True)
        dist = d.TransformedDistribution(d.Normal(mu, lib.tensor(POS, dtype=lib.float64)),
                                         [d.transforms.TanhTransform(cache_size=1)])
        x = lib.tensor([0.5, -0.2, 0.9], dtype=lib.float64)
        lp = dist.log_prob(x)
        lp.sum().backward()
        out[lib] = lp.detach().numpy(), mu.grad.numpy()
        a = dist.rsample((7,))
        assert tuple(a.shape) == (7, 3) and bool((a.abs() < 1).all())
        assert bool(dist.log_prob(a).isfinite().all())
    for g, w in zip(out[pynn], out[torch]):
        np.testing.assert_allclose(g, w, rtol=1e-7)


def test_straight_through_rsample_is_one_hot_with_the_probs_gradient():
    logits = pynn.tensor(LOGITS, dtype=pynn.float64, requires_grad=True)
    dist = pd.OneHotCategoricalStraightThrough(logits=logits)
    s = dist.rsample((5,))
    assert tuple(s.shape) == (5, 3, 4) and bool(constraints.one_hot.check(s).all())
    (s * pynn.tensor(np.arange(4.0), dtype=pynn.float64)).sum().backward()
    probs = torch.tensor(LOGITS, requires_grad=True)
    (5 * torch.softmax(probs, -1) * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), probs.grad.numpy(), rtol=1e-9)


def test_reshape_and_cdf_transforms_match_torch():
    x0 = RNG.standard_normal((2, 6))
    for lib, T, d in ((pynn, transforms, pd), (torch, td.transforms, td)):
        t = T.ReshapeTransform((6,), (2, 3))
        x = lib.tensor(x0, dtype=lib.float64)
        y = t(x)
        assert tuple(y.shape) == (2, 2, 3) and tuple(t.inv(y).shape) == (2, 6)
        assert tuple(t.forward_shape((5, 6))) == (5, 2, 3)
        assert tuple(t.log_abs_det_jacobian(x, y).shape) == (2,)
    with pytest.raises(ValueError):
        transforms.ReshapeTransform((6,), (4,))
    out = {}
    for lib, T, d in ((pynn, transforms, pd), (torch, td.transforms, td)):
        t = T.CumulativeDistributionTransform(d.Normal(lib.tensor(0.5, dtype=lib.float64),
                                                       lib.tensor(2.0, dtype=lib.float64)))
        x = lib.tensor(x0, dtype=lib.float64)
        y = t(x)
        out[lib] = [y.numpy(), t.inv(y).numpy(), t.log_abs_det_jacobian(x, y).numpy()]
    for g, w in zip(out[pynn], out[torch]):
        np.testing.assert_allclose(g, w, rtol=1e-7)
