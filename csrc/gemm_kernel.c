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

/* The micro-kernels. The inner loop is nv vector loads of packed B, then for each of the
 * rows one broadcast of packed A and nv fused multiply-adds into rows * nv accumulators that
 * stay in registers for the whole kc loop. rows and nv are constants where these are
 * inlined: MR x NV, a half-width MR x 1 for the ragged last column panel (which otherwise
 * wastes half of its work), and MR / 2 x NV for a ragged last row panel.
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

static inline __attribute__((always_inline)) void PYNN_FN(ukernel)(
    const int rows, const int nv, int64_t kc, const real *PYNN_RESTRICT a, int64_t rs_a,
    int64_t cs_a, const real *PYNN_RESTRICT b, int64_t rs_b, real *PYNN_RESTRICT c, int64_t rsc,
    int64_t csc, int64_t mr, int64_t nr, const PYNN_FN(pynn_gemm_ep) *ep)
{
    const int full_nr = nv * VL;
    PYNN_FN(vec) acc[MR][NV];
    const PYNN_FN(vec) zero = {0};
    /* Start fetching the C tile now so that the epilogue does not wait for it. */
    for (int64_t i = 0; i < mr; ++i) {
        __builtin_prefetch(c + i * rsc, 1);
        __builtin_prefetch(c + i * rsc + (nr - 1) * csc, 1);
    }
    if (rs_a == 1 && cs_a == rows && rs_b == PANEL_NR &&
        (uintptr_t)b % sizeof(PYNN_FN(vec)) == 0)
        PYNN_FN(ukernel_body)(rows, nv, kc, a, 1, rows,
                              (const real *)__builtin_assume_aligned(b, sizeof(PYNN_FN(vec))),
                              PANEL_NR, acc);
    else
        PYNN_FN(ukernel_body)(rows, nv, kc, a, rs_a, cs_a, b, rs_b, acc);

    const real alpha = ep->alpha, beta = ep->beta;
    if (nr == full_nr && csc == 1) {
        /* Whole rows, unit column stride: the epilogue runs on vectors (a ragged last row
         * panel too: 16 output channels are 12 + 4 rows, and a scalar epilogue of the 4 cost
         * as much as their multiply-adds at a convolution's k = 150). */
#pragma GCC unroll 32
        for (int i = 0; i < rows; ++i) {
            if (i >= mr)
                break;
            real *ci = c + i * rsc;
#pragma GCC unroll 8
            for (int v = 0; v < nv; ++v) {
                PYNN_FN(vec) x = acc[i][v] * alpha;
                if (ep->load_c) {
                    PYNN_FN(vec) cv;
                    memcpy(&cv, ci + v * VL, sizeof cv);
                    x = PYNN_FN(pynn_vfma)(cv, beta - zero, x);
                }
                if (ep->bias) {
                    if (ep->bias_axis == 1) {
                        PYNN_FN(vec) bb;
                        memcpy(&bb, ep->bias + v * VL, sizeof bb);
                        x += bb;
                    } else {
                        x += ep->bias[i] - zero;
                    }
                }
                if (ep->relu) /* max(x, 0) that keeps NaN, like numpy.maximum */
                    x = (PYNN_FN(vec))((PYNN_FN(ivec))x & ~(PYNN_FN(ivec))(x < zero));
                memcpy(ci + v * VL, &x, sizeof x);
            }
        }
        return;
    }

    /* Edge tile or strided C: spill the accumulators and finish with scalars. */
    real tile[MR * PANEL_NR] __attribute__((aligned(PYNN_ALIGN)));
    for (int i = 0; i < rows; ++i)
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

/* The dot form (contract in gemm_kernel.h, PYNN_GEMM_DOT_PARAMS). Each DOT_M x DOT_N block of
 * C keeps one vector accumulator per element and walks k in vectors: DOT_M rows of A and
 * DOT_N rows of B^T stream through, DOT_M + DOT_N loads for DOT_M * DOT_N fused
 * multiply-adds, with no packing.
 *
 * dot_block: the DOT_M x DOT_N dot products of rows a[0..DOT_M) with rows b[0..DOT_N), k
 * long, into out. */
static inline __attribute__((always_inline)) void PYNN_FN(dot_block)(
    int64_t k, const real *const a[DOT_M], const real *const b[DOT_N], real out[DOT_M][DOT_N])
{
    const PYNN_FN(vec) zero = {0};
    PYNN_FN(vec) acc[DOT_M][DOT_N];
#pragma GCC unroll 8
    for (int i = 0; i < DOT_M; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < DOT_N; ++j)
            acc[i][j] = zero;
    int64_t p = 0;
    for (; p + VL <= k; p += VL) {
        PYNN_FN(vec) av[DOT_M];
#pragma GCC unroll 8
        for (int i = 0; i < DOT_M; ++i)
            memcpy(&av[i], a[i] + p, sizeof(PYNN_FN(vec)));
#pragma GCC unroll 8
        for (int j = 0; j < DOT_N; ++j) {
            PYNN_FN(vec) bv;
            memcpy(&bv, b[j] + p, sizeof bv);
#pragma GCC unroll 8
            for (int i = 0; i < DOT_M; ++i)
                acc[i][j] = PYNN_FN(pynn_vfma)(av[i], bv, acc[i][j]);
        }
    }
    /* Lanes summed pairwise in a fixed order (halving the width each round, which compiles
     * to vector adds rather than one long chain), then the k % VL tail: every element of C
     * is computed the same way wherever its block lies and however many threads share the
     * work. */
#pragma GCC unroll 8
    for (int i = 0; i < DOT_M; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < DOT_N; ++j) {
            real lanes[sizeof(PYNN_FN(vec)) / sizeof(real)];
            memcpy(lanes, &acc[i][j], sizeof lanes);
#pragma GCC unroll 8
            for (int64_t w = VL / 2; w >= 1; w /= 2)
#pragma GCC unroll 8
                for (int64_t l = 0; l < w; ++l)
                    lanes[l] += lanes[l + w];
            out[i][j] = lanes[0];
        }
    }
    if (p < k)
        for (int i = 0; i < DOT_M; ++i)
            for (int j = 0; j < DOT_N; ++j)
                for (int64_t q = p; q < k; ++q)
                    out[i][j] += a[i][q] * b[j][q];
}

static void PYNN_FN(dot) PYNN_GEMM_DOT_PARAMS(real, PYNN_FN(pynn_gemm_ep))
{
    for (int64_t i0 = 0; i0 < m; i0 += DOT_M) {
        /* A ragged block repeats the last row of A (and, below, of B^T) so that it keeps its
         * constant shape; the repeats are computed and not stored. */
        const real *ar[DOT_M];
        for (int i = 0; i < DOT_M; ++i)
            ar[i] = a + PYNN_MIN(i0 + i, m - 1) * rsa;
        for (int64_t j0 = 0; j0 < n; j0 += DOT_N) {
            const real *br[DOT_N];
            for (int j = 0; j < DOT_N; ++j)
                br[j] = bt + PYNN_MIN(j0 + j, n - 1) * rsbt;
            real out[DOT_M][DOT_N];
            PYNN_FN(dot_block)(k, ar, br, out);
            const int64_t mb = PYNN_MIN((int64_t)DOT_M, m - i0);
            const int64_t nb = PYNN_MIN((int64_t)DOT_N, n - j0);
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
