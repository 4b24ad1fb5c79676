/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). */
#ifndef PYNN_FN
#include <string.h>

#include "im2col.h"

/* [lo, hi): the output positions o for which o * s - p + off lands inside [0, n). */
static void valid_range(int64_t n, int64_t s, int64_t p, int64_t off, int64_t out,
                        int64_t *lo, int64_t *hi)
{
    int64_t start = p - off; /* first o with o * s >= p - off */
    int64_t a = start <= 0 ? 0 : pynn_ceil_div(start, s);
    int64_t end = n + p - off; /* o * s < end */
    int64_t b = end <= 0 ? 0 : pynn_ceil_div(end, s);
    *lo = PYNN_MIN(a, out);
    *hi = PYNN_MAX(*lo, PYNN_MIN(b, out));
}

/* Stride-2 rows (the downsampling convolutions): dst[k] := src[2k] (im2col), and
 * dst[2k] += src[k] (col2im), for k in [0, n). As scalar loops they cost several cycles a
 * value, more than the GEMM of a 16 -> 32 layer; in 16-byte vectors (this file's baseline
 * build: SSE2, NEON) one shuffle deals a pair of vectors' even lanes. Every access stays in
 * [0, 2 (n - 1)], the values the scalar loop reaches: a row may end the image's memory. */
#if defined(__GNUC__) && defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define PYNN_S2_VECTORS 1
#endif
#endif

#ifdef PYNN_S2_VECTORS
typedef float s2_vec_f32 __attribute__((vector_size(16)));
typedef double s2_vec_f64 __attribute__((vector_size(16)));
#define S2_EVEN_f32(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6)
#define S2_EVEN_f64(a, b) __builtin_shufflevector(a, b, 0, 2)
#define S2_ODD_f32(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7)
#define S2_ODD_f64(a, b) __builtin_shufflevector(a, b, 1, 3)
/* Each lane of a's low (LO) or high (HI) half twice. */
#define S2_TWICE_LO_f32(a) __builtin_shufflevector(a, a, 0, 0, 1, 1)
#define S2_TWICE_HI_f32(a) __builtin_shufflevector(a, a, 2, 2, 3, 3)
#define S2_TWICE_LO_f64(a) __builtin_shufflevector(a, a, 0, 0)
#define S2_TWICE_HI_f64(a) __builtin_shufflevector(a, a, 1, 1)
/* The even lanes of sum, the odd ones of kept (left as they were, -0 included). */
#define S2_EVEN_ODD_f32(sum, kept) __builtin_shufflevector(sum, kept, 0, 5, 2, 7)
#define S2_EVEN_ODD_f64(sum, kept) __builtin_shufflevector(sum, kept, 0, 3)
#endif

/* Values in one 32-byte block: the unit of the row copies below. */
#define ROW_BLOCK ((int64_t)(32 / sizeof(real)))

#define PYNN_TEMPLATE "im2col.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */

/* Rows of im2col are short (8-28 values in MNIST-sized layers). Written as loops, GCC turns
 * the copy and the zero fill into memcpy / memset calls, which cost more than the copy: at
 * 8 values a row they were half of the convolution's im2col time. So rows move in
 * constant-size blocks, which compile to vector moves, the last block overlapping the one
 * before it instead of a scalar tail: pynn_copy_row (pynn_common.h) for the copies, and the
 * same for the zero fill. */
static inline void PYNN_FN(zero_row)(real *dst, int64_t n)
{
    if (n < ROW_BLOCK) {
        for (int64_t i = 0; i < n; ++i)
            dst[i] = 0;
        return;
    }
    for (int64_t i = 0; i + ROW_BLOCK < n; i += ROW_BLOCK)
        memset(dst + i, 0, ROW_BLOCK * sizeof(real));
    memset(dst + n - ROW_BLOCK, 0, ROW_BLOCK * sizeof(real));
}

/* dst[0..n) += src[0..n), in whole blocks and then one value at a time. */
static inline void PYNN_FN(add_row)(real *PYNN_RESTRICT dst, const real *PYNN_RESTRICT src,
                                    int64_t n)
{
    int64_t i = 0;
    for (; i + ROW_BLOCK <= n; i += ROW_BLOCK) {
        real block[ROW_BLOCK];
        memcpy(block, dst + i, sizeof block);
        for (int64_t l = 0; l < ROW_BLOCK; ++l)
            block[l] += src[i + l];
        memcpy(dst + i, block, sizeof block);
    }
    for (; i < n; ++i)
        dst[i] += src[i];
}

