"""The backward walk: ``autograd.grad``, ``backward(inputs=...)``, hooks, retain_grad,
retain_graph, the version counter, multi-output ArrayFunctions and ``create_graph``. Each
check against PyTorch runs the same code with both libraries (``same_in_both``)."""

import numpy as np
import pytest

import pynn
from pynn import autograd
from pynn.autograd import ArrayFunction


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc).__name__
    return None


def _leaf(lib, values):
    return lib.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _graph(lib):
    """x, w leaves; h = x * w; out = sum(h * h + 3 * x)."""
    x = _leaf(lib, [1.0, -2.0, 0.5])
    w = _leaf(lib, [2.0, 1.5, -1.0])
    h = x * w
    out = (h * h + 3 * x).sum()
    return x, w, h, out


# ---------------------------------------------------------------------------------------------
# autograd.grad and backward(inputs=...)


def test_grad_of_leaves_and_intermediates(same_in_both):
    def check(lib):
        x, w, h, out = _graph(lib)
        gx, gh = lib.autograd.grad(out, [x, h], retain_graph=True)
        (gw,) = lib.autograd.grad(out, w)
        return {"gx": gx, "gh": gh, "gw": gw, "untouched": [x.grad, w.grad],
                "gx.rg": gx.requires_grad, "again": _error(lambda: lib.autograd.grad(out, x))}

    assert same_in_both(check)["again"] == "RuntimeError"


def test_grad_with_grad_outputs_and_several_outputs(same_in_both):
    def check(lib):
        x, w, h, out = _graph(lib)
        v = lib.tensor(np.array([1.0, 0.5, -2.0]))
        (g1,) = lib.autograd.grad(h, x, grad_outputs=v, retain_graph=True)
        g2 = lib.autograd.grad([h.sum(), out], [w, x], retain_graph=True)
        g3 = lib.autograd.grad([h, out], [x], grad_outputs=[v, None])
        return {"g1": g1, "g2": list(g2), "g3": list(g3)}

    same_in_both(check)


def test_grad_unused_inputs(same_in_both):
    def check(lib):
        x, _, h, out = _graph(lib)
        unused = _leaf(lib, [1.0])
        plain = lib.tensor(np.array([1.0]))
        return {
            "unused": _error(lambda: lib.autograd.grad(out, [x, unused], retain_graph=True)),
            "allowed": list(lib.autograd.grad(out, [x, unused], allow_unused=True,
                                              retain_graph=True)),
            "materialized": list(lib.autograd.grad(out, [unused], materialize_grads=True,
                                                   retain_graph=True)),
            "no grad": _error(lambda: lib.autograd.grad(out, [plain], retain_graph=True)),
            "non scalar": _error(lambda: lib.autograd.grad(h, x, retain_graph=True)),
            "bad shape": _error(lambda: lib.autograd.grad(h, x, grad_outputs=lib.tensor(
                np.ones(2)), retain_graph=True)),
        }

    same_in_both(check)


def test_backward_with_inputs_fills_only_those(same_in_both):
    def check(lib):
        x, w, h, out = _graph(lib)
        out.backward(inputs=[w], retain_graph=True)
        first = {"x": x.grad, "w": w.grad}
        out.backward(inputs=[x, h])
        return {"first": first, "x": x.grad, "w": w.grad, "h": h.grad}

    same_in_both(check)


def test_autograd_backward_function(same_in_both):
    def check(lib):
        x, w, h, out = _graph(lib)
        lib.autograd.backward([out, h], [None, lib.tensor(np.array([1.0, 2.0, 3.0]))])
        return {"x": x.grad, "w": w.grad}

    same_in_both(check)


# ---------------------------------------------------------------------------------------------
# Hooks and retain_grad


def test_hooks_on_leaves_and_intermediates(same_in_both):
    def check(lib):
        x, w, h, out = _graph(lib)
        seen = []
        hx = x.register_hook(lambda g: g * 10)
        h.register_hook(lambda g: seen.append(g.clone()))
        h.register_hook(lambda g: g + 1)
        h.retain_grad()
        out.backward()
        first = {"x": x.grad, "w": w.grad, "h": h.grad, "seen": seen[0],
                 "retains": h.retains_grad}
        hx.remove()
        hx.remove()
        x.grad = None
        (x * 2).sum().backward()
        return {"first": first, "after remove": x.grad}

    same_in_both(check)


def test_hook_errors_and_leaf_retain_grad(same_in_both):
    def check(lib):
        plain = lib.tensor(np.array([1.0]))
        x = _leaf(lib, [1.0, 2.0])
        x.retain_grad()  # no-op on a leaf
        (x * x).sum().backward()
        return {"plain": _error(lambda: plain.register_hook(lambda g: g)),
                "retain plain": _error(plain.retain_grad), "x": x.grad,
                "leaf retains": x.retains_grad}

    same_in_both(check)


