"""Max and average pooling: compiled against the NumPy reference, PyTorch's tie/NaN/padding
rules, gradient checks and argument errors."""


import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

LAYOUTS = ("contiguous", "strided", "fortran", "readonly")

# (x shape, kernel_size, stride, padding): odd, prime and non-square windows, stride None,
# padding up to half the kernel; the last is large enough (>= 4096 outputs) to go parallel.
GEOMETRIES = [
    ((1, 1, 1, 1), 1, None, 0),
    ((1, 1, 7, 5), 2, None, 0),
    ((1, 1, 7, 5), 3, 1, 1),
    ((1, 1, 7, 5), (3, 2), (2, 1), (1, 1)),
    ((2, 3, 13, 11), (3, 2), (2, 1), (1, 1)),
    ((2, 3, 13, 11), (1, 1), (1, 1), (0, 0)),
    ((2, 3, 13, 11), (5, 3), None, (2, 1)),
    ((2, 3, 13, 11), 3, 2, 1),
    ((3, 2, 28, 28), 2, None, 0),
    ((3, 2, 28, 28), (3, 2), (1, 2), (1, 0)),
    ((2, 8, 33, 31), 3, 1, 1),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _out_hw(x_shape, k, s, p):
    k, p = _pair(k), _pair(p)
    s = k if s is None else _pair(s)
    return tuple((x_shape[2 + a] + 2 * p[a] - k[a]) // s[a] + 1 for a in range(2))


def _in_layout(arr, name):
    return dict(layouts(arr))[name]


# ---------------------------------------------------------------------------------------------
# Compiled matches reference, on 1 and 2 threads (per-plane work: bitwise equal either way)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES)
def test_max_pool2d_forward_matches_reference(x_shape, k, s, p, dtype, layout, compiled,
                                              reference, rng, threads):
    # Few distinct values: plenty of ties inside windows.
    x = _in_layout(rng.integers(-3, 4, size=x_shape).astype(dtype), layout)
    y_ref, idx_ref = reference.max_pool2d_forward(x, k, s, p)
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        y, idx = compiled.max_pool2d_forward(x, k, s, p)
        assert_close(y, y_ref, dtype)
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx, idx_ref)
        results.append(y)
    np.testing.assert_array_equal(results[0], results[1])
    # Indices are flat h * W + w positions in each plane holding the maximum.
    n, c = x_shape[:2]
    picked = np.take_along_axis(x.reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
    np.testing.assert_array_equal(picked.reshape(y.shape), y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES)
def test_max_pool2d_backward_matches_reference(x_shape, k, s, p, dtype, compiled, reference,
                                               rng, threads):
    x = rng.integers(-3, 4, size=x_shape).astype(dtype)
    _, idx = reference.max_pool2d_forward(x, k, s, p)
    grad = random(rng, idx.shape, dtype)
    expected = reference.max_pool2d_backward(grad, idx, x_shape)
    kh, kw = _pair(k)
    for _layout, dy in layouts(grad):
        results = []
        for n_threads in (1, 2):
            threads(n_threads)
            results.append(compiled.max_pool2d_backward(dy, idx, x_shape))
            assert_close(results[-1], expected, dtype, kh * kw)
        np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES)
def test_avg_pool2d_forward_matches_reference(x_shape, k, s, p, dtype, layout,
                                              count_include_pad, compiled, reference, rng,
                                              threads):
    x = _in_layout(random(rng, x_shape, dtype), layout)
    expected = reference.avg_pool2d_forward(x, k, s, p, count_include_pad)
    kh, kw = _pair(k)
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        results.append(compiled.avg_pool2d_forward(x, k, s, p, count_include_pad))
        assert_close(results[-1], expected, dtype, kh * kw)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES)
def test_avg_pool2d_backward_matches_reference(x_shape, k, s, p, dtype, count_include_pad,
                                               compiled, reference, rng, threads):
    grad = random(rng, x_shape[:2] + _out_hw(x_shape, k, s, p), dtype)
    expected = reference.avg_pool2d_backward(grad, x_shape, k, s, p, count_include_pad)
    kh, kw = _pair(k)
    for _layout, dy in layouts(grad):
        results = []
        for n_threads in (1, 2):
            threads(n_threads)
            results.append(compiled.avg_pool2d_backward(dy, x_shape, k, s, p,
                                                        count_include_pad))
            assert_close(results[-1], expected, dtype, kh * kw)
        np.testing.assert_array_equal(results[0], results[1])


