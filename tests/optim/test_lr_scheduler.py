"""Learning-rate schedulers without PyTorch: values by hand, the call-order warning, state
round trips and validation (the comparison with PyTorch is in test_against_torch.py)."""

import math
import warnings

import numpy as np
import pytest

from pynn.optim import SGD, Adam
from pynn.optim import lr_scheduler as sched


def sgd(Param, lr=0.1, **kwargs):
    return SGD([Param(np.zeros(2))], lr=lr, **kwargs)


def lrs(optimizer, scheduler, steps):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


def test_construction_performs_step_zero(Param):
    opt = sgd(Param, lr=0.3)
    s = sched.LinearLR(opt, start_factor=0.5, total_iters=2)
    assert s.last_epoch == 0
    assert s.base_lrs == [0.3]
    assert opt.param_groups[0]["initial_lr"] == 0.3
    assert opt.param_groups[0]["lr"] == pytest.approx(0.15) == s.get_last_lr()[0]


def test_values_by_hand(Param):
    opt = sgd(Param, lr=1.0)
    assert lrs(opt, sched.StepLR(opt, step_size=2, gamma=0.5), 5) == [1, 1, .5, .5, .25, .25]
    opt = sgd(Param, lr=1.0)
    assert lrs(opt, sched.MultiStepLR(opt, milestones=[1, 3, 3]), 4) == pytest.approx(
        [1, .1, .1, .001, .001])
    opt = sgd(Param, lr=1.0)
    assert lrs(opt, sched.ExponentialLR(opt, gamma=0.5), 3) == [1, .5, .25, .125]
    opt = sgd(Param, lr=1.0)
    assert lrs(opt, sched.LinearLR(opt, start_factor=0.25, total_iters=3), 5) == pytest.approx(
        [.25, .5, .75, 1, 1, 1])
    opt = sgd(Param, lr=1.0)
    assert lrs(opt, sched.CosineAnnealingLR(opt, T_max=4, eta_min=0.2), 4) == pytest.approx(
        [1, .2 + .4 * (1 + math.cos(math.pi / 4)), .6, .2 + .4 * (1 - math.cos(math.pi / 4)),
         .2])


def test_onecycle_by_hand(Param):
    opt = sgd(Param, lr=1.0, momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.5,
                         anneal_strategy="linear", div_factor=4.0, final_div_factor=2.0)
    # Warm-up over steps 0..1.5 from 0.25 to 1, then down to 0.125 at step 4.
    assert lrs(opt, s, 4) == pytest.approx(
        [0.25, 0.25 + 0.75 / 1.5, 1.0 - 0.875 * 0.5 / 2.5, 1.0 - 0.875 * 1.5 / 2.5, 0.125])
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)


def test_onecycle_cycles_adam_beta1(Param):
    opt = Adam([Param(np.zeros(1))], betas=(0.5, 0.99))
    s = sched.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    opt.step()
    s.step()
    assert 0.85 < opt.param_groups[0]["betas"][0] < 0.95
    assert opt.param_groups[0]["betas"][1] == 0.99


def test_sequential_by_hand(Param):
    opt = sgd(Param, lr=1.0)
    s = sched.SequentialLR(opt, [sched.LinearLR(opt, start_factor=0.5, total_iters=2),
                                 sched.ExponentialLR(opt, gamma=0.5)], milestones=[3])
    assert lrs(opt, s, 5) == pytest.approx([.5, .75, 1, 1, .5, .25])


# ---------------------------------------------------------------------------------------------
# The call-order warning


def test_warns_when_scheduler_steps_before_optimizer(Param):
    opt = sgd(Param)
    s = sched.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        s.step()


ORDER_CASES = {
    "LambdaLR": lambda o: sched.LambdaLR(o, lambda e: 1.0),
    "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, lambda e: 0.9),
    "ConstantLR": lambda o: sched.ConstantLR(o),
    "PolynomialLR": lambda o: sched.PolynomialLR(o),
    "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, 2),
    "CyclicLR": lambda o: sched.CyclicLR(o, 0.01, 0.1),
    "ChainedScheduler": lambda o: sched.ChainedScheduler([sched.StepLR(o, 2)]),
}


