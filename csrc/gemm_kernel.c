/* GEMM micro-kernels, compiled once per instruction set (see simd_isa.h). Only the vector
 * width and the register block differ between ISAs; the contract is in gemm_kernel.h. Each
 * object exports pynn_gemm_desc_<isa>. The kernels are written once for `real` (the
 * template half below, pynn_template.h). */
#ifndef PYNN_FN
#include <string.h>

#include "gemm_kernel.h"
#include "simd_isa.h"

/* The register blocks, the same for both precisions. Registers: MR * NV accumulators + NV
 * loaded B vectors + 1 broadcast A value must fit in the register file without spills. */
#if PYNN_ISA_LEVEL == 3
#define MR 12 /* 32 zmm: 12 x 2 accumulators */
#define DOT_M 4 /* 4 x 6 accumulators + 4 A vectors + 1 B vector of 32 */
#define DOT_N 6
#elif PYNN_ISA_LEVEL == 2
#define MR 6 /* 16 ymm: 6 x 2 accumulators */
#define DOT_M 3 /* 3 x 4 accumulators + 3 A vectors + 1 B vector of 16 */
#define DOT_N 4
#else
#define MR 6 /* SSE2 or NEON: 16 registers are enough for 6 x 2 accumulators */
#define DOT_M 3
#define DOT_N 4
#endif
#define NV 2 /* vectors per row: nr = NV lanes */

/* Masked loads and stores for the ragged last vector of a tile row: AVX2 and AVX-512 have
 * them (lanes past the mask are neither read nor written, so the row may end at the edge of
 * a page); the 16-byte baseline goes through a small array. */
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

/* One round of the dot form's reduction of many vectors at once: red_pair(x, y, s) adds
 * lanes s apart within each 2s-lane segment of x and of y and packs the sums, x's segments
 * first: lane l of the result, in segment g = l / s of VL / s, is
 *   z[g % c * 2s + l % s] + z[g % c * 2s + l % s + s],  z = x if g < c else y, c = VL / 2s.
 * Applied with s = VL / 2, VL / 4, ..., 1 to pairs of vectors, each holding the partial sums
 * of VL / 2s dot products, it leaves VL products in one vector, each summed over its lanes
 * in the same order as halving a single vector (lane l plus lane l + s, s halving), with two
 * shuffles and one add per pair and round instead of a chain of scalar adds per product.
 * The shuffle masks must be constants (the compilers pick the instructions from them), so
 * the lane lists are written out for each vector length. */
#define RED_IDX(l, s, vl, hi)                                                                 \
    (((l) / (s) < (vl) / (2 * (s)) ? 0 : (vl)) + (l) / (s) % ((vl) / (2 * (s))) * 2 * (s) +  \
     (l) % (s) + (hi) * (s))
#define RED_LANES2(s, vl, hi) RED_IDX(0, s, vl, hi), RED_IDX(1, s, vl, hi)
#define RED_LANES4(s, vl, hi) RED_LANES2(s, vl, hi), RED_IDX(2, s, vl, hi), RED_IDX(3, s, vl, hi)
#define RED_LANES8(s, vl, hi)                                                                 \
    RED_LANES4(s, vl, hi), RED_IDX(4, s, vl, hi), RED_IDX(5, s, vl, hi), RED_IDX(6, s, vl, hi), \
        RED_IDX(7, s, vl, hi)
#define RED_LANES16(s, vl, hi)                                                                \
    RED_LANES8(s, vl, hi), RED_IDX(8, s, vl, hi), RED_IDX(9, s, vl, hi),                      \
        RED_IDX(10, s, vl, hi), RED_IDX(11, s, vl, hi), RED_IDX(12, s, vl, hi),               \
        RED_IDX(13, s, vl, hi), RED_IDX(14, s, vl, hi), RED_IDX(15, s, vl, hi)
