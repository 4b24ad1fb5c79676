"""GEMM: the compiled kernel against the NumPy reference.

``C := relu?(alpha * op(A) op(B) + beta * C + bias)`` is checked over a grid of dtype x
memory order x transposes x (alpha, beta, bias, relu), on odd and prime sizes that straddle
every register and cache block of every instruction set this machine can run, on strided,
negatively strided and read-only operands, and with random shapes from Hypothesis.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import pynn
from pynn.backend import get

compiled = get("compiled")
reference = get("reference")

DTYPES = [np.float32, np.float64]

# Register blocks (MR: 6, 12; NR: 4, 8, 16, 32) and the former fixed cache blocks (KC: 192,
# 256; MC: 60, 72, 120, 144; NC: 4080, 4096): sizes one below, at and one above them, plus
# small primes. The blocks this machine chose from its caches get their own test below.
SIZES = [1, 2, 3, 5, 7, 13, 17, 31, 63, 65, 127, 129, 257]
BLOCK_SHAPES = [  # (m, n, k)
    (1, 1, 1), (1, 10, 10), (1, 257, 31), (257, 1, 31), (5, 7, 1), (13, 17, 2),
    (6, 16, 5), (12, 32, 7), (11, 15, 13), (13, 33, 17), (7, 31, 191), (5, 9, 193),
    (3, 17, 255), (6, 8, 256), (7, 17, 257), (2, 33, 513), (59, 7, 9), (61, 5, 11),
    (71, 9, 5), (73, 9, 7), (119, 3, 31), (121, 5, 7), (143, 17, 3), (145, 16, 3),
    (289, 7, 5), (65, 129, 63), (127, 65, 129), (129, 127, 257), (128, 10, 256),
    (30, 576, 25), (16, 64, 150), (3, 4079, 3), (2, 4081, 5), (2, 4097, 3), (5, 8195, 2),
]


@pytest.fixture(params=compiled.available_isas())
def isa(request):
    """Run the test once per instruction set this build and CPU support."""
    previous = compiled.get_isa()
    compiled.set_isa(request.param)
    yield request.param
    compiled.set_isa(previous)


@pytest.fixture
def restore_threads():
    previous = pynn.get_num_threads()
    yield
    pynn.set_num_threads(previous)


def _operands(rng, m, n, k, dtype, order="C", trans_a=False, trans_b=False):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype, order=order)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype, order=order)
    return a, b


def assert_gemm_close(actual, expected, a, b, trans_a=False, trans_b=False, alpha=1.0,
                      beta=0.0, out0=None):
    """Compare with a tolerance that grows with K for float32 and covers cancellation:
    the absolute part is relative to |alpha| |op(A)| |op(B)| + |beta C|."""
    dtype = actual.dtype
    op_a = (a.T if trans_a else a).astype(np.float64)
    op_b = (b.T if trans_b else b).astype(np.float64)
    k = op_a.shape[1]
    rtol = (1e-5 if dtype == np.float32 else 1e-13) * max(1.0, math.sqrt(k))
    scale = abs(alpha) * (np.abs(op_a) @ np.abs(op_b))
    if out0 is not None and beta != 0:
        scale = scale + abs(beta) * np.abs(out0.astype(np.float64))
    atol = rtol * (scale.max() if scale.size else 0.0) + rtol
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _both(a, b, out=None, **kw):
    """Run both backends on copies of ``out``; return (compiled, reference, out before)."""
    out0 = None if out is None else out.copy(order="K")
    got = compiled.gemm(a, b, None if out is None else out.copy(order="K"), **kw)
    want = reference.gemm(a, b, None if out is None else out.copy(order="K"), **kw)
    return got, want, out0


# (alpha, beta, bias_axis or None, relu)
EPILOGUES = [
    (1.0, 0.0, None, False),
    (0.5, 0.0, 1, True),
    (-1.5, 0.7, 0, False),
    (2.0, -1.0, 1, True),
    (1.0, 1.0, None, True),
    (0.0, 2.0, 0, True),
]


@pytest.mark.parametrize("shape", [(13, 17, 31), (65, 129, 63)])
@pytest.mark.parametrize("epilogue", EPILOGUES)
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference(isa, dtype, order, trans_a, trans_b, epilogue, shape):
    _check_epilogue(np.random.default_rng(0), shape, dtype, order, trans_a, trans_b, epilogue)


def _check_epilogue(rng, shape, dtype, order, trans_a, trans_b, epilogue):
    """Both backends on random operands in ``order`` with one of EPILOGUES."""
    m, n, k = shape
    alpha, beta, bias_axis, relu = epilogue
    a, b = _operands(rng, m, n, k, dtype, order, trans_a, trans_b)
    out = rng.standard_normal((m, n)).astype(dtype, order=order)
    kw = {"trans_a": trans_a, "trans_b": trans_b, "alpha": alpha, "beta": beta, "relu": relu}
    if bias_axis is not None:
        kw.update(bias=rng.standard_normal((m, n)[bias_axis]).astype(dtype),
                  bias_axis=bias_axis)
    got, want, out0 = _both(a, b, out, **kw)
    assert_gemm_close(got, want, a, b, trans_a, trans_b, alpha, beta, out0)
    if relu:
        assert (got >= 0).all()


@pytest.mark.parametrize("shape", BLOCK_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_at_block_edges(isa, dtype, shape):
    m, n, k = shape
    rng = np.random.default_rng(1)
    a, b = _operands(rng, m, n, k, dtype)
    bias = rng.standard_normal(n).astype(dtype)
    out = rng.standard_normal((m, n)).astype(dtype)
    got, want, out0 = _both(a, b, out, alpha=1.5, beta=0.5, bias=bias, relu=True)
    assert_gemm_close(got, want, a, b, alpha=1.5, beta=0.5, out0=out0)


def _runtime_edge_shapes(isa, dtype):
    """(m, n, k) on the edges of the blocks this machine chose (from its caches) for ``isa``:
    a last row panel of 1, mr / 2 (the half-height kernel's) and mr / 2 + 1 rows, with A read
    in place (n <= 4 nr) and packed, k across a depth block, m across a row block."""
    from pynn.backend import _native

    b = _native.gemm_blocking(_native.ISA_NAMES.index(isa), dtype == np.float64)
    mr, nr, kc, mc = b["mr"], b["nr"], b["kc"], b["mc"]
    shapes = []
    for rows in (1, mr // 2, mr // 2 + 1):
        shapes += [(mr + rows, 2 * nr, 37), (2 * mr + rows, 5 * nr + 3, kc + 1),
                   (rows, nr - 1, 9), (mc + rows, nr + 1, 5)]
    return shapes


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("bias_axis", [0, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_at_the_edges_of_this_machines_blocks(isa, dtype, bias_axis,
                                                                      trans_a):
    rng = np.random.default_rng(5)
    for m, n, k in _runtime_edge_shapes(isa, dtype):
        a, b = _operands(rng, m, n, k, dtype, trans_a=trans_a)
        bias = rng.standard_normal(m if bias_axis == 0 else n).astype(dtype)
        out = rng.standard_normal((m, n)).astype(dtype)
        got, want, out0 = _both(a.T if trans_a else a, b, out, alpha=-1.5, beta=0.5,
                                bias=bias, bias_axis=bias_axis, relu=True)
        assert_gemm_close(got, want, a, b, trans_a=trans_a, alpha=-1.5, beta=0.5, out0=out0)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_square_sizes(isa, dtype, n):
    rng = np.random.default_rng(n)
    a, b = _operands(rng, n, n, n, dtype, trans_b=True)
    got, want, _ = _both(a, b, trans_b=True)
    assert_gemm_close(got, want, a, b, trans_b=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_large(isa, dtype, restore_threads):
    # Several kc and mc blocks on both threads, an odd size in every dimension.
    rng = np.random.default_rng(2)
    m, n, k = 301, 517, 611
    a, b = _operands(rng, m, n, k, dtype, order="F")
    bias = rng.standard_normal(m).astype(dtype)
    for threads in (1, 2):
        pynn.set_num_threads(threads)
        got, want, _ = _both(a, b, bias=bias, bias_axis=0)
        assert_gemm_close(got, want, a, b)


@pytest.mark.parametrize("bias_axis", [None, 0, 1])
@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_k_zero(isa, dtype, beta, bias_axis):
    # An empty sum: C := relu(beta * C + bias).
    rng = np.random.default_rng(3)
    m, n = 7, 5
    a, b = np.empty((m, 0), dtype), np.empty((0, n), dtype)
    out = rng.standard_normal((m, n)).astype(dtype)
    kw = {"beta": beta, "relu": True}
    if bias_axis is not None:
        kw.update(bias=rng.standard_normal((m, n)[bias_axis]).astype(dtype),
                  bias_axis=bias_axis)
    got, want, _ = _both(a, b, out, **kw)
    assert_allclose(got, want, rtol=1e-6)
    assert_array_equal(compiled.gemm(a, b), np.zeros((m, n), dtype))


@pytest.mark.parametrize("shape", [(0, 5, 3), (4, 0, 3), (0, 0, 0)])
def test_gemm_matches_reference_empty_output(isa, shape):
    m, n, k = shape
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    assert compiled.gemm(a, b).shape == (m, n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_strided_views(isa, dtype):
    # Steps, negative strides and a transposed view in one call: read through strides.
    rng = np.random.default_rng(4)
    base_a = rng.standard_normal((150, 90)).astype(dtype)
    base_b = rng.standard_normal((100, 200)).astype(dtype)
    base_out = rng.standard_normal((130, 220)).astype(dtype)
    cases = [
        (base_a[::2, 1::3], base_b[3:33, ::-2]),         # (75, 30) @ (30, 100)
        (base_a[::-1, ::-3][:50], base_b[::-3, :50]),    # (50, 30) @ (34, 50), k trimmed to 30
        (base_a.T[::4, :70], base_b[::-1, ::2][:70]),    # (23, 70) @ (70, 100)
    ]
    for a, b in cases:
        k = min(a.shape[1], b.shape[0])
        a, b = a[:, :k], b[:k]
        out = base_out[::-1, ::2][: a.shape[0], : b.shape[1]]
        assert not out.flags.c_contiguous and not out.flags.f_contiguous
        got, want, out0 = _both(a, b, out, beta=0.25)
        assert_gemm_close(got, want, a, b, beta=0.25, out0=out0)
        # In place through the strided out view.
        expected = reference.gemm(a, b, out.copy(), beta=0.25)
        compiled.gemm(a, b, out, beta=0.25)
        assert_gemm_close(out, expected, a, b, beta=0.25, out0=out0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_read_only(isa, dtype):
    rng = np.random.default_rng(5)
    a, b = _operands(rng, 33, 47, 29, dtype)
    bias = rng.standard_normal(47).astype(dtype)
    for arr in (a, b, bias):
        arr.setflags(write=False)
    got, want, _ = _both(a, b, bias=bias)
    assert_gemm_close(got, want, a, b)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 3, 3), (65, 33, 300), (200, 150, 70)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_beta_zero_ignores_nan(isa, dtype, order, shape):
    # beta == 0 must not read C, so NaN already in `out` must not leak into the result.
    m, n, k = shape
    rng = np.random.default_rng(6)
    a, b = _operands(rng, m, n, k, dtype)
    out = np.full((m, n), np.nan, dtype, order=order)
    result = compiled.gemm(a, b, out, beta=0.0, alpha=2.0)
    assert result is out
    assert np.isfinite(out).all()
    assert_gemm_close(out, reference.gemm(a, b, alpha=2.0), a, b, alpha=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_accumulates(isa, dtype):
    # beta == 1 repeated: out accumulates A B three times (a gradient-accumulation pattern).
    rng = np.random.default_rng(7)
    a, b = _operands(rng, 70, 90, 300, dtype)
    out = np.zeros((70, 90), dtype)
    for _ in range(3):
        compiled.gemm(a, b, out, beta=1.0)
    expected = 3 * reference.gemm(a, b)
    assert_gemm_close(out, expected, a, b, alpha=3.0)


# The dot form (gemm.c, gemm_use_dot): both operands contiguous along k, k >= 256 and a side
# of C at most 32, or k >= 2048 and both sides at most 128. Register blocks 3x4 (AVX2,
# portable) or 4x6 (AVX-512) in whichever orientation wastes less, so sides around their
# multiples; k on and off a vector multiple.
DOT_SHAPES = [(1, 1, 256), (6, 25, 784), (16, 150, 512), (128, 10, 257), (7, 5, 263),
              (33, 32, 300), (5, 701, 259), (30, 25, 576), (32, 13, 1031), (61, 128, 2053),
              (100, 100, 4320)]


@pytest.mark.parametrize("shape", DOT_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("epilogue", EPILOGUES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_dot_form(isa, dtype, order, epilogue, shape):
    # C order with B transposed, or F order with A transposed: A's rows and B's columns
    # both run along k with unit stride.
    trans_a, trans_b = (False, True) if order == "C" else (True, False)
    _check_epilogue(np.random.default_rng(10), shape, dtype, order, trans_a, trans_b, epilogue)


@pytest.mark.parametrize("shape", [(32, 300, 300), (301, 30, 257), (9, 2000, 256),
                                   (100, 100, 4320)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_dot_form_threads_agree(isa, dtype, shape, restore_threads):
    _check_threads_agree(np.random.default_rng(11), shape, dtype, trans_b=True, bias_axis=0)


# A narrow B that does not run along k (row-major, C order), or in F order a narrow A, with
# k >= 256 and the packed micro-panels under 3/4 full, is copied k-contiguous for the dot
# form (gemm.c, gemm_narrow_b_to_dot): the classifier head 128 x 256 x 10 and its kin.
NARROW_SHAPES = [(128, 10, 256), (10, 128, 256), (64, 1, 300), (1, 64, 300), (301, 5, 257),
                 (5, 301, 257), (33, 10, 517), (7, 3, 1031)]


@pytest.mark.parametrize("shape", NARROW_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("epilogue", EPILOGUES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_narrow_operand(isa, dtype, order, epilogue, shape):
    _check_epilogue(np.random.default_rng(12), shape, dtype, order, False, False, epilogue)


@pytest.mark.parametrize("shape", [(301, 5, 257), (128, 10, 256)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_narrow_operand_threads_agree(isa, dtype, shape, restore_threads):
    _check_threads_agree(np.random.default_rng(13), shape, dtype, bias_axis=1)


# A wider product whose last column panel would leave over a quarter of its micro-kernel's
# lanes idle, with k >= 256 and A contiguous along k, computes those columns in the dot form
# and the rest blocked (gemm.c, gemm_narrow_tail_to_dot): 100 = 3 x 32 + 4 output features
# (AVX-512 float32; NR is 4-32 across ISAs and dtypes, so the tails below land on every
# ISA's). In F order the roles of A and B swap, and the tail is a ragged set of rows.
NARROW_TAIL_SHAPES = [(100, 100, 784), (37, 33, 256), (13, 65, 300), (100, 68, 257),
                      (64, 129, 512), (5, 35, 260), (29, 18, 263), (12, 9, 1031)]


@pytest.mark.parametrize("shape", NARROW_TAIL_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("epilogue", EPILOGUES)
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_narrow_tail(isa, dtype, order, trans_b, epilogue, shape):
    # C order: A row-major, B row-major (its tail copied) or B^T row-major (read in place).
    # F order: the same problem transposed, with A in the role of B.
    trans_a = order == "F"
    _check_epilogue(np.random.default_rng(14), shape, dtype, order, trans_a, trans_b, epilogue)


@pytest.mark.parametrize("shape", [(100, 100, 784), (301, 35, 257)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_narrow_tail_threads_agree(isa, dtype, shape, restore_threads):
    _check_threads_agree(np.random.default_rng(15), shape, dtype, bias_axis=1)
    _check_threads_agree(np.random.default_rng(16), shape, dtype, trans_b=True, bias_axis=0)


@pytest.mark.parametrize("shape", [(64, 64, 64), (301, 257, 129), (7, 4099, 33), (513, 9, 40)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_matches_reference_threads_agree(isa, dtype, shape, restore_threads):
    _check_threads_agree(np.random.default_rng(8), shape, dtype, trans_a=True, bias_axis=1)


def _check_threads_agree(rng, shape, dtype, trans_a=False, trans_b=False, bias_axis=1):
    """The tiles and the order of the sums do not depend on the thread count: equal bits at
    1 and 2 threads, and both close to the reference."""
    m, n, k = shape
    a, b = _operands(rng, m, n, k, dtype, trans_a=trans_a, trans_b=trans_b)
    kw = {"trans_a": trans_a, "trans_b": trans_b, "relu": True, "bias_axis": bias_axis,
          "bias": rng.standard_normal((m, n)[bias_axis]).astype(dtype)}
    results = []
    for threads in (1, 2):
        pynn.set_num_threads(threads)
        results.append(compiled.gemm(a, b, **kw))
    assert_array_equal(results[0], results[1])
    assert_gemm_close(results[0], reference.gemm(a, b, **kw), a, b, trans_a, trans_b)


# The benchmark's shapes (m, n, k), which take every path: the dot form (head, conv1's
# weight gradient), the blocked product with operands read in place or packed, ragged row
# and column panels.
BENCH_SHAPES = [(64, 64, 64), (128, 128, 128), (100, 100, 784), (128, 256, 784),
                (128, 10, 256), (30, 576, 25), (16, 64, 150), (64, 784, 288)]


def _fuzz_cases(count, seed):
    """Random products, most with m, n, k in 1..40 (the small shapes where ragged panels,
    masked vectors and the direct path meet), some with k >= 256 (the dot form)."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        m, n, k = (int(v) for v in rng.integers(1, 41, 3))
        if i % 4 == 3:
            k = int(rng.integers(256, 300))
        cases.append((m, n, k))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_fuzz_against_float64(isa, dtype, restore_threads):
    """A few hundred random shapes and the benchmark's, with random transposes, memory
    orders, epilogues and 1 or 2 threads, against the product computed in float64."""
    rng = np.random.default_rng(21)
    for m, n, k in _fuzz_cases(300, 20) + BENCH_SHAPES:
        trans_a, trans_b = (bool(v) for v in rng.integers(0, 2, 2))
        order = "CF"[int(rng.integers(0, 2))]
        alpha, beta, bias_axis, relu = EPILOGUES[int(rng.integers(0, len(EPILOGUES)))]
        a, b = _operands(rng, m, n, k, dtype, order, trans_a, trans_b)
        out = rng.standard_normal((m, n)).astype(dtype, order=order)
        out0 = out.copy(order="K")
        kw = {"trans_a": trans_a, "trans_b": trans_b, "alpha": alpha, "beta": beta,
              "relu": relu}
        expected = alpha * ((a.T if trans_a else a).astype(np.float64)
                            @ (b.T if trans_b else b).astype(np.float64)) + beta * out0
        if bias_axis is not None:
            bias = rng.standard_normal((m, n)[bias_axis]).astype(dtype)
            kw.update(bias=bias, bias_axis=bias_axis)
            expected += bias[:, None] if bias_axis == 0 else bias[None, :]
        if relu:
            expected = np.maximum(expected, 0)
        pynn.set_num_threads(int(rng.integers(1, 3)))
        got = compiled.gemm(a, b, out, **kw)
        assert got is out
        assert_gemm_close(got, expected.astype(dtype), a, b, trans_a, trans_b, alpha, beta,
                          out0)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 8, 10, 15, 17, 20, 31, 33])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_ragged_columns_write_nothing_past_the_row(isa, dtype, n):
    """C rows that end inside a vector are loaded and stored masked: the columns beside C in
    the same buffer, NaN here, are neither read into C nor written."""
    rng = np.random.default_rng(22)
    m, k = 29, 37
    a, b = _operands(rng, m, n, k, dtype)
    base = np.full((m, n + 40), np.nan, dtype)
    base[:, :n] = rng.standard_normal((m, n))
    out = base[:, :n]
    out0 = out.copy()
    bias = rng.standard_normal(n).astype(dtype)
    got = compiled.gemm(a, b, out, alpha=0.5, beta=1.5, bias=bias, relu=True)
    assert np.isnan(base[:, n:]).all()
    want = reference.gemm(a, b, out0.copy(), alpha=0.5, beta=1.5, bias=bias, relu=True)
    assert_gemm_close(got, want, a, b, alpha=0.5, beta=1.5, out0=out0)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 70), n=st.integers(1, 70), k=st.integers(0, 300),
    dtype=st.sampled_from(DTYPES), trans_a=st.booleans(), trans_b=st.booleans(),
    order=st.sampled_from("CF"), beta=st.sampled_from([0.0, 1.0, -0.5]),
    bias_axis=st.sampled_from([None, 0, 1]), relu=st.booleans(),
    isa=st.sampled_from(compiled.available_isas()), threads=st.sampled_from([1, 2]),
)
def test_gemm_matches_reference_hypothesis(m, n, k, dtype, trans_a, trans_b, order, beta,
                                           bias_axis, relu, isa, threads):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a, b = _operands(rng, m, n, k, dtype, order, trans_a, trans_b)
    out = rng.standard_normal((m, n)).astype(dtype, order=order)
    kw = {"trans_a": trans_a, "trans_b": trans_b, "beta": beta, "relu": relu}
    if bias_axis is not None:
        kw.update(bias=rng.standard_normal((m, n)[bias_axis]).astype(dtype),
                  bias_axis=bias_axis)
    previous_isa, previous_threads = compiled.get_isa(), pynn.get_num_threads()
    compiled.set_isa(isa)
    pynn.set_num_threads(threads)
    try:
        got, want, out0 = _both(a, b, out, **kw)
    finally:
        compiled.set_isa(previous_isa)
        pynn.set_num_threads(previous_threads)
    assert_gemm_close(got, want, a, b, trans_a, trans_b, 1.0, beta, out0)


