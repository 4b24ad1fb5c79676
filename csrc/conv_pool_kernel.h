/* The weight and input gradients of a convolution whose output is max-pooled, driven by the
 * pooling's argmax, for one image at a time; and the weight gradient of a plain one read from
 * the image (pynn_conv_rows_geom below). Private to conv.c; conv_pool_kernel.c is
 * compiled once per instruction set, as gemm_kernel.c is, and exports
 * pynn_conv_pool_desc_<isa>.
 *
 * Only the convolution outputs that the pooling selected receive a gradient. With dy the
 * gradient of the pooled output and q = idx[oc][p] the position pooled value p came from:
 *
 *   dw[oc]    += sum_p dy[oc][p] * patch(q)
 *   patch(q)  += sum_oc sum_p with idx[oc][p] = q of dy[oc][p] * w[oc]   (in dx)
 *
 * A 2x2 pooling leaves a quarter of the products of the dense dY cols^T and W^T dY, with no
 * column matrix, no unpooled gradient and no col2im.
 *
 * Patches are read from a zero-padded copy of the image whose rows interleave the channels
 * (row y of channel ci starts at (y * c + ci) * row_len), with dilation 1, so that patch row
 * r = i * c + ci (kernel row i of channel ci) starts r * row_len past the patch's first value,
 * pos_off[q] for convolution output q, and holds kw contiguous values. Each row is taken as
 * nv whole vectors of `lanes` values: the padded image needs nv * lanes - kw readable values
 * of slack past its end, and the lanes past kw multiply neighbouring values into sums that
 * are discarded. The input gradient is added into a zero-filled image of the same layout,
 * through the weights laid out as patch rows (o x rows x nv * lanes, row r = i * c + ci, zero
 * past kw): the zero lanes add nothing to the neighbours of a patch. */
#ifndef PYNN_CONV_POOL_KERNEL_H
#define PYNN_CONV_POOL_KERNEL_H

#include "pynn_common.h"

typedef struct {
    int64_t o;        /* output channels: dy and idx are o x pooled */
    int64_t pooled;   /* pooled positions per output plane */
    int64_t kh, kw;   /* the kernel; patches have c * kh rows */
    int64_t rows;     /* c * kh */
    int64_t nv;       /* vectors per patch row: ceil(kw / lanes), at most PYNN_CONV_POOL_MAX_NV */
    int64_t row_len;  /* of the padded image */
    const int64_t *pos_off; /* one entry per convolution output position */
} pynn_conv_pool_geom;

#define PYNN_CONV_POOL_MAX_NV 2

/* The weight gradient of one image of a convolution with stride 1 along the width, from the
 * image itself rather than its column matrix: tap t = (ci * kh + i) * kw + j reads, for
 * output row oy, the ow contiguous values at x + tap_off[t] + oy * x_row (x_row = sh times the
 * image's row length; the caller zero-pads the image when the convolution pads). dy holds the
 * image's o planes of oh x ow values, oc_step apart. acc holds o x taps vectors of lanes
 * partial sums, to which the image's products are added (the caller sums the lanes once at
 * the end, so that images add no reductions). A row's ow values are taken in whole vectors,
 * and its last ones with the lanes past ow zero in both operands (dw_rows below). */
typedef struct {
    int64_t o, taps, oh, ow;
    int64_t oc_step;        /* between output-channel planes: of dy, or of y (forward) */
    int64_t x_row;          /* between the image rows of successive output rows */
    int64_t flat_row;       /* forward only: 0, or the outputs taken as one row (below) */
    const int64_t *tap_off; /* taps entries */
    int64_t sw;             /* along the width: 1, or 2 in fwd_oc */
    /* fwd_oc without flat_row, and dw_oc: output row oy takes taps row_taps[2 oy] to
     * row_taps[2 oy + 1], the kernel rows that do not fall in the padding (the taps are ordered
     * kernel row first, kernel_row_taps of them a kernel row) */
    const int64_t *row_taps;
    int64_t kernel_row_taps;
} pynn_conv_rows_geom;

