"""Op chains written one op at a time (``F.max_pool2d(F.relu(conv(x)))``,
``F.relu(linear(x))``) run fused: the backward walk runs the chain's backward in one kernel
call when nothing else in the graph consumes its intermediate results, and in the forward the
ReLU of a temporary waits until it is read, so that a max-pool taking it pools first and
applies the ReLU to the pooled values. Checked here: that the fusion happens (kernel calls
counted), that it gives the unfused results (finite differences, PyTorch, and pynn with the
fusion switched off), and that everything that must see the intermediates (hooks,
retain_grad, a second use, in-place writes, autograd.grad, create_graph, anomaly mode, no_grad,
reads of every kind) still does."""

import copy
import pickle

import numpy as np
import pytest
from helpers import directional_check

import pynn
import pynn.nn.functional as F
from pynn.backend import active as K
from pynn.ops.activation import PendingRelu, ReluFunction
from pynn.ops.pool import MaxPool2dFunction

KERNELS = ("conv2d_backward", "conv2d_maxpool_backward", "relu_backward",
           "max_pool2d_backward")


@pytest.fixture
def calls(monkeypatch):
    """How many times each backward kernel of the chain ran (counted on the active
    backend's table, which the ops read at call time)."""
    counts = dict.fromkeys(KERNELS, 0)
    for name in KERNELS:
        fn = getattr(K, name)

        def counted(*args, _fn=fn, _name=name, **kwargs):
            counts[_name] += 1
            return _fn(*args, **kwargs)

        monkeypatch.setattr(K, name, counted)
    return counts


@pytest.fixture
def unfused(monkeypatch):
    """Switch the fusion off: every op runs its own backward."""

    def off():
        monkeypatch.setattr(ReluFunction, "_fuse", None)
        monkeypatch.setattr(MaxPool2dFunction, "_fuse", None)

    return off


def _params(dtype, rng, cin=2, cout=5, k=3, hidden=7):
    return {
        "w": rng.standard_normal((cout, cin, k, k)).astype(dtype) * 0.5,
        "b": rng.standard_normal(cout).astype(dtype) * 0.1,
        "fw": rng.standard_normal((hidden, cout * 4 * 4)).astype(dtype) * 0.2,
        "fb": rng.standard_normal(hidden).astype(dtype) * 0.1,
    }


def _leaves(lib, values, requires_grad=True):
    return {k: lib.tensor(v.copy(), requires_grad=requires_grad) for k, v in values.items()}


def _chain(lib, p, x, order="relu_pool", head=True):
    """conv (3x3 on 10x10, so 8x8) -> ReLU and 2x2 max-pool in ``order`` -> flatten ->
    linear -> ReLU (unless not ``head``), in ``lib`` (pynn or torch: the same functional
    names)."""
    fn = lib.nn.functional
    c = fn.conv2d(x, p["w"], p["b"])
    if order == "relu_pool":
        h = fn.max_pool2d(fn.relu(c), 2)
    elif order == "pool_relu":
        h = fn.relu(fn.max_pool2d(c, 2))
    elif order == "pool":
        h = fn.max_pool2d(c, 2)
    else:
        h = fn.relu(c)[:, :, ::2, ::2]
    if not head:
        return h
    return fn.relu(fn.linear(h.flatten(1), p["fw"], p["fb"]))


def _grads(p):
    return {k: (None if t.grad is None else t.grad.numpy().copy()) for k, t in p.items()}


@pytest.mark.parametrize("order, fused, gone", [
    ("relu_pool", {"conv2d_maxpool_backward": 1}, ("relu_backward", "max_pool2d_backward",
                                                   "conv2d_backward")),
    ("pool_relu", {"conv2d_maxpool_backward": 1}, ("max_pool2d_backward", "conv2d_backward")),
    ("pool", {"conv2d_maxpool_backward": 1}, ("max_pool2d_backward", "conv2d_backward")),
    ("relu", {"conv2d_backward": 1}, ()),
])
def test_chain_backward_runs_in_one_kernel(each_backend, calls, order, fused, gone):
    rng = np.random.default_rng(0)
    p = _leaves(pynn, _params(np.float64, rng))
    x = pynn.tensor(rng.standard_normal((3, 2, 10, 10)))
    _chain(pynn, p, x, order, head=False).sum().backward()
    for name, n in fused.items():
        assert calls[name] == n, (name, calls)
    for name in gone:
        assert calls[name] == 0, (name, calls)


