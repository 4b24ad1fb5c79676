"""Tensor and autograd semantics: construction, broadcasting, accumulation, grad mode,
detach, deep graphs, leaf/non-leaf, second backward, errors."""

import re
import sys
import threading

import numpy as np
import pytest

import pynn
import pynn.functional as F
from pynn.autograd import ArrayFunction, set_grad_enabled


def test_tensor_dtype_rules():
    assert pynn.tensor([1.0, 2.0]).dtype == np.float32  # Python floats: PyTorch's default
    assert pynn.tensor(3.5).dtype == np.float32 and pynn.tensor(3.5).shape == ()
    assert pynn.tensor([1, 2]).dtype == np.int64
    assert pynn.tensor([True]).dtype == np.bool_
    assert pynn.tensor([1, 2], dtype=np.float64).dtype == np.float64
    a = np.arange(6.0).reshape(2, 3)  # float64 ndarray keeps dtype and memory (as_tensor)
    t = pynn.as_tensor(a)
    assert t.dtype == np.float64 and t.numpy() is a and t.data.numpy() is a
    assert pynn.tensor(a, dtype=np.float32).dtype == np.float32
    copy = pynn.tensor(t)
    assert copy.numpy() is not a and np.array_equal(copy.numpy(), a)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_legacy_constructor_of_an_ndarray_matches_torch(np_dtype):
    torch = pytest.importorskip("torch")
    a = (np.arange(6) % 3).reshape(2, 3).astype(np_dtype)
    t, ref = pynn.Tensor(a), torch.Tensor(a.copy())
    assert str(t.dtype) == str(ref.dtype).replace("torch", "pynn")
    np.testing.assert_array_equal(t.numpy(), ref.numpy())
    t[0, 0] = 7  # torch.Tensor shares an ndarray of the default dtype, copies any other
    shared = torch.Tensor(a)
    shared[0, 1] = 7
    assert (a[0, 0] == 7) == (a[0, 1] == 7)
    p = pynn.Tensor(pynn.from_numpy(a))
    assert p.dtype == pynn.float32


def test_tensor_attributes():
    t = pynn.tensor(np.zeros((2, 3, 4), np.float32), requires_grad=True)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size() == (2, 3, 4) and t.size(1) == 3
    assert t.numel() == 24 and len(t) == 2 and t.is_leaf and t.grad is None
    assert t.T.shape == (4, 3, 2)
    assert pynn.tensor([[2.5]]).item() == 2.5
    assert "requires_grad=True" in repr(t)
    assert "grad_fn=<AddBackward0>" in repr(t + 1)


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        pynn.tensor([1, 2], requires_grad=True)
    x = pynn.tensor(np.array([1.5, -2.5]), requires_grad=True)
    for cast in (x.long(), x.to(np.bool_)):  # an integer cast leaves the graph, as in torch
        assert not cast.requires_grad and cast.grad_fn is None
    assert x.float().requires_grad


def test_set_grad_enabled_is_exported():
    with pynn.set_grad_enabled(False):
        y = pynn.tensor(np.ones(2), requires_grad=True) * 2
    assert not y.requires_grad


def test_broadcast_gradients_sum_to_input_shapes():
    a = pynn.tensor(np.ones((3, 1)), requires_grad=True)
    b = pynn.tensor(np.ones((1, 4)), requires_grad=True)
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))
    c = pynn.tensor(np.ones(4), requires_grad=True)
    (a * c).sum().backward()
    assert c.grad.shape == (4,)
    np.testing.assert_array_equal(c.grad, np.full(4, 3.0))


def test_gradients_accumulate_across_backward_calls():
    w = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * 3.0).sum().backward()
    first, storage = w.grad, w.grad.numpy()
    (w * 3.0).sum().backward()
    assert w.grad is first and w.grad.numpy() is storage  # accumulated in place (+=)
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


