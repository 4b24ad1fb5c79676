/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). */
#ifndef PYNN_FN
#include <math.h>
#include <string.h>

#include "pool.h"
#include "conv_pool_kernel.h"
#include "pynn_math.h"

/* Clip the window starting at `start` (may be negative) of length k to [0, n). */
static inline void clip(int64_t start, int64_t k, int64_t n, int64_t *lo, int64_t *hi)
{
    *lo = PYNN_MAX(start, 0);
    *hi = PYNN_MIN(start + k, n);
}

/* Below this many outputs a parallel region costs more than it saves. */
#define PYNN_POOL_MIN_PARALLEL 4096

/* The 2x2, stride-2 unpooling of float32 planes, four windows per step with SSE2 intrinsics
 * (part of every x86-64 CPU, so no run-time dispatch). What gcc makes of the portable row code
 * below pays a block loop and a scalar tail on each 12-window row of a 24 x 24 plane, which
 * this loop avoids (bench/RESULTS.md, "Measurements behind the kernels' choices"). It does the
 * first 4 * floor(ow / 4) columns of a row and returns that count; the portable code does the
 * rest, and the whole row on other CPUs and in float64. The forward, which the convolutions'
 * pooling runs too, is conv_pool_kernel.c's maxpool_2x2, built per instruction set. */
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>

/* Rows r0 and r1 of dx from output row `oy` of dy and idx, at = 2 oy w as above. Sets
 * *outside when an index is not in its window's block. Needs w < INT32_MAX. */
static inline int64_t unpool_quads_2x2_f32(const float *d, const int64_t *id, int64_t w,
                                           int64_t ow, int64_t at, float *r0, float *r1,
                                           int *outside)
{
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi32(1);
    const __m128i below = _mm_set1_epi32((int32_t)w), below1 = _mm_set1_epi32((int32_t)w + 1);
    __m128i bad = zero;
    int64_t ox = 0;
    for (; ox + 4 <= ow; ox += 4) {
        const int64_t start = at + 2 * ox;
        const __m128i k01 = _mm_sub_epi64(_mm_loadu_si128((const __m128i *)(id + ox)),
                                          _mm_set_epi64x(start + 2, start));
        const __m128i k23 = _mm_sub_epi64(_mm_loadu_si128((const __m128i *)(id + ox + 2)),
                                          _mm_set_epi64x(start + 6, start + 4));
        /* Low and high halves of the four int64 offsets; a valid one has a zero high half. */
        const __m128 k01f = _mm_castsi128_ps(k01), k23f = _mm_castsi128_ps(k23);
        const __m128i low = _mm_castps_si128(_mm_shuffle_ps(k01f, k23f, _MM_SHUFFLE(2, 0, 2, 0)));
        const __m128i high = _mm_castps_si128(_mm_shuffle_ps(k01f, k23f, _MM_SHUFFLE(3, 1, 3, 1)));
        const __m128 at0 = _mm_castsi128_ps(_mm_cmpeq_epi32(low, zero));
        const __m128 at1 = _mm_castsi128_ps(_mm_cmpeq_epi32(low, one));
        const __m128 at2 = _mm_castsi128_ps(_mm_cmpeq_epi32(low, below));
        const __m128 at3 = _mm_castsi128_ps(_mm_cmpeq_epi32(low, below1));
        const __m128 v = _mm_loadu_ps(d + ox);
        const __m128 g0 = _mm_and_ps(at0, v), g1 = _mm_and_ps(at1, v);
        const __m128 g2 = _mm_and_ps(at2, v), g3 = _mm_and_ps(at3, v);
        _mm_storeu_ps(r0 + 2 * ox, _mm_unpacklo_ps(g0, g1));
        _mm_storeu_ps(r0 + 2 * ox + 4, _mm_unpackhi_ps(g0, g1));
        _mm_storeu_ps(r1 + 2 * ox, _mm_unpacklo_ps(g2, g3));
        _mm_storeu_ps(r1 + 2 * ox + 4, _mm_unpackhi_ps(g2, g3));
        const __m128i hit = _mm_castps_si128(_mm_or_ps(_mm_or_ps(at0, at1), _mm_or_ps(at2, at3)));
        bad = _mm_or_si128(bad, _mm_or_si128(high, _mm_cmpeq_epi32(hit, zero)));
    }
    *outside |= _mm_movemask_epi8(_mm_cmpeq_epi32(bad, zero)) != 0xFFFF;
    return ox;
}
#else
#define unpool_quads_2x2_f32(d, id, w, ow, at, r0, r1, outside) ((int64_t)0)
#endif

