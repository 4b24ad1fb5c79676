"""Layers and losses against PyTorch: state_dict keys, loading a PyTorch state_dict, outputs,
gradients, batch-norm running statistics, default initialisation, losses."""

import math

import numpy as np
import pytest

import pynn
from pynn import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def _cnn(lib, p=0.5):
    return lib.Sequential(
        lib.Conv2d(2, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(4 * 3 * 3, 8), lib.Dropout(p), lib.Linear(8, 3))


def _from_torch(tmodel):
    return {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}


def test_state_dict_keys_shapes_and_dtypes_match_torch():
    ours, theirs = _cnn(nn), _cnn(tnn)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert sd[k].shape == tuple(tsd[k].shape), k
        assert sd[k].dtype == tsd[k].numpy().dtype, k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_loaded_from_torch_matches_eval_and_train(dtype, each_backend):
    torch.manual_seed(0)
    tmodel = _cnn(tnn)
    # a few training-mode passes so the running stats are not the defaults
    with torch.no_grad():
        for _ in range(3):
            tmodel(torch.randn(4, 2, 6, 6))
    tmodel = tmodel.to(torch.float64 if dtype == np.float64 else torch.float32)
    model = _cnn(nn).to(dtype)
    result = model.load_state_dict(_from_torch(tmodel))
    assert result.missing_keys == [] and result.unexpected_keys == []
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    x = np.random.default_rng(0).standard_normal((5, 2, 6, 6)).astype(dtype)

    # eval mode: running stats, no dropout
    tmodel.eval()
    model.eval()
    with pynn.no_grad():
        out = model(pynn.tensor(x)).data
    np.testing.assert_allclose(out, tmodel(torch.from_numpy(x)).detach().numpy(), rtol=rtol,
                               atol=rtol)

    # train mode (batch statistics); dropout switched off on both sides so the masks agree
    tmodel.train()
    model.train()
    tmodel[6].eval()
    model[6].eval()
    target = np.array([0, 2, 1, 1, 0])
    xt = torch.from_numpy(x).requires_grad_(True)
    tloss = tnn.CrossEntropyLoss()(tmodel(xt), torch.from_numpy(target))
    tloss.backward()
    xp = pynn.tensor(x.copy(), requires_grad=True)
    loss = nn.CrossEntropyLoss()(model(xp), target)
    loss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=rtol)
    np.testing.assert_allclose(xp.grad, xt.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=rtol,
                                   atol=rtol * 1e-2, err_msg=name)
    # the training pass updated the running stats the same way
    tsd = tmodel.state_dict()
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(v, tsd[k].numpy(), rtol=rtol, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 2, 5)])
def test_batchnorm_running_stats_match_torch(momentum, shape):
    cls, tcls = (nn.BatchNorm2d, tnn.BatchNorm2d) if len(shape) == 4 else \
        (nn.BatchNorm1d, tnn.BatchNorm1d)
    bn, tbn = cls(3, momentum=momentum), tcls(3, momentum=momentum).double()
    bn.double()
    rng = np.random.default_rng(0)
    for step in range(4):
        x = rng.normal(step, 1 + step, shape)
        out = bn(pynn.tensor(x)).data
        tout = tbn(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(out, tout, rtol=1e-10, atol=1e-12)
    for k, v in bn.state_dict().items():
        np.testing.assert_allclose(v, tbn.state_dict()[k].numpy(), rtol=1e-12, err_msg=k)
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked) == 4
    bn.eval()
    tbn.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(bn(pynn.tensor(x)).data, tbn(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_layernorm_matches_torch():
    ln, tln = nn.LayerNorm((3, 4)), tnn.LayerNorm((3, 4)).double()
    ln.double()
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ln.load_state_dict({"weight": w, "bias": b})
    tln.load_state_dict({"weight": torch.from_numpy(w), "bias": torch.from_numpy(b)})
    x = rng.standard_normal((2, 5, 3, 4))
    xp = pynn.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_(True)
    dy = rng.standard_normal(x.shape)
    ln(xp).backward(dy)
    tln(xt).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(xp.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ln.weight.grad, tln.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ln.bias.grad, tln.bias.grad.numpy(), rtol=1e-10)


# -- default initialisation ------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda lib: lib.Linear(300, 200),
    lambda lib: lib.Conv2d(16, 32, 3),
    lambda lib: lib.Conv2d(3, 64, (5, 3)),
])
def test_default_init_matches_torch_formula(make):
    pynn.manual_seed(0)
    ours, theirs = make(nn), make(tnn)
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(ours.weight)
    assert (fan_in, fan_out) == tnn.init._calculate_fan_in_and_fan_out(theirs.weight)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias rule
    for name in ("weight", "bias"):
        w = getattr(ours, name).detach().numpy()
        tw = getattr(theirs, name).detach().numpy()
        assert w.dtype == np.float32
        assert np.abs(w).max() <= bound and np.abs(tw).max() <= bound
        # U(-b, b): the extremes get close to b, std b / sqrt(3), mean 0
        assert np.abs(w).max() > 0.95 * bound
        np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.1)
        np.testing.assert_allclose(w.std(), tw.std(), rtol=0.15)
        assert abs(w.mean()) < 0.1 * bound


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        tnn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("fn,kwargs,expected_std", [
    ("kaiming_uniform_", {}, math.sqrt(2 / 200)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 400)),
    ("kaiming_normal_", {"a": 0.1}, math.sqrt(2 / 1.01 / 200)),
    ("xavier_uniform_", {}, math.sqrt(2 / 600)),
    ("xavier_normal_", {"gain": 2.0}, 2 * math.sqrt(2 / 600)),
])
def test_init_functions_std(fn, kwargs, expected_std):
    w = nn.Parameter(np.zeros((400, 200), np.float32))
    assert getattr(nn.init, fn)(w, generator=np.random.default_rng(0), **kwargs) is w
    np.testing.assert_allclose(w.detach().numpy().std(), expected_std, rtol=0.02)
    t = torch.zeros(400, 200)
    getattr(tnn.init, fn)(t, **kwargs)
    np.testing.assert_allclose(w.detach().numpy().std(), t.std().item(), rtol=0.03)


