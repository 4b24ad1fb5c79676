/* The image-read forward (conv_pool_kernel.h's fwd_rows), included by conv_pool_kernel.c's
 * template half twice: for its 256-bit vectors (FR_NAME(x) = x) and, as fwd_rows_wide, for the
 * ISA's own (512 bits in the AVX-512 build, whose 32 registers hold 4 x 6 sums). The includer
 * defines FR_NAME, FR_VEC, FR_IVEC, FR_FMA, FR_N (row vectors a block) and, for the AVX-512
 * build, FR_WIDEN_F32 / F64 (a cast of the vector to 512 bits), and FR_UNROLL (a pragma
 * unrolling loops over FR_N); FR_VL is its lanes. */
#define FR_VL ((int64_t)(sizeof(FR_VEC) / sizeof(real)))

/* base[l] := v[l] for the lanes l in [lo, hi), and nothing else of base is touched. */
static inline __attribute__((always_inline)) void FR_NAME(store_lanes)(real *base,
                                                                      FR_VEC v, int lo,
                                                                      int hi)
{
#if VBYTES > 32
    /* a 512-bit masked store (of a 256-bit vector widened); the masked-off lanes are neither
     * written nor fault */
    const unsigned mask = (1u << hi) - (1u << lo);
    if (sizeof(real) == sizeof(float))
        _mm512_mask_storeu_ps(base, (__mmask16)mask, FR_WIDEN_F32(v));
    else
        _mm512_mask_storeu_pd(base, (__mmask8)mask, FR_WIDEN_F64(v));
#else
    for (int l = lo; l < hi; ++l)
        base[l] = v[l];
#endif
}

/* Up to 3 row vectors (vector k starts at image offset xo[k] and at output (yy[k], yx[k]),
 * yo[k] = yy[k] ow + yx[k] in y's plane, with len[k] of its lanes in that row:
 * one pass reads a vector of every tap for each) x 4 output channels: 12 sums, 3 image
 * vectors and a broadcast weight fill 16 registers, and 3 + 4 loads feed 12 fused
 * multiply-adds. Only lanes that are outputs are stored: a vector's lanes run along its
 * output row to `wrap` (past ow they are dropped), and then, for flat rows, on at the next
 * row's start. */
static inline __attribute__((always_inline)) void FR_NAME(fwd_rows_block)(
    const int dn, const int dm, const int flat, const pynn_conv_rows_geom *g, const real *x,
    const real *wpack, const real *bias, int relu, const int64_t *xo, const int64_t *yo,
    const int64_t *len, const int64_t *yy, const int64_t *yx, int64_t wrap, real *y)
{
    FR_VEC s[4][FR_N];
    const FR_VEC zero = {0};
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a)
FR_UNROLL
        for (int k = 0; k < dn; ++k)
            s[a][k] = zero;
    for (int64_t t = 0; t < g->taps; ++t) {
        const real *xt = x + g->tap_off[t];
        const real *wt = wpack + t * 4;
        FR_VEC xv[FR_N];
FR_UNROLL
        for (int k = 0; k < dn; ++k)
            memcpy(&xv[k], xt + xo[k], sizeof(FR_VEC));
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) {
            const FR_VEC wv = wt[a] - zero; /* a splat */
FR_UNROLL
            for (int k = 0; k < dn; ++k)
                s[a][k] = FR_FMA(wv, xv[k], s[a][k]);
        }
    }
    /* Unrolled with an early exit rather than looping to dm, so that the sums stay in
     * registers. */
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a) {
        if (a >= dm)
            break;
        real *ya = y + a * g->oc_step;
        const FR_VEC bv = (bias ? bias[a] : 0) - zero;
FR_UNROLL
        for (int k = 0; k < dn; ++k) {
            FR_VEC v = s[a][k] + bv;
            if (relu) /* max(v, 0) that keeps NaN, as the GEMM's epilogue */
                v = (FR_VEC)((FR_IVEC)v & ~(FR_IVEC)(v < zero));
            if (len[k] == FR_VL) {
                memcpy(ya + yo[k], &v, sizeof(FR_VEC));
            } else if (!flat) { /* the row's last values */
                for (int64_t l = 0; l < len[k]; ++l)
                    ya[yo[k] + l] = v[l];
            } else { /* the vector leaves its row: store it a row's segment at a time */
                int64_t oy = yy[k], ox = yx[k];
                for (int64_t l = 0; l < FR_VL && oy < g->oh; ox = 0, ++oy) {
                    const int64_t n = PYNN_MIN(g->ow - ox, FR_VL - l);
                    if (n > 0)
                        FR_NAME(store_lanes)(ya + oy * g->ow + ox - l, v, (int)l, (int)(l + n));
                    l += wrap - ox;
                }
            }
        }
    }
}