/* float64 takes the portable code everywhere: it is the precision of gradient checks. No
 * vector steps: the portable loops start at column 0. */
#define unpool_quads_2x2_f64(d, id, w, ow, at, r0, r1, outside) ((int64_t)0)

#define PYNN_TEMPLATE "pool.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */

/* The maximum of one window clipped to [y0, y1) x [x0, x1), with its flat position.
 * Starting from the first real input rather than -inf gives PyTorch's result (it starts from
 * -inf at that same position) and keeps the update branch-free. */
static inline void PYNN_FN(window_max)(const real *xp, int64_t w, int64_t y0, int64_t y1,
                                       int64_t x0, int64_t x1, real *best_out,
                                       int64_t *at_out)
{
    int64_t best_at = y0 * w + x0;
    real best = xp[best_at];
    for (int64_t iy = y0; iy < y1; ++iy) {
        for (int64_t ix = x0; ix < x1; ++ix) {
            const int64_t at = iy * w + ix;
            const real v = xp[at];
            const int take = (v > best) | (v != v);
            best = PYNN_FN(pynn_select)(take, v, best);
            best_at = pynn_select_i64(take, at, best_at);
        }
    }
    *best_out = best;
    *at_out = best_at;
}

/* Fold the window element at `base + ox * sw` into the running maxima of columns [lo, hi). */
static inline void PYNN_FN(window_step)(const real *PYNN_RESTRICT xp, int64_t base, int64_t sw,
                                        int64_t lo, int64_t hi, real *PYNN_RESTRICT yrow,
                                        int64_t *PYNN_RESTRICT irow)
{
    for (int64_t ox = lo; ox < hi; ++ox) {
        const int64_t at = base + ox * sw;
        const real v = xp[at];
        const int take = (v > yrow[ox]) | (v != v);
        yrow[ox] = PYNN_FN(pynn_select)(take, v, yrow[ox]);
        irow[ox] = pynn_select_i64(take, at, irow[ox]);
    }
}

/* One output row. Columns whose window lies wholly inside the image are swept window
 * position by window position across the row, a select per element that the compiler
 * vectorises; on random data a per-element branch mispredicts half the time. Border columns
 * use window_max. Both visit a window in row-major order, so ties resolve alike. */
static void PYNN_FN(maxpool_row)(const real *PYNN_RESTRICT xp, int64_t w, int64_t kw,
                                 int64_t sw, int64_t pw, int64_t ow, int64_t y0, int64_t y1,
                                 real *PYNN_RESTRICT yrow, int64_t *PYNN_RESTRICT irow)
{
    int64_t lo = pynn_ceil_div(pw, sw); /* first ox with ox * sw - pw >= 0 */
    int64_t hi = w + pw - kw < 0 ? 0 : (w + pw - kw) / sw + 1; /* last window ends inside */
    lo = PYNN_MIN(lo, ow);
    hi = PYNN_MAX(lo, PYNN_MIN(hi, ow));
    for (int64_t ox = 0; ox < ow; ++ox) {
        if (ox == lo)
            ox = hi;
        if (ox >= ow)
            break;
        const int64_t x0 = PYNN_MAX(ox * sw - pw, 0), x1 = PYNN_MIN(ox * sw - pw + kw, w);
        PYNN_FN(window_max)(xp, w, y0, y1, x0, x1, &yrow[ox], &irow[ox]);
    }
    for (int64_t ox = lo; ox < hi; ++ox) {
        irow[ox] = y0 * w + ox * sw - pw;
        yrow[ox] = xp[irow[ox]];
    }
    /* No window lies wholly inside (a window wider than the padded row, say): nothing to
     * sweep, and kw may be far larger than the row. */
    for (int64_t iy = y0; iy < y1 && lo < hi; ++iy) {
        for (int64_t j = (iy == y0); j < kw; ++j) {
            const int64_t base = iy * w + j - pw;
            /* Constant strides for the common cases let the compiler vectorise the loads. */
            if (sw == 1)
                PYNN_FN(window_step)(xp, base, 1, lo, hi, yrow, irow);
            else if (sw == 2)
                PYNN_FN(window_step)(xp, base, 2, lo, hi, yrow, irow);
            else
                PYNN_FN(window_step)(xp, base, sw, lo, hi, yrow, irow);
        }
    }
}

