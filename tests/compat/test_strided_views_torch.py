"""as_strided (function, method, in-place and scatter forms), split_with_sizes and its unsafe
form, and the Tensor methods hardshrink, prelu, swapaxes_/swapdims_, is_neg and layout against
PyTorch: values, float64 gradients (overlapping windows accumulate), writes through the views,
higher-order gradients and errors."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)


def _both(array, grad=True):
    return (pynn.tensor(array.copy(), requires_grad=grad),
            torch.tensor(array.copy(), requires_grad=grad))


def _close(got, want, tol=1e-12):
    np.testing.assert_allclose(np.asarray(got.detach().numpy()), want.detach().numpy(),
                               rtol=tol, atol=tol)


def _check(fn_pynn, fn_torch, *arrays, tol=1e-12):
    """fn(*tensors) in both libraries: values, dtype, and the gradients of a random weighted sum
    of the output with respect to every float input."""
    ours, theirs = zip(*(_both(a, a.dtype.kind == "f") for a in arrays))
    got, want = fn_pynn(*ours), fn_torch(*theirs)
    _close(got, want, tol)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    w = RNG.standard_normal(tuple(want.shape))
    (got * pynn.tensor(w.astype(arrays[0].dtype))).sum().backward()
    (want * torch.tensor(w.astype(arrays[0].dtype))).sum().backward()
    for o, t in zip(ours, theirs):
        if t.requires_grad:
            _close(o.grad, t.grad, tol)
    return got


# -- as_strided ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, size, stride, offset", [
    ((10,), (4, 3), (2, 1), None),          # sliding windows of 3 every 2: they overlap
    ((10,), (8, 3), (1, 1), None),          # every window of 3: each element read up to 3 times
    ((7,), (3, 3), (1, 1), 1),              # odd sizes, an offset
    ((4, 5), (3, 4, 2, 2), (5, 1, 5, 1), 0),  # 2x2 patches of a 4x5 image (im2col's windows)
    ((3, 4), (4, 3), (1, 4), None),         # the transpose, as a view
    ((2, 3, 5), (5,), (6,), 2),             # a column across the batch
    ((6,), (3,), (0,), 4),                  # one element repeated (stride 0)
    ((6,), (0, 4), (3, 1), 100),            # empty: no bounds to check
    ((1,), (1,), (1,), None),
])
def test_as_strided_values_and_gradients(shape, size, stride, offset):
    x = RNG.standard_normal(shape)
    got = _check(lambda t: pynn.as_strided(t, size, stride, offset),
                 lambda t: torch.as_strided(t, size, stride, offset), x)
    assert got.grad_fn.name() == "AsStridedBackward0"
    _check(lambda t: t.as_strided(size, stride, offset),
           lambda t: t.as_strided(size, stride, offset), x)


def test_as_strided_float32_and_integers():
    x = RNG.standard_normal(12).astype(np.float32)
    _check(lambda t: t.as_strided((5, 4), (2, 1)), lambda t: t.as_strided((5, 4), (2, 1)), x,
           tol=1e-6)
    i = np.arange(12)
    got = pynn.tensor(i).as_strided((3, 3), (3, 1), 2)
    want = torch.tensor(i).as_strided((3, 3), (3, 1), 2)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.dtype == pynn.int64


def test_as_strided_sliding_window_matches_unfold():
    # a sliding-window unfold written with as_strided, as PyTorch programs write it
    x = RNG.standard_normal((3, 11))
    a, b = _both(x)
    n, k, step = 11, 4, 3
    count = (n - k) // step + 1
    got = a.as_strided((3, count, k), (a.stride(0), step, 1))
    want = b.as_strided((3, count, k), (b.stride(0), step, 1))
    _close(got, want)
    _close(got, a.unfold(1, k, step))
    w = RNG.standard_normal((3, count, k))
    (got * pynn.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    _close(a.grad, b.grad)


def test_as_strided_gradcheck_overlapping():
    x = pynn.tensor(RNG.standard_normal(9), requires_grad=True)
    assert pynn.autograd.gradcheck(lambda t: t.as_strided((4, 3), (2, 1)) ** 2, (x,))
    assert pynn.autograd.gradgradcheck(lambda t: t.as_strided((4, 3), (2, 1)) ** 2, (x,))


@pytest.mark.parametrize("view", ["transpose", "narrow", "expand", "permute"])
def test_as_strided_of_views_counts_from_the_storage(view):
    # positions count from the start of the storage, not from the view's first element; the
    # gradient reaches only the view's elements (an expanded view shares it out equally)
    x = RNG.standard_normal((4, 6))
    cases = {
        "transpose": (lambda t: t.t(), (3, 4), (1, 6), None),
        "narrow": (lambda t: t[1:3], (2, 8), (7, 1), 0),
        "expand": (lambda t: t[1].expand(3, 6), (4,), (1,), 8),
        "permute": (lambda t: t.reshape(2, 3, 4).permute(2, 0, 1), (2, 2), (5, 7), None),
    }
    make, size, stride, offset = cases[view]

    def run(t):
        v = make(t * 1)  # a view of a non-leaf, in the graph
        assert v.storage_offset() == make(t.detach()).storage_offset()
        return v.as_strided(size, stride, offset)
    _check(run, run, x)


def test_as_strided_shares_storage_and_writes_reach_the_base():
    a, b = pynn.arange(12.0), torch.arange(12.0)
    va, vb = a.as_strided((2, 3), (4, 1), 1), b.as_strided((2, 3), (4, 1), 1)
    assert va.stride() == vb.stride() == (4, 1) and not va.is_contiguous()
    assert va.storage_offset() == vb.storage_offset() == 1
    assert va.data_ptr() == a.data_ptr() + a.element_size()
    va += 100
    vb += 100
    _close(a, b)
    a[1] = -1.0
    b[1] = -1.0
    _close(va, vb)
    # a view's default offset is its own
    _close(a[5:].as_strided((3,), (2,)), b[5:].as_strided((3,), (2,)))
    assert a[5:].as_strided((3,), (2,)).storage_offset() == 5


def test_as_strided_write_in_the_graph_reaches_the_base():
    x = RNG.standard_normal(10)
    outs = []
    for lib in (pynn, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        base = leaf * 2
        view = base.as_strided((2, 3), (4, 1), 1)
        view.mul_(view.detach() + 1)
        (base * lib.arange(10.0, dtype=lib.float64)).sum().backward()
        outs.append((base, leaf.grad))
    _close(outs[0][0], outs[1][0])
    _close(outs[0][1], outs[1][1])


def test_as_strided_higher_order_gradients():
    x = RNG.standard_normal(8)
    grads = []
    for lib in (pynn, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        y = (leaf.as_strided((3, 3), (1, 2), 1) ** 3).sum()
        (g,) = lib.autograd.grad(y, leaf, create_graph=True)
        (g * lib.arange(8.0, dtype=lib.float64)).sum().backward()
        grads.append((g, leaf.grad))
    _close(grads[0][0], grads[1][0])
    _close(grads[0][1], grads[1][1])


def test_as_strided_higher_order_of_an_expanded_input():
    x = RNG.standard_normal(4)
    grads = []
    for lib in (pynn, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        y = (leaf.expand(3, 4).as_strided((3,), (1,), 1) ** 2 * lib.tensor([1.0, 2, 3],
                                                                          dtype=lib.float64))
        (g,) = lib.autograd.grad(y.sum(), leaf, create_graph=True)
        (g ** 2).sum().backward()
        grads.append((g, leaf.grad))
    _close(grads[0][0], grads[1][0])
    _close(grads[0][1], grads[1][1])


def test_as_strided_inplace():
    x = RNG.standard_normal(12)
    outs = []
    for lib in (pynn, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        t = (leaf * 3).reshape(3, 4)
        assert t.as_strided_((2, 2), (4, 1), 1) is t
        assert t.shape == (2, 2) and t.stride() == (4, 1) and t.storage_offset() == 1
        (t * lib.tensor([[1.0, 2], [3, 4]], dtype=lib.float64)).sum().backward()
        outs.append((t, leaf.grad))
    _close(outs[0][0], outs[1][0])
    _close(outs[0][1], outs[1][1])
    a = pynn.arange(6.0)
    pynn.as_strided_(a, (2,), (3,))
    np.testing.assert_array_equal(a.numpy(), [0.0, 3.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        pynn.ones(3, requires_grad=True).as_strided_((2,), (1,))


@pytest.mark.parametrize("size, stride, offset", [((3, 3), (1, 1), 9), ((11,), (1,), None),
                                                  ((2, 2), (5, 5), 0)])
def test_as_strided_out_of_bounds(size, stride, offset):
    a, b = pynn.arange(10.0, dtype=pynn.float32), torch.arange(10.0)
    with pytest.raises(RuntimeError) as want:
        b.as_strided(size, stride, offset)
    with pytest.raises(RuntimeError) as got:
        a.as_strided(size, stride, offset)
    assert str(got.value) == str(want.value)
    assert "out of bounds for storage of size 40" in str(got.value)
    # a view's storage is its base's: in bounds of the base, out of them past its end
    assert a[8:].as_strided((3,), (1,), 7).tolist() == [7.0, 8.0, 9.0]
    with pytest.raises(RuntimeError, match="setStorage: sizes \\[3\\], strides \\[1\\], "
                                           "storage offset 8"):
        a[8:].as_strided((3,), (1,))


@pytest.mark.parametrize("args", [((2, 2), (1,)), ((2, 2), (-1, 1)), ((3,), (1,), -1),
                                  ((-1,), (1,))])
def test_as_strided_errors_match_torch(args):
    with pytest.raises(RuntimeError) as want:
        torch.arange(10.0).as_strided(*args)
    with pytest.raises(RuntimeError) as got:
        pynn.arange(10.0).as_strided(*args)
    assert str(got.value) == str(want.value)


def test_as_strided_type_errors():
    for lib in (pynn, torch):
        with pytest.raises(TypeError, match="must be tuple of ints"):
            lib.as_strided(lib.arange(10.0), (2.5,), (1,))
        with pytest.raises(TypeError, match="must be tuple of ints"):
            lib.arange(10.0).as_strided((2,), 1.0)


# -- as_strided_scatter --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, size, stride, offset", [
    ((3, 4), (2, 2), (4, 1), 5), ((3, 4), (3,), (5,), None), ((12,), (2, 3), (6, 2), 1),
    ((2, 3, 2), (3, 2), (1, 3), 0),
])
def test_as_strided_scatter(shape, size, stride, offset):
    # values and the gradient of src as PyTorch's; input's gradient is the derivative (one
    # outside the written view, zero inside), checked by finite differences, where PyTorch
    # 2.13's backward gives input the written positions' gradient instead
    x, src = RNG.standard_normal(shape), RNG.standard_normal(size)
    for make in (lambda lib, t, s: lib.as_strided_scatter(t, s, size, stride, offset),
                 lambda lib, t, s: t.as_strided_scatter(s, size, stride, offset)):
        (a, b), (sa, sb) = _both(x), _both(src)
        got, want = make(pynn, a, sa), make(torch, b, sb)
        _close(got, want)
        w = RNG.standard_normal(shape)
        (got * pynn.tensor(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        _close(sa.grad, sb.grad)
        written = np.zeros(shape)
        written.reshape(-1)[:] = 1.0
        written = torch.as_strided_scatter(torch.tensor(written), torch.zeros(size,
                                           dtype=torch.float64), size, stride, offset)
        np.testing.assert_array_equal(a.grad.numpy(), w * written.numpy())
    assert pynn.autograd.gradcheck(
        lambda t, s: pynn.as_strided_scatter(t, s, size, stride, offset),
        (pynn.tensor(x, requires_grad=True), pynn.tensor(src, requires_grad=True)))


def test_as_strided_scatter_overlapping_view_writes_the_last():
    x, src = RNG.standard_normal(5), RNG.standard_normal((2, 2))
    a, sa = pynn.tensor(x, requires_grad=True), pynn.tensor(src, requires_grad=True)
    got = pynn.as_strided_scatter(a, sa, (2, 2), (1, 1), 1)  # positions 1, 2, 2, 3
    np.testing.assert_array_equal(got.detach().numpy(),
                                  [x[0], src[0, 0], src[1, 0], src[1, 1], x[4]])
    got.backward(pynn.tensor(np.arange(1.0, 6.0)))
    np.testing.assert_array_equal(sa.grad.numpy(), [[2.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 0.0, 0.0, 5.0])
    assert pynn.autograd.gradcheck(lambda t, s: pynn.as_strided_scatter(t, s, (2, 2), (1, 1), 1),
                                   (a, sa))


def test_as_strided_scatter_input_gradient_as_slice_scatter():
    # a view that is a slice: the gradients are slice_scatter's, in both libraries
    x, src = RNG.standard_normal((4, 5)), RNG.standard_normal((2, 5))
    (a, b), (sa, sb) = _both(x), _both(src)
    w = RNG.standard_normal((4, 5))
    (pynn.as_strided_scatter(a, sa, (2, 5), (5, 1), 5) * pynn.tensor(w)).sum().backward()
    (torch.slice_scatter(b, sb, 0, 1, 3) * torch.tensor(w)).sum().backward()
    _close(a.grad, b.grad)
    _close(sa.grad, sb.grad)


VIEWS = {"rows": lambda t: t[1:], "columns": lambda t: t[:, ::2],
         "odd columns": lambda t: t[:, 1::2], "transpose": lambda t: t.t(),
         "transposed rows": lambda t: t.t()[1:], "expanded": lambda t: t[0].expand(3, 4)}


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("offset", [None, 0, 1, 5, 10])
def test_as_strided_scatter_of_views(view, offset):
    # the copy keeps the view's place in its storage, as PyTorch's does (C order when it holds
    # an element twice); src elements landing on positions the view lacks are dropped
    x, src = RNG.standard_normal((3, 4)), RNG.standard_normal(2)
    make = VIEWS[view]
    a, sa = make(pynn.tensor(x)), pynn.tensor(src, requires_grad=True)
    got = pynn.as_strided_scatter(a, sa, (2,), (1,), offset)
    want = torch.as_strided_scatter(make(torch.tensor(x)), torch.tensor(src), (2,), (1,), offset)
    _close(got, want)
    got.sum().backward()
    landed = [np.isin(v, want.numpy()) for v in src]
    np.testing.assert_array_equal(sa.grad.numpy(), np.array(landed, float))
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 96"):
        pynn.as_strided_scatter(a, sa, (2,), (1,), 11)


def test_as_strided_scatter_errors():
    for lib in (pynn, torch):
        with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice "
                                               "of self. src size = \\[3\\], slice size = "
                                               "\\[2, 2\\]"):
            lib.as_strided_scatter(lib.zeros(3, 4), lib.ones(3), (2, 2), (1, 1))
        with pytest.raises(RuntimeError, match="requiring a storage size of 64 are out of "
                                               "bounds for storage of size 48"):
            lib.as_strided_scatter(lib.zeros(3, 4), lib.ones(4, 4), (4, 4), (4, 1))


# -- split_with_sizes ----------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, dim", [([1, 2, 3], 1), ([4], 0), ([0, 2, 0, 3], -1),
                                        ((2, 2, 1), 2), ([1, 1, 1, 1], 0)])
@pytest.mark.parametrize("name", ["split_with_sizes", "unsafe_split_with_sizes"])
def test_split_with_sizes(name, sizes, dim):
    shape = [4, 6, 5]
    shape[dim] = sum(sizes)
    x = RNG.standard_normal(shape)
    a, b = _both(x)
    got, want = getattr(pynn, name)(a, sizes, dim), getattr(torch, name)(b, sizes, dim)
    assert isinstance(got, tuple) and len(got) == len(want)
    ws = [RNG.standard_normal(tuple(w.shape)) for w in want]
    for g, w in zip(got, want):
        _close(g, w)
    sum((g * pynn.tensor(w)).sum() for g, w in zip(got, ws)).backward()
    sum((g * torch.tensor(w)).sum() for g, w in zip(want, ws)).backward()
    _close(a.grad, b.grad)
    method = getattr(a.detach(), name)(sizes, dim=dim)
    for g, w in zip(method, want):
        _close(g, w)


def test_split_with_sizes_views_and_gradcheck():
    a = pynn.arange(10.0)
    first, second = a.split_with_sizes([3, 7])
    second[0] = -1.0
    first[0] = -2.0
    assert a[3].item() == -1.0 and second.storage_offset() == 3 and a[0].item() == -2.0
    x = pynn.tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    assert pynn.autograd.gradcheck(
        lambda t: pynn.cat([p * (i + 1) for i, p in enumerate(t.split_with_sizes([2, 0, 3]))]),
        (x,))


@pytest.mark.parametrize("sizes, dim", [([1, 1], 0), ([1, 4], 1), ([-1, 5], 1), ([2, 3], -1)])
def test_split_with_sizes_errors(sizes, dim):
    with pytest.raises(RuntimeError) as want:
        torch.zeros(3, 4).split_with_sizes(sizes, dim)
    with pytest.raises(RuntimeError) as got:
        pynn.zeros(3, 4).split_with_sizes(sizes, dim)
    assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError) as got:
        pynn.unsafe_split_with_sizes(pynn.zeros(3, 4), sizes, dim)
    assert str(got.value) == str(want.value)
    with pytest.raises(TypeError, match="split_sizes"):
        pynn.split_with_sizes(pynn.zeros(3, 4), 2)


# -- small Tensor methods ------------------------------------------------------------------------

@pytest.mark.parametrize("lambd", [0.5, 0.1, 1.5])
def test_hardshrink_method(lambd):
    x = RNG.standard_normal((4, 7))
    _check(lambda t: t.hardshrink(lambd), lambda t: t.hardshrink(lambd), x)
    _check(lambda t: t.hardshrink(), lambda t: t.hardshrink(), x)


@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_method(channels):
    x, w = RNG.standard_normal((2, 3, 5)), np.abs(RNG.standard_normal(channels)) * 0.3
    _check(lambda t, s: t.prelu(s), lambda t, s: t.prelu(s), x, w)


@pytest.mark.parametrize("name", ["swapaxes_", "swapdims_"])
def test_swap_inplace(name):
    x = RNG.standard_normal((2, 3, 4))
    outs = []
    for lib in (pynn, torch):
        leaf = lib.tensor(x.copy(), requires_grad=True)
        t = leaf * 1
        assert getattr(t, name)(0, -1) is t
        assert tuple(t.shape) == (4, 3, 2) and t.stride() == (1, 4, 12)
        w = lib.tensor(np.arange(24.0).reshape(4, 3, 2))
        (t * w).sum().backward()
        outs.append((t, leaf.grad))
    _close(outs[0][0], outs[1][0])
    _close(outs[0][1], outs[1][1])
    a = pynn.zeros(2, 5)
    getattr(a, name)(1, 0)
    assert a.shape == (5, 2)


def test_is_neg_and_layout():
    a = pynn.randn(3)
    for t in (a, -a, a.neg(), pynn.zeros(2, dtype=pynn.complex64).conj()):
        assert t.is_neg() is False
    assert pynn.is_neg(a) is False
    assert a.layout is pynn.strided and a.t().layout is pynn.strided
    assert pynn.zeros(2, 3).t().layout == pynn.strided
    assert repr(a.layout) == "pynn.strided"
    assert torch.zeros(2).layout is torch.strided  # the behaviour copied