# ---------------------------------------------------------------------------------------------
# Errors: both backends reject bad input with the same message, naming gemm.


@pytest.fixture(params=["compiled", "reference"])
def backend(request):
    return get(request.param)


def test_gemm_rejects_mismatched_inner_dimensions(backend):
    a, b = np.ones((3, 4)), np.ones((5, 2))
    with pytest.raises(ValueError, match=r"gemm: inner dimensions.*\(3, 4\).*\(5, 2\)"):
        backend.gemm(a, b)
    with pytest.raises(ValueError, match=r"gemm: inner dimensions.*\(4, 3\).*\(5, 2\)"):
        backend.gemm(a, b, trans_a=True)


def test_gemm_rejects_wrong_rank(backend):
    with pytest.raises(ValueError, match=r"gemm: a must have 2 dimensions, got shape \(3,\)"):
        backend.gemm(np.ones(3), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"gemm: b must have 2 dimensions.*\(2, 3, 4\)"):
        backend.gemm(np.ones((2, 2)), np.ones((2, 3, 4)))


def test_gemm_rejects_int_and_mixed_dtypes(backend):
    with pytest.raises(TypeError, match="gemm: a must be float32 or float64, got int64"):
        backend.gemm(np.ones((2, 2), np.int64), np.ones((2, 2)))
    with pytest.raises(TypeError, match="gemm: b has dtype float32 but a has float64"):
        backend.gemm(np.ones((2, 2)), np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match="gemm: a must be a numpy.ndarray, got list"):
        backend.gemm([[1.0]], np.ones((1, 1)))