@pytest.mark.parametrize("name", list(ORDER_CASES))
def test_new_schedulers_warn_on_wrong_order_as_pytorch(Param, name):
    torch = pytest.importorskip("torch")
    for module, opt in ((sched, sgd(Param)),
                        (torch.optim.lr_scheduler,
                         torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1,
                                         momentum=0.9))):
        s = ORDER_CASES[name](opt) if module is sched else getattr(module, name)(
            *_torch_args(name, opt, module))
        if name == "CosineAnnealingWarmRestarts":  # PyTorch's does not check
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                s.step()
        else:
            with pytest.warns(UserWarning, match="before `optimizer.step"):
                s.step()


def _torch_args(name, opt, module):
    return {
        "LambdaLR": (opt, lambda e: 1.0),
        "MultiplicativeLR": (opt, lambda e: 0.9),
        "ConstantLR": (opt,),
        "PolynomialLR": (opt,),
        "CosineAnnealingWarmRestarts": (opt, 2),
        "CyclicLR": (opt, 0.01, 0.1),
        "ChainedScheduler": ([module.StepLR(opt, 2)],),
    }[name]


def test_no_warning_in_the_right_order(Param):
    opt = sgd(Param)
    s = sched.ExponentialLR(opt, gamma=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            s.step()


def test_order_warning_with_sequential_lr(Param):
    opt = sgd(Param)
    s = sched.SequentialLR(opt, [sched.StepLR(opt, 3), sched.StepLR(opt, 2)], [2])
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        s.step()


def test_step_tracking_wraps_once_and_keeps_results(Param):
    opt = sgd(Param)
    sched.StepLR(opt, step_size=1)
    sched.ExponentialLR(opt, gamma=0.5)
    assert opt.step._tracked_by_lr_scheduler
    assert opt.step(lambda: 7) == 7
    plain = sgd(Param)
    assert "step" not in vars(plain), "optimisers without a scheduler are not wrapped"


def test_replaced_optimizer_step_warns(Param):
    opt = sgd(Param)
    s = sched.StepLR(opt, step_size=1)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match="replaced"):
        s.step()


def test_step_with_epoch_is_deprecated_and_uses_closed_form(Param):
    opt = sgd(Param, lr=1.0)
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        s.step(5)
    assert s.last_epoch == 5 and s.get_last_lr() == [0.25]


# ---------------------------------------------------------------------------------------------
# state_dict


SCHEDULERS = {
    "StepLR": lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda o: sched.MultiStepLR(o, [2, 5, 9]),
    "ExponentialLR": lambda o: sched.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, 12, eta_min=0.01),
    "LinearLR": lambda o: sched.LinearLR(o, total_iters=8),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, 1.0, total_steps=20),
    "SequentialLR": lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.2, total_iters=4),
            sched.CosineAnnealingLR(o, T_max=14)], milestones=[4]),
}


def make_run(Param):
    p = Param(np.ones(3))
    return p, Adam([p], lr=0.1)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_round_trip(backend, Param, name):
    """6 steps, save optimiser and scheduler, fresh ones load them, 8 more steps: the lrs,
    betas and parameters equal those of 14 uninterrupted steps."""
    def train(p, opt, s, steps, start):
        out = []
        for step in range(start, start + steps):
            p.grad = np.full(3, 0.1 * (step + 1))
            opt.step()
            s.step()
            out.append((s.get_last_lr(), opt.param_groups[0]["betas"]))
        return out

    p_ref, opt_ref = make_run(Param)
    s_ref = SCHEDULERS[name](opt_ref)
    expected = train(p_ref, opt_ref, s_ref, 14, 0)

    p, opt = make_run(Param)
    s = SCHEDULERS[name](opt)
    got = train(p, opt, s, 6, 0)
    opt_state, s_state = opt.state_dict(), s.state_dict()
    assert "optimizer" not in s_state and s_state["last_epoch"] == 6

    p2 = Param(p.detach().numpy().copy())
    opt2 = Adam([p2], lr=0.1)
    s2 = SCHEDULERS[name](opt2)
    opt2.load_state_dict(opt_state)
    s2.load_state_dict(s_state)
    got += train(p2, opt2, s2, 8, 6)
    assert got == expected
    np.testing.assert_array_equal(p2.data, p_ref.data)


def test_resume_with_last_epoch_needs_initial_lr(Param):
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(sgd(Param), step_size=2, last_epoch=3)
    opt = sgd(Param, lr=1.0)
    opt.param_groups[0]["initial_lr"] = 1.0
    s = sched.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    assert s.last_epoch == 4


# ---------------------------------------------------------------------------------------------
# Validation


