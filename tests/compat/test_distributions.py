"""pynn.distributions against torch.distributions: log_prob, entropy, KL and their gradients
(float64), and sample shapes and moments."""

import numpy as np
import pytest

import pynn
import pynn.distributions as pd

torch = pytest.importorskip("torch")
td = torch.distributions

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((3, 4))
PROBS = RNG.random((3, 4)) + 0.1
LOC, SCALE = RNG.standard_normal(3), RNG.random(3) + 0.5
LOC2, SCALE2 = RNG.standard_normal(3), RNG.random(3) + 0.5
P1 = RNG.random(3) * 0.8 + 0.1


def _params(lib, arrays):
    return [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]


CASES = [
    # (name, parameter arrays, builder(lib, dist module, params), value builder)
    ("categorical_logits", [LOGITS], lambda d, p: d.Categorical(logits=p[0]),
     lambda lib: lib.tensor([0, 3, 1])),
    ("categorical_probs", [PROBS], lambda d, p: d.Categorical(probs=p[0]),
     lambda lib: lib.tensor([[2, 0, 1], [3, 3, 0]])),
    ("normal", [LOC, SCALE], lambda d, p: d.Normal(p[0], p[1]),
     lambda lib: lib.tensor([0.3, -1.0, 2.0], dtype=lib.float64)),
    ("normal_float", [LOC], lambda d, p: d.Normal(p[0], 2.0),
     lambda lib: lib.tensor([0.3, -1.0, 2.0], dtype=lib.float64)),
    ("bernoulli_probs", [P1], lambda d, p: d.Bernoulli(probs=p[0]),
     lambda lib: lib.tensor([1.0, 0.0, 1.0], dtype=lib.float64)),
    ("bernoulli_logits", [LOC], lambda d, p: d.Bernoulli(logits=p[0]),
     lambda lib: lib.tensor([0.0, 1.0, 1.0], dtype=lib.float64)),
    ("uniform", [LOC, LOC + SCALE], lambda d, p: d.Uniform(p[0], p[1]),
     lambda lib: lib.tensor(LOC + 0.5 * SCALE, dtype=lib.float64)),
]


@pytest.mark.parametrize("name, arrays, build, value", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("what", ["log_prob", "entropy"])
def test_log_prob_and_entropy_match_torch(name, arrays, build, value, what):
    out = {}
    for lib, d in ((pynn, pd), (torch, td)):
        params = _params(lib, arrays)
        dist = build(d, params)
        r = dist.log_prob(value(lib)) if what == "log_prob" else dist.entropy()
        if r.requires_grad:
            r.sum().backward()
        out[lib] = (r.detach().numpy().copy(), r.requires_grad,
                    [None if p.grad is None else p.grad.numpy().copy() for p in params])
    np.testing.assert_allclose(out[pynn][0], out[torch][0], rtol=1e-7, atol=1e-9)
    assert out[pynn][1] == out[torch][1]
    for g, h in zip(out[pynn][2], out[torch][2]):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-7, atol=1e-9)


KL = [
    ("normal", [LOC, SCALE, LOC2, SCALE2], lambda d, p: (d.Normal(p[0], p[1]),
                                                      d.Normal(p[2], p[3]))),
    ("categorical", [LOGITS, LOGITS[::-1].copy()],
     lambda d, p: (d.Categorical(logits=p[0]), d.Categorical(logits=p[1]))),
    ("bernoulli", [P1, P1[::-1].copy()],
     lambda d, p: (d.Bernoulli(probs=p[0]), d.Bernoulli(probs=p[1]))),
]


@pytest.mark.parametrize("name, arrays, build", KL, ids=[c[0] for c in KL])
def test_kl_divergence_matches_torch(name, arrays, build):
    out = {}
    for lib, d in ((pynn, pd), (torch, td)):
        params = _params(lib, arrays)
        r = d.kl_divergence(*build(d, params))
        r.sum().backward()
        out[lib] = (r.detach().numpy().copy(), [p.grad.numpy().copy() for p in params])
    np.testing.assert_allclose(out[pynn][0], out[torch][0], rtol=1e-7, atol=1e-9)
    for g, h in zip(out[pynn][1], out[torch][1]):
        np.testing.assert_allclose(g, h, rtol=1e-7, atol=1e-9)


def test_samples_shapes_and_moments():
    pynn.manual_seed(0)
    c = pd.Categorical(probs=pynn.tensor([[0.1, 0.9, 0.0], [0.5, 0.25, 0.25]]))
    s = c.sample((4000,))
    t = td.Categorical(probs=torch.tensor([[0.1, 0.9, 0.0], [0.5, 0.25, 0.25]])).sample((4000,))
    assert tuple(s.shape) == tuple(t.shape) and s.dtype == pynn.int64
    assert abs((s._data[:, 0] == 1).mean() - 0.9) < 0.03 and (s._data[:, 0] != 2).all()
    assert tuple(c.sample().shape) == (2,)
    n = pd.Normal(pynn.tensor([1.0, -2.0]), pynn.tensor([0.5, 2.0]))
    x = n.sample((20000,))
    assert tuple(x.shape) == (20000, 2) and not x.requires_grad
    np.testing.assert_allclose(x._data.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(x._data.std(0), [0.5, 2.0], rtol=0.05)
    loc = pynn.tensor([0.0], requires_grad=True)
    r = pd.Normal(loc, 1.0).rsample((5,))
    assert r.requires_grad
    r.sum().backward()
    assert loc.grad.tolist() == [5.0]
    b = pd.Bernoulli(probs=pynn.tensor([0.2, 0.7])).sample((10000,))
    np.testing.assert_allclose(b._data.mean(0), [0.2, 0.7], atol=0.03)
    u = pd.Uniform(pynn.tensor([2.0]), pynn.tensor([3.0])).sample((1000,))
    assert 2 <= u.min().item() and u.max().item() < 3
    with pytest.raises(ValueError):
        pd.Categorical()


def test_reinforce_idiom():
    pynn.manual_seed(0)
    probs = pynn.nn.functional.softmax(pynn.randn(1, 3, requires_grad=True), dim=1)
    m = pd.Categorical(probs)
    action = m.sample()
    loss = -m.log_prob(action) * 2.0
    loss.sum().backward()
    assert action.item() in (0, 1, 2)
