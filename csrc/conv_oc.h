/* The image-read forward and weight gradient with output channels in the vector lanes
 * (conv_pool_kernel.h's fwd_oc and dw_oc), included by conv_pool_kernel.c's template half, in
 * the ISA's own vectors.
 *
 * fwd_rows puts output positions in the lanes, so a plane narrower than a few vectors leaves
 * many of them idle (a 4x4 plane padded by 1 is a flat row of 19 positions: two 16-lane
 * vectors, half of them wasted). Deep layers on small planes (a ResNet's last stages) have
 * many output channels instead: here a block of FO_OB of them fills two vectors, and each tap
 * multiplies those two weight vectors by FO_NP image values broadcast, one per output
 * position, as a GEMM micro-kernel multiplies a panel of A by broadcast values of B. The
 * positions of a block lie along one output row, or the flat row of conv_pool_kernel.h, so
 * their values for a tap are consecutive values of the padded image (every other one with
 * stride 2). Row by row, a row's blocks end at its end and its kernel rows that lie in the
 * padding are left out (the taps are ordered kernel row first): no multiply-add of a 7x7
 * output of a 3x3 window padded by 1 meets a padded row or a position past a row. */
#define FO_VL ((int64_t)(sizeof(PYNN_FN(vec)) / sizeof(real)))
#define FO_OB (2 * FO_VL)
/* Positions a block: up to FO_NP; the flat row's last in multiples of FO_NP_STEP
 * (conv_pool_kernel.c). */

/* tile (np positions x FO_OB output channels) := the sums of taps x image values at
 * x + tap_off[t] + j sw (position j) times the weights wb (taps x FO_OB); np and sw constants
 * where this is inlined, so that the sums stay in registers. */
static inline __attribute__((always_inline)) void PYNN_FN(fwd_oc_tile)(
    const int np, const int sw, int64_t taps, const int64_t *tap_off, const real *x,
    const real *wb, real *tile)
{
    PYNN_FN(vec) s[FO_NP][2];
    const PYNN_FN(vec) zero = {0};
#pragma GCC unroll 12
    for (int j = 0; j < np; ++j)
        s[j][0] = s[j][1] = zero;
    for (int64_t t = 0; t < taps; ++t) {
        const real *xt = x + tap_off[t];
        PYNN_FN(vec) w0, w1;
        memcpy(&w0, wb + t * FO_OB, sizeof(w0));
        memcpy(&w1, wb + t * FO_OB + FO_VL, sizeof(w1));
#pragma GCC unroll 12
        for (int j = 0; j < np; ++j) {
            const PYNN_FN(vec) v = xt[j * sw] - zero; /* a splat */
            s[j][0] = PYNN_FN(pynn_vfma)(w0, v, s[j][0]);
            s[j][1] = PYNN_FN(pynn_vfma)(w1, v, s[j][1]);
        }
    }
#pragma GCC unroll 12
    for (int j = 0; j < np; ++j) {
        memcpy(tile + j * FO_OB, &s[j][0], sizeof(s[j][0]));
        memcpy(tile + j * FO_OB + FO_VL, &s[j][1], sizeof(s[j][1]));
    }
}

/* A case of FO_CASE(n) for each n from 1 to FO_NP: the blocks below take any size in that
 * range (a row's last block takes what is left of it). */
#if FO_NP == 12
#define FO_CASES                                                                                   \
    FO_CASE(1) FO_CASE(2) FO_CASE(3) FO_CASE(4) FO_CASE(5) FO_CASE(6) FO_CASE(7) FO_CASE(8)        \
    FO_CASE(9) FO_CASE(10) FO_CASE(11) FO_CASE(12)
#elif FO_NP == 6
#define FO_CASES FO_CASE(1) FO_CASE(2) FO_CASE(3) FO_CASE(4) FO_CASE(5) FO_CASE(6)
#else
#error "FO_CASES lists the block sizes up to FO_NP"
#endif