@pytest.mark.parametrize("scale", [None, [1.0, 2.0, 3.0]])
def test_leaf_grad_is_owned_ndarray(scale):
    a = pynn.tensor(np.ones(3), requires_grad=True)
    b = pynn.tensor(np.ones(3), requires_grad=True)
    y = a + b  # a and b receive the same upstream array: read-only, or writable when scaled
    (y if scale is None else y * pynn.tensor(scale)).sum().backward()
    a.grad += 1
    np.testing.assert_array_equal(b.grad, scale or np.ones(3))
    assert type(a.grad) is pynn.Tensor and not a.grad.requires_grad and a.grad.grad_fn is None
    assert type(a.grad.numpy()) is np.ndarray and a.grad.numpy().flags.writeable


def _backward_returning(array, fresh):
    class Give(ArrayFunction):
        fresh_grads = fresh

        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return array

    return Give


@pytest.mark.parametrize("fresh", [False, True])
def test_fresh_gradients_are_kept_others_copied(fresh):
    a = pynn.tensor(np.ones(3), requires_grad=True)
    given = np.array([1.0, 2.0, 3.0])
    _backward_returning(given, fresh).apply(a).backward()
    assert (a.grad.numpy() is given) == fresh
    np.testing.assert_array_equal(a.grad, given)
    _backward_returning(given, fresh).apply(a).backward()  # the second adds in place
    np.testing.assert_array_equal(a.grad, [2.0, 4.0, 6.0])


def test_fresh_gradient_of_another_dtype_is_copied():
    a = pynn.tensor(np.ones(3, np.float32), requires_grad=True)
    _backward_returning(np.ones(3), True).apply(a).backward()
    assert a.grad.dtype == np.float32


def _linear_case():
    layer = pynn.nn.Linear(5, 4)
    x = pynn.tensor(np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32),
                    requires_grad=True)
    return layer, x, lambda k: (F.relu(layer(x)) * k).sum()


def _conv_case(pool):
    layer = pynn.nn.Conv2d(2, 3, 3)
    x = pynn.tensor(np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32),
                    requires_grad=True)
    if pool:
        net = pynn.nn.Sequential(layer, pynn.nn.ReLU(), pynn.nn.MaxPool2d(2))
        return layer, x, lambda k: (net(x) * net(x) * k).sum()
    return layer, x, lambda k: (layer(x) * layer(x) * k).sum()


@pytest.mark.parametrize("case", ["linear", "conv", "conv_pool"])
def test_functions_with_fresh_grads_return_unshared_arrays(each_backend, case):
    """The promise behind ``fresh_grads``: the gradients these Functions return share memory
    with nothing else (one another, the inputs, the parameters), and a later backward pass,
    with other gradients, does not write into them."""
    layer, x, loss_of = _linear_case() if case == "linear" else _conv_case(case == "conv_pool")
    loss_of(1.0).backward()
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    kept = [g.copy() for g in grads]
    others = [x.detach().numpy()] + [p.detach().numpy() for p in layer.parameters()]
    for i, g in enumerate(grads):
        assert g.flags.writeable
        for other in grads[i + 1:] + others:
            assert not np.shares_memory(g, other)
    x.grad = None
    for p in layer.parameters():
        p.grad = None
    loss_of(2.0).backward()
    for g, k in zip(grads, kept):
        np.testing.assert_array_equal(g, k)


def test_same_tensor_used_twice():
    x = pynn.tensor(np.array(3.0), requires_grad=True)
    y = x * x + x
    y.backward()
    assert x.grad == 7.0


def test_no_grad_builds_no_graph():
    w = pynn.tensor(np.ones(3), requires_grad=True)
    with pynn.no_grad():
        assert not pynn.is_grad_enabled()
        y = w * 2 + 1
        with pynn.enable_grad():
            assert pynn.is_grad_enabled()
            z = w * 2
    assert pynn.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf
    assert z.grad_fn is not None

    @pynn.no_grad()
    def infer(x):
        return x * 2

    assert infer(w).grad_fn is None and pynn.is_grad_enabled()

    @set_grad_enabled(False)
    def infer2(x):
        return x * 2

    assert pynn.is_grad_enabled() and infer2(w).grad_fn is None
    set_grad_enabled(False)
    assert not pynn.is_grad_enabled()
    set_grad_enabled(True)


