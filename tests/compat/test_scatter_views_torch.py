"""slice_scatter, select_scatter, diagonal_scatter, put, index_reduce, renorm, narrow_copy,
is_nonzero, unsafe_chunk/split and the Tensor methods apply_, map_, dim_order against
PyTorch: values, float64 gradients of both inputs, in-place forms and errors."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")


def _pair(array, grad=False):
    return (pynn.tensor(array.copy(), requires_grad=grad),
            torch.tensor(array.copy(), requires_grad=grad))


def _check(fn_pynn, fn_torch, *arrays, grads=True):
    """fn(lib, *tensors) in both libraries: values, and with ``grads`` the gradients of a
    weighted sum with respect to every float input."""
    ours = [pynn.tensor(a.copy(), requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=grads and a.dtype.kind == "f")
              for a in arrays]
    got, want = fn_pynn(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    if grads:
        w = np.random.default_rng(5).standard_normal(tuple(want.shape))
        (got * pynn.tensor(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        for o, t in zip(ours, theirs):
            if t.requires_grad:
                np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10,
                                           atol=1e-12)


RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5, 6))


@pytest.mark.parametrize("dim, start, end, step", [(0, None, None, 1), (1, 1, 4, 1),
                                                   (2, 0, 6, 2), (-1, -3, None, 1),
                                                   (1, 2, 100, 3), (0, 3, 1, 1)])
def test_slice_scatter(dim, start, end, step):
    key = [slice(None)] * 3
    key[dim] = slice(start, end, step)
    src = RNG.standard_normal(X[tuple(key)].shape)
    _check(lambda x, s: pynn.slice_scatter(x, s, dim, start, end, step),
           lambda x, s: torch.slice_scatter(x, s, dim, start, end, step), X, src)


@pytest.mark.parametrize("dim, index", [(0, 0), (1, -1), (2, 3), (-2, 2)])
def test_select_scatter(dim, index):
    src = RNG.standard_normal(np.take(X, index, axis=dim).shape)
    _check(lambda x, s: x.select_scatter(s, dim, index),
           lambda x, s: x.select_scatter(s, dim, index), X, src)


@pytest.mark.parametrize("offset, dim1, dim2", [(0, 0, 1), (1, 1, 2), (-2, 0, 2),
                                                (2, -1, 0), (7, 0, 1)])
def test_diagonal_scatter(offset, dim1, dim2):
    src = RNG.standard_normal(np.diagonal(X, offset, dim1, dim2).shape)
    _check(lambda x, s: pynn.diagonal_scatter(x, s, offset, dim1, dim2),
           lambda x, s: torch.diagonal_scatter(x, s, offset, dim1, dim2), X, src)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put(accumulate):
    index = np.array([[0, -1, 7], [7, 119, 3]])
    src = RNG.standard_normal(6)
    if not accumulate:
        index = np.array([[0, -1, 7], [8, 119, 3]])
    _check(lambda x, i, s: pynn.put(x, i, s, accumulate),
           lambda x, i, s: torch.put(x, i, s, accumulate), X, index, src)
    a, b = _pair(X)
    a.put_(pynn.tensor(index), pynn.tensor(src), accumulate=accumulate)
    b.put_(torch.tensor(index), torch.tensor(src), accumulate=accumulate)
    np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    index = np.array([0, 4, 0, 2])
    src = RNG.standard_normal((4, 4, 6))
    _check(lambda x, i, s: pynn.index_reduce(x, 1, i, s, reduce, include_self=include_self),
           lambda x, i, s: torch.index_reduce(x, 1, i, s, reduce, include_self=include_self),
           X, index, src)
    a, b = _pair(X)
    a.index_reduce_(1, pynn.tensor(index), pynn.tensor(src), reduce, include_self=include_self)
    b.index_reduce_(1, torch.tensor(index), torch.tensor(src), reduce,
                    include_self=include_self)
    np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("p, dim, maxnorm", [(2, 0, 1.0), (1, 1, 2.5), (3.5, 2, 0.7),
                                             (2, -1, 100.0)])
def test_renorm(p, dim, maxnorm):
    _check(lambda x: pynn.renorm(x, p, dim, maxnorm), lambda x: torch.renorm(x, p, dim, maxnorm),
           X)
    a, b = _pair(X)
    a.renorm_(p, dim, maxnorm)
    b.renorm_(p, dim, maxnorm)
    np.testing.assert_allclose(a.numpy(), b.numpy())


def test_narrow_copy_and_unsafe_splits():
    _check(lambda x: pynn.narrow_copy(x, 1, 1, 3), lambda x: torch.narrow_copy(x, 1, 1, 3), X)
    a, b = _pair(X)
    for got, want in zip(a.unsafe_chunk(3, 2), b.unsafe_chunk(3, 2)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for got, want in zip(pynn.unsafe_split(a, 3, 0), torch.unsafe_split(b, 3, 0)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    copy = a.narrow_copy(0, 0, 2)
    copy += 1  # a copy: the input is unchanged
    np.testing.assert_array_equal(a.numpy(), X)


@pytest.mark.parametrize("value", [[0.0], [2], [False], [[-0.0]], [True]])
def test_is_nonzero(value):
    assert pynn.tensor(value).is_nonzero() == torch.tensor(value).is_nonzero()
    assert pynn.is_nonzero(pynn.tensor(value)) == torch.is_nonzero(torch.tensor(value))


def test_dim_order():
    a, b = _pair(X)
    for f in (lambda t: t, lambda t: t.permute(2, 0, 1), lambda t: t.transpose(0, 1),
              lambda t: t.permute(1, 2, 0).contiguous().permute(2, 0, 1)):
        assert f(a).dim_order() == f(b).dim_order()


def test_apply_and_map():
    ints = np.arange(6).reshape(2, 3)
    for array in (X[0], ints):
        a, b = _pair(array)
        a.apply_(lambda v: v * 2.7 - 1)
        b.apply_(lambda v: v * 2.7 - 1)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        a.map_(pynn.tensor(array[0]), lambda u, v: u * v + 1)
        b.map_(torch.tensor(array[0]), lambda u, v: u * v + 1)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("case", ["slice shape", "slice step", "select index", "diag shape",
                                  "put range", "put count", "index_reduce sum",
                                  "renorm 1-D", "nonzero many", "nonzero none", "apply grad"])
def test_errors_match(case):
    def run(lib):
        x = lib.zeros(3, 4)
        if case == "slice shape":
            lib.slice_scatter(x, lib.ones(3, 3), 1, 0, 2)
        elif case == "slice step":
            lib.slice_scatter(x, lib.ones(3, 2), 1, 0, 4, 0)
        elif case == "select index":
            lib.select_scatter(x, lib.ones(4), 0, 5)
        elif case == "diag shape":
            lib.diagonal_scatter(x, lib.ones(2), 0)
        elif case == "put range":
            lib.put(x, lib.tensor([0, 12]), lib.tensor([1.0, 2.0]))
        elif case == "put count":
            lib.put(x, lib.tensor([0, 1]), lib.tensor([1.0, 2.0, 3.0]))
        elif case == "index_reduce sum":
            lib.index_reduce(x, 0, lib.tensor([0, 0]), lib.ones(2, 4), "sum")
        elif case == "renorm 1-D":
            lib.renorm(lib.ones(3), 2, 0, 1.0)
        elif case == "nonzero many":
            lib.ones(2).is_nonzero()
        elif case == "nonzero none":
            lib.ones(0).is_nonzero()
        else:
            lib.ones(2, requires_grad=True).apply_(lambda v: v)

    with pytest.raises(Exception) as theirs:
        run(torch)
    with pytest.raises(type(theirs.value)) as ours:
        run(pynn)
    first = str(theirs.value).split(".")[0].split(":")[0]
    assert first.split()[0] in str(ours.value), (str(ours.value), str(theirs.value))
