"""Optimiser step hooks against PyTorch: per-optimiser and global pre/post hooks, their order,
a pre-hook replacing step's arguments, removal, a bad return value, and a subclass whose step
calls its base class's."""

import importlib

import numpy as np
import pytest

import pynn
import pynn.optim.optimizer

torch = pytest.importorskip("torch")


def _setup(lib):
    w = (pynn.nn.Parameter(pynn.tensor(np.array([1.0, -2.0]))) if lib is pynn
         else torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64)))
    return w, lib.optim.SGD([w], lr=0.5)


def _grad(lib, w):
    w.grad = (pynn.tensor(np.array([0.25, 1.0])) if lib is pynn
              else torch.tensor([0.25, 1.0], dtype=torch.float64))


def _events(lib):
    """The calls the hooks see over three steps, the hooks removed one by one."""
    events = []
    w, opt = _setup(lib)
    mod = importlib.import_module(f"{lib.__name__}.optim.optimizer")

    def seen(name):
        return lambda o, args, kwargs: events.append(
            (name, o is opt, len(args), args[0] is opt, kwargs))

    handles = [
        mod.register_optimizer_step_pre_hook(seen("global pre")),
        opt.register_step_pre_hook(seen("pre")),
        opt.register_step_post_hook(seen("post")),
        mod.register_optimizer_step_post_hook(seen("global post")),
    ]
    try:
        for handle in handles:
            _grad(lib, w)
            opt.step()
            events.append(("weights", [round(float(v), 6) for v in w.detach().tolist()]))
            handle.remove()
        handle.remove()  # a second removal does nothing
        _grad(lib, w)
        opt.step(None)
    finally:
        for handle in handles:
            handle.remove()
    return events


def test_hooks_run_in_pytorch_order():
    assert _events(pynn) == _events(torch)


@pytest.mark.parametrize("lib", [pynn, torch], ids=["pynn", "torch"])
def test_pre_hook_replaces_the_arguments(lib):
    w, opt = _setup(lib)
    called = []

    def closure():
        called.append(1)
        return 7.0

    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": closure}))
    seen = []
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append((len(args), sorted(kwargs))))
    _grad(lib, w)
    assert opt.step() == 7.0
    assert called == [1] and seen == [(1, ["closure"])]


@pytest.mark.parametrize("lib", [pynn, torch], ids=["pynn", "torch"])
def test_pre_hook_returning_something_else_is_an_error(lib):
    w, opt = _setup(lib)
    opt.register_step_pre_hook(lambda o, args, kwargs: 3)
    _grad(lib, w)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        opt.step()


def test_subclass_calling_super_step_runs_hooks_once():
    """The same update as PyTorch's; the hooks once per step where PyTorch runs them twice
    (its base class's step is hooked too), which a hook counting steps would miscount."""
    calls = {}
    for lib in (pynn, torch):
        class Clipped(lib.optim.SGD):
            def step(self, closure=None):
                for group in self.param_groups:
                    for p in group["params"]:
                        p.grad.data.clamp_(-0.5, 0.5)
                return super().step(closure)

        w = (pynn.nn.Parameter(pynn.tensor(np.array([1.0, -2.0]))) if lib is pynn
             else torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64)))
        opt = Clipped([w], lr=1.0)
        n = []
        opt.register_step_pre_hook(lambda o, a, k, n=n: n.append("pre"))
        opt.register_step_post_hook(lambda o, a, k, n=n: n.append("post"))
        _grad(lib, w)
        opt.step()
        calls[lib.__name__] = (n, [round(float(v), 6) for v in w.detach().tolist()])
    assert calls["pynn"][1] == calls["torch"][1]
    assert calls["pynn"][0] == ["pre", "post"]
    assert calls["torch"][0] == ["pre", "pre", "post", "post"]
