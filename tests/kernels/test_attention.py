"""Scaled dot-product attention kernels: compiled against the NumPy reference (masks given as
broadcast views, causal, dropout), finite-difference checks of the backward in float64,
PyTorch's scaled_dot_product_attention, masked keys, and argument errors."""

import importlib.util

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts

from pynn import backend

# (B, L, S, E, Ev): one problem, odd and prime sizes, L != S, and degenerate ones.
SHAPES = [(1, 1, 1, 1, 1), (3, 5, 7, 4, 3), (8, 13, 11, 16, 8), (2, 0, 3, 2, 2),
          (2, 3, 0, 2, 2), (2, 3, 4, 0, 2)]
# Additive masks by the shape they are given in; each broadcasts to (B, L, S).
MASKS = ["none", "keys (B, 1, S)", "shared (L, S)", "full (B, L, S)"]


def _mask(rng, kind, b, l, s, dtype):
    shape = {"keys (B, 1, S)": (b, 1, s), "shared (L, S)": (l, s),
             "full (B, L, S)": (b, l, s)}.get(kind)
    if shape is None:
        return None
    hidden = rng.random(shape) < 0.3
    if kind == "keys (B, 1, S)" and b and s:
        hidden[0] = True  # one problem sees no key at all
    return np.where(hidden, -np.inf, rng.standard_normal(shape)).astype(dtype)


def _qkv(rng, b, l, s, e, ev, dtype):
    return [rng.standard_normal(shape).astype(dtype) for shape in ((b, l, e), (b, s, e),
                                                                   (b, s, ev))]


@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_attention_matches_reference(shape, dtype, mask_kind, causal, dropout, compiled,
                                     reference, rng, threads):
    b, l, s, e, ev = shape
    q, k, v = _qkv(rng, *shape, dtype)
    mask = _mask(rng, mask_kind, b, l, s, dtype)
    keep = ((rng.random((b, l, s)) < 0.75) / dtype(0.75)).astype(dtype) if dropout else None
    out_ref, probs_ref = reference.attention_forward(q, k, v, mask, causal, None, keep)
    dout = rng.standard_normal(out_ref.shape).astype(dtype)
    grads_ref = reference.attention_backward(q, k, v, probs_ref, dout, None, keep)
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        out, probs = compiled.attention_forward(q, k, v, mask, causal, None, keep)
        grads = compiled.attention_backward(q, k, v, probs_ref, dout, None, keep)
        assert_close(out, out_ref, dtype, reduction_len=s + e)
        assert_close(probs, probs_ref, dtype, reduction_len=e)
        for got, want in zip(grads, grads_ref):
            assert_close(got, want, dtype, reduction_len=s + l + ev)
        results.append((out, probs) + grads)
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_reads_any_layout(dtype, compiled, reference, rng):
    q, k, v = _qkv(rng, 3, 4, 5, 6, 2, dtype)
    out_ref, probs_ref = reference.attention_forward(q, k, v, scale=0.3)
    for (_, qa), (_, ka), (_, va) in zip(layouts(q), layouts(k), layouts(v)):
        out, probs = compiled.attention_forward(qa, ka, va, scale=0.3)
        assert_close(out, out_ref, dtype, reduction_len=11)
        assert_close(probs, probs_ref, dtype, reduction_len=6)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_attention_gradcheck(name, rng):
    m = backend.get(name)
    q, k, v = _qkv(rng, 2, 3, 4, 5, 2, np.float64)
    mask = _mask(rng, "keys (B, 1, S)", 2, 3, 4, np.float64)
    mask[0, 0, :2] = 0  # every problem sees some key: the gradient is then smooth
    keep = (rng.random((2, 3, 4)) < 0.7) / 0.7

    def run(q, k, v):
        return m.attention_forward(q, k, v, mask, True, 0.7, keep)

    def grads(q, k, v, dy):
        return m.attention_backward(q, k, v, run(q, k, v)[1], dy, 0.7, keep)

    directional_check(lambda x: run(x, k, v)[0], lambda x, dy: grads(x, k, v, dy)[0], q, rng)
    directional_check(lambda x: run(q, x, v)[0], lambda x, dy: grads(q, x, v, dy)[1], k, rng)
    directional_check(lambda x: run(q, k, x)[0], lambda x, dy: grads(q, k, x, dy)[2], v, rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_hidden_keys_get_no_weight_and_no_gradient(name, rng):
    m = backend.get(name)
    q, k, v = _qkv(rng, 2, 3, 5, 4, 3, np.float64)
    mask = np.zeros((2, 1, 5))
    mask[:, :, 3:] = -np.inf  # the last two keys are padding
    out, probs = m.attention_forward(q, k, v, mask)
    assert np.all(probs[:, :, 3:] == 0)
    np.testing.assert_allclose(probs.sum(axis=-1), 1)
    _, dk, dv = m.attention_backward(q, k, v, probs, np.ones_like(out))
    assert np.all(dk[:, 3:] == 0) and np.all(dv[:, 3:] == 0)
    # a query that sees nothing: zero weights and output, not NaN
    out, probs = m.attention_forward(q, k, v, np.full((5,), -np.inf))
    assert np.all(out == 0) and np.all(probs == 0)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_attention_matches_torch(name, causal, rng):
    import torch

    m = backend.get(name)
    q, k, v = _qkv(rng, 3, 4, 6, 5, 2, np.float64)
    mask = rng.standard_normal((3, 4, 6))
    tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
    bias = torch.tensor(mask)
    if causal:
        bias = bias + torch.tensor(np.where(np.tri(4, 6, dtype=bool), 0.0, -np.inf))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=bias)
    dout = rng.standard_normal(tout.shape)
    tout.backward(torch.tensor(dout))
    out, probs = m.attention_forward(q, k, v, mask, causal)
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-12)
    for got, want in zip(m.attention_backward(q, k, v, probs, dout), (tq, tk, tv)):
        np.testing.assert_allclose(got, want.grad.numpy(), atol=1e-12)


Q, K, V = np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 6))
ERRORS = [
    ("attention_forward", (Q[0], K, V), ValueError,
     "attention_forward: q must have 3 dimensions (B, L or S, E), got shape (3, 4)"),
    ("attention_forward", (Q, K[:, :, :3], V), ValueError,
     ("attention_forward: k must have shape (B, S, E) = (2, S, 4) to match q (2, 3, 4), got "
      "(2, 5, 3)")),
    ("attention_forward", (Q, K, V[:, :4]), ValueError,
     ("attention_forward: v must have shape (B, S, Ev) = (2, 5, Ev) to match k (2, 5, 4), got "
      "(2, 4, 6)")),
    ("attention_forward", (Q, K, V, np.zeros((3, 4))), ValueError,
     "attention_forward: mask must broadcast to (B, L, S) = (2, 3, 5), got (3, 4)"),
    ("attention_forward", (Q, K, V.astype(np.float32)), TypeError, "attention_forward:"),
    ("attention_backward", (Q, K, V, np.zeros((2, 3, 4)), np.zeros((2, 3, 6))), ValueError,
     "attention_backward: probs must have shape (2, 3, 5), got (2, 3, 4)"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_attention_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
