"""nn.utils.prune against PyTorch: masks, PyTorch's names (weight_orig/weight_mask), repeated
pruning, global pruning, gradients through the mask, remove, errors."""

import math

import numpy as np
import pytest

import pynn
from pynn.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _pair(kind="conv", dtype="float64"):
    torch.manual_seed(0)
    if kind == "conv":
        tm, pm = torch.nn.Conv2d(3, 5, 3), pynn.nn.Conv2d(3, 5, 3)
    else:
        tm, pm = torch.nn.Linear(7, 4), pynn.nn.Linear(7, 4)
    tm, pm = tm.to(getattr(torch, dtype)), pm.to(getattr(pynn, dtype))
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return pm, tm


def _assert_same(pm, tm, xshape):
    ps, ts = pm.state_dict(), tm.state_dict()
    assert list(ps) == list(ts)
    assert [n for n, _ in pm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in pm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    for k in ts:
        assert ps[k].numpy().dtype == ts[k].numpy().dtype, k
        np.testing.assert_allclose(ps[k].numpy(), ts[k].numpy(), rtol=1e-6, err_msg=k)
    x = np.random.default_rng(0).standard_normal(xshape).astype(ps[k].numpy().dtype)
    po, to = pm(pynn.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(po.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    po.sum().backward()
    to.sum().backward()
    for (n, a), (_, b) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


XSHAPE = {"conv": (2, 3, 6, 5), "linear": (3, 7)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("steps", [
    [("l1_unstructured", {"amount": 0.3})],
    [("l1_unstructured", {"amount": 5})],
    [("l1_unstructured", {"amount": 0.0})],
    [("ln_structured", {"amount": 2, "n": 2, "dim": 0})],
    [("ln_structured", {"amount": 0.5, "n": 1, "dim": 1})],
    [("ln_structured", {"amount": 1, "n": math.inf, "dim": -1})],
    [("ln_structured", {"amount": 1, "n": 3, "dim": 0})],
    [("identity", {})],
    [("l1_unstructured", {"amount": 0.3}), ("l1_unstructured", {"amount": 0.5})],
    [("l1_unstructured", {"amount": 4}), ("ln_structured", {"amount": 1, "n": 2, "dim": 0}),
     ("l1_unstructured", {"amount": 0.2})],
])
def test_deterministic_pruning_matches_torch(steps, kind, dtype):
    pm, tm = _pair(kind, dtype)
    for name, kw in steps:
        getattr(prune, name)(pm, "weight", **kw)
        getattr(tprune, name)(tm, "weight", **kw)
    _assert_same(pm, tm, XSHAPE[kind])
    assert prune.is_pruned(pm)
    w = pm.weight.detach().numpy()
    np.testing.assert_array_equal(w[pm.weight_mask.numpy() == 0], 0)


def test_ln_structured_frobenius_on_a_matrix():
    pm, tm = _pair("linear")
    prune.ln_structured(pm, "weight", amount=2, n="fro", dim=0)
    tprune.ln_structured(tm, "weight", amount=2, n="fro", dim=0)
    _assert_same(pm, tm, XSHAPE["linear"])


def test_failed_repeat_pruning_keeps_the_first():
    pm, _ = _pair("linear")
    prune.l1_unstructured(pm, "weight", amount=3)
    state = {k: v.numpy().copy() for k, v in pm.state_dict().items()}
    with pytest.raises(IndexError):
        prune.ln_structured(pm, "weight", amount=1, n=2, dim=5)
    assert list(pm.state_dict()) == list(state)
    np.testing.assert_array_equal(pm.weight_mask.numpy(), state["weight_mask"])
    prune.remove(pm, "weight")
    assert not prune.is_pruned(pm)


def test_pruned_weight_stays_zero_through_training():
    pm, _ = _pair("linear")
    prune.l1_unstructured(pm, "weight", amount=0.5)
    opt = pynn.optim.SGD(pm.parameters(), lr=0.5)
    x = pynn.randn(4, 7, dtype=pynn.float64)
    for _ in range(3):
        opt.zero_grad()
        pm(x).pow(2).sum().backward()
        opt.step()
    mask = pm.weight_mask.numpy()
    assert np.all(pm.weight_orig.grad.numpy()[mask == 0] == 0)
    assert np.all(pm.weight.detach().numpy()[mask == 0] == 0)


def test_importance_scores_and_bias():
    pm, tm = _pair("linear")
    scores = np.arange(28, dtype=np.float64).reshape(4, 7)[::-1].copy()
    prune.l1_unstructured(pm, "weight", amount=10, importance_scores=pynn.tensor(scores))
    tprune.l1_unstructured(tm, "weight", amount=10, importance_scores=torch.tensor(scores))
    prune.l1_unstructured(pm, "bias", amount=0.5)
    tprune.l1_unstructured(tm, "bias", amount=0.5)
    _assert_same(pm, tm, XSHAPE["linear"])
    with pytest.raises(ValueError, match="same shape"):
        prune.l1_unstructured(pm, "weight", 1, importance_scores=pynn.zeros(2, 2))


@pytest.mark.parametrize("amount", [0.4, 17])
def test_global_unstructured_matches_torch(amount):
    (p1, t1), (p2, t2) = _pair("conv"), _pair("linear")
    prune.l1_unstructured(p2, "weight", amount=3)  # an existing mask is honoured
    tprune.l1_unstructured(t2, "weight", amount=3)
    prune.global_unstructured([(p1, "weight"), (p2, "weight"), (p2, "bias")],
                              pruning_method=prune.L1Unstructured, amount=amount)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight"), (t2, "bias")],
                               pruning_method=tprune.L1Unstructured, amount=amount)
    _assert_same(p1, t1, XSHAPE["conv"])
    _assert_same(p2, t2, XSHAPE["linear"])


def test_random_pruning_counts():
    pynn.manual_seed(0)
    pm, _ = _pair("conv")
    prune.random_unstructured(pm, "weight", amount=0.25)
    assert int((pm.weight_mask.numpy() == 0).sum()) == round(0.25 * 135)
    prune.random_unstructured(pm, "weight", amount=10)  # 10 more, among the unpruned
    assert int((pm.weight_mask.numpy() == 0).sum()) == round(0.25 * 135) + 10
    prune.random_structured(pm, "weight", amount=2, dim=0)
    per_channel = pm.weight_mask.numpy().reshape(5, -1).sum(axis=1)
    assert int((per_channel == 0).sum()) >= 2
    # drawn from pynn's generator: reproducible under manual_seed
    pynn.manual_seed(3)
    a, _ = _pair("linear")
    prune.random_unstructured(a, "weight", amount=0.5)
    pynn.manual_seed(3)
    b, _ = _pair("linear")
    prune.random_unstructured(b, "weight", amount=0.5)
    np.testing.assert_array_equal(a.weight_mask.numpy(), b.weight_mask.numpy())


def test_custom_from_mask_and_remove():
    pm, tm = _pair("linear")
    mask = (np.arange(28).reshape(4, 7) % 3 != 0).astype(np.float64)
    prune.custom_from_mask(pm, "weight", mask=pynn.tensor(mask))
    tprune.custom_from_mask(tm, "weight", mask=torch.tensor(mask))
    _assert_same(pm, tm, XSHAPE["linear"])
    orig = pm.weight_orig
    prune.remove(pm, "weight")
    tprune.remove(tm, "weight")
    assert pm.weight is orig and isinstance(pm.weight, pynn.nn.Parameter)
    assert list(pm.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(pm.weight.detach().numpy(), tm.weight.detach().numpy())
    assert not prune.is_pruned(pm)
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(pm, "weight")


def test_pruned_model_state_dict_loads_from_torch():
    pm, tm = _pair("conv")
    tprune.ln_structured(tm, "weight", amount=2, n=1, dim=0)
    prune.identity(pm, "weight")
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    _assert_same(pm, tm, XSHAPE["conv"])


@pytest.mark.parametrize("call,exc", [
    (lambda m: prune.l1_unstructured(m, "weight", amount=1.5), ValueError),
    (lambda m: prune.l1_unstructured(m, "weight", amount=-1), ValueError),
    (lambda m: prune.l1_unstructured(m, "weight", amount="a"), TypeError),
    (lambda m: prune.l1_unstructured(m, "weight", amount=100), ValueError),
    (lambda m: prune.ln_structured(m, "bias", amount=1, n=2, dim=0), ValueError),
    (lambda m: prune.ln_structured(m, "weight", amount=1, n=2, dim=3), IndexError),
    (lambda m: prune.global_unstructured([(m, "weight")], prune.LnStructured, amount=1, n=2,
                                         dim=0), TypeError),
    (lambda m: prune.global_unstructured(3, prune.L1Unstructured, amount=1), TypeError),
])
def test_errors_leave_the_module_intact(call, exc):
    pm, _ = _pair("linear")
    before = list(pm.state_dict())
    with pytest.raises(exc):
        call(pm)
    assert list(pm.state_dict()) == before and isinstance(pm.weight, pynn.nn.Parameter)
