"""``pynn.autograd.Function``, PyTorch's contract: each check runs the same code with torch
and with pynn (the ``same_in_both`` fixture), and the gradients are checked by finite
differences too."""

import numpy as np
import pytest

import pynn
from pynn.autograd import Function


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc).__name__
    return None


def _leaf(lib, values):
    return lib.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------------------------------------
# The Functions, written once against the library module


def _functions(lib):
    """The custom Functions of the checks, subclassing ``lib.autograd.Function``."""

    class MyRelu(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            grad = grad_output.clone()
            grad[x < 0] = 0
            return grad

    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)  # an output, saved
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    class ScaledMul(lib.autograd.Function):
        """x * y * constant, the constant a non-tensor argument kept on ctx."""

        @staticmethod
        def forward(ctx, x, y, constant):
            ctx.constant = constant
            ctx.save_for_backward(x, y)
            ctx.seen_needs = tuple(ctx.needs_input_grad)
            return x * y * constant

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            gx = grad_output * y * ctx.constant if ctx.needs_input_grad[0] else None
            gy = grad_output * x * ctx.constant if ctx.needs_input_grad[1] else None
            return gx, gy, None

    class SquareAndCube(lib.autograd.Function):
        """Two outputs; records the gradients backward receives."""

        received = []  # noqa: RUF012 - a log the check reads

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x, x * x * x

        @staticmethod
        def backward(ctx, g_square, g_cube):
            (x,) = ctx.saved_tensors
            SquareAndCube.received.append((g_square, g_cube))
            return g_square * 2 * x + g_cube * 3 * x * x

    class MaxWithIndex(lib.autograd.Function):
        """The maximum and its (non-differentiable) index."""

        received = []  # noqa: RUF012 - a log the check reads

        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return x.max(), idx

        @staticmethod
        def backward(ctx, g_value, g_index):
            x, idx = ctx.saved_tensors
            MaxWithIndex.received.append(g_index)
            grad = lib.zeros_like(x) if hasattr(lib, "zeros_like") else x * 0
            grad[idx] = g_value
            return grad, None

    class SetupStyle(lib.autograd.Function):
        """The forward without ctx, and setup_context."""

        @staticmethod
        def forward(x, power):
            return x ** power

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, power = inputs
            ctx.power = power
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * ctx.power * x ** (ctx.power - 1), None

    return {f.__name__: f for f in (MyRelu, MyExp, Legendre3, ScaledMul, SquareAndCube,
                                    MaxWithIndex, SetupStyle)}


# ---------------------------------------------------------------------------------------------
# Checks against PyTorch


@pytest.mark.parametrize("name,values", [
    ("MyRelu", [-1.5, 0.5, 2.0, -0.25]),
    ("MyExp", [-1.0, 0.0, 0.5, 2.0]),
    ("Legendre3", [-0.9, -0.1, 0.3, 0.8]),
])
def test_one_input_functions_match_torch(same_in_both, name, values):
    def check(lib):
        fn = _functions(lib)[name]
        x = _leaf(lib, values)
        y = fn.apply(x)
        (y * lib.tensor(np.array([1.0, -2.0, 3.0, 0.5]))).sum().backward()
        return {"y": y, "grad": x.grad, "requires_grad": y.requires_grad,
                "grad_fn": type(y.grad_fn).__name__, "is_leaf": y.is_leaf}

    out = same_in_both(check)
    assert out["grad_fn"] == name + "Backward"


@pytest.mark.parametrize("name", ["Legendre3", "MyExp"])
def test_function_gradcheck(gradcheck, name):
    fn = _functions(pynn)[name]
    gradcheck(fn.apply, np.random.default_rng(1).uniform(-1, 1, (3, 4)))


