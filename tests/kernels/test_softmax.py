"""Softmax, log-softmax and fused softmax cross-entropy: compiled against the NumPy reference,
numerical stability, loss semantics (reductions, ignore_index, label smoothing), gradient
checks, PyTorch and argument errors."""

import re
import warnings

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

LAYOUTS = ("contiguous", "strided", "fortran", "readonly")
# 1-D, batch 1, odd and prime sizes, 3-D, rows in more than one block (the forward kernels
# take at most 256 rows at a time, the last block short); (64, 263) and (2000, 10) are big
# enough (>= 16384) to go parallel.
SHAPES = [(7,), (1, 13), (3, 17), (2, 5, 31), (300, 8), (64, 263)]
XENT_SHAPES = [(1, 7), (5, 13), (300, 8), (64, 263), (2000, 10)]


def _in_layout(arr, name):
    # 1-D arrays have no Fortran variant: use the contiguous one.
    return dict(layouts(arr)).get(name, arr)


def _labels(rng, n, c, ignore_index, dtype):
    labels = rng.integers(0, c, size=n)
    if n > 1:
        labels[:: 3] = ignore_index  # a third of the rows ignored
    return labels.astype(dtype)


def _grad(rng, reduction, n, dtype):
    return random(rng, (n,), dtype) if reduction == "none" else np.asarray(rng.uniform(0.5, 2))


# ---------------------------------------------------------------------------------------------
# Compiled matches reference, on 1 and 2 threads (per-row work: bitwise equal either way)


def _check_threads(threads, run, expected, dtype, reduction_len):
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        results.append(run())
        assert_close(results[-1], expected, dtype, reduction_len)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", ["softmax_forward", "log_softmax_forward"])
def test_softmax_forward_matches_reference(kernel, shape, dtype, layout, compiled, reference,
                                           rng, threads, isa):
    x = _in_layout(random(rng, shape, dtype, -5, 5), layout)
    _check_threads(threads, lambda: getattr(compiled, kernel)(x),
                   getattr(reference, kernel)(x), dtype, shape[-1])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
def test_softmax_backward_matches_reference(kernel, shape, dtype, layout, compiled, reference,
                                            rng, threads, isa):
    y = _in_layout(getattr(reference, f"{kernel}_forward")(random(rng, shape, dtype, -5, 5)),
                   layout)
    dy = _in_layout(random(rng, shape, dtype), layout)
    backward = f"{kernel}_backward"
    _check_threads(threads, lambda: getattr(compiled, backward)(y, dy),
                   getattr(reference, backward)(y, dy), dtype, shape[-1])