def test_gemm_rejects_wrong_out(backend):
    a, b = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"gemm: out must have shape \(3, 5\), got \(5, 3\)"):
        backend.gemm(a, b, np.empty((5, 3)))
    with pytest.raises(TypeError, match="gemm: out has dtype float32 but a has float64"):
        backend.gemm(a, b, np.empty((3, 5), np.float32))
    read_only = np.empty((3, 5))
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="gemm: out is read-only"):
        backend.gemm(a, b, read_only)


def test_gemm_rejects_out_overlapping_an_input(backend):
    a = np.ones((4, 4))
    with pytest.raises(ValueError, match="gemm: out must not overlap an input"):
        backend.gemm(a, np.ones((4, 4)), a)
    base = np.ones((4, 8))
    with pytest.raises(ValueError, match="gemm: out must not overlap an input"):
        backend.gemm(np.ones((4, 4)), base[:, :4], base[:, 4:])
    with pytest.raises(ValueError, match="gemm: out must not overlap an input"):
        backend.gemm(base[:, :4], np.ones((4, 4)), base[::-1, 4:])  # reversed rows
    with pytest.raises(ValueError, match="gemm: out must not overlap an input"):
        backend.gemm(np.ones((4, 4)), np.ones((4, 3)), base[:, :3], bias=base[0, 3:6])


