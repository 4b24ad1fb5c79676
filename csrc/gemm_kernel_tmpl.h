/* One GEMM micro-kernel, instantiated by gemm_kernel.c once per precision with:
 *   T     element type (float, double)       VT  its SIMD vector type (VL = lanes)
 *   VI    the integer vector of VT's shape   MR  rows, NV  vectors per row (NR = NV * VL)
 *   EP    epilogue struct                    UKR_NAME  the function to define
 * The contract is in gemm_kernel.h. The inner loop is NV vector loads of packed B, then for
 * each of the MR rows one broadcast of packed A and NV fused multiply-adds into MR * NV
 * accumulators that stay in registers for the whole kc loop. */

#define VL ((int)(sizeof(VT) / sizeof(T)))
#define NR (NV * VL)

/* The kc loop for A at (rs_a, cs_a) and B rows rs_b apart: inlined twice, once with the
 * packed layout's strides as constants (the hot case) and once with run-time strides for
 * operands read in place. */
static inline __attribute__((always_inline)) void BODY_NAME(
    int64_t kc, const T *PYNN_RESTRICT a, int64_t rs_a, int64_t cs_a, const T *PYNN_RESTRICT b,
    int64_t rs_b, VT acc[MR][NV])
{
    const VT zero = {0};
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
            acc[i][v] = zero;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        VT bv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
            memcpy(&bv[v], b + v * VL, sizeof(VT));
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            const VT av = a[i * rs_a] - zero; /* a splat: x - (+0) == x, so this folds away */
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v)
                acc[i][v] = VFMA(av, bv[v], acc[i][v]);
        }
        a += cs_a;
        b += rs_b;
    }
}

void UKR_NAME(int64_t kc, const T *PYNN_RESTRICT a, int64_t rs_a, int64_t cs_a,
              const T *PYNN_RESTRICT b, int64_t rs_b, T *PYNN_RESTRICT c, int64_t rsc,
              int64_t csc, int64_t mr, int64_t nr, const EP *ep)
{
    VT acc[MR][NV];
    const VT zero = {0};
    /* Start fetching the C tile now so that the epilogue does not wait for it. */
    for (int64_t i = 0; i < mr; ++i) {
        __builtin_prefetch(c + i * rsc, 1);
        __builtin_prefetch(c + i * rsc + (nr - 1) * csc, 1);
    }
    if (rs_a == 1 && cs_a == MR && rs_b == PANEL_NR && (uintptr_t)b % sizeof(VT) == 0)
        BODY_NAME(kc, a, 1, MR, (const T *)__builtin_assume_aligned(b, sizeof(VT)), PANEL_NR,
                  acc);
    else
        BODY_NAME(kc, a, rs_a, cs_a, b, rs_b, acc);

    const T alpha = ep->alpha, beta = ep->beta;
    if (nr == NR && csc == 1) {
        /* Whole rows, unit column stride: the epilogue runs on vectors (a ragged last row
         * panel too: 16 output channels are 12 + 4 rows, and a scalar epilogue of the 4 cost
         * as much as their multiply-adds at a convolution's k = 150). */
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            if (i >= mr)
                break;
            T *ci = c + i * rsc;
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v) {
                VT x = acc[i][v] * alpha;
                if (ep->load_c) {
                    VT cv;
                    memcpy(&cv, ci + v * VL, sizeof cv);
                    x = VFMA(cv, beta - zero, x);
                }
                if (ep->bias) {
                    if (ep->bias_axis == 1) {
                        VT bb;
                        memcpy(&bb, ep->bias + v * VL, sizeof bb);
                        x += bb;
                    } else {
                        x += ep->bias[i] - zero;
                    }
                }
                if (ep->relu)  /* max(x, 0) that keeps NaN, like numpy.maximum */
                    x = (VT)((VI)x & ~(VI)(x < zero));
                memcpy(ci + v * VL, &x, sizeof x);
            }
        }
        return;
    }

    /* Edge tile or strided C: spill the accumulators and finish with scalars. */
    T tile[MR * NR] __attribute__((aligned(PYNN_ALIGN)));
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v)
            memcpy(tile + i * NR + v * VL, &acc[i][v], sizeof(VT));
    for (int64_t i = 0; i < mr; ++i) {
        for (int64_t j = 0; j < nr; ++j) {
            T *cij = c + i * rsc + j * csc;
            T x = alpha * tile[i * NR + j];
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

#undef VL
#undef NR
