/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). tgmath.h makes fabs, tanh and erf follow the argument's type. Compiled
 * once per instruction set (see activation.h): the loops are plain, and each build vectorises
 * them to its own width. */
#ifndef PYNN_FN
#include <tgmath.h>

#include "activation.h"
#include "pynn_math.h"
#include "simd_isa.h"

/* Below this many elements a parallel region costs more than it saves; transcendental
 * kernels split earlier because each element costs more. */
#define PYNN_ACT_MIN_PARALLEL 65536
#define PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL 8192

#define PYNN_SQRT_2_OVER_PI 0.7978845608028654
#define PYNN_INV_SQRT_2 0.7071067811865476
#define PYNN_INV_SQRT_2PI 0.3989422804014327
#define PYNN_GELU_CUBIC 0.044715

#define PYNN_TEMPLATE "activation.c"
#include "pynn_template.h"

const pynn_activation_desc PYNN_ISA_SYM(pynn_activation_desc) = {
    PYNN_DESC_ENTRIES(PYNN_ACTIVATION_KERNELS)};

#else /* the template (pynn_template.h) */

/* FOR_EACH(n, threshold, statement using i): a parallel loop from `threshold` elements up,
 * a plain one (no OpenMP runtime) below. */
#define FOR_EACH(n, threshold, ...)                                                           \
    PYNN_PARALLEL_FOR(i, n, n_threads, n_threads > 1 && (n) >= (threshold), , __VA_ARGS__)

static void PYNN_FN(relu_fwd)(int64_t n, const real *x, real *y, int n_threads)
{
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, y[i] = x[i] < 0 ? 0 : x[i]);
}

static void PYNN_FN(relu_bwd)(int64_t n, const real *y, const real *dy, real *dx, int n_threads)
{
    /* Loads and arithmetic stay outside the selects in this file: under a condition the
     * compiler keeps them as a scalar branch, mispredicted on random signs. */
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, {
        const real g = dy[i];
        dx[i] = y[i] <= 0 ? 0 : g; /* NaN passes dy, as PyTorch's threshold_backward */
    });
}

static void PYNN_FN(leaky_relu_fwd)(int64_t n, const real *x, double slope, real *y,
                                    int n_threads)
{
    const real s = (real)slope;
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, {
        const real v = x[i], scaled = v * s; /* both sides computed: the select vectorises */
        y[i] = v > 0 ? v : scaled;
    });
}

static void PYNN_FN(leaky_relu_bwd)(int64_t n, const real *x, const real *dy, double slope,
                                    real *dx, int n_threads)
{
    const real s = (real)slope;
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, {
        const real g = dy[i], scaled = g * s;
        dx[i] = x[i] > 0 ? g : scaled;
    });
}

static void PYNN_FN(sigmoid_fwd)(int64_t n, const real *x, real *y, int n_threads)
{
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL, y[i] = PYNN_FN(pynn_sigmoid)(x[i]));
}

static void PYNN_FN(sigmoid_bwd)(int64_t n, const real *y, const real *dy, real *dx,
                                 int n_threads)
{
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, dx[i] = dy[i] * y[i] * (1 - y[i]));
}

static void PYNN_FN(tanh_fwd)(int64_t n, const real *x, real *y, int n_threads)
{
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL, y[i] = PYNN_FN(pynn_tanh)(x[i]));
}

static void PYNN_FN(tanh_bwd)(int64_t n, const real *y, const real *dy, real *dx, int n_threads)
{
    FOR_EACH(n, PYNN_ACT_MIN_PARALLEL, dx[i] = dy[i] * (1 - y[i] * y[i]));
}

static void PYNN_FN(gelu_fwd)(int64_t n, const real *x, int approx_tanh, real *y, int n_threads)
{
    if (approx_tanh) {
        FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL, {
            const real v = x[i];
            const real t = PYNN_FN(pynn_tanh)((real)PYNN_SQRT_2_OVER_PI *
                                             (v + (real)PYNN_GELU_CUBIC * v * v * v));
            y[i] = (real)0.5 * v * (1 + t);
        });
    } else {
        FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL,
                 y[i] = (real)0.5 * x[i] * (1 + erf(x[i] * (real)PYNN_INV_SQRT_2)));
    }
}

static void PYNN_FN(gelu_bwd)(int64_t n, const real *x, const real *dy, int approx_tanh,
                              real *dx, int n_threads)
{
    if (approx_tanh) {
        FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL, {
            const real v = x[i];
            const real t = PYNN_FN(pynn_tanh)((real)PYNN_SQRT_2_OVER_PI *
                                             (v + (real)PYNN_GELU_CUBIC * v * v * v));
            const real dt = (real)PYNN_SQRT_2_OVER_PI * (1 + 3 * (real)PYNN_GELU_CUBIC * v * v);
            dx[i] = dy[i] * ((real)0.5 * (1 + t) + (real)0.5 * v * (1 - t * t) * dt);
        });
    } else {
        FOR_EACH(n, PYNN_ACT_MIN_PARALLEL_TRANSCENDENTAL, {
            const real v = x[i];
            const real cdf = (real)0.5 * (1 + erf(v * (real)PYNN_INV_SQRT_2));
            const real pdf = PYNN_FN(pynn_exp)((real)-0.5 * v * v) * (real)PYNN_INV_SQRT_2PI;
            dx[i] = dy[i] * (cdf + v * pdf);
        });
    }
}

#undef FOR_EACH
#endif