def test_gemm_takes_out_beside_an_input(backend):
    """Disjoint parts of one buffer are not an overlap."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((8, 5))
    a, b = base[:3, :4], rng.standard_normal((4, 5))
    expected, a_before = a @ b, a.copy()
    assert backend.gemm(a, b, base[3:8:2]) is not None
    np.testing.assert_allclose(base[3:8:2], expected, rtol=1e-12)
    np.testing.assert_array_equal(a, a_before)


def test_gemm_rejects_a_broadcast_out(backend):
    a, b = np.ones((3, 4)), np.ones((4, 5))
    out = np.lib.stride_tricks.as_strided(np.zeros(5), (3, 5), (0, 8), writeable=True)
    with pytest.raises(ValueError, match="gemm: out must not have zero strides"):
        backend.gemm(a, b, out)


def test_gemm_rejects_wrong_bias(backend):
    a, b = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"gemm: bias must have shape \(5,\), got \(3,\)"):
        backend.gemm(a, b, bias=np.ones(3))
    with pytest.raises(ValueError, match=r"gemm: bias must have shape \(3,\), got \(5,\)"):
        backend.gemm(a, b, bias=np.ones(5), bias_axis=0)
    with pytest.raises(ValueError, match="gemm: bias_axis must be 0 or 1, got 2"):
        backend.gemm(a, b, bias=np.ones(5), bias_axis=2)


# ---------------------------------------------------------------------------------------------
# The FMA peak probe that the benchmark report quotes.


def test_fma_peak_probe_measures_runnable_isas_and_refuses_the_others():
    from pynn.backend import _native

    best = _native.best_isa()
    assert _native.fma_peak_gflops(best, seconds=0.01) > 0
    for isa in (-1, len(_native.ISA_NAMES), *range(len(_native.ISA_NAMES))):
        if not _native.isa_supported(isa):
            with pytest.raises(ValueError, match="fma_peak_gflops: ISA .* not supported"):
                _native.fma_peak_gflops(isa)
