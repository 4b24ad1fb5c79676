"""``torch.testing``: comparing tensors, and making random ones for tests.

:func:`~pynn.testing.assert_close` with PyTorch's default tolerances, :func:`make_tensor`
for test inputs, and the deprecated :func:`assert_allclose`.
"""

import math
import numbers
import operator
import warnings

import numpy as np

from .tensor import Tensor, _wrap

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# PyTorch's default (rtol, atol) by dtype; integers and bools compare exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}


def _as_array(x):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray | np.generic):
        return np.asarray(x)
    return None


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close, as PyTorch's.

    Close means ``|actual - expected| <= atol + rtol * |expected|`` elementwise
    (``torch.testing.assert_close``).

    Tensors must also agree in shape (and dtype with ``check_dtype``); numbers, sequences and
    mappings are compared element by element.

    Parameters
    ----------
    actual, expected : Tensor, ndarray, number, or (nested) sequence or mapping of them
    allow_subclasses, check_device, check_layout, check_stride : bool
        Accepted for PyTorch's signature.
    rtol, atol : float, optional
        Both or neither; by default PyTorch's for the dtype (float32: 1.3e-6 and 1e-5).
    equal_nan : bool
        Whether NaNs in the same places compare equal.
    check_dtype : bool
        Whether tensors must have the same dtype.
    msg : str or callable, optional
        The message instead of the default (a callable gets the default one).

    Raises
    ------
    AssertionError
        Where the values, shapes or dtypes differ.
    """
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both 'rtol' and 'atol' must be given, or neither")

    def fail(text):
        if callable(msg):
            text = msg(text)
        elif msg is not None:
            text = msg
        raise AssertionError(text)

    def compare(a, b, where):
        arr_a, arr_b = _as_array(a), _as_array(b)
        if arr_a is None and arr_b is None:
            if isinstance(b, dict):
                if not isinstance(a, dict) or set(a) != set(b):
                    fail(f"The mappings{where} have different keys.")
                for k in b:
                    compare(a[k], b[k], f"{where}[{k!r}]")
                return
            if isinstance(b, list | tuple):
                if not isinstance(a, list | tuple) or len(a) != len(b):
                    fail(f"The sequences{where} have different lengths.")
                for i, (x, y) in enumerate(zip(a, b)):
                    compare(x, y, f"{where}[{i}]")
                return
            if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
                if check_dtype and type(a) is not type(b):
                    fail(f"The values{where} have types {type(a).__name__} and "
                         f"{type(b).__name__}.")
                arr_a, arr_b = np.asarray(a), np.asarray(b)
            else:
                if a != b:
                    fail(f"The objects{where} are not equal: {a!r} != {b!r}.")
                return
        if arr_a is None or arr_b is None:
            fail(f"The inputs{where} are not both tensors: {type(a).__name__} and "
                 f"{type(b).__name__}.")
        if arr_a.shape != arr_b.shape:
            fail(f"The values{where} are not close: the shapes {tuple(arr_a.shape)} and "
                 f"{tuple(arr_b.shape)} differ.")
        if check_dtype and arr_a.dtype != arr_b.dtype:
            fail(f"The values{where} have dtypes {arr_a.dtype} and {arr_b.dtype}.")
        r, t = (rtol, atol) if rtol is not None else _TOLERANCES.get(
            np.promote_types(arr_a.dtype, arr_b.dtype), (0.0, 0.0))
        x, y = arr_a.astype(np.complex128 if arr_a.dtype.kind == "c" else np.float64), \
            arr_b.astype(np.complex128 if arr_b.dtype.kind == "c" else np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.abs(x - y) <= t + r * np.abs(y)
            ok |= x == y  # the same infinities
        if equal_nan:
            ok |= np.isnan(x) & np.isnan(y)
        if not np.all(ok):
            bad = int(np.size(ok) - np.count_nonzero(ok))
            with np.errstate(invalid="ignore"):
                diff = np.nanmax(np.where(ok, 0, np.abs(x - y)))
            fail(f"Tensor-likes{where} are not close!\n\nMismatched elements: {bad} / "
                 f"{np.size(ok)}\nGreatest absolute difference: {diff} (up to {t} allowed)\n"
                 f"rtol={r}, atol={t}")

    compare(actual, expected, "")


# the older assert_allclose's defaults, by dtype: the larger of the two operands' applies
_ALLCLOSE_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1e-4, 1e-5),
                        np.dtype(np.float64): (1e-7, 1e-7)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (deprecated).

    ``torch.testing.assert_allclose``, deprecated there in favour of :func:`assert_close`:
    ``expected`` may be any array-like (converted to ``actual``'s dtype), dtypes need not
    match, NaNs compare equal by default, and the default tolerances are the larger of the
    two dtypes' (float32: ``rtol=1e-4``, ``atol=1e-5``).

    Parameters
    ----------
    actual : Tensor or array_like, of any shape
        The value under test.
    expected : Tensor or array_like, of the same shape
        The reference.
    rtol, atol : float, optional
        Both or neither; by default from the dtypes.
    equal_nan : bool
        Whether NaNs in the same places compare equal.
    msg : str
        The message instead of the default.

    Raises
    ------
    AssertionError
        Where the values or shapes differ.
    """
    warnings.warn("torch.testing.assert_allclose() is deprecated since 1.12 and will be "
                  "removed in a future release. Please use torch.testing.assert_close() "
                  "instead.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = _wrap(np.asarray(actual), None)
    if not isinstance(expected, Tensor):
        expected = _wrap(np.asarray(expected, actual._data.dtype), None)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(t._data.dtype, (0.0, 0.0))
                 for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=False, check_dtype=False, check_stride=False, msg=msg or None)


