/* Reductions and fused optimiser updates: one pass over memory each. The optimiser updates
 * follow torch.optim's formulas exactly (see pynn/backend/reference.py); parameter and state
 * arrays are contiguous, n elements, updated in place; hyper-parameters arrive as double.
 * elementwise.c is compiled once per instruction set (see simd_isa.h) and exports the kernels
 * as pynn_elementwise_desc_<isa>; callers take theirs from pynn_elementwise_kernels(isa). */
#ifndef PYNN_ELEMENTWISE_H
#define PYNN_ELEMENTWISE_H

#include "pynn_common.h"

typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize, first_step;
} pynn_sgd_hyper;

typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step; /* counts from 1 */
    int decoupled_weight_decay, maximize;
} pynn_adam_hyper;

typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int centered, maximize;
} pynn_rmsprop_hyper;

#define PYNN_ELEMENTWISE_KERNELS(K, real, sfx)                                                     \
    /* db[c] := sum over o, i of dy[(o * channels + c) * inner + i], summed in double */           \
    K(void, bias_grad, (int64_t outer, int64_t channels, int64_t inner, const real *dy,            \
                        real *db, int n_threads))                                                  \
    /* buf may be NULL when momentum == 0 */                                                       \
    K(void, sgd_step, (int64_t n, real *param, const real *grad, real *buf,                        \
                       const pynn_sgd_hyper *h, int n_threads))                                    \
    /* max_sq (AMSGrad) may be NULL */                                                             \
    K(void, adam_step, (int64_t n, real *param, const real *grad, real *avg, real *avg_sq,         \
                        real *max_sq, const pynn_adam_hyper *h, int n_threads))                    \
    /* buf may be NULL when momentum == 0, grad_avg when not centered */                           \
    K(void, rmsprop_step, (int64_t n, real *param, const real *grad, real *square_avg,             \
                           real *buf, real *grad_avg, const pynn_rmsprop_hyper *h,                 \
                           int n_threads))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_ELEMENTWISE_KERNELS)
} pynn_elementwise_desc;

PYNN_DECLARE_DESCS(elementwise)

#endif
