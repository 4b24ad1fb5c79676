/* 2-D convolution (cross-correlation, PyTorch's conv2d) as im2col + GEMM.
 *
 * x is n x c x h x w, w is o x (c * kh * kw) (the weight tensor o x c x kh x kw, flattened),
 * y and dy are n x o x oh x ow, all contiguous; geometry as in im2col.h. The column buffer
 * holds one chunk of images per thread, never the whole batch: one image when its output has
 * about 512 pixels or more, else enough images side by side for about 512 columns, so that
 * small layers still get GEMMs large enough to run near peak. A lone 1x1 convolution with
 * stride 1 and no padding multiplies the image itself. With n >= n_threads the chunks are
 * shared among threads (each running a serial GEMM), otherwise each chunk's GEMM is threaded.
 * Layers with stride 1 along the width skip the column matrix where that was measured faster
 * (conv.c: the forward and the stride-1 input gradient read from the padded image, the
 * weight gradient by patch rows for small layers or, with AVX-512, as one long row).
 * Return PYNN_OK or PYNN_ERR_NOMEM (also, before writing anything, for a geometry whose sizes
 * do not fit in int64_t).
 *
 * A max pooling that follows the convolution can run inside it: each chunk's output planes are
 * pooled (and, backward, unpooled) while they are in cache, and the full-size output and its
 * gradient never exist. When the pooling keeps at most half of the outputs, all gradients
 * come from the pooled gradient and its argmax alone (conv_pool_kernel.h), without chunks. */
#ifndef PYNN_CONV_H
#define PYNN_CONV_H

#include "im2col.h"
#include "pool.h"

#define PYNN_CONV_KERNELS(K, real, sfx)                                                            \
    /* y := relu?(conv(x, w) + b); b may be NULL. With `pool` (else NULL), y is that output        \
     * max-pooled, n x o x pool->oh x pool->ow, and idx (same shape) receives the argmax as        \
     * pynn_maxpool2d_fwd gives it; pool->h and pool->w are the convolution's oh and ow. */        \
    K(int, pynn_conv2d_fwd, (const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,         \
                             const real *w, const real *b, int relu, const pynn_pool_geom *pool,   \
                             real *y, int64_t *idx, int isa, int n_threads))                       \
    /* dw := dL/dw (o x c*kh*kw); db := dL/db (o) unless NULL; dx := dL/dx unless NULL. All        \
     * outputs are overwritten (never read). With `pool`, dy is the gradient of the pooled         \
     * output and idx its argmax; PYNN_ERR_ARG if an index lies outside its plane. Unless NULL,    \
     * relu_y is the forward's output (shaped as dy) when it applied ReLU: dy is zeroed where      \
     * it is <= 0 and passes elsewhere (NaN too), as through the relu_bwd kernel. */               \
    K(int, pynn_conv2d_bwd, (const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,         \
                             const real *w, const pynn_pool_geom *pool, const real *dy,            \
                             const real *relu_y, const int64_t *idx, real *dx, real *dw,           \
                             real *db, int isa, int n_threads))

PYNN_DECLARE_PROTOS(PYNN_CONV_KERNELS)

#endif