# ---------------------------------------------------------------------------------------------
# Semantics: ties, NaN, padding, divisors


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_first_maximum_wins(name, dtype):
    m = backend.get(name)
    x = np.array([[[[1, 5, 5, 0, 3], [5, 2, 5, 5, 3]]]], dtype)
    y, idx = m.max_pool2d_forward(x, (2, 3), (1, 2))
    np.testing.assert_array_equal(y, [[[[5, 5]]]])
    np.testing.assert_array_equal(idx, [[[[1, 2]]]])


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_last_nan_wins_and_propagates(name, dtype):
    m = backend.get(name)
    nan = np.nan
    # Window 1: a NaN followed by larger values; window 2: two NaNs (flat 3 and 6).
    x = np.array([[[[1, nan, 3, nan], [2, 5, nan, 0]]]], dtype)
    y, idx = m.max_pool2d_forward(x, 2)
    assert np.isnan(y).all()
    np.testing.assert_array_equal(idx, [[[[1, 6]]]])
    dx = m.max_pool2d_backward(np.ones_like(y), idx, x.shape)
    np.testing.assert_array_equal(dx.reshape(-1), [0, 1, 0, 0, 0, 0, 1, 0])


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, k, s, p",
                         [((1, 2, 3, 3), 3, 1, 1), ((1, 1, 5, 4), (3, 2), 2, 1)])
def test_max_pool2d_never_selects_padding(name, dtype, x_shape, k, s, p):
    """All real values are -inf: each index is the first in-image position of its window."""
    m = backend.get(name)
    x = np.full(x_shape, -np.inf, dtype)
    y, idx = m.max_pool2d_forward(x, k, s, p)
    (sh, sw), (ph, pw) = _pair(s), _pair(p)
    oh, ow = y.shape[2:]
    rows = np.maximum(np.arange(oh) * sh - ph, 0)
    cols = np.maximum(np.arange(ow) * sw - pw, 0)
    expected = rows[:, None] * x_shape[3] + cols[None, :]
    assert np.all(y == -np.inf)
    np.testing.assert_array_equal(idx, np.broadcast_to(expected, idx.shape))