/* fwd_oc_tile for any np from 1 to FO_NP. */
static void PYNN_FN(fwd_oc_block)(int64_t np, int64_t sw, int64_t taps, const int64_t *tap_off,
                                  const real *x, const real *wb, real *tile)
{
#define FO_CASE(n)                                                                                 \
    case n:                                                                                        \
        if (sw == 1)                                                                               \
            PYNN_FN(fwd_oc_tile)(n, 1, taps, tap_off, x, wb, tile);                                \
        else                                                                                       \
            PYNN_FN(fwd_oc_tile)(n, 2, taps, tap_off, x, wb, tile);                                \
        break;
    switch (np) {
        FO_CASES
    default:
        break;
    }
#undef FO_CASE
}

static void PYNN_FN(fwd_oc)(const pynn_conv_rows_geom *g, const real *x, const real *wpack,
                            const real *bias, int relu, real *y)
{
    real tile[FO_NP * FO_OB] __attribute__((aligned(64)));
    real b[FO_OB];
    const int64_t flat = g->flat_row; /* 0: row by row */
    /* Segments of consecutive positions: the flat row, or each output row (its positions in
     * the fewest blocks, of near-equal sizes, so that none is computed past its end). */
    const int64_t segments = flat ? 1 : g->oh;
    const int64_t seg_len = flat ? (g->oh - 1) * flat + g->ow : g->ow;
    const int64_t row_blocks = pynn_ceil_div(g->ow, FO_NP);
    for (int64_t ob = 0; ob < g->o; ob += FO_OB) {
        const real *wb = wpack + ob * g->taps;
        const int64_t dm = PYNN_MIN(FO_OB, g->o - ob);
        for (int64_t a = 0; a < dm; ++a)
            b[a] = bias ? bias[ob + a] : 0;
        for (int64_t sg = 0; sg < segments; ++sg) {
            const real *xs = x + sg * g->x_row;
            const int64_t t0 = flat ? 0 : g->row_taps[2 * sg];
            const int64_t taps = flat ? g->taps : g->row_taps[2 * sg + 1] - t0;
            int64_t oy = sg, ox = 0; /* of the block's first position */
            for (int64_t q = 0, k = 0; q < seg_len; ++k) {
                int64_t n, np;
                if (flat) {
                    n = PYNN_MIN(FO_NP, seg_len - q);
                    np = n > 2 * FO_NP_STEP ? FO_NP : n > FO_NP_STEP ? 2 * FO_NP_STEP : FO_NP_STEP;
                } else {
                    n = np = g->ow * (k + 1) / row_blocks - g->ow * k / row_blocks;
                }
                PYNN_FN(fwd_oc_block)(np, g->sw, taps, g->tap_off + t0, xs + q * g->sw,
                                      wb + t0 * FO_OB, tile);
                q += n;
                /* Each position's channels to its place in y's planes; the flat row's
                 * positions past an output row's end are dropped. */
                for (int64_t j = 0; j < n; ++j, ++ox) {
                    if (ox == (flat ? flat : g->ow))
                        ox = 0, ++oy;
                    if (ox >= g->ow)
                        continue;
                    real *yj = y + ob * g->oc_step + oy * g->ow + ox;
                    const real *tj = tile + j * FO_OB;
                    if (relu) {
                        for (int64_t a = 0; a < dm; ++a) {
                            const real v = tj[a] + b[a];
                            yj[a * g->oc_step] = v < 0 ? 0 : v; /* keeps NaN, as the GEMM's */
                        }
                    } else {
                        for (int64_t a = 0; a < dm; ++a)
                            yj[a * g->oc_step] = tj[a] + b[a];
                    }
                }
            }
        }
    }
}

/* The weight gradient the same way round: sums (nt taps x FO_OB output channels, in vectors)
 * += over the images b and the positions ox of their output rows oy0 <= oy < oy1, dyt's
 * vectors of channels at b dyt_image + (oy ow + ox) FO_OB times the image values at
 * x + b x_image + tap_off[k] + oy x_row + ox sw, broadcast; nt and sw constants where this is
 * inlined, so that the sums stay in registers. */