def test_ctx_attributes_and_needs_input_grad(same_in_both):
    def check(lib):
        fn = _functions(lib)["ScaledMul"]
        x = _leaf(lib, [1.0, 2.0])
        y = lib.tensor(np.array([3.0, -4.0]))
        z = fn.apply(x, y, 2.5)
        z.sum().backward()
        both = fn.apply(x, _leaf(lib, [1.0, 1.0]), 2.0)
        return {"z": z, "x.grad": x.grad, "y.grad": y.grad,
                "needs": list(z.grad_fn.seen_needs), "needs_both": list(both.grad_fn.seen_needs),
                "constant": z.grad_fn.constant}

    same_in_both(check)


def test_two_outputs_get_one_gradient_each(same_in_both):
    def check(lib):
        fn = _functions(lib)["SquareAndCube"]
        fn.received.clear()
        x = _leaf(lib, [1.0, -2.0, 0.5])
        sq, cube = fn.apply(x)
        (sq * 2 + cube).sum().backward()
        only_cube = fn.apply(x)[1]  # the square gets no gradient: zeros are passed
        only_cube.sum().backward()
        shared = sq.grad_fn is cube.grad_fn
        return {"sq": sq, "cube": cube, "grad": x.grad, "shared": shared,
                "received": [list(r) for r in fn.received]}

    same_in_both(check)


@pytest.mark.parametrize("materialize", [True, False])
def test_non_differentiable_output(same_in_both, materialize):
    def check(lib):
        fn = _functions(lib)["MaxWithIndex"]
        fn.received.clear()
        x = _leaf(lib, [1.0, 5.0, -2.0])
        value, idx = fn.apply(x, materialize)
        (value * 3).backward()
        return {"value": value, "idx": idx, "idx.requires_grad": idx.requires_grad,
                "idx.grad_fn": idx.grad_fn is None, "grad": x.grad,
                "received": fn.received[0]}

    same_in_both(check)


