"""Namespace functions and Tensor methods added for PyTorch scripts (ldexp, frexp, nextafter,
isreal, addr, diagflat, vander, chain_matmul, hsplit/vsplit/dsplit, atleast_3d and the
several-argument atleast_*d, cumulative_trapezoid, histogram, sum_to_size, storage_offset,
the namespace's in-place forms) against PyTorch: values, dtypes, shapes and gradients."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")
P, T = pynn.tensor, torch.tensor
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6))
V = RNG.standard_normal(5)
X3 = RNG.standard_normal((2, 3, 4))


def _same(ours, theirs, tol=1e-12):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, tol)
        return
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_elementwise_extras_match_torch():
    e = np.arange(6)
    _same(pynn.ldexp(P(X), P(e)), torch.ldexp(T(X), T(e)))
    _same(P(X).ldexp(P(e)), T(X).ldexp(T(e)))
    _same(pynn.nextafter(P(X), P(np.zeros_like(X))), torch.nextafter(T(X), T(np.zeros_like(X))))
    _same(pynn.frexp(P(X)), torch.frexp(T(X)))
    assert pynn.frexp(P(X)).exponent.dtype == pynn.int32
    _same(pynn.isreal(P(X)), torch.isreal(T(X)))
    c = X[:, :3] + 1j * np.where(X[:, 3:] > 0, X[:, 3:], 0)
    _same(pynn.isreal(P(c)), torch.isreal(T(c)))
    a, at = P(X, requires_grad=True), T(X, requires_grad=True)
    pynn.ldexp(a, P(e)).sum().backward()
    torch.ldexp(at, T(e)).sum().backward()
    _same(a.grad, at.grad)


def test_matrix_builders_match_torch():
    m = X[:, :5]
    _same(pynn.addr(P(m), P(X[:, 0]), P(V), beta=0.5, alpha=2),
          torch.addr(T(m), T(X[:, 0]), T(V), beta=0.5, alpha=2))
    nan = np.full((4, 5), np.nan)
    _same(pynn.addr(P(nan), P(X[:, 0]), P(V), beta=0), torch.addr(T(nan), T(X[:, 0]), T(V), beta=0))
    _same(P(m).addr(P(X[:, 0]), P(V)), T(m).addr(T(X[:, 0]), T(V)))
    _same(pynn.diagflat(P(X[:2, :2]), 1), torch.diagflat(T(X[:2, :2]), 1))
    _same(pynn.diagflat(P(V), -2), torch.diagflat(T(V), -2))
    for n, increasing in [(None, False), (3, True), (0, False)]:
        _same(pynn.vander(P(V), n, increasing), torch.vander(T(V), n, increasing))
    _same(pynn.vander(P(np.arange(4)), 3), torch.vander(T(np.arange(4)), 3))
    a = P(V, requires_grad=True)
    pynn.vander(a, 3).sum().backward()  # d/dx (x^2 + x + 1)
    np.testing.assert_allclose(a.grad.numpy(), 2 * V + 1)
    with pytest.warns(UserWarning):  # PyTorch's deprecation of chain_matmul
        want = torch.chain_matmul(T(X), T(X.T), T(X))
    _same(pynn.chain_matmul(P(X), P(X.T), P(X)), want)


@pytest.mark.parametrize("name", ["hsplit", "vsplit"])
def test_hsplit_vsplit_dsplit_match_torch(name):
    ours, theirs = getattr(pynn, name), getattr(torch, name)
    _same(ours(P(X), 2), theirs(T(X), 2))
    _same(ours(P(X), [1, 3]), theirs(T(X), [1, 3]))
    _same(getattr(P(X), name)(2), getattr(T(X), name)(2))
    _same(pynn.dsplit(P(X3), 2), torch.dsplit(T(X3), 2))
    _same(P(X3).dsplit([1]), T(X3).dsplit([1]))
    _same(pynn.hsplit(P(V[:4]), 2), torch.hsplit(T(V[:4]), 2))
    with pytest.raises(RuntimeError, match="divisible"):
        ours(P(X), 5)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        pynn.dsplit(P(X), 2)


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_takes_one_several_or_a_sequence(name):
    ours, theirs = getattr(pynn, name), getattr(torch, name)
    for a in [np.float64(3.0), V, X, X3]:
        _same(ours(P(a)), theirs(T(a)))
    _same(ours(P(V), P(X)), theirs(T(V), T(X)))
    _same(ours([P(V), P(X3)]), theirs([T(V), T(X3)]))


def test_cumulative_trapezoid_matches_torch():
    _same(pynn.cumulative_trapezoid(P(X)), torch.cumulative_trapezoid(T(X)))
    _same(pynn.cumulative_trapezoid(P(X), dx=0.5, dim=0),
          torch.cumulative_trapezoid(T(X), dx=0.5, dim=0))
    xs = np.cumsum(np.abs(RNG.standard_normal(6)))
    _same(pynn.cumulative_trapezoid(P(X), P(xs)), torch.cumulative_trapezoid(T(X), x=T(xs)))
    a, at = P(X, requires_grad=True), T(X, requires_grad=True)
    pynn.cumulative_trapezoid(a).pow(2).sum().backward()
    torch.cumulative_trapezoid(at).pow(2).sum().backward()
    _same(a.grad, at.grad)


def test_histogram_matches_torch():
    _same(pynn.histogram(P(V), 4), torch.histogram(T(V), 4))
    edges = np.array([-2.0, 0.0, 1.0, 3.0])
    _same(pynn.histogram(P(V), P(edges), density=True),
          torch.histogram(T(V), T(edges), density=True))
    ours = P(V).histogram(3, range=(-1.0, 1.0), weight=P(np.abs(V)))
    _same(ours, T(V).histogram(3, range=(-1.0, 1.0), weight=T(np.abs(V))))
    assert ours.hist is ours[0] and ours.bin_edges is ours[1]


def test_tensor_queries_and_sum_to_size_match_torch():
    t, tt = P(X), T(X)
    assert t[1:, 2:].storage_offset() == tt[1:, 2:].storage_offset()
    assert t.t()[2].storage_offset() == tt.t()[2].storage_offset()
    for size in [(1, 6), (6,), (4, 1), (1, 1)]:
        _same(t.sum_to_size(*size), tt.sum_to_size(*size))
    _same(t.sum_to_size((4, 1)), tt.sum_to_size((4, 1)))
    with pytest.raises(RuntimeError, match="not expandable"):
        t.sum_to_size(3, 6)
    assert t.is_same_size(P(X.T).t()) and not t.is_same_size(P(X.T))
    assert pynn.is_signed(t) and not P(np.array([1], np.uint8)).is_signed()
    assert pynn.is_inference(t) is tt.is_inference() is False
    e = t.new_empty_strided((2, 3), (3, 1))
    assert tuple(e.shape) == (2, 3) and e.dtype == pynn.float64


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "exp_", "tanh_", "abs_", "sqrt_", "zero_",
                                  "acosh_", "asinh_", "atanh_", "erfc_"])
def test_namespace_in_place_forms_write_their_input(name):
    data = np.abs(X) * 0.5 + (1.01 if name == "acosh_" else 0.0)
    if name == "atanh_":
        data = np.tanh(X)
    ours, theirs = P(data), T(data)
    result = getattr(pynn, name)(ours)
    getattr(torch, name)(theirs)
    assert result is ours
    _same(ours, theirs)
    tensor_form = P(data)
    getattr(tensor_form, name)()
    _same(tensor_form, theirs)


def test_keyword_arguments_pytorch_scripts_pass():
    index = np.array([[0], [1], [2], [0]])
    _same(pynn.gather(P(X), 1, P(index), sparse_grad=False),
          torch.gather(T(X), 1, T(index), sparse_grad=False))
    _same(P(X).gather(1, P(index), sparse_grad=True), T(X).gather(1, T(index)))
    _same(pynn.concatenate([P(X), P(X)], axis=1), torch.concatenate([T(X), T(X)], axis=1))
    _same(pynn.cdist(P(X), P(X[:2]), compute_mode="donot_use_mm_for_euclid_dist"),
          torch.cdist(T(X), T(X[:2]), compute_mode="donot_use_mm_for_euclid_dist"))


def test_axis_is_dim_for_cat_and_stack():
    for ours, theirs, kw in ((pynn.cat, torch.cat, "axis"), (pynn.concat, torch.concat, "axis"),
                             (pynn.concatenate, torch.concatenate, "dim"),
                             (pynn.concatenate, torch.concatenate, "axis"),
                             (pynn.stack, torch.stack, "axis")):
        _same(ours([P(X), P(X)], **{kw: 1}), theirs([T(X), T(X)], **{kw: 1}))
    y = P(np.array([1.0, 2.0], np.float32))
    y.nextafter_(P(np.array([2.0, 1.0], np.float32)))
    expected = torch.tensor([1.0, 2.0]).nextafter_(torch.tensor([2.0, 1.0]))
    _same(y, expected)
