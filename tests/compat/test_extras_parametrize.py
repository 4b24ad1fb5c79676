"""weight_norm, spectral_norm (hook and parametrization forms) and nn.utils.parametrize,
against PyTorch: state dict keys, values, gradients, the power iteration's buffers."""

import numpy as np
import pytest
from helpers import numeric_gradient

import pynn
from pynn import nn
from pynn.nn.utils import parametrizations, parametrize

torch = pytest.importorskip("torch")

FORMS = {
    "weight_norm": (lambda m, **k: torch.nn.utils.weight_norm(m, **k),
                    lambda m, **k: nn.utils.weight_norm(m, **k)),
    "spectral_norm": (torch.nn.utils.spectral_norm, nn.utils.spectral_norm),
    "p.weight_norm": (torch.nn.utils.parametrizations.weight_norm,
                      parametrizations.weight_norm),
    "p.spectral_norm": (torch.nn.utils.parametrizations.spectral_norm,
                        parametrizations.spectral_norm),
}
LAYERS = {
    "linear": (lambda t: t.nn.Linear(5, 3), (4, 5)),
    "conv2d": (lambda t: t.nn.Conv2d(2, 3, 3), (2, 2, 6, 5)),
    "conv_transpose2d": (lambda t: t.nn.ConvTranspose2d(3, 2, 3), (2, 3, 4, 4)),
}


