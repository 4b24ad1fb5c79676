/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h), and compiled once per instruction set (see softmax.h). */
#ifndef PYNN_FN
#include <math.h>
#include <string.h>

#include "pynn_math.h"
#include "simd_isa.h"
#include "softmax.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PYNN_SOFTMAX_MIN_PARALLEL 16384
#define PARALLEL(rows, cols) (n_threads > 1 && (rows) * (cols) >= PYNN_SOFTMAX_MIN_PARALLEL)

/* The forward kernels take rows in blocks of about this many elements (so a block stays in
 * L1) and exponentiate a whole block in one vector loop. Row by row, a 10-class row spent
 * most of its time in loop remainders and reductions rather than in its 10 exponentials. */
#define PYNN_SOFTMAX_BLOCK_ELEMS 2048
#define PYNN_SOFTMAX_BLOCK_MAX_ROWS 256
_Static_assert(PYNN_SOFTMAX_BLOCK_ELEMS <= 2048 && PYNN_SOFTMAX_BLOCK_MAX_ROWS <= 256,
               "a larger block can overflow the product of row sums in the fused loss");

static int64_t block_rows(int64_t cols)
{
    const int64_t r = PYNN_SOFTMAX_BLOCK_ELEMS / (cols > 0 ? cols : 1);
    return r < 1 ? 1 : (r > PYNN_SOFTMAX_BLOCK_MAX_ROWS ? PYNN_SOFTMAX_BLOCK_MAX_ROWS : r);
}

/* Runs `stmt` for each block b of `block` rows (the last may be short), in parallel for large
 * inputs. */
#define FOR_BLOCKS(rows, cols, clauses, stmt)                                                 \
    const int64_t block = block_rows(cols), n_blocks = (rows + block - 1) / block;           \
    PYNN_PARALLEL_FOR(b, n_blocks, n_threads, PARALLEL(rows, cols), clauses, stmt)

/* y := exp(y) over a block, in one loop that vectorises to this build's width for float32;
 * float64 keeps libm's exp (see pynn_math.h). */
static void exp_block_f32(int64_t n, float *y)
{
    PYNN_SIMD()
    for (int64_t i = 0; i < n; ++i)
        y[i] = pynn_exp_f32(y[i]);
}

static void exp_block_f64(int64_t n, double *y)
{
    for (int64_t i = 0; i < n; ++i)
        y[i] = exp(y[i]);
}

/* -1, or the first row whose label is neither ignored nor a class; counts the valid rows. */
static int64_t check_labels(int64_t rows, int64_t cols, const int64_t *labels,
                            int64_t ignore_index, int64_t *n_valid)
{
    int64_t valid = 0;
    for (int64_t i = 0; i < rows; ++i) {
        if (labels[i] == ignore_index)
            continue;
        if (labels[i] < 0 || labels[i] >= cols)
            return i;
        ++valid;
    }
    if (n_valid)
        *n_valid = valid;
    return -1;
}

#define PYNN_TEMPLATE "softmax.c"
#include "pynn_template.h"

const pynn_softmax_desc PYNN_ISA_SYM(pynn_softmax_desc) = {
    PYNN_DESC_ENTRIES(PYNN_SOFTMAX_KERNELS)};

#else /* the template (pynn_template.h) */

static inline real PYNN_FN(row_max)(int64_t n, const real *x)
{
    real m = x[0];
    if (n < 64) { /* a short row's vector remainders and reduction cost more than they save */
        for (int64_t j = 1; j < n; ++j)
            m = x[j] > m ? x[j] : m;
        return m;
    }
    PYNN_SIMD(reduction(max : m))
    for (int64_t j = 1; j < n; ++j)
        m = x[j] > m ? x[j] : m;
    return m;
}

static inline real PYNN_FN(row_sum)(int64_t n, const real *x)
{
    real s = 0;
    PYNN_SIMD(reduction(+ : s))
    for (int64_t j = 0; j < n; ++j)
        s += x[j];
    return s;
}

/* For the rows of one block: m[i] := max_j x[i, j] and y[i, j] := exp(x[i, j] - m[i]). */
static void PYNN_FN(shifted_exp_rows)(int64_t rows, int64_t cols, const real *PYNN_RESTRICT x,
                                      real *PYNN_RESTRICT y, real *PYNN_RESTRICT m)
{
    for (int64_t i = 0; i < rows; ++i) {
        const real *xi = x + i * cols;
        real *yi = y + i * cols;
        const real mi = PYNN_FN(row_max)(cols, xi);
        m[i] = mi;
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            yi[j] = xi[j] - mi;
    }
    PYNN_FN(exp_block)(rows * cols, y);
}

