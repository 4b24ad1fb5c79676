"""optim.swa_utils against PyTorch: AveragedModel (SWA, EMA, custom averages, buffers), SWALR's
schedule, update_bn."""

import numpy as np
import pytest

import pynn
from pynn import nn
from pynn.optim import swa_utils

torch = pytest.importorskip("torch")


def _models():
    """The same small CNN with batch norm in both libraries, with PyTorch's weights."""
    def build(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 3, 3), lib.nn.BatchNorm2d(3), lib.nn.ReLU(),
                                 lib.nn.Flatten(), lib.nn.Linear(3 * 4 * 4, 2)).double()

    torch.manual_seed(0)
    tm, pm = build(torch), build(pynn)
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return pm, tm


def _train(pm, tm, pavg, tavg, steps=4, sched=None):
    rng = np.random.default_rng(0)
    popt = pynn.optim.SGD(pm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(steps):
        x = rng.standard_normal((4, 1, 6, 6))
        popt.zero_grad()
        topt.zero_grad()
        pm(pynn.tensor(x)).pow(2).mean().backward()
        tm(torch.tensor(x)).pow(2).mean().backward()
        popt.step()
        topt.step()
        pavg.update_parameters(pm)
        tavg.update_parameters(tm)


def _assert_state_equal(pavg, tavg, tol=1e-10):
    ps, ts = pavg.state_dict(), tavg.state_dict()
    assert list(ps) == list(ts)
    for k in ts:
        assert ps[k].numpy().dtype == ts[k].numpy().dtype, k
        np.testing.assert_allclose(ps[k].numpy(), ts[k].numpy(), rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_fn", "swa_multi", "custom"])
def test_averaged_model_matches_torch(kind, use_buffers):
    if kind == "swa_multi" and use_buffers:
        pytest.skip("PyTorch's own swa multi_avg_fn raises on the integer num_batches_tracked")
    pm, tm = _models()
    kw_p, kw_t = {}, {}
    if kind == "ema_multi":
        kw_p["multi_avg_fn"] = swa_utils.get_ema_multi_avg_fn(0.9)
        kw_t["multi_avg_fn"] = torch.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    elif kind == "swa_multi":
        kw_p["multi_avg_fn"] = swa_utils.get_swa_multi_avg_fn()
        kw_t["multi_avg_fn"] = torch.optim.swa_utils.get_swa_multi_avg_fn()
    elif kind == "ema_fn":
        kw_p["avg_fn"] = swa_utils.get_ema_avg_fn(0.8)
        kw_t["avg_fn"] = torch.optim.swa_utils.get_ema_avg_fn(0.8)
    elif kind == "custom":
        def avg(a, c, n):
            return 0.5 * a + 0.5 * c
        kw_p["avg_fn"] = kw_t["avg_fn"] = avg
    pavg = swa_utils.AveragedModel(pm, use_buffers=use_buffers, **kw_p)
    tavg = torch.optim.swa_utils.AveragedModel(tm, use_buffers=use_buffers, **kw_t)
    _train(pm, tm, pavg, tavg)
    _assert_state_equal(pavg, tavg, tol=1e-8)  # the two trainings differ in rounding
    assert int(pavg.n_averaged) == 4 and pavg.n_averaged.dtype == pynn.int64
    x = np.random.default_rng(5).standard_normal((2, 1, 6, 6))
    pavg.eval()
    tavg.eval()
    np.testing.assert_allclose(pavg(pynn.tensor(x)).detach().numpy(),
                               tavg(torch.tensor(x)).detach().numpy(), rtol=1e-7, atol=1e-9)


def test_averaged_model_is_a_copy_and_first_update_copies():
    model = nn.Linear(3, 2)
    avg = swa_utils.AveragedModel(model)
    assert avg.module is not model and avg.module.weight is not model.weight
    with pynn.no_grad():
        model.weight.fill_(1.0)
    avg.update_parameters(model)
    np.testing.assert_array_equal(avg.module.weight.detach().numpy(), 1.0)
    with pynn.no_grad():
        model.weight.fill_(3.0)
    avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), 2.0)
    assert [n for n, _ in avg.named_parameters()] == ["module.weight", "module.bias"]


def test_averaged_model_state_dict_loads_from_torch():
    pm, tm = _models()
    tavg = torch.optim.swa_utils.AveragedModel(tm)
    tavg.update_parameters(tm)
    pavg = swa_utils.AveragedModel(pm)
    pavg.load_state_dict({k: v.numpy() for k, v in tavg.state_dict().items()})
    _assert_state_equal(pavg, tavg)


def test_both_avg_fns_rejected():
    with pytest.raises(AssertionError):
        swa_utils.AveragedModel(nn.Linear(1, 1), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_multi_avg_fn(1.5)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3])
def test_swalr_schedule_matches_torch(strategy, anneal_epochs):
    pp = [nn.Parameter(pynn.zeros(1)), nn.Parameter(pynn.zeros(1))]
    tp = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    popt = pynn.optim.SGD([{"params": [pp[0]]}, {"params": [pp[1]], "lr": 0.5}], lr=1.0)
    topt = torch.optim.SGD([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.5}], lr=1.0)
    ps = swa_utils.SWALR(popt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs,
                         anneal_strategy=strategy)
    ts = torch.optim.swa_utils.SWALR(topt, swa_lr=[0.05, 0.2], anneal_epochs=anneal_epochs,
                                     anneal_strategy=strategy)
    for _ in range(6):
        np.testing.assert_allclose(ps.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        popt.step()
        topt.step()
        ps.step()
        ts.step()
    assert ps.get_last_lr() == pytest.approx([0.05, 0.2])


def test_swalr_after_another_schedule_and_errors():
    p = nn.Parameter(pynn.zeros(1))
    opt = pynn.optim.SGD([p], lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="same length"):
        swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
    sched = swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
    state = sched.state_dict()
    assert "anneal_func" not in state and state["anneal_epochs"] == 2


def test_update_bn_matches_torch():
    pm, tm = _models()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((5, 1, 6, 6)) for _ in range(3)]
    pm.eval()
    tm.eval()
    swa_utils.update_bn([(pynn.tensor(b), 0) for b in batches], pm)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], tm)
    assert not pm.training and pm[1].momentum == tm[1].momentum == 0.1
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(pm.state_dict()[k].numpy(), v.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=k)


def test_update_bn_with_a_dataloader_and_no_batchnorm():
    pm, _ = _models()
    data = pynn.utils.data.TensorDataset(pynn.randn(8, 1, 6, 6, dtype=pynn.float64))
    swa_utils.update_bn(pynn.utils.data.DataLoader(data, batch_size=4), pm)
    assert int(pm[1].num_batches_tracked) == 2
    swa_utils.update_bn([pynn.zeros(1, 3)], nn.Linear(3, 1))  # nothing to do