def test_hook_on_root_and_repeated_backward(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        y = (x * x).sum()
        y.register_hook(lambda g: g * 3)
        y.backward(retain_graph=True)
        y.backward()
        return {"x": x.grad}

    same_in_both(check)


# ---------------------------------------------------------------------------------------------
# retain_graph, detach_, requires_grad_


def test_retain_graph_errors(same_in_both):
    def check(lib):
        x, _, _, out = _graph(lib)
        out.backward()
        second = _error(out.backward)
        y = (x * 2).sum()
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)
        y.backward()
        return {"second": second, "x": x.grad, "third": _error(y.backward)}

    assert same_in_both(check)["second"] == "RuntimeError"


def test_detach_and_requires_grad(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        h = x * 3
        d = h.detach()
        h2 = x * 3
        h2.detach_()
        v = lib.tensor(np.array([1.0, 2.0])).requires_grad_()
        (v * v).sum().backward()
        return {"d": [d.requires_grad, d.grad_fn is None, d.is_leaf],
                "h2": [h2.requires_grad, h2.grad_fn is None, h2.is_leaf],
                "v": v.grad, "nonleaf off": _error(lambda: (x * 2).requires_grad_(False)),
                "int": _error(lambda: lib.tensor(np.array([1, 2])).requires_grad_())}

    same_in_both(check)


def test_variable_is_a_tensor():
    v = autograd.Variable(np.array([1.0, 2.0]), requires_grad=True)
    assert isinstance(v, pynn.Tensor) and v.requires_grad
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad, [2.0, 4.0])


# ---------------------------------------------------------------------------------------------
# The version counter


def test_inplace_write_of_a_saved_tensor_raises(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        w = lib.tensor(np.array([3.0, 4.0]))
        y = (x * w).sum()  # saves w
        with lib.no_grad():
            w.add_(1)
        err = None
        try:
            y.backward()
        except RuntimeError as exc:
            err = "is at version 1; expected version 0 instead" in str(exc)
        return {"err": err}

    assert same_in_both(check)["err"] is True


def test_inplace_write_in_the_graph_keeps_what_backward_needs():
    # PyTorch raises here (the product saved h, then h was written); pynn's write in the
    # graph gives h a new storage, so the product's saved values are intact and the gradient
    # is the one of the values computed
    x = _leaf(pynn, [1.0, 2.0])
    h = x * 2
    z = (h * h).sum()
    h.mul_(3)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0]))


def test_inplace_write_of_an_unsaved_tensor_is_fine(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        h = x * 2
        y = (h + 1).sum()  # the sum does not keep h
        h.add_(5)
        y.backward()
        p = _leaf(lib, [1.0, 2.0])
        loss = (p * lib.tensor(np.array([2.0, 2.0]))).sum()
        loss.backward()
        with lib.no_grad():
            p.sub_(p.grad)  # an optimiser step after backward: the graph is done
        (p * p).sum().backward()
        return {"x": x.grad, "p": p.grad}

    same_in_both(check)


# ---------------------------------------------------------------------------------------------
# Multi-output ArrayFunction (pynn's internal contract)


class _SplitHalves(ArrayFunction):
    """Two halves of a vector and the argmax of the first (an integer output)."""

    received = []  # noqa: RUF012 - a log the tests read

    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        ctx.n = n
        ctx.save_for_backward(x)
        return x[:n] * 2, x[n:] ** 2, np.argmax(x[:n])

    @staticmethod
    def backward(ctx, g_first, g_second, g_index):
        _SplitHalves.received.append((g_first is None, g_second is None, g_index is None))
        (x,) = ctx.saved_tensors
        dx = np.zeros_like(x)
        if g_first is not None:
            dx[:ctx.n] = 2 * g_first
        if g_second is not None:
            dx[ctx.n:] = 2 * x[ctx.n:] * g_second
        return dx


def test_multi_output_array_function():
    _SplitHalves.received.clear()
    x = pynn.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    a, b, i = _SplitHalves.apply(x)
    assert a.grad_fn is b.grad_fn and a.requires_grad and b.requires_grad
    assert not i.requires_grad and i.grad_fn is None and int(i) == 1
    (a.sum() * 3 + b.sum()).backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [6.0, 6.0, 6.0, 8.0])
    x.grad = None
    b.sum().backward()  # the first output gets no gradient: backward sees None
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 6.0, 8.0])
    assert _SplitHalves.received == [(False, False, True), (True, False, True)]
    with pynn.no_grad():
        outs = _SplitHalves.apply(x)
    assert isinstance(outs, tuple) and not any(o.requires_grad for o in outs)


