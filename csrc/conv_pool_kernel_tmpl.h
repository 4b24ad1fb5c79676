/* The argmax-driven weight and input gradients of a pooled convolution, instantiated by
 * conv_pool_kernel.c once per precision with:
 *   T   element type     VT  its SIMD vector type (VL lanes)     VFMA  fused a * b + c
 *   DW_NAME, DX_NAME  the functions to define
 * The contract is in conv_pool_kernel.h. */

#define VL ((int64_t)(sizeof(VT) / sizeof(T)))

/* acc += d * one patch's rows. */
static inline __attribute__((always_inline)) void PYNN_CAT(DW_NAME, _patch)(
    const int nrows, const int nv, T d, const T *row, int64_t row_len, VT *acc)
{
    const VT dv = (VT){0} + d;
#pragma GCC unroll 32
    for (int r = 0; r < nrows; ++r, row += row_len) {
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) {
            VT xv;
            memcpy(&xv, row + v * VL, sizeof xv);
            acc[r * nv + v] = VFMA(dv, xv, acc[r * nv + v]);
        }
    }
}

/* One pass over an output channel's pooled values, for `nrows` patch rows of `nv` vectors
 * (constants where this is inlined, so the accumulators stay in registers and the rows are
 * reached by adding row_len, not by loading offsets), added into dst's nrows * nv vectors.
 * With room for two sets of accumulators, even and odd pooled values go to separate sets, so
 * that successive patches do not wait on one fused multiply-add's latency. */
static inline __attribute__((always_inline)) void PYNN_CAT(DW_NAME, _pass)(
    const int nrows, const int nv, int64_t pooled, const T *dy, const int64_t *idx,
    const int64_t *pos_off, const T *xrows, int64_t row_len, T *dst)
{
    const int na = nrows * nv, ways = 2 * na <= NACC ? 2 : 1;
    VT acc[2][NACC];
#pragma GCC unroll 32
    for (int a = 0; a < na; ++a)
        acc[0][a] = acc[1][a] = (VT){0};
    int64_t p = 0;
    for (; p + ways <= pooled; p += ways) {
#pragma GCC unroll 2
        for (int w = 0; w < ways; ++w)
            PYNN_CAT(DW_NAME, _patch)(nrows, nv, dy[p + w], xrows + pos_off[idx[p + w]],
                                      row_len, acc[w]);
    }
    if (p < pooled)
        PYNN_CAT(DW_NAME, _patch)(nrows, nv, dy[p], xrows + pos_off[idx[p]], row_len, acc[0]);
#pragma GCC unroll 32
    for (int a = 0; a < na; ++a) {
        VT sum;
        memcpy(&sum, dst + a * VL, sizeof sum);
        sum += ways == 2 ? acc[0][a] + acc[1][a] : acc[0][a];
        memcpy(dst + a * VL, &sum, sizeof sum);
    }
}

/* Up to NACC vectors of one output channel's gradient stay in registers (the rest of the
 * register file holds the broadcast dy values and a loaded patch vector) while the channel's
 * pooled values go by; patches with more rows take several passes. */
