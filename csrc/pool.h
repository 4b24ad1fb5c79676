/* 2-D max and average pooling over NCHW, parallel over the n * c planes.
 *
 * Each plane is h x w in, oh x ow out (contiguous); window kh x kw, stride sh x sw, padding
 * ph x pw with ph <= kh / 2 and pw <= kw / 2 (so every window holds at least one real input);
 * oh = (h + 2 ph - kh) / sh + 1, likewise ow. */
#ifndef PYNN_POOL_H
#define PYNN_POOL_H

#include "pynn_common.h"

typedef struct {
    int64_t planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
} pynn_pool_geom;

/* Output columns of a 2x2 row handled per block (its window offsets live on the stack). */
#define PYNN_POOL_ROW_BLOCK 256

#define PYNN_POOL_KERNELS(K, real, sfx)                                                            \
    /* Max pooling; padding acts as -inf. idx receives the flat position iy * w + ix of each       \
     * maximum within its plane: the first maximum in row-major window order, except that a NaN    \
     * always wins (the last NaN), as in PyTorch. */                                               \
    K(void, pynn_maxpool2d_fwd, (const pynn_pool_geom *g, const real *x, real *y, int64_t *idx,    \
                                 int isa, int n_threads))                                          \
    /* dx := 0, then dx[idx] += dy per plane. Returns PYNN_ERR_ARG if an index lies outside        \
     * [0, h * w) (that gradient is dropped, nothing outside dx is written), else PYNN_OK. */      \
    K(int, pynn_maxpool2d_bwd, (const pynn_pool_geom *g, const real *dy, const int64_t *idx,       \
                                real *dx, int n_threads))                                          \
    /* The same for one plane (g->planes is not read): x and dx are h x w, y, dy and idx oh x ow.  \
     * The unpooling returns 0 if an index lies outside the plane, else 1. Convolutions pool their \
     * output plane by plane while it is still in cache. */                                        \
    K(void, pynn_maxpool2d_plane, (const pynn_pool_geom *g, const real *x, real *y,                \
                                   int64_t *idx, int isa))                                         \
    K(int, pynn_maxunpool2d_plane, (const pynn_pool_geom *g, const real *dy, const int64_t *idx,   \
                                    real *dx))                                                     \
    /* Average pooling: window sum / (kh * kw) when count_include_pad, else / (positions inside    \
     * the image). */                                                                              \
    K(void, pynn_avgpool2d_fwd, (const pynn_pool_geom *g, const real *x, int count_include_pad,    \
                                 real *y, int n_threads))                                          \
    /* dx := gradient of the above (zero-filled, then every window adds dy / divisor). */          \
    K(void, pynn_avgpool2d_bwd, (const pynn_pool_geom *g, const real *dy, int count_include_pad,   \
                                 real *dx, int n_threads))

PYNN_DECLARE_PROTOS(PYNN_POOL_KERNELS)

#endif
