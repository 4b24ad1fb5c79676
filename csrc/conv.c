/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). */
#ifndef PYNN_FN
#include <string.h>

#include "activation.h"
#include "conv.h"
#include "conv_pool_kernel.h"
#include "cpu.h"
#include "gemm.h"
#include "pool.h"
#include "pynn_math.h"
#include "winograd.h"

/* A 1x1 window with stride 1 and no padding: the image already is its column matrix. */
static int is_pointwise(const pynn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* Whether the weight gradient is accumulated transposed, as dW^T = cols dY^T (c*kh*kw x o),
 * rather than as dW = dY cols^T (o x c*kh*kw). Both read their transposed operand, dY or the
 * columns, through a transposing pack; this way it is the smaller of the two, and the taller
 * side of the product is the one the micro-kernel's rows stream. */
static int dw_transposed(int64_t o, int64_t kdim) { return kdim > o; }

/* Small outputs (6->16 5x5 on 12x12 has 64 pixels) make per-image GEMMs too small to run
 * near peak; images are then batched side by side in one column matrix of about this many
 * columns. */
#define PYNN_CONV_TARGET_COLS 512

/* Images per chunk: enough for ~PYNN_CONV_TARGET_COLS columns, fewer when kdim rows of them
 * would take more than a quarter of the core's L2 (the GEMM packs them once more, next to its
 * packed weights: 576 x 512 columns of a 64 -> 128 stride-2 3x3, 1.2 MB, left L2 on a Zen 4),
 * and no more than a thread's share, so that every thread still gets work. */
static int64_t chunk_images(int64_t n, int64_t npix, int64_t kdim, size_t size, int64_t teams)
{
    int64_t cols = PYNN_CONV_TARGET_COLS;
    const int64_t l2 = pynn_cpu_caches()->l2.size;
    if (l2 > 0)
        cols = PYNN_MIN(cols, l2 / 4 / PYNN_MAX(pynn_size_mul(kdim, (int64_t)size), 1));
    const int64_t want = pynn_ceil_div(PYNN_MAX(cols, 1), PYNN_MAX(npix, 1));
    const int64_t share = pynn_ceil_div(n, teams);
    return PYNN_MAX(1, PYNN_MIN(want, share));
}

/* The sizes that every offset into a convolution's arrays is formed from: values per filter
 * (c kh kw), per output plane (oh ow), per image of x (c h w) and of y (o times the pooled
 * or the plain plane). PYNN_ERR_NOMEM, before anything is written, if one of them, the whole
 * of x or y over n images, or a chunk's scratch (kdim or o rows of at most npix +
 * PYNN_CONV_TARGET_COLS columns) does not fit in int64_t: the arrays passed in fit, but a
 * caller's geometry need not. */
static int conv_sizes(const pynn_conv_geom *g, int64_t n, int64_t o, const pynn_pool_geom *pool,
                      int64_t *kdim, int64_t *npix, int64_t *x_step, int64_t *y_step)
{
    *kdim = pynn_size_mul(pynn_size_mul(g->c, g->kh), g->kw);
    *npix = pynn_size_mul(g->oh, g->ow);
    *x_step = pynn_size_mul(pynn_size_mul(g->c, g->h), g->w);
    *y_step = pynn_size_mul(o, pool ? pynn_size_mul(pool->oh, pool->ow) : *npix);
    const int64_t chunk_cols = pynn_size_add(*npix, PYNN_CONV_TARGET_COLS);
    return *kdim < 0 || *npix < 0 || pynn_size_mul(n, *x_step) < 0 ||
                   pynn_size_mul(n, *y_step) < 0 || pynn_size_mul(*kdim, chunk_cols) < 0 ||
                   pynn_size_mul(o, chunk_cols) < 0
               ? PYNN_ERR_NOMEM
               : PYNN_OK;
}

/* Values in the argmax kernels' padded image (conv_pool_kernel.h), slack included, for patch
 * rows of nv vectors of `lanes`; PYNN_SIZE_OVERFLOW when a padding of 2**31 makes it exceed
 * int64_t. */
static int64_t argmax_pad_len(const pynn_conv_geom *g, int64_t nv, int lanes)
{
    const int64_t hp = pynn_size_add(g->h, pynn_size_mul(2, g->ph));
    const int64_t wp = pynn_size_add(g->w, pynn_size_mul(2, g->pw));
    return pynn_size_add(pynn_size_mul(pynn_size_mul(g->c, hp), wp), nv * lanes);
}

/* The gradients of a pooled convolution are taken from the pooled gradient alone
 * (conv_pool_kernel.h) when the pooling keeps at most half of the convolution's outputs (a
 * 2x2 pooling keeps a quarter): then they cost less than unpooling, im2col, dY cols^T, W^T dY
 * and col2im. The kernels need dilation 1 and patch rows of at most PYNN_CONV_POOL_MAX_NV
 * vectors. */
static int use_argmax_kernels(const pynn_conv_geom *g, int64_t pooled, int lanes)
{
    if (g->dh != 1 || g->dw != 1 || pooled < 0 || pooled > g->oh * g->ow / 2 ||
        g->kw > PYNN_CONV_POOL_MAX_NV * lanes)
        return 0;
    /* They copy the image into a padded one: not when the padding dwarfs the image (its size
     * may not even fit in int64_t). */
    const int64_t padded = argmax_pad_len(g, PYNN_CONV_POOL_MAX_NV, lanes);
    const int64_t image = pynn_size_mul(pynn_size_mul(g->c, g->h), g->w);
    const int64_t limit = pynn_size_add(pynn_size_mul(4, image), 65536);
    return padded >= 0 && limit >= 0 && padded <= limit;
}

/* The kernel's geometry for g, pooled outputs per plane and vectors of `lanes`: patches sit
 * in a padded image with interleaved channel rows (see conv_pool_kernel.h), whose size in
 * values (slack included) goes to *xpad_len. pos_off gets oh * ow entries. Only for a g that
 * use_argmax_kernels accepts: its padded image fits, and so does every offset into it. */
static pynn_conv_pool_geom argmax_geom(const pynn_conv_geom *g, int64_t o, int64_t pooled,
                                       int lanes, int64_t *pos_off, int64_t *xpad_len)
{
    const int64_t wp = g->w + 2 * g->pw;
    const int64_t nv = pynn_ceil_div(g->kw, lanes);
    for (int64_t oy = 0; oy < g->oh; ++oy)
        for (int64_t ox = 0; ox < g->ow; ++ox)
            pos_off[oy * g->ow + ox] = oy * g->sh * g->c * wp + ox * g->sw;
    *xpad_len = argmax_pad_len(g, nv, lanes);
    return (pynn_conv_pool_geom){o, pooled, g->kh, g->kw, g->c * g->kh, nv, wp, pos_off};
}

/* Convolutions with stride 1 along the width and at most this many taps are computed from
 * the image (conv_pool_kernel.h's pynn_conv_rows_geom) rather than its column matrix: the
 * forward without im2col, its GEMM's packing and the copy out of chunk layout, and the weight
 * gradient without im2col and the dot-form product dY cols^T (each image adds into vectors of
 * partial sums, reduced once per call). Those sums (output channels x taps vectors) stay
 * cache-sized under the second bound. */
#define PYNN_CONV_ROWS_MAX_TAPS 512
#define PYNN_CONV_ROWS_MAX_SUMS ((int64_t)1 << 16)
/* The weight gradient's blocks each read their 3 output channels' planes of dy and their 4
 * taps' rows of the image, for every output row: from L1 while the padded image and 3 planes
 * take at most this many values. A larger layer (32 -> 64 channels on 28x28) reads them from
 * L2 and runs slower than im2col + GEMM, so it keeps that path. */
#define PYNN_CONV_ROWS_DW_MAX_VALUES 4096

/* The image-read kernels' padded image: rows of len = w + z values, the image's row and z
 * zeros, each channel between ph zero rows above and below, after pw leading zeros. A row's
 * zeros serve as the right padding of that row and the left padding of the next (output
 * column ox reads columns ox - pw to ox - pw + dw (kw - 1) <= w + pw - 1 of the image), so
 * the image is padded once between rows, not twice: fewer wasted lanes when outputs are taken
 * as one long row (rows_forward). z = pw, or more when the padding exceeds the window's reach
 * and ow > w + pw (that flat row needs len >= ow). Image row r of channel ci starts at
 * pw + (ci (h + 2 ph) + r + ph) len, and output (oy, ox) reads tap (ci, i, j) at
 * (ci (h + 2 ph) + i dh) len + j dw + oy sh len + ox (rows_geom's tap_off; stride 1 along
 * the width). */
static int64_t pad_row(const pynn_conv_geom *g)
{
    return pynn_size_add(g->w, PYNN_MAX(g->pw, g->ow - g->w));
}

/* Values of that padded image, for c channels, with `slack` more past its end. */
static int64_t rows_pad_len(const pynn_conv_geom *g, int64_t slack)
{
    return g->c * (g->h + 2 * g->ph) * pad_row(g) + g->pw + slack;
}

/* Copy image x (c x h x w) into the padded image pad, whose zeros are never written. */
static void rows_pad_copy(const pynn_conv_geom *g, const void *x, void *pad, size_t size)
{
    const int64_t hp = g->h + 2 * g->ph, len = pad_row(g);
    char *dst = (char *)pad;
    const char *src = (const char *)x;
    for (int64_t ci = 0; ci < g->c; ++ci)
        for (int64_t r = 0; r < g->h; ++r)
            pynn_copy_row(dst + (size_t)(g->pw + (ci * hp + r + g->ph) * len) * size,
                          src + (size_t)((ci * g->h + r) * g->w) * size, (size_t)g->w * size);
}

/* Whether the image-read kernels can run g: stride 1 along the width, one team member per
 * thread (a batch smaller than the team threads each GEMM instead), and a padded image not
 * much larger than the image (a padding of 2**31 would not fit). */
static int rows_fit(const pynn_conv_geom *g, int64_t teams, int n_threads)
{
    if (g->sw != 1 || is_pointwise(g) || teams != n_threads)
        return 0;
    const int64_t hp = pynn_size_add(g->h, pynn_size_mul(2, g->ph));
    const int64_t padded = pynn_size_add(pynn_size_mul(pynn_size_mul(g->c, hp), pad_row(g)),
                                         g->pw);
    const int64_t image = pynn_size_mul(pynn_size_mul(g->c, g->h), g->w);
    const int64_t limit = pynn_size_add(pynn_size_mul(4, image), 65536);
    return hp >= 0 && padded >= 0 && limit >= 0 && padded <= limit;
}

/* Whether they apply to the weight gradient of g: rows_fit, and a small filter. */
static int use_rows(const pynn_conv_geom *g, int64_t o, int64_t kdim, int64_t teams,
                    int n_threads)
{
    return kdim <= PYNN_CONV_ROWS_MAX_TAPS && pynn_size_mul(o, kdim) <= PYNN_CONV_ROWS_MAX_SUMS &&
           rows_fit(g, teams, n_threads);
}

/* And to the forward: the forward keeps no sums per tap, so a deeper filter still streams
 * (up to the input gradient's bound, which runs the same kernel, use_dx_rows); im2col + GEMM
 * took 1.5 times as long on 64 -> 64 3x3 on 8x8 images (576 taps), its chunk of columns and
 * their packed copy filling L2. */
#define PYNN_CONV_DX_ROWS_MAX_TAPS 4096
/* Whether the kernels with output channels in the lanes (fwd_oc, dw_oc) suit g: stride 1 or 2
 * along the width (positions 1 or 2 values apart), a block of output channels (oc_block), a
 * filter deep enough to hide fwd_oc's epilogue, which stores each output value alone (3 -> 64
 * channels, 27 taps, ran slower than im2col + GEMM; 32 -> 64, 288 taps, faster), the padded
 * image rows_fit takes; not a 1x1 window, which im2col only subsamples for the GEMM. */
static int oc_kernels_fit(const pynn_conv_geom *g, int64_t o, int64_t kdim,
                          const pynn_conv_pool_desc *desc, size_t size, int64_t teams,
                          int n_threads)
{
    const int64_t oc_block = size == sizeof(float) ? desc->oc_block_f32 : desc->oc_block_f64;
    pynn_conv_geom unit = *g; /* rows_fit's padded image is the same at any stride */
    unit.sw = 1;
    return g->sw <= 2 && o >= oc_block && kdim >= 4 * oc_block && !(g->kh == 1 && g->kw == 1) &&
           rows_fit(&unit, teams, n_threads);
}

/* With stride 2 along the width only fwd_oc applies (oc_kernels_fit), and only on rows long
 * enough to keep its multiply-adds independent (2 positions, on a 4x4 output, ran slower). */
static int use_rows_forward(const pynn_conv_geom *g, int64_t o, int64_t kdim,
                            const pynn_conv_pool_desc *desc, size_t size, int64_t teams,
                            int n_threads)
{
    if (kdim > PYNN_CONV_DX_ROWS_MAX_TAPS)
        return 0;
    if (g->sw == 2)
        return g->ow >= desc->oc_tile_step &&
               oc_kernels_fit(g, o, kdim, desc, size, teams, n_threads);
    return rows_fit(g, teams, n_threads);
}

/* Whether the weight gradient of g is taken by the flat kernel (dw_flat in
 * conv_pool_kernel.h): dw[oc][t] is the dot product of dy's plane oc with the image's values
 * at tap t's offset, over the outputs taken as one long row of the padded image (as
 * rows_forward takes them), dy copied into that layout with zeros between its rows. No column
 * matrix and no transposing pack; it wastes the positions between rows (the 1 in 29 of a
 * 28-wide image padded by 1), and not more than a quarter (*nq: the row's length in whole
 * vectors of the widest ISA). Where it was measured to beat im2col + GEMM: with AVX-512's
 * 32 registers (its 4 x 6 blocks load once per 2.4 multiply-adds). The zeros of dy meet
 * image values, so an image with an inf or NaN takes the chunks (the caller checks). */
/* Images a call of the flat kernel takes: it reduces its sums once per call, and those
 * reductions were a twentieth of the 32 -> 64 layer's weight gradient at 2 images a call
 * (a scratch of 8 padded images and their dy, 2.7 MB there, streams from L2 and L3). */
#define PYNN_CONV_FLAT_IMAGES 8
static int use_flat_dw(const pynn_conv_geom *g, int64_t npix, int64_t vmax, int isa,
                       int64_t teams, int n_threads, int64_t *nq)
{
    if (isa != PYNN_ISA_AVX512 || g->sh != 1 || !rows_fit(g, teams, n_threads))
        return 0;
    *nq = pynn_ceil_div((g->oh - 1) * pad_row(g) + g->ow, vmax) * vmax;
    return 4 * *nq <= 5 * npix;
}

/* The input gradient of a convolution with stride 1 is itself a stride-1 convolution: of dy
 * (o channels, padded by dh (kh - 1) - ph rows and dw (kw - 1) - pw columns) with the weights
 * flipped in both spatial axes and their channel axes swapped, giving c planes of h x w. Run
 * by the image-read forward, its depth is o kh kw rather than the o of W^T dY, which as a
 * GEMM re-reads its C tiles after every few products (k = 16 in 6 -> 16) and then needs
 * col2im. The transposed geometry goes to *t. Not when that padding would be negative (the
 * forward pads more than its window reaches: the gradient is a crop), for a pointwise
 * convolution (its W^T dY has no col2im), or when the padded dy image does not fit; and not
 * when it would do much more work than W^T dY: it multiplies all of dy's padding too (h w
 * against oh ow outputs a plane, 2.25 times as many in 6 -> 16 on 12x12) and computes output
 * channels in fours (c = 6 takes 8). */
static int use_dx_rows(const pynn_conv_geom *g, int64_t o, int64_t teams, int n_threads,
                       pynn_conv_geom *t)
{
    const int64_t qh = g->dh * (g->kh - 1) - g->ph, qw = g->dw * (g->kw - 1) - g->pw;
    if (g->sh != 1 || g->sw != 1 || is_pointwise(g) || qh < 0 || qw < 0)
        return 0;
    *t = (pynn_conv_geom){o, g->oh, g->ow, g->kh, g->kw, 1, 1, qh, qw, g->dh, g->dw, g->h, g->w};
    const int64_t taps = pynn_size_mul(pynn_size_mul(o, g->kh), g->kw);
    const double work = (double)g->h * (double)g->w * (double)(pynn_ceil_div(g->c, 4) * 4);
    if (4 * work > 5 * (double)g->oh * (double)g->ow * (double)g->c)
        return 0;
    return taps >= 0 && taps <= PYNN_CONV_DX_ROWS_MAX_TAPS && rows_fit(t, teams, n_threads);
}

/* Whether the flat weight gradient (rows of nq values) can read dy from the input gradient's
 * padded dy (use_dx_rows's geometry t), so that dy is laid out once for both: each channel's
 * rows there are pad_row(t) values apart, the same as the image's (both are w + pw), with
 * zeros between them and in the t->ph rows below, which the nq values must not pass. */
static int use_fused_flat(const pynn_conv_geom *t, int64_t nq)
{
    return nq <= (t->h + 2 * t->ph) * pad_row(t);
}

/* The kernels' geometry for g (use_rows accepted it), output planes oc_step apart: the image
 * laid out as pad_row describes (the caller copies it so when g pads; without padding it is
 * the image itself); tap_off gets kdim entries, tap (ci, i, j) at (ci kh + i) kw + j, or with
 * kernel_row_first (fwd_oc) at (i c + ci) kw + j, so that the taps of kernel rows lo to hi - 1
 * are a range. */
static pynn_conv_rows_geom rows_geom(const pynn_conv_geom *g, int64_t o, int64_t oc_step,
                                     int kernel_row_first, int64_t *tap_off)
{
    const int64_t hp = g->h + 2 * g->ph, len = pad_row(g);
    for (int64_t ci = 0; ci < g->c; ++ci)
        for (int64_t i = 0; i < g->kh; ++i)
            for (int64_t j = 0; j < g->kw; ++j)
                tap_off[(kernel_row_first ? i * g->c + ci : ci * g->kh + i) * g->kw + j] =
                    (ci * hp + i * g->dh) * len + j * g->dw;
    return (pynn_conv_rows_geom){
        o, g->c * g->kh * g->kw, g->oh, g->ow, oc_step, g->sh * len, 0, tap_off, g->sw, NULL,
        g->c * g->kw};
}

/* The kernel rows that output row oy reads inside the image, not in its padding: lo to hi - 1
 * (lo <= hi: the rows read go down the image as i grows). */
static int64_t kernel_rows_lo(const pynn_conv_geom *g, int64_t oy)
{
    int64_t i = 0;
    while (i < g->kh && oy * g->sh - g->ph + i * g->dh < 0)
        ++i;
    return i;
}

static int64_t kernel_rows_hi(const pynn_conv_geom *g, int64_t oy)
{
    int64_t i = g->kh;
    while (i > 0 && oy * g->sh - g->ph + (i - 1) * g->dh >= g->h)
        --i;
    return i;
}

/* The geometry of fwd_oc by rows and of dw_oc: rows_geom's, taps kernel row first, and each
 * output row's range of them in tap_off's last 2 oh entries (kdim + 2 oh in all). */
static pynn_conv_rows_geom oc_geom(const pynn_conv_geom *g, int64_t o, int64_t oc_step,
                                   int64_t *tap_off)
{
    pynn_conv_rows_geom rg = rows_geom(g, o, oc_step, 1, tap_off);
    int64_t *range = tap_off + rg.taps;
    for (int64_t oy = 0; oy < g->oh; ++oy) {
        range[2 * oy] = kernel_rows_lo(g, oy) * rg.kernel_row_taps;
        range[2 * oy + 1] = kernel_rows_hi(g, oy) * rg.kernel_row_taps;
    }
    rg.row_taps = range;
    return rg;
}

#define PYNN_TEMPLATE "conv.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */

/* Scratch for one chunk of nb images: cols (kdim x nb*npix), and for nb > 1, a pooled
 * convolution or a masked gradient a matrix (o x nb*npix) that holds outputs or output
 * gradients in chunk layout. */
typedef struct {
    real *cols, *wide;
} PYNN_FN(conv_scratch);

static int PYNN_FN(scratch_alloc)(PYNN_FN(conv_scratch) *s, int64_t kdim, int64_t o,
                                  int64_t npix, int64_t nb, int always_wide)
{
    const int wide = nb > 1 || always_wide;
    const int64_t ld = pynn_size_mul(nb, npix);
    s->cols = pynn_alloc_n(pynn_size_mul(kdim, ld), sizeof(real), 0);
    s->wide = wide ? pynn_alloc_n(pynn_size_mul(o, ld), sizeof(real), 0) : NULL;
    return s->cols && (!wide || s->wide) ? PYNN_OK : PYNN_ERR_NOMEM;
}

static void PYNN_FN(scratch_free)(PYNN_FN(conv_scratch) *s)
{
    pynn_free(s->cols);
    pynn_free(s->wide);
}

/* Columns of nb images side by side: image b's columns start at column b * npix. A single
 * pointwise image is its own column matrix and is not copied. */
static const real *PYNN_FN(chunk_columns)(const pynn_conv_geom *g, const real *x, int64_t nb,
                                          real *cols)
{
    const int64_t npix = g->oh * g->ow, x_step = g->c * g->h * g->w;
    if (nb == 1 && is_pointwise(g))
        return x;
    for (int64_t b = 0; b < nb; ++b)
        PYNN_FN(pynn_im2col)(g, x + b * x_step, cols + b * npix, nb * npix);
    return cols;
}

/* y for nb images := relu?(W cols + b), max-pooled by `pool` (with its argmax in idx) unless
 * NULL. Each output plane is pooled straight from the chunk's GEMM result, in cache. */
static int PYNN_FN(forward_chunk)(const pynn_conv_geom *g, int64_t o, const real *x,
                                  int64_t nb, const real *w, const real *bias, int relu,
                                  const pynn_pool_geom *pool, real *y, int64_t *idx,
                                  PYNN_FN(conv_scratch) *s, int isa, int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow, ld = nb * npix;
    const real *src = PYNN_FN(chunk_columns)(g, x, nb, s->cols);
    real *dst = nb == 1 && !pool ? y : s->wide;
    int status = PYNN_FN(pynn_gemm)(o, ld, kdim, 1, w, kdim, 1, src, ld, 1, 0, dst, ld, 1, bias,
                                    0, relu, isa, n_threads);
    if (status != PYNN_OK || dst == y)
        return status;
    const int64_t y_plane = pool ? pool->oh * pool->ow : npix;
    for (int64_t b = 0; b < nb; ++b) { /* chunk layout (o, b, p) back to NCHW (b, o, p) */
        for (int64_t oc = 0; oc < o; ++oc) {
            const real *plane = dst + oc * ld + b * npix;
            const int64_t at = (b * o + oc) * y_plane;
            if (pool)
                PYNN_FN(pynn_maxpool2d_plane)(pool, plane, y + at, idx + at, isa);
            else
                memcpy(y + at, plane, (size_t)npix * sizeof(real));
        }
    }
    return status;
}

/* What rows_forward computes every image of g with: its kernel, geometry, packed weights and
 * padded image length. */
typedef struct {
    void (*kernel)(const pynn_conv_rows_geom *, const real *, const real *, const real *, int,
                   real *);
    pynn_conv_rows_geom rg;
    real *wpack;
    int64_t *tap_off, pad_len;
    int64_t block; /* output channels a block of wpack */
} PYNN_FN(rows_plan);

static void PYNN_FN(rows_plan_free)(PYNN_FN(rows_plan) *p)
{
    pynn_free(p->wpack);
    pynn_free(p->tap_off);
}

/* p := the plan of rows_forward for g, o output channels and weights w; PYNN_ERR_NOMEM
 * (after which p is still freed by rows_plan_free) when out of memory. */
static int PYNN_FN(rows_plan_init)(PYNN_FN(rows_plan) *p, const pynn_conv_geom *g, int64_t o,
                                   const real *w, int isa)
{
    const pynn_conv_pool_desc *desc = pynn_conv_pool_kernels(isa);
    const int f32 = sizeof(real) == sizeof(float);
    const int64_t lanes = f32 ? desc->lanes_f32 : desc->lanes_f64;
    const int64_t wide = f32 ? desc->wide_lanes_f32 : desc->wide_lanes_f64;
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    p->pad_len = rows_pad_len(g, PYNN_MAX(lanes, wide));
    /* Values computed: row by row or as one flat row in `lanes`-wide vectors, or as a flat
     * row in the ISA's own (AVX-512's 512 bits, wide lanes). Each is weighed by the time its
     * vectors take: a wide vector costs wide / lanes narrow ones where the core splits it in
     * halves (Zen 4), one where it has full-width units (Zen 5: a 24-wide row of 5x5 taps is
     * then cheaper as a flat row of wide vectors, which wastes more lanes, than row by row),
     * as pynn_cpu_wide_speedup measured. At the same cost the wide row is taken: with split
     * units it still ran 3-4% faster than 256-bit vectors (32 -> 64 on 28x28, Zen 4). */
    const int64_t flat_len = (g->oh - 1) * pad_row(g) + g->ow;
    const double speedup = wide > lanes ? pynn_cpu_wide_speedup() : 1;
    const double by_rows = (double)(g->oh * pynn_ceil_div(g->ow, lanes));
    const double flat_narrow = (double)pynn_ceil_div(flat_len, lanes);
    const double flat_wide = (double)(pynn_ceil_div(flat_len, wide) * (wide / lanes)) / speedup;
    const int flat = g->sh == 1 && PYNN_MIN(flat_narrow, flat_wide) < by_rows;
    /* fwd_oc computes each position's two wide vectors of channels a tap: along the flat
     * row, in blocks of positions rounded up to a third of its largest, or row by row, in
     * blocks that end at the row's end, with the kernel rows that fall in the padding left
     * out (the skipped 2 of 21 rows of a 7x7 output, 3x3 padded by 1, are 10% of its work).
     * Fewer positions than half a block are latency-bound: counted as half a block. */
    const int64_t ob = f32 ? desc->oc_block_f32 : desc->oc_block_f64;
    const int64_t tile = desc->oc_tile, step = desc->oc_tile_step;
    const int64_t row_blocks = pynn_ceil_div(g->ow, tile);
    int64_t row_positions = 0, kernel_rows = 0; /* of a row; over all rows */
    for (int64_t k = 0; k < row_blocks; ++k)
        row_positions += PYNN_MAX(g->ow * (k + 1) / row_blocks - g->ow * k / row_blocks, tile / 2);
    for (int64_t oy = 0; oy < g->oh; ++oy)
        kernel_rows += kernel_rows_hi(g, oy) - kernel_rows_lo(g, oy);
    const double oc_by_rows = (double)(row_positions * kernel_rows) / (double)g->kh;
    const double oc_flat = (double)(pynn_ceil_div(flat_len, step) * step);
    const int oc_rows = g->sw != 1 || oc_by_rows <= oc_flat; /* the flat row needs stride 1 */
    /* Its epilogue stores a position's block value by value, about a narrow vector's time
     * each, which a shallow filter does not hide (1 -> 30 5x5, 25 taps, ran 45% slower than
     * fwd_rows): spread over the taps, as the rest is counted a tap. */
    const double oc_cost = (double)pynn_ceil_div(o, ob) * (oc_rows ? oc_by_rows : oc_flat) *
                           (2.0 * (double)(wide / lanes) / speedup + (double)ob / (double)kdim);
    /* The same for fwd_rows: 4 channels a vector of positions. */
    const double rows_cost = (double)(pynn_ceil_div(o, 4) * 4) *
                             PYNN_MIN(by_rows, PYNN_MIN(flat_narrow, flat_wide));
    /* at a tie, fwd_oc ran faster (64 -> 128, 7x7); fwd_rows has no stride along the width */
    const int by_oc = oc_cost <= rows_cost || g->sw != 1;
    p->block = by_oc ? ob : 4;
    p->kernel = by_oc ? desc->PYNN_FN(fwd_oc)
                : flat && flat_wide <= flat_narrow ? desc->PYNN_FN(fwd_rows_wide)
                                                   : desc->PYNN_FN(fwd_rows);
    p->wpack = pynn_alloc_n(pynn_ceil_div(o, p->block) * p->block * kdim, sizeof(real), 1);
    p->tap_off = pynn_alloc_n(kdim + 2 * g->oh, sizeof(int64_t), 0);
    if (!p->wpack || !p->tap_off)
        return PYNN_ERR_NOMEM;
    p->rg = by_oc ? oc_geom(g, o, npix, p->tap_off) : rows_geom(g, o, npix, 0, p->tap_off);
    if (by_oc ? !oc_rows : flat) {
        p->rg.flat_row = pad_row(g);
        p->rg.row_taps = NULL;
    }
    const int64_t bl = p->block;
    for (int64_t oc = 0; oc < o; ++oc) {
        real *block = p->wpack + oc / bl * kdim * bl + oc % bl;
        const real *w_oc = w + oc * kdim;
        for (int64_t ci = 0, t = 0; ci < g->c; ++ci)
            for (int64_t i = 0; i < g->kh; ++i)
                for (int64_t j = 0; j < g->kw; ++j, ++t)
                    block[(by_oc ? (i * g->c + ci) * g->kw + j : t) * bl] = w_oc[t];
    }
    return PYNN_OK;
}

/* The forward read from the image (use_rows accepted g), images shared among n_threads:
 * each is copied into the padded image of pad_row with a vector of slack (the kernel reads
 * whole vectors), convolved into y or, with `pool`, into a scratch plane per output channel
 * that is pooled while in cache.
 *
 * Computed row by row, each output row takes whole vectors, wasting the lanes past its end
 * (a quarter of them on 28-wide rows of 8 lanes). With stride 1 the output is instead taken
 * as one long row over the padded image's row length (the kernel's flat_row): output
 * (oy, ox) is flat position oy (w + pw) + ox, whose taps lie at the same offsets from it, and
 * the pw positions between rows are computed and dropped, when that makes fewer vectors. */
static int PYNN_FN(rows_forward)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                                 const real *w, const real *b, int relu,
                                 const pynn_pool_geom *pool, real *y, int64_t *idx, int isa,
                                 int n_threads)
{
    const int64_t npix = g->oh * g->ow, x_step = g->c * g->h * g->w;
    const int64_t y_plane = pool ? pool->oh * pool->ow : npix;
    (void)n_threads; /* read only by the OpenMP pragma */
    PYNN_FN(rows_plan) p;
    int status = PYNN_FN(rows_plan_init)(&p, g, o, w, isa);
    if (status == PYNN_OK) {
        PYNN_OMP(parallel num_threads(n_threads) if (n_threads > 1))
        {
            real *pad = pynn_alloc_n(p.pad_len, sizeof(real), 1);
            real *plane = pool ? pynn_alloc_n(o * npix, sizeof(real), 0) : NULL;
            int mine = pad && (!pool || plane) ? PYNN_OK : PYNN_ERR_NOMEM;
            PYNN_OMP(for schedule(static))
            for (int64_t i = 0; i < n; ++i) {
                if (mine != PYNN_OK)
                    continue;
                rows_pad_copy(g, x + i * x_step, pad, sizeof(real));
                real *yi = y + i * o * y_plane;
                p.kernel(&p.rg, pad, p.wpack, b, relu, pool ? plane : yi);
                for (int64_t oc = 0; pool && oc < o; ++oc)
                    PYNN_FN(pynn_maxpool2d_plane)(pool, plane + oc * npix, yi + oc * y_plane,
                                                  idx + (i * o + oc) * y_plane, isa);
            }
            if (mine != PYNN_OK) {
                PYNN_OMP(atomic write)
                status = mine;
            }
            pynn_free(pad);
            pynn_free(plane);
        }
    }
    PYNN_FN(rows_plan_free)(&p);
    return status;
}