def test_grad_mode_is_per_thread():
    seen = []
    with pynn.no_grad():
        t = threading.Thread(target=lambda: seen.append(pynn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_detach_shares_data_and_cuts_the_graph():
    w = pynn.tensor(np.ones(3), requires_grad=True)
    y = w * 2
    d = y.detach()
    assert d.numpy() is y._data and d.grad_fn is None and not d.requires_grad
    (d * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])


def test_data_is_a_tensor_sharing_the_storage():
    w = pynn.tensor(np.ones(3), requires_grad=True)
    y = w * 2
    d = y.data
    assert type(d) is pynn.Tensor and d is not y
    assert d.numpy() is y._data and d.grad_fn is None and not d.requires_grad
    w.data[0] = 5.0  # writes through to w's storage, not recorded
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 1.0, 1.0])
    storage = np.zeros(4)
    w.data = storage  # replaces the storage (no copy), as p.data = t does in PyTorch
    assert w._data is storage and w.shape == (4,) and w.requires_grad
    other = pynn.tensor(np.arange(2.0))
    w.data = other
    assert w._data is other.numpy()
    with pytest.raises(TypeError, match="Tensor or an ndarray"):
        w.data = [1.0, 2.0]


def test_grad_setter_checks_and_wraps():
    w = pynn.tensor(np.ones(3), requires_grad=True)
    g = pynn.tensor(np.array([1.0, 2.0, 3.0]))
    w.grad = g
    assert w.grad is g
    arr = np.array([4.0, 5.0, 6.0])
    w.grad = arr  # an ndarray is wrapped, not copied
    assert type(w.grad) is pynn.Tensor and w.grad.numpy() is arr
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        w.grad = pynn.tensor(np.ones(2))
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        w.grad = np.ones((3, 1))
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        w.grad = [1.0, 2.0, 3.0]
    assert w.grad.numpy() is arr  # a rejected assignment changes nothing
    w.grad = None
    assert w.grad is None
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0, 2.0])


def test_array_function_is_the_internal_base_class():
    import importlib
    import pkgutil

    from pynn import autograd, ops

    assert not issubclass(autograd.Function, autograd.ArrayFunction)  # PyTorch's contract
    modules = [importlib.import_module(f"pynn.ops.{m.name}")
               for m in pkgutil.iter_modules(ops.__path__)] + [F]
    classes = [c for m in modules for c in vars(m).values()
               if isinstance(c, type) and c.__name__.endswith("Function")]
    assert len(classes) > 30
    assert all(issubclass(c, ArrayFunction) for c in classes)


def test_deep_chain_has_no_recursion_limit():
    x = pynn.tensor(np.array([1.0]), requires_grad=True)
    y = x
    n = max(10_000, 2 * sys.getrecursionlimit())
    for _ in range(n):
        y = y + 1.0
    y = y * 2.0
    y.sum().backward()
    assert x.grad[0] == 2.0
    del y  # freeing a deep graph must not overflow either


def test_leaf_and_non_leaf_grad():
    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    k = x * 4
    k.retain_grad()
    (h * k).sum().backward()
    assert x.is_leaf and not h.is_leaf
    assert h.grad is None  # non-leaf: no .grad unless retain_grad()
    assert isinstance(k.grad, pynn.Tensor) and k.grad.grad_fn is None
    np.testing.assert_array_equal(k.grad, h.data)
    np.testing.assert_array_equal(x.grad, 3 * k.data + 4 * h.data)


