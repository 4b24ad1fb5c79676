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

/* Max pooling; padding acts as -inf. idx receives the flat position iy * w + ix of each
 * maximum within its plane: the first maximum in row-major window order, except that a NaN
 * always wins (the last NaN), as in PyTorch. */
void pynn_maxpool2d_fwd_f32(const pynn_pool_geom *g, const float *x, float *y, int64_t *idx,
                            int n_threads);
void pynn_maxpool2d_fwd_f64(const pynn_pool_geom *g, const double *x, double *y, int64_t *idx,
                            int n_threads);
/* dx := 0, then dx[idx] += dy per plane. Returns PYNN_ERR_ARG if an index lies outside
 * [0, h * w) (that gradient is dropped, nothing outside dx is written), else PYNN_OK. */
int pynn_maxpool2d_bwd_f32(const pynn_pool_geom *g, const float *dy, const int64_t *idx,
                           float *dx, int n_threads);
int pynn_maxpool2d_bwd_f64(const pynn_pool_geom *g, const double *dy, const int64_t *idx,
                           double *dx, int n_threads);

/* The same for one plane (g->planes is not read): x and dx are h x w, y, dy and idx oh x ow.
 * The unpooling returns 0 if an index lies outside the plane, else 1. Convolutions pool their
 * output plane by plane while it is still in cache. */
void pynn_maxpool2d_plane_f32(const pynn_pool_geom *g, const float *x, float *y, int64_t *idx);
void pynn_maxpool2d_plane_f64(const pynn_pool_geom *g, const double *x, double *y,
                              int64_t *idx);
int pynn_maxunpool2d_plane_f32(const pynn_pool_geom *g, const float *dy, const int64_t *idx,
                               float *dx);
int pynn_maxunpool2d_plane_f64(const pynn_pool_geom *g, const double *dy, const int64_t *idx,
                               double *dx);

/* Average pooling: window sum / (kh * kw) when count_include_pad, else / (positions inside
 * the image). */
void pynn_avgpool2d_fwd_f32(const pynn_pool_geom *g, const float *x, int count_include_pad,
                            float *y, int n_threads);
void pynn_avgpool2d_fwd_f64(const pynn_pool_geom *g, const double *x, int count_include_pad,
                            double *y, int n_threads);
/* dx := gradient of the above (zero-filled, then every window adds dy / divisor). */
void pynn_avgpool2d_bwd_f32(const pynn_pool_geom *g, const float *dy, int count_include_pad,
                            float *dx, int n_threads);
void pynn_avgpool2d_bwd_f64(const pynn_pool_geom *g, const double *dy, int count_include_pad,
                            double *dx, int n_threads);

#endif