int PYNN_FN(pynn_conv2d_fwd)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                             const real *w, const real *b, int relu, const pynn_pool_geom *pool,
                             real *y, int64_t *idx, int isa, int n_threads)
{
    int64_t kdim, npix, x_step, y_step;
    if (conv_sizes(g, n, o, pool, &kdim, &npix, &x_step, &y_step) != PYNN_OK)
        return PYNN_ERR_NOMEM;
    if (!pool && pynn_winograd_pays(g, o))
        return PYNN_FN(pynn_winograd_conv)(g, n, o, x, w, b, relu, y, isa, n_threads);
    const int64_t teams = n < n_threads ? 1 : n_threads;
    if (use_rows_forward(g, o, kdim, pynn_conv_pool_kernels(isa), sizeof(real), teams,
                         n_threads))
        return PYNN_FN(rows_forward)(g, n, o, x, w, b, relu, pool, y, idx, isa, n_threads);
    const int64_t nb = chunk_images(n, npix, kdim, sizeof(real), teams);
    const int64_t chunks = pynn_ceil_div(n, nb);
    int status = PYNN_OK;

    if (teams == 1) { /* few images: thread each GEMM instead */
        PYNN_FN(conv_scratch) s;
        if (PYNN_FN(scratch_alloc)(&s, kdim, o, npix, nb, pool != NULL) != PYNN_OK)
            status = PYNN_ERR_NOMEM;
        for (int64_t i = 0; i < n && status == PYNN_OK; i += nb)
            status = PYNN_FN(forward_chunk)(g, o, x + i * x_step, PYNN_MIN(nb, n - i), w, b,
                                            relu, pool, y + i * y_step,
                                            idx ? idx + i * y_step : NULL, &s, isa, n_threads);
        PYNN_FN(scratch_free)(&s);
        return status;
    }

    PYNN_OMP(parallel num_threads((int)teams))
    {
        PYNN_FN(conv_scratch) s;
        int mine = PYNN_FN(scratch_alloc)(&s, kdim, o, npix, nb, pool != NULL);
        /* Every thread runs the loop (a worksharing loop must be reached by all threads);
         * one that could not allocate only skips its chunks and reports. */
        PYNN_OMP(for schedule(static))
        for (int64_t c = 0; c < chunks; ++c)
            if (mine == PYNN_OK)
                mine = PYNN_FN(forward_chunk)(g, o, x + c * nb * x_step,
                                              PYNN_MIN(nb, n - c * nb), w, b, relu, pool,
                                              y + c * nb * y_step,
                                              idx ? idx + c * nb * y_step : NULL, &s, isa, 1);
        if (mine != PYNN_OK) {
            PYNN_OMP(atomic write)
            status = mine;
        }
        PYNN_FN(scratch_free)(&s);
    }
    return status;
}