#define RED_LANES_(n) RED_LANES##n
#define RED_LANES(n) RED_LANES_(n)
#if defined(__clang__)
#define RED_SHUFFLE(x, y, ivec, n, s, hi) __builtin_shufflevector(x, y, RED_LANES(n)(s, n, hi))
#else
#define RED_SHUFFLE(x, y, ivec, n, s, hi) __builtin_shuffle(x, y, (ivec){RED_LANES(n)(s, n, hi)})
#endif
#define RED_ADD(x, y, ivec, n, s)                                                             \
    (RED_SHUFFLE(x, y, ivec, n, s, 0) + RED_SHUFFLE(x, y, ivec, n, s, 1))
/* Lanes per vector as plain numbers, which RED_LANES pastes into a name. */
#if VBYTES == 64
#define VL_F32 16
#define VL_F64 8
#elif VBYTES == 32
#define VL_F32 8
#define VL_F64 4
#else
#define VL_F32 4
#define VL_F64 2
#endif

static inline __attribute__((always_inline)) vec_f32 red_pair_f32(vec_f32 x, vec_f32 y, int s)
{
    switch (s) {
#if VL_F32 >= 16
    case 8:
        return RED_ADD(x, y, ivec_f32, VL_F32, 8);
#endif
#if VL_F32 >= 8
    case 4:
        return RED_ADD(x, y, ivec_f32, VL_F32, 4);
#endif
    case 2:
        return RED_ADD(x, y, ivec_f32, VL_F32, 2);
    default:
        return RED_ADD(x, y, ivec_f32, VL_F32, 1);
    }
}

static inline __attribute__((always_inline)) vec_f64 red_pair_f64(vec_f64 x, vec_f64 y, int s)
{
    switch (s) {
#if VL_F64 >= 8
    case 4:
        return RED_ADD(x, y, ivec_f64, VL_F64, 4);
#endif
#if VL_F64 >= 4
    case 2:
        return RED_ADD(x, y, ivec_f64, VL_F64, 2);
#endif
    default:
        return RED_ADD(x, y, ivec_f64, VL_F64, 1);
    }
}

/* The epilogue's kinds, for store_rows in the template. */
enum { EP_FULL, EP_UNIT, EP_PLAIN };

#define PYNN_TEMPLATE "gemm_kernel.c"
#include "pynn_template.h"

/* 12 chains cover FMA latency times throughput (4-5 cycles x 2 pipes) on current cores, as
 * the micro-kernel's 12 accumulators do; the result measures the same instructions. */
#define PROBE_CHAINS 12

static int64_t fma_probe_f32(int64_t rounds, float *sink)
{
    vec_f32 acc[PROBE_CHAINS];
    const vec_f32 scale = (vec_f32){0} + 0.999999f, step = (vec_f32){0} + 1e-6f;
    for (int i = 0; i < PROBE_CHAINS; ++i)
        acc[i] = (vec_f32){0} + (float)i;
    for (int64_t r = 0; r < rounds; ++r)
        for (int i = 0; i < PROBE_CHAINS; ++i)
            acc[i] = pynn_vfma_f32(acc[i], scale, step);
    float total = 0;
    for (int i = 0; i < PROBE_CHAINS; ++i)
        for (size_t j = 0; j < sizeof(vec_f32) / sizeof(float); ++j)
            total += acc[i][j];
    *sink = total;
    return rounds * PROBE_CHAINS * (int64_t)(sizeof(vec_f32) / sizeof(float)) * 2;
}

const pynn_gemm_desc PYNN_ISA_SYM(pynn_gemm_desc) = {
    .name = PYNN_STR(PYNN_ISA),
    .f32 = {MR, NV * (int)(sizeof(vec_f32) / sizeof(float))},
    .f64 = {MR, NV * (int)(sizeof(vec_f64) / sizeof(double))},
    .dot_m = DOT_M,
    .dot_n = DOT_N,
    .fma_probe_f32 = fma_probe_f32,
    PYNN_DESC_ENTRIES(PYNN_GEMM_MICRO_KERNELS)};

