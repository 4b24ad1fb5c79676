"""Autograd details PyTorch programs rely on, against PyTorch: the node an in-place activation
records, hooks on grad_fn nodes (``register_hook``, ``register_prehook``) and the TypeError
for a non-Tensor input."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

X = np.array([[1.0, -2.0, 3.0, -0.5], [-4.0, 5.0, -6.0, 0.25], [0.75, -1.5, 2.5, -3.5]])

INPLACE = [
    ("relu", ()), ("leaky_relu", (0.1,)), ("elu", (0.7,)), ("selu", ()), ("celu", (1.3,)),
    ("silu", ()), ("mish", ()), ("hardtanh", (-0.5, 0.5)), ("relu6", ()), ("hardswish", ()),
    ("hardsigmoid", ()), ("threshold", (0.5, -1.0)),
]


def both(program):
    """``program(lib, x)`` on pynn and torch from X (float64, requiring grad); the result and
    the gradient of x, as ndarrays, from each."""
    out = []
    for lib in (pynn, torch):
        x = lib.tensor(X, requires_grad=True)
        res = program(lib, x)
        out.append((res, None if x.grad is None else x.grad.numpy()))
    return out


# the ``name_`` spelling only where torch.nn.functional has it (not silu_, mish_, relu6_,
# hardswish_, hardsigmoid_)
INPLACE_SPELLINGS = [
    pytest.param(name, args, spelling, id=f"{spelling}-{name}")
    for spelling in ("functional", "module", "method") for name, args in INPLACE
    if spelling != "method" or hasattr(torch.nn.functional, name + "_")
]


@pytest.mark.parametrize("name, args, spelling", INPLACE_SPELLINGS)
def test_inplace_activation_records_its_own_node(name, args, spelling):
    def program(lib, x):
        y = x * 2
        if spelling == "functional":
            z = getattr(lib.nn.functional, name)(y, *args, inplace=True)
        elif spelling == "module":
            cls = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "selu": "SELU",
                   "celu": "CELU", "silu": "SiLU", "mish": "Mish", "hardtanh": "Hardtanh",
                   "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
                   "threshold": "Threshold"}[name]
            z = getattr(lib.nn, cls)(*args, inplace=True)(y)
        else:
            z = getattr(lib.nn.functional, name + "_")(y, *args)
        assert z is y
        node = z.grad_fn.name()
        (z * z).sum().backward()
        return node, z.detach().numpy()

    (ours, ga), (theirs, gb) = both(program)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    # PyTorch's CELU and hardsigmoid backward take their constants (1 / alpha, 1 / 6) in
    # single precision: up to 4e-8 apart
    np.testing.assert_allclose(ga, gb, rtol=1e-7 if name in ("celu", "hardsigmoid") else 1e-12,
                               atol=1e-15)


def test_inplace_activation_outside_the_graph_writes_the_storage():
    base = np.array([-1.0, 2.0, -3.0])
    x = pynn.from_numpy(base)
    assert pynn.nn.functional.relu(x, inplace=True) is x and x.grad_fn is None
    np.testing.assert_array_equal(base, [0.0, 2.0, 0.0])
    leaf = pynn.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        pynn.nn.functional.relu(leaf, inplace=True)


@pytest.mark.parametrize("name", ["relu", "relu_", "leaky_relu", "leaky_relu_", "rrelu",
                                  "rrelu_", "gelu"])
@pytest.mark.parametrize("value", [None, np.ones(3), [1.0, 2.0]], ids=["None", "ndarray",
                                                                        "list"])
def test_non_tensor_input_is_torch_s_type_error(name, value):
    with pytest.raises(TypeError) as theirs:
        getattr(torch.nn.functional, name)(value)
    with pytest.raises(TypeError) as ours:
        getattr(pynn.nn.functional, name)(value)
    assert str(ours.value) == str(theirs.value)


def _grads(gs):
    return [None if g is None else g.detach().numpy().copy() for g in gs]


def test_node_hooks_match_torch():
    def program(lib, x):
        log = []
        w = lib.tensor([0.5, 2.0, -1.0, 3.0], dtype=lib.float64, requires_grad=True)
        c = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)  # needs no gradient
        y = x * w
        z = (y * c).exp()

        def pre(grad_outputs):
            log.append(("pre", _grads(grad_outputs)))
            return (grad_outputs[0] * 2,)

        def post(grad_inputs, grad_outputs):
            log.append(("post", _grads(grad_inputs), _grads(grad_outputs)))
            return (grad_inputs[0] + 1, None)

        handles = [y.grad_fn.register_prehook(pre), y.grad_fn.register_hook(post)]
        seen = []
        z.grad_fn.next_functions[0][0].register_hook(
            lambda gi, go: seen.append(_grads(gi)))  # c's slot is None
        z.sum().backward(retain_graph=True)
        log.append(("w", None if w.grad is None else w.grad.numpy().copy()))
        log.append(("c-slot", seen))
        for h in handles:
            h.remove()
        x.grad = None
        w.grad = None
        z.sum().backward()
        log.append(("after remove", x.grad.numpy().copy(), w.grad.numpy().copy()))
        # None in a returned tuple: no gradient there
        w.grad = None
        y = x * w
        y.grad_fn.register_hook(lambda gi, go: (None, gi[1] * 10))
        y.sum().backward()
        log.append(("none-post", w.grad.numpy().copy()))
        y = x * w
        y.grad_fn.register_prehook(lambda go: (None,))
        y.sum().backward()
        log.append(("none-pre", w.grad.numpy().copy()))
        return log

    (ours, gx), (theirs, gt) = both(program)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a[0] == b[0]
        for u, v in zip(a[1:], b[1:]):
            _assert_nested_close(u, v)
    np.testing.assert_allclose(gx, gt)


def _assert_nested_close(u, v):
    if isinstance(u, (list, tuple)):
        assert isinstance(v, (list, tuple)) and len(u) == len(v)
        for a, b in zip(u, v):
            _assert_nested_close(a, b)
    elif u is None:
        assert v is None
    else:
        np.testing.assert_allclose(u, v, rtol=1e-12)


def test_node_hooks_on_functions_multi_output_and_fused_chains():
    def program(lib, x):
        log = []

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, k):
                ctx.save_for_backward(a)
                ctx.k = k
                return a * a * k

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return 2 * a * g * ctx.k, None

        s = Square.apply(x, 3.0)
        s.grad_fn.register_hook(lambda gi, go: log.append(("fn", _grads(gi))))
        vals, _ = s.max(dim=1)
        vals.grad_fn.register_prehook(lambda go: log.append(("max-pre", _grads(go))))
        # a convolution -> ReLU -> max-pool chain: a hook on the middle node is still run
        img = x.reshape(1, 1, 3, 4)
        weight = lib.ones(2, 1, 2, 2, dtype=lib.float64) / 4
        r = lib.nn.functional.relu(lib.nn.functional.conv2d(img, weight, padding=1))
        r.grad_fn.register_hook(lambda gi, go: log.append(("relu", _grads(go))))
        out = lib.nn.functional.max_pool2d(r, 2)
        (vals.sum() + out.sum()).backward()
        return log

    (ours, gx), (theirs, gt) = both(program)
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    for a, b in zip(ours, theirs):
        _assert_nested_close(a[1], b[1])
    np.testing.assert_allclose(gx, gt, rtol=1e-12)


def test_node_hook_errors():
    x = pynn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))  # x * 2 has two grad_inputs
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        y.sum().backward()
    y = x * 2
    y.grad_fn.register_prehook(lambda go: (pynn.ones(5),))
    with pytest.raises(RuntimeError, match="shape"):
        y.sum().backward()
    with pytest.raises(TypeError, match="callable"):
        y.grad_fn.register_hook(3)


@pytest.mark.parametrize("tensor_hook", [False, True])
@pytest.mark.parametrize("retain", [False, True])
def test_capture_and_retain_grad_come_before_the_node_s_pre_hooks(tensor_hook, retain):
    """autograd.grad and retain_grad see the gradient after the tensor's own hooks but before
    its grad_fn's pre-hooks, which still change what flows on."""
    def program(lib, x):
        b = x * 2
        y = b.exp()
        if retain:
            b.retain_grad()
        if tensor_hook:
            b.register_hook(lambda g: g * 3)
        b.grad_fn.register_prehook(lambda go: (go[0] * 7,))
        (captured,) = lib.autograd.grad(y.sum(), b, retain_graph=True)
        y.sum().backward()
        return captured.numpy(), b.grad.numpy() if retain else None

    (ours, gx), (theirs, gt) = both(program)
    _assert_nested_close(ours, theirs)
    np.testing.assert_allclose(gx, gt, rtol=1e-12)