/* One thread's state for the image-read weight gradient: the kernel's geometry (oc_step set
 * per chunk), its vectors of partial sums, and unless NULL the zero-bordered padded image.
 * Or, with dyf, the flat weight gradient's (use_flat_dw): its geometry, the padded image and
 * dyf, one image's output gradient laid out as the padded image's rows (o rows of geom.ow
 * values, zero between the image's rows and past its end). With dxp as well, the input
 * gradient is taken with the weight gradient (use_fused_flat): dyf then holds the images'
 * dy padded as dxp's input (tg, dy_stride values apart), read by both kernels. */
typedef struct {
    pynn_conv_rows_geom geom;
    const pynn_conv_pool_desc *desc;
    real *acc, *pad, *dyf;
    const PYNN_FN(rows_plan) *dxp;
    const pynn_conv_geom *tg;
    int64_t dy_stride;
} PYNN_FN(rows_dw);

/* dw_acc (o x kdim) += the weight gradient of nb images (at most PYNN_CONV_FLAT_IMAGES) by
 * the flat kernel, and db_acc (unless NULL) += the bias gradient; dy is zeroed where
 * relu_y <= 0 (as relu_bwd) unless relu_y is NULL. Image b's padded image goes to
 * pad + b * geom.x_row, its dy to dyf + b * o * geom.oc_step. */