def test_scheduler_validation(Param):
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(sgd(Param), start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        sched.LinearLR(sgd(Param), end_factor=1.5)
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(sgd(Param), 1.0)
    with pytest.raises(ValueError, match="positive integer total_steps"):
        sched.OneCycleLR(sgd(Param), 1.0, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        sched.OneCycleLR(sgd(Param), 1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(sgd(Param), 1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="expected 1 values for max_lr"):
        sched.OneCycleLR(sgd(Param), [1.0, 2.0], total_steps=10)
    opt = sgd(Param)
    with pytest.raises(ValueError, match="one more than the number of milestones"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(opt, 3)], milestones=[])
    other = sgd(Param)
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(other, 3)], [2])
    with pytest.raises(ValueError, match="at least one scheduler"):
        sched.SequentialLR(opt, [], [])


def test_optimizer_and_scheduler_state_survive_pynn_save_load(tmp_path, Param):
    """Through pynn's .npz format (no pickle): int keys, tuples and Counters come back."""
    serialization = pytest.importorskip("pynn.serialization")
    p = Param(np.ones(3))
    opt = Adam([p], lr=0.1, amsgrad=True)
    s = sched.SequentialLR(opt, [sched.MultiStepLR(opt, [1, 3, 3]),
                                 sched.OneCycleLR(opt, 1.0, total_steps=10)], milestones=[4])
    for _ in range(5):
        p.grad = np.ones(3)
        opt.step()
        s.step()
    serialization.save({"optimizer": opt.state_dict(), "scheduler": s.state_dict()},
                       tmp_path / "ckpt.npz")
    loaded = serialization.load(tmp_path / "ckpt.npz")

    p2 = Param(p.detach().numpy().copy())
    opt2 = Adam([p2], lr=0.1, amsgrad=True)
    s2 = sched.SequentialLR(opt2, [sched.MultiStepLR(opt2, [1, 3, 3]),
                                   sched.OneCycleLR(opt2, 1.0, total_steps=10)], milestones=[4])
    opt2.load_state_dict(loaded["optimizer"])
    s2.load_state_dict(loaded["scheduler"])
    assert opt2.state[p2]["step"] == 5 and opt2.param_groups[0]["betas"] == opt.param_groups[
        0]["betas"]
    for _ in range(4):
        for q, o, sc in ((p, opt, s), (p2, opt2, s2)):
            q.grad = np.full(3, 0.5)
            o.step()
            sc.step()
        assert s2.get_last_lr() == s.get_last_lr()
    np.testing.assert_array_equal(p2.data, p.data)
    multistep = s2._schedulers[0]
    assert multistep.milestones == {1: 1, 3: 2}
    multistep._get_closed_form_lr()  # needs a Counter again


SAVED = {
    "StepLR": lambda o: sched.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: sched.MultiStepLR(o, [2, 4, 4]),
    "ExponentialLR": lambda o: sched.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, 5),
    "LinearLR": lambda o: sched.LinearLR(o),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=20),
    "LambdaLR": lambda o: sched.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, lambda e: 0.95),
    "ConstantLR": lambda o: sched.ConstantLR(o, total_iters=3),
    "PolynomialLR": lambda o: sched.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, 3, 2),
    "CyclicLR": lambda o: sched.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2"),
    "ReduceLROnPlateau": lambda o: sched.ReduceLROnPlateau(o, patience=1, cooldown=1),
    "SequentialLR": lambda o: sched.SequentialLR(
        o, [sched.ConstantLR(o, 0.5, 2), sched.ExponentialLR(o, 0.8)], [2]),
    "ChainedScheduler": lambda o: sched.ChainedScheduler(
        [sched.StepLR(o, 3), sched.ExponentialLR(o, 0.9)]),
}


@pytest.mark.parametrize("name", list(SAVED))
def test_scheduler_state_survives_pynn_save(Param, name, tmp_path):
    """optimizer and scheduler state_dicts saved in one checkpoint with pynn.save, loaded
    into fresh objects: both runs continue with the same learning rates."""
    import pynn

    def advance(opt, s, k):
        out = []
        for i in range(k):
            opt.step()
            s.step(1.0 / (1 + i % 3)) if name == "ReduceLROnPlateau" else s.step()
            out.append(s.get_last_lr())
        return out

    a_opt = sgd(Param, momentum=0.9)
    a = SAVED[name](a_opt)
    advance(a_opt, a, 6)
    pynn.save({"optimizer": a_opt.state_dict(), "scheduler": a.state_dict()}, tmp_path / "c")
    ckpt = pynn.load(tmp_path / "c")
    b_opt = sgd(Param, momentum=0.9)
    b = SAVED[name](b_opt)
    b_opt.load_state_dict(ckpt["optimizer"])
    b.load_state_dict(ckpt["scheduler"])
    np.testing.assert_allclose(advance(b_opt, b, 6), advance(a_opt, a, 6), rtol=1e-15)


