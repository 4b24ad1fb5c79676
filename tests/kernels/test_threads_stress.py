"""Threads never change a result: every threaded kernel run many times at 2, 3 and 4 threads
(more threads than this machine has cores included).

A data race shows up in a few calls out of hundreds, so one comparison per shape proves
little: each case here repeats its call and compares every result with the 1-thread one,
bit for bit where the kernel promises that the thread count does not change the order of
the sums (GEMM and the layers built on it), else with a float64 reference and with the
first result at the same thread count (a race makes repeated calls disagree).

The shapes come from the blocking each instruction set really uses (mr x nr register
blocks, kc-deep and mc-row cache blocks), so that every case crosses the edges where work
changes hands between threads: small M with K over several depth blocks (B read in place),
M just past the point where B is packed, and the column blocks.

``PYNN_STRESS_REPEATS`` sets the repetitions (default 6, enough for CI to catch a race that
shows once in a hundred calls; ``PYNN_STRESS_REPEATS=100 pytest -k stress`` for a long run).
"""

import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import pynn
from pynn.backend import _native, get

compiled = get("compiled")
reference = get("reference")

REPEATS = int(os.environ.get("PYNN_STRESS_REPEATS", "6"))
TEAMS = (2, 3, 4)
DTYPES = [np.float32, np.float64]


def blocking(isa, dtype):
    return _native.gemm_blocking(_native.ISA_NAMES.index(isa), dtype == np.float64)


def gemm_shapes(isa, dtype):
    """(m, n, k) around the blocks of ``isa``. GEMM packs B once each thread's share of A has
    more than 8 row panels (m > 8 mr t at t threads), then in every thread; B not row-major
    (trans_b) is packed at any m, shared by the team when the rows are fewer. So the first
    four read a row-major B in place at any team size, the fifth and sixth pack it at one
    thread and per thread or not at all in a team, and the seventh packs it in every thread
    of every team, each thread over more than one mc-row block."""
    b = blocking(isa, dtype)
    mr, nr, kc, mc = b["mr"], b["nr"], b["kc"], b["mc"]
    return [
        (mr + 1, 5 * nr + 3, kc + 1),
        (2 * mr - 1, 8 * nr, 2 * kc + 3),
        (8 * mr, 4 * nr + 1, kc + 1),
        (1, 40 * nr + 1, 3 * kc - 1),
        (8 * mr + 1, 3 * nr - 1, kc + 1),
        (mc + 1, 2 * nr + 1, 2 * kc - 1),
        (mc * max(TEAMS) + mr + 1, 2 * nr + 1, kc + 1),
        (64, 1352, 256),  # the products the race was found on
        (8, 512, 2048),
        (32, 128, 512),
    ]


@pytest.fixture
def teams():
    before = pynn.get_num_threads()
    yield TEAMS
    pynn.set_num_threads(before)


def repeated(call, team_sizes):
    """The 1-thread result, then every result at each team size, REPEATS times each."""
    pynn.set_num_threads(1)
    first = call()
    for n in team_sizes:
        pynn.set_num_threads(n)
        for _ in range(REPEATS):
            yield n, first, call()


def test_gemm_stress_threads_bitwise(isa, teams):
    rng = np.random.default_rng(19)
    for dtype in DTYPES:
        for m, n, k in gemm_shapes(isa, dtype):
            for trans_a, trans_b in ((False, False), (True, False), (False, True)):
                a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
                b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
                bias = rng.standard_normal(n).astype(dtype)

                def call():
                    return compiled.gemm(a, b, trans_a=trans_a, trans_b=trans_b, bias=bias,  # noqa: B023  (called in this iteration)
                                         relu=True)

                for nt, first, got in repeated(call, teams):
                    assert_array_equal(
                        got, first,
                        err_msg=f"{isa} {dtype.__name__} {(m, n, k)} trans_a={trans_a} "
                                f"trans_b={trans_b}: {nt} threads differ from 1")
                expected = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b, bias=bias,
                                          relu=True)
                tol = 1e-4 if dtype == np.float32 else 1e-12
                scale = np.abs(expected).max()
                assert np.abs(first - expected).max() <= tol * scale * np.sqrt(k)


def test_gemm_beta_accumulates_stress(isa, teams):
    """beta != 0 reads C in the first depth block and the later blocks add into it: the
    path where a tile handed to another thread too early adds to a half-written tile; with
    few rows (B read in place) and with B packed in every thread."""
    rng = np.random.default_rng(20)
    b_ = blocking(isa, np.float32)
    for m in (b_["mr"] + 3, 8 * b_["mr"] * max(TEAMS) + 5):
        n, k = 7 * b_["nr"] + 5, 2 * b_["kc"] + 1
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c0 = rng.standard_normal((m, n)).astype(np.float32)

        def call():
            out = c0.copy()  # noqa: B023  (called in this iteration)
            compiled.gemm(a, b, out, beta=0.5, alpha=2.0)  # noqa: B023
            return out

        for nt, first, got in repeated(call, teams):
            assert_array_equal(got, first, err_msg=f"{isa} m={m}: {nt} threads differ from 1")