#else /* the template (pynn_template.h) */
#define VL ((int)(sizeof(PYNN_FN(vec)) / sizeof(real)))
#define PANEL_NR (NV * VL) /* the width of a packed B micro-panel */

/* The first n lanes (0 < n < VL) of the vector at p, the others zero; nothing past p + n is
 * read. */
static inline __attribute__((always_inline)) PYNN_FN(vec)
    PYNN_FN(load_part)(const real *p, int64_t n)
{
#if defined(__AVX512F__) && VBYTES == 64
    const unsigned mask = (1u << n) - 1;
    if (sizeof(real) == 4)
        return (PYNN_FN(vec))_mm512_maskz_loadu_ps((__mmask16)mask, (const float *)p);
    return (PYNN_FN(vec))_mm512_maskz_loadu_pd((__mmask8)mask, (const double *)p);
#elif defined(__AVX2__) && VBYTES == 32
    PYNN_FN(ivec) lane;
    for (int i = 0; i < VL; ++i)
        lane[i] = i;
    const PYNN_FN(ivec) mask = lane < (PYNN_FN(ivec)){0} + (int)n;
    if (sizeof(real) == 4)
        return (PYNN_FN(vec))_mm256_maskload_ps((const float *)p, (__m256i)mask);
    return (PYNN_FN(vec))_mm256_maskload_pd((const double *)p, (__m256i)mask);
#else
    real t[VL] = {0};
    for (int64_t i = 0; i < n; ++i)
        t[i] = p[i];
    PYNN_FN(vec) v;
    memcpy(&v, t, sizeof v);
    return v;
#endif
}

/* Writes the first n lanes (0 < n < VL) of x to p; nothing past p + n is touched. */
static inline __attribute__((always_inline)) void PYNN_FN(store_part)(real *p, PYNN_FN(vec) x,
                                                                      int64_t n)
{
#if defined(__AVX512F__) && VBYTES == 64
    const unsigned mask = (1u << n) - 1;
    if (sizeof(real) == 4)
        _mm512_mask_storeu_ps((float *)p, (__mmask16)mask, (__m512)x);
    else
        _mm512_mask_storeu_pd((double *)p, (__mmask8)mask, (__m512d)x);
#elif defined(__AVX2__) && VBYTES == 32
    PYNN_FN(ivec) lane;
    for (int i = 0; i < VL; ++i)
        lane[i] = i;
    const PYNN_FN(ivec) mask = lane < (PYNN_FN(ivec)){0} + (int)n;
    if (sizeof(real) == 4)
        _mm256_maskstore_ps((float *)p, (__m256i)mask, (__m256)x);
    else
        _mm256_maskstore_pd((double *)p, (__m256i)mask, (__m256d)x);
#else
    real t[VL];
    memcpy(t, &x, sizeof t);
    for (int64_t i = 0; i < n; ++i)
        p[i] = t[i];
#endif
}

/* The micro-kernels. The inner loop is nv vector loads of packed B, then for each of the
 * rows one broadcast of packed A and nv fused multiply-adds into rows * nv accumulators that
 * stay in registers for the whole kc loop. rows and nv are constants where these are
 * inlined: MR x NV, a half-width MR x 1 for the ragged last column panel (which otherwise
 * wastes half of its work), and MR / 2 x NV, MR / 3 x NV or MR / 2 x 1 for a ragged last row
 * panel (MR / 3 x NV still has 8 accumulator chains on AVX-512, enough to cover the FMA
 * latency; on the 6-row ISAs it has 4, as many useful ones as the 3-row kernel it replaces).
 *
 * The kc loop for A at (rs_a, cs_a) and B rows rs_b apart: inlined twice, once with the
 * packed layout's strides as constants (the hot case) and once with run-time strides for
 * operands read in place. */
