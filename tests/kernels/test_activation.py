"""Elementwise activations: compiled against the NumPy reference, NaN/saturation/slope
semantics, inputs never mutated, gradient checks, PyTorch's GELU and argument errors."""

import warnings

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

LAYOUTS = ("contiguous", "strided", "fortran", "readonly")
# id: (kernel prefix, keyword arguments, what the backward takes: forward "x" or output "y")
ACTIVATIONS = {
    "relu": ("relu", {}, "y"),
    "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}, "x"),
    "sigmoid": ("sigmoid", {}, "y"),
    "tanh": ("tanh", {}, "y"),
    "gelu_none": ("gelu", {"approximate": "none"}, "x"),
    "gelu_tanh": ("gelu", {"approximate": "tanh"}, "x"),
}
# Odd and prime sizes, batch 1, 4-D; the last (> 65536) goes parallel in every kernel.
SHAPES = [(7,), (1, 13), (3, 5, 11), (1, 2, 7, 5), (2, 3, 97, 113)]


def _in_layout(arr, name):
    # 1-D arrays have no Fortran variant: use the contiguous one.
    return dict(layouts(arr)).get(name, arr)


def _forward(m, act, x):
    prefix, kwargs, _ = ACTIVATIONS[act]
    return getattr(m, f"{prefix}_forward")(x, **kwargs)


def _backward(m, act, x, dy, y=None):
    """dx of ``act`` at ``x``; ``y`` (the forward output) is recomputed unless given."""
    prefix, kwargs, takes = ACTIVATIONS[act]
    first = x if takes == "x" else (_forward(m, act, x) if y is None else y)
    return getattr(m, f"{prefix}_backward")(first, dy, **kwargs)


def _check_threads(threads, run, expected, dtype):
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        results.append(run())
        assert_close(results[-1], expected, dtype)
    np.testing.assert_array_equal(results[0], results[1])


# ---------------------------------------------------------------------------------------------
# Compiled matches reference, on 1 and 2 threads (elementwise: bitwise equal either way)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_forward_matches_reference(act, shape, dtype, layout, compiled, reference,
                                              rng, threads, isa):
    x = _in_layout(random(rng, shape, dtype, -4, 4), layout)
    _check_threads(threads, lambda: _forward(compiled, act, x), _forward(reference, act, x),
                   dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_backward_matches_reference(act, shape, dtype, compiled, reference, rng,
                                               threads, isa):
    x = random(rng, shape, dtype, -4, 4)
    y = _forward(reference, act, x)
    grad = random(rng, shape, dtype)
    expected = _backward(reference, act, x, grad, y)
    for layout, dy in layouts(grad):
        args = (_in_layout(x, layout), dy, _in_layout(y, layout))
        _check_threads(threads, lambda args=args: _backward(compiled, act, *args), expected,
                       dtype)


# ---------------------------------------------------------------------------------------------
# Semantics


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_never_mutates_inputs(name, act, rng):
    m = backend.get(name)
    x = random(rng, (5, 7), np.float64, -3, 3)
    x[0, :3] = [0.0, np.nan, -50.0]
    dy = random(rng, (5, 7), np.float64)
    x_before, dy_before = x.copy(), dy.copy()
    y = _forward(m, act, x)
    y_before = y.copy()
    _backward(m, act, x, dy, y)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dy, dy_before)
    np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_propagates_nan(name, dtype, isa):
    m = backend.get(name)
    x = np.array([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf], dtype)
    np.testing.assert_array_equal(m.relu_forward(x), np.array([np.nan, 0, 0, 2, 0, np.inf],
                                                              dtype))
    # leaky_relu too: NaN is not > 0, and NaN * slope is NaN.
    np.testing.assert_array_equal(m.leaky_relu_forward(x, 0.5),
                                  np.array([np.nan, -0.5, 0, 2, -np.inf, np.inf], dtype))


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_exactly_without_warnings(name, dtype, isa):
    m = backend.get(name)
    x = np.array([-np.inf, -1000.0, -100.0, 0.0, 100.0, 1000.0, np.inf], dtype)
    # Underflow of exp(-1000) to 0 is the intended result; anything else must not happen.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = m.sigmoid_forward(x)
        dx = m.sigmoid_backward(y, np.ones_like(y))
    assert y[0] == 0 and y[1] == 0 and y[-2] == 1 and y[-1] == 1
    assert y[3] == 0.5
    assert 0 <= y[2] < 1e-40
    assert y[4] == 1
    np.testing.assert_array_equal(dx[[0, 1, -2, -1]], 0)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_slope(name, slope, dtype):
    m = backend.get(name)
    x = np.array([-2.0, -0.5, 0.0, 3.0, 1e-3], dtype)
    s = dtype(slope)
    expected = np.array([-2 * s, -0.5 * s, 0, 3, 1e-3], dtype)
    assert_close(m.leaky_relu_forward(x, slope), expected, dtype)
    dy = np.array([1.0, -2.0, 4.0, 5.0, 6.0], dtype)
    assert_close(m.leaky_relu_backward(x, dy, slope),
                 np.array([s, -2 * s, 4 * s, 5, 6], dtype), dtype)
    # The default slope is 0.01, as in PyTorch.
    assert_close(m.leaky_relu_forward(x), np.where(x > 0, x, x * dtype(0.01)), dtype)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_masks_on_output(name, dtype, isa):
    m = backend.get(name)
    y = np.array([0.0, 0.5, 0.0, 2.0], dtype)
    dy = np.array([3.0, 4.0, -5.0, 6.0], dtype)
    np.testing.assert_array_equal(m.relu_backward(y, dy), np.array([0, 4, 0, 6], dtype))