def test_setup_context_style(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        y = _functions(lib)["SetupStyle"].apply(x, 3)
        y.sum().backward()
        return {"y": y, "grad": x.grad}

    same_in_both(check)


def test_no_graph_when_nothing_requires_grad(same_in_both):
    def check(lib):
        fns = _functions(lib)
        x = lib.tensor(np.array([1.0, -1.0]))
        y = fns["MyRelu"].apply(x)
        with lib.no_grad():
            z = fns["MyExp"].apply(_leaf(lib, [0.0, 1.0]))
        return {"y": y, "y.rg": y.requires_grad, "y.fn": y.grad_fn is None,
                "z.rg": z.requires_grad, "z.fn": z.grad_fn is None}

    same_in_both(check)


def test_forward_runs_without_recording(same_in_both):
    def check(lib):
        seen = []

        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                inner = x * 2
                seen.append((inner.requires_grad, lib.is_grad_enabled()))
                return inner

            @staticmethod
            def backward(ctx, g):
                seen.append(lib.is_grad_enabled())
                return g * 2

        x = _leaf(lib, [1.0])
        Probe.apply(x).sum().backward()
        return {"seen": [list(seen[0]), seen[1]], "grad": x.grad}

    same_in_both(check)


def test_input_returned_as_is_becomes_a_new_output(same_in_both):
    def check(lib):
        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 3

        x = _leaf(lib, [1.0, 2.0])
        y = Identity.apply(x)
        y.sum().backward()
        return {"distinct": y is not x, "x.leaf": x.is_leaf, "y.leaf": y.is_leaf,
                "grad": x.grad}

    same_in_both(check)


def test_gradient_errors(same_in_both):
    def check(lib):
        def make(result):
            class Bad(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x, y):
                    return x * y

                @staticmethod
                def backward(ctx, g):
                    return result(g)

            return Bad

        x, y = _leaf(lib, [1.0, 2.0]), _leaf(lib, [3.0, 4.0])
        return {
            "too few": _error(lambda: make(lambda g: g).apply(x, y).sum().backward()),
            "extra None": _error(lambda: make(lambda g: (g, g, None)).apply(x, y).sum()
                                 .backward()),
            "extra tensor": _error(lambda: make(lambda g: (g, g, g)).apply(x, y).sum()
                                   .backward()),
            "bad shape": _error(lambda: make(lambda g: (g[:1] * lib.tensor(
                np.ones((3, 1))), g)).apply(x, y).sum().backward()),
            "broadcast": _error(lambda: make(lambda g: (g.sum() * lib.tensor(
                np.ones((3, 2))), g)).apply(x, y).sum().backward()),
            "x.grad": x.grad,
        }

    ours = same_in_both(check)
    assert ours["too few"] == "RuntimeError" and ours["extra None"] is None


def test_saved_tensors_freed_and_second_backward(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        y = _functions(lib)["Legendre3"].apply(x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return {"grad": x.grad, "third": _error(y.backward)}

    assert same_in_both(check)["third"] == "RuntimeError"


def test_version_counter_on_saved_tensors(same_in_both):
    def check(lib):
        x = _leaf(lib, [1.0, 2.0])
        h = x * 1.0
        y = _functions(lib)["Legendre3"].apply(h).sum()
        with lib.no_grad():
            h.mul_(2)  # h was saved: backward must refuse
        msg = None
        try:
            y.backward()
        except RuntimeError as exc:
            msg = "is at version 1; expected version 0 instead" in str(exc)
        # not saved: an in-place write after the call is fine
        z = _leaf(lib, [1.0, 2.0]) * 1.0
        w = _functions(lib)["SquareAndCube"].apply(z)[0].sum() + z.sum()
        return {"message": msg, "unsaved": _error(w.backward)}

    assert same_in_both(check)["message"] is True


def test_mark_dirty_makes_the_input_an_output(same_in_both):
    def check(lib):
        class DoubleInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        a = _leaf(lib, [1.0, 3.0])
        h = a * 1.0
        out = DoubleInPlace.apply(h)
        (out * out).sum().backward()
        return {"same": out is h, "out": out, "grad": a.grad,
                "leaf": _error(lambda: DoubleInPlace.apply(_leaf(lib, [1.0])))}

    same_in_both(check)


def test_function_repr_and_next_functions(same_in_both):
    def check(lib):
        fns = _functions(lib)
        x = _leaf(lib, [1.0, 2.0])
        y = fns["MyExp"].apply(fns["MyRelu"].apply(x))
        z = fns["ScaledMul"].apply(y, lib.tensor(np.ones(2)), 1.0)
        names = [None if n is None else type(n).__name__ for n, _ in z.grad_fn.next_functions]
        leaf_node = y.grad_fn.next_functions[0][0].next_functions[0][0]
        return {"names": names, "leaf": type(leaf_node).__name__,
                "variable": leaf_node.variable is x, "repr": "MyExpBackward" in repr(y)}

    same_in_both(check)


def test_legacy_instance_call_raises():
    f = _functions(pynn)["MyRelu"]
    with pytest.raises(RuntimeError, match="staticmethod"):
        f()(pynn.tensor(np.ones(2), requires_grad=True))
    assert issubclass(f, Function)


def test_gradcheck_and_once_differentiable(same_in_both):
    def check(lib):
        from importlib import import_module

        once = import_module(lib.__name__ + ".autograd.function").once_differentiable
        fns = _functions(lib)

        class WrongBackward(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * x  # should be 2 * x

        x = _leaf(lib, [0.5, -1.5, 2.0])
        return {"legendre": lib.autograd.gradcheck(fns["Legendre3"].apply, (x,)),
                "two outputs": lib.autograd.gradcheck(fns["SquareAndCube"].apply, x),
                "wrong": _error(lambda: lib.autograd.gradcheck(WrongBackward.apply, (x,))),
                "quiet": lib.autograd.gradcheck(WrongBackward.apply, (x,),
                                                raise_exception=False)}

    assert same_in_both(check)["wrong"] == "GradcheckError"
