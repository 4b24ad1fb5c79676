"""In-place writes on tensors in the graph, against PyTorch: nodes recorded before a write
send their gradient to the value the tensor had then; ``inplace=True`` activations write
into their input; a write into storage a node kept still raises PyTorch's error."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")


def _libs(lib):
    nn = lib.nn
    return lib, nn, nn.functional


def iadd_from_itself(lib, x):
    y = x * 2
    y += y * 2
    return y


def sigmoid_then_write(lib, x):
    y = x + 0
    z = lib.sigmoid(y)  # keeps its output, not y
    y.mul_(2)
    return z + y


def two_writes_and_three_readers(lib, x):
    y = x * 1.5
    a = y.tanh()  # y at version 0
    y.mul_(y.detach() + 1)  # version 1
    b = y * 3  # y at version 1 (keeps it)
    y.sub_(x)  # version 2
    return a + b.sum() + y


def relu_inplace_functional(lib, x):
    _, _, F = _libs(lib)
    y = x * 2
    F.relu(y, inplace=True)  # y itself is the result
    return y * 3


def relu_inplace_module(lib, x):
    _, nn, _ = _libs(lib)
    y = x - 0.2
    out = nn.ReLU(inplace=True)(y)
    return out + y  # the same tensor twice


def residual_block(lib, x):
    w = lib.ones(3, 3, dtype=x.dtype) / 3
    out = x @ w
    identity = x
    out += identity
    return lib.relu(out)


def leaky_then_reader(lib, x):
    _, _, F = _libs(lib)
    y = x * 1
    first = y.exp()
    F.leaky_relu(y, 0.2, inplace=True)
    return first + y


def setitem_after_reader(lib, x):
    y = x * 2
    s = y.sum(dim=1, keepdim=True)
    y[:, 0] = 0
    return y * s


CASES = [iadd_from_itself, sigmoid_then_write, two_writes_and_three_readers,
         relu_inplace_functional, relu_inplace_module, residual_block, leaky_then_reader,
         setitem_after_reader]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_values_and_gradients_match_torch(case):
    x0 = np.random.default_rng(0).standard_normal((4, 3))
    results = []
    for lib in (pynn, torch):
        x = lib.tensor(x0, requires_grad=True)
        out = case(lib, x)
        weights = lib.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) % 5 - 2.0)
        (out * weights).sum().backward()
        results.append((out.detach().numpy().copy(), x.grad.numpy().copy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_autograd_grad_routes_the_same_way(case):
    x0 = np.random.default_rng(1).standard_normal((4, 3))
    grads = []
    for lib in (pynn, torch):
        x = lib.tensor(x0, requires_grad=True)
        other = lib.tensor(x0[0], requires_grad=True)  # not reached: a restricted walk
        g, = lib.autograd.grad(case(lib, x).sum() + 0 * other.sum(), [x])
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_a_write_into_kept_storage_still_raises():
    x = pynn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # keeps y's storage
    with pynn.no_grad():
        y.add_(1)  # outside the graph: into the storage z kept
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_activation_on_a_leaf_raises_as_torch_does():
    for lib in (pynn, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            lib.nn.functional.relu(x, inplace=True)


@pytest.mark.parametrize("method", ["add_", "mul_", "copy_", "fill_"])
def test_inplace_from_a_parameter_is_recorded(method):
    """A Parameter operand (a Tensor subclass) puts the written tensor in the graph, as
    PyTorch records it."""
    def run(lib):
        value = np.float64(2.0) if method == "fill_" else np.array([1.0, 2.0, 3.0])
        p = lib.nn.Parameter(lib.tensor(value))
        y = lib.full((3,), 0.5, dtype=lib.float64)
        getattr(y, method)(p)
        assert y.grad_fn is not None
        (y * y).sum().backward()
        return p.grad.numpy()

    np.testing.assert_allclose(run(pynn), run(torch), rtol=1e-12)
