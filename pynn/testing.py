"""``torch.testing``: :func:`~pynn.testing.assert_close` with PyTorch's default tolerances."""

import numbers

import numpy as np

from .tensor import Tensor

__all__ = ["assert_close"]

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