@pytest.mark.parametrize("pooled", [False, True])
def test_conv2d_backward_stress_threads(isa, teams, pooled):
    """The convolution's chunks and per-thread weight-gradient sums, the fused pooled
    kernels too: the same bits at a fixed thread count, close to the reference at all."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((13, 3, 12, 12))
    w = rng.standard_normal((7, 3, 5, 5))
    b = rng.standard_normal(7)
    for dtype in DTYPES:
        xd, wd, bd = x.astype(dtype), w.astype(dtype), b.astype(dtype)
        if pooled:
            y, idx = compiled.conv2d_maxpool_forward(xd, wd, bd, relu=True)
            dy = rng.standard_normal(y.shape).astype(dtype)

            def call(backend=compiled):
                out = backend.conv2d_maxpool_backward(xd, wd, dy, idx, relu_y=y)  # noqa: B023  (called in this iteration)
                return np.concatenate([g.ravel() for g in out])
        else:
            y = compiled.conv2d_forward(xd, wd, bd, padding=1, relu=True)
            dy = rng.standard_normal(y.shape).astype(dtype)

            def call(backend=compiled):
                out = backend.conv2d_backward(xd, wd, dy, padding=1, relu_y=y)  # noqa: B023  (called in this iteration)
                return np.concatenate([g.ravel() for g in out])

        expected = call(reference)
        tol = 1e-3 if dtype == np.float32 else 1e-10
        same_team = {}
        for nt, first, got in repeated(call, teams):
            same_team.setdefault(nt, got)
            assert_array_equal(got, same_team[nt], err_msg=f"{isa}: {nt} threads, repeated")
            assert np.abs(got - expected).max() <= tol * np.abs(expected).max()


def test_conv2d_flat_weight_gradient_stress_threads(isa, teams):
    """A stride-1 layer past the patch-row kernel's size, whose weight gradient (with AVX-512)
    is the flat kernel's dot products, two images a call and their sums reduced per thread,
    and whose input gradient is the image-read forward on dy: an odd batch, so that the
    threads' shares of images differ."""
    rng = np.random.default_rng(22)
    x = rng.standard_normal((5, 32, 28, 28))
    w = rng.standard_normal((64, 32, 3, 3)) * 0.1
    for dtype in DTYPES:
        xd, wd = x.astype(dtype), w.astype(dtype)
        dy = rng.standard_normal((5, 64, 28, 28)).astype(dtype)

        def call(backend=compiled):
            out = backend.conv2d_backward(xd, wd, dy, padding=1)  # noqa: B023  (called in this iteration)
            return np.concatenate([g.ravel() for g in out if g is not None])

        expected = call(reference)
        tol = 1e-3 if dtype == np.float32 else 1e-10
        same_team = {}
        for nt, first, got in repeated(call, teams):
            same_team.setdefault(nt, got)
            assert_array_equal(got, same_team[nt], err_msg=f"{isa}: {nt} threads, repeated")
            assert np.abs(got - expected).max() <= tol * np.abs(expected).max()