void PYNN_FN(pynn_maxpool2d_plane)(const pynn_pool_geom *g, const real *x, real *y,
                                   int64_t *idx, int isa)
{
    const pynn_pool_geom G = *g; /* locals: stores to y cannot be mistaken to change them */
    if (G.kh == 2 && G.kw == 2 && G.sh == 2 && G.sw == 2 && G.ph == 0 && G.pw == 0 &&
        G.w < INT32_MAX) { /* offsets up to w + 1 in int32 */
        pynn_conv_pool_kernels(isa)->PYNN_FN(maxpool_2x2)(x, G.w, G.oh, G.ow, y, idx);
        return;
    }
    for (int64_t oy = 0; oy < G.oh; ++oy) {
        int64_t y0, y1;
        clip(oy * G.sh - G.ph, G.kh, G.h, &y0, &y1);
        PYNN_FN(maxpool_row)(x, G.w, G.kw, G.sw, G.pw, G.ow, y0, y1, y + oy * G.ow,
                             idx + oy * G.ow);
    }
}

void PYNN_FN(pynn_maxpool2d_fwd)(const pynn_pool_geom *g, const real *x, real *y, int64_t *idx,
                                 int isa, int n_threads)
{
    const int64_t in_step = g->h * g->w, out_step = g->oh * g->ow;
    const int parallel = n_threads > 1 && g->planes * out_step >= PYNN_POOL_MIN_PARALLEL;
    (void)parallel;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(parallel))
    for (int64_t p = 0; p < g->planes; ++p)
        PYNN_FN(pynn_maxpool2d_plane)(g, x + p * in_step, y + p * out_step, idx + p * out_step,
                                      isa);
}

/* dx of one plane when every index lies in its own block of the 2x2 tiling (what 2x2,
 * stride-2, unpadded pooling produces; needs 2 oh <= h and 2 ow <= w). The blocks do not
 * overlap, so each element of dx is written once, with its gradient or zero: one pass
 * instead of a zero fill and a scatter. The offsets within the blocks are narrowed to int32
 * first, so that the selects compare 32-bit lanes, twice as many a vector as the int64
 * indices. Returns 0, with dxp partly written, if some index
 * lies outside its block. */
static int PYNN_FN(unpool_plane_2x2)(const pynn_pool_geom *g, const real *PYNN_RESTRICT dyp,
                                     const int64_t *PYNN_RESTRICT ip, real *PYNN_RESTRICT dxp)
{
    const int64_t w = g->w, ow = g->ow;
    const int32_t w32 = (int32_t)w;
    int32_t offset[PYNN_POOL_ROW_BLOCK];
    int outside = w >= INT32_MAX; /* offsets up to w + 1 in int32 */
    for (int64_t oy = 0; oy < g->oh && !outside; ++oy) {
        real *r0 = dxp + 2 * oy * w, *r1 = r0 + w;
        const int64_t done = PYNN_FN(unpool_quads_2x2)(dyp + oy * ow, ip + oy * ow, w, ow,
                                                       2 * oy * w, r0, r1, &outside);
        for (int64_t start = done; start < ow; start += PYNN_POOL_ROW_BLOCK) {
            const int64_t len = PYNN_MIN(PYNN_POOL_ROW_BLOCK, ow - start);
            const real *d = dyp + oy * ow + start;
            const int64_t *id = ip + oy * ow + start, at = 2 * oy * w + 2 * start;
            for (int64_t j = 0; j < len; ++j) {
                const int64_t k = id[j] - (at + 2 * j);
                outside |= (uint64_t)k > (uint64_t)(w + 1); /* else it fits in int32 */
                offset[j] = (int32_t)k;
            }
            real *a0 = r0 + 2 * start, *a1 = r1 + 2 * start;
            for (int64_t j = 0; j < len; ++j) {
                const int32_t k = offset[j];
                const real v = d[j];
                a0[2 * j] = PYNN_FN(pynn_select)(k == 0, v, 0);
                a0[2 * j + 1] = PYNN_FN(pynn_select)(k == 1, v, 0);
                a1[2 * j] = PYNN_FN(pynn_select)(k == w32, v, 0);
                a1[2 * j + 1] = PYNN_FN(pynn_select)(k == w32 + 1, v, 0);
                outside |= (k != 0) & (k != 1) & (k != w32) & (k != w32 + 1);
            }
        }
        for (int64_t ix = 2 * ow; ix < w; ++ix) /* an odd last column belongs to no block */
            r0[ix] = r1[ix] = 0;
    }
    if (!outside)
        memset(dxp + 2 * g->oh * w, 0, (size_t)((g->h - 2 * g->oh) * w) * sizeof(real));
    return !outside;
}