def test_relu_after_linear_and_conv_runs_no_node_of_its_own(monkeypatch):
    ran = []
    real = ReluFunction.backward
    monkeypatch.setattr(ReluFunction, "backward",
                        staticmethod(lambda ctx, g: ran.append(1) or real(ctx, g)))
    rng = np.random.default_rng(1)
    p = _leaves(pynn, _params(np.float32, rng))
    x = pynn.tensor(rng.standard_normal((2, 2, 10, 10)).astype(np.float32))
    _chain(pynn, p, x, "relu").sum().backward()
    assert ran == []
    assert all(t.grad is not None for t in p.values())


@pytest.mark.parametrize("order", ["relu_pool", "pool_relu", "pool", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_gradients_equal_the_unfused_ones(each_backend, unfused, order, dtype):
    rng = np.random.default_rng(2)
    values = _params(dtype, rng)
    x = rng.standard_normal((4, 2, 10, 10)).astype(dtype)
    dy = rng.standard_normal((4, 7)).astype(dtype)
    results = []
    for switch in (None, unfused):
        if switch is not None:
            switch()
        p = _leaves(pynn, values)
        xt = pynn.tensor(x.copy(), requires_grad=True)
        _chain(pynn, p, xt, order).backward(pynn.tensor(dy))
        results.append({**_grads(p), "x": xt.grad.numpy().copy()})
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for k in results[0]:
        np.testing.assert_allclose(results[0][k], results[1][k], rtol=tol, atol=tol, err_msg=k)


@pytest.mark.parametrize("order", ["relu_pool", "pool_relu", "relu"])
@pytest.mark.parametrize("name", ["x", "w", "b", "fw"])
def test_fused_chain_against_finite_differences(each_backend, order, name):
    rng = np.random.default_rng(3)
    values = {**_params(np.float64, rng), "x": rng.standard_normal((1, 2, 10, 10))}  # batch 1

    def run(v, grad_of=None, dy=None):
        p = _leaves(pynn, {**values, name: v}, requires_grad=grad_of is not None)
        x = p.pop("x")
        out = _chain(pynn, p, x, order)
        if grad_of is None:
            return out.detach().numpy()
        out.backward(pynn.tensor(dy))
        return (x if name == "x" else p[name]).grad.numpy()

    directional_check(run, lambda v, dy: run(v, True, dy), values[name], rng)


# ---------------------------------------------------------------------------------------------
# What must still see the intermediate results: each case runs in pynn (fused where it can
# be) and PyTorch, in float64, and returns what is compared.


def _case_hook(lib, p, x):
    seen = []
    c = lib.nn.functional.conv2d(x, p["w"], p["b"])
    c.register_hook(lambda g: seen.append(float(g.sum())) or g * 2)
    loss = _tail(lib, p, lib.nn.functional.max_pool2d(lib.nn.functional.relu(c), 2))
    loss.backward()
    return seen


def _case_retain_grad(lib, p, x):
    fn = lib.nn.functional
    c = fn.conv2d(x, p["w"], p["b"])
    r = fn.relu(c)
    c.retain_grad()
    r.retain_grad()
    _tail(lib, p, fn.max_pool2d(r, 2)).backward()
    return [c.grad, r.grad]


def _case_conv_output_used_again(lib, p, x):
    fn = lib.nn.functional
    c = fn.conv2d(x, p["w"], p["b"])
    loss = _tail(lib, p, fn.max_pool2d(fn.relu(c), 2)) + (c * c).mean()
    loss.backward()
    return []


def _case_relu_output_used_again(lib, p, x):
    fn = lib.nn.functional
    r = fn.relu(fn.conv2d(x, p["w"], p["b"]))
    (_tail(lib, p, fn.max_pool2d(r, 2)) + 0.5 * r.sum()).backward()
    return []


def _case_hook_on_pooled_output(lib, p, x):
    fn = lib.nn.functional
    h = fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2)
    h.register_hook(lambda g: g * 3)
    _tail(lib, p, h).backward()
    return []


def _case_retain_graph(lib, p, x):
    fn = lib.nn.functional
    loss = _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2))
    loss.backward(retain_graph=True)
    loss.backward()
    return []