static inline __attribute__((always_inline)) void PYNN_FN(ukernel_body)(
    const int rows, const int nv, int64_t kc, const real *PYNN_RESTRICT a, int64_t rs_a,
    int64_t cs_a, const real *PYNN_RESTRICT b, int64_t rs_b, PYNN_FN(vec) acc[MR][NV])
{
    const PYNN_FN(vec) zero = {0};
#pragma GCC unroll 32
    for (int i = 0; i < rows; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < nv; ++v)
            acc[i][v] = zero;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        PYNN_FN(vec) bv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < nv; ++v)
            memcpy(&bv[v], b + v * VL, sizeof(PYNN_FN(vec)));
#pragma GCC unroll 32
        for (int i = 0; i < rows; ++i) {
            const PYNN_FN(vec) av = a[i * rs_a] - zero; /* a splat: x - (+0) == x, folds away */
#pragma GCC unroll 8
            for (int v = 0; v < nv; ++v)
                acc[i][v] = PYNN_FN(pynn_vfma)(av, bv[v], acc[i][v]);
        }
        a += cs_a;
        b += rs_b;
    }
}

/* One vector of a tile row through the epilogue: C[0:lanes] := relu?(alpha * acc + beta * C
 * + bias) with bias_row (lanes values, bias_axis 1), or ep->bias[i] (bias_axis 0), or none;
 * lanes < VL masks the load of C and bias and the store. `scale` 0 (a constant where this
 * is inlined) says alpha is 1. */
static inline __attribute__((always_inline)) void PYNN_FN(epilogue_vec)(
    PYNN_FN(vec) acc, real *ci, int64_t lanes, const real *bias_row, int i, const int scale,
    real alpha, real beta, const PYNN_FN(pynn_gemm_ep) *ep)
{
    const PYNN_FN(vec) zero = {0};
    const int part = lanes < VL;
    PYNN_FN(vec) x = scale ? acc * alpha : acc;
    if (ep->load_c) {
        PYNN_FN(vec) cv;
        if (part)
            cv = PYNN_FN(load_part)(ci, lanes);
        else
            memcpy(&cv, ci, sizeof cv);
        x = PYNN_FN(pynn_vfma)(cv, beta - zero, x);
    }
    if (bias_row) {
        PYNN_FN(vec) bb;
        if (part)
            bb = PYNN_FN(load_part)(bias_row, lanes);
        else
            memcpy(&bb, bias_row, sizeof bb);
        x += bb;
    } else if (ep->bias) {
        x += ep->bias[i] - zero;
    }
    if (ep->relu) /* max(x, 0) that keeps NaN, like numpy.maximum */
        x = (PYNN_FN(vec))((PYNN_FN(ivec))x & ~(PYNN_FN(ivec))(x < zero));
    if (part)
        PYNN_FN(store_part)(ci, x, lanes);
    else
        memcpy(ci, &x, sizeof x);
}

/* The whole-vector rows of a tile through the epilogue, the last vector of each row masked
 * to `tail` lanes (tail == VL: none). `kind` (a constant where this is inlined) is
 * EP_PLAIN when the epilogue is C := AB, the common case (alpha 1, no beta term, bias or
 * ReLU): the accumulators are stored as they are, which spares a multiply per vector, as
 * many as a k = 25 tile's loads of A, and the epilogue's branches; EP_UNIT when alpha is 1
 * (a convolution's bias and ReLU): no multiply; else EP_FULL. */