static void PYNN_FN(flat_dw_images)(const pynn_conv_geom *g, PYNN_FN(rows_dw) *r, int64_t o,
                                    const real *x, int64_t nb, const real *dy,
                                    const real *relu_y, real *dw_acc, double *db_acc, real *dx)
{
    const int64_t x_step = g->c * g->h * g->w, npix = g->oh * g->ow, len = pad_row(g);
    const int64_t row = r->geom.oc_step;
    r->geom.oh = nb;
    if (r->dxp) { /* use_fused_flat: relu_y is NULL (dy comes masked) */
        const pynn_conv_geom *t = r->tg;
        for (int64_t b = 0; b < nb; ++b) {
            const real *dyb = dy + b * o * npix;
            rows_pad_copy(g, x + b * x_step, r->pad + b * r->geom.x_row, sizeof(real));
            rows_pad_copy(t, dyb, r->dyf + b * r->dy_stride, sizeof(real));
            for (int64_t oc = 0; db_acc && oc < o; ++oc)
                db_acc[oc] += r->desc->PYNN_FN(sum)(dyb + oc * npix, npix);
        }
        /* dy's rows start past the padding; their gaps and the rows below are zeros */
        r->desc->PYNN_FN(dw_flat)(&r->geom, r->pad, r->dyf + t->pw + t->ph * pad_row(t),
                                  dw_acc);
        for (int64_t b = 0; b < nb; ++b)
            r->dxp->kernel(&r->dxp->rg, r->dyf + b * r->dy_stride, r->dxp->wpack, NULL, 0,
                           dx + b * x_step);
        return;
    }
    for (int64_t b = 0; b < nb; ++b) {
        real *dyf = r->dyf + b * o * row;
        rows_pad_copy(g, x + b * x_step, r->pad + b * r->geom.x_row, sizeof(real));
        for (int64_t oc = 0; oc < o; ++oc) {
            const int64_t at = (b * o + oc) * npix;
            for (int64_t oy = 0; oy < g->oh; ++oy) {
                real *dst = dyf + oc * row + oy * len;
                const real *src = dy + at + oy * g->ow;
                if (relu_y) {
                    const real *ry = relu_y + at + oy * g->ow;
                    for (int64_t k = 0; k < g->ow; ++k)
                        dst[k] = ry[k] <= 0 ? 0 : src[k];
                } else {
                    pynn_copy_row(dst, src, (size_t)g->ow * sizeof(real));
                }
            }
            if (db_acc)
                db_acc[oc] += r->desc->PYNN_FN(sum)(dyf + oc * row, row);
        }
    }
    r->desc->PYNN_FN(dw_flat)(&r->geom, r->pad, r->dyf, dw_acc);
}