# not ``3 / x``: PyTorch records reciprocal(x) * 3, its hook seeing the product's gradients
@pytest.mark.parametrize("op", ["x * 3", "3 * x", "x + 3", "3 + x", "x - 3", "3 - x", "x / 3",
                                "x * w", "x ** 2", "where(x > 0, x, 0.5)",
                                "where(x > 0, 0.5, x)"])
def test_node_hook_sees_a_slot_per_operand_as_torch(op):
    """PyTorch wraps a number operand of + - * / and where into a tensor: a grad_fn hook sees
    None in its slot (``3 - x`` and ``x ** 2`` keep their one input)."""
    def program(lib, x):
        seen = []
        y = eval(op, {"x": x, "w": lib.tensor(X), "where": lib.where})
        y.grad_fn.register_hook(lambda gi, go: seen.append(_grads(gi)))
        y.sum().backward()
        return y.grad_fn.name(), seen

    (ours, gx), (theirs, gt) = both(program)
    assert ours[0] == theirs[0]
    _assert_nested_close(ours[1], theirs[1])
    np.testing.assert_allclose(gx, gt, rtol=1e-12)


@pytest.mark.parametrize("lib", [pynn, torch], ids=["pynn", "torch"])
def test_implicit_gradient_of_a_complex_scalar_is_refused(lib):
    x = lib.tensor([1 + 2j, 0.5j], requires_grad=True)
    loss = (x * x).sum()
    with pytest.raises(RuntimeError, match="implicitly created only for real scalar outputs"):
        loss.backward()
    with pytest.raises(RuntimeError, match="implicitly created only for real scalar outputs"):
        lib.autograd.grad(loss, x)
    loss.real.backward()  # a real loss of complex tensors is fine
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.conj([1 + 2j, 0.5j]), rtol=1e-6)
