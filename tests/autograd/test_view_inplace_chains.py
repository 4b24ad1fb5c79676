"""In-place writes through chains of views, through several views of one base, through views of
a base written since, and through views of tensors outside the graph, against PyTorch: the
base's and the views' values after each write, and the gradients."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")


def _programs():
    """Each ``program(lib, a, seen)`` writes through views, calls ``seen(t, ...)`` with the
    tensors to compare after each write, and returns the tensors the loss is made of."""

    def chain_of_views(lib, a, seen):
        b = a[:6] * 2
        z = b.view(2, 3).t().t()
        z.mul_(2)
        seen(b, z)
        z.add_(1)
        seen(b, z)
        return [b, z]

    def slice_then_transpose(lib, a, seen):
        b = a * 2
        y = b.view(3, 4)[:, 1:3]
        z = y.t()
        z.mul_(2)
        seen(b, y, z)
        z.add_(a[:6].view(2, 3))
        seen(b, y, z)
        return [b, y, z]

    def two_views_of_one_base(lib, a, seen):
        b = a[:6] * 2
        v1 = b.view(2, 3)
        v2 = b.view(3, 2)
        v1.mul_(2)
        seen(b, v1)
        v2.add_(1)
        seen(b, v1, v2)
        return [b, v1, v2]

    def view_and_its_transpose(lib, a, seen):
        b = a * 2
        v = b.view(3, 4)
        w = v.t()
        w.mul_(2)
        seen(b, v, w)
        v.add_(1)
        seen(b, v, w)
        w.add_(a.view(4, 3))
        seen(b, v, w)
        return [b, w]

    def base_written_then_view(lib, a, seen):
        b = a * 2
        v = b.view(12)
        b.mul_(a)
        v.add_(a)
        seen(b, v)
        return [b, v]

    def view_then_base_written(lib, a, seen):
        b = a * 2
        v = b.view(4, 3)[1:]
        v.mul_(3)
        b.sub_(a)
        seen(b, v)
        v.mul_(a[:9].view(3, 3))
        seen(b, v)
        return [b * v.sum()]

    def inplace_relu_of_a_view(lib, a, seen):
        b = a * 2 - 12
        h = b.view(3, -1)
        lib.nn.functional.relu(h, inplace=True)
        seen(b, h)
        return [b, h]

    def setitem_through_views(lib, a, seen):
        b = a * 3
        b.view(3, 4).t()[1:3, 0] = a[:2] * 5
        seen(b)
        b.view(2, 6)[:, ::2].permute(1, 0)[1] += a[2:4]
        seen(b)
        return [b]

    def written_from_outside_the_graph(lib, a, seen):
        x = lib.zeros(2, 3, dtype=a.dtype)
        x.t()[:, 0] = a[:3] * 2
        seen(x)
        y = lib.zeros(2, 3, dtype=a.dtype)
        y.view(-1)[1:4] = a[3:6] * 2
        seen(y)
        z = lib.zeros(2, 3, dtype=a.dtype)
        z.view(2, 3).copy_(a[:6].view(2, 3) * 2)
        seen(z)
        w = lib.ones(3, 4, dtype=a.dtype)
        w.transpose(0, 1).narrow(0, 1, 2).mul_(a[:6].view(2, 3))
        seen(w)
        return [x, y * 2, z * 3, w]

    def base_laid_out_by_columns(lib, a, seen):
        b = a.view(3, 4).t() * 2  # NumPy keeps the transposed layout: not C-contiguous
        v = b.view(-1) if b.is_contiguous() else b.reshape(-1)
        b.t()[0].mul_(3)
        seen(b)
        b.unsqueeze(0).permute(2, 1, 0)[1].add_(a[:4].view(4, 1))
        seen(b, v)
        return [b]

    def written_twice_from_two_chains(lib, a, seen):
        b = a.sin()
        first = b.view(2, 2, 3).permute(2, 0, 1)
        second = b.view(6, 2).t()[1]
        first[0].mul_(a[:4].view(2, 2))
        second.add_(first[1:].reshape(-1)[:6])
        seen(b, first, second)
        first.div_(2)
        seen(b, first, second)
        return [b, second]

    def views_never_written_see_the_writes(lib, a, seen):
        b = a * 2
        v2 = b.view(3, 4).t()
        c = v2[1]
        row = b.view(2, 6)[1]
        b.view(-1).mul_(2)
        seen(b, v2, c, row)
        b.add_(a)
        seen(v2, c, row)
        c.mul_(a[:3])
        seen(b, v2, row)
        x = lib.zeros(12, dtype=a.dtype)
        xv = x.view(3, 4)
        x[2:5] = a[:3] * 3
        seen(x, xv)
        return [v2, c * row.sum(), xv]

    def base_reshaped_in_place(lib, a, seen):
        b = a[:9].view(3, 3) * 2
        v = b.view(-1)[1:5]
        v.mul_(2)
        b.t_()
        v.add_(a[:4])
        seen(b, v)
        b.unsqueeze_(0)
        v.mul_(3)
        seen(b, v)
        return [b, v]

    return [base_reshaped_in_place, views_never_written_see_the_writes, chain_of_views,
            slice_then_transpose, two_views_of_one_base, view_and_its_transpose,
            base_written_then_view, view_then_base_written, inplace_relu_of_a_view,
            setitem_through_views, written_from_outside_the_graph, base_laid_out_by_columns,
            written_twice_from_two_chains]


def _run(lib, program, dtype):
    a = lib.tensor(np.linspace(-1.5, 2.0, 12), dtype=getattr(lib, dtype), requires_grad=True)
    seen = []
    outs = program(lib, a, lambda *ts: seen.append([t.detach().numpy().copy() for t in ts]))
    loss = sum((o * lib.arange(1.0, o.numel() + 1, dtype=o.dtype).reshape(o.shape).cos()).sum()
               for o in outs)
    loss.backward()
    return seen, [o.detach().numpy().copy() for o in outs], a.grad.numpy().copy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("program", _programs(), ids=lambda f: f.__name__)
def test_writes_through_views_match_torch(program, dtype):
    ours, theirs = _run(pynn, program, dtype), _run(torch, program, dtype)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-5}
    assert len(ours[0]) == len(theirs[0])
    for step, (mine, want) in enumerate(zip(ours[0], theirs[0])):
        for k, (x, y) in enumerate(zip(mine, want)):
            np.testing.assert_allclose(x, y, **tol, err_msg=f"after write {step}, tensor {k}")
    for x, y in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(x, y, **tol)
    np.testing.assert_allclose(ours[2], theirs[2], **tol)


def test_a_view_written_after_its_base_sees_the_writes():
    """The written view shares the base's storage again: values and writes outside the
    graph go both ways, and the view's node reads the base."""
    a = pynn.arange(1.0, 7.0, requires_grad=True)
    b = a * 2
    z = b.view(2, 3).t()
    z.mul_(2)
    assert z.grad_fn.name() == "AsStridedBackward0" and b.grad_fn.name() == "CopySlices"
    with pynn.no_grad():
        z[0, 0] = 100.0
    assert b[0].item() == 100.0
    assert np.shares_memory(z._data, b._data)