def _case_autograd_grad(lib, p, x):
    fn = lib.nn.functional
    c = fn.conv2d(x, p["w"], p["b"])
    loss = _tail(lib, p, fn.max_pool2d(fn.relu(c), 2))
    return list(lib.autograd.grad(loss, [c, p["w"]]))


def _case_double_backward(lib, p, x):
    fn = lib.nn.functional
    loss = _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2))
    (gw,) = lib.autograd.grad(loss, [p["fw"]], create_graph=True)
    (gw * gw).sum().backward()
    return []


def _case_anomaly(lib, p, x):
    fn = lib.nn.functional
    with lib.autograd.detect_anomaly():
        _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2)).backward()
    return []


def _case_post_accumulate_hook(lib, p, x):
    fn = lib.nn.functional
    seen = []
    p["w"].register_post_accumulate_grad_hook(lambda t: seen.append(float(t.grad.sum())))
    _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2)).backward()
    return seen


def _case_frozen_conv(lib, p, x):
    fn = lib.nn.functional
    p["w"].requires_grad_(False)
    p["b"].requires_grad_(False)
    x.requires_grad_(True)
    _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2)).backward()
    return [x.grad]


def _case_no_grad(lib, p, x):
    fn = lib.nn.functional
    with lib.no_grad():
        out = _tail(lib, p, fn.max_pool2d(fn.relu(fn.conv2d(x, p["w"], p["b"])), 2))
    return [out, out.requires_grad]


def _case_module_hooks(lib, p, x):
    """A custom-forward model whose conv layer has a forward hook and a full backward hook."""
    nn_ = lib.nn
    conv = nn_.Conv2d(*p["w"].shape[1::-1], 3).double()
    with lib.no_grad():
        conv.weight.copy_(p["w"])
        conv.bias.copy_(p["b"])
    seen = []
    conv.register_forward_hook(lambda m, i, o: seen.append(float(o.detach().sum())))
    conv.register_full_backward_hook(lambda m, gi, go: seen.append(float(go[0].sum())))
    fn = lib.nn.functional
    _tail(lib, p, fn.max_pool2d(fn.relu(conv(x)), 2)).backward()
    return [*seen, conv.weight.grad, conv.bias.grad]


def _tail(lib, p, h):
    fn = lib.nn.functional
    return fn.relu(fn.linear(h.flatten(1), p["fw"], p["fb"])).square().sum()


SEMANTIC_CASES = [_case_hook, _case_retain_grad, _case_conv_output_used_again,
                  _case_relu_output_used_again, _case_hook_on_pooled_output, _case_retain_graph,
                  _case_autograd_grad, _case_double_backward, _case_anomaly,
                  _case_post_accumulate_hook, _case_frozen_conv, _case_no_grad,
                  _case_module_hooks]


def _as_array(v):
    if hasattr(v, "detach"):
        return v.detach().numpy()
    return np.asarray(v)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("case", SEMANTIC_CASES, ids=lambda f: f.__name__[6:])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "wide"])