static inline __attribute__((always_inline)) void PYNN_FN(store_rows)(
    const int rows, const int nv, const int kind, PYNN_FN(vec) acc[MR][NV],
    real *PYNN_RESTRICT c, int64_t rsc, int64_t mr, int64_t tail,
    const PYNN_FN(pynn_gemm_ep) *ep)
{
    const real alpha = ep->alpha, beta = ep->beta;
#pragma GCC unroll 32
    for (int i = 0; i < rows; ++i) {
        if (i >= mr)
            break;
#pragma GCC unroll 8
        for (int v = 0; v < nv; ++v) {
            real *ci = c + i * rsc + v * VL;
            const int64_t lanes = v == nv - 1 ? tail : VL;
            if (kind == EP_PLAIN && lanes == VL)
                memcpy(ci, &acc[i][v], sizeof(PYNN_FN(vec)));
            else if (kind == EP_PLAIN)
                PYNN_FN(store_part)(ci, acc[i][v], lanes);
            else
                PYNN_FN(epilogue_vec)(acc[i][v], ci, lanes,
                                      ep->bias && ep->bias_axis == 1 ? ep->bias + v * VL : NULL,
                                      i, kind == EP_FULL, alpha, beta, ep);
        }
    }
}

static inline __attribute__((always_inline)) void PYNN_FN(ukernel)(
    const int rows, const int nv, int64_t kc, const real *PYNN_RESTRICT a, int64_t rs_a,
    int64_t cs_a, const real *PYNN_RESTRICT b, int64_t rs_b, real *PYNN_RESTRICT c, int64_t rsc,
    int64_t csc, int64_t mr, int64_t nr, const PYNN_FN(pynn_gemm_ep) *ep)
{
    const int full_nr = nv * VL;
    PYNN_FN(vec) acc[MR][NV];
    /* Start fetching the C tile now so that the epilogue does not wait for it. */
    for (int64_t i = 0; i < mr; ++i) {
        __builtin_prefetch(c + i * rsc, 1);
        __builtin_prefetch(c + i * rsc + (nr - 1) * csc, 1);
    }
    /* Packed panels: A's are MR deep along k whatever the kernel's height. */
    if (rs_a == 1 && cs_a == MR && rs_b == PANEL_NR &&
        (uintptr_t)b % sizeof(PYNN_FN(vec)) == 0)
        PYNN_FN(ukernel_body)(rows, nv, kc, a, 1, MR,
                              (const real *)__builtin_assume_aligned(b, sizeof(PYNN_FN(vec))),
                              PANEL_NR, acc);
    else if (cs_a == 1 && rs_b == PANEL_NR && (uintptr_t)b % sizeof(PYNN_FN(vec)) == 0)
        /* A row-major read in place, B packed: constants for all but A's row stride, whose
         * multiples take most of the general-purpose registers. */
        PYNN_FN(ukernel_body)(rows, nv, kc, a, rs_a, 1,
                              (const real *)__builtin_assume_aligned(b, sizeof(PYNN_FN(vec))),
                              PANEL_NR, acc);
    else
        PYNN_FN(ukernel_body)(rows, nv, kc, a, rs_a, cs_a, b, rs_b, acc);

    const int plain = ep->alpha == 1 && !ep->load_c && !ep->bias && !ep->relu;
    if (csc == 1 && nr > (nv - 1) * VL) {
        /* Unit column stride, every vector of a row but the last whole: the epilogue runs on
         * vectors, and a row ending inside its last vector (the ragged last column panel, a
         * narrow C) masks that vector's load and store. A ragged last row panel too: 16
         * output channels are 12 + 4 rows, and a scalar epilogue of the 4 cost as much as
         * their multiply-adds at a convolution's k = 150. Each case is its own unrolled
         * copy, so that the common tile's code stays free of the mask's branches. */
        const int64_t tail = nr - (nv - 1) * VL; /* lanes of C in the last vector */
        if (tail == VL && plain)
            PYNN_FN(store_rows)(rows, nv, EP_PLAIN, acc, c, rsc, mr, VL, ep);
        else if (tail == VL && ep->alpha == 1)
            PYNN_FN(store_rows)(rows, nv, EP_UNIT, acc, c, rsc, mr, VL, ep);
        else if (tail == VL)
            PYNN_FN(store_rows)(rows, nv, EP_FULL, acc, c, rsc, mr, VL, ep);
        else
            PYNN_FN(store_rows)(rows, nv, EP_FULL, acc, c, rsc, mr, tail, ep);
        return;
    }

    /* Edge tile or strided C: spill the accumulators and finish with scalars. */
    const real alpha = ep->alpha, beta = ep->beta;
    real tile[MR * PANEL_NR] __attribute__((aligned(PYNN_ALIGN)));
#pragma GCC unroll 32
    for (int i = 0; i < rows; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < nv; ++v)
            memcpy(tile + i * full_nr + v * VL, &acc[i][v], sizeof(PYNN_FN(vec)));
    for (int64_t i = 0; i < mr; ++i) {
        for (int64_t j = 0; j < nr; ++j) {
            real *cij = c + i * rsc + j * csc;
            real x = alpha * tile[i * full_nr + j];
            if (ep->load_c)
                x += beta * *cij;
            if (ep->bias)
                x += ep->bias[ep->bias_axis == 1 ? j : i];
            if (ep->relu && x < 0)
                x = 0;
            *cij = x;
        }
    }
}