/* acc += the weight gradient of nb images, whose output gradients are planes of dy: image
 * b's channel oc at dy + b * img_step + oc * oc_step. */
static void PYNN_FN(rows_dw_images)(const pynn_conv_geom *g, PYNN_FN(rows_dw) *r,
                                    const real *x, int64_t nb, const real *dy,
                                    int64_t img_step, int64_t oc_step)
{
    const int64_t x_step = g->c * g->h * g->w;
    r->geom.oc_step = oc_step;
    for (int64_t b = 0; b < nb; ++b) {
        const real *xb = x + b * x_step, *src = xb;
        if (r->pad) {
            rows_pad_copy(g, xb, r->pad, sizeof(real));
            src = r->pad;
        }
        r->desc->PYNN_FN(dw_rows)(&r->geom, src, dy + b * img_step, r->acc);
    }
}

/* Accumulate nb images' gradients: dw_acc += dY cols^T (dw_acc += cols dY^T when
 * dw_transposed; or, with `rows`, rows->acc += the same from the images) and db_acc += row
 * sums of dY, with dY the (o x nb*npix) output gradient in chunk layout; and
 * dx := col2im(W^T dY) per image. db_acc and dx may be NULL: that gradient is skipped.
 * With `pool`, dy is the gradient of the pooled output and dY is unpooled through idx plane
 * by plane; an index outside its plane gives PYNN_ERR_ARG. Without, dY is dy zeroed where
 * relu_y (shaped as dy) is <= 0 (as relu_bwd: a NaN passes dy), unless relu_y is NULL. */
static int PYNN_FN(backward_chunk)(const pynn_conv_geom *g, int64_t o, const real *x,
                                   int64_t nb, const real *w, const pynn_pool_geom *pool,
                                   const real *dy, const real *relu_y, const int64_t *idx,
                                   real *dx, real *dw_acc, double *db_acc,
                                   PYNN_FN(rows_dw) *rows, PYNN_FN(conv_scratch) *s, int isa,
                                   int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow, ld = nb * npix;
    const int64_t x_step = g->c * g->h * g->w;
    const int direct = nb == 1 && is_pointwise(g);
    const real *dyc = dy;
    if (rows && rows->dyf) { /* use_flat_dw: no pooling; dx only with rows->dxp */
        PYNN_FN(flat_dw_images)(g, rows, o, x, nb, dy, relu_y, dw_acc, db_acc, dx);
        return PYNN_OK;
    }
    if (rows && !dx && !pool && !relu_y) {
        /* Nothing needs the chunk layout: the weight gradient reads dy's planes in place. */
        PYNN_FN(rows_dw_images)(g, rows, x, nb, dy, o * npix, npix);
        for (int64_t b = 0; db_acc && b < nb; ++b)
            for (int64_t oc = 0; oc < o; ++oc)
                db_acc[oc] += rows->desc->PYNN_FN(sum)(dy + (b * o + oc) * npix, npix);
        return PYNN_OK;
    }
    if (nb > 1 || pool || relu_y) { /* NCHW (b, o, p) to chunk layout (o, b, p) */
        const int64_t dy_plane = pool ? pool->oh * pool->ow : npix;
        for (int64_t b = 0; b < nb; ++b) {
            for (int64_t oc = 0; oc < o; ++oc) {
                real *plane = s->wide + oc * ld + b * npix;
                const int64_t at = (b * o + oc) * dy_plane;
                if (!pool && relu_y)
                    pynn_activation_kernels(isa)->PYNN_FN(relu_bwd)(npix, relu_y + at,
                                                                    dy + at, plane, 1);
                else if (!pool)
                    memcpy(plane, dy + at, (size_t)npix * sizeof(real));
                else if (!PYNN_FN(pynn_maxunpool2d_plane)(pool, dy + at, idx + at, plane))
                    return PYNN_ERR_ARG;
            }
        }
        dyc = s->wide;
    }
    int status = PYNN_OK;
    if (rows) {
        PYNN_FN(rows_dw_images)(g, rows, x, nb, dyc, npix, ld);
    } else {
        const real *src = PYNN_FN(chunk_columns)(g, x, nb, s->cols);
        if (dw_transposed(o, kdim))
            status = PYNN_FN(pynn_gemm)(kdim, o, ld, 1, src, ld, 1, dyc, 1, ld, 1, dw_acc, o, 1,
                                        NULL, 0, 0, isa, n_threads);
        else
            status = PYNN_FN(pynn_gemm)(o, kdim, ld, 1, dyc, ld, 1, src, 1, ld, 1, dw_acc, kdim,
                                        1, NULL, 0, 0, isa, n_threads);
        if (status != PYNN_OK)
            return status;
    }
    if (db_acc) {
        const pynn_conv_pool_desc *desc = pynn_conv_pool_kernels(isa);
        for (int64_t oc = 0; oc < o; ++oc)
            db_acc[oc] += desc->PYNN_FN(sum)(dyc + oc * ld, ld);
    }
    if (dx) {
        /* The columns are no longer needed: their buffer takes W^T dY. */
        real *dcols = direct ? dx : s->cols;
        status = PYNN_FN(pynn_gemm)(kdim, ld, o, 1, w, 1, kdim, dyc, ld, 1, 0, dcols, ld, 1, NULL,
                                    0, 0, isa, n_threads);
        if (status == PYNN_OK && !direct)
            for (int64_t b = 0; b < nb; ++b)
                PYNN_FN(pynn_col2im)(g, dcols + b * npix, ld, dx + b * x_step);
    }
    return status;
}

/* dw_rows (in argmax_wrows's layout) += the weight gradient and db_acc (unless NULL) += the
 * bias gradient of images [b0, b1) of a pooled convolution, by the argmax kernels (see
 * use_argmax_kernels), and, unless dx is NULL, their input gradients into dx; dy is zeroed
 * where relu_y <= 0 (as relu_bwd) unless relu_y is NULL. pad holds the kernels' padded image
 * (pad_len values, zero-filled once: its borders are never written), with dx the padded input
 * gradient after it, and with relu_y room for one image's masked dy after those; wrows
 * holds the weights as patch rows. PYNN_ERR_ARG if an index lies outside its plane. */
static int PYNN_FN(argmax_images)(const pynn_conv_geom *g, const pynn_conv_pool_geom *cg,
                                  const pynn_conv_pool_desc *desc, int isa, const real *x,
                                  const real *dy, const real *relu_y, const int64_t *idx,
                                  const real *wrows, int64_t b0, int64_t b1, real *pad,
                                  int64_t pad_len, real *dw_rows, double *db_acc, real *dx)
{
    const int64_t per_image = cg->o * cg->pooled, npix = g->oh * g->ow;
    const int64_t x_step = g->c * g->h * g->w;
    real *dxpad = pad + pad_len, *masked = pad + (dx ? 2 : 1) * pad_len;
    for (int64_t b = b0; b < b1; ++b) {
        const int64_t *ib = idx + b * per_image;
        const real *dyb = dy + b * per_image;
        if (relu_y) {
            pynn_activation_kernels(isa)->PYNN_FN(relu_bwd)(per_image, relu_y + b * per_image,
                                                            dyb, masked, 1);
            dyb = masked;
        }
        /* q lies in [0, npix) when neither q nor npix - 1 - q is negative. SSE2 has no 64-bit
         * compare, so `(uint64_t)q >= npix` stayed scalar, a visible share of a 1 -> 30
         * layer's backward. Subtraction and OR vectorise. */
        int64_t signs = 0;
        for (int64_t i = 0; i < per_image; ++i)
            signs |= ib[i] | (npix - 1 - ib[i]);
        if (signs < 0)
            return PYNN_ERR_ARG;
        const real *xb = x + b * x_step;
        for (int64_t ci = 0; ci < g->c; ++ci)
            for (int64_t y = 0; y < g->h; ++y)
                memcpy(pad + ((y + g->ph) * g->c + ci) * cg->row_len + g->pw,
                       xb + (ci * g->h + y) * g->w, (size_t)g->w * sizeof(real));
        desc->PYNN_FN(dw)(cg, pad, dyb, ib, dw_rows);
        if (db_acc)
            for (int64_t oc = 0; oc < cg->o; ++oc)
                db_acc[oc] += desc->PYNN_FN(sum)(dyb + oc * cg->pooled, cg->pooled);
        if (dx) {
            memset(dxpad, 0, (size_t)pad_len * sizeof(real));
            desc->PYNN_FN(dx)(cg, wrows, dyb, ib, dxpad);
            real *dxb = dx + b * x_step;
            for (int64_t ci = 0; ci < g->c; ++ci)
                for (int64_t y = 0; y < g->h; ++y)
                    memcpy(dxb + (ci * g->h + y) * g->w,
                           dxpad + ((y + g->ph) * g->c + ci) * cg->row_len + g->pw,
                           (size_t)g->w * sizeof(real));
        }
    }
    return PYNN_OK;
}

