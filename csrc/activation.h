/* Elementwise activations over n contiguous elements, forward and backward. A backward
 * writes dx only; it never modifies its inputs.
 *
 * activation.c is compiled once per instruction set (SIMD_SOURCES in setup.py, see
 * simd_isa.h) and exports the kernels as one descriptor, pynn_activation_desc_<isa>; callers
 * take the one for their ISA from pynn_activation_kernels(isa). */
#ifndef PYNN_ACTIVATION_H
#define PYNN_ACTIVATION_H

#include "pynn_common.h"

#define PYNN_ACTIVATION_FIELDS(real, sfx)                                                     \
    /* y := max(x, 0), NaN propagates; dx := 0 where y <= 0, else dy (NaN passes dy) */      \
    void (*relu_fwd_##sfx)(int64_t n, const real *x, real *y, int n_threads);                  \
    void (*relu_bwd_##sfx)(int64_t n, const real *y, const real *dy, real *dx,                 \
                           int n_threads);                                                     \
    /* y := x > 0 ? x : slope x; dx := x > 0 ? dy : slope dy */                               \
    void (*leaky_relu_fwd_##sfx)(int64_t n, const real *x, double slope, real *y,              \
                                 int n_threads);                                               \
    void (*leaky_relu_bwd_##sfx)(int64_t n, const real *x, const real *dy, double slope,       \
                                 real *dx, int n_threads);                                     \
    /* y := 1 / (1 + exp(-x)) without overflow; dx := dy y (1 - y) */                         \
    void (*sigmoid_fwd_##sfx)(int64_t n, const real *x, real *y, int n_threads);               \
    void (*sigmoid_bwd_##sfx)(int64_t n, const real *y, const real *dy, real *dx,              \
                              int n_threads);                                                  \
    /* y := tanh(x); dx := dy (1 - y^2) */                                                    \
    void (*tanh_fwd_##sfx)(int64_t n, const real *x, real *y, int n_threads);                  \
    void (*tanh_bwd_##sfx)(int64_t n, const real *y, const real *dy, real *dx,                 \
                           int n_threads);                                                     \
    /* GELU, exact (x Phi(x), approx_tanh == 0) or tanh-approximated; dx from x */             \
    void (*gelu_fwd_##sfx)(int64_t n, const real *x, int approx_tanh, real *y,                 \
                           int n_threads);                                                     \
    void (*gelu_bwd_##sfx)(int64_t n, const real *x, const real *dy, int approx_tanh,          \
                           real *dx, int n_threads);

typedef struct {
    PYNN_ACTIVATION_FIELDS(float, f32)
    PYNN_ACTIVATION_FIELDS(double, f64)
} pynn_activation_desc;
#undef PYNN_ACTIVATION_FIELDS

extern const pynn_activation_desc pynn_activation_desc_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const pynn_activation_desc pynn_activation_desc_avx2;
extern const pynn_activation_desc pynn_activation_desc_avx512;
#endif

/* The kernels built for `isa` (enum pynn_isa), which the CPU must support. */
static inline const pynn_activation_desc *pynn_activation_kernels(int isa)
{
    return PYNN_ISA_DESC(pynn_activation_desc, isa);
}

#endif