static void PYNN_FN(ukr) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    PYNN_FN(ukernel)(MR, NV, kc, a, rs_a, cs_a, b, rs_b, c, rsc, csc, mr, nr, ep);
}

static void PYNN_FN(ukr_half) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    PYNN_FN(ukernel)(MR, 1, kc, a, rs_a, cs_a, b, rs_b, c, rsc, csc, mr, nr, ep);
}

static void PYNN_FN(ukr_short) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    PYNN_FN(ukernel)(MR / 2, NV, kc, a, rs_a, cs_a, b, rs_b, c, rsc, csc, mr, nr, ep);
}

static void PYNN_FN(ukr_half_short) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    PYNN_FN(ukernel)(MR / 2, 1, kc, a, rs_a, cs_a, b, rs_b, c, rsc, csc, mr, nr, ep);
}

static void PYNN_FN(ukr_third) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    PYNN_FN(ukernel)(MR / 3, NV, kc, a, rs_a, cs_a, b, rs_b, c, rsc, csc, mr, nr, ep);
}

/* The dot form (contract in gemm_kernel.h, PYNN_GEMM_DOT_PARAMS). Each DOT_M x DOT_N block of
 * C keeps one vector accumulator per element and walks k in vectors: DOT_M rows of A and
 * DOT_N rows of B^T stream through, DOT_M + DOT_N loads for DOT_M * DOT_N fused
 * multiply-adds, with no packing.
 *
 * dot_block: the DOT_M x nb dot products (nb <= DOT_N, a constant where this is inlined) of
 * rows a[0..DOT_M) with rows b[0..nb), k long, into out[i][j]. */
