/* Normalisation kernels: layer norm over the rows of a contiguous rows x cols matrix, batch
 * norm over the channels of a contiguous (n, c, s) array (s: the values a channel has in an
 * image, H W for a 2-d batch). Statistics are summed in double. norm.c is compiled once per
 * instruction set (see simd_isa.h) and exports the kernels as pynn_norm_desc_<isa>; callers
 * take theirs from pynn_norm_kernels(isa). */
#ifndef PYNN_NORM_H
#define PYNN_NORM_H

#include "pynn_common.h"

#define PYNN_NORM_KERNELS(K, real, sfx)                                                            \
    /* Layer normalisation of each row: mean[i], rstd[i] := the row's mean and 1 / sqrt(its        \
     * biased variance + eps) (the variance from the deviations), y := (x - mean) rstd * weight    \
     * + bias (weight, bias: cols values, or NULL for 1 and 0). */                                 \
    K(void, layer_norm_fwd, (int64_t rows, int64_t cols, const real *x, const real *weight,        \
                             const real *bias, double eps, real *y, real *mean, real *rstd,       \
                             int n_threads))                                                       \
    /* Its gradients from dy, with xhat = (x - mean) rstd and g = dy * weight (weight NULL: 1):    \
     * dx := rstd (g - mean(g) - xhat mean(g xhat)) per row; dweight := the column sums of         \
     * dy xhat, dbias := those of dy. Each of dx, dweight, dbias may be NULL (not computed). The   \
     * column sums are taken over blocks of rows fixed by rows alone, then the blocks in order,    \
     * so the result does not depend on n_threads. PYNN_ERR_NOMEM (nothing written) when their     \
     * scratch cannot be had, else PYNN_OK. */                                                     \
    K(int, layer_norm_bwd, (int64_t rows, int64_t cols, const real *x, const real *dy,             \
                            const real *mean, const real *rstd, const real *weight, real *dx,      \
                            real *dweight, real *dbias, int n_threads))                            \
    /* Batch normalisation with the batch's statistics: per channel, mean, var := the mean and     \
     * the biased variance of its n s values (from the deviations), rstd := 1 / sqrt(var + eps),  \
     * y := (x - mean) rstd * weight + bias (weight, bias: c values, or NULL for 1 and 0). */      \
    K(void, batch_norm_fwd, (int64_t n, int64_t c, int64_t s, const real *x, const real *weight,   \
                             const real *bias, double eps, real *y, real *mean, real *var,        \
                             real *rstd, int n_threads))                                           \
    /* Its gradients from dy, per channel with m = n s values, xhat = (x - mean) rstd:             \
     * dbias := sum(dy), dweight := sum(dy xhat), dx := weight rstd (dy - dbias / m - xhat         \
     * dweight / m) (weight NULL: 1). dx, dweight and dbias may each be NULL. Channels are         \
     * shared among threads whole: the same bits at any n_threads. */                              \
    K(void, batch_norm_bwd, (int64_t n, int64_t c, int64_t s, const real *x, const real *dy,       \
                             const real *mean, const real *rstd, const real *weight, real *dx,     \
                             real *dweight, real *dbias, int n_threads))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_NORM_KERNELS)
} pynn_norm_desc;

PYNN_DECLARE_DESCS(norm)

#endif
