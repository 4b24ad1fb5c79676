/* im2col / col2im for one NCHW image.
 *
 * Geometry: kernel kh x kw, stride sh x sw, zero padding ph x pw, dilation dh x dw;
 * oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1, likewise ow. The caller guarantees oh, ow >= 1.
 * cols is (c * kh * kw) x (oh * ow), row-major: row (ci * kh + i) * kw + j, column oy * ow + ox
 * holds x[ci, oy * sh - ph + i * dh, ox * sw - pw + j * dw], zero where that is padding. */
#ifndef PYNN_IM2COL_H
#define PYNN_IM2COL_H

#include "pynn_common.h"

typedef struct {
    int64_t c, h, w;        /* input channels and size */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    int64_t oh, ow;         /* output size, from the formula above */
} pynn_conv_geom;

#define PYNN_IM2COL_KERNELS(K, real, sfx)                                                          \
    /* Fill cols (every element of its oh * ow columns written) from image x (c x h x w,           \
     * contiguous). Row r of cols starts at cols + r * ld (ld >= oh * ow), so several images can   \
     * sit side by side in one wider matrix. */                                                    \
    K(void, pynn_im2col, (const pynn_conv_geom *g, const real *x, real *cols, int64_t ld))         \
    /* x := sum of cols scattered back (x is zero-filled first, so it may hold garbage); cols      \
     * rows ld apart as above. */                                                                  \
    K(void, pynn_col2im, (const pynn_conv_geom *g, const real *cols, int64_t ld, real *x))         \
    /* The same over a batch of n images (x: n x c x h x w, cols: n x rows x cols), parallel over  \
     * images. */                                                                                  \
    K(void, pynn_im2col_batch, (const pynn_conv_geom *g, int64_t n, const real *x, real *cols,     \
                                int n_threads))                                                    \
    K(void, pynn_col2im_batch, (const pynn_conv_geom *g, int64_t n, const real *cols, real *x,     \
                                int n_threads))

PYNN_DECLARE_PROTOS(PYNN_IM2COL_KERNELS)

#endif
