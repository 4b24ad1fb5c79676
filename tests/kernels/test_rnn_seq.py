"""Whole-sequence LSTM kernels (lstm_sequence_forward/backward): compiled against the NumPy
reference (both directions, odd sizes, batch 1, with and without bias, inputs in other
layouts, every ISA, 1 against 2 threads repeated), finite differences in float64, and
argument errors."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

# (L, N, H_in, H): one step, batch 1, odd and prime sizes, no bias, and enough work for two
# threads.
SIZES = [(1, 1, 1, 1), (3, 1, 2, 5), (4, 3, 6, 7), (6, 13, 1, 17), (5, 64, 28, 40)]


def _forward_inputs(rng, L, n, d, h, dtype, bias=True):
    x = random(rng, (L, n, d), dtype, -2, 2)
    w_ih = random(rng, (4 * h, d), dtype, -0.5, 0.5)
    w_hh = random(rng, (4 * h, h), dtype, -0.5, 0.5)
    b = random(rng, (4 * h,), dtype) if bias else None
    hs, cs = random(rng, (L + 2, n, h), dtype), random(rng, (L + 2, n, h), dtype)
    return x, w_ih, w_hh, b, hs, cs


def _run_forward(m, x, w_ih, w_hh, b, hs, cs, reverse, record=True):
    """The kernel on copies of the states it writes; returns them and acts."""
    hs, cs = hs.copy(), cs.copy()
    acts = m.lstm_sequence_forward(x, w_ih, w_hh, b, hs, cs, reverse, record)
    return hs, cs, acts


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("L, n, d, h", SIZES)
def test_sequence_matches_reference(L, n, d, h, dtype, reverse, compiled, reference, rng,
                                    threads, isa):
    args = _forward_inputs(rng, L, n, d, h, dtype, bias=d != 1)
    w_hh = args[2]
    want = _run_forward(reference, *args, reverse)
    dout, dc = random(rng, (L, n, h), dtype), random(rng, (n, h), dtype)
    want_bwd = reference.lstm_sequence_backward(want[2], want[1], w_hh, dout, dc, reverse, True)
    # Every step's error feeds the next: the tolerance grows with the sequence.
    reduction = 4 * (d + h) * L
    for n_threads in (1, 2):
        threads(n_threads)
        got = _run_forward(compiled, *args, reverse)
        for a, b in zip(got, want):
            assert_close(a, b, dtype, reduction_len=reduction)
        bwd = compiled.lstm_sequence_backward(got[2], got[1], w_hh, dout, dc, reverse, True)
        for a, b in zip(bwd, want_bwd):
            assert_close(a, b, dtype, reduction_len=reduction)
        # Without recording, the same states.
        plain = _run_forward(compiled, *args, reverse, record=False)
        assert plain[2] is None
        for a, b in zip(plain[:2], got[:2]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["strided", "fortran", "readonly"])
def test_inputs_in_other_layouts(layout, compiled, reference, rng):
    """The inputs as views or read-only arrays give the contiguous arrays' result; the arrays
    written in place must be C-contiguous and writeable."""
    L, n, d, h, dtype = 3, 4, 3, 5, np.float64
    x, w_ih, w_hh, b, hs, cs = _forward_inputs(rng, L, n, d, h, dtype)
    dout, dc = random(rng, (L, n, h), dtype), random(rng, (n, h), dtype)
    want = _run_forward(compiled, x, w_ih, w_hh, b, hs, cs, False)
    want_bwd = compiled.lstm_sequence_backward(want[2], want[1], w_hh, dout, dc, False, True)
    o = {name: dict(layouts(a)).get(layout, a) for name, a in
         (("x", x), ("w_ih", w_ih), ("w_hh", w_hh), ("b", b), ("dout", dout), ("dc", dc))}
    for m in (compiled, reference):
        got = _run_forward(m, o["x"], o["w_ih"], o["w_hh"], o["b"], hs, cs, False)
        for a, b_ in zip(got, want):
            assert_close(a, b_, dtype, reduction_len=4 * (d + h) * L)
        bwd = m.lstm_sequence_backward(got[2], got[1], o["w_hh"], o["dout"], o["dc"], False,
                                       True)
        for a, b_ in zip(bwd, want_bwd):
            assert_close(a, b_, dtype, reduction_len=4 * (d + h) * L)


def test_two_threads_repeat_exactly(compiled, rng, threads):
    """Each thread runs its rows through every step alone: any thread count gives the one
    thread's bits, call after call."""
    L, n, d, h = 7, 33, 9, 24
    args = _forward_inputs(rng, L, n, d, h, np.float32)
    w_hh = args[2]
    dout = random(rng, (L, n, h), np.float32)
    threads(1)
    first = _run_forward(compiled, *args, False)
    first_bwd = compiled.lstm_sequence_backward(first[2], first[1], w_hh, dout, None, False,
                                                True)
    threads(2)
    for _ in range(30):
        got = _run_forward(compiled, *args, False)
        for a, b in zip(got, first):
            np.testing.assert_array_equal(a, b)
        bwd = compiled.lstm_sequence_backward(got[2], got[1], w_hh, dout, None, False, True)
        for a, b in zip(bwd, first_bwd):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_sequence_gradcheck(name, reverse, rng):
    """The backward against central differences of the forward, for the inputs, both weights,
    the bias and the initial state; the weights' and inputs' gradients are the caller's
    products of dgates (dW_ih = dgates^T x, dW_hh = dgates^T h_prev, dx = dgates W_ih)."""
    m = backend.get(name)
    L, n, d, h = 4, 3, 2, 2
    x, w_ih, w_hh, b, hs0, cs0 = _forward_inputs(rng, L, n, d, h, np.float64)
    h0_row = L + 1 if reverse else 0
    prev_rows = slice(2, L + 2) if reverse else slice(0, L)
    point = {"x": x, "w_ih": w_ih, "w_hh": w_hh, "b": b, "h0": hs0[h0_row], "c0": cs0[h0_row]}

    def run(p, record):
        hs, cs = hs0.copy(), cs0.copy()
        hs[h0_row], cs[h0_row] = p["h0"], p["c0"]
        acts = m.lstm_sequence_forward(p["x"], p["w_ih"], p["w_hh"], p["b"], hs, cs, reverse,
                                       record)
        return hs, cs, acts

    def outputs(p):
        hs, cs, _ = run(p, False)
        return np.concatenate([hs[1:L + 1].ravel(), cs[1 if reverse else L].ravel()])

    def grads(p, dy):
        hs, cs, acts = run(p, True)
        dout, dc = dy[:L * n * h].reshape(L, n, h), dy[L * n * h:].reshape(n, h)
        dgates, dc0, dh0 = m.lstm_sequence_backward(acts, cs, p["w_hh"], dout, dc, reverse,
                                                    True)
        return {"x": dgates @ p["w_ih"], "w_ih": np.einsum("lng,lnd->gd", dgates, p["x"]),
                "w_hh": np.einsum("lng,lnh->gh", dgates, hs[prev_rows]),
                "b": dgates.sum((0, 1)), "h0": dh0, "c0": dc0}

    for arg, value in point.items():
        directional_check(lambda v, arg=arg: outputs({**point, arg: v}),
                          lambda v, dy, arg=arg: grads({**point, arg: v}, dy)[arg], value, rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_backward_defaults(name, rng):
    """dc None means zero; dh0 only when asked for."""
    m = backend.get(name)
    L, n, d, h = 3, 2, 3, 4
    x, w_ih, w_hh, b, hs, cs = _forward_inputs(rng, L, n, d, h, np.float64)
    acts = m.lstm_sequence_forward(x, w_ih, w_hh, b, hs, cs)
    dout = rng.standard_normal((L, n, h))
    a = m.lstm_sequence_backward(acts, cs, w_hh, dout)
    b = m.lstm_sequence_backward(acts, cs, w_hh, dout, np.zeros((n, h)), False, True)
    assert a[2] is None and b[2] is not None
    for p, q in zip(a[:2], b[:2]):
        np.testing.assert_array_equal(p, q)


X = np.zeros((2, 3, 5))
WI = np.zeros((8, 5))
W = np.zeros((8, 2))
S = np.zeros((4, 3, 2))
ERRORS = [
    ("lstm_sequence_forward", (X, WI, W[:7], None, S, S.copy()), ValueError,
     "lstm_sequence_forward: w_hh must have shape (8, 2), got (7, 2)"),
    ("lstm_sequence_forward", (X, WI[:, :4], W, None, S, S.copy()), ValueError,
     "lstm_sequence_forward: w_ih must have shape (8, 5), got (8, 4)"),
    ("lstm_sequence_forward", (X, WI, W, np.zeros(7), S, S.copy()), ValueError,
     "lstm_sequence_forward: bias must have shape (8,), got (7,)"),
    ("lstm_sequence_forward", (X, WI, W, None, S[:3], S.copy()), ValueError,
     "lstm_sequence_forward: hs must have shape (4, 3, 2), got (3, 3, 2)"),
    ("lstm_sequence_forward", (X, WI, W, None, S, S[:, :, ::-1]), ValueError,
     "lstm_sequence_forward: cs is written in place and must be C-contiguous"),
    ("lstm_sequence_forward", (X.astype(np.float32), WI, W, None, S, S.copy()), TypeError,
     "lstm_sequence_forward:"),
    ("lstm_sequence_forward", (X[0], WI, W, None, S, S.copy()), ValueError,
     "lstm_sequence_forward: x must have 3 dimensions (L, N, ...), got shape (3, 5)"),
    ("lstm_sequence_backward", (np.zeros((2, 3, 10)), S, W, np.zeros((2, 3, 2)), S[0, :2]),
     ValueError, "lstm_sequence_backward: dc must have shape (3, 2), got (2, 2)"),
    ("lstm_sequence_backward", (np.zeros((2, 3, 10)), S, W, np.zeros((2, 3, 3))),
     ValueError, "lstm_sequence_backward: dout must have shape (2, 3, 2), got (2, 3, 3)"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_sequence_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)


# GRU and Elman RNN: the same grid, the same checks.
def _gru_rnn_inputs(rng, kind, L, n, d, h, dtype, bias=True):
    g = 3 * h if kind == "gru" else h
    x = random(rng, (L, n, d), dtype, -2, 2)
    w_ih, w_hh = random(rng, (g, d), dtype, -0.5, 0.5), random(rng, (g, h), dtype, -0.5, 0.5)
    hs = random(rng, (L + 2, n, h), dtype)
    if kind == "gru":
        b = (random(rng, (g,), dtype), random(rng, (g,), dtype)) if bias else (None, None)
    else:
        b = (random(rng, (g,), dtype) if bias else None,)
    return x, w_ih, w_hh, b, hs


def _gru_rnn_run(m, kind, x, w_ih, w_hh, b, hs, reverse, relu=False):
    """Forward on a copy of hs, then backward of random output gradients (seeded by the
    shapes); returns hs, acts (GRU) and the backward's results."""
    hs = hs.copy()
    L, n, h = x.shape[0], x.shape[1], hs.shape[2]
    dout = np.random.default_rng(L * n * h).uniform(-1, 1, (L, n, h)).astype(x.dtype)
    if kind == "gru":
        acts = m.gru_sequence_forward(x, w_ih, w_hh, *b, hs, reverse)
        return (hs, acts) + tuple(m.gru_sequence_backward(acts, hs, w_hh, dout, reverse, True))
    m.rnn_sequence_forward(x, w_ih, w_hh, *b, hs, reverse, relu)
    return (hs,) + tuple(m.rnn_sequence_backward(hs, w_hh, dout, reverse, relu, True))


KINDS = [("gru", False), ("rnn", False), ("rnn", True)]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("L, n, d, h", SIZES)
@pytest.mark.parametrize("kind, relu", KINDS, ids=["gru", "rnn-tanh", "rnn-relu"])
def test_gru_rnn_sequences_match_reference(kind, relu, L, n, d, h, dtype, reverse, compiled,
                                           reference, rng, threads, isa):
    args = _gru_rnn_inputs(rng, kind, L, n, d, h, dtype, bias=d != 1)
    want = _gru_rnn_run(reference, kind, *args, reverse, relu)
    for n_threads in (1, 2):
        threads(n_threads)
        got = _gru_rnn_run(compiled, kind, *args, reverse, relu)
        for a, b in zip(got, want):
            assert_close(a, b, dtype, reduction_len=3 * (d + h) * L)


@pytest.mark.parametrize("kind, relu", KINDS, ids=["gru", "rnn-tanh", "rnn-relu"])
def test_gru_rnn_two_threads_repeat_exactly(kind, relu, compiled, rng, threads):
    args = _gru_rnn_inputs(rng, kind, 7, 33, 9, 24, np.float32)
    threads(1)
    first = _gru_rnn_run(compiled, kind, *args, False, relu)
    threads(2)
    for _ in range(30):
        for a, b in zip(_gru_rnn_run(compiled, kind, *args, False, relu), first):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind, relu", KINDS, ids=["gru", "rnn-tanh", "rnn-relu"])
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_gru_rnn_gradcheck(name, kind, relu, reverse, rng):
    """The backward against central differences of the forward's outputs, for the inputs,
    both weights, the biases and the initial state (the caller's products of the gate
    gradients give the weights' and inputs')."""
    m = backend.get(name)
    L, n, d, h = 4, 3, 2, 3
    x, w_ih, w_hh, b, hs0 = _gru_rnn_inputs(rng, kind, L, n, d, h, np.float64)
    if relu:  # keep every pre-activation away from ReLU's kink
        hs0 = np.abs(hs0)
        b = (np.abs(b[0]) + 1,)
    h0_row = L + 1 if reverse else 0
    prev_rows = slice(2, L + 2) if reverse else slice(0, L)
    point = {"x": x, "w_ih": w_ih, "w_hh": w_hh, "h0": hs0[h0_row]}
    point.update({f"b{i}": v for i, v in enumerate(b)})

    def forward(p, record):
        hs = hs0.copy()
        hs[h0_row] = p["h0"]
        bias = [p[f"b{i}"] for i in range(len(b))]
        if kind == "gru":
            return hs, m.gru_sequence_forward(p["x"], p["w_ih"], p["w_hh"], *bias, hs, reverse,
                                              record)
        m.rnn_sequence_forward(p["x"], p["w_ih"], p["w_hh"], *bias, hs, reverse, relu)
        return hs, None

    def grads(p, dy):
        hs, acts = forward(p, True)
        dout = dy.reshape(L, n, h)
        if kind == "gru":
            dgi, dgh, dh0 = m.gru_sequence_backward(acts, hs, p["w_hh"], dout, reverse, True)
        else:
            dgi, dh0 = m.rnn_sequence_backward(hs, p["w_hh"], dout, reverse, relu, True)
            dgh = dgi
        out = {"x": dgi @ p["w_ih"], "w_ih": np.einsum("lng,lnd->gd", dgi, p["x"]),
               "w_hh": np.einsum("lng,lnh->gh", dgh, hs[prev_rows]), "h0": dh0,
               "b0": dgi.sum((0, 1))}
        if kind == "gru":
            out["b1"] = dgh.sum((0, 1))
        return out

    for arg, value in point.items():
        directional_check(lambda v, arg=arg: forward({**point, arg: v}, False)[0][1:L + 1],
                          lambda v, dy, arg=arg: grads({**point, arg: v}, dy)[arg], value, rng)


GRU_ERRORS = [
    ("gru_sequence_forward", (X, np.zeros((6, 5)), W[:6], None, None, S[:, :, ::-1]),
     ValueError, "gru_sequence_forward: hs is written in place"),
    ("gru_sequence_forward", (X, np.zeros((6, 5)), W[:6], np.zeros(5), np.zeros(6), S.copy()),
     ValueError, "gru_sequence_forward: b_ih must have shape (6,), got (5,)"),
    ("gru_sequence_backward", (np.zeros((2, 3, 7)), S, W[:6], np.zeros((2, 3, 2))), ValueError,
     "gru_sequence_backward: acts must have shape (2, 3, 8)"),
    ("rnn_sequence_forward", (X, np.zeros((2, 4)), W[:2], None, S.copy()), ValueError,
     "rnn_sequence_forward: w_ih must have shape (2, 5), got (2, 4)"),
    ("rnn_sequence_backward", (S[:3], W[:2], np.zeros((2, 3, 2))), ValueError,
     "rnn_sequence_backward: hs must have shape (4, 3, 2), got (3, 3, 2)"),
]


@pytest.mark.parametrize("kernel, args, exc, message", GRU_ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(GRU_ERRORS)])
def test_gru_rnn_reject_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
