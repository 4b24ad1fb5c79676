/* The forward and the weight gradient of a convolution with stride 1 along the width, read
 * straight from the image, instantiated by conv_pool_kernel.c once per precision with:
 *   T   element type     VT  its SIMD vector type (VL lanes)     VFMA  fused a * b + c
 *   VI  the integer vector of VT's shape     FWR_NAME, DWR_NAME  the functions to define
 * The contracts are in conv_pool_kernel.h (pynn_conv_rows_geom). */

#define VL ((int64_t)(sizeof(VT) / sizeof(T)))

/* The values [0, n) of a row as a vector, zero past n (n < VL): the lanes past a row's end
 * hold neighbouring values that must not meet the other operand, not even as 0 * inf. */
static inline __attribute__((always_inline)) VT PYNN_CAT(DWR_NAME, _part)(const T *src,
                                                                          int64_t n)
{
    VT v = {0};
    for (int64_t l = 0; l < n; ++l)
        v[l] = src[l];
    return v;
}

/* acc (dm output channels x dn taps, VL partial sums each, `taps` vectors apart per channel)
 * += the products of dm planes of dy (oc_step apart) with dn taps' rows of the image, over
 * every output row. dm and dn are constants where this is inlined, so the dm x dn sums stay
 * in registers: dm + dn loads feed dm * dn fused multiply-adds. */
static inline __attribute__((always_inline)) void PYNN_CAT(DWR_NAME, _block)(
    const int dm, const int dn, const pynn_conv_rows_geom *g, const T *x, const int64_t *off,
    const T *dy, T *acc)
{
    const int64_t ow = g->ow, full = ow / VL * VL, rest = ow - full;
    VT s[3][4], d[3];
    int64_t o[4];
#pragma GCC unroll 4
    for (int b = 0; b < dn; ++b)
        o[b] = off[b];
#pragma GCC unroll 3
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 4
        for (int b = 0; b < dn; ++b)
            memcpy(&s[a][b], acc + (a * g->taps + b) * VL, sizeof(VT));
    for (int64_t oy = 0; oy < g->oh; ++oy) {
        const T *dyr = dy + oy * ow, *xr = x + oy * g->x_row;
        for (int64_t v = 0; v < full; v += VL) {
#pragma GCC unroll 3
            for (int a = 0; a < dm; ++a)
                memcpy(&d[a], dyr + a * g->oc_step + v, sizeof(VT));
#pragma GCC unroll 4
            for (int b = 0; b < dn; ++b) {
                VT xv;
                memcpy(&xv, xr + o[b] + v, sizeof(VT));
#pragma GCC unroll 3
                for (int a = 0; a < dm; ++a)
                    s[a][b] = VFMA(d[a], xv, s[a][b]);
            }
        }
        if (rest) {
#pragma GCC unroll 3
            for (int a = 0; a < dm; ++a)
                d[a] = PYNN_CAT(DWR_NAME, _part)(dyr + a * g->oc_step + full, rest);
#pragma GCC unroll 4
            for (int b = 0; b < dn; ++b) {
                const VT xv = PYNN_CAT(DWR_NAME, _part)(xr + o[b] + full, rest);
#pragma GCC unroll 3
                for (int a = 0; a < dm; ++a)
                    s[a][b] = VFMA(d[a], xv, s[a][b]);
            }
        }
    }
#pragma GCC unroll 3
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 4
        for (int b = 0; b < dn; ++b)
            memcpy(acc + (a * g->taps + b) * VL, &s[a][b], sizeof(VT));
}

/* Blocks of 3 output channels x 4 taps (12 sums, 3 dy and 1 image vector: 16 registers);
 * the ragged last ones with fewer, each shape a constant. */
void DWR_NAME(const pynn_conv_rows_geom *g, const T *x, const T *dy, T *acc)
{
    for (int64_t oc = 0; oc < g->o; oc += 3) {
        const int dm = (int)PYNN_MIN(3, g->o - oc);
        const T *dyo = dy + oc * g->oc_step;
        T *acco = acc + oc * g->taps * VL;
        for (int64_t t = 0; t < g->taps; t += 4) {
            const int dn = (int)PYNN_MIN(4, g->taps - t);
            const int64_t *off = g->tap_off + t;
            T *a = acco + t * VL;
#define PYNN_DWR_BLOCK(m, n)                                                 \
    case (m) * 4 + (n):                                                     \
        PYNN_CAT(DWR_NAME, _block)(m, n, g, x, off, dyo, a);                 \
        break;
            switch (dm * 4 + dn) {
                PYNN_DWR_BLOCK(3, 4) PYNN_DWR_BLOCK(3, 3) PYNN_DWR_BLOCK(3, 2)
                PYNN_DWR_BLOCK(3, 1) PYNN_DWR_BLOCK(2, 4) PYNN_DWR_BLOCK(2, 3)
                PYNN_DWR_BLOCK(2, 2) PYNN_DWR_BLOCK(2, 1) PYNN_DWR_BLOCK(1, 4)
                PYNN_DWR_BLOCK(1, 3) PYNN_DWR_BLOCK(1, 2) PYNN_DWR_BLOCK(1, 1)
            default:
                break;
            }
#undef PYNN_DWR_BLOCK
        }
    }
}