def test_semantics_match_torch(each_backend, case, wide):
    """``wide``: the convolution's output is 8x its input, so F.conv2d computes it lazily."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    values = _params(np.float64, rng, cin=1, cout=8) if wide else _params(np.float64, rng)
    x = rng.standard_normal((3, values["w"].shape[1], 10, 10))
    results = {}
    for name, lib in (("pynn", pynn), ("torch", torch)):
        p = _leaves(lib, values)
        extra = case(lib, p, lib.tensor(x.copy()))
        grads = [None if t.grad is None else t.grad for t in p.values()]
        results[name] = [_as_array(v) if v is not None else None for v in extra + grads]
    for k, (ours, theirs) in enumerate(zip(results["pynn"], results["torch"])):
        if theirs is None:
            assert ours is None, k
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=str(k))


def test_inplace_write_to_an_intermediate_behaves_as_unfused(each_backend, unfused):
    """Written in place after the pool read it, the ReLU's output is no longer the chain's:
    the fused and unfused walks give the same gradients (or the same error)."""
    rng = np.random.default_rng(5)
    values = _params(np.float64, rng)
    x = rng.standard_normal((2, 2, 10, 10))
    outcomes = []
    for switch in (None, unfused):
        if switch is not None:
            switch()
        p = _leaves(pynn, values)
        fn = F
        c = fn.conv2d(pynn.tensor(x), p["w"], p["b"])
        r = fn.relu(c)
        h = fn.max_pool2d(r, 2)
        r.mul_(2)
        c.add_(1)
        try:
            (_tail(pynn, p, h) + r.sum() + c.sum()).backward()
            outcomes.append(_grads(p))
        except RuntimeError as e:
            outcomes.append(str(e))
    assert type(outcomes[0]) is type(outcomes[1])
    if isinstance(outcomes[0], str):
        assert outcomes[0] == outcomes[1]
    else:
        for k in outcomes[0]:
            np.testing.assert_allclose(outcomes[0][k], outcomes[1][k], rtol=1e-12, err_msg=k)


def test_linear_relu_on_3d_input_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4))
    w, b = rng.standard_normal((5, 4)), rng.standard_normal(5)
    dy = rng.standard_normal((2, 3, 5))
    res = []
    for lib in (pynn, torch):
        xt, wt, bt = (lib.tensor(a.copy(), requires_grad=True) for a in (x, w, b))
        lib.nn.functional.relu(lib.nn.functional.linear(xt, wt, bt)).backward(lib.tensor(dy))
        res.append([t.grad.detach().numpy() for t in (xt, wt, bt)])
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_autograd_grad_fuses_unless_an_intermediate_is_asked_for(each_backend, calls, unfused):
    rng = np.random.default_rng(7)
    values = _params(np.float64, rng)
    x = pynn.tensor(rng.standard_normal((2, 2, 10, 10)))

    def grads(wanted):
        p = _leaves(pynn, values)
        c = F.conv2d(x, p["w"], p["b"])
        loss = _tail(pynn, p, F.max_pool2d(F.relu(c), 2))
        named = {**p, "c": c}
        return [g.numpy() for g in pynn.autograd.grad(loss, [named[k] for k in wanted])]

    fused = grads(["w", "fw"])
    assert calls["conv2d_maxpool_backward"] == 1 and calls["max_pool2d_backward"] == 0
    with_c = grads(["c", "w"])
    assert calls["conv2d_maxpool_backward"] == 1 and calls["max_pool2d_backward"] == 1
    p = _leaves(pynn, values)
    loss = _tail(pynn, p, F.max_pool2d(F.relu(F.conv2d(x, p["w"], p["b"])), 2))
    loss.backward(inputs=[p["w"]])
    assert calls["conv2d_maxpool_backward"] == 2
    assert p["fw"].grad is None
    unfused()
    expected = grads(["w", "fw"])
    for ours, theirs in zip(fused + with_c[1:] + [p["w"].grad.numpy()],
                            expected + expected[:1] + expected[:1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# The MNIST CNN written both ways


def _cnn_custom(lib):
    nn_, fn = lib.nn, lib.nn.functional

    class CNN(nn_.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_.Conv2d(1, 8, 5)
            self.fc1 = nn_.Linear(8 * 6 * 6, 16)
            self.fc2 = nn_.Linear(16, 10)

        def forward(self, x):
            x = fn.max_pool2d(fn.relu(self.conv1(x)), 2)
            x = fn.relu(self.fc1(x.flatten(1)))
            return self.fc2(x)

    return CNN()


def _cnn_sequential(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Conv2d(1, 8, 5), nn_.ReLU(), nn_.MaxPool2d(2), nn_.Flatten(),
                          nn_.Linear(8 * 6 * 6, 16), nn_.ReLU(), nn_.Linear(16, 10))


def _train_step(lib, model, state, x, y):
    """The loss and the gradients (by parameter name) of one step from ``state``."""
    model.load_state_dict({k: lib.tensor(v.copy()) for k, v in state.items()})
    loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
    loss.backward()
    return loss.detach().numpy(), {k: p.grad.numpy() for k, p in model.named_parameters()}


# Sequential's parameter names -> the custom model's
_NAMES = {"0.weight": "conv1.weight", "0.bias": "conv1.bias", "4.weight": "fc1.weight",
          "4.bias": "fc1.bias", "6.weight": "fc2.weight", "6.bias": "fc2.bias"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_custom_forward_cnn_matches_sequential_and_torch(each_backend, calls, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 1, 16, 16)).astype(dtype)  # odd batch
    y = rng.integers(0, 10, 5)
    seq = _cnn_sequential(pynn).to(dtype)
    state = {_NAMES[k]: v.numpy().copy() for k, v in seq.state_dict().items()}
    loss, grads = _train_step(pynn, _cnn_custom(pynn).to(dtype), state, x, y)
    assert calls["conv2d_maxpool_backward"] == 1 and calls["conv2d_backward"] == 0
    seq_loss, seq_grads = _train_step(pynn, seq, {k: state[v] for k, v in _NAMES.items()}, x, y)
    torch_dtype = getattr(torch, np.dtype(dtype).name)
    torch_loss, torch_grads = _train_step(torch, _cnn_custom(torch).to(torch_dtype), state, x, y)
    assert calls["conv2d_maxpool_backward"] == 2
    tol = 2e-5 if dtype == np.float32 else 1e-11
    seq_grads = {_NAMES[k]: g for k, g in seq_grads.items()}
    for expected_loss, expected in ((seq_loss, seq_grads), (torch_loss, torch_grads)):
        np.testing.assert_allclose(loss, expected_loss, rtol=tol)
        assert grads.keys() == expected.keys()
        for k in grads:
            np.testing.assert_allclose(grads[k], expected[k], rtol=tol, atol=tol, err_msg=k)
    # the same kernels both ways (the pooled convolution, the GEMMs): the same bits
    assert loss == seq_loss
    for k in grads:
        np.testing.assert_array_equal(grads[k], seq_grads[k], err_msg=k)


# ---------------------------------------------------------------------------------------------
# The forward: F.relu of a temporary waits for its values to be read, and F.max_pool2d of
# such a ReLU (itself a temporary) pools first and applies the ReLU to the pooled values.


def test_relu_of_a_temporary_is_computed_when_read():
    x = pynn.tensor(np.random.default_rng(9).standard_normal((2, 3, 4, 4)))
    r = F.relu(x * 1)
    assert type(r) is PendingRelu
    np.testing.assert_array_equal(r.numpy(), np.maximum(x.numpy(), 0))
    assert type(r) is pynn.Tensor
    held = x * 1
    assert type(F.relu(held)) is pynn.Tensor  # the input has another reference
    assert type(F.relu(x)) is pynn.Tensor
    assert type(F.relu(x[0] * 1)) is pynn.Tensor  # 3-D: not deferred
    assert type(F.relu(x * 1, inplace=True)) is pynn.Tensor
    # a temporary Tensor over an array someone else can write: computed at once
    buf = x.numpy().copy()
    for r in (F.relu(pynn.from_numpy(buf)), F.relu(x.detach()), F.relu(x.view(2, 3, 4, 4))):
        assert type(r) is pynn.Tensor
        buf[...] = -1
        np.testing.assert_array_equal(r.numpy(), np.maximum(x.numpy(), 0))


def test_pool_of_a_pending_relu_applies_the_relu_to_the_pooled_values(calls, monkeypatch):
    seen = []
    real = K.relu_forward
    monkeypatch.setattr(K, "relu_forward", lambda a: seen.append(a.shape) or real(a))
    x = pynn.tensor(np.random.default_rng(10).standard_normal((2, 3, 8, 8)))
    p = F.max_pool2d(F.relu(x * 1), 2)
    assert seen == [(2, 3, 4, 4)]
    np.testing.assert_array_equal(p.numpy(), np.maximum(
        x.numpy().reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5)), 0))
    r = F.relu(x * 1)
    F.max_pool2d(r, 2)  # r is held: its values are computed first, then pooled
    assert seen[1:] == [(2, 3, 8, 8)]


@pytest.mark.parametrize("use", ["read", "add_into", "inplace", "twice", "no_grad",
                                 "double_backward", "dead_windows", "hook_on_pool"])
@pytest.mark.parametrize("wide", [False, True], ids=["narrow", "wide"])
def test_deferred_relu_and_pool_match_torch(each_backend, use, wide):
    """``wide``: the convolution's output is 8x its input, so F.conv2d computes it lazily and
    the chain runs as the pooled convolution kernel; else the ReLU alone is deferred."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 1, 10, 10) if wide else (2, 3, 6, 6))
    w = rng.standard_normal((8, 1, 3, 3) if wide else (4, 3, 3, 3)) * 0.5
    if use == "dead_windows":  # windows with no positive value: the ReLU ties at 0 there
        w[0] = -np.abs(w[0])
        x = np.abs(x)
    oshape = (2, w.shape[0], x.shape[2] - 2, x.shape[3] - 2)
    results = []
    for lib in (pynn, torch):
        fn = lib.nn.functional
        xt, wt = lib.tensor(x.copy(), requires_grad=True), lib.tensor(w.copy(), requires_grad=True)
        out = []
        if use == "read":
            r = fn.relu(fn.conv2d(xt, wt))
            out += [r.detach().numpy(), (r * 2).sum().detach().numpy()]
            loss = (r * r).sum()
        elif use == "add_into":
            y = lib.zeros(*oshape, dtype=xt.dtype)
            y.add_(fn.relu(fn.conv2d(xt, wt)))
            loss = fn.max_pool2d(y, 2).sum()
        elif use == "inplace":  # the pooled output, which the fused backward's mask is
            p = fn.max_pool2d(fn.relu(fn.conv2d(xt, wt)), 2)
            p.mul_(-3)
            loss = (p * p).sum()
        elif use == "twice":
            r = fn.relu(fn.conv2d(xt, wt))
            loss = fn.max_pool2d(r, 2).sum() + fn.max_pool2d(r, 2, 1).sum()
        elif use == "no_grad":
            with lib.no_grad():
                p = fn.max_pool2d(fn.relu(fn.conv2d(xt, wt)), 2)
            out += [p.numpy(), p.requires_grad]
            loss = (xt * 0).sum() + (wt * 0).sum()
        elif use == "double_backward":
            loss0 = fn.max_pool2d(fn.relu(fn.conv2d(xt, wt)), 2).square().sum()
            (gw,) = lib.autograd.grad(loss0, [wt], create_graph=True)
            loss = (gw * gw).sum()
        elif use == "hook_on_pool":
            p = fn.max_pool2d(fn.relu(fn.conv2d(xt, wt)), 2)
            p.register_hook(lambda g: g * 2)
            loss = p.square().sum()
        else:
            p = fn.max_pool2d(fn.relu(fn.conv2d(xt, wt)), 2)
            out.append(p.detach().numpy())
            loss = (p * p).sum() + p.sum()
        loss.backward()
        results.append(out + [loss.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_pending_relu_reads_like_a_tensor():
    x = pynn.tensor(np.random.default_rng(12).standard_normal((2, 3, 4, 4)))
    expected = np.maximum(x.numpy(), 0)
    for get in (lambda r: r.numpy(), lambda r: (r + 0).numpy(),
                lambda r: np.stack([r[0].numpy(), r[1].numpy()]),
                lambda r: copy.deepcopy(r).numpy(), lambda r: pickle.loads(pickle.dumps(r)).numpy(),
                lambda r: np.asarray(r), lambda r: r.clone().numpy(),
                lambda r: pynn.cat([r, r])[:2].numpy()):
        np.testing.assert_array_equal(get(F.relu(x * 1)), expected)
    r = F.relu(x * 1)
    r.zero_()
    assert not r.numpy().any() and type(r) is pynn.Tensor


def test_a_wide_convolution_waits_until_read_with_the_values_of_its_call(monkeypatch):
    from pynn.ops.conv import PendingConv

    rng = np.random.default_rng(13)
    x = pynn.tensor(rng.standard_normal((2, 1, 10, 10)))
    w = pynn.tensor(rng.standard_normal((8, 1, 3, 3)), requires_grad=True)
    b = pynn.tensor(rng.standard_normal(8), requires_grad=True)
    with pynn.no_grad():
        expected = F.conv2d(x, w, b).numpy()  # not pending: read at once
    c = F.conv2d(x, w, b)
    assert type(c) is PendingConv
    assert type(F.conv2d(x[:, :, :4, :4], w)) is pynn.Tensor  # output not wider: computed now
    # written after the call, by every route (an optimiser step, in place, through NumPy)
    with pynn.no_grad():
        w.mul_(2)
    b.data.add_(1)
    x.numpy()[...] = 0
    np.testing.assert_array_equal(c.detach().numpy(), expected)
    assert type(c) is pynn.Tensor
    with pytest.raises(ValueError, match="conv2d"):  # bad arguments fail at the call
        F.conv2d(x, w, b, stride=0)


def test_pool_of_a_pending_convolution_runs_the_pooled_kernel(calls, monkeypatch):
    seen = []
    for name in ("conv2d_forward", "conv2d_maxpool_forward", "relu_forward",
                 "max_pool2d_forward"):
        real = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a, _f=real, _n=name, **k: seen.append(_n)
                            or _f(*a, **k))
    rng = np.random.default_rng(14)
    x = pynn.tensor(rng.standard_normal((2, 1, 10, 10)).astype(np.float32))
    w = pynn.tensor(rng.standard_normal((8, 1, 3, 3)).astype(np.float32), requires_grad=True)
    F.max_pool2d(F.relu(F.conv2d(x, w)), 2).sum().backward()
    assert seen == ["conv2d_maxpool_forward"]
    assert calls["conv2d_maxpool_backward"] == 1 and calls["relu_backward"] == 0
    seen.clear()
    F.relu(F.max_pool2d(F.conv2d(x, w), 2)).sum().backward()
    assert seen == ["conv2d_maxpool_forward", "relu_forward"]
    seen.clear()
    c = F.conv2d(x, w)
    F.max_pool2d(F.relu(c), 2)  # the convolution's output is held: computed, then each op
    assert seen == ["conv2d_forward", "relu_forward", "max_pool2d_forward"]


def test_a_pending_tensor_read_by_a_thread_that_lost_the_race_gets_the_values():
    """Two threads may both find a tensor pending when they look ``_data`` up; the one that
    computes second (here: after the other has made it a plain Tensor) returns the kept
    values, instead of computing from the array as if it were the pending call."""
    from pynn.ops.conv import PendingConv

    rng = np.random.default_rng(21)
    x = pynn.tensor(rng.standard_normal((1, 1, 6, 6)))
    w = pynn.tensor(rng.standard_normal((8, 1, 3, 3)))
    for make, cls in ((lambda: F.conv2d(x, w, padding=1), PendingConv),
                      (lambda: F.relu(x * 1), PendingRelu)):
        t = make()
        assert type(t) is cls
        late_reader = cls._data.fget  # what a thread holds after looking the property up
        values = t.numpy()  # the other thread wins
        assert type(t) is pynn.Tensor
        assert late_reader(t) is t._data
        np.testing.assert_array_equal(late_reader(t), values)


def test_an_empty_convolution_fails_at_the_call_not_when_read():
    with pytest.raises(ValueError):
        F.conv2d(pynn.zeros(0, 1, 8, 8), pynn.zeros(0, 1, 3, 3), padding=1)
