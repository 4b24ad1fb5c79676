/* 2-D convolution (cross-correlation, PyTorch's conv2d) as im2col + GEMM.
 *
 * x is n x c x h x w, w is o x (c * kh * kw) (the weight tensor o x c x kh x kw, flattened),
 * y and dy are n x o x oh x ow, all contiguous; geometry as in im2col.h. The column buffer
 * holds one chunk of images per thread, never the whole batch: one image when its output has
 * about 512 pixels or more, else enough images side by side for about 512 columns, so that
 * small layers still get GEMMs large enough to run near peak. A lone 1x1 convolution with
 * stride 1 and no padding multiplies the image itself. With n >= n_threads the chunks are
 * shared among threads (each running a serial GEMM), otherwise each chunk's GEMM is threaded.
 * Return PYNN_OK or PYNN_ERR_NOMEM. */
#ifndef PYNN_CONV_H
#define PYNN_CONV_H

#include "im2col.h"

/* y := relu?(conv(x, w) + b); b may be NULL. */
int pynn_conv2d_fwd_f32(const pynn_conv_geom *g, int64_t n, int64_t o, const float *x,
                        const float *w, const float *b, int relu, float *y, int isa,
                        int n_threads);
int pynn_conv2d_fwd_f64(const pynn_conv_geom *g, int64_t n, int64_t o, const double *x,
                        const double *w, const double *b, int relu, double *y, int isa,
                        int n_threads);

/* dw := dL/dw (o x c*kh*kw); db := dL/db (o) unless NULL; dx := dL/dx unless NULL.
 * All outputs are overwritten (never read). */
int pynn_conv2d_bwd_f32(const pynn_conv_geom *g, int64_t n, int64_t o, const float *x,
                        const float *w, const float *dy, float *dx, float *dw, float *db,
                        int isa, int n_threads);
int pynn_conv2d_bwd_f64(const pynn_conv_geom *g, int64_t n, int64_t o, const double *x,
                        const double *w, const double *dy, double *dx, double *dw, double *db,
                        int isa, int n_threads);

#endif
