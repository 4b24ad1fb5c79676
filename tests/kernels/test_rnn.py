"""Recurrent cell kernels (LSTM, GRU): compiled against the NumPy reference, finite-difference
checks of both backwards in float64, PyTorch's cells, and argument errors."""

import importlib.util

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

# (batch, hidden): batch 1, odd and prime sizes, and one large enough (>= 8192 elements) to
# go parallel.
SIZES = [(1, 1), (1, 7), (3, 5), (13, 17), (64, 160)]
LAYOUTS = ("contiguous", "strided", "fortran", "readonly")


def _inputs(rng, kernel, n, h, dtype):
    """Arguments of ``kernel`` at (n, h); backward kernels get acts from the forward."""
    ref = backend.get("reference")
    if kernel.startswith("lstm"):
        gates, c_prev = random(rng, (n, 4 * h), dtype, -3, 3), random(rng, (n, h), dtype)
        if kernel == "lstm_cell_forward":
            return [gates, c_prev]
        acts = ref.lstm_cell_forward(gates, c_prev)[2]
        return [acts, c_prev, random(rng, (n, h), dtype), random(rng, (n, h), dtype)]
    gi, gh = random(rng, (n, 3 * h), dtype, -3, 3), random(rng, (n, 3 * h), dtype, -3, 3)
    h_prev = random(rng, (n, h), dtype)
    if kernel == "gru_cell_forward":
        return [gi, gh, h_prev]
    return [ref.gru_cell_forward(gi, gh, h_prev)[1], h_prev, random(rng, (n, h), dtype)]