static inline __attribute__((always_inline)) void PYNN_FN(dot_block)(
    const int nb, int64_t k, const real *const a[DOT_M], const real *const b[DOT_N],
    real out[DOT_M][DOT_N])
{
    const PYNN_FN(vec) zero = {0};
    PYNN_FN(vec) acc[DOT_M][DOT_N];
#pragma GCC unroll 8
    for (int i = 0; i < DOT_M; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < nb; ++j)
            acc[i][j] = zero;
    int64_t p = 0;
    for (; p + VL <= k; p += VL) {
        PYNN_FN(vec) av[DOT_M];
#pragma GCC unroll 8
        for (int i = 0; i < DOT_M; ++i)
            memcpy(&av[i], a[i] + p, sizeof(PYNN_FN(vec)));
#pragma GCC unroll 8
        for (int j = 0; j < nb; ++j) {
            PYNN_FN(vec) bv;
            memcpy(&bv, b[j] + p, sizeof bv);
#pragma GCC unroll 8
            for (int i = 0; i < DOT_M; ++i)
                acc[i][j] = PYNN_FN(pynn_vfma)(av[i], bv, acc[i][j]);
        }
    }
    /* Lanes summed pairwise in a fixed order (lane l plus lane l + s, s halving from VL / 2;
     * red_pair does it for many products at once), then the k % VL tail: every element of C
     * is computed the same way wherever its block lies, whatever the block's width and
     * however many threads share the work. */
    const int T = DOT_M * nb;
    PYNN_FN(vec) v[DOT_M * DOT_N];
#pragma GCC unroll 32
    for (int t = 0; t < T; ++t)
        v[t] = acc[t / nb][t % nb];
    int live = T;
#pragma GCC unroll 8
    for (int s = VL / 2; s >= 1; s /= 2) {
#pragma GCC unroll 32
        for (int q = 0; 2 * q < live; ++q)
            v[q] = PYNN_FN(red_pair)(v[2 * q], 2 * q + 1 < live ? v[2 * q + 1] : zero, s);
        live = (live + 1) / 2;
    }
    real sums[(DOT_M * DOT_N + VL - 1) / VL * VL];
    memcpy(sums, v, (size_t)(T + VL - 1) / VL * sizeof(PYNN_FN(vec)));
#pragma GCC unroll 8
    for (int i = 0; i < DOT_M; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < nb; ++j)
            out[i][j] = sums[i * nb + j];
    if (p < k)
        for (int i = 0; i < DOT_M; ++i)
            for (int j = 0; j < nb; ++j)
                for (int64_t q = p; q < k; ++q)
                    out[i][j] += a[i][q] * b[j][q];
}

static void PYNN_FN(dot) PYNN_GEMM_DOT_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    for (int64_t i0 = 0; i0 < m; i0 += DOT_M) {
        /* A ragged block of rows repeats the last row of A so that it keeps its constant
         * shape; the repeats are computed and not stored. */
        const real *ar[DOT_M];
        for (int i = 0; i < DOT_M; ++i)
            ar[i] = a + PYNN_MIN(i0 + i, m - 1) * rsa;
        for (int64_t j0 = 0; j0 < n; j0 += DOT_N) {
            const int64_t nb = PYNN_MIN((int64_t)DOT_N, n - j0);
            const real *br[DOT_N];
            for (int j = 0; j < DOT_N; ++j)
                br[j] = bt + PYNN_MIN(j0 + j, n - 1) * rsbt;
            real out[DOT_M][DOT_N];
            /* A ragged last block of columns (the 10 classes of a classifier head are 6 + 4)
             * takes a block of its own width, not DOT_N columns' work. */
            switch (nb) {
#if DOT_N > 5
            case 5:
                PYNN_FN(dot_block)(5, k, ar, br, out);
                break;
#endif
#if DOT_N > 4
            case 4:
                PYNN_FN(dot_block)(4, k, ar, br, out);
                break;
#endif
            case 3:
                PYNN_FN(dot_block)(3, k, ar, br, out);
                break;
            case 2:
                PYNN_FN(dot_block)(2, k, ar, br, out);
                break;
            case 1:
                PYNN_FN(dot_block)(1, k, ar, br, out);
                break;
            default:
                PYNN_FN(dot_block)(DOT_N, k, ar, br, out);
            }
            const int64_t mb = PYNN_MIN((int64_t)DOT_M, m - i0);
            for (int64_t i = 0; i < mb; ++i) {
                for (int64_t j = 0; j < nb; ++j) {
                    real *cij = c + (i0 + i) * rsc + (j0 + j) * csc;
                    real v = ep->alpha * out[i][j];
                    if (ep->load_c)
                        v += ep->beta * *cij;
                    if (ep->bias)
                        v += ep->bias[ep->bias_axis == 1 ? j0 + j : i0 + i];
                    if (ep->relu && v < 0)
                        v = 0;
                    *cij = v;
                }
            }
        }
    }
}

#undef VL
#undef PANEL_NR
#endif