/* Up to 3 row vectors (output row oy, values [v, v + VL) of it: one pass reads a vector of
 * every tap for each; xo, yo and len give where they start in the image and in an output
 * plane, and how many of their values are stored) x 4 output channels: 12 sums, 3 image
 * vectors and a broadcast weight fill 16 registers, and 3 + 4 loads feed 12 fused
 * multiply-adds. Lanes past a row's end (the image has slack there) compute sums that are not
 * stored. */
static inline __attribute__((always_inline)) void PYNN_CAT(FWR_NAME, _block)(
    const int dn, const int dm, const pynn_conv_rows_geom *g, const T *x, const T *wpack,
    const T *bias, int relu, const int64_t *xo, const int64_t *yo, const int64_t *len, T *y)
{
    VT s[4][3];
    const VT zero = {0};
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a)
#pragma GCC unroll 3
        for (int k = 0; k < dn; ++k)
            s[a][k] = zero;
    for (int64_t t = 0; t < g->taps; ++t) {
        const T *xt = x + g->tap_off[t];
        const T *wt = wpack + t * 4;
        VT xv[3];
#pragma GCC unroll 3
        for (int k = 0; k < dn; ++k)
            memcpy(&xv[k], xt + xo[k], sizeof(VT));
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) {
            const VT wv = wt[a] - zero; /* a splat */
#pragma GCC unroll 3
            for (int k = 0; k < dn; ++k)
                s[a][k] = VFMA(wv, xv[k], s[a][k]);
        }
    }
    /* Unrolled with an early exit rather than looping to dm, so that the sums stay in
     * registers. */
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a) {
        if (a >= dm)
            break;
        T *ya = y + a * g->oc_step;
        const VT bv = (bias ? bias[a] : 0) - zero;
#pragma GCC unroll 3
        for (int k = 0; k < dn; ++k) {
            VT v = s[a][k] + bv;
            if (relu) /* max(v, 0) that keeps NaN, as the GEMM's epilogue */
                v = (VT)((VI)v & ~(VI)(v < zero));
            if (len[k] == VL) {
                memcpy(ya + yo[k], &v, sizeof(VT));
            } else {
                for (int64_t l = 0; l < len[k]; ++l)
                    ya[yo[k] + l] = v[l];
            }
        }
    }
}

void FWR_NAME(const pynn_conv_rows_geom *g, const T *x, const T *wpack, const T *bias,
              int relu, T *y)
{
    const int64_t rvs = g->oh * ((g->ow + VL - 1) / VL);
    for (int64_t oc = 0; oc < g->o; oc += 4) {
        const int dm = (int)PYNN_MIN(4, g->o - oc);
        const T *wp = wpack + oc * g->taps, *bo = bias ? bias + oc : NULL;
        T *yc = y + oc * g->oc_step;
        int64_t oy = 0, v = 0; /* the next row vector */
        for (int64_t rv = 0; rv < rvs; rv += 3) {
            const int dn = (int)PYNN_MIN(3, rvs - rv);
            int64_t xo[3], yo[3], len[3];
            for (int k = 0; k < dn; ++k) {
                xo[k] = oy * g->x_row + v;
                yo[k] = oy * g->ow + v;
                len[k] = PYNN_MIN(VL, g->ow - v);
                v += VL;
                if (v >= g->ow)
                    v = 0, ++oy;
            }
            if (dn == 3)
                PYNN_CAT(FWR_NAME, _block)(3, dm, g, x, wp, bo, relu, xo, yo, len, yc);
            else if (dn == 2)
                PYNN_CAT(FWR_NAME, _block)(2, dm, g, x, wp, bo, relu, xo, yo, len, yc);
            else
                PYNN_CAT(FWR_NAME, _block)(1, dm, g, x, wp, bo, relu, xo, yo, len, yc);
        }
    }
}

#undef VL