KERNELS = ["lstm_cell_forward", "lstm_cell_backward", "gru_cell_forward", "gru_cell_backward"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h", SIZES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_cell_matches_reference(kernel, n, h, dtype, layout, compiled, reference, rng,
                                threads, isa):
    args = _inputs(rng, kernel, n, h, dtype)
    expected = getattr(reference, kernel)(*args)
    args = [dict(layouts(a))[layout] for a in args]
    frozen = [a.copy() for a in args]
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        results.append(getattr(compiled, kernel)(*args))
        for got, want in zip(results[-1], expected):
            # float32: the compiled sigmoid/tanh are within a few ulp of NumPy's
            assert_close(got, want, dtype, reduction_len=16)
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)
    for a, before in zip(args, frozen):
        np.testing.assert_array_equal(a, before)  # inputs are never written


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_lstm_backward_without_dc_means_zero_dc(name, rng):
    m = backend.get(name)
    acts, c_prev, dh, _ = _inputs(rng, "lstm_cell_backward", 4, 6, np.float64)
    for a, b in zip(m.lstm_cell_backward(acts, c_prev, dh),
                    m.lstm_cell_backward(acts, c_prev, dh, np.zeros_like(dh))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_lstm_cell_gradcheck(name, rng):
    m = backend.get(name)
    n, h = 3, 4
    gates, c_prev = rng.standard_normal((n, 4 * h)), rng.standard_normal((n, h))

    # Both outputs side by side (h | c), differentiated by each input in turn.
    def forward_gates(g):
        hh, c, _ = m.lstm_cell_forward(g, c_prev)
        return np.concatenate([hh, c], axis=1)

    def backward_gates(g, dy):
        acts = m.lstm_cell_forward(g, c_prev)[2]
        return m.lstm_cell_backward(acts, c_prev, dy[:, :h], dy[:, h:])[0]

    def forward_c(c):
        hh, c2, _ = m.lstm_cell_forward(gates, c)
        return np.concatenate([hh, c2], axis=1)

    def backward_c(c, dy):
        acts = m.lstm_cell_forward(gates, c)[2]
        return m.lstm_cell_backward(acts, c, dy[:, :h], dy[:, h:])[1]

    directional_check(forward_gates, backward_gates, gates, rng)
    directional_check(forward_c, backward_c, c_prev, rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_gru_cell_gradcheck(name, rng):
    m = backend.get(name)
    n, h = 3, 4
    gi, gh = rng.standard_normal((n, 3 * h)), rng.standard_normal((n, 3 * h))
    h_prev = rng.standard_normal((n, h))

    def grads(gi, gh, hp, dy):
        return m.gru_cell_backward(m.gru_cell_forward(gi, gh, hp)[1], hp, dy)

    directional_check(lambda v: m.gru_cell_forward(v, gh, h_prev)[0],
                      lambda v, dy: grads(v, gh, h_prev, dy)[0], gi, rng)
    directional_check(lambda v: m.gru_cell_forward(gi, v, h_prev)[0],
                      lambda v, dy: grads(gi, v, h_prev, dy)[1], gh, rng)
    directional_check(lambda v: m.gru_cell_forward(gi, gh, v)[0],
                      lambda v, dy: grads(gi, gh, v, dy)[2], h_prev, rng)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_cells_match_torch(name, rng):
    """PyTorch's LSTMCell/GRUCell with their own weights: the GEMMs done here, the rest by
    the kernels, same outputs and input gradients."""
    import torch

    m = backend.get(name)
    n, d, h = 4, 5, 6
    x, h0, c0 = (rng.standard_normal(s) for s in ((n, d), (n, h), (n, h)))
    tx, th0, tc0 = (torch.tensor(v, requires_grad=True) for v in (x, h0, c0))
    lstm = torch.nn.LSTMCell(d, h).double()
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in lstm.parameters())
    th, tc = lstm(tx, (th0, tc0))
    (th.sum() + 2 * tc.sum()).backward()
    hh, c, acts = m.lstm_cell_forward(x @ w_ih.T + b_ih + h0 @ w_hh.T + b_hh, c0)
    np.testing.assert_allclose(hh, th.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(c, tc.detach().numpy(), atol=1e-12)
    dgates, dc0 = m.lstm_cell_backward(acts, c0, np.ones((n, h)), 2 * np.ones((n, h)))
    np.testing.assert_allclose(dgates @ w_ih, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dgates @ w_hh, th0.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dc0, tc0.grad.numpy(), atol=1e-12)

    tx.grad = th0.grad = None
    gru = torch.nn.GRUCell(d, h).double()
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in gru.parameters())
    th = gru(tx, th0)
    th.sum().backward()
    hh, acts = m.gru_cell_forward(x @ w_ih.T + b_ih, h0 @ w_hh.T + b_hh, h0)
    np.testing.assert_allclose(hh, th.detach().numpy(), atol=1e-12)
    dgi, dgh, dh0 = m.gru_cell_backward(acts, h0, np.ones((n, h)))
    np.testing.assert_allclose(dgi @ w_ih, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dh0 + dgh @ w_hh, th0.grad.numpy(), atol=1e-12)


G = np.zeros((2, 8))
C = np.zeros((2, 2))
ERRORS = [
    ("lstm_cell_forward", (G[:, :7], C), ValueError,
     "lstm_cell_forward: gates must have shape (N, 4 * hidden_size), got (2, 7)"),
    ("lstm_cell_forward", (G, C[:, :1]), ValueError,
     "lstm_cell_forward: c_prev must have shape (2, 2), got (2, 1)"),
    ("lstm_cell_forward", (G.astype(np.float32), C), TypeError, "lstm_cell_forward:"),
    ("lstm_cell_forward", (G[0], C), ValueError,
     "lstm_cell_forward: gates must have shape (N, 4 * hidden_size), got (8,)"),
    ("lstm_cell_backward", (np.zeros((2, 10)), C, C, C[:1]), ValueError,
     "lstm_cell_backward: dc must have shape (2, 2), got (1, 2)"),
    ("gru_cell_forward", (np.zeros((2, 6)), np.zeros((2, 3)), C), ValueError,
     "gru_cell_forward: gh must have the shape of gi (2, 6), got (2, 3)"),
    ("gru_cell_backward", (np.zeros((2, 8)), C, C.astype(np.int64)), TypeError,
     "gru_cell_backward:"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_cells_reject_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