def test_init_is_reproducible_with_manual_seed():
    pynn.manual_seed(3)
    a = nn.Linear(5, 4).weight.detach().numpy().copy()
    pynn.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(5, 4).weight.data)


# -- losses ----------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


def _loss_case(name, rng):
    x = rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 2, 3, 0])
    if name == "mse":
        y = rng.standard_normal((6, 4))
        return nn.MSELoss, tnn.MSELoss, {}, x, y
    if name == "cross_entropy":
        return nn.CrossEntropyLoss, tnn.CrossEntropyLoss, {}, x, labels
    if name == "cross_entropy_weight_ignore":
        kw = {"weight": np.array([1.0, 2.0, 0.5, 1.5]), "ignore_index": 3}
        return nn.CrossEntropyLoss, tnn.CrossEntropyLoss, kw, x, labels
    if name == "cross_entropy_smoothing":
        return nn.CrossEntropyLoss, tnn.CrossEntropyLoss, {"label_smoothing": 0.1}, x, labels
    if name == "nll":
        logp = x - np.log(np.exp(x).sum(1, keepdims=True))
        return nn.NLLLoss, tnn.NLLLoss, {"weight": np.array([1.0, 2.0, 0.5, 1.5])}, logp, labels
    if name == "bce":
        prob = 1 / (1 + np.exp(-x))
        return nn.BCELoss, tnn.BCELoss, {}, prob, rng.uniform(0, 1, (6, 4))
    if name == "bce_with_logits":
        kw = {"pos_weight": np.array([1.0, 3.0, 0.5, 2.0])}
        return nn.BCEWithLogitsLoss, tnn.BCEWithLogitsLoss, kw, x, rng.uniform(0, 1, (6, 4))
    if name == "multi_margin_p1":
        return nn.MultiMarginLoss, tnn.MultiMarginLoss, {}, x, labels
    if name == "multi_margin_p2_weight":
        kw = {"p": 2, "margin": 0.5, "weight": np.array([1.0, 2.0, 0.5, 1.5])}
        return nn.MultiMarginLoss, tnn.MultiMarginLoss, kw, x, labels
    raise KeyError(name)


LOSSES = ["mse", "cross_entropy", "cross_entropy_weight_ignore", "cross_entropy_smoothing",
          "nll", "bce", "bce_with_logits", "multi_margin_p1", "multi_margin_p2_weight"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_loss_module_matches_torch(name, reduction, each_backend):
    ours, theirs, kwargs, x, y = _loss_case(name, np.random.default_rng(0))
    tkwargs = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
               for k, v in kwargs.items()}
    loss_fn, tloss_fn = ours(reduction=reduction, **kwargs), theirs(reduction=reduction,
                                                                   **tkwargs)
    xp = pynn.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_(True)
    out = loss_fn(xp, pynn.tensor(y))
    tout = tloss_fn(xt, torch.from_numpy(y))
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(xp.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    # weights are buffers, as in PyTorch
    assert list(loss_fn.state_dict()) == list(tloss_fn.state_dict())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_unbatched_matches_torch(reduction):
    x = np.random.default_rng(0).standard_normal(5)
    out = nn.MultiMarginLoss(reduction=reduction)(pynn.tensor(x), np.array(2))
    tout = tnn.MultiMarginLoss(reduction=reduction)(torch.from_numpy(x), torch.tensor(2))
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_loss_matches_its_definition(reduction):
    rng = np.random.default_rng(0)
    s = rng.standard_normal((5, 3)).astype(np.float32)
    y = np.where(rng.standard_normal((5, 3)) > 0, 1.0, -1.0).astype(np.float32)
    out = nn.HingeLoss(margin=1.0, reduction=reduction)(pynn.tensor(s), y)
    per = torch.clamp(1.0 - torch.from_numpy(y) * torch.from_numpy(s), min=0)
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6)


def test_hinge_loss_rejects_01_labels():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        nn.HingeLoss()(pynn.tensor(np.zeros(3)), np.array([0.0, 1.0, 1.0]))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_softmax_modules_match_torch(dim):
    x = np.random.default_rng(0).standard_normal((3, 4))
    for ours, theirs in ((nn.Softmax, tnn.Softmax), (nn.LogSoftmax, tnn.LogSoftmax)):
        # 2-D input: pynn's dim=None (last dim) agrees with PyTorch's legacy choice (dim 1)
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = theirs(dim)(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours(dim)(pynn.tensor(x)).data, expected, rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda lib: lib.LeakyReLU(0.2), lambda lib: lib.GELU(), lambda lib: lib.GELU("tanh"),
    lambda lib: lib.Sigmoid(), lambda lib: lib.Tanh(), lambda lib: lib.ReLU(),
    lambda lib: lib.AvgPool2d(3, 2, 1, count_include_pad=False), lambda lib: lib.AvgPool2d(2),
    lambda lib: lib.MaxPool2d(3, 2, 1), lambda lib: lib.Flatten(0, 2), lambda lib: lib.Identity(),
])
def test_parameterless_layers_match_torch(make, each_backend):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    ours, theirs = make(nn), make(tnn)
    np.testing.assert_allclose(ours(pynn.tensor(x)).data, theirs(torch.from_numpy(x)).numpy(),
                               rtol=1e-10, atol=1e-12)
    assert repr(ours) == repr(theirs)
