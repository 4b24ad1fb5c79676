"""Whole-sequence LSTM kernels (lstm_sequence_forward/backward): compiled against the NumPy
reference (both directions, odd sizes, batch 1, inputs in other layouts, every ISA, 1 against
2 threads repeated), finite differences in float64, and argument errors."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

from pynn import backend

# (L, N, H): one step, batch 1, odd and prime sizes, and enough work for two threads.
SIZES = [(1, 1, 1), (3, 1, 5), (4, 3, 7), (6, 13, 17), (5, 64, 40)]


def _forward_inputs(rng, L, n, h, dtype):
    gates = random(rng, (L, n, 4 * h), dtype, -2, 2)
    w_hh = random(rng, (4 * h, h), dtype, -0.5, 0.5)
    hs, cs = random(rng, (L + 2, n, h), dtype), random(rng, (L + 2, n, h), dtype)
    return gates, w_hh, hs, cs


def _run_forward(m, gates, w_hh, hs, cs, reverse, record=True):
    """The kernel on copies of the arrays it writes; returns them and acts."""
    gates, hs, cs = gates.copy(), hs.copy(), cs.copy()
    acts = m.lstm_sequence_forward(gates, w_hh, hs, cs, reverse, record)
    return gates, hs, cs, acts


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("L, n, h", SIZES)
def test_sequence_matches_reference(L, n, h, dtype, reverse, compiled, reference, rng,
                                    threads, isa):
    gates, w_hh, hs, cs = _forward_inputs(rng, L, n, h, dtype)
    want = _run_forward(reference, gates, w_hh, hs, cs, reverse)
    dout, dc = random(rng, (L, n, h), dtype), random(rng, (n, h), dtype)
    want_bwd = reference.lstm_sequence_backward(want[3], want[2], w_hh, dout, dc, reverse, True)
    # Every step's error feeds the next: the tolerance grows with the sequence.
    reduction = 4 * h * L
    for n_threads in (1, 2):
        threads(n_threads)
        got = _run_forward(compiled, gates, w_hh, hs, cs, reverse)
        for a, b in zip(got, want):
            assert_close(a, b, dtype, reduction_len=reduction)
        bwd = compiled.lstm_sequence_backward(got[3], got[2], w_hh, dout, dc, reverse, True)
        for a, b in zip(bwd, want_bwd):
            assert_close(a, b, dtype, reduction_len=reduction)
        # Without recording, the same states.
        plain = _run_forward(compiled, gates, w_hh, hs, cs, reverse, record=False)
        assert plain[3] is None
        for a, b in zip(plain[:3], got[:3]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", ["strided", "fortran", "readonly"])
def test_inputs_in_other_layouts(layout, compiled, reference, rng):
    """w_hh, dout and dc as views or read-only arrays give the contiguous arrays' result; the
    arrays written in place must be C-contiguous and writeable."""
    L, n, h, dtype = 3, 4, 5, np.float64
    gates, w_hh, hs, cs = _forward_inputs(rng, L, n, h, dtype)
    dout, dc = random(rng, (L, n, h), dtype), random(rng, (n, h), dtype)
    want = _run_forward(compiled, gates, w_hh, hs, cs, False)
    want_bwd = compiled.lstm_sequence_backward(want[3], want[2], w_hh, dout, dc, False, True)
    other = {name: dict(layouts(a))[layout] for name, a in
             (("w_hh", w_hh), ("dout", dout), ("dc", dc))}
    for m in (compiled, reference):
        got = _run_forward(m, gates, other["w_hh"], hs, cs, False)
        for a, b in zip(got, want):
            assert_close(a, b, dtype, reduction_len=4 * h * L)
        bwd = m.lstm_sequence_backward(got[3], got[2], other["w_hh"], other["dout"],
                                       other["dc"], False, True)
        for a, b in zip(bwd, want_bwd):
            assert_close(a, b, dtype, reduction_len=4 * h * L)


def test_two_threads_repeat_exactly(compiled, rng, threads):
    """Each thread runs its rows through every step alone: any thread count gives the one
    thread's bits, call after call."""
    L, n, h = 7, 33, 24
    gates, w_hh, hs, cs = _forward_inputs(rng, L, n, h, np.float32)
    dout = random(rng, (L, n, h), np.float32)
    threads(1)
    first = _run_forward(compiled, gates, w_hh, hs, cs, False)
    first_bwd = compiled.lstm_sequence_backward(first[3], first[2], w_hh, dout, None, False,
                                                True)
    threads(2)
    for _ in range(30):
        got = _run_forward(compiled, gates, w_hh, hs, cs, False)
        for a, b in zip(got, first):
            np.testing.assert_array_equal(a, b)
        bwd = compiled.lstm_sequence_backward(got[3], got[2], w_hh, dout, None, False, True)
        for a, b in zip(bwd, first_bwd):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_sequence_gradcheck(name, reverse, rng):
    """The backward against central differences of the forward, for the input projections,
    the initial state and W_hh (whose gradient is the caller's sum of dgates^T h_prev)."""
    m = backend.get(name)
    L, n, h = 4, 3, 2
    proj, w_hh, hs0, cs0 = _forward_inputs(rng, L, n, h, np.float64)
    h0_row = L + 1 if reverse else 0
    prev_rows = slice(2, L + 2) if reverse else slice(0, L)

    def outputs(proj=proj, w_hh=w_hh, h0=hs0[h0_row], c0=cs0[h0_row]):
        hs, cs = hs0.copy(), cs0.copy()
        hs[h0_row], cs[h0_row] = h0, c0
        m.lstm_sequence_forward(proj.copy(), w_hh, hs, cs, reverse, False)
        c_n = cs[1 if reverse else L]
        return np.concatenate([hs[1:L + 1].ravel(), c_n.ravel()])

    def grads(proj=proj, w_hh=w_hh, h0=hs0[h0_row], c0=cs0[h0_row], dy=None):
        hs, cs = hs0.copy(), cs0.copy()
        hs[h0_row], cs[h0_row] = h0, c0
        acts = m.lstm_sequence_forward(proj.copy(), w_hh, hs, cs, reverse, True)
        dout, dc = dy[:L * n * h].reshape(L, n, h), dy[L * n * h:].reshape(n, h)
        dgates, dc0, dh0 = m.lstm_sequence_backward(acts, cs, w_hh, dout, dc, reverse, True)
        dw = np.einsum("lng,lnh->gh", dgates, hs[prev_rows])
        return {"proj": dgates, "w_hh": dw, "h0": dh0, "c0": dc0}

    for arg, value in (("proj", proj), ("w_hh", w_hh), ("h0", hs0[h0_row]),
                       ("c0", cs0[h0_row])):
        directional_check(lambda v, arg=arg: outputs(**{arg: v}),
                          lambda v, dy, arg=arg: grads(**{arg: v}, dy=dy)[arg], value, rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_backward_defaults(name, rng):
    """dc None means zero; dh0 only when asked for."""
    m = backend.get(name)
    L, n, h = 3, 2, 4
    gates, w_hh, hs, cs = _forward_inputs(rng, L, n, h, np.float64)
    acts = m.lstm_sequence_forward(gates, w_hh, hs, cs)
    dout = rng.standard_normal((L, n, h))
    a = m.lstm_sequence_backward(acts, cs, w_hh, dout)
    b = m.lstm_sequence_backward(acts, cs, w_hh, dout, np.zeros((n, h)), False, True)
    assert a[2] is None and b[2] is not None
    for x, y in zip(a[:2], b[:2]):
        np.testing.assert_array_equal(x, y)


G = np.zeros((2, 3, 8))
W = np.zeros((8, 2))
S = np.zeros((4, 3, 2))
ERRORS = [
    ("lstm_sequence_forward", (G, W[:7], S, S.copy()), ValueError,
     "lstm_sequence_forward: w_hh must have shape (8, 2), got (7, 2)"),
    ("lstm_sequence_forward", (G[:, :, :6], W, S, S.copy()), ValueError,
     "lstm_sequence_forward: gates must have shape (2, 3, 8), got (2, 3, 6)"),
    ("lstm_sequence_forward", (G, W, S[:3], S.copy()), ValueError,
     "lstm_sequence_forward: hs must have shape (4, 3, 2), got (3, 3, 2)"),
    ("lstm_sequence_forward", (G, W, S, S[:, :, ::-1]), ValueError,
     "lstm_sequence_forward: cs is written in place and must be C-contiguous"),
    ("lstm_sequence_forward", (G.astype(np.float32), W, S, S.copy()), TypeError,
     "lstm_sequence_forward:"),
    ("lstm_sequence_forward", (G[0], W, S, S.copy()), ValueError,
     "lstm_sequence_forward: gates must have 3 dimensions (L, N, ...), got shape (3, 8)"),
    ("lstm_sequence_backward", (np.zeros((2, 3, 10)), S, W, np.zeros((2, 3, 2)), S[0, :2]),
     ValueError, "lstm_sequence_backward: dc must have shape (3, 2), got (2, 2)"),
    ("lstm_sequence_backward", (np.zeros((2, 3, 10)), S, W, np.zeros((2, 3, 3))),
     ValueError, "lstm_sequence_backward: dout must have shape (2, 3, 2), got (2, 3, 3)"),
]


@pytest.mark.parametrize("kernel, args, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_sequence_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