/* The weights of use_dx_rows's convolution of dy (o x c x kh x kw as c x o x kh x kw):
 * channel ci of its output takes tap (oc, i, j) of dy from w[oc][ci][kh - 1 - i][kw - 1 - j].
 * NULL when out of memory. */
static real *PYNN_FN(flipped_weights)(const pynn_conv_geom *g, int64_t o, const real *w)
{
    real *wt = pynn_alloc_n(pynn_size_mul(g->c, o * g->kh * g->kw), sizeof(real), 0);
    const int64_t taps = g->kh * g->kw;
    for (int64_t ci = 0; wt && ci < g->c; ++ci)
        for (int64_t oc = 0; oc < o; ++oc)
            for (int64_t t = 0; t < taps; ++t)
                wt[(ci * o + oc) * taps + t] = w[(oc * g->c + ci) * taps + taps - 1 - t];
    return wt;
}

/* dx := the input gradient as the stride-1 convolution of dy (use_dx_rows's geometry tg) with
 * the filters flipped: by Winograd's (wino: pynn_winograd_pays(tg, c)) or the image-read
 * forward. */
static int PYNN_FN(dx_by_convolution)(const pynn_conv_geom *g, const pynn_conv_geom *tg,
                                      int64_t n, int64_t o, const real *w, const real *dy,
                                      int wino, real *dx, int isa, int n_threads)
{
    real *wt = PYNN_FN(flipped_weights)(g, o, w);
    int status = PYNN_ERR_NOMEM;
    if (wt && wino)
        status = PYNN_FN(pynn_winograd_conv)(tg, n, g->c, dy, wt, NULL, 0, dx, isa, n_threads);
    else if (wt)
        status = PYNN_FN(rows_forward)(tg, n, g->c, dy, wt, NULL, 0, NULL, dx, NULL, isa,
                                       n_threads);
    pynn_free(wt);
    return status;
}

/* Whether the len values of x are all finite. The argmax kernels read x only where the pooled
 * gradient lands; a NaN or inf elsewhere must still meet the unpooled gradient's zeros and
 * make dw NaN (0 * inf), as PyTorch's dense backward does, so such an x takes the chunks. */
static int PYNN_FN(all_finite)(int64_t len, const real *x)
{
    /* Each sum stays 0 unless some x[i] * 0 is NaN, so their order is irrelevant: four
     * streams of x, each summed in vectors, as one vector's chain of adds waits on its own
     * latency. */
    const int64_t q = len / 4;
    real z0 = 0, z1 = 0, z2 = 0, z3 = 0;
    PYNN_SIMD(reduction(+ : z0, z1, z2, z3))
    for (int64_t i = 0; i < q; ++i) {
        z0 += x[i] * 0;
        z1 += x[q + i] * 0;
        z2 += x[2 * q + i] * 0;
        z3 += x[3 * q + i] * 0;
    }
    for (int64_t i = 4 * q; i < len; ++i)
        z0 += x[i] * 0;
    return z0 + z1 + z2 + z3 == 0;
}

/* The weights w (o x c*kh*kw) as the argmax kernels lay them out: patch rows r = i * c + ci
 * of nv * lanes values, zero past kw. NULL when out of memory. */
static real *PYNN_FN(argmax_wrows)(const pynn_conv_geom *g, const pynn_conv_pool_geom *cg,
                                   int lanes, const real *w)
{
    const int64_t row = cg->nv * lanes, per_oc = cg->rows * row;
    real *wrows = pynn_alloc_n(pynn_size_mul(cg->o, per_oc), sizeof(real), 1);
    if (!wrows)
        return NULL;
    for (int64_t oc = 0; oc < cg->o; ++oc)
        for (int64_t ci = 0; ci < g->c; ++ci)
            for (int64_t i = 0; i < g->kh; ++i)
                memcpy(wrows + oc * per_oc + (i * g->c + ci) * row,
                       w + ((oc * g->c + ci) * g->kh + i) * g->kw,
                       (size_t)g->kw * sizeof(real));
    return wrows;
}

/* dw := the sum over `teams` consecutive weight gradients in argmax_wrows's layout, in team
 * order (so that the result does not depend on scheduling). */
static void PYNN_FN(argmax_dw_from_rows)(const pynn_conv_geom *g, const pynn_conv_pool_geom *cg,
                                         int lanes, const real *dw_rows, int64_t teams,
                                         real *dw)
{
    const int64_t row = cg->nv * lanes, per_oc = cg->rows * row, per_team = cg->o * per_oc;
    for (int64_t oc = 0; oc < cg->o; ++oc)
        for (int64_t ci = 0; ci < g->c; ++ci)
            for (int64_t i = 0; i < g->kh; ++i) {
                real *dst = dw + ((oc * g->c + ci) * g->kh + i) * g->kw;
                const real *src = dw_rows + oc * per_oc + (i * g->c + ci) * row;
                for (int64_t k = 0; k < g->kw; ++k) {
                    real sum = src[k];
                    for (int64_t t = 1; t < teams; ++t)
                        sum += src[t * per_team + k];
                    dst[k] = sum;
                }
            }
}

/* The backward of a layer the Winograd forward takes (pynn_winograd_pays), no pooling, no
 * ReLU: dw by its products, db the sums of dy's planes, dx (unless NULL; geometry tg, from
 * use_dx_rows) by the same forward on dy with the filters flipped. */
static int PYNN_FN(winograd_backward)(const pynn_conv_geom *g, int64_t n, int64_t o,
                                      const real *x, const real *w, const real *dy,
                                      const pynn_conv_geom *tg, real *dx, real *dw, real *db,
                                      int isa, int n_threads)
{
    int status = PYNN_FN(pynn_winograd_dw)(g, n, o, x, dy, dw, isa, n_threads);
    if (status == PYNN_OK && db) {
        const pynn_conv_pool_desc *desc = pynn_conv_pool_kernels(isa);
        const int64_t npix = g->oh * g->ow;
        for (int64_t oc = 0; oc < o; ++oc) {
            double sum = 0;
            for (int64_t b = 0; b < n; ++b)
                sum += desc->PYNN_FN(sum)(dy + (b * o + oc) * npix, npix);
            db[oc] = (real)sum;
        }
    }
    if (status == PYNN_OK && dx)
        status = PYNN_FN(dx_by_convolution)(g, tg, n, o, w, dy, 1, dx, isa, n_threads);
    return status;
}

/* The backward with the weight gradient by dw_oc (oc_kernels_fit): each team member sums its share
 * of the images into its own copy of dw in dw_oc's layout (dy transposed image by image), the
 * copies summed in team order; db the sums of dy's planes; dx (unless NULL; geometry tg, from
 * use_dx_rows) the convolution of dy with the filters flipped. A ReLU's mask (relu_y) is
 * applied to dy first. Like PyTorch's, the sums leave out the padding, so an inf in dy does
 * not make the padded taps' gradients NaN. */