static void PYNN_FN(softmax_rows_inplace)(int64_t rows, int64_t cols, real *x)
{
    for (int64_t i = 0; i < rows; ++i) {
        real *xi = x + i * cols;
        const real m = cols ? PYNN_FN(row_max)(cols, xi) : 0;
        if (m == -INFINITY) { /* every entry masked: no weight anywhere, not 0 / 0 */
            memset(xi, 0, (size_t)cols * sizeof(real));
            continue;
        }
        real s = 0;
        PYNN_SIMD(reduction(+ : s))
        for (int64_t j = 0; j < cols; ++j) {
            xi[j] = PYNN_FN(pynn_exp)(xi[j] - m);
            s += xi[j];
        }
        const real inv = 1 / s;
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            xi[j] *= inv;
    }
}

static void PYNN_FN(softmax_block)(int64_t rows, int64_t cols, const real *x, real *y)
{
    real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
    PYNN_FN(shifted_exp_rows)(rows, cols, x, y, m);
    for (int64_t i = 0; i < rows; ++i) {
        real *yi = y + i * cols;
        const real inv = 1 / PYNN_FN(row_sum)(cols, yi);
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            yi[j] *= inv;
    }
}

static void PYNN_FN(softmax_fwd)(int64_t rows, int64_t cols, const real *x, real *y,
                                 int n_threads)
{
    FOR_BLOCKS(rows, cols, ,
               PYNN_FN(softmax_block)(PYNN_MIN(block, rows - b * block), cols,
                                      x + b * block * cols, y + b * block * cols));
}

static void PYNN_FN(softmax_bwd_row)(int64_t cols, const real *y, const real *dy, real scale,
                                     real *dx)
{
    real dot = 0;
    PYNN_SIMD(reduction(+ : dot))
    for (int64_t j = 0; j < cols; ++j)
        dot += dy[j] * y[j];
    PYNN_SIMD()
    for (int64_t j = 0; j < cols; ++j)
        dx[j] = y[j] * (dy[j] - dot) * scale;
}

static void PYNN_FN(softmax_bwd)(int64_t rows, int64_t cols, const real *y, const real *dy,
                                 real *dx, int n_threads)
{
    PYNN_PARALLEL_FOR(i, rows, n_threads, PARALLEL(rows, cols), ,
                      PYNN_FN(softmax_bwd_row)(cols, y + i * cols, dy + i * cols, 1,
                                               dx + i * cols));
}

static void PYNN_FN(log_softmax_block)(int64_t rows, int64_t cols, const real *x, real *y)
{
    real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
    /* y holds the exponentials until each row's log-sum is known. */
    PYNN_FN(shifted_exp_rows)(rows, cols, x, y, m);
    for (int64_t i = 0; i < rows; ++i) {
        const real *xi = x + i * cols;
        real *yi = y + i * cols;
        const real mi = m[i], lse = log(PYNN_FN(row_sum)(cols, yi));
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            yi[j] = (xi[j] - mi) - lse;
    }
}

static void PYNN_FN(log_softmax_fwd)(int64_t rows, int64_t cols, const real *x, real *y,
                                     int n_threads)
{
    FOR_BLOCKS(rows, cols, ,
               PYNN_FN(log_softmax_block)(PYNN_MIN(block, rows - b * block), cols,
                                          x + b * block * cols, y + b * block * cols));
}

static void PYNN_FN(log_softmax_bwd_row)(int64_t cols, const real *y, const real *dy,
                                         real *dx)
{
    real s = 0;
    PYNN_SIMD(reduction(+ : s))
    for (int64_t j = 0; j < cols; ++j)
        s += dy[j];
    PYNN_SIMD()
    for (int64_t j = 0; j < cols; ++j)
        dx[j] = dy[j] - PYNN_FN(pynn_exp)(y[j]) * s;
}

static void PYNN_FN(log_softmax_bwd)(int64_t rows, int64_t cols, const real *y, const real *dy,
                                     real *dx, int n_threads)
{
    PYNN_PARALLEL_FOR(i, rows, n_threads, PARALLEL(rows, cols), ,
                      PYNN_FN(log_softmax_bwd_row)(cols, y + i * cols, dy + i * cols,
                                                   dx + i * cols));
}

