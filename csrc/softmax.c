/* Written once for a generic `real`, compiled for float and double: this file includes
 * itself twice with PYNN_REAL set (the bottom half is the template). */
#ifndef PYNN_REAL
#include <math.h>
#include <string.h>

#include "pynn_math.h"
#include "softmax.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PYNN_SOFTMAX_MIN_PARALLEL 16384

#define PARALLEL_ROWS(rows, cols)                                                             \
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static)                          \
             if(n_threads > 1 && (rows) * (cols) >= PYNN_SOFTMAX_MIN_PARALLEL))

/* The forward kernels take rows in blocks of about this many elements (so a block stays in
 * L1) and exponentiate a whole block in one vector loop. Row by row, a 10-class row spent
 * ~250 cycles in loop remainders and reductions around 10 exponentials. */
#define PYNN_SOFTMAX_BLOCK_ELEMS 2048
#define PYNN_SOFTMAX_BLOCK_MAX_ROWS 256

static int64_t block_rows(int64_t cols)
{
    const int64_t r = PYNN_SOFTMAX_BLOCK_ELEMS / (cols > 0 ? cols : 1);
    return r < 1 ? 1 : (r > PYNN_SOFTMAX_BLOCK_MAX_ROWS ? PYNN_SOFTMAX_BLOCK_MAX_ROWS : r);
}

/* The loop over row blocks b of `block` rows; `clauses` adds to the parallel-for (a reduction,
 * or nothing). */
#define PARALLEL_BLOCKS(rows, cols, clauses)                                                  \
    const int64_t block = block_rows(cols), n_blocks = (rows + block - 1) / block;           \
    (void)n_threads;                                                                          \
    PYNN_OMP(parallel for num_threads(n_threads) schedule(static) clauses                    \
             if(n_threads > 1 && (rows) * (cols) >= PYNN_SOFTMAX_MIN_PARALLEL))              \
    for (int64_t b = 0; b < n_blocks; ++b)

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

#define PYNN_REAL float
#define PYNN_FN(name) name##_f32
#include "softmax.c"
#undef PYNN_REAL
#undef PYNN_FN
#define PYNN_REAL double
#define PYNN_FN(name) name##_f64
#include "softmax.c"
#undef PARALLEL_ROWS
#undef PARALLEL_BLOCKS

#else /* template */
#define real PYNN_REAL

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
    const int64_t len = rows * cols;
    PYNN_SIMD()
    for (int64_t e = 0; e < len; ++e)
        y[e] = PYNN_FN(pynn_exp)(y[e]);
}

void PYNN_FN(pynn_softmax_rows_inplace)(int64_t rows, int64_t cols, real *x)
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

void PYNN_FN(pynn_softmax_fwd)(int64_t rows, int64_t cols, const real *x, real *y,
                               int n_threads)
{
    PARALLEL_BLOCKS(rows, cols, )
    {
        const int64_t r0 = b * block, nr = PYNN_MIN(block, rows - r0);
        real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
        PYNN_FN(shifted_exp_rows)(nr, cols, x + r0 * cols, y + r0 * cols, m);
        for (int64_t i = r0; i < r0 + nr; ++i) {
            real *yi = y + i * cols;
            const real inv = 1 / PYNN_FN(row_sum)(cols, yi);
            PYNN_SIMD()
            for (int64_t j = 0; j < cols; ++j)
                yi[j] *= inv;
        }
    }
}

void PYNN_FN(pynn_softmax_bwd)(int64_t rows, int64_t cols, const real *y, const real *dy,
                               real *dx, int n_threads)
{
    (void)n_threads;
    PARALLEL_ROWS(rows, cols)
    for (int64_t i = 0; i < rows; ++i) {
        const real *yi = y + i * cols, *dyi = dy + i * cols;
        real *dxi = dx + i * cols;
        real dot = 0;
        PYNN_SIMD(reduction(+ : dot))
        for (int64_t j = 0; j < cols; ++j)
            dot += dyi[j] * yi[j];
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            dxi[j] = yi[j] * (dyi[j] - dot);
    }
}