static int PYNN_FN(oc_backward)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                                const real *w, const real *dy, const real *relu_y,
                                const pynn_conv_geom *tg, int dx_wino, real *dx, real *dw,
                                real *db, int isa, int n_threads)
{
    const pynn_conv_pool_desc *desc = pynn_conv_pool_kernels(isa);
    const int64_t bl = sizeof(real) == sizeof(float) ? desc->oc_block_f32 : desc->oc_block_f64;
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    const int64_t x_step = g->c * g->h * g->w, y_step = o * npix;
    const int64_t padded_o = pynn_ceil_div(o, bl) * bl, sums_len = padded_o * kdim;
    const int64_t teams = n_threads; /* oc_kernels_fit (rows_fit): at least as many images */
    /* Images a call of dw_oc: its sums leave registers once a call; their padded images and
     * transposed dy are read once per block of taps, from L2 while they fill half of it. */
    const int64_t pad_len = rows_pad_len(g, 0);
    const int64_t l2 = pynn_cpu_caches()->l2.size;
    const int64_t per_image = (pad_len + padded_o * npix) * (int64_t)sizeof(real);
    const int64_t chunk = PYNN_MAX(1, PYNN_MIN(pynn_ceil_div(n, teams),
                                               l2 > 0 ? l2 / 2 / per_image : 1));
    int64_t *tap_off = pynn_alloc_n(kdim + 2 * g->oh, sizeof(int64_t), 0);
    real *sums = pynn_alloc_n(pynn_size_mul(teams, sums_len), sizeof(real), 1);
    double *db_acc = db ? pynn_alloc_n(pynn_size_mul(teams, o), sizeof(double), 1) : NULL;
    real *masked = relu_y ? pynn_alloc_n(pynn_size_mul(n, y_step), sizeof(real), 0) : NULL;
    int status = PYNN_OK;
    if (!tap_off || !sums || (db && !db_acc) || (relu_y && !masked)) {
        status = PYNN_ERR_NOMEM;
        goto done;
    }
    if (relu_y) {
        pynn_activation_kernels(isa)->PYNN_FN(relu_bwd)(n * y_step, relu_y, dy, masked,
                                                        n_threads);
        dy = masked;
    }
    const pynn_conv_rows_geom rg = oc_geom(g, o, npix, tap_off);
    PYNN_OMP(parallel num_threads(n_threads) if (n_threads > 1))
    {
        /* The runtime may give fewer threads than asked: the images are split among those
         * that came, and the sums of the others stay zero. */
        const int t = pynn_thread_id(), nt = pynn_team_size();
        real *pad = pynn_alloc_n(pynn_size_mul(chunk, pad_len), sizeof(real), 1);
        real *dyt = pynn_alloc_n(pynn_size_mul(chunk, padded_o * npix), sizeof(real), 1);
        real *mine = sums + t * sums_len;
        const int64_t end = n * (t + 1) / nt;
        for (int64_t b0 = n * t / nt; pad && dyt && b0 < end; b0 += chunk) {
            const int64_t m = PYNN_MIN(chunk, end - b0);
            if (m < chunk) /* its blocks lie elsewhere: the lanes past o must be zero again */
                memset(dyt, 0, (size_t)(chunk * padded_o * npix) * sizeof(real));
            for (int64_t b = 0; b < m; ++b) {
                const real *dyb = dy + (b0 + b) * y_step;
                rows_pad_copy(g, x + (b0 + b) * x_step, pad + b * pad_len, sizeof(real));
                for (int64_t oc = 0; oc < o; ++oc) {
                    real *to = dyt + ((oc / bl * m + b) * npix) * bl + oc % bl;
                    for (int64_t p = 0; p < npix; ++p)
                        to[p * bl] = dyb[oc * npix + p];
                    if (db_acc)
                        db_acc[t * o + oc] += desc->PYNN_FN(sum)(dyb + oc * npix, npix);
                }
            }
            desc->PYNN_FN(dw_oc)(&rg, m, pad_len, pad, dyt, mine);
        }
        if (!pad || !dyt) {
            PYNN_OMP(atomic write)
            status = PYNN_ERR_NOMEM;
        }
        pynn_free(pad);
        pynn_free(dyt);
    }
    if (status != PYNN_OK)
        goto done;
    for (int64_t oc = 0; oc < o; ++oc) {
        const real *block = sums + oc / bl * bl * kdim + oc % bl;
        for (int64_t ci = 0, k = 0; ci < g->c; ++ci)
            for (int64_t i = 0; i < g->kh; ++i)
                for (int64_t j = 0; j < g->kw; ++j, ++k) {
                    const int64_t at = ((i * g->c + ci) * g->kw + j) * bl;
                    real sum = block[at];
                    for (int64_t tm = 1; tm < teams; ++tm)
                        sum += block[tm * sums_len + at];
                    dw[oc * kdim + k] = sum;
                }
    }
    for (int64_t oc = 0; db && oc < o; ++oc) {
        double sum = 0;
        for (int64_t tm = 0; tm < teams; ++tm)
            sum += db_acc[tm * o + oc];
        db[oc] = (real)sum;
    }
    if (dx)
        status = PYNN_FN(dx_by_convolution)(g, tg, n, o, w, dy, dx_wino, dx, isa, n_threads);
done:
    pynn_free(tap_off);
    pynn_free(sums);
    pynn_free(db_acc);
    pynn_free(masked);
    return status;
}

