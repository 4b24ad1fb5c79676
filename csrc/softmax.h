/* Softmax, log-softmax and fused softmax-cross-entropy over the rows of a contiguous
 * rows x cols matrix, parallel over rows. Every row is shifted by its maximum first, so exp
 * never overflows and no log is taken of a probability (never log(0)). */
#ifndef PYNN_SOFTMAX_H
#define PYNN_SOFTMAX_H

#include "pynn_common.h"

/* The forward kernels take `isa` (enum pynn_isa) for their float32 exponentials. */
void pynn_softmax_fwd_f32(int64_t rows, int64_t cols, const float *x, float *y, int isa,
                          int n_threads);
void pynn_softmax_fwd_f64(int64_t rows, int64_t cols, const double *x, double *y, int isa,
                          int n_threads);
/* x := softmax(x) for each row, in place, on the calling thread; a row that is -inf
 * throughout (every key masked, in attention) becomes zeros instead of NaN. */
void pynn_softmax_rows_inplace_f32(int64_t rows, int64_t cols, float *x);
void pynn_softmax_rows_inplace_f64(int64_t rows, int64_t cols, double *x);
/* dx := y * (dy - sum(dy * y)), y the softmax output. */
void pynn_softmax_bwd_f32(int64_t rows, int64_t cols, const float *y, const float *dy,
                          float *dx, int n_threads);
void pynn_softmax_bwd_f64(int64_t rows, int64_t cols, const double *y, const double *dy,
                          double *dx, int n_threads);
/* One row of it, times `scale`, on the calling thread (attention folds its score scale in);
 * dx may be dy. */
void pynn_softmax_bwd_row_f32(int64_t cols, const float *y, const float *dy, float scale,
                              float *dx);
void pynn_softmax_bwd_row_f64(int64_t cols, const double *y, const double *dy, double scale,
                              double *dx);

void pynn_log_softmax_fwd_f32(int64_t rows, int64_t cols, const float *x, float *y,
                              int isa, int n_threads);
void pynn_log_softmax_fwd_f64(int64_t rows, int64_t cols, const double *x, double *y,
                              int isa, int n_threads);
/* dx := dy - exp(y) * sum(dy), y the log-softmax output. */
void pynn_log_softmax_bwd_f32(int64_t rows, int64_t cols, const float *y, const float *dy,
                              float *dx, int n_threads);
void pynn_log_softmax_bwd_f64(int64_t rows, int64_t cols, const double *y, const double *dy,
                              double *dx, int n_threads);

/* Cross-entropy of softmax(logits) against labels. Per sample,
 *   loss[i] = (1 - eps) * -logp[i, label[i]] + eps * mean_c(-logp[i, c]),
 * and 0 where label[i] == ignore_index. Writes probs := softmax(logits), loss_rows (unless
 * NULL), *loss_sum = sum_i loss[i] and *n_valid = the number of rows not ignored.
 * Returns -1, or the first row whose label is neither ignore_index nor in [0, cols) (then
 * nothing else is written). */
int64_t pynn_softmax_xent_fwd_f32(int64_t rows, int64_t cols, const float *logits,
                                  const int64_t *labels, int64_t ignore_index, double eps,
                                  float *probs, double *loss_rows, double *loss_sum,
                                  int64_t *n_valid, int isa, int n_threads);
int64_t pynn_softmax_xent_fwd_f64(int64_t rows, int64_t cols, const double *logits,
                                  const int64_t *labels, int64_t ignore_index, double eps,
                                  double *probs, double *loss_rows, double *loss_sum,
                                  int64_t *n_valid, int isa, int n_threads);
/* dlogits[i] := w_i * (probs[i] - (1 - eps) onehot(label[i]) - eps / cols), where w_i is
 * grad_rows[i] when grad_rows is given (reduction "none"), else grad, divided by the number
 * of rows not ignored when mean != 0; w_i = 0 for ignored rows. Returns -1, or the first row
 * with an invalid label (then dlogits is not written). */
int64_t pynn_softmax_xent_bwd_f32(int64_t rows, int64_t cols, const float *probs,
                                  const int64_t *labels, int64_t ignore_index, double eps,
                                  double grad, int mean, const float *grad_rows,
                                  float *dlogits, int n_threads);
int64_t pynn_softmax_xent_bwd_f64(int64_t rows, int64_t cols, const double *probs,
                                  const int64_t *labels, int64_t ignore_index, double eps,
                                  double grad, int mean, const double *grad_rows,
                                  double *dlogits, int n_threads);

#endif