def test_multi_output_hooks_and_grad(gradcheck):
    x = pynn.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    a, b, _ = _SplitHalves.apply(x)
    b.register_hook(lambda g: g * 0)
    a.retain_grad()
    (ga,) = autograd.grad((a * a).sum() + b.sum(), [x], retain_graph=True)
    np.testing.assert_array_equal(ga, [8.0, 16.0, 0.0, 0.0])
    # .grad of leaves is left alone; a retained gradient is filled, as in PyTorch
    assert x.grad is None
    np.testing.assert_array_equal(a.grad, [4.0, 8.0])
    gradcheck(lambda t: _SplitHalves.apply(t)[0] * _SplitHalves.apply(t)[1],
              np.array([0.5, -1.0, 2.0, 1.5]))


# ---------------------------------------------------------------------------------------------
# create_graph, anomaly detection


def _cube(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * Square.apply(x)

    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    return Cube


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_through_functions(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, -2.0, 0.5])
        ones = lib.tensor(np.ones(3))
        y = _cube(lib).apply(x)  # the first-order graph holds Function nodes only
        (g,) = lib.autograd.grad(y, x, grad_outputs=ones, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)  # through the ops Cube.backward used
        x2 = _leaf(lib, [2.0])
        _cube(lib).apply(x2).backward(create_graph=True)
        first = x2.grad.clone()
        x2.grad.sum().backward()
        return {"g": g, "g.rg": g.requires_grad, "gg": gg, "first": first,
                "x2": x2.grad}

    same_in_both(check)


def test_create_graph_through_op_without_recorded_backward_raises():
    # most built-in ops have a recorded backward (tests/autograd/test_double_backward.py)
    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        autograd.grad(x.fmod(1.5).sum(), x, create_graph=True)


def test_detect_anomaly_finds_nan():
    class NanGrad(ArrayFunction):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            return g * np.nan

    x = pynn.tensor(np.array([1.0]), requires_grad=True)
    NanGrad.apply(x).sum().backward()  # off: no check
    assert np.isnan(x.grad.numpy()).all()
    with autograd.detect_anomaly():
        assert autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
            NanGrad.apply(x).sum().backward()
    assert not autograd.is_anomaly_enabled()
    autograd.set_detect_anomaly(True)
    assert autograd.is_anomaly_enabled()
    autograd.set_detect_anomaly(False)
    assert not autograd.is_anomaly_enabled()


def test_inference_mode():
    x = pynn.tensor(np.array([1.0]), requires_grad=True)
    with autograd.inference_mode():
        assert not (x * 2).requires_grad
    with autograd.inference_mode(False):
        assert (x * 2).requires_grad

    @autograd.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and (x * 2).requires_grad


def test_none_gradient_does_not_stall_the_walk():
    class Blocks(ArrayFunction):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            return None

    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2
    (Blocks.apply(h).sum() + h.sum()).backward()  # h still gets its other gradient
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_inplace_write_of_one_output_of_several():
    x = pynn.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    a, b, _ = _SplitHalves.apply(x)
    b.mul_(5)  # b's old value becomes the input of the multiplication: still output 1
    (a + b).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 30.0, 40.0])


def test_backward_from_one_output_of_several():
    x = pynn.tensor(np.array([3.0, 1.0]), requires_grad=True)
    a, b, _ = _SplitHalves.apply(x)  # two one-element outputs
    b.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0])
    assert x.grad is not None and a.grad_fn is b.grad_fn


def test_leaf_hook_runs_once_on_the_total(same_in_both):
    def check(lib):
        w = _leaf(lib, [1.0, -2.0])
        calls = []

        def clip(g):
            calls.append(g.clone())
            return g.clamp(-3, 3)

        w.register_hook(clip)
        a = lib.tensor(np.array([2.0, 2.0]))
        (w * a + w * a * 2).sum().backward()  # two uses: hooks see 2 + 4, clipped to 3
        first = w.grad.clone()
        (gw,) = lib.autograd.grad((w * a).sum() + (w * a).sum(), w)
        return {"first": first, "calls": calls, "grad": gw}

    same_in_both(check)


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_of_an_input_given_twice(create_graph):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (pynn, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([3.0], dtype=lib.float64, requires_grad=True)
        gs = lib.autograd.grad((x * x).sum() + (y * x).sum(), [x, y, x],
                               create_graph=create_graph)
        results.append([g.detach().numpy().copy() for g in gs])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)
