"""Helpers shared by the tests: tolerances, input layouts, finite-difference checks.
(``tests/`` is on sys.path through pyproject's ``pythonpath`` setting.)"""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

DTYPES = (np.float32, np.float64)


def tolerance(dtype, reduction_len=1):
    """``(rtol, atol)`` for comparing two float results whose elements each sum
    ``reduction_len`` products: float32 rounding grows roughly with its square root."""
    scale = max(1.0, float(np.sqrt(reduction_len)))
    if np.dtype(dtype) == np.float32:
        return 2e-6 * scale, 2e-6 * scale
    return 1e-12 * scale, 1e-12 * scale


def assert_close(actual, expected, dtype, reduction_len=1, magnitude=None):
    """Compare results; ``magnitude`` (default: max |expected|) scales the absolute tolerance,
    so sums that cancel to near zero are judged against the size of what was summed."""
    rtol, atol = tolerance(dtype, reduction_len)
    expected = np.asarray(expected)
    if magnitude is None:
        magnitude = float(np.max(np.abs(expected))) if expected.size else 1.0
    assert np.asarray(actual).dtype == expected.dtype
    assert np.asarray(actual).shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * max(magnitude, 1.0))


def random(rng, shape, dtype, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


def layouts(arr):
    """The same values as C-contiguous, non-contiguous (strided view) and read-only arrays."""
    yield "contiguous", np.ascontiguousarray(arr)
    # A view with every other element along the last axis of a twice-as-wide buffer.
    wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype) if arr.ndim else None
    if wide is not None:
        wide[..., ::2] = arr
        yield "strided", wide[..., ::2]
    if arr.ndim >= 2:
        yield "fortran", np.asfortranarray(arr)
    frozen = np.array(arr)
    frozen.flags.writeable = False
    yield "readonly", frozen


def directional_check(forward, backward_dot, x, rng, eps=1e-6, rtol=1e-6):
    """Finite-difference check of a backward pass, in float64.

    ``forward(x)`` returns an array y; ``backward_dot(x, dy)`` returns dx for a loss
    ``sum(y * dy)``. Along a random direction v, the central difference
    ``(f(x + eps v) - f(x - eps v)) / (2 eps) . dy`` must equal ``dx . v``.
    """
    y = forward(x)
    dy = rng.standard_normal(y.shape)
    v = rng.standard_normal(x.shape)
    numeric = (np.sum(forward(x + eps * v) * dy) - np.sum(forward(x - eps * v) * dy)) / (2 * eps)
    analytic = np.sum(backward_dot(x, dy) * v)
    assert np.isclose(analytic, numeric, rtol=rtol, atol=rtol * (abs(numeric) + 1e-3)), (
        analytic, numeric)


def numeric_gradient(objective, arr, eps=1e-6):
    """Central differences of the scalar ``objective()`` with respect to every element of
    ``arr``, which is perturbed in place and restored."""
    numeric = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        orig = arr[idx]
        arr[idx] = orig + eps
        plus = objective()
        arr[idx] = orig - eps
        minus = objective()
        arr[idx] = orig
        numeric[idx] = (plus - minus) / (2 * eps)
    return numeric


def assert_same_error(kernel, args, exc, message, **kwargs):
    """Both backends reject ``kernel(*args, **kwargs)`` with ``exc`` whose text contains
    ``message``, and with the very same text."""
    from pynn import backend

    messages = {}
    for name in backend.BACKENDS:
        with pytest.raises(exc, match=re.escape(message)) as info:
            getattr(backend.get(name), kernel)(*args, **kwargs)
        messages[name] = str(info.value)
    assert messages["compiled"] == messages["reference"]


ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA_DIR = ROOT.parent / "shared" / "data"
needs_mnist = pytest.mark.skipif(not (DATA_DIR / "mnist").is_dir(),
                                 reason=f"MNIST files not found in {DATA_DIR / 'mnist'}")


def load_example(name):
    """Import ``examples/<name>.py`` (not a package; its ``from _common import`` needs the
    folder on sys.path)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