/* The row vectors of one block of output channels, by rows (flat = 0) or of the one flat row
 * (flat = 1, a constant where this is inlined), dn (also a constant) a block. */
static inline __attribute__((always_inline)) void FR_NAME(fwd_rows_oc)(
    const int flat, const pynn_conv_rows_geom *g, const real *x, const real *wp,
    const real *bo, int relu, int dm, real *yc)
{
    const int64_t row = g->flat_row, wrap = flat ? row : g->ow + FR_VL;
    const int64_t rvs = flat ? ((g->oh - 1) * row + g->ow + FR_VL - 1) / FR_VL
                             : g->oh * ((g->ow + FR_VL - 1) / FR_VL);
    int64_t oy = 0, ox = 0; /* where the next row vector starts */
    for (int64_t rv = 0; rv < rvs; rv += FR_N) {
        const int dn = (int)PYNN_MIN(FR_N, rvs - rv);
        int64_t xo[FR_N], yo[FR_N], len[FR_N], yy[FR_N], yx[FR_N];
        for (int k = 0; k < dn; ++k) {
            xo[k] = oy * g->x_row + ox;
            yo[k] = oy * g->ow + ox;
            len[k] = ox < g->ow ? PYNN_MIN(FR_VL, g->ow - ox) : 0;
            ox += FR_VL;
            if (!flat) {
                if (ox >= g->ow)
                    ox = 0, ++oy;
                continue;
            }
            yy[k] = oy;
            yx[k] = ox - FR_VL;
            for (; ox >= row; ox -= row)
                ++oy;
        }
#define FR_BLOCK(n)                                                                                \
    case n:                                                                                        \
        FR_NAME(fwd_rows_block)(n, dm, flat, g, x, wp, bo, relu, xo, yo, len, yy, yx, wrap, yc);   \
        break;
        switch (dn) { /* each count of vectors as a constant */
#if FR_N > 3
            FR_BLOCK(6)
            FR_BLOCK(5)
            FR_BLOCK(4)
#endif
            FR_BLOCK(3)
            FR_BLOCK(2)
        default:
            FR_NAME(fwd_rows_block)(1, dm, flat, g, x, wp, bo, relu, xo, yo, len, yy, yx, wrap, yc);
        }
#undef FR_BLOCK
    }
}

static void FR_NAME(fwd_rows)(const pynn_conv_rows_geom *g, const real *x, const real *wpack,
                              const real *bias, int relu, real *y)
{
    for (int64_t oc = 0; oc < g->o; oc += 4) {
        const int dm = (int)PYNN_MIN(4, g->o - oc);
        const real *wp = wpack + oc * g->taps, *bo = bias ? bias + oc : NULL;
        real *yc = y + oc * g->oc_step;
        if (g->flat_row)
            FR_NAME(fwd_rows_oc)(1, g, x, wp, bo, relu, dm, yc);
        else
            FR_NAME(fwd_rows_oc)(0, g, x, wp, bo, relu, dm, yc);
    }
}

#undef FR_VL