def test_second_backward_raises_unless_retained():
    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_errors():
    x = pynn.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        pynn.tensor([1.0]).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                       r"\(3,\)"):
        (x * 2).backward(np.ones(3))
    (x * 2).backward(np.ones((2, 2)))
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 2.0))


def test_comparisons_are_not_differentiable():
    x = pynn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad and m.grad_fn is None
    np.testing.assert_array_equal((x == pynn.tensor([1.0, 0.0, 3.0])).data, [True, False, True])
    assert (x != None) is True  # noqa: E711  (the comparison under test)
    assert x.argmax().item() == 2 and x.argmin(dim=0).item() == 0


def test_max_with_dim_returns_values_and_indices():
    x = pynn.tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert x.min(1, keepdim=True).values.shape == (2, 1)
    assert x.max().item() == 7.0


def test_reflected_operators_and_ndarray_operands():
    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.array([10.0, 20.0]) - 2.0 * x / 4.0 + 1.0
    y = 1.0 / (y ** 2) + np.ones(2) @ x
    assert isinstance(y, pynn.Tensor)
    y.sum().backward()
    assert x.grad.shape == (2,)


def test_dtype_promotion():
    a = pynn.tensor(np.ones(2, np.float32), requires_grad=True)
    b = pynn.tensor(np.ones(2, np.float64), requires_grad=True)
    c = a * b
    assert c.dtype == np.float64
    assert (a * 2.0).dtype == np.float32  # a Python scalar never promotes
    (c.exp()).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    with pytest.raises(TypeError, match="matmul: expected both operands to have the same dtype"):
        a.reshape(1, 2) @ b.reshape(2, 1)
    with pytest.raises(TypeError, match="linear: weight has dtype float64 but input has float32"):
        F.linear(a.reshape(1, 2), b.reshape(1, 2))


def test_inplace_operators():
    w = pynn.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w -= 1.0
    with pynn.no_grad():
        ident = w
        w -= np.array([0.5, 0.25])
    assert w is ident
    np.testing.assert_array_equal(w.data, [0.5, 0.75])
    h = w * 1.0
    h += 1.0  # on a non-leaf: recorded out of place
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_setitem():
    t = pynn.tensor(np.zeros(3))
    t[1] = 5.0
    assert t.data[1] == 5.0
    w = pynn.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 1.0
    with pynn.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0


def test_manual_seed_makes_dropout_reproducible():
    x = pynn.tensor(np.ones((50,), np.float32))
    pynn.manual_seed(123)
    a = F.dropout(x, 0.5).data
    pynn.manual_seed(123)
    b = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}
    assert F.dropout(x, 0.5, training=False) is x


def test_custom_function():
    class Cube(ArrayFunction):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return 3 * ctx.scale * x ** 2 * grad, None

    x = pynn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert isinstance(y.grad_fn, Cube)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 24.0])


