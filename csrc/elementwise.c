/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h), and compiled once per instruction set (see elementwise.h). */
#ifndef PYNN_FN
#include <string.h>
#include <tgmath.h>

#include "elementwise.h"
#include "pynn_math.h"
#include "simd_isa.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PYNN_EW_MIN_PARALLEL 65536

#define PYNN_TEMPLATE "elementwise.c"
#include "pynn_template.h"

const pynn_elementwise_desc PYNN_ISA_SYM(pynn_elementwise_desc) = {
    PYNN_DESC_ENTRIES(PYNN_ELEMENTWISE_KERNELS)};

#else /* the template (pynn_template.h) */

#define FOR_EACH(n, ...)                                                                      \
    PYNN_PARALLEL_FOR_SIMD(i, n, n_threads, n_threads > 1 && (n) >= PYNN_EW_MIN_PARALLEL,     \
                           __VA_ARGS__)

/* Column sums of rows [0, outer) of a (outer, channels) dy, columns [c0, c1): walking the
 * rows keeps the inner loop contiguous. */
static void PYNN_FN(column_sums)(int64_t outer, int64_t channels, const real *dy, int64_t c0,
                                 int64_t c1, real *db)
{
    double *acc = calloc((size_t)PYNN_MAX(c1 - c0, 1), sizeof(double));
    if (!acc) { /* no scratch: the slower order needs none */
        for (int64_t c = c0; c < c1; ++c) {
            double s = 0;
            for (int64_t o = 0; o < outer; ++o)
                s += dy[o * channels + c];
            db[c] = (real)s;
        }
        return;
    }
    for (int64_t o = 0; o < outer; ++o) {
        const real *row = dy + o * channels;
        for (int64_t c = c0; c < c1; ++c)
            acc[c - c0] += row[c];
    }
    for (int64_t c = c0; c < c1; ++c)
        db[c] = (real)acc[c - c0];
    free(acc);
}

static void PYNN_FN(bias_grad)(int64_t outer, int64_t channels, int64_t inner, const real *dy,
                               real *db, int n_threads)
{
    const int parallel = n_threads > 1 && outer * channels * inner >= PYNN_EW_MIN_PARALLEL;
    if (inner == 1 && !parallel) {
        PYNN_FN(column_sums)(outer, channels, dy, 0, channels, db);
    } else if (inner == 1) { /* each thread owns a block of columns */
        PYNN_OMP(parallel num_threads(n_threads))
        {
            const int64_t t = pynn_thread_id(), nt = pynn_team_size();
            PYNN_FN(column_sums)(outer, channels, dy, channels * t / nt,
                                 channels * (t + 1) / nt, db);
        }
    } else {
        PYNN_PARALLEL_FOR(c, channels, n_threads, parallel, , {
            double s = 0;
            for (int64_t o = 0; o < outer; ++o)
                s += PYNN_FN(pynn_sum)(dy + (o * channels + c) * inner, inner);
            db[c] = (real)s;
        });
    }
}

/* The optimiser steps below branch on their options (weight decay, momentum, ...) inside
 * the loop body, but each loop is expanded once per combination with the options as
 * constants: a branch left in the body keeps the loop scalar. */

static void PYNN_FN(sgd_step)(int64_t n, real *param, const real *grad, real *buf,
                              const pynn_sgd_hyper *h, int n_threads)
{
    const real lr = (real)h->lr, mom = (real)h->momentum, wd = (real)h->weight_decay;
    const real keep = (real)(1 - h->dampening), sign = h->maximize ? -1 : 1;
    const int first = h->first_step, nesterov = h->nesterov;
#define SGD_LOOP(DECAY, MOMENTUM)                                                             \
    FOR_EACH(n, {                                                                         \
        real g = sign * grad[i];                                                              \
        if (DECAY) /* only then: 0 * inf in a diverged parameter would add NaN */           \
            g += wd * param[i];                                                               \
        if (MOMENTUM) {                                                                       \
            const real b = first ? g : mom * buf[i] + keep * g, look_ahead = g + mom * b;     \
            buf[i] = b;                                                                       \
            g = nesterov ? look_ahead : b;                                                    \
        }                                                                                     \
        param[i] -= lr * g;                                                                   \
    });
    if (wd != 0) {
        if (h->momentum != 0) { SGD_LOOP(1, 1) } else { SGD_LOOP(1, 0) }
    } else {
        if (h->momentum != 0) { SGD_LOOP(0, 1) } else { SGD_LOOP(0, 0) }
    }
#undef SGD_LOOP
}