void DW_NAME(const pynn_conv_pool_geom *g, const T *xpad, const T *dy, const int64_t *idx,
             T *dwrows)
{
    const int64_t nv = g->nv, rows = g->rows, pooled = g->pooled;
    const int64_t group = NACC / nv; /* patch rows a pass */
    for (int64_t oc = 0; oc < g->o; ++oc) {
        const T *dyo = dy + oc * pooled;
        const int64_t *io = idx + oc * pooled;
        T *dwo = dwrows + oc * rows * nv * VL;
        for (int64_t r0 = 0; r0 < rows; r0 += group) {
            const int nrows = (int)PYNN_MIN(group, rows - r0);
            const T *xrows = xpad + r0 * g->row_len;
            T *dst = dwo + r0 * nv * VL;
            /* Every (rows, vectors per row) that fits the register file, as constants. Each
             * pass adds into dst itself: an array of sums here, which the default case would
             * leave unset, drew -Wmaybe-uninitialized from gcc -O3. */
#define PYNN_PASS(r, v)                                                                     \
    case r:                                                                                \
        PYNN_CAT(DW_NAME, _pass)(r, v, pooled, dyo, io, g->pos_off, xrows, g->row_len, dst); \
        break;
            if (nv == 1) {
                switch (nrows) {
                    PYNN_PASS(1, 1) PYNN_PASS(2, 1) PYNN_PASS(3, 1) PYNN_PASS(4, 1)
                    PYNN_PASS(5, 1) PYNN_PASS(6, 1) PYNN_PASS(7, 1) PYNN_PASS(8, 1)
                    PYNN_PASS(9, 1) PYNN_PASS(10, 1) PYNN_PASS(11, 1) PYNN_PASS(12, 1)
#if NACC > 12
                    PYNN_PASS(13, 1) PYNN_PASS(14, 1) PYNN_PASS(15, 1) PYNN_PASS(16, 1)
                    PYNN_PASS(17, 1) PYNN_PASS(18, 1) PYNN_PASS(19, 1) PYNN_PASS(20, 1)
                    PYNN_PASS(21, 1) PYNN_PASS(22, 1) PYNN_PASS(23, 1) PYNN_PASS(24, 1)
                    PYNN_PASS(25, 1) PYNN_PASS(26, 1) PYNN_PASS(27, 1) PYNN_PASS(28, 1)
#endif
                default:
                    break;
                }
            } else {
                switch (nrows) {
                    PYNN_PASS(1, 2) PYNN_PASS(2, 2) PYNN_PASS(3, 2) PYNN_PASS(4, 2)
                    PYNN_PASS(5, 2) PYNN_PASS(6, 2)
#if NACC > 12
                    PYNN_PASS(7, 2) PYNN_PASS(8, 2) PYNN_PASS(9, 2) PYNN_PASS(10, 2)
                    PYNN_PASS(11, 2) PYNN_PASS(12, 2) PYNN_PASS(13, 2) PYNN_PASS(14, 2)
#endif
                default:
                    break;
                }
            }
#undef PYNN_PASS
        }
    }
}

/* dst += d * one output channel's patch rows, nv vectors a row. */
static inline __attribute__((always_inline)) void PYNN_CAT(DX_NAME, _patch)(
    const int nv, int64_t rows, T d, const T *wrows, T *dst, int64_t row_len)
{
    const VT dv = (VT){0} + d;
    for (int64_t r = 0; r < rows; ++r, dst += row_len, wrows += nv * VL) {
#pragma GCC unroll 2
        for (int v = 0; v < nv; ++v) {
            VT acc, wv;
            memcpy(&acc, dst + v * VL, sizeof acc);
            memcpy(&wv, wrows + v * VL, sizeof wv);
            acc = VFMA(dv, wv, acc);
            memcpy(dst + v * VL, &acc, sizeof acc);
        }
    }
}

/* Each pooled value's gradient times its output channel's weights, added into the patch it
 * was pooled from. Successive patches of a channel overlap, so this adds into memory rather
 * than registers; the rows of one patch lie row_len apart and do not. */
void DX_NAME(const pynn_conv_pool_geom *g, const T *wrows, const T *dy, const int64_t *idx,
             T *dxpad)
{
    const int64_t nv = g->nv, rows = g->rows, kw = g->kw, pooled = g->pooled;
    const int64_t w_len = rows * nv * VL;
    for (int64_t oc = 0; oc < g->o; ++oc) {
        const T *wo = wrows + oc * w_len;
        for (int64_t p = 0; p < pooled; ++p) {
            const T d = dy[oc * pooled + p];
            T *dst = dxpad + g->pos_off[idx[oc * pooled + p]];
            if (!isfinite(d)) {
                /* The zero lanes past kw would make the neighbours inf * 0 = NaN. */
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t k = 0; k < kw; ++k)
                        dst[r * g->row_len + k] += d * wo[r * nv * VL + k];
            } else if (nv == 1) {
                PYNN_CAT(DX_NAME, _patch)(1, rows, d, wo, dst, g->row_len);
            } else {
                PYNN_CAT(DX_NAME, _patch)(2, rows, d, wo, dst, g->row_len);
            }
        }
    }
}

#undef VL