@pytest.mark.parametrize("call,message", [
    (lambda: F.linear(pynn.tensor(np.zeros((5, 783), np.float32)),
                      pynn.tensor(np.zeros((10, 784), np.float32))),
     ("linear: input has 783 features but weight expects 784 (input shape (5, 783), weight "
      "shape (10, 784))")),
    (lambda: F.linear(pynn.tensor(np.zeros((5, 4), np.float32)),
                      pynn.tensor(np.zeros((3, 4), np.float32)),
                      pynn.tensor(np.zeros(4, np.float32))),
     "linear: bias must have shape (3,)"),
    (lambda: F.conv2d(pynn.tensor(np.zeros((1, 3, 8, 8))), pynn.tensor(np.zeros((4, 1, 3, 3)))),
     "conv2d: input has 3 channels but weight expects 1"),
    (lambda: F.conv2d(pynn.tensor(np.zeros((3, 8))), pynn.tensor(np.zeros((4, 3, 3, 3)))),
     "conv2d: input must have shape (N, C, H, W) or (C, H, W), got (3, 8)"),
    (lambda: F.cross_entropy(pynn.tensor(np.zeros((4, 3))), np.zeros(5, np.int64)),
     "cross_entropy: target has shape (5,) but input of shape (4, 3) needs (4,)"),
    (lambda: F.cross_entropy(pynn.tensor(np.zeros((4, 3))), np.zeros(4)),
     "cross_entropy: target must hold integer class indices"),
    (lambda: F.nll_loss(pynn.tensor(np.zeros((2, 3))), np.array([0, 3])),
     "nll_loss: target 3 is out of bounds for 3 classes"),
    (lambda: F.mse_loss(pynn.tensor(np.zeros(2)), pynn.tensor(np.zeros(2)), reduction="avg"),
     "mse_loss: reduction must be one of"),
    (lambda: F.binary_cross_entropy(pynn.tensor(np.full(2, 1.5)), pynn.tensor(np.zeros(2))),
     "binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy_with_logits(pynn.tensor(np.zeros(2)), pynn.tensor(np.zeros(3))),
     "binary_cross_entropy_with_logits: target size (3,) must be the same as input size (2,)"),
    (lambda: F.dropout(pynn.tensor(np.zeros(2)), 1.5), "dropout probability has to be between"),
    (lambda: pynn.tensor(np.zeros((2, 3))) @ pynn.tensor(np.zeros((4, 2))),
     "matmul: shapes (2, 3) and (4, 2) cannot be multiplied (3 != 4)"),
    (lambda: pynn.tensor(np.zeros((2, 3))).reshape(4, 2),
     "reshape: shape (4, 2) is invalid for input of size 6"),
    (lambda: pynn.tensor(np.zeros((2, 3))).expand(2, 4),
     "expand: the expanded size of the tensor (4) must match the existing size (3)"),
    (lambda: pynn.tensor(np.zeros((2, 3))).sum(dim=2), "sum: dimension out of range"),
    (lambda: pynn.cat([pynn.tensor(np.zeros((2, 3))), pynn.tensor(np.zeros((2, 4)))]),
     "cat: tensors must have the same shape except in dimension 0"),
    (lambda: pynn.stack([pynn.tensor(np.zeros(2)), pynn.tensor(np.zeros(3))]),
     "stack: expects each tensor to be equal size"),
    (lambda: F.gelu(pynn.tensor(np.zeros(2)), approximate="fast"),
     "gelu: approximate must be 'none' or 'tanh'"),
])
def test_errors_name_the_op_and_shapes(call, message):
    with pytest.raises((ValueError, TypeError, RuntimeError, IndexError,
                        NotImplementedError), match=re.escape(message)):
        call()


def test_numpy_float64_scalars_in_a_list_keep_float64_as_in_torch():
    torch = pytest.importorskip("torch")
    for data in ([np.float64(1.5), 2.0], [[np.float64(1.0)], [2.0]], [1.5, 2.0],
                 [np.float32(1.5)], [1, 2]):
        assert str(pynn.tensor(data).dtype).split(".")[-1] == \
            str(torch.tensor(data).dtype).split(".")[-1], data


@pytest.mark.parametrize("name, args", [("cumsum_", (0,)), ("cumprod_", (0,)),
                                        ("addmm_", "mm"), ("scatter_reduce_", "scatter")])
def test_more_inplace_forms_match_torch(name, args):
    torch = pytest.importorskip("torch")
    outs = []
    for lib in (pynn, torch):
        t = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        if args == "mm":
            call = (lib.ones(2, 3), lib.ones(3, 2))
        elif args == "scatter":
            call = (1, lib.tensor([[0, 0], [1, 0]]), lib.tensor([[5.0, 6.0], [7.0, 8.0]]),
                    "amax")
        else:
            call = args
        assert getattr(t, name)(*call) is t
        outs.append(t.numpy().copy())
    np.testing.assert_allclose(outs[0], outs[1])