int PYNN_FN(pynn_maxunpool2d_plane)(const pynn_pool_geom *g, const real *dy,
                                   const int64_t *idx, real *dx)
{
    const int64_t in_step = g->h * g->w, out_step = g->oh * g->ow;
    if (2 * g->oh <= g->h && 2 * g->ow <= g->w && PYNN_FN(unpool_plane_2x2)(g, dy, idx, dx))
        return 1;
    int inside = 1;
    memset(dx, 0, (size_t)in_step * sizeof(real));
    for (int64_t o = 0; o < out_step; ++o) {
        const int64_t at = idx[o];
        if ((uint64_t)at < (uint64_t)in_step) /* negative wraps to huge */
            dx[at] += dy[o];
        else
            inside = 0;
    }
    return inside;
}

int PYNN_FN(pynn_maxpool2d_bwd)(const pynn_pool_geom *g, const real *dy, const int64_t *idx,
                                real *dx, int n_threads)
{
    const int64_t in_step = g->h * g->w, out_step = g->oh * g->ow;
    const int parallel = n_threads > 1 && g->planes * out_step >= PYNN_POOL_MIN_PARALLEL;
    int bad = 0;
    (void)parallel;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(parallel) reduction(|:bad))
    for (int64_t p = 0; p < g->planes; ++p)
        bad |= !PYNN_FN(pynn_maxunpool2d_plane)(g, dy + p * out_step, idx + p * out_step,
                                                dx + p * in_step);
    return bad ? PYNN_ERR_ARG : PYNN_OK;
}

static inline real PYNN_FN(avg_divisor)(const pynn_pool_geom *g, int count_include_pad,
                                        int64_t y0, int64_t y1, int64_t x0, int64_t x1)
{
    /* kh * kw in floating point: a 2**40 window's area overflows int64_t (and read as 0, gave
     * inf). The clipped window lies inside the image, so its area fits. */
    return count_include_pad ? (real)g->kh * (real)g->kw : (real)((y1 - y0) * (x1 - x0));
}

void PYNN_FN(pynn_avgpool2d_fwd)(const pynn_pool_geom *g, const real *x, int count_include_pad,
                                 real *y, int n_threads)
{
    const int64_t in_step = g->h * g->w, out_step = g->oh * g->ow;
    const int parallel = n_threads > 1 && g->planes * out_step >= PYNN_POOL_MIN_PARALLEL;
    (void)parallel;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(parallel))
    for (int64_t p = 0; p < g->planes; ++p) {
        const real *xp = x + p * in_step;
        real *yp = y + p * out_step;
        for (int64_t oy = 0; oy < g->oh; ++oy) {
            int64_t y0, y1;
            clip(oy * g->sh - g->ph, g->kh, g->h, &y0, &y1);
            for (int64_t ox = 0; ox < g->ow; ++ox) {
                int64_t x0, x1;
                clip(ox * g->sw - g->pw, g->kw, g->w, &x0, &x1);
                real s = 0;
                for (int64_t iy = y0; iy < y1; ++iy)
                    for (int64_t ix = x0; ix < x1; ++ix)
                        s += xp[iy * g->w + ix];
                yp[oy * g->ow + ox] =
                    s / PYNN_FN(avg_divisor)(g, count_include_pad, y0, y1, x0, x1);
            }
        }
    }
}

void PYNN_FN(pynn_avgpool2d_bwd)(const pynn_pool_geom *g, const real *dy, int count_include_pad,
                                 real *dx, int n_threads)
{
    const int64_t in_step = g->h * g->w, out_step = g->oh * g->ow;
    const int parallel = n_threads > 1 && g->planes * out_step >= PYNN_POOL_MIN_PARALLEL;
    (void)parallel;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(parallel))
    for (int64_t p = 0; p < g->planes; ++p) {
        real *dxp = dx + p * in_step;
        const real *dyp = dy + p * out_step;
        memset(dxp, 0, (size_t)in_step * sizeof(real));
        for (int64_t oy = 0; oy < g->oh; ++oy) {
            int64_t y0, y1;
            clip(oy * g->sh - g->ph, g->kh, g->h, &y0, &y1);
            for (int64_t ox = 0; ox < g->ow; ++ox) {
                int64_t x0, x1;
                clip(ox * g->sw - g->pw, g->kw, g->w, &x0, &x1);
                const real share = dyp[oy * g->ow + ox] /
                                   PYNN_FN(avg_divisor)(g, count_include_pad, y0, y1, x0, x1);
                for (int64_t iy = y0; iy < y1; ++iy)
                    for (int64_t ix = x0; ix < x1; ++ix)
                        dxp[iy * g->w + ix] += share;
            }
        }
    }
}

#endif