int PYNN_FN(pynn_conv2d_bwd)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                             const real *w, const pynn_pool_geom *pool, const real *dy,
                             const real *relu_y, const int64_t *idx, real *dx, real *dw,
                             real *db, int isa, int n_threads)
{
    int64_t kdim, npix, x_step, y_step;
    if (conv_sizes(g, n, o, pool, &kdim, &npix, &x_step, &y_step) != PYNN_OK)
        return PYNN_ERR_NOMEM;
    const int64_t teams = n < n_threads ? 1 : n_threads;
    const pynn_conv_pool_desc *desc = pynn_conv_pool_kernels(isa);
    const int lanes = sizeof(real) == sizeof(float) ? desc->lanes_f32 : desc->lanes_f64;
    /* The argmax kernels replace the chunks (unpooling, im2col, GEMMs and col2im). */
    const int argmax = pool && use_argmax_kernels(g, pynn_size_mul(pool->oh, pool->ow), lanes) &&
                       PYNN_FN(all_finite)(n * x_step, x);
    pynn_conv_pool_geom cg;
    int64_t pad_len = 0, pad_total = 0;
    /* Per-thread accumulators for dw and db, summed in a fixed order afterwards so the result
     * does not depend on scheduling. The chunks' first team member uses dw itself unless they
     * accumulate dw transposed (then every member has one in dw_extra); the argmax kernels
     * accumulate in their own layout, dw_rows, one per team. */
    int64_t rows_len = 0;
    /* Or the image-read weight gradient: each team member's vectors of partial sums, o x kdim
     * x lanes, then summed in team and lane order. */
    const int64_t rows_reads = pynn_size_add(
        pynn_size_mul(pynn_size_mul(g->c, pynn_size_add(g->h, pynn_size_mul(2, g->ph))),
                      pynn_size_add(g->w, pynn_size_mul(2, g->pw))),
        pynn_size_mul(3, npix));
    const int rows = !argmax && use_rows(g, o, kdim, teams, n_threads) && rows_reads >= 0 &&
                     rows_reads <= PYNN_CONV_ROWS_DW_MAX_VALUES;
    /* The input gradient as a convolution of dy (use_dx_rows), after the chunks, which then
     * leave it out. */
    pynn_conv_geom tg;
    const int dx_rows = dx && !pool && use_dx_rows(g, o, teams, n_threads, &tg);
    /* That convolution is 3x3 and stride 1 when the layer's is: Winograd's where it pays. */
    const int dx_wino = dx_rows && pynn_winograd_pays(&tg, g->c);
    /* The layer's own Winograd products give the weight gradient too, where its forward
     * takes them and the input gradient does (or is not asked for). */
    if (!pool && !relu_y && (!dx || dx_wino) && pynn_winograd_pays(g, o))
        return PYNN_FN(winograd_backward)(g, n, o, x, w, dy, &tg, dx, dw, db, isa, n_threads);
    /* Or dw_oc's weight gradient, with the input gradient by rows or not asked for, at either
     * stride (its sums stay in registers over whole rows, so narrow rows need no limit). It
     * leaves out the padded kernel rows that im2col's columns carry as zeros, and the columns
     * themselves: every layer measured (3x3 on 7x7 to 14x14, 5x5 on 12x12 to 28x28, stride 2
     * on 8x8 and 14x14; Zen 4, AVX-512 and AVX2) took less time than by the chunks or the flat
     * kernel, 64 -> 128 on 7x7 a fifth. */
    if (!pool && !rows && (!dx || dx_rows) &&
        oc_kernels_fit(g, o, kdim, desc, sizeof(real), teams, n_threads))
        return PYNN_FN(oc_backward)(g, n, o, x, w, dy, relu_y, &tg, dx_wino, dx, dw, db, isa,
                                    n_threads);
    real *const dx_chunk = dx_rows ? NULL : dx;
    /* Or the flat weight gradient, when the chunks have nothing else to do. */
    const int64_t vmax = 64 / (int64_t)sizeof(real);
    int64_t nq = 0;
    const int flat = !argmax && !rows && !pool && !dx_chunk &&
                     use_flat_dw(g, npix, vmax, isa, teams, n_threads, &nq) &&
                     PYNN_FN(all_finite)(n * x_step, x);
    /* With the input gradient by rows too, both are taken image by image from one padded dy
     * (dy_stride values an image): dy is laid out once, not twice, and read while cached. */
    const int fused = flat && dx_rows && !dx_wino && use_fused_flat(&tg, nq);
    real *const dx_pass = fused ? dx : dx_chunk;
    const int64_t dy_stride = fused ? o * (tg.h + 2 * tg.ph) * pad_row(&tg) : 0;
    const int64_t sums_len = rows ? o * kdim * lanes : 0;
    const int64_t rows_pad = flat ? PYNN_CONV_FLAT_IMAGES * rows_pad_len(g, vmax)
                             : rows && (g->ph || g->pw) ? rows_pad_len(g, 0)
                                                        : 0;
    real *sums = rows ? pynn_alloc_n(pynn_size_mul(teams, sums_len), sizeof(real), 1) : NULL;
    int64_t *tap_off = rows || flat ? pynn_alloc_n(kdim, sizeof(int64_t), 0) : NULL;
    const int dw_t = !argmax && !rows && !flat && dw_transposed(o, kdim);
    const int64_t dyf_len =
        fused  ? (PYNN_CONV_FLAT_IMAGES - 1) * dy_stride +
                    rows_pad_len(&tg, tg.ph * pad_row(&tg) + vmax)
        : flat ? PYNN_CONV_FLAT_IMAGES * o * nq
               : 0;
    const int64_t nb = flat ? PYNN_MIN(PYNN_CONV_FLAT_IMAGES, pynn_ceil_div(n, teams))
                            : chunk_images(n, npix, kdim, sizeof(real), teams);
    const int64_t chunks = pynn_ceil_div(n, nb);
    const int64_t n_extra = argmax || rows ? 0 : dw_t ? teams : teams - 1;
    real *dw_extra =
        n_extra > 0 ? pynn_alloc_n(pynn_size_mul(n_extra, pynn_size_mul(o, kdim)), sizeof(real), 0)
                    : NULL;
    double *db_acc = db ? pynn_alloc_n(pynn_size_mul(teams, o), sizeof(double), 0) : NULL;
    int64_t *pos_off = argmax ? pynn_alloc_n(npix, sizeof(int64_t), 0) : NULL;
    real *dw_rows = NULL, *wrows = NULL, *masked_dy = NULL, *wt = NULL;
    PYNN_FN(rows_plan) dxp = {0};
    int status = PYNN_OK;
    if ((n_extra > 0 && !dw_extra) || (db && !db_acc) ||
        (argmax && !pos_off) || (rows && (!sums || !tap_off)) || (flat && !tap_off)) {
        status = PYNN_ERR_NOMEM;
        goto done;
    }
    /* Unpooled chunks mask dy as they copy it into their layout; unpooling reads it through
     * the argmax, and the input gradient's convolution reads dy itself, so for those dy is
     * masked once first. */
    const int mask_first = relu_y && ((pool && !argmax) || dx_rows);
    const real *chunk_relu = pool || mask_first ? NULL : relu_y;
    if (mask_first) {
        if (!(masked_dy = pynn_alloc_n(n * y_step, sizeof(real), 0))) {
            status = PYNN_ERR_NOMEM;
            goto done;
        }
        pynn_activation_kernels(isa)->PYNN_FN(relu_bwd)(n * y_step, relu_y, dy, masked_dy,
                                                        n_threads);
        dy = masked_dy;
    }
    if (argmax) {
        cg = argmax_geom(g, o, pool->oh * pool->ow, lanes, pos_off, &pad_len);
        /* argmax_images's room: the padded image, the padded dx, one image's masked dy */
        pad_total = pynn_size_add(pynn_size_mul(dx ? 2 : 1, pad_len), relu_y ? y_step : 0);
        rows_len = pynn_size_mul(pynn_size_mul(o, cg.rows), cg.nv * lanes);
        dw_rows = pynn_alloc_n(pynn_size_mul(teams, rows_len), sizeof(real), 1);
        if (dx)
            wrows = PYNN_FN(argmax_wrows)(g, &cg, lanes, w);
        if (!dw_rows || (dx && !wrows)) {
            status = PYNN_ERR_NOMEM;
            goto done;
        }
    } else {
        memset(dw, 0, (size_t)(o * kdim) * sizeof(real));
    }
    if (dw_extra)
        memset(dw_extra, 0, (size_t)(n_extra * o * kdim) * sizeof(real));
    if (db_acc)
        memset(db_acc, 0, (size_t)(teams * o) * sizeof(double));
    pynn_conv_rows_geom rg = {0};
    if (rows) {
        rg = rows_geom(g, o, npix, 0, tap_off);
    } else if (flat) { /* o rows of nq values */
        rg = rows_geom(g, o, fused ? dy_stride / o : nq, 0, tap_off);
        rg.ow = nq;
        rg.x_row = rows_pad_len(g, vmax);
    }
    if (fused && (!(wt = PYNN_FN(flipped_weights)(g, o, w)) ||
                  PYNN_FN(rows_plan_init)(&dxp, &tg, g->c, wt, isa) != PYNN_OK)) {
        status = PYNN_ERR_NOMEM;
        goto done;
    }

    if (teams == 1) {
        if (argmax) {
            real *pad = pynn_alloc_n(pad_total, sizeof(real), 1);
            status = pad ? PYNN_FN(argmax_images)(g, &cg, desc, isa, x, dy, relu_y, idx, wrows, 0,
                                                  n, pad, pad_len, dw_rows, db_acc, dx)
                         : PYNN_ERR_NOMEM;
            pynn_free(pad);
        } else {
            PYNN_FN(conv_scratch) s;
            PYNN_FN(rows_dw) r = {rg, desc, sums, NULL, NULL, fused ? &dxp : NULL, &tg, dy_stride};
            if (PYNN_FN(scratch_alloc)(&s, kdim, o, npix, nb, pool || chunk_relu) != PYNN_OK ||
                (rows_pad && !(r.pad = pynn_alloc_n(rows_pad, sizeof(real), 1))) ||
                (flat && !(r.dyf = pynn_alloc_n(dyf_len, sizeof(real), 1))))
                status = PYNN_ERR_NOMEM;
            for (int64_t i = 0; i < n && status == PYNN_OK; i += nb)
                status = PYNN_FN(backward_chunk)(
                    g, o, x + i * x_step, PYNN_MIN(nb, n - i), w, pool, dy + i * y_step,
                    chunk_relu ? chunk_relu + i * y_step : NULL, idx ? idx + i * y_step : NULL,
                    dx_pass ? dx_pass + i * x_step : NULL, dw_t ? dw_extra : dw, db_acc,
                    rows || flat ? &r : NULL, &s, isa, n_threads);
            PYNN_FN(scratch_free)(&s);
            pynn_free(r.pad);
            pynn_free(r.dyf);
        }
    } else {
        PYNN_OMP(parallel num_threads((int)teams))
        {
            /* The runtime may give fewer threads than asked (OMP_THREAD_LIMIT, OMP_DYNAMIC):
             * the images are split among those that came, so none is skipped. */
            const int t = pynn_thread_id(), nt = pynn_team_size();
            double *db_mine = db_acc ? db_acc + t * o : NULL;
            int mine = PYNN_OK;
            if (argmax) {
                real *pad = pynn_alloc_n(pad_total, sizeof(real), 1);
                mine = pad ? PYNN_FN(argmax_images)(g, &cg, desc, isa, x, dy, relu_y, idx, wrows,
                                                    n * t / nt, n * (t + 1) / nt, pad,
                                                    pad_len, dw_rows + t * rows_len, db_mine,
                                                    dx)
                           : PYNN_ERR_NOMEM;
                pynn_free(pad);
            } else { /* every thread reaches the worksharing loop */
                real *dw_mine = dw;
                if (dw_t)
                    dw_mine = dw_extra + t * o * kdim;
                else if (!rows && t > 0)
                    dw_mine = dw_extra + (t - 1) * o * kdim;
                PYNN_FN(conv_scratch) s;
                PYNN_FN(rows_dw) r = {rg,   desc, rows ? sums + t * sums_len : NULL,
                                      NULL, NULL, fused ? &dxp : NULL,
                                      &tg,  dy_stride};
                mine = PYNN_FN(scratch_alloc)(&s, kdim, o, npix, nb, pool || chunk_relu);
                if (mine == PYNN_OK &&
                    ((rows_pad && !(r.pad = pynn_alloc_n(rows_pad, sizeof(real), 1))) ||
                     (flat && !(r.dyf = pynn_alloc_n(dyf_len, sizeof(real), 1)))))
                    mine = PYNN_ERR_NOMEM;
                PYNN_OMP(for schedule(static))
                for (int64_t c = 0; c < chunks; ++c)
                    if (mine == PYNN_OK)
                        mine = PYNN_FN(backward_chunk)(
                            g, o, x + c * nb * x_step, PYNN_MIN(nb, n - c * nb), w, pool,
                            dy + c * nb * y_step,
                            chunk_relu ? chunk_relu + c * nb * y_step : NULL,
                            idx ? idx + c * nb * y_step : NULL,
                            dx_pass ? dx_pass + c * nb * x_step : NULL, dw_mine, db_mine,
                            rows || flat ? &r : NULL, &s, isa, 1);
                PYNN_FN(scratch_free)(&s);
                pynn_free(r.pad);
                pynn_free(r.dyf);
            }
            if (mine != PYNN_OK) {
                PYNN_OMP(atomic write)
                status = mine;
            }
        }
        for (int64_t t = 1; t < teams && dw_extra && !dw_t; ++t) {
            const real *part = dw_extra + (t - 1) * o * kdim;
            for (int64_t i = 0; i < o * kdim; ++i)
                dw[i] += part[i];
        }
    }
    if (dw_t && status == PYNN_OK) {
        for (int64_t oc = 0; oc < o; ++oc)
            for (int64_t i = 0; i < kdim; ++i) {
                real sum = 0;
                for (int64_t t = 0; t < teams; ++t)
                    sum += dw_extra[(t * kdim + i) * o + oc];
                dw[oc * kdim + i] = sum;
            }
    }
    if (argmax && status == PYNN_OK)
        PYNN_FN(argmax_dw_from_rows)(g, &cg, lanes, dw_rows, teams, dw);
    if (rows && status == PYNN_OK) {
        for (int64_t i = 0; i < o * kdim; ++i) {
            real sum = 0;
            for (int64_t t = 0; t < teams; ++t)
                for (int64_t l = 0; l < lanes; ++l)
                    sum += sums[t * sums_len + i * lanes + l];
            dw[i] = sum;
        }
    }
    if (db && status == PYNN_OK) {
        for (int64_t oc = 0; oc < o; ++oc) {
            double sum = 0;
            for (int64_t t = 0; t < teams; ++t)
                sum += db_acc[t * o + oc];
            db[oc] = (real)sum;
        }
    }
    if (dx_rows && !fused && status == PYNN_OK)
        status = PYNN_FN(dx_by_convolution)(g, &tg, n, o, w, dy, dx_wino, dx, isa, n_threads);
done:
    pynn_free(wt);
    PYNN_FN(rows_plan_free)(&dxp);
    pynn_free(sums);
    pynn_free(tap_off);
    pynn_free(masked_dy);
    pynn_free(wrows);
    pynn_free(dw_rows);
    pynn_free(dw_extra);
    pynn_free(db_acc);
    pynn_free(pos_off);
    return status;
}

#endif
