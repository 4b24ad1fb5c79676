/* The dot-form GEMM kernel, instantiated by gemm_kernel.c once per precision with:
 *   T   element type         VT  its SIMD vector type (VL lanes)    VFMA  fused a * b + c
 *   EP  epilogue struct      DM x DN  the register block           DOT_NAME  the function
 * The contract is in gemm_kernel.h (pynn_gemm_dot_*). Each DM x DN block of C keeps one
 * vector accumulator per element and walks k in vectors: DM rows of A and DN rows of B^T
 * stream through, DM + DN loads for DM * DN fused multiply-adds, with no packing. */

#define VL ((int64_t)(sizeof(VT) / sizeof(T)))

/* The DM x DN dot products of rows a[0..DM) with rows b[0..DN), k long, into out. */
static inline __attribute__((always_inline)) void PYNN_CAT(DOT_NAME, _block)(
    int64_t k, const T *const a[DM], const T *const b[DN], T out[DM][DN])
{
    const VT zero = {0};
    VT acc[DM][DN];
#pragma GCC unroll 8
    for (int i = 0; i < DM; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < DN; ++j)
            acc[i][j] = zero;
    int64_t p = 0;
    for (; p + VL <= k; p += VL) {
        VT av[DM];
#pragma GCC unroll 8
        for (int i = 0; i < DM; ++i)
            memcpy(&av[i], a[i] + p, sizeof(VT));
#pragma GCC unroll 8
        for (int j = 0; j < DN; ++j) {
            VT bv;
            memcpy(&bv, b[j] + p, sizeof bv);
#pragma GCC unroll 8
            for (int i = 0; i < DM; ++i)
                acc[i][j] = VFMA(av[i], bv, acc[i][j]);
        }
    }
    /* Lanes summed pairwise in a fixed order (halving the width each round, which compiles
     * to vector adds rather than one long chain), then the k % VL tail: every element of C
     * is computed the same way wherever its block lies and however many threads share the
     * work. */
#pragma GCC unroll 8
    for (int i = 0; i < DM; ++i) {
#pragma GCC unroll 8
        for (int j = 0; j < DN; ++j) {
            T lanes[sizeof(VT) / sizeof(T)];
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
        for (int i = 0; i < DM; ++i)
            for (int j = 0; j < DN; ++j)
                for (int64_t q = p; q < k; ++q)
                    out[i][j] += a[i][q] * b[j][q];
}

void DOT_NAME(int64_t m, int64_t n, int64_t k, const T *a, int64_t rsa, const T *bt,
              int64_t rsbt, T *c, int64_t rsc, int64_t csc, const EP *ep)
{
    for (int64_t i0 = 0; i0 < m; i0 += DM) {
        /* A ragged block repeats the last row of A (and, below, of B^T) so that it keeps its
         * constant shape; the repeats are computed and not stored. */
        const T *ar[DM];
        for (int i = 0; i < DM; ++i)
            ar[i] = a + PYNN_MIN(i0 + i, m - 1) * rsa;
        for (int64_t j0 = 0; j0 < n; j0 += DN) {
            const T *br[DN];
            for (int j = 0; j < DN; ++j)
                br[j] = bt + PYNN_MIN(j0 + j, n - 1) * rsbt;
            T out[DM][DN];
            PYNN_CAT(DOT_NAME, _block)(k, ar, br, out);
            const int64_t mb = PYNN_MIN((int64_t)DM, m - i0), nb = PYNN_MIN((int64_t)DN, n - j0);
            for (int64_t i = 0; i < mb; ++i) {
                for (int64_t j = 0; j < nb; ++j) {
                    T *cij = c + (i0 + i) * rsc + (j0 + j) * csc;
                    T v = ep->alpha * out[i][j];
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