ALL_SCHEDULERS = {
    **SCHEDULERS,
    "LambdaLR": lambda o: sched.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, lambda e: 0.95),
    "ConstantLR": lambda o: sched.ConstantLR(o, factor=0.5, total_iters=3),
    "PolynomialLR": lambda o: sched.PolynomialLR(o, total_iters=6, power=2.0),
    "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=4),
    "CyclicLR": lambda o: sched.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False),
    "ReduceLROnPlateau": lambda o: sched.ReduceLROnPlateau(o, patience=1),
    "ChainedScheduler": lambda o: sched.ChainedScheduler(
        [sched.ExponentialLR(o, 0.9), sched.StepLR(o, 2)]),
}


BAD_ENTRIES = [
    ("optimizer", {}, ValueError, "would replace the scheduler's optimizer"),
    ("step", 3, ValueError, "would replace the scheduler's attribute"),
    ("get_last_lr", [0.1], ValueError, "would replace the scheduler's attribute"),
    ("last_epoch", print, TypeError, "is a callable"),
    ("last_epoch", "6", ValueError, "expected a number"),
    ("_last_lr", [0.1, 0.2], ValueError, "expected 1 values"),
]
# ChainedScheduler counts no epochs of its own.
BAD_STATES = [(name, *bad) for name in ALL_SCHEDULERS for bad in BAD_ENTRIES
              if not (name == "ChainedScheduler" and bad[0] == "last_epoch")]


@pytest.mark.parametrize("name, entry, value, error, message", BAD_STATES)
def test_scheduler_state_is_checked_before_copying(Param, name, entry, value, error, message):
    """A state dict from a file may not replace the optimiser or a method, bring a callable,
    or change a value's kind or per-group length; nothing is copied when one entry is bad."""
    _, opt = make_run(Param)
    s = ALL_SCHEDULERS[name](opt)
    state = s.state_dict()
    before = dict(s.__dict__)
    bad = dict(state, **{entry: value})
    bad["an_extra_entry"] = 1  # kept when the rest is good; must not land here
    with pytest.raises(error, match=message):
        s.load_state_dict(bad)
    assert s.__dict__.keys() == before.keys()
    assert all(s.__dict__[k] is before[k] for k in before)


def test_scheduler_state_of_another_version_keeps_unknown_entries(Param):
    """Like PyTorch, entries the scheduler does not hold are kept (a state saved by another
    version), and a state dict that is not a dict is a TypeError."""
    _, opt = make_run(Param)
    s = sched.StepLR(opt, step_size=2)
    state = dict(s.state_dict(), _get_lr_called_within_step=False, verbose=False)
    s.load_state_dict(state)
    assert s.verbose is False
    with pytest.raises(TypeError, match="StepLR.load_state_dict expected a dict"):
        s.load_state_dict([("last_epoch", 3)])


def test_chained_state_needs_one_state_per_scheduler(Param):
    _, opt = make_run(Param)
    s = ALL_SCHEDULERS["SequentialLR"](opt)
    state = s.state_dict()
    state["_schedulers"] = state["_schedulers"][:1]
    with pytest.raises(ValueError, match="expected the states of 2 schedulers, got 1"):
        s.load_state_dict(state)


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", {"step_size": 2}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 20}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1}),
    ("ReduceLROnPlateau", {}),
])
def test_scheduler_loads_the_state_torch_saves(name, kwargs):
    """A state dict from PyTorch's scheduler (its extra entries included) passes the checks
    and resumes at PyTorch's epoch and learning rate."""
    torch = pytest.importorskip("torch")
    import pynn

    tp = torch.nn.Parameter(torch.ones(3))
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    args = [1.0] if name == "ReduceLROnPlateau" else []
    for _ in range(3):
        topt.step()
        ts.step(*args)
    p = pynn.nn.Parameter(pynn.ones(3))
    opt = pynn.optim.SGD([p], lr=0.1, momentum=0.9)
    s = getattr(sched, name)(opt, **kwargs)
    s.load_state_dict(ts.state_dict())
    assert s.last_epoch == ts.last_epoch
    np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr())
