"""PyTorch's smaller namespaces against PyTorch: torch.special, torch.testing, torch.jit,
torch.utils.checkpoint, the functional ops torch keeps in its own namespace, and the import
paths scripts use (torch.utils.data.dataloader.default_collate)."""

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (3, 5))


@pytest.mark.parametrize("name", pynn.special.__all__)
def test_special_matches_torch(name):
    x = np.abs(X) / 2.5 if name in ("logit", "ndtri") else X
    args = [x]
    if name in ("xlogy", "xlog1py", "gammainc", "gammaincc"):
        args = [np.abs(x) + 0.5, np.abs(x)]
    elif name == "zeta":
        args = [np.abs(x) + 1.5, np.abs(x) + 0.1]
    elif name in ("polygamma", "multigammaln"):
        args = [np.abs(x) + 1.1]
    lead = (2,) if name == "polygamma" else ()
    kwargs = {"dim": 1} if name in ("softmax", "log_softmax", "logsumexp") else {}
    if name == "multigammaln":
        kwargs = {"p": 2}
    ours = getattr(pynn.special, name)(*lead, *(pynn.tensor(a, requires_grad=True)
                                                for a in args), **kwargs)
    theirs = getattr(torch.special, name)(*lead, *(torch.tensor(a) for a in args), **kwargs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_special_gradients_match_torch():
    for name in ("expit", "ndtr", "entr", "erfc", "gammaln"):
        x = np.abs(X) + 0.1
        p, t = pynn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        getattr(pynn.special, name)(p).sum().backward()
        getattr(torch.special, name)(t).sum().backward()
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("actual, expected, kwargs", [
    (np.ones(3, np.float32), np.ones(3, np.float32) * (1 + 1e-6), {}),
    (np.ones(3, np.float32), np.ones(3, np.float32) * 1.001, {}),
    (np.ones(3), np.ones(3) * 1.001, {"rtol": 1e-2, "atol": 0.0}),
    (np.ones(3, np.float32), np.ones(3), {}),
    (np.ones(3, np.float32), np.ones(3), {"check_dtype": False}),
    (np.ones(3), np.ones(4), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {"equal_nan": True}),
    (np.array([1, 2]), np.array([1, 3]), {}),
    (np.array([np.inf, 1.0]), np.array([np.inf, 1.0]), {}),
])
def test_assert_close_passes_and_fails_as_torch(actual, expected, kwargs):
    def outcome(lib):
        try:
            lib.testing.assert_close(lib.tensor(actual), lib.tensor(expected), **kwargs)
        except AssertionError:
            return "fails"
        return "passes"

    assert outcome(pynn) == outcome(torch)


def test_assert_close_containers_and_errors():
    pynn.testing.assert_close({"a": [pynn.ones(2), 1.5]}, {"a": [pynn.ones(2), 1.5]})
    with pytest.raises(AssertionError, match="custom"):
        pynn.testing.assert_close(pynn.ones(2), pynn.zeros(2), msg="custom")
    with pytest.raises(ValueError, match="both"):
        pynn.testing.assert_close(pynn.ones(2), pynn.ones(2), rtol=1e-3)


def test_jit_is_a_no_op_that_refuses_archives(tmp_path):
    model = pynn.nn.Linear(3, 2)
    assert pynn.jit.script(model) is model
    assert pynn.jit.trace(model, pynn.ones(1, 3)) is model

    @pynn.jit.ignore
    def f(x):
        return x + 1

    @pynn.jit.ignore(drop=True)
    def g(x):
        return x + 2

    assert f(1) == 2 and g(1) == 3 and not pynn.jit.is_scripting()
    with pytest.raises(RuntimeError, match="state_dict"):
        pynn.jit.save(model, str(tmp_path / "m.pt"))


def test_checkpoint_runs_the_segment_with_its_gradients():
    from pynn.utils.checkpoint import checkpoint, checkpoint_sequential

    lin = pynn.nn.Linear(3, 3)
    x = pynn.tensor(X[:, :3].astype(np.float32), requires_grad=True)
    y = checkpoint(lambda a: lin(a).relu(), x, use_reentrant=False)
    y.sum().backward()
    expected = x.grad.clone()
    x.grad = None
    lin(x).relu().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected.numpy())
    seq = pynn.nn.Sequential(lin, pynn.nn.ReLU(), pynn.nn.Linear(3, 1))
    np.testing.assert_allclose(checkpoint_sequential(seq, 2, x).detach().numpy(),
                               seq(x).detach().numpy())


@pytest.mark.parametrize("name, make", [
    ("conv2d", lambda L, x: L.conv2d(x.view(1, 3, 5, 1), L.ones(2, 3, 3, 1), None, 1, (1, 0))),
    ("max_pool1d", lambda L, x: L.max_pool1d(x.view(1, 3, 5), 2)),
    ("dropout", lambda L, x: L.dropout(x, 0.5, False)),
    ("layer_norm", lambda L, x: L.layer_norm(x, (5,))),
    ("cosine_similarity", lambda L, x: L.cosine_similarity(x, x.flip(0))),
    ("pairwise_distance", lambda L, x: L.pairwise_distance(x, x.flip(0))),
    ("selu", lambda L, x: L.selu(x)),
    ("threshold", lambda L, x: L.threshold(x, 0.1, 20.0)),
])
def test_functional_ops_in_the_namespace(name, make):
    assert getattr(pynn, name) is getattr(F, name)
    x = X.astype(np.float32)
    np.testing.assert_allclose(make(pynn, pynn.tensor(x)).numpy(),
                               make(torch, torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_import_paths_scripts_use():
    from pynn.utils.data.dataloader import default_collate

    batch = default_collate([(np.float32(1.0), 2), (np.float32(3.0), 4)])
    assert batch[0].tolist() == [1.0, 3.0] and batch[1].dtype == pynn.int64


def test_distribution_submodule_paths():
    from pynn.distributions.categorical import Categorical
    from pynn.distributions.kl import kl_divergence
    from pynn.distributions.normal import Normal

    assert pynn.distributions.normal.Normal is Normal is pynn.distributions.Normal
    assert Categorical is pynn.distributions.Categorical
    p, q = Normal(pynn.tensor(0.0), pynn.tensor(1.0)), Normal(pynn.tensor(1.0), pynn.tensor(2.0))
    want = torch.distributions.kl.kl_divergence(torch.distributions.Normal(0.0, 1.0),
                                                torch.distributions.Normal(1.0, 2.0))
    assert abs(kl_divergence(p, q).item() - want.item()) < 1e-6
