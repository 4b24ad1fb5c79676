"""The Optimizer interface: validation, parameter groups, zero_grad, skipped parameters,
closures, state and state_dict round trips."""

import numpy as np
import pytest

from pynn.optim import SGD, Adam, AdamW, Optimizer, RMSprop

OPTIMIZERS = {
    "SGD-momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "SGD": lambda ps: SGD(ps, lr=0.1),
    "Adam-amsgrad": lambda ps: Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
    "AdamW": lambda ps: AdamW(ps, lr=0.01),
    "RMSprop-centered-momentum": lambda ps: RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
}


def make_params(Param, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [Param(rng.standard_normal(s).astype(dtype)) for s in [(3, 2), (4,), (2,)]]


def groups_of(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.5}]


def set_grads(params, step, dtype=np.float64):
    rng = np.random.default_rng(100 + step)
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD(ps, lr=-1), "Invalid learning rate: -1"),
    (lambda ps: SGD(ps, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda ps: SGD(ps, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda ps: SGD(ps, nesterov=True), "Nesterov momentum requires a momentum and zero"),
    (lambda ps: SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum"),
    (lambda ps: Adam(ps, lr=-0.01), "Invalid learning rate: -0.01"),
    (lambda ps: Adam(ps, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda ps: AdamW(ps, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda ps: RMSprop(ps, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda ps: RMSprop(ps, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda ps: RMSprop(ps, momentum=-1), "Invalid momentum value: -1"),
    (lambda ps: RMSprop(ps, lr=float("nan")), "Invalid learning rate: nan"),
])
def test_invalid_hyperparameters(Param, make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make(make_params(Param))


def test_group_hyperparameters_are_validated_too(Param):
    ps = make_params(Param)
    with pytest.raises(ValueError, match="Invalid learning rate: -2"):
        SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": -2}], lr=0.1)
    opt = Adam(ps[:1])
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        opt.add_param_group({"params": ps[1:], "betas": (2.0, 0.9)})


def test_invalid_params(Param):
    p = Param(np.zeros(3))
    with pytest.raises(TypeError, match="iterable of parameters or dicts"):
        SGD(p)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({np.float64(1.0)})
    with pytest.raises(TypeError, match="can only optimize parameters"):
        SGD([np.zeros(3)])
    with pytest.raises(TypeError, match="float32/float64"):
        SGD([Param(np.zeros(3, np.int64))])


def test_parameter_in_two_groups_is_rejected(Param):
    a, b = Param(np.zeros(2)), Param(np.zeros(2))
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [a, b]}, {"params": [b]}])
    opt = SGD([a])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="duplicate parameters"):
        SGD([a, b, a])
    assert len(opt.param_groups) == 1  # the rejected group was not added


def test_equal_valued_parameters_are_distinct(Param):
    """State is per parameter object, not per value (parameters are unhashable here)."""
    a, b = Param(np.zeros(2)), Param(np.zeros(2))
    opt = Adam([a, b])
    a.grad, b.grad = np.ones(2), -np.ones(2)
    opt.step()
    assert opt.state[a]["exp_avg"][0] == pytest.approx(0.1)
    assert opt.state[b]["exp_avg"][0] == pytest.approx(-0.1)


# ---------------------------------------------------------------------------------------------
# Groups, zero_grad, skipping, closures


def test_param_groups_with_their_own_lr(backend, Param):
    a, b = Param(np.ones(3)), Param(np.ones(3))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.5
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    a.grad, b.grad = np.ones(3), np.ones(3)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.99)
    opt.param_groups[0]["lr"] = 0.2  # changed between steps: used on the next one
    opt.step()
    np.testing.assert_allclose(a.data, 0.7)


def test_add_param_group(backend, Param):
    a, b = Param(np.ones(2)), Param(np.ones(2))
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.8)