static inline __attribute__((always_inline)) void PYNN_FN(dw_oc_tile)(
    const int nt, const int sw, const pynn_conv_rows_geom *g, int64_t images, int64_t x_image,
    int64_t dyt_image, int64_t oy0, int64_t oy1, const int64_t *tap_off, const real *x,
    const real *dyt, real *sums)
{
    const int64_t ow = g->ow, x_row = g->x_row;
    PYNN_FN(vec) s[FO_NP][2];
    const PYNN_FN(vec) zero = {0};
#pragma GCC unroll 12
    for (int k = 0; k < nt; ++k) {
        memcpy(&s[k][0], sums + k * FO_OB, sizeof(s[k][0]));
        memcpy(&s[k][1], sums + k * FO_OB + FO_VL, sizeof(s[k][1]));
    }
    for (int64_t b = 0; b < images; ++b)
        for (int64_t oy = oy0; oy < oy1; ++oy) {
            const real *xr = x + b * x_image + oy * x_row;
            const real *dr = dyt + b * dyt_image + oy * ow * FO_OB;
            for (int64_t ox = 0; ox < ow; ++ox) {
                PYNN_FN(vec) d0, d1;
                memcpy(&d0, dr + ox * FO_OB, sizeof(d0));
                memcpy(&d1, dr + ox * FO_OB + FO_VL, sizeof(d1));
#pragma GCC unroll 12
                for (int k = 0; k < nt; ++k) {
                    const PYNN_FN(vec) v = xr[tap_off[k] + ox * sw] - zero; /* a splat */
                    s[k][0] = PYNN_FN(pynn_vfma)(d0, v, s[k][0]);
                    s[k][1] = PYNN_FN(pynn_vfma)(d1, v, s[k][1]);
                }
            }
        }
#pragma GCC unroll 12
    for (int k = 0; k < nt; ++k) {
        memcpy(sums + k * FO_OB, &s[k][0], sizeof(s[k][0]));
        memcpy(sums + k * FO_OB + FO_VL, &s[k][1], sizeof(s[k][1]));
    }
}

static void PYNN_FN(dw_oc_block)(int64_t nt, const pynn_conv_rows_geom *g, int64_t images,
                                 int64_t x_image, int64_t dyt_image, int64_t oy0, int64_t oy1,
                                 const int64_t *tap_off, const real *x, const real *dyt,
                                 real *sums)
{
#define FO_CASE(n)                                                                                 \
    case n:                                                                                        \
        if (g->sw == 1)                                                                            \
            PYNN_FN(dw_oc_tile)(n, 1, g, images, x_image, dyt_image, oy0, oy1, tap_off, x, dyt,    \
                                sums);                                                             \
        else                                                                                       \
            PYNN_FN(dw_oc_tile)(n, 2, g, images, x_image, dyt_image, oy0, oy1, tap_off, x, dyt,    \
                                sums);                                                             \
        break;
    switch (nt) {
        FO_CASES
    default:
        break;
    }
#undef FO_CASE
}

static void PYNN_FN(dw_oc)(const pynn_conv_rows_geom *g, int64_t images, int64_t x_image,
                           const real *x, const real *dyt, real *sums)
{
    const int64_t dyt_image = g->oh * g->ow * FO_OB;
    /* Blocks of taps within a kernel row, which every output row reads whole or not at all;
     * its taps are a range of row_taps, and the rows reading them are consecutive. */
    const int64_t kernel_rows = g->taps / g->kernel_row_taps;
    for (int64_t ob = 0; ob < g->o; ob += FO_OB) {
        const real *dyt_b = dyt + ob * images * g->oh * g->ow;
        real *sums_b = sums + ob * g->taps;
        for (int64_t i = 0; i < kernel_rows; ++i) {
            const int64_t first = i * g->kernel_row_taps;
            int64_t oy0 = 0, oy1;
            while (oy0 < g->oh && !(g->row_taps[2 * oy0] <= first &&
                                    first < g->row_taps[2 * oy0 + 1]))
                ++oy0;
            for (oy1 = oy0; oy1 < g->oh && g->row_taps[2 * oy1] <= first &&
                            first < g->row_taps[2 * oy1 + 1];
                 ++oy1)
                ;
            for (int64_t t = first; t < first + g->kernel_row_taps; t += FO_NP) {
                const int64_t nt = PYNN_MIN(FO_NP, first + g->kernel_row_taps - t);
                PYNN_FN(dw_oc_block)(nt, g, images, x_image, dyt_image, oy0, oy1,
                                     g->tap_off + t, x, dyt_b, sums_b + t * FO_OB);
            }
        }
    }
}

#undef FO_CASES
#undef FO_VL
#undef FO_OB
