"""In-place writes through views made in the graph (``view``, ``reshape``, ``t``,
``transpose``, ``permute``, chains of them and slices of them) reach their base, as in
PyTorch (its CopySlices); views whose elements cannot be written one by one are refused."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

X = np.array([[1.0, -2.0, 3.0, -0.5], [-4.0, 5.0, -6.0, 0.25], [0.75, -1.5, 2.5, -3.5]])


def both(program):
    """``program(lib, x)`` on pynn and torch from X (float64, requiring grad); the result and
    the gradient of x, as ndarrays, from each."""
    out = []
    for lib in (pynn, torch):
        x = lib.tensor(X, requires_grad=True)
        res = program(lib, x)
        out.append((res, None if x.grad is None else x.grad.numpy()))
    return out


def _view_programs():
    def view_flat(lib, x):
        y = x * 2
        v = y.view(-1)
        v.mul_(3)
        return y

    def reshape_row(lib, x):
        y = x * 2
        y.reshape(4, 3)[1].mul_(5)
        return y

    def transpose_twice(lib, x):
        y = x + 1
        t = y.t()
        t.add_(x.t() * x.t())
        t.mul_(2)  # the same view written again: still reaches y
        return y * y

    def chained(lib, x):
        y = x * 1.5
        v = y.view(2, 6).transpose(0, 1)
        v[2:].sub_(x.view(-1)[:8].view(4, 2))
        return y.exp()

    def unsqueeze_permute(lib, x):
        y = x * 2
        y.unsqueeze(0).permute(2, 0, 1).relu_()
        return y * x

    def flatten_then_reader(lib, x):
        y = x * 3
        first = y.sum()
        y.flatten()[::2].zero_()
        return y * first

    def leaf_view_through_clone(lib, x):
        y = x.clone()
        y.view(3, 2, 2)[:, 0].mul_(x.view(3, 2, 2)[:, 1])
        return y

    def view_of_a_transposed_view(lib, x):
        y = x * 2
        v = y.t().unsqueeze(0)  # its base, y.t(), is not contiguous
        v.mul_(3)
        v.add_(x.t().unsqueeze(0))  # written again: still reaches y
        return y

    def transposed_slice_written_three_times(lib, x):
        y = x * 2
        v = y.view(6, 2).t()[:, 1:]
        v.mul_(3)
        v.add_(x.view(-1)[:2].view(2, 1))
        v.mul_(2)
        return y

    return [view_flat, reshape_row, transpose_twice, chained, unsqueeze_permute,
            flatten_then_reader, leaf_view_through_clone, view_of_a_transposed_view,
            transposed_slice_written_three_times]


@pytest.mark.parametrize("program", _view_programs(), ids=lambda f: f.__name__)
def test_inplace_through_a_view_reaches_the_base(program):
    def run(lib, x):
        out = program(lib, x)
        g = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape))
        out.backward(lib.tensor(g))
        return out.detach().numpy()

    (ours, ga), (theirs, gb) = both(run)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-14)


def test_inplace_through_a_view_finite_differences():
    """The gradient of a write through a transposed view against central differences."""
    def f(arr, requires_grad=False):
        x = pynn.tensor(arr, requires_grad=requires_grad)
        y = x * x
        y.t()[1:].mul_(x.t()[:-1])
        return x, (y * np.arange(12.0).reshape(3, 4)).sum()

    x, loss = f(X, True)
    loss.backward()
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = rng.standard_normal(X.shape)
        eps = 1e-6
        numeric = (f(X + eps * v)[1].item() - f(X - eps * v)[1].item()) / (2 * eps)
        assert np.isclose(np.sum(x.grad.numpy() * v), numeric, rtol=1e-7)


def test_views_that_cannot_be_written_element_by_element_are_refused():
    x = pynn.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.view(-1).mul_(2)
    y = x[0] * 2
    e = y.expand(3, 4)
    with pytest.raises(RuntimeError, match="one to one"):
        e.mul_(2)
    # torch refuses the same write
    t = torch.tensor(X, requires_grad=True)[0] * 2
    with pytest.raises(RuntimeError):
        t.expand(3, 4).mul_(2)


def test_views_outside_the_graph_still_share_storage():
    y = pynn.tensor(X)
    y.view(-1)[:3].mul_(10)
    y.t().add_(1)
    want = X.copy()
    want.reshape(-1)[:3] *= 10
    np.testing.assert_array_equal(y.numpy(), want + 1)
