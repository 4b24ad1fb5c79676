/* 3x3 convolutions with stride 1 and no dilation by Winograd's minimal filtering F(2x2, 3x3)
 * (winograd_kernel.h has the algebra): conv.c's forward where pynn_winograd_pays, and the
 * input gradient of such a layer, itself a 3x3 stride-1 convolution of dy with the filters
 * flipped, where that one pays. Private to conv.c.
 *
 * The outputs are taken in 2x2 tiles, numbered image by image, row by row; blocks of tiles
 * (whole images, or whole tile rows of a large one) are shared among the threads, and each
 * thread runs its blocks alone: the input transform of a block (16 matrices of c x tiles),
 * 16 single-threaded GEMMs with the transformed filters (o x c each, made once a call) into 16
 * matrices of o x tiles, and the output transform into y. Every tile is computed the same way
 * whatever the thread count, so results repeat bit for bit. */
#ifndef PYNN_WINOGRAD_H
#define PYNN_WINOGRAD_H

#include "im2col.h"

#define PYNN_WINOGRAD_CONV_KERNELS(K, real, sfx)                                                   \
    /* y := relu?(conv(x, w) + b) (b may be NULL), as pynn_conv2d_fwd without pooling; g must     \
     * satisfy pynn_winograd_pays. Returns PYNN_OK or PYNN_ERR_NOMEM. */    \
    K(int, pynn_winograd_conv, (const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,      \
                                const real *w, const real *b, int relu, real *y, int isa,          \
                                int n_threads))                                                                                                   \
    /* dw (o x c x 3 x 3) := the weight gradient of that convolution given dy (n x o x oh x ow):   \
     * U = G g G^T's gradient summed over the tiles, dU[xi] = (A dY A^T)[xi] (o x tiles) times     \
     * (B^T d B)[xi]^T (tiles x c), then G^T dU G. Each thread sums its blocks' dU, added in       \
     * thread order: the same bits at one thread count. PYNN_OK or PYNN_ERR_NOMEM. */              \
    K(int, pynn_winograd_dw, (const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,        \
                              const real *dy, real *dw, int isa, int n_threads))

PYNN_DECLARE_PROTOS(PYNN_WINOGRAD_CONV_KERNELS)

/* Whether g (o output channels) runs this way: a 3x3 window, stride 1, no dilation (the only
 * geometry F(2x2, 3x3) computes), and channels and output width enough that it pays
 * (winograd.c has the measured bounds). */
int pynn_winograd_pays(const pynn_conv_geom *g, int64_t o);

#endif
