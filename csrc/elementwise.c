/* Written once for a generic `real`, compiled for float and double: this file includes
 * itself twice with PYNN_REAL set (the bottom half is the template). */
#ifndef PYNN_REAL
#include <string.h>
#include <tgmath.h>

#include "elementwise.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PYNN_EW_MIN_PARALLEL 65536

#define PYNN_REAL float
#define PYNN_FN(name) name##_f32
#include "elementwise.c"
#undef PYNN_REAL
#undef PYNN_FN
#define PYNN_REAL double
#define PYNN_FN(name) name##_f64
#include "elementwise.c"

#else /* template */
#define real PYNN_REAL

#define FOR_EACH(n)                                                                           \
    (void)n_threads;                                                                          \
    PYNN_OMP(parallel for simd num_threads(n_threads) schedule(static)                     \
             if(parallel: n_threads > 1 && (n) >= PYNN_EW_MIN_PARALLEL))                     \
    for (int64_t i = 0; i < (n); ++i)

void PYNN_FN(pynn_bias_grad)(int64_t outer, int64_t channels, int64_t inner, const real *dy,
                             real *db, int n_threads)
{
    const int parallel = n_threads > 1 && outer * channels * inner >= PYNN_EW_MIN_PARALLEL;
    (void)parallel;
    if (inner == 1) {
        /* (outer, channels): column sums; each thread owns a block of columns and walks the
         * rows, so the inner loop stays contiguous. */
        PYNN_OMP(parallel num_threads(n_threads) if(parallel))
        {
            const int64_t t = pynn_thread_id(), nt = pynn_team_size();
            const int64_t c0 = channels * t / nt, c1 = channels * (t + 1) / nt;
            double *acc = calloc((size_t)PYNN_MAX(c1 - c0, 1), sizeof(double));
            if (acc) {
                for (int64_t o = 0; o < outer; ++o) {
                    const real *row = dy + o * channels;
                    for (int64_t c = c0; c < c1; ++c)
                        acc[c - c0] += row[c];
                }
                for (int64_t c = c0; c < c1; ++c)
                    db[c] = (real)acc[c - c0];
                free(acc);
            } else { /* no scratch: the slower order needs none */
                for (int64_t c = c0; c < c1; ++c) {
                    double s = 0;
                    for (int64_t o = 0; o < outer; ++o)
                        s += dy[o * channels + c];
                    db[c] = (real)s;
                }
            }
        }
        return;
    }
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) if(parallel))
    for (int64_t c = 0; c < channels; ++c) {
        double s = 0;
        for (int64_t o = 0; o < outer; ++o) {
            const real *seg = dy + (o * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i)
                s += seg[i];
        }
        db[c] = (real)s;
    }
}

void PYNN_FN(pynn_sgd_step)(int64_t n, real *param, const real *grad, real *buf,
                            const pynn_sgd_hyper *h, int n_threads)
{
    const real lr = (real)h->lr, mom = (real)h->momentum, wd = (real)h->weight_decay;
    const real keep = (real)(1 - h->dampening), sign = h->maximize ? -1 : 1;
    const int use_mom = h->momentum != 0, first = h->first_step, nesterov = h->nesterov;
    FOR_EACH(n)
    {
        real g = sign * grad[i];
        if (wd != 0) /* so that 0 * inf in a diverged parameter does not add NaN */
            g += wd * param[i];
        if (use_mom) {
            const real b = first ? g : mom * buf[i] + keep * g;
            buf[i] = b;
            g = nesterov ? g + mom * b : b;
        }
        param[i] -= lr * g;
    }
}

void PYNN_FN(pynn_adam_step)(int64_t n, real *param, const real *grad, real *avg, real *avg_sq,
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
    FOR_EACH(n)
    {
        const real p = param[i] * shrink;
        real g = sign * grad[i];
        if (coupled_wd != 0)
            g += coupled_wd * p;
        const real m = avg[i] + b1 * (g - avg[i]);
        const real v = b2 * avg_sq[i] + one_b2 * g * g;
        avg[i] = m;
        avg_sq[i] = v;
        real second = v;
        if (max_sq) {
            const real m = max_sq[i];
            second = (m > v || m != m) ? m : v; /* NaN in either propagates, as np.maximum */
            max_sq[i] = second;
        }
        param[i] = p - step_size * m / (sqrt(second) * inv_bc2_sqrt + eps);
    }
}

void PYNN_FN(pynn_rmsprop_step)(int64_t n, real *param, const real *grad, real *square_avg,
                                real *buf, real *grad_avg, const pynn_rmsprop_hyper *h,
                                int n_threads)
{
    const real lr = (real)h->lr, alpha = (real)h->alpha, one_alpha = (real)(1 - h->alpha);
    const real eps = (real)h->eps, wd = (real)h->weight_decay, mom = (real)h->momentum;
    const real sign = h->maximize ? -1 : 1;
    const int use_mom = h->momentum != 0, centered = h->centered;
    FOR_EACH(n)
    {
        real g = sign * grad[i];
        if (wd != 0)
            g += wd * param[i];
        const real sq = alpha * square_avg[i] + one_alpha * g * g;
        square_avg[i] = sq;
        real var = sq;
        if (centered) {
            const real ga = grad_avg[i] + one_alpha * (g - grad_avg[i]);
            grad_avg[i] = ga;
            var = sq - ga * ga;
        }
        const real denom = sqrt(var) + eps;
        if (use_mom) {
            const real b = mom * buf[i] + g / denom;
            buf[i] = b;
            param[i] -= lr * b;
        } else {
            param[i] -= lr * g / denom;
        }
    }
}

#undef FOR_EACH
#undef real
#endif