def _copy_state(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _pair(form, layer, dtype, **kw):
    make, xshape = LAYERS[layer]
    tm = make(torch).to(getattr(torch, dtype))
    pm = make(pynn).to(getattr(pynn, dtype))
    with pytest.warns(FutureWarning) if form == "weight_norm" else _nullcontext():
        FORMS[form][0](tm, **kw)
    with pytest.warns(FutureWarning) if form == "weight_norm" else _nullcontext():
        FORMS[form][1](pm, **kw)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in pm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    _copy_state(pm, tm)
    return pm, tm, xshape


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("form", list(FORMS))
def test_matches_torch_over_training_steps(form, layer, dtype):
    pm, tm, xshape = _pair(form, layer, dtype)
    rng = np.random.default_rng(0)
    popt = pynn.optim.SGD(pm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    tol = 1e-4 if dtype == "float32" else 1e-10
    for _ in range(3):
        x = rng.standard_normal(xshape).astype(dtype)
        popt.zero_grad()
        topt.zero_grad()
        po = pm(pynn.tensor(x))
        to = tm(torch.tensor(x))
        w = rng.standard_normal(tuple(to.shape)).astype(dtype)
        np.testing.assert_allclose(po.detach().numpy(), to.detach().numpy(), rtol=tol,
                                   atol=tol)
        (po * pynn.tensor(w)).sum().backward()
        (to * torch.tensor(w)).sum().backward()
        for (_, a), (_, b) in zip(pm.named_parameters(), tm.named_parameters()):
            # float32: the gradient sums many products; compare on its own scale
            scale = float(np.abs(b.grad.numpy()).max()) * (10 if dtype == "float32" else 1)
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol,
                                       atol=tol * scale)
        popt.step()
        topt.step()
    # the power iteration's u and v (and every other entry) follow PyTorch's
    for (k, a), b in zip(pm.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("form", ["spectral_norm", "p.spectral_norm"])
def test_spectral_norm_eval_mode_keeps_u_v(form):
    pm, tm, xshape = _pair(form, "linear", "float64", n_power_iterations=2)
    pm.eval()
    tm.eval()
    x = np.random.default_rng(1).standard_normal(xshape)
    before = {k: v.numpy().copy() for k, v in pm.state_dict().items()}
    np.testing.assert_allclose(pm(pynn.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), atol=1e-12)
    for k, v in pm.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    pm.train()
    pm(pynn.tensor(x))
    assert not np.array_equal(pm.state_dict()[list(before)[-1]].numpy(), before[list(before)[-1]])


def test_spectral_norm_normalises_largest_singular_value():
    rng = np.random.default_rng(7)
    u, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    singular = np.array([3.0, 1.5, 1.0, 0.5, 0.2, 0.1])  # a clear gap: fast convergence
    m = nn.Linear(8, 6).double()
    with pynn.no_grad():
        m.weight.copy_(pynn.tensor((u * singular) @ v[:6]))
    parametrizations.spectral_norm(m)  # 15 power iterations at registration
    for _ in range(30):
        w = m.weight  # each read in train mode is one more iteration
    np.testing.assert_allclose(w.detach().numpy(), (u * singular / 3.0) @ v[:6], atol=1e-9)


@pytest.mark.parametrize("dim", [0, 1, None])
@pytest.mark.parametrize("new", [False, True])
def test_weight_norm_dims_and_gradcheck(dim, new):
    m = nn.Conv2d(2, 3, 3).double()
    t = torch.nn.Conv2d(2, 3, 3).double()
    if new:
        parametrizations.weight_norm(m, dim=dim)
        torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    else:
        with pytest.warns(FutureWarning):
            nn.utils.weight_norm(m, dim=dim)
        with pytest.warns(FutureWarning):
            torch.nn.utils.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict())
    for a, b in zip(m.state_dict().values(), t.state_dict().values()):
        assert tuple(a.shape) == tuple(b.shape)
    x = pynn.tensor(np.random.default_rng(2).standard_normal((1, 2, 4, 4)))
    dy = np.random.default_rng(3).standard_normal((1, 3, 2, 2))

    def objective():
        return float((m(x) * pynn.tensor(dy)).sum())

    (m(x) * pynn.tensor(dy)).sum().backward()
    for p in m.parameters():  # g, v and the bias, each against central differences
        np.testing.assert_allclose(p.grad.numpy(), numeric_gradient(objective, p._data),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("form", ["weight_norm", "spectral_norm"])
def test_remove_restores_a_plain_parameter(form):
    m = nn.Linear(4, 3).double()
    with pytest.warns(FutureWarning) if form == "weight_norm" else _nullcontext():
        getattr(nn.utils, form)(m)
    m.eval()
    w = m(pynn.eye(4, dtype=pynn.float64)).detach().numpy()
    getattr(nn.utils, "remove_" + form)(m)
    assert list(m.state_dict()) == ["bias", "weight"]  # re-registered last, as in PyTorch
    assert isinstance(m.weight, nn.Parameter)
    np.testing.assert_allclose(m(pynn.eye(4, dtype=pynn.float64)).detach().numpy(), w)
    with pytest.raises(ValueError, match="not found"):
        getattr(nn.utils, "remove_" + form)(m)


def test_registering_twice_raises():
    m = nn.utils.spectral_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(m)


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(0, 1)


class TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(0, 1)


class Scale(nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, X):
        return X / 2


def test_register_parametrization_like_torch():
    tm = torch.nn.Linear(3, 3).double()
    pm = nn.Linear(3, 3).double()
    _copy_state(pm, tm)
    torch.nn.utils.parametrize.register_parametrization(tm, "weight", TSymmetric())
    parametrize.register_parametrization(pm, "weight", Symmetric())
    assert parametrize.is_parametrized(pm) and parametrize.is_parametrized(pm, "weight")
    assert not parametrize.is_parametrized(pm, "bias")
    assert parametrize.type_before_parametrizations(pm) is nn.Linear
    assert isinstance(pm, nn.Linear) and type(pm).__name__ == "ParametrizedLinear"
    assert list(pm.state_dict()) == list(tm.state_dict())
    w = pm.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_allclose(w, tm.weight.detach().numpy())
    x = np.random.default_rng(3).standard_normal((2, 3))
    pm(pynn.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(pm.parametrizations.weight.original.grad.numpy(),
                               tm.parametrizations.weight.original.grad.numpy())
    parametrize.remove_parametrizations(pm, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(tm, "weight")
    assert type(pm) is nn.Linear and list(pm.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(pm.weight.detach().numpy(), tm.weight.detach().numpy())


def test_right_inverse_assignment_chain_and_unparametrized_removal():
    m = nn.Linear(2, 2).double()
    original = m.weight
    w0 = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Scale())
    assert m.parametrizations.weight.original is original  # an optimiser keeps training it
    np.testing.assert_allclose(m.weight.detach().numpy(), w0)
    np.testing.assert_allclose(original.detach().numpy(), w0 / 2)
    m.weight = pynn.ones(2, 2, dtype=pynn.float64)
    np.testing.assert_allclose(original.detach().numpy(), 0.5)
    parametrize.register_parametrization(m, "weight", Scale())  # chained: 4 * original
    np.testing.assert_allclose(m.weight.detach().numpy(), 2.0)
    parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    assert type(m) is nn.Linear
    np.testing.assert_allclose(m.weight.detach().numpy(), 0.5)


def test_cached_computes_once():
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X

    m = parametrize.register_parametrization(nn.Linear(2, 2), "weight", Counting())
    calls.clear()
    with parametrize.cached():
        a = m.weight
        b = m.weight
    assert a is b and len(calls) == 1
    m.weight  # noqa: B018 (outside the context every access recomputes)
    m.weight  # noqa: B018
    assert len(calls) == 3


def test_parametrization_that_changes_shape_needs_unsafe():
    class Flat(nn.Module):
        def forward(self, X):
            return X.reshape(-1)

    with pytest.raises(ValueError, match="unsafe"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", Flat())
    m = parametrize.register_parametrization(nn.Linear(2, 2), "weight", Flat(), unsafe=True)
    assert tuple(m.weight.shape) == (4,)


def test_unknown_tensor_name_raises():
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(nn.Linear(2, 2), "kernel", Symmetric())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(nn.Linear(2, 2), "weight")


def test_parametrized_layer_in_sequential_and_state_dict_round_trip():
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(4, 4)), nn.ReLU(),
                          nn.Linear(4, 2))
    tmodel = torch.nn.Sequential(torch.nn.utils.parametrizations.weight_norm(
        torch.nn.Linear(4, 4)), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    _copy_state(model, tmodel)
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(model(pynn.tensor(x)).detach().numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", ["old", "new"])
def test_weight_norm_on_a_linear_bias(form):
    tm, pm = torch.nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    _copy_state(pm, tm)
    if form == "old":
        with pytest.warns(FutureWarning):
            nn.utils.weight_norm(pm, "bias")
        with pytest.warns(FutureWarning):
            torch.nn.utils.weight_norm(tm, "bias")
    else:
        parametrizations.weight_norm(pm, "bias")
        torch.nn.utils.parametrizations.weight_norm(tm, "bias")
    assert list(pm.state_dict()) == list(tm.state_dict())
    x = np.ones((2, 3))
    np.testing.assert_allclose(pm(pynn.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_saving_a_whole_parametrized_model_says_to_save_its_state_dict(tmp_path):
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(3, 3)), nn.Linear(3, 1))
    with pytest.raises(TypeError, match="state_dict"):
        pynn.save(model, tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()  # no half file
    pynn.save(model.state_dict(), tmp_path / "sd.pt")
    again = nn.Sequential(parametrizations.weight_norm(nn.Linear(3, 3)), nn.Linear(3, 1))
    again.load_state_dict(pynn.load(tmp_path / "sd.pt"))
    x = pynn.randn(2, 3)
    np.testing.assert_array_equal(again(x).detach().numpy(), model(x).detach().numpy())
    parametrize.remove_parametrizations(model[0], "weight")
    pynn.save(model, tmp_path / "m.pt")  # plain again: saved whole


@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_matches_torch(shape, orthogonal_map):
    torch.manual_seed(0)
    tm = torch.nn.Linear(shape[1], shape[0]).double()
    pm = nn.Linear(shape[1], shape[0]).double()
    _copy_state(pm, tm)
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=orthogonal_map)
    parametrizations.orthogonal(pm, orthogonal_map=orthogonal_map)
    assert list(pm.state_dict()) == list(tm.state_dict())
    w = pm.weight.detach().numpy()
    gram = w @ w.T if shape[0] < shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    if shape[0] == shape[1]:  # no random completion: the same starting weight as PyTorch
        np.testing.assert_allclose(w, tm.weight.detach().numpy(), atol=1e-12)
    # move away from the start, then compare values and gradients
    with torch.no_grad():
        tm.parametrizations.weight.original.add_(
            torch.tensor(np.random.default_rng(1).standard_normal(shape) * 0.3))
    _copy_state(pm, tm)
    x = np.random.default_rng(0).standard_normal((2, shape[1]))
    to, po = tm(torch.tensor(x)), pm(pynn.tensor(x))
    to.sum().backward()
    po.sum().backward()
    np.testing.assert_allclose(po.detach().numpy(), to.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(pm.parametrizations.weight.original.grad.numpy(),
                               tm.parametrizations.weight.original.grad.numpy(), atol=1e-12)
    if (orthogonal_map or ("matrix_exp" if shape[0] == shape[1] else "householder")) \
            != "householder":  # householder's signs come from the diagonal truncated to int
        w = pm.weight.detach().numpy()
        gram = w @ w.T if shape[0] < shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)


def test_orthogonal_assignment_and_errors():
    m = parametrizations.orthogonal(nn.Linear(3, 3).double())
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((3, 3)))
    m.weight = pynn.tensor(q)
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-12)
    with pytest.raises(ValueError, match="matrix"):
        parametrizations.orthogonal(nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match="orthogonal_map"):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    plain = parametrizations.orthogonal(nn.Linear(3, 3).double(), use_trivialization=False)
    with pytest.raises(NotImplementedError):
        plain.weight = pynn.tensor(q)