def test_zero_grad(Param):
    a, b, c = Param(np.ones(2)), Param(np.ones(2)), Param(np.ones(2))
    opt = SGD([a, b, c])
    a.grad, b.grad = np.ones(2), np.ones(2)
    grad_b, storage_b = b.grad, b.grad.numpy()
    opt.zero_grad(set_to_none=False)
    assert b.grad is grad_b and b.grad.numpy() is storage_b, (
        "set_to_none=False zeroes the existing array in place")
    np.testing.assert_array_equal(a.grad, 0)
    np.testing.assert_array_equal(b.grad, 0)
    assert c.grad is None
    opt.zero_grad()
    assert a.grad is None and b.grad is None and c.grad is None


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_parameters_without_grad_are_skipped(backend, Param, name):
    a, b = Param(np.ones(3)), Param(np.ones(3))
    opt = OPTIMIZERS[name]([a, b])
    a.grad = np.full(3, 0.5)
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)
    assert b not in opt.state
    assert np.all(a.detach().numpy() != 1.0)
    if name != "SGD":
        assert a in opt.state


def test_frozen_then_unfrozen_parameter_starts_fresh_state(backend, Param):
    """A parameter skipped on the first steps gets Adam's step count 1 on its first update."""
    a, b = Param(np.ones(2)), Param(np.ones(2))
    opt = Adam([a, b])
    for _ in range(3):
        a.grad = np.ones(2)
        opt.step()
    b.grad = np.ones(2)
    opt.step()
    assert opt.state[a]["step"] == 4 and opt.state[b]["step"] == 1


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_with_closure(backend, Param, name):
    a = Param(np.ones(3))
    opt = OPTIMIZERS[name]([a])
    calls = []

    def closure():
        calls.append(1)
        a.grad = np.ones(3)
        return 42.0

    assert opt.step(closure) == 42.0
    assert calls == [1]
    assert np.all(a.detach().numpy() < 1.0)
    assert opt.step() is None


def test_state_is_lazy_and_per_parameter(Param):
    a = Param(np.ones(3, np.float32))
    opt = RMSprop([a], momentum=0.9, centered=True)
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}
    a.grad = np.ones(3, np.float32)
    opt.step()
    st = opt.state[a]
    assert set(st) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert st["step"] == 1
    for key in ("square_avg", "momentum_buffer", "grad_avg"):
        assert st[key].dtype == np.float32 and st[key].shape == (3,)
    assert list(opt.state) == [a]


def test_base_optimizer_step_is_abstract(Param):
    with pytest.raises(NotImplementedError):
        Optimizer([Param(np.zeros(1))], {"lr": 0.1}).step()


def test_repr(Param):
    text = repr(Adam([Param(np.zeros(1))], lr=0.5))
    assert text.startswith("Adam (") and "lr: 0.5" in text and "Parameter Group 0" in text


# ---------------------------------------------------------------------------------------------
# state_dict


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip(backend, Param, name, dtype):
    """3 steps, save, fresh optimiser, load, 3 more steps == 6 uninterrupted steps."""
    make = OPTIMIZERS[name]
    ref = make_params(Param, dtype)
    ref_opt = make(groups_of(ref))
    for step in range(6):
        set_grads(ref, step, dtype)
        ref_opt.step()

    ps = make_params(Param, dtype)
    opt = make(groups_of(ps))
    for step in range(3):
        set_grads(ps, step, dtype)
        opt.step()
    saved = opt.state_dict()
    assert set(saved["state"]) <= {0, 1, 2}
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert saved["param_groups"][1]["lr"] == 0.5

    ps2 = [Param(p.detach().numpy().copy()) for p in ps]
    opt2 = make([{"params": ps2[:2]}, {"params": ps2[2:]}])  # lr 0.5 comes from the dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == 0.5
    assert opt2.param_groups[0]["params"][0] is ps2[0]
    for key, st in saved["state"].items():
        for name_, value in st.items():
            loaded = opt2.state[ps2[key]][name_]
            if isinstance(value, np.ndarray):
                assert loaded is not value, "arrays are copied on load"
                assert loaded.dtype == dtype
            else:
                assert type(loaded) is int
    for step in range(3, 6):
        set_grads(ps2, step, dtype)
        opt2.step()
    for p, r in zip(ps2, ref):
        np.testing.assert_array_equal(p.data, r.data)


def test_load_state_dict_casts_to_parameter_dtype(Param):
    a64 = Param(np.ones(3))
    opt64 = Adam([a64])
    a64.grad = np.ones(3)
    opt64.step()
    a32 = Param(np.ones(3, np.float32))
    opt32 = Adam([a32])
    opt32.load_state_dict(opt64.state_dict())
    assert opt32.state[a32]["exp_avg"].dtype == np.float32
    a32.grad = np.ones(3, np.float32)
    opt32.step()
    assert opt32.state[a32]["step"] == 2


