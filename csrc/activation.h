/* Elementwise activations over n contiguous elements, forward and backward. A backward
 * writes dx only; it never modifies its inputs. */
#ifndef PYNN_ACTIVATION_H
#define PYNN_ACTIVATION_H

#include "pynn_common.h"

#define PYNN_DECLARE_ACTIVATIONS(real, sfx)                                                   \
    /* y := max(x, 0), NaN propagates; dx := dy where y > 0, else 0 */                         \
    void pynn_relu_fwd_##sfx(int64_t n, const real *x, real *y, int n_threads);                \
    void pynn_relu_bwd_##sfx(int64_t n, const real *y, const real *dy, real *dx,               \
                             int n_threads);                                                   \
    /* y := x > 0 ? x : slope x; dx := x > 0 ? dy : slope dy */                               \
    void pynn_leaky_relu_fwd_##sfx(int64_t n, const real *x, double slope, real *y,            \
                                   int n_threads);                                             \
    void pynn_leaky_relu_bwd_##sfx(int64_t n, const real *x, const real *dy, double slope,     \
                                   real *dx, int n_threads);                                   \
    /* y := 1 / (1 + exp(-x)) without overflow; dx := dy y (1 - y) */                         \
    void pynn_sigmoid_fwd_##sfx(int64_t n, const real *x, real *y, int n_threads);             \
    void pynn_sigmoid_bwd_##sfx(int64_t n, const real *y, const real *dy, real *dx,            \
                                int n_threads);                                                \
    /* y := tanh(x); dx := dy (1 - y^2) */                                                    \
    void pynn_tanh_fwd_##sfx(int64_t n, const real *x, real *y, int n_threads);                \
    void pynn_tanh_bwd_##sfx(int64_t n, const real *y, const real *dy, real *dx,               \
                             int n_threads);                                                   \
    /* GELU, exact (x Phi(x), approx_tanh == 0) or tanh-approximated; dx from x */             \
    void pynn_gelu_fwd_##sfx(int64_t n, const real *x, int approx_tanh, real *y,               \
                             int n_threads);                                                   \
    void pynn_gelu_bwd_##sfx(int64_t n, const real *x, const real *dy, int approx_tanh,        \
                             real *dx, int n_threads);

PYNN_DECLARE_ACTIVATIONS(float, f32)
PYNN_DECLARE_ACTIVATIONS(double, f64)
#undef PYNN_DECLARE_ACTIVATIONS

#endif