void PYNN_FN(pynn_log_softmax_fwd)(int64_t rows, int64_t cols, const real *x, real *y,
                                   int n_threads)
{
    PARALLEL_BLOCKS(rows, cols, )
    {
        const int64_t r0 = b * block, nr = PYNN_MIN(block, rows - r0);
        real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
        /* y holds the exponentials until each row's log-sum is known. */
        PYNN_FN(shifted_exp_rows)(nr, cols, x + r0 * cols, y + r0 * cols, m);
        for (int64_t i = r0; i < r0 + nr; ++i) {
            const real *xi = x + i * cols;
            real *yi = y + i * cols;
            const real mi = m[i - r0], lse = log(PYNN_FN(row_sum)(cols, yi));
            PYNN_SIMD()
            for (int64_t j = 0; j < cols; ++j)
                yi[j] = (xi[j] - mi) - lse;
        }
    }
}

void PYNN_FN(pynn_log_softmax_bwd)(int64_t rows, int64_t cols, const real *y, const real *dy,
                                   real *dx, int n_threads)
{
    (void)n_threads;
    PARALLEL_ROWS(rows, cols)
    for (int64_t i = 0; i < rows; ++i) {
        const real *yi = y + i * cols, *dyi = dy + i * cols;
        real *dxi = dx + i * cols;
        real s = 0;
        PYNN_SIMD(reduction(+ : s))
        for (int64_t j = 0; j < cols; ++j)
            s += dyi[j];
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            dxi[j] = dyi[j] - PYNN_FN(pynn_exp)(yi[j]) * s;
    }
}

int64_t PYNN_FN(pynn_softmax_xent_fwd)(int64_t rows, int64_t cols, const real *logits,
                                       const int64_t *labels, int64_t ignore_index, double eps,
                                       real *probs, double *loss_rows, double *loss_sum,
                                       int64_t *n_valid, int n_threads)
{
    const int64_t bad = check_labels(rows, cols, labels, ignore_index, n_valid);
    if (bad >= 0)
        return bad;
    double total = 0;
    PARALLEL_BLOCKS(rows, cols, reduction(+ : total)) {
        const int64_t r0 = b * block, nr = PYNN_MIN(block, rows - r0);
        real m[PYNN_SOFTMAX_BLOCK_MAX_ROWS];
        PYNN_FN(shifted_exp_rows)(nr, cols, logits + r0 * cols, probs + r0 * cols, m);
        for (int64_t i = r0; i < r0 + nr; ++i) {
            const real *xi = logits + i * cols;
            real *pi = probs + i * cols;
            const real mi = m[i - r0], s = PYNN_FN(row_sum)(cols, pi), inv = 1 / s;
            double shifted_sum = 0; /* sum_c (x_c - m), for the smoothing term */
            PYNN_SIMD(reduction(+ : shifted_sum))
            for (int64_t j = 0; j < cols; ++j) {
                pi[j] *= inv;
                shifted_sum += xi[j] - mi;
            }
            double loss = 0;
            if (labels[i] != ignore_index) {
                /* -logp[c] = log(s) - (x_c - m): computed from the logits, never log(p). */
                const double lse = log((double)s);
                const double nll = lse - (double)(xi[labels[i]] - mi);
                const double smooth = lse - shifted_sum / (double)cols;
                loss = (1 - eps) * nll + eps * smooth;
            }
            if (loss_rows)
                loss_rows[i] = loss;
            total += loss;
        }
    }
    *loss_sum = total;
    return -1;
}

int64_t PYNN_FN(pynn_softmax_xent_bwd)(int64_t rows, int64_t cols, const real *probs,
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
    (void)n_threads;
    PARALLEL_ROWS(rows, cols)
    for (int64_t i = 0; i < rows; ++i) {
        const real *pi = probs + i * cols;
        real *di = dlogits + i * cols;
        const int ignored = labels[i] == ignore_index;
        const real wi = ignored ? 0 : (grad_rows ? grad_rows[i] : scale);
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            di[j] = wi * (pi[j] - uniform);
        if (!ignored)
            di[labels[i]] -= wi * hit;
    }
    return -1;
}

#undef real
#endif