#define PYNN_CONV_POOL_KERNELS(K, real, sfx)                                                       \
    /* dwrows (the weight gradient as patch rows, the layout of wrows below) += the weight         \
     * gradient of one image; the lanes past kw receive sums to discard. Whole vectors are         \
     * added, so that a pass's accumulators leave registers in a few instructions (scattered       \
     * value by value into the weights' layout, they took a sixth of the 6 -> 16 layer's weight    \
     * gradient). The indices must select convolution outputs (the caller checks them). */         \
    K(void, dw, (const pynn_conv_pool_geom *g, const real *xpad, const real *dy,                   \
                 const int64_t *idx, real *dwrows))                                                \
    /* dxpad (the padded, channel-interleaved layout of xpad) += the input gradient of one         \
     * image, from wrows, the weights as patch rows. Indices as for dw. */                         \
    K(void, dx, (const pynn_conv_pool_geom *g, const real *wrows, const real *dy,                  \
                 const int64_t *idx, real *dxpad))                                                 \
    /* The image-read weight gradient above, in vectors of lanes_f32 / lanes_f64 values. */        \
    K(void, dw_rows, (const pynn_conv_rows_geom *g, const real *x, const real *dy, real *acc))     \
    /* The same as one long row in the ISA's full-width vectors, summed at once, over oh images:   \
     * dw (o x taps) += the products of dy's o rows of ow values (oc_step apart; ow a multiple     \
     * of 64 bytes' values) with the ow values at x + tap_off[t] of each tap; image i's rows at    \
     * dy + i o oc_step and x + i x_row. */                                                        \
    K(void, dw_flat, (const pynn_conv_rows_geom *g, const real *x, const real *dy, real *dw))      \
    /* The forward of one image of such a convolution, from the image itself: y's o planes of      \
     * oh x ow values, oc_step apart, := relu?(conv + bias) (bias NULL: none; relu keeps NaN).     \
     * Each row is computed in whole vectors, so the image needs lanes - 1 readable values of      \
     * slack past its end; only the row's ow values are stored. With flat_row (stride 1,           \
     * x_row = flat_row >= ow), the (oh - 1) flat_row + ow outputs are instead computed as one     \
     * row read from the image at flat position q = oy flat_row + ox, and those with ox < ow       \
     * stored at (oy, ox) of y's planes; the rest are dropped. wpack holds the weights in          \
     * blocks of 4 output channels, taps x 4 values each (w[oc][t] at                              \
     * wpack[oc / 4 * taps * 4 + t * 4 + oc % 4]), zero past o. */                                 \
    K(void, fwd_rows, (const pynn_conv_rows_geom *g, const real *x, const real *wpack,             \
                       const real *bias, int relu, real *y))                                       \
    /* The same in vectors of wide_lanes_f32 / wide_lanes_f64 values (the ISA's own). */           \
    K(void, fwd_rows_wide, (const pynn_conv_rows_geom *g, const real *x, const real *wpack,        \
                            const real *bias, int relu, real *y))                                  \
    /* The same with output channels in the lanes (conv_oc.h), in the ISA's own vectors:           \
     * wpack holds the weights in blocks of oc_block_f32 / oc_block_f64 output channels, taps x    \
     * block values each (w[oc][t] at wpack[oc / B * taps * B + t * B + oc % B] for blocks of B),  \
     * zero past o. With flat_row, it reads up to a block's third of positions past the flat       \
     * row's end: the image needs as many readable values of slack past its end. Without, a row's  \
     * positions are taken in blocks that end at its end, sw (1 or 2) values apart in the image,   \
     * and each row with its row_taps only. */                                                     \
    K(void, fwd_oc, (const pynn_conv_rows_geom *g, const real *x, const real *wpack,               \
                     const real *bias, int relu, real *y))                                         \
    /* The weight gradient of `images` images that way round: sums (wpack's layout: block k of     \
     * B output channels at sums + k B taps) += the products of dyt, their dy with the channels    \
     * in blocks of B, position by position (block k, image b: oh ow positions x B values at       \
     * dyt + (k images + b) B oh ow; zero past o), with their padded images (x + b x_image),       \
     * stride sw along the width, each output row with its row_taps only. */                       \
    K(void, dw_oc, (const pynn_conv_rows_geom *g, int64_t images, int64_t x_image, const real *x,  \
                    const real *dyt, real *sums))                                                  \
    /* The 2x2, stride-2, unpadded max-pooling of a plane whose rows are w values apart (w <      \
     * INT32_MAX): y (oh x ow) := the window maxima and idx := their flat positions in the plane,  \
     * by pool.h's rule (the first maximum, or the last NaN). pool.c's planes take it. */          \
    K(void, maxpool_2x2, (const real *x, int64_t w, int64_t oh, int64_t ow, real *y,               \
                          int64_t *idx))                                                           \
    /* pynn_sum (pynn_math.h) at the ISA's width: conv.c's bias gradients sum whole planes of dy,  \
     * which its portable build summed two doubles at a time. */                                   \
    K(double, sum, (const real *x, int64_t n))

typedef struct {
    int lanes_f32, lanes_f64; /* of the kernels' vectors: 256 bits in the AVX-512 build */
    int wide_lanes_f32, wide_lanes_f64; /* of dw_flat's and fwd_rows_wide's: the ISA's own */
    int oc_block_f32, oc_block_f64;     /* output channels a block of fwd_oc's weights */
    int oc_tile;      /* positions a block of fwd_oc: at most this many */
    int oc_tile_step; /* with flat_row, the last block's positions are a multiple of this */
    PYNN_DESC_FIELDS(PYNN_CONV_POOL_KERNELS)
} pynn_conv_pool_desc;

PYNN_DECLARE_DESCS(conv_pool)

#endif