static void PYNN_FN(adam_step)(int64_t n, real *param, const real *grad, real *avg, real *avg_sq,
                               real *max_sq, const pynn_adam_hyper *h, int n_threads)
{
    const double bc1 = 1 - pow(h->beta1, (double)h->step);
    const double bc2_sqrt = sqrt(1 - pow(h->beta2, (double)h->step));
    const real step_size = (real)(h->lr / bc1), inv_bc2_sqrt = (real)(1 / bc2_sqrt);
    const real b1 = (real)(1 - h->beta1), b2 = (real)h->beta2, one_b2 = (real)(1 - h->beta2);
    const real eps = (real)h->eps, sign = h->maximize ? -1 : 1;
    const int decoupled = h->decoupled_weight_decay;
    const real coupled_wd = decoupled ? 0 : (real)h->weight_decay;
    const real shrink = decoupled ? (real)(1 - h->lr * h->weight_decay) : 1;
#define ADAM_LOOP(COUPLED_DECAY, AMSGRAD)                                                     \
    FOR_EACH(n, {                                                                         \
        const real p = param[i] * shrink;                                                     \
        real g = sign * grad[i];                                                              \
        if (COUPLED_DECAY)                                                                    \
            g += coupled_wd * p;                                                              \
        const real m = avg[i] + b1 * (g - avg[i]);                                            \
        const real v = b2 * avg_sq[i] + one_b2 * g * g;                                       \
        avg[i] = m;                                                                           \
        avg_sq[i] = v;                                                                        \
        real second = v;                                                                      \
        if (AMSGRAD) {                                                                        \
            const real old = max_sq[i];                                                       \
            second = (old > v || old != old) ? old : v; /* NaN propagates, as np.maximum */   \
            max_sq[i] = second;                                                               \
        }                                                                                     \
        param[i] = p - step_size * m / (sqrt(second) * inv_bc2_sqrt + eps);                   \
    });
    if (coupled_wd != 0) {
        if (max_sq) { ADAM_LOOP(1, 1) } else { ADAM_LOOP(1, 0) }
    } else {
        if (max_sq) { ADAM_LOOP(0, 1) } else { ADAM_LOOP(0, 0) }
    }
#undef ADAM_LOOP
}

static void PYNN_FN(rmsprop_step)(int64_t n, real *param, const real *grad, real *square_avg,
                                  real *buf, real *grad_avg, const pynn_rmsprop_hyper *h,
                                  int n_threads)
{
    const real lr = (real)h->lr, alpha = (real)h->alpha, one_alpha = (real)(1 - h->alpha);
    const real eps = (real)h->eps, wd = (real)h->weight_decay, mom = (real)h->momentum;
    const real sign = h->maximize ? -1 : 1;
#define RMSPROP_LOOP(DECAY, CENTERED, MOMENTUM)                                               \
    FOR_EACH(n, {                                                                         \
        real g = sign * grad[i];                                                              \
        if (DECAY)                                                                            \
            g += wd * param[i];                                                               \
        const real sq = alpha * square_avg[i] + one_alpha * g * g;                            \
        square_avg[i] = sq;                                                                   \
        real var = sq;                                                                        \
        if (CENTERED) {                                                                       \
            const real ga = grad_avg[i] + one_alpha * (g - grad_avg[i]);                      \
            grad_avg[i] = ga;                                                                 \
            var = sq - ga * ga;                                                               \
        }                                                                                     \
        const real denom = sqrt(var) + eps;                                                   \
        if (MOMENTUM) {                                                                       \
            const real b = mom * buf[i] + g / denom;                                          \
            buf[i] = b;                                                                       \
            param[i] -= lr * b;                                                               \
        } else {                                                                              \
            param[i] -= lr * g / denom;                                                       \
        }                                                                                     \
    });
#define RMSPROP_LOOPS(DECAY)                                                                  \
    if (h->centered) {                                                                        \
        if (h->momentum != 0) { RMSPROP_LOOP(DECAY, 1, 1) } else { RMSPROP_LOOP(DECAY, 1, 0) } \
    } else {                                                                                  \
        if (h->momentum != 0) { RMSPROP_LOOP(DECAY, 0, 1) } else { RMSPROP_LOOP(DECAY, 0, 0) } \
    }
    if (wd != 0) {
        RMSPROP_LOOPS(1)
    } else {
        RMSPROP_LOOPS(0)
    }
#undef RMSPROP_LOOPS
#undef RMSPROP_LOOP
}

#undef FOR_EACH
#endif