/* dst[k] := src[2k] for k in [0, n) (see PYNN_S2_VECTORS). */
static inline void PYNN_FN(gather_even)(real *PYNN_RESTRICT dst, const real *PYNN_RESTRICT src,
                                        int64_t n)
{
    int64_t k = 0;
#ifdef PYNN_S2_VECTORS
    typedef PYNN_FN(s2_vec) vec;
    const int64_t lanes = (int64_t)(sizeof(vec) / sizeof(real));
    for (; k + lanes < n; k += lanes) { /* the pair's last lane, 2k + 2 lanes - 1, < 2 (n - 1) */
        vec a, b;
        memcpy(&a, src + 2 * k, sizeof a);
        memcpy(&b, src + 2 * k + lanes, sizeof b);
        const vec even = PYNN_FN(S2_EVEN)(a, b);
        memcpy(dst + k, &even, sizeof even);
    }
    if (k < n && n > lanes) {
        /* The last lanes values, from a pair that starts one value early and so ends on the
         * last one read: its odd lanes (a copy may overlap the one before). */
        vec a, b;
        const real *from = src + 2 * (n - lanes) - 1;
        memcpy(&a, from, sizeof a);
        memcpy(&b, from + lanes, sizeof b);
        const vec odd = PYNN_FN(S2_ODD)(a, b);
        memcpy(dst + n - lanes, &odd, sizeof odd);
        k = n;
    }
#endif
    for (; k < n; ++k)
        dst[k] = src[2 * k];
}

/* dst[2k] += src[k] for k in [0, n); the odd values of dst are rewritten as they were. */
static inline void PYNN_FN(scatter_add_even)(real *PYNN_RESTRICT dst,
                                             const real *PYNN_RESTRICT src, int64_t n)
{
    int64_t k = 0;
#ifdef PYNN_S2_VECTORS
    typedef PYNN_FN(s2_vec) vec;
    const int64_t lanes = (int64_t)(sizeof(vec) / sizeof(real));
    for (; k + lanes < n; k += lanes) { /* the pair's last lane, 2k + 2 lanes - 1, < 2 (n - 1) */
        vec add, a, b;
        memcpy(&add, src + k, sizeof add);
        memcpy(&a, dst + 2 * k, sizeof a);
        memcpy(&b, dst + 2 * k + lanes, sizeof b);
        a = PYNN_FN(S2_EVEN_ODD)(a + PYNN_FN(S2_TWICE_LO)(add), a);
        b = PYNN_FN(S2_EVEN_ODD)(b + PYNN_FN(S2_TWICE_HI)(add), b);
        memcpy(dst + 2 * k, &a, sizeof a);
        memcpy(dst + 2 * k + lanes, &b, sizeof b);
    }
#endif
    for (; k < n; ++k)
        dst[2 * k] += src[k];
}

/* Loops run over kernel taps (i, j) outside channels, so that the valid output ranges of a
 * tap, which cost divisions, are computed once per tap rather than once per channel. */
