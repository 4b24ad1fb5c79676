"""Arrays in the forms the compiled kernels cannot read as they are (see
pynn/backend/_buffers.pxi): an ndarray subclass, misaligned data, a byte order that is not
native. The first two are valid input and must give the reference's result (the wrapper
copies an input once; an array updated in place is only viewed, so updates reach it); the
third is rejected by both backends alike. And plain arrays never reach the Python checks."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, random


class Sub(np.ndarray):
    """An ndarray subclass that adds nothing."""


def subclass(arr):
    return arr.view(Sub)


def misaligned(arr):
    """A writeable copy of ``arr`` whose data starts one byte past an aligned address."""
    raw = np.zeros(arr.nbytes + 1, np.uint8)
    out = np.frombuffer(raw.data, arr.dtype, arr.size, offset=1).reshape(arr.shape)
    out[...] = arr
    assert not out.flags.aligned and out.flags.writeable
    return out


def byteswapped(arr):
    return arr.astype(arr.dtype.newbyteorder())


def _labels(rng, n, c):
    return rng.integers(0, c, n)


# kernel name -> (arrays, other keyword arguments); arrays[k] are passed by keyword too.
def _cases(rng, dtype):
    x = random(rng, (6, 5), dtype)
    return {
        "gemm": ({"a": x, "b": random(rng, (5, 4), dtype),
                  "bias": random(rng, (4,), dtype)}, {"relu": True}),
        "relu_forward": ({"x": x}, {}),
        "relu_backward": ({"y": np.maximum(x, 0), "dy": random(rng, x.shape, dtype)}, {}),
        "gelu_backward": ({"x": x, "dy": random(rng, x.shape, dtype)}, {"approximate": "tanh"}),
        "log_softmax_forward": ({"x": x}, {}),
        "softmax_backward": ({"y": random(rng, x.shape, dtype, 0, 1),
                              "dy": random(rng, x.shape, dtype)}, {}),
        "softmax_cross_entropy_forward": ({"logits": x}, {"labels": _labels(rng, 6, 5)}),
        "softmax_cross_entropy_backward": (
            {"probs": random(rng, x.shape, dtype, 0, 1)},
            {"labels": _labels(rng, 6, 5), "grad": 0.5}),
        "bias_grad": ({"dy": random(rng, (3, 4, 5), dtype)}, {"axis": 1}),
        "lstm_cell_forward": ({"gates": random(rng, (3, 8), dtype),
                               "c_prev": random(rng, (3, 2), dtype)}, {}),
        "lstm_cell_backward": ({"acts": random(rng, (3, 10), dtype, 0, 1),
                                "c_prev": random(rng, (3, 2), dtype),
                                "dh": random(rng, (3, 2), dtype),
                                "dc": random(rng, (3, 2), dtype)}, {}),
        "gru_cell_forward": ({"gi": random(rng, (3, 6), dtype), "gh": random(rng, (3, 6), dtype),
                              "h_prev": random(rng, (3, 2), dtype)}, {}),
        "gru_cell_backward": ({"acts": random(rng, (3, 8), dtype, 0, 1),
                               "h_prev": random(rng, (3, 2), dtype),
                               "dh": random(rng, (3, 2), dtype)}, {}),
    }


# in-place updates: kernel -> (state names, keyword arguments)
UPDATES = {
    "sgd_step": (("momentum_buffer",), {"lr": 0.1, "momentum": 0.9}),
    "adam_step": (("exp_avg", "exp_avg_sq"), {"step": 1, "lr": 0.01}),
    "rmsprop_step": (("square_avg", "momentum_buffer", "grad_avg"),
                     {"lr": 0.01, "momentum": 0.9, "centered": True}),
}


def _results(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("form", [subclass, misaligned])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", sorted(_cases(np.random.default_rng(0), np.float64)))
def test_valid_forms_give_the_reference_result(kernel, dtype, form, compiled, reference, rng):
    arrays, kwargs = _cases(rng, dtype)[kernel]
    expected = getattr(reference, kernel)(**arrays, **kwargs)
    got = getattr(compiled, kernel)(**{k: form(v) for k, v in arrays.items()}, **kwargs)
    for g, e in zip(_results(got), _results(expected)):
        assert_close(g, e, dtype, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", sorted(_cases(np.random.default_rng(0), np.float64)))
def test_foreign_byte_order_is_rejected_alike(kernel, dtype, rng):
    arrays, kwargs = _cases(rng, dtype)[kernel]
    name = next(iter(arrays))
    arrays[name] = byteswapped(arrays[name])
    assert_same_error(kernel, (), TypeError, "must be float32 or float64", **arrays, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", sorted(UPDATES))
def test_updates_write_through_a_subclass(kernel, dtype, compiled, reference, rng):
    names, kwargs = UPDATES[kernel]
    start = {"param": random(rng, (4, 3), dtype), **{k: np.zeros((4, 3), dtype) for k in names}}
    grad = random(rng, (4, 3), dtype)
    got = {k: v.copy().view(Sub) for k, v in start.items()}
    ref = {k: v.copy() for k, v in start.items()}
    getattr(compiled, kernel)(grad=misaligned(grad), **got, **kwargs)
    getattr(reference, kernel)(grad=grad, **ref, **kwargs)
    for k, before in start.items():
        assert not np.array_equal(got[k], before), f"{k} was not updated in place"
        assert_close(np.asarray(got[k]), ref[k], dtype)


@pytest.mark.parametrize("kernel", sorted(UPDATES))
def test_updates_reject_misaligned_state(kernel, rng):
    names, kwargs = UPDATES[kernel]
    arrays = {"param": misaligned(random(rng, (4, 3), np.float32)),
              "grad": random(rng, (4, 3), np.float32),
              **{k: np.zeros((4, 3), np.float32) for k in names}}
    assert_same_error(kernel, (), ValueError, "param is updated in place and must be aligned",
                      **arrays, **kwargs)


def test_gemm_out_forms(compiled, reference, rng):
    a, b = random(rng, (5, 3), np.float32), random(rng, (3, 4), np.float32)
    out = np.zeros((5, 4), np.float32).view(Sub)
    assert compiled.gemm(a, b, out, beta=1.0) is out
    assert_close(np.asarray(out), a @ b, np.float32, 3)
    assert_same_error("gemm", (a, b, misaligned(np.zeros((5, 4), np.float32))), ValueError,
                      "out must be aligned")


# The checks compiled.py runs only for the arguments a wrapper refuses.
FALLBACK_CHECKS = ("float_arrays", "gemm_operands", "rows", "cross_entropy_args", "step_args",
                   "recurrent_cell", "same_shape", "same_float_shapes", "bias_grad_args")


@pytest.mark.parametrize("dtype", DTYPES)
def test_plain_arrays_skip_the_python_checks(dtype, compiled, rng, monkeypatch):
    """The point of the fast path: plain C-contiguous arrays reach C without the Python
    checks (a wrapper that refused them would still give right answers, only slowly)."""
    from pynn.backend import _checks

    def forbidden(*args, **kwargs):
        raise AssertionError("a plain argument took the checked path")

    for name in FALLBACK_CHECKS:
        monkeypatch.setattr(_checks, name, forbidden)
    for kernel, (arrays, kwargs) in _cases(rng, dtype).items():
        getattr(compiled, kernel)(**arrays, **kwargs)
    for kernel, (names, kwargs) in UPDATES.items():
        state = {k: np.zeros((4, 3), dtype) for k in names}
        getattr(compiled, kernel)(random(rng, (4, 3), dtype), random(rng, (4, 3), dtype),
                                  **state, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_results_are_fresh_plain_arrays(dtype, compiled, reference, rng):
    """The fast path makes its results through NumPy's C API and describes them to the
    kernel by hand: each must be an exact ndarray that owns its data, writeable, aligned and
    C-contiguous, of the reference's shape and dtype, and not shared with anything else."""
    for kernel, (arrays, kwargs) in _cases(rng, dtype).items():
        got = _results(getattr(compiled, kernel)(**arrays, **kwargs))
        expected = _results(getattr(reference, kernel)(**arrays, **kwargs))
        assert len(got) == len(expected), kernel
        for out, ref in zip(got, expected):
            if out.ndim == 0:  # a loss: made in Python, not by the wrappers
                continue
            assert type(out) is np.ndarray, kernel
            assert out.base is None and out.flags.owndata, kernel
            assert out.flags.writeable and out.flags.aligned and out.flags.c_contiguous, kernel
            assert out.shape == ref.shape and out.dtype == ref.dtype, kernel
            for other in list(arrays.values()) + [o for o in got if o is not out]:
                assert not np.shares_memory(out, other), kernel