def test_write_through_views_finite_differences():
    """float64 central differences of a loss written through chains and sibling views."""
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal(12)

    def f(arr, requires_grad=False):
        a = pynn.tensor(arr, requires_grad=requires_grad)
        b = a * a
        v = b.view(3, 4)
        w = v.t()[1:]
        w.mul_(a[:9].view(3, 3))
        v.add_(a.view(3, 4).exp())
        b.view(2, 6).t().t()[1].mul_(a[6:])
        return a, (b * np.arange(12.0)).sum() + (w ** 2).sum()

    a, loss = f(a0, True)
    loss.backward()
    for _ in range(4):
        d = rng.standard_normal(12)
        eps = 1e-6
        numeric = (f(a0 + eps * d)[1].item() - f(a0 - eps * d)[1].item()) / (2 * eps)
        assert np.isclose(np.sum(a.grad.numpy() * d), numeric, rtol=1e-6, atol=1e-9)


def test_strided_root_outside_the_graph():
    """A base whose storage is a strided slice of an ndarray (not dense) is written through
    integer indices: still the right elements."""
    arr = np.zeros((4, 6))
    x = pynn.from_numpy(arr[:, ::2])
    a = pynn.arange(1.0, 5.0, dtype=pynn.float64, requires_grad=True)
    x.t()[1] = a * 3
    x.sum().backward()
    want = np.zeros((4, 3))
    want[:, 1] = [3, 6, 9, 12]
    np.testing.assert_array_equal(x.detach().numpy(), want)
    np.testing.assert_array_equal(a.grad.numpy(), [3.0] * 4)


def test_views_that_are_not_one_to_one_are_refused():
    a = pynn.arange(1.0, 4.0, requires_grad=True)
    b = a * 2
    e = b.expand(2, 3)
    with pytest.raises(RuntimeError, match="one to one"):
        e.add_(1)
    b.mul_(a)  # the expanded view still shows its base's writes, and is still refused
    np.testing.assert_allclose(e.detach().numpy(), [[2.0, 8.0, 18.0]] * 2)
    with pytest.raises(RuntimeError, match="one to one"):
        e.add_(1)
    x = pynn.zeros(3)
    with pytest.raises(RuntimeError, match="one to one"):
        x.expand(2, 3).mul_(a)


def test_view_of_another_dtype_is_refused():
    a = pynn.tensor([1.0 + 2.0j, 3.0 - 1.0j], requires_grad=True)
    c = a * 2
    with pytest.raises(RuntimeError, match="another dtype"):
        c.real.mul_(2)


def test_second_derivatives_through_writes_to_views():
    """create_graph=True through CopySlices and AsStridedBackward0, against torch."""
    def prog(lib, a):
        b = a * a
        v = b.view(2, 3).t()
        v.mul_(a.view(2, 3).t())
        w = b.view(3, 2)[1:]
        w.add_(a[:4].view(2, 2).sin())
        return (b * b).sum() + (v ** 3).sum()

    res = []
    for lib in (pynn, torch):
        a = lib.tensor(np.linspace(-1, 1.5, 6), dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(prog(lib, a), a, create_graph=True)
        gg, = lib.autograd.grad((g * lib.arange(6.0, dtype=lib.float64)).sum(), a)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


def test_tensors_with_views_pickle_and_copy():
    """The weak links between a tensor and its views are left out of pickles and copies."""
    import copy
    import pickle

    x = pynn.zeros(3)
    v = x.view(-1)
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x)):
        np.testing.assert_array_equal(y.numpy(), np.zeros(3))
        assert getattr(y, "_views", None) is None
    assert v._base[0] is x
    bn = pynn.nn.BatchNorm1d(3)
    bn.running_mean.view(-1)
    assert pickle.loads(pickle.dumps(bn)).running_mean.shape == (3,)