/* The fused forward over one block of rows: probs := softmax(logits), loss_rows (unless
 * NULL); returns the block's summed loss. */
static double PYNN_FN(xent_block)(int64_t rows, int64_t cols, const real *logits,
                                  const int64_t *labels, int64_t ignore_index, double eps,
                                  real *probs, double *loss_rows)
{
    real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
    PYNN_FN(shifted_exp_rows)(rows, cols, logits, probs, m);
    /* Each valid row's loss is lse - (1 - eps) (x_c - m) - eps mean_j (x_j - m), with
     * lse = log(s) the log of its sum of shifted exponentials. Without per-row losses the
     * block's lse terms are summed as the log of the product of the sums: one libm log a
     * block rather than one a row, which was a tenth of the kernel at 10 classes. Each s
     * lies in [1, cols], so a block's product is at most cols^(2048 / cols), 8^256 =
     * 2^768 at the worst, and cannot overflow. */
    double product = 1, total = 0;
    for (int64_t i = 0; i < rows; ++i) {
        const real *xi = logits + i * cols;
        real *pi = probs + i * cols;
        const real mi = m[i], s = PYNN_FN(row_sum)(cols, pi), inv = 1 / s;
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            pi[j] *= inv;
        if (labels[i] == ignore_index) {
            if (loss_rows)
                loss_rows[i] = 0;
            continue;
        }
        /* -logp[c] = lse - (x_c - m): computed from the logits, never log(p). */
        double loss = -(1 - eps) * (double)(xi[labels[i]] - mi);
        if (eps > 0) {
            double shifted_sum = 0;
            PYNN_SIMD(reduction(+ : shifted_sum))
            for (int64_t j = 0; j < cols; ++j)
                shifted_sum += xi[j] - mi;
            loss -= eps * shifted_sum / (double)cols;
        }
        if (loss_rows) {
            loss += log((double)s);
            loss_rows[i] = loss;
        } else {
            product *= (double)s;
        }
        total += loss;
    }
    return total + log(product);
}

static int64_t PYNN_FN(softmax_xent_fwd)(int64_t rows, int64_t cols, const real *logits,
                                         const int64_t *labels, int64_t ignore_index, double eps,
                                         real *probs, double *loss_rows, double *loss_sum,
                                         int64_t *n_valid, int n_threads)
{
    const int64_t bad = check_labels(rows, cols, labels, ignore_index, n_valid);
    if (bad >= 0)
        return bad;
    double total = 0;
    FOR_BLOCKS(rows, cols, reduction(+ : total),
               total += PYNN_FN(xent_block)(PYNN_MIN(block, rows - b * block), cols,
                                            logits + b * block * cols, labels + b * block,
                                            ignore_index, eps, probs + b * block * cols,
                                            loss_rows ? loss_rows + b * block : NULL));
    *loss_sum = total;
    return -1;
}

/* One row of the fused backward, with w the row's weight: 0 when its label is ignored, and
 * then the label is not read. */
static void PYNN_FN(xent_bwd_row)(int64_t cols, const real *p, int64_t label, real w,
                                  real uniform, real hit, real *d)
{
    PYNN_SIMD()
    for (int64_t j = 0; j < cols; ++j)
        d[j] = w * (p[j] - uniform);
    if (w != 0)
        d[label] -= w * hit;
}

static int64_t PYNN_FN(softmax_xent_bwd)(int64_t rows, int64_t cols, const real *probs,
                                         const int64_t *labels, int64_t ignore_index, double eps,
                                         double grad, int mean, const real *grad_rows,
                                         real *dlogits, int n_threads)
{
    int64_t n_valid = 0;
    const int64_t bad = check_labels(rows, cols, labels, ignore_index, &n_valid);
    if (bad >= 0)
        return bad;
    /* 0/0 for an all-ignored mean gives NaN weights on no row: every row is ignored. */
    const real scale = (real)(mean ? grad / (double)n_valid : grad);
    const real uniform = (real)(eps / (double)cols), hit = (real)(1 - eps);
#define ROW_WEIGHT(i) (labels[i] == ignore_index ? 0 : (grad_rows ? grad_rows[i] : scale))
    PYNN_PARALLEL_FOR(i, rows, n_threads, PARALLEL(rows, cols), ,
                      PYNN_FN(xent_bwd_row)(cols, probs + i * cols, labels[i], ROW_WEIGHT(i),
                                            uniform, hit, dlogits + i * cols));
#undef ROW_WEIGHT
    return -1;
}

#endif