def test_attention_stress_threads(isa, teams):
    """Problems shared among threads (batch >= threads) and threaded GEMMs (fewer)."""
    rng = np.random.default_rng(22)
    for batch in (1, 2, 5):
        q = rng.standard_normal((batch, 37, 24)).astype(np.float32)
        k = rng.standard_normal((batch, 41, 24)).astype(np.float32)
        v = rng.standard_normal((batch, 41, 19)).astype(np.float32)
        dout = rng.standard_normal((batch, 37, 19)).astype(np.float32)

        def call():
            out, probs = compiled.attention_forward(q, k, v, causal=False)  # noqa: B023  (called in this iteration)
            grads = compiled.attention_backward(q, k, v, probs, dout)  # noqa: B023  (called in this iteration)
            return np.concatenate([out.ravel()] + [g.ravel() for g in grads])

        for nt, first, got in repeated(call, teams):
            assert_array_equal(got, first, err_msg=f"{isa} batch {batch}: {nt} threads")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_recurrent_sequences_stress_threads(isa, teams, kind):
    """The whole-sequence kernels share the batch rows among the threads (13 rows: uneven
    shares at every team size) and run every step on them; forward and backward, repeated
    at each team size against the first result there (bit for bit) and against 1 thread
    (the GEMM may take another path for another share of rows: within rounding)."""
    rng = np.random.default_rng(24)
    L, n, d, h = 5, 13, 7, 24
    g = {"lstm": 4, "gru": 3, "rnn": 1}[kind] * h
    x = rng.standard_normal((L, n, d)).astype(np.float32)
    w_ih = (rng.standard_normal((g, d)) * 0.3).astype(np.float32)
    w_hh = (rng.standard_normal((g, h)) * 0.3).astype(np.float32)
    b = rng.standard_normal(g).astype(np.float32)
    states = rng.standard_normal((L + 2, n, h)).astype(np.float32)
    dout = rng.standard_normal((L, n, h)).astype(np.float32)

    def call():
        hs = states.copy()
        if kind == "lstm":
            cs = states.copy()
            acts = compiled.lstm_sequence_forward(x, w_ih, w_hh, b, hs, cs)
            grads = compiled.lstm_sequence_backward(acts, cs, w_hh, dout, None, False, True)
        elif kind == "gru":
            acts = compiled.gru_sequence_forward(x, w_ih, w_hh, b, b, hs)
            grads = compiled.gru_sequence_backward(acts, hs, w_hh, dout, False, True)
        else:
            compiled.rnn_sequence_forward(x, w_ih, w_hh, b, hs)
            grads = compiled.rnn_sequence_backward(hs, w_hh, dout, False, False, True)
        return np.concatenate([hs.ravel()] + [v.ravel() for v in grads])

    at_team = {}
    for nt, first, got in repeated(call, teams):
        assert_array_equal(got, at_team.setdefault(nt, got), err_msg=f"{isa} {kind}: {nt}")
        np.testing.assert_allclose(got, first, rtol=1e-5, atol=1e-5,
                                   err_msg=f"{isa} {kind}: {nt} threads against 1")


def test_linear_input_gradient_stress_threads(teams):
    """The public path the race was found on: Linear(1352, 256)'s input gradient at batch
    64, through autograd."""
    pynn.manual_seed(0)
    layer = pynn.nn.Linear(1352, 256)
    x = pynn.tensor(np.random.default_rng(23).standard_normal((64, 1352)).astype(np.float32),
                    requires_grad=True)

    def call():
        x.grad = None
        layer.zero_grad()
        layer(x).sum().backward()
        return np.array(x.grad, copy=True)

    for nt, first, got in repeated(call, teams):
        assert_array_equal(got, first, err_msg=f"{nt} threads differ from 1")


def test_fewer_threads_than_asked_skip_no_work(tmp_path):
    """OpenMP may give a parallel region fewer threads than asked (OMP_THREAD_LIMIT,
    OMP_DYNAMIC, a nested region): the kernels must split their work among the threads that
    came, not among those asked for. Run in a child process, which reads the limit at start."""
    script = tmp_path / "limited.py"
    script.write_text(
        "import numpy as np, pynn\n"
        "from pynn.backend import get\n"
        "c, r = get('compiled'), get('reference')\n"
        "pynn.set_num_threads(4)\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((8, 2, 28, 28))\n"
        "w = rng.standard_normal((30, 2, 5, 5))\n"
        "y, idx = c.conv2d_maxpool_forward(x, w, None, relu=True)\n"
        "dy = rng.standard_normal(y.shape)\n"
        "results = [(c.conv2d_maxpool_backward(x, w, dy, idx, relu_y=y),\n"
        "            r.conv2d_maxpool_backward(x, w, dy, idx, relu_y=y))]\n"
        "y = c.conv2d_forward(x, w, relu=True)\n"
        "dy = rng.standard_normal(y.shape)\n"
        "results.append((c.conv2d_backward(x, w, dy, relu_y=y),\n"
        "                r.conv2d_backward(x, w, dy, relu_y=y)))\n"
        "a, b = rng.standard_normal((64, 600)), rng.standard_normal((600, 1352))\n"
        "results.append(((c.gemm(a, b),), (a @ b,)))\n"
        "for got, expected in results:\n"
        "    for g, e in zip(got, expected):\n"
        "        assert np.allclose(g, e, rtol=1e-9, atol=1e-9), np.abs(g - e).max()\n"
        "print('ok')\n"
    )
    import subprocess
    import sys

    for limit in ({"OMP_THREAD_LIMIT": "1"}, {"OMP_THREAD_LIMIT": "3"}, {"OMP_DYNAMIC": "true"}):
        env = dict(os.environ, **limit)
        run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, timeout=300, check=False)
        ok = run.returncode == 0 and run.stdout.strip().splitlines()[-1:] == ["ok"]
        assert ok, (limit, run.stderr[-2000:])
