/* Elementwise activations over n contiguous elements, forward and backward. A backward
 * writes dx only; it never modifies its inputs.
 *
 * activation.c is compiled once per instruction set (SIMD_SOURCES in setup.py, see
 * simd_isa.h) and exports the kernels as one descriptor, pynn_activation_desc_<isa>; callers
 * take the one for their ISA from pynn_activation_kernels(isa). */
#ifndef PYNN_ACTIVATION_H
#define PYNN_ACTIVATION_H

#include "pynn_common.h"

#define PYNN_ACTIVATION_KERNELS(K, real, sfx)                                                      \
    /* y := max(x, 0), NaN propagates; dx := 0 where y <= 0, else dy (NaN passes dy) */            \
    K(void, relu_fwd, (int64_t n, const real *x, real *y, int n_threads))                          \
    K(void, relu_bwd, (int64_t n, const real *y, const real *dy, real *dx, int n_threads))         \
    /* y := x > 0 ? x : slope x; dx := x > 0 ? dy : slope dy */                                    \
    K(void, leaky_relu_fwd, (int64_t n, const real *x, double slope, real *y, int n_threads))      \
    K(void, leaky_relu_bwd, (int64_t n, const real *x, const real *dy, double slope, real *dx,     \
                             int n_threads))                                                       \
    /* y := 1 / (1 + exp(-x)) without overflow; dx := dy y (1 - y) */                              \
    K(void, sigmoid_fwd, (int64_t n, const real *x, real *y, int n_threads))                       \
    K(void, sigmoid_bwd, (int64_t n, const real *y, const real *dy, real *dx, int n_threads))      \
    /* y := tanh(x); dx := dy (1 - y^2) */                                                         \
    K(void, tanh_fwd, (int64_t n, const real *x, real *y, int n_threads))                          \
    K(void, tanh_bwd, (int64_t n, const real *y, const real *dy, real *dx, int n_threads))         \
    /* GELU, exact (x Phi(x), approx_tanh == 0) or tanh-approximated; dx from x */                 \
    K(void, gelu_fwd, (int64_t n, const real *x, int approx_tanh, real *y, int n_threads))         \
    K(void, gelu_bwd, (int64_t n, const real *x, const real *dy, int approx_tanh, real *dx,        \
                       int n_threads))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_ACTIVATION_KERNELS)
} pynn_activation_desc;

PYNN_DECLARE_DESCS(activation)

#endif