def _low_high(low, high, lowest, highest, default_low, default_high):
    """The range to draw from: the defaults for None, clamped to what the dtype holds."""
    for name, v in (("low", low), ("high", high)):
        if v is not None and isinstance(v, numbers.Number) and math.isnan(v):
            raise ValueError(f"make_tensor: `low` and `high` cannot be NaN, but got "
                             f"low={low} and high={high}")
    low = default_low if low is None else low
    high = default_high if high is None else high
    if low > high:
        raise ValueError(f"make_tensor: `low` must be less than or equal to `high`, but got "
                         f"{low} > {high}")
    return max(low, lowest), min(high, highest)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """A Tensor of random values for tests (``torch.testing.make_tensor``).

    Floating and complex values are uniform in ``[low, high)`` (by default ``[-9, 9)``),
    integers in ``[low, high)`` (by default ``[-9, 10)``, from 0 for unsigned types), bools
    are True or False; drawn from the global generator (:func:`pynn.manual_seed`).

    Parameters
    ----------
    *shape : int, or one sequence of int
        The shape.
    dtype : pynn.dtype
        The dtype.
    device : str or pynn.device
        Only the CPU.
    low, high : float, optional
        The range, clamped to what ``dtype`` holds.
    requires_grad : bool
        Whether the result requires grad (floating dtypes only).
    noncontiguous : bool
        Return a non-contiguous view (every other element of a larger array).
    exclude_zero : bool
        Replace zeros (by 1 for integers, the smallest positive normal for floats).
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor
        Of ``shape`` and ``dtype``.
    """
    from ._device import check_device
    from ._dtype import np_dtype
    from .random import get_generator

    check_device(device)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"make_tensor: shape must be ints or one sequence of ints, got "
                        f"{shape!r}") from None
    dt = np_dtype(dtype)
    if requires_grad and dt.kind not in "fc":
        raise ValueError(f"make_tensor: `requires_grad=True` is not supported for boolean and "
                         f"integral dtypes, but got dtype={dtype}")
    rng = get_generator()
    if dt.kind == "b":
        values = rng.integers(0, 2, shape).astype(dt)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = _low_high(low, high, info.min, info.max, -9, 10)
        lo, hi = math.ceil(lo), math.ceil(hi)
        values = np.full(shape, lo, dt) if lo == hi else rng.integers(lo, hi, shape).astype(dt)
        if exclude_zero:
            values[values == 0] = 1
    else:
        real = np.dtype(np.float32 if dt == np.complex64 else np.float64 if dt.kind == "c"
                        else dt)
        info = np.finfo(real)
        lo, hi = _low_high(low, high, float(info.min), float(info.max), -9, 9)

        def draw():
            out = rng.uniform(lo, hi, shape) if lo != hi else np.full(shape, lo)
            return out.astype(real)

        values = draw() if dt.kind == "f" else (draw() + 1j * draw()).astype(dt)
        if exclude_zero:
            values[values == 0] = info.tiny
    if noncontiguous and values.size > 1:
        wide = np.repeat(values[..., None], 2, axis=-1)
        values = wide[..., 0]
    t = _wrap(values, None)
    return t.requires_grad_(True) if requires_grad else t