@pytest.mark.parametrize("ignore_index, label_dtype", [(-100, np.int64), (2, np.int32)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", XENT_SHAPES)
def test_softmax_cross_entropy_forward_matches_reference(
        shape, dtype, reduction, label_smoothing, ignore_index, label_dtype, compiled,
        reference, rng, threads, isa):
    arr = random(rng, shape, dtype, -5, 5)
    labels = _labels(rng, shape[0], shape[1], ignore_index, label_dtype)
    kwargs = {"ignore_index": ignore_index, "label_smoothing": label_smoothing,
              "reduction": reduction}
    loss_ref, probs_ref = reference.softmax_cross_entropy_forward(arr, labels, **kwargs)
    for _layout, logits in layouts(arr):
        for n_threads in (1, 2):
            threads(n_threads)
            loss, probs = compiled.softmax_cross_entropy_forward(logits, labels, **kwargs)
            assert_close(loss, loss_ref, dtype, np.prod(shape))
            assert_close(probs, probs_ref, dtype, shape[1])


@pytest.mark.parametrize("ignore_index, label_dtype", [(-100, np.int64), (2, np.int32)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", XENT_SHAPES)
def test_softmax_cross_entropy_backward_matches_reference(
        shape, dtype, reduction, label_smoothing, ignore_index, label_dtype, compiled,
        reference, rng, threads, isa):
    arr = reference.softmax_forward(random(rng, shape, dtype, -5, 5))
    labels = _labels(rng, shape[0], shape[1], ignore_index, label_dtype)
    grad = _grad(rng, reduction, shape[0], dtype)
    kwargs = {"ignore_index": ignore_index, "label_smoothing": label_smoothing,
              "reduction": reduction}
    expected = reference.softmax_cross_entropy_backward(arr, labels, grad, **kwargs)
    for _layout, probs in layouts(arr):
        _check_threads(
            threads,
            lambda probs=probs: compiled.softmax_cross_entropy_backward(probs, labels, grad,
                                                                        **kwargs),
            expected, dtype, 1)


# ---------------------------------------------------------------------------------------------
# Numerical stability


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_huge_logits_is_finite_and_normalised(name, dtype, rng, isa):
    m = backend.get(name)
    x = random(rng, (6, 11), dtype, -1e4, 1e4)
    x[0] = 1e4  # a row of equal huge values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = m.softmax_forward(x)
    assert np.isfinite(y).all()
    assert_close(y.sum(axis=-1), np.ones(6, dtype), dtype, 11)
    assert_close(y[0], np.full(11, 1 / 11, dtype), dtype, 11)
    # Logits 1e4 apart: all the mass on the row maximum.
    np.testing.assert_array_equal(y[1:].argmax(axis=-1), x[1:].argmax(axis=-1))
    assert_close(y[1:].max(axis=-1), np.ones(5, dtype), dtype, 11)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_of_large_inputs_is_finite(name, dtype, rng, isa):
    m = backend.get(name)
    x = random(rng, (6, 11), dtype, -1e4, 1e4)
    x[0, :5] = -3e38 if dtype == np.float32 else -1e300  # huge negative, far below the max
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = m.log_softmax_forward(x)
    assert np.isfinite(y).all()
    assert (y <= 0).all()
    # The row maximum has log-probability ~0; others exactly their distance to it.
    assert_close(y.max(axis=-1), np.zeros(6, dtype), dtype)
    assert_close(y, x - x.max(axis=-1, keepdims=True), dtype, 11, magnitude=1.0)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_of_huge_logits_is_finite(name, dtype, rng, isa):
    m = backend.get(name)
    logits = random(rng, (5, 7), dtype, -1e4, 1e4)
    labels = logits.argmin(axis=1)  # the least likely class: loss ~ 2e4, not inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, probs = m.softmax_cross_entropy_forward(logits, labels, reduction="none")
        dlogits = m.softmax_cross_entropy_backward(probs, labels, np.ones(5, dtype),
                                                   reduction="none")
    expected = logits.max(axis=1).astype(np.float64) - logits.min(axis=1)
    assert_close(loss, expected.astype(dtype), dtype, 7)
    assert np.isfinite(dlogits).all()


# ---------------------------------------------------------------------------------------------
# Cross-entropy semantics


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_reductions_and_ignore_index(name, label_smoothing, dtype, rng):
    m = backend.get(name)
    logits = random(rng, (7, 5), dtype, -3, 3)
    labels = np.array([0, -100, 4, 2, -100, 1, 3])
    valid = labels != -100
    kw = {"label_smoothing": label_smoothing}
    per_sample, probs = m.softmax_cross_entropy_forward(logits, labels, reduction="none", **kw)
    # Direct formula: (1 - eps) * -logp[y] - eps * mean(logp), zero where ignored.
    logp = logits - logits.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    nll = -logp[np.arange(7), np.where(valid, labels, 0)]
    expected = np.where(valid, (1 - label_smoothing) * nll - label_smoothing * logp.mean(1), 0)
    assert per_sample.shape == (7,)
    assert_close(per_sample, expected.astype(dtype), dtype, 5)
    total, _ = m.softmax_cross_entropy_forward(logits, labels, reduction="sum", **kw)
    mean, _ = m.softmax_cross_entropy_forward(logits, labels, reduction="mean", **kw)
    assert total.shape == mean.shape == ()
    assert_close(total, np.asarray(expected.sum(), dtype), dtype, 35)
    assert_close(mean, np.asarray(expected.sum() / 5, dtype), dtype, 35)  # 5 rows not ignored
    # Ignored rows get zero gradient; the mean divides the others' by 5.
    d_mean = m.softmax_cross_entropy_backward(probs, labels, 1.0, reduction="mean", **kw)
    d_sum = m.softmax_cross_entropy_backward(probs, labels, 1.0, reduction="sum", **kw)
    assert np.all(d_mean[~valid] == 0) and np.all(d_sum[~valid] == 0)
    assert_close(d_mean, (d_sum / 5).astype(dtype), dtype)
    target = np.full((7, 5), label_smoothing / 5)
    target[np.arange(7)[valid], labels[valid]] += 1 - label_smoothing
    assert_close(d_sum[valid], (probs - target)[valid].astype(dtype), dtype, 5)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_softmax_cross_entropy_all_ignored(name, label_smoothing, rng):
    """Mean over no samples is NaN (as in PyTorch), its gradient zero, without warnings."""
    m = backend.get(name)
    logits = random(rng, (3, 4), np.float64)
    labels = np.full(3, -100)
    kw = {"label_smoothing": label_smoothing}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, probs = m.softmax_cross_entropy_forward(logits, labels, **kw)
        assert np.isnan(loss)
        total, _ = m.softmax_cross_entropy_forward(logits, labels, reduction="sum", **kw)
        assert total == 0
        dlogits = m.softmax_cross_entropy_backward(probs, labels, 1.0, **kw)
    np.testing.assert_array_equal(dlogits, np.zeros((3, 4)))


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("kernel", ["forward", "backward"])
@pytest.mark.parametrize("labels, bad", [([4, 0], 4), ([0, -1], -1), ([5, 0], 5)])
def test_softmax_cross_entropy_label_out_of_range(name, kernel, labels, bad):
    m = backend.get(name)
    kernel = f"softmax_cross_entropy_{kernel}"
    logits = np.full((2, 4), 0.25)
    labels = np.array(labels)
    args = (logits, labels) if kernel.endswith("forward") else (logits, labels, 1.0)
    # Labels chosen so that a kernel that skipped the check would still write inside the
    # (2, 4) buffer: a missing check fails the test instead of corrupting the heap.
    message = f"{kernel}: labels must lie in [0, 4) or equal ignore_index (-100); got {bad}"
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(m, kernel)(*args)


# ---------------------------------------------------------------------------------------------
# Gradient checks (float64, both backends)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("shape", [(7,), (3, 17), (2, 5, 31)])
@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
def test_softmax_gradcheck(name, kernel, shape, rng):
    m = backend.get(name)
    forward, backward = getattr(m, f"{kernel}_forward"), getattr(m, f"{kernel}_backward")
    directional_check(forward, lambda x, dy: backward(forward(x), dy),
                      random(rng, shape, np.float64, -3, 3), rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_gradcheck(name, reduction, label_smoothing, ignore_index, rng):
    m = backend.get(name)
    labels = np.array([0, 1, 4, 2, 1, 3])
    kw = {"ignore_index": ignore_index, "label_smoothing": label_smoothing, "reduction": reduction}

    def forward(x):
        return m.softmax_cross_entropy_forward(x, labels, **kw)[0]

    def backward_dot(x, dy):
        probs = m.softmax_cross_entropy_forward(x, labels, **kw)[1]
        return m.softmax_cross_entropy_backward(probs, labels, dy, **kw)

    directional_check(forward, backward_dot, random(rng, (6, 5), np.float64, -3, 3), rng)


# ---------------------------------------------------------------------------------------------
# Against PyTorch


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_matches_torch(name, reduction, label_smoothing, ignore_index,
                                             rng):
    torch = pytest.importorskip("torch")
    m = backend.get(name)
    logits = random(rng, (9, 6), np.float64, -4, 4)
    labels = _labels(rng, 9, 6, ignore_index, np.int64)
    kw = {"ignore_index": ignore_index, "label_smoothing": label_smoothing, "reduction": reduction}
    loss, probs = m.softmax_cross_entropy_forward(logits, labels, **kw)
    logits_t = torch.from_numpy(logits).requires_grad_()
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(labels), **kw)
    assert_close(loss, loss_t.detach().numpy(), np.float64, 54)
    grad = _grad(rng, reduction, 9, np.float64)
    loss_t.backward(torch.from_numpy(np.array(grad)))
    dlogits = m.softmax_cross_entropy_backward(probs, labels, grad, **kw)
    assert_close(dlogits, logits_t.grad.numpy(), np.float64, 6)


# ---------------------------------------------------------------------------------------------
# Argument errors: same exception and message in both backends

F64 = np.zeros((3, 5))
F32 = F64.astype(np.float32)
LABELS = np.array([0, 1, 2])

ERRORS = [
    ("softmax_forward", (F64.astype(np.int64),), TypeError,
     "softmax_forward: x must be float32 or float64, got int64"),
    ("log_softmax_forward", (F64.astype(np.float16),), TypeError,
     "log_softmax_forward: x must be float32 or float64, got float16"),
    ("softmax_forward", (np.zeros(()),), ValueError,
     "softmax_forward: expected at least 1 dimension, got a scalar"),
    ("softmax_backward", (F64, F32), TypeError,
     "softmax_backward: dy has dtype float32 but y has float64; mixed dtypes are not converted"),
    ("log_softmax_backward", (F64, F64.T), ValueError,
     "log_softmax_backward: dy must have the shape of y (3, 5), got (5, 3)"),
    ("softmax_backward", (F64.astype(np.int32), F64), TypeError,
     "softmax_backward: y must be float32 or float64, got int32"),
    ("softmax_cross_entropy_forward", (F64[0], LABELS), ValueError,
     "softmax_cross_entropy_forward: logits must have 2 dimensions (N, C), got shape (5,)"),
    ("softmax_cross_entropy_forward", (F64.astype(np.int64), LABELS), TypeError,
     "softmax_cross_entropy_forward: logits must be float32 or float64, got int64"),
    ("softmax_cross_entropy_forward", (F64, LABELS.astype(np.float64)), TypeError,
     "softmax_cross_entropy_forward: labels must be an integer ndarray, got float64"),
    ("softmax_cross_entropy_forward", (F64, [0, 1, 2]), TypeError,
     "softmax_cross_entropy_forward: labels must be an integer ndarray, got list"),
    ("softmax_cross_entropy_forward", (F64, LABELS[:2]), ValueError,
     "softmax_cross_entropy_forward: labels must have shape (3,), got (2,)"),
    ("softmax_cross_entropy_forward", (F64, LABELS, -100, 0.0, "avg"), ValueError,
     ("softmax_cross_entropy_forward: reduction must be one of ('mean', 'sum', 'none'), "
     "got 'avg'")),
    ("softmax_cross_entropy_forward", (F64, LABELS, -100, 1.5), ValueError,
     "softmax_cross_entropy_forward: label_smoothing must lie in [0, 1], got 1.5"),
    ("softmax_cross_entropy_forward", (np.zeros((3, 0)), LABELS), ValueError,
     "softmax_cross_entropy_forward: logits must have at least one class, got (3, 0)"),
    ("softmax_cross_entropy_backward", (F64, LABELS.astype(np.float32), 1.0), TypeError,
     "softmax_cross_entropy_backward: labels must be an integer ndarray, got float32"),
    ("softmax_cross_entropy_backward", (F64, LABELS, np.ones(3)), ValueError,
     ("softmax_cross_entropy_backward: grad must be a scalar for reduction='mean', "
     "got shape (3,)")),
    ("softmax_cross_entropy_backward", (F64, LABELS, np.ones(2), -100, 0.0, "none"), ValueError,
     "softmax_cross_entropy_backward: grad must have shape (3,), got (2,)"),
    ("softmax_cross_entropy_backward", (F64[None], LABELS, 1.0), ValueError,
     ("softmax_cross_entropy_backward: probs must have 2 dimensions (N, C), "
     "got shape (1, 3, 5)")),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_softmax_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