# ---------------------------------------------------------------------------------------------
# Gradient checks (float64, both backends)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("shape", [(7,), (3, 5, 11)])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_gradcheck(name, act, shape, rng):
    m = backend.get(name)
    # Magnitudes in [0.1, 3]: away from relu's and leaky_relu's kink at 0.
    x = random(rng, shape, np.float64, 0.1, 3) * rng.choice([-1.0, 1.0], size=shape)
    directional_check(lambda x: _forward(m, act, x), lambda x, dy: _backward(m, act, x, dy),
                      x, rng)


# ---------------------------------------------------------------------------------------------
# Against PyTorch


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_matches_torch(name, approximate, dtype, rng, isa):
    torch = pytest.importorskip("torch")
    m = backend.get(name)
    x = random(rng, (4, 257), dtype, -6, 6)
    x[0, :4] = [0.0, -30.0, 30.0, -5.5]
    x_t = torch.from_numpy(x).requires_grad_()
    y_t = torch.nn.functional.gelu(x_t, approximate=approximate)
    dy = random(rng, x.shape, dtype)
    y_t.backward(torch.from_numpy(dy))
    # Different libm/erf implementations: allow a few float32 ulps.
    assert_close(m.gelu_forward(x, approximate), y_t.detach().numpy(), dtype, 4)
    assert_close(m.gelu_backward(x, dy, approximate), x_t.grad.numpy(), dtype, 4)


# ---------------------------------------------------------------------------------------------
# Argument errors: same exception and message in both backends

F64 = np.zeros((3, 4))
F32 = F64.astype(np.float32)
ERRORS = [
    ("relu_forward", (F64.astype(np.int64),), TypeError,
     "relu_forward: x must be float32 or float64, got int64"),
    ("sigmoid_forward", (F64.astype(np.float16),), TypeError,
     "sigmoid_forward: x must be float32 or float64, got float16"),
    ("tanh_forward", ([0.0, 1.0],), TypeError,
     "tanh_forward: x must be a numpy.ndarray, got list"),
    ("gelu_forward", (F64, "erf"), ValueError,
     "gelu_forward: approximate must be one of ('none', 'tanh'), got 'erf'"),
    ("gelu_backward", (F64, F64, "exact"), ValueError,
     "gelu_backward: approximate must be one of ('none', 'tanh'), got 'exact'"),
    ("relu_backward", (F32, F64), TypeError,
     "relu_backward: dy has dtype float64 but y has float32; mixed dtypes are not converted"),
    ("leaky_relu_backward", (F64, F32), TypeError,
     ("leaky_relu_backward: dy has dtype float32 but x has float64; mixed dtypes are not "
     "converted")),
    ("sigmoid_backward", (F64, F64.T), ValueError,
     "sigmoid_backward: dy must have the shape of y (3, 4), got (4, 3)"),
    ("tanh_backward", (F64, F64[:, :, None]), ValueError,
     "tanh_backward: dy must have the shape of y (3, 4), got (3, 4, 1)"),
    ("gelu_backward", (F32, F32[:2]), ValueError,
     "gelu_backward: dy must have the shape of x (3, 4), got (2, 4)"),
    ("leaky_relu_backward", (F64.astype(np.int32), F64), TypeError,
     "leaky_relu_backward: x must be float32 or float64, got int32"),
    ("relu_backward", (F64, F64.astype(np.float16)), TypeError,
     "relu_backward: dy must be float32 or float64, got float16"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_activation_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_float32_tanh_and_sigmoid_are_accurate_everywhere(name, isa):
    """The compiled float32 tanh and sigmoid are vectorised approximations, not libm: hold
    them to float64 results in relative terms over magnitudes from 1e-30 to 1e3 (near 0 a
    tanh built on exp alone would lose every digit to cancellation), and at the specials."""
    m = backend.get(name)
    mag = np.logspace(-30, 3, 20001)
    x = np.concatenate([-mag, mag, [0.0, -0.0]]).astype(np.float32)
    for fwd, exact in (("tanh_forward", np.tanh),
                       ("sigmoid_forward", lambda v: 1 / (1 + np.exp(-v)))):
        got = getattr(m, fwd)(x).astype(np.float64)
        with np.errstate(over="ignore"):
            want = exact(x.astype(np.float64))
        # Results below float32's smallest normal may be flushed to 0 (see pynn_exp_f32).
        excess = np.abs(got - want) - 4 * np.finfo(np.float32).eps * np.abs(want)
        assert excess.max() <= np.finfo(np.float32).tiny, (fwd, x[excess.argmax()])
    specials = np.array([np.inf, -np.inf, np.nan, -0.0], np.float32)
    np.testing.assert_array_equal(m.tanh_forward(specials), [1, -1, np.nan, -0.0])
    assert np.signbit(m.tanh_forward(specials)[3])
    np.testing.assert_array_equal(m.sigmoid_forward(specials[:3]), [1, 0, np.nan])