def test_load_state_dict_checks_groups(Param):
    ps = make_params(Param)
    saved = SGD(groups_of(ps)).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        SGD(ps).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size"):
        SGD([{"params": ps[:1]}, {"params": ps[1:]}]).load_state_dict(saved)


def test_load_state_dict_checks_state_shapes(Param):
    a = Param(np.ones(3))
    opt = SGD([a], momentum=0.9)
    a.grad = np.ones(3)
    opt.step()
    b = Param(np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        SGD([b], momentum=0.9).load_state_dict(opt.state_dict())


def test_custom_optimizer_and_scheduler_subclasses_like_pytorch(Param):
    """A script's own Optimizer and scheduler subclasses, written against PyTorch's base
    classes (defaults dict, param_groups, state[p], base_lrs, last_epoch)."""
    import pynn
    from pynn.optim import lr_scheduler

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        @pynn.no_grad()
        def step(self, closure=None):
            loss = None if closure is None else closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    state["step"] = state.get("step", 0) + 1
                    p.data = p.data - group["lr"] * np.sign(p.grad.numpy())
            return loss

    class Warmup(lr_scheduler._LRScheduler):
        def __init__(self, optimizer, warmup, last_epoch=-1):
            self.warmup = warmup
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [base * min(1.0, (self.last_epoch + 1) / self.warmup)
                    for base in self.base_lrs]

    p = Param(np.zeros(3))
    opt = SignSGD([p], lr=0.1)
    sched = Warmup(opt, warmup=4)
    lrs = []
    for _ in range(5):
        p.grad = np.array([1.0, -2.0, 0.0])
        assert opt.step(lambda: 7.0) == 7.0
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    np.testing.assert_allclose(lrs, [0.025, 0.05, 0.075, 0.1, 0.1])
    np.testing.assert_allclose(p.data, [-0.35, 0.35, 0.0])
    assert opt.state[p]["step"] == 5
    assert opt.state_dict()["state"][0]["step"] == 5


def test_named_parameters_like_pytorch():
    """optim.X(model.named_parameters()) keeps the names in "param_names", as PyTorch 2."""
    torch = pytest.importorskip("torch")
    import pynn

    ours_model, theirs_model = pynn.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    ours = SGD(ours_model.named_parameters(), lr=0.1)
    theirs = torch.optim.SGD(theirs_model.named_parameters(), lr=0.1)
    assert ours.param_groups[0]["param_names"] == theirs.param_groups[0]["param_names"]
    assert ours.param_groups[0]["params"][0] is ours_model.weight
    mine, ref = ours.state_dict()["param_groups"], theirs.state_dict()["param_groups"]
    assert mine[0]["param_names"] == ref[0]["param_names"] and mine[0]["params"] == [0, 1]
    with pytest.raises(ValueError, match="with/without names"):
        torch.optim.SGD([{"params": [("w", theirs_model.weight)]},
                         {"params": [theirs_model.bias]}], lr=0.1)
    with pytest.raises(ValueError, match="with/without names"):
        SGD([{"params": [("w", ours_model.weight)]}, {"params": [ours_model.bias]}], lr=0.1)
    opt = Adam([{"params": [("w", ours_model.weight)]}, {"params": [("b", ours_model.bias)],
                                                         "lr": 1.0}])
    assert [g["param_names"] for g in opt.param_groups] == [["w"], ["b"]]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad",
                                  "Adamax", "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS"])
def test_step_with_closure_returns_its_loss_even_under_no_grad(name):
    """step(closure) calls the closure with gradients recorded (as PyTorch's optimisers do)
    and returns what it returned; the parameters move."""
    import pynn
    import pynn.optim

    w = pynn.nn.Parameter(pynn.tensor(np.array([1.0, -2.0, 3.0])))
    opt = getattr(pynn.optim, name)([w], lr=0.1)
    returned = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        returned.append(loss)
        return loss

    with pynn.no_grad():
        got = opt.step(closure)
    assert got is returned[0]
    assert float(got.item()) == 14.0
    assert not np.array_equal(w.detach().numpy(), [1.0, -2.0, 3.0])