void PYNN_FN(pynn_im2col)(const pynn_conv_geom *g, const real *PYNN_RESTRICT x,
                          real *PYNN_RESTRICT cols, int64_t ld)
{
    const int64_t ow = g->ow, oh = g->oh, plane = g->h * g->w, taps = g->kh * g->kw;
    for (int64_t i = 0; i < g->kh; ++i) {
        int64_t oy0, oy1;
        valid_range(g->h, g->sh, g->ph, i * g->dh, oh, &oy0, &oy1);
        for (int64_t j = 0; j < g->kw; ++j) {
            int64_t ox0, ox1;
            valid_range(g->w, g->sw, g->pw, j * g->dw, ow, &ox0, &ox1);
            const int64_t off = j * g->dw - g->pw; /* input column = ox * sw + off */
            const int padded = ox0 > 0 || ox1 < ow;
            const int64_t row0 = i * g->dh - g->ph; /* input row = oy * sh + row0 */
            for (int64_t ci = 0; ci < g->c; ++ci) {
                real *row = cols + (ci * taps + i * g->kw + j) * ld;
                /* Without padding both fills are empty: a call each would cost more than
                 * copying a short row. */
                if (oy0 > 0)
                    memset(row, 0, (size_t)(oy0 * ow) * sizeof(real));
                /* Output row oy reads input row oy * sh + row0 of channel ci, column
                 * ox * sw + off. The offset is formed from the row, which lies inside the
                 * image: offsets of the padding's rows (row0 * w) overflow under a padding
                 * of 2**62, and no pointer may be formed outside the image. */
                const real *xc = x + ci * plane;
                if (g->sw == 1 && !padded) { /* the common case: whole rows, one copy each */
                    for (int64_t oy = oy0; oy < oy1; ++oy)
                        pynn_copy_row(row + oy * ow, xc + ((oy * g->sh + row0) * g->w + off),
                                      (size_t)ow * sizeof(real));
                } else {
                    for (int64_t oy = oy0; oy < oy1; ++oy) {
                        const real *src = xc + (oy * g->sh + row0) * g->w;
                        real *dst = row + oy * ow;
                        if (padded)
                            PYNN_FN(zero_row)(dst, ow);
                        if (g->sw == 1) {
                            pynn_copy_row(dst + ox0, src + (ox0 + off),
                                          (size_t)(ox1 - ox0) * sizeof(real));
                        } else if (g->sw == 2) {
                            PYNN_FN(gather_even)(dst + ox0, src + (ox0 * 2 + off), ox1 - ox0);
                        } else {
                            for (int64_t ox = ox0; ox < ox1; ++ox)
                                dst[ox] = src[ox * g->sw + off];
                        }
                    }
                }
                if (oy1 < oh)
                    memset(row + oy1 * ow, 0, (size_t)((oh - oy1) * ow) * sizeof(real));
            }
        }
    }
}

/* Taps outside channels as in im2col; for one element of x the contributions still arrive
 * in (i, j) order, so the sums do not depend on the loop order. */
void PYNN_FN(pynn_col2im)(const pynn_conv_geom *g, const real *PYNN_RESTRICT cols, int64_t ld,
                          real *PYNN_RESTRICT x)
{
    const int64_t ow = g->ow, oh = g->oh, plane = g->h * g->w, taps = g->kh * g->kw;
    memset(x, 0, (size_t)(g->c * plane) * sizeof(real));
    for (int64_t i = 0; i < g->kh; ++i) {
        int64_t oy0, oy1;
        valid_range(g->h, g->sh, g->ph, i * g->dh, oh, &oy0, &oy1);
        for (int64_t j = 0; j < g->kw; ++j) {
            int64_t ox0, ox1;
            valid_range(g->w, g->sw, g->pw, j * g->dw, ow, &ox0, &ox1);
            const int64_t off = j * g->dw - g->pw;
            const int64_t row0 = i * g->dh - g->ph; /* as in im2col */
            for (int64_t ci = 0; ci < g->c; ++ci) {
                const real *row = cols + (ci * taps + i * g->kw + j) * ld;
                real *xc = x + ci * plane;
                for (int64_t oy = oy0; oy < oy1; ++oy) {
                    const real *src = row + oy * ow;
                    real *dst = xc + (oy * g->sh + row0) * g->w;
                    if (g->sw == 1) {
                        PYNN_FN(add_row)(dst + (ox0 + off), src + ox0, ox1 - ox0);
                    } else if (g->sw == 2) {
                        PYNN_FN(scatter_add_even)(dst + (ox0 * 2 + off), src + ox0, ox1 - ox0);
                    } else {
                        for (int64_t ox = ox0; ox < ox1; ++ox)
                            dst[ox * g->sw + off] += src[ox];
                    }
                }
            }
        }
    }
}

void PYNN_FN(pynn_im2col_batch)(const pynn_conv_geom *g, int64_t n, const real *x, real *cols,
                                int n_threads)
{
    const int64_t x_step = g->c * g->h * g->w, c_step = g->c * g->kh * g->kw * g->oh * g->ow;
    (void)n_threads;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(n_threads > 1))
    for (int64_t b = 0; b < n; ++b)
        PYNN_FN(pynn_im2col)(g, x + b * x_step, cols + b * c_step, g->oh * g->ow);
}

void PYNN_FN(pynn_col2im_batch)(const pynn_conv_geom *g, int64_t n, const real *cols, real *x,
                                int n_threads)
{
    const int64_t x_step = g->c * g->h * g->w, c_step = g->c * g->kh * g->kw * g->oh * g->ow;
    (void)n_threads;
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(n_threads > 1))
    for (int64_t b = 0; b < n; ++b)
        PYNN_FN(pynn_col2im)(g, cols + b * c_step, g->oh * g->ow, x + b * x_step);
}

#endif
