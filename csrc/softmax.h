/* Softmax, log-softmax and fused softmax-cross-entropy over the rows of a contiguous
 * rows x cols matrix, parallel over rows. Every row is shifted by its maximum first, so exp
 * never overflows and no log is taken of a probability (never log(0)). softmax.c is compiled
 * once per instruction set (see simd_isa.h) and exports the kernels as
 * pynn_softmax_desc_<isa>; callers take theirs from pynn_softmax_kernels(isa). */
#ifndef PYNN_SOFTMAX_H
#define PYNN_SOFTMAX_H

#include "pynn_common.h"

#define PYNN_SOFTMAX_KERNELS(K, real, sfx)                                                         \
    K(void, softmax_fwd, (int64_t rows, int64_t cols, const real *x, real *y, int n_threads))      \
    /* x := softmax(x) for each row, in place, on the calling thread; a row that is -inf           \
     * throughout (every key masked, in attention) becomes zeros instead of NaN. */                \
    K(void, softmax_rows_inplace, (int64_t rows, int64_t cols, real *x))                           \
    /* dx := y * (dy - sum(dy * y)), y the softmax output. */                                      \
    K(void, softmax_bwd, (int64_t rows, int64_t cols, const real *y, const real *dy, real *dx,     \
                          int n_threads))                                                          \
    /* One row of it, times `scale`, on the calling thread (attention folds its score scale        \
     * in); dx may be dy. */                                                                       \
    K(void, softmax_bwd_row, (int64_t cols, const real *y, const real *dy, real scale,             \
                              real *dx))                                                           \
    K(void, log_softmax_fwd, (int64_t rows, int64_t cols, const real *x, real *y,                  \
                              int n_threads))                                                      \
    /* dx := dy - exp(y) * sum(dy), y the log-softmax output. */                                   \
    K(void, log_softmax_bwd, (int64_t rows, int64_t cols, const real *y, const real *dy,           \
                              real *dx, int n_threads))                                            \
    /* Cross-entropy of softmax(logits) against labels. Per sample,                                \
     *   loss[i] = (1 - eps) * -logp[i, label[i]] + eps * mean_c(-logp[i, c]),                     \
     * and 0 where label[i] == ignore_index. Writes probs := softmax(logits), loss_rows            \
     * (unless NULL), *loss_sum = sum_i loss[i] and *n_valid = the number of rows not              \
     * ignored. Returns -1, or the first row whose label is neither ignore_index nor in            \
     * [0, cols) (then nothing else is written). */                                                \
    K(int64_t, softmax_xent_fwd, (int64_t rows, int64_t cols, const real *logits,                  \
                                  const int64_t *labels, int64_t ignore_index, double eps,         \
                                  real *probs, double *loss_rows, double *loss_sum,                \
                                  int64_t *n_valid, int n_threads))                                \
    /* dlogits[i] := w_i * (probs[i] - (1 - eps) onehot(label[i]) - eps / cols), where w_i is      \
     * grad_rows[i] when grad_rows is given (reduction "none"), else grad, divided by the          \
     * number of rows not ignored when mean != 0; w_i = 0 for ignored rows. Returns -1, or         \
     * the first row with an invalid label (then dlogits is not written). */                       \
    K(int64_t, softmax_xent_bwd, (int64_t rows, int64_t cols, const real *probs,                   \
                                  const int64_t *labels, int64_t ignore_index, double eps,         \
                                  double grad, int mean, const real *grad_rows, real *dlogits,     \
                                  int n_threads))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_SOFTMAX_KERNELS)
} pynn_softmax_desc;

PYNN_DECLARE_DESCS(softmax)

#endif