# Widths that give the 2x2 pooling (float32 on x86-64) whole steps of sixteen windows
# (AVX-512 build, its last step masked), of eight (AVX2) and of four, each with and without
# a tail, an odd last column that belongs to no window, and rows too short for a step:
# 12 = 8 + 4, 13 = 8 + 4 + 1, 16, 17 = 16 + 1, 25, 32 = 16 + 16.
PAIR_PLANES = [(4, 8), (5, 17), (24, 24), (2, 30), (3, 6), (3, 26), (2, 32), (3, 51), (2, 35),
               (2, 64)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", PAIR_PLANES)
def test_max_pool2d_2x2_keeps_tie_and_nan_rules(hw, dtype, isa, compiled, reference, rng):
    x = rng.integers(-2, 3, size=(2, 3) + hw).astype(dtype)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[rng.random(x.shape) < 0.1] = -np.inf
    y, idx = compiled.max_pool2d_forward(x, 2)
    y_ref, idx_ref = reference.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    dy = random(rng, y.shape, dtype)
    np.testing.assert_array_equal(compiled.max_pool2d_backward(dy, idx, x.shape),
                                  reference.max_pool2d_backward(dy, idx, x.shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hw", PAIR_PLANES)
def test_max_pool2d_backward_takes_indices_outside_their_window(hw, dtype, isa, compiled,
                                                                reference, rng):
    """Indices need not come from the forward pass: every position in the plane receives
    its gradient, summed where several indices meet, whichever column it sits in."""
    x_shape = (2, 3) + hw
    _, idx = reference.max_pool2d_forward(random(rng, x_shape, dtype), 2)
    plane = hw[0] * hw[1]
    for column in range(idx.shape[3]):
        moved = idx.copy()
        moved[1, 2, -1, column] = rng.integers(plane)
        moved[0, 0, 0, column] = plane - 1
        dy = random(rng, idx.shape, dtype)
        assert_close(compiled.max_pool2d_backward(dy, moved, x_shape),
                     reference.max_pool2d_backward(dy, moved, x_shape), dtype, 4)
        moved[0, 1, 0, column] = plane
        with pytest.raises(ValueError, match="indices out of range"):
            compiled.max_pool2d_backward(dy, moved, x_shape)
        moved[0, 1, 0, column] = -1
        with pytest.raises(ValueError, match="indices out of range"):
            compiled.max_pool2d_backward(dy, moved, x_shape)
        # Its own window's position in the low 32 bits.
        moved[0, 1, 0, column] = idx[0, 1, 0, column] + 2**32
        with pytest.raises(ValueError, match="indices out of range"):
            compiled.max_pool2d_backward(dy, moved, x_shape)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool2d_divisor_at_borders(name, count_include_pad, dtype):
    """Ones in, 3x2 window, padding (1, 1): the result is (positions inside) / divisor."""
    m = backend.get(name)
    x = np.ones((1, 1, 4, 5), dtype)
    y = m.avg_pool2d_forward(x, (3, 2), 1, (1, 1), count_include_pad)
    rows = np.array([2, 3, 3, 2])  # in-image rows of each 3-row window (oh = 4)
    cols = np.array([1, 2, 2, 2, 2, 1])  # in-image columns of each 2-column window (ow = 6)
    inside = rows[:, None] * cols[None, :]
    expected = inside / 6 if count_include_pad else np.ones_like(inside, float)
    assert_close(y, expected[None, None].astype(dtype), dtype)
    # The backward pass spreads dy / divisor over the in-image positions.
    dx = m.avg_pool2d_backward(np.ones_like(y), x.shape, (3, 2), 1, (1, 1), count_include_pad)
    weight = np.broadcast_to(1 / (6 if count_include_pad else inside), inside.shape)
    wins = np.zeros((4 + 2, 5 + 2))
    for i in range(4):
        for j in range(6):
            wins[i:i + 3, j:j + 2] += weight[i, j]
    assert_close(dx, wins[None, None, 1:-1, 1:-1].astype(dtype), dtype, 6)


# ---------------------------------------------------------------------------------------------
# Gradient checks (float64, both backends)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES[1:8])
def test_max_pool2d_gradcheck(name, x_shape, k, s, p, rng):
    m = backend.get(name)
    # A permutation: no ties, and neighbours differ by 1 >> eps, so argmaxes are stable.
    x = rng.permutation(int(np.prod(x_shape))).reshape(x_shape).astype(np.float64)
    directional_check(
        lambda x: m.max_pool2d_forward(x, k, s, p)[0],
        lambda x, dy: m.max_pool2d_backward(dy, m.max_pool2d_forward(x, k, s, p)[1], x.shape),
        x, rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES[1:8])
def test_avg_pool2d_gradcheck(name, x_shape, k, s, p, count_include_pad, rng):
    m = backend.get(name)
    directional_check(
        lambda x: m.avg_pool2d_forward(x, k, s, p, count_include_pad),
        lambda x, dy: m.avg_pool2d_backward(dy, x.shape, k, s, p, count_include_pad),
        random(rng, x_shape, np.float64), rng)


# ---------------------------------------------------------------------------------------------
# Against PyTorch


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES[1:10])
def test_max_pool2d_matches_torch(name, x_shape, k, s, p, rng):
    torch = pytest.importorskip("torch")
    m = backend.get(name)
    # Ties, NaNs and -inf all at once.
    x = rng.integers(-2, 3, size=x_shape).astype(np.float64)
    x[rng.random(x_shape) < 0.05] = np.nan
    x[rng.random(x_shape) < 0.2] = -np.inf
    y, idx = m.max_pool2d_forward(x, k, s, p)
    y_t, idx_t = torch.nn.functional.max_pool2d(
        torch.from_numpy(x), k, s if s is not None else k, p, return_indices=True)
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(idx, idx_t.numpy())


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("x_shape, k, s, p", GEOMETRIES[1:10])
def test_avg_pool2d_matches_torch(name, x_shape, k, s, p, count_include_pad, rng):
    torch = pytest.importorskip("torch")
    m = backend.get(name)
    x = random(rng, x_shape, np.float64)
    y = m.avg_pool2d_forward(x, k, s, p, count_include_pad)
    x_t = torch.from_numpy(x).requires_grad_()
    y_t = torch.nn.functional.avg_pool2d(x_t, k, s, p, count_include_pad=count_include_pad)
    assert_close(y, y_t.detach().numpy(), np.float64, 25)
    dy = random(rng, y.shape, np.float64)
    y_t.backward(torch.from_numpy(dy))
    dx = m.avg_pool2d_backward(dy, x.shape, k, s, p, count_include_pad)
    assert_close(dx, x_t.grad.numpy(), np.float64, 25)


# ---------------------------------------------------------------------------------------------
# Argument errors: same exception and message in both backends

X = np.zeros((1, 2, 6, 5))
DY = np.zeros((1, 2, 3, 2))
IDX = np.zeros((1, 2, 3, 2), np.int64)

ERRORS = [
    ("max_pool2d_forward", (np.zeros((2, 6, 5)), 2), ValueError,
     "max_pool2d_forward: x must have 4 dimensions (N, C, H, W), got shape (2, 6, 5)"),
    ("avg_pool2d_forward", (np.zeros((2, 6, 5)), 2), ValueError,
     "avg_pool2d_forward: x must have 4 dimensions (N, C, H, W), got shape (2, 6, 5)"),
    ("max_pool2d_forward", (X.astype(np.int64), 2), TypeError,
     "max_pool2d_forward: x must be float32 or float64, got int64"),
    ("avg_pool2d_forward", (X.astype(np.float16), 2), TypeError,
     "avg_pool2d_forward: x must be float32 or float64, got float16"),
    ("max_pool2d_forward", (X.tolist(), 2), TypeError,
     "max_pool2d_forward: x must be a numpy.ndarray, got list"),
    ("max_pool2d_forward", (X, 7), ValueError,
     ("max_pool2d_forward: kernel (dilated extent 7) is larger than the padded input (6 + 2*0) "
     "along H; input spatial size (6, 5)")),
    ("avg_pool2d_forward", (X, (2, 6)), ValueError,
     ("avg_pool2d_forward: kernel (dilated extent 6) is larger than the padded input (5 + 2*0) "
     "along W; input spatial size (6, 5)")),
    ("max_pool2d_forward", (X, 2, 0), ValueError,
     "max_pool2d_forward: stride must be >= 1, got 0"),
    ("avg_pool2d_forward", (X, 2, (1, -1)), ValueError,
     "avg_pool2d_forward: stride must be >= 1, got (1, -1)"),
    ("max_pool2d_forward", (X, 3, 1, 2), ValueError,
     "max_pool2d_forward: padding (2, 2) must be at most half of kernel_size (3, 3)"),
    ("avg_pool2d_forward", (X, (3, 2), 1, (1, 2)), ValueError,
     "avg_pool2d_forward: padding (1, 2) must be at most half of kernel_size (3, 2)"),
    ("max_pool2d_forward", (X, 2, 1, -1), ValueError,
     "max_pool2d_forward: padding must be >= 0, got -1"),
    ("max_pool2d_forward", (X, 2.5), TypeError,
     "max_pool2d_forward: kernel_size must be integers, got 2.5"),
    ("max_pool2d_backward", (DY, IDX.astype(np.int32), X.shape), TypeError,
     "max_pool2d_backward: indices must be an int64 ndarray, got int32"),
    ("max_pool2d_backward", (DY.astype(np.int64), IDX, X.shape), TypeError,
     "max_pool2d_backward: dy must be float32 or float64, got int64"),
    ("max_pool2d_backward", (DY, IDX[..., :1], X.shape), ValueError,
     "max_pool2d_backward: indices must have the shape of dy (1, 2, 3, 2), got (1, 2, 3, 1)"),
    ("max_pool2d_backward", (DY, IDX, (1, 3, 6, 5)), ValueError,
     "max_pool2d_backward: x_shape (1, 3, 6, 5) does not match dy (1, 2, 3, 2)"),
    ("max_pool2d_backward", (DY, IDX + 30, X.shape), ValueError,
     "max_pool2d_backward: indices out of range for x_shape (1, 2, 6, 5)"),
    ("max_pool2d_backward", (DY, IDX - 30, X.shape), ValueError,
     "max_pool2d_backward: indices out of range for x_shape (1, 2, 6, 5)"),
    ("max_pool2d_backward", (DY[0], IDX[0], X.shape), ValueError,
     "max_pool2d_backward: dy must have 4 dimensions (N, C, oh, ow), got shape (2, 3, 2)"),
    ("avg_pool2d_backward", (DY, X.shape, 3), ValueError,
     "avg_pool2d_backward: dy must have shape (1, 2, 2, 1), got (1, 2, 3, 2)"),
    ("avg_pool2d_backward", (DY.astype(np.float16), X.shape, 2), TypeError,
     "avg_pool2d_backward: dy must be float32 or float64, got float16"),
    ("avg_pool2d_backward", (DY, X.shape, 2, 2, 2), ValueError,
     "avg_pool2d_backward: padding (2, 2) must be at most half of kernel_size (2, 2)"),
    ("avg_pool2d_backward", (DY, X.shape, 2, 0), ValueError,
     "avg_pool2d_backward: stride must be >= 1, got 0"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_pool_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
