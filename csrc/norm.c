/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h), and compiled once per instruction set (see norm.h). */
#ifndef PYNN_FN
#include <math.h>
#include <string.h>

#include "norm.h"
#include "pynn_math.h"
#include "simd_isa.h"

/* Below this many values a parallel region costs more than it saves. */
#define PYNN_NORM_MIN_PARALLEL 16384
#define NORM_PARALLEL(values) (n_threads > 1 && (values) >= PYNN_NORM_MIN_PARALLEL)

/* The layer norm's backward (below): rows of a block of its weight and bias gradients' column
 * sums, a function of rows alone, so that the sums (a block's, then the blocks' in order) are
 * the same at any thread count. */
static int64_t layer_norm_block_rows(int64_t rows)
{
    const int64_t blocks_max = 256, least = 16;
    const int64_t r = (rows + blocks_max - 1) / blocks_max;
    return r < least ? least : r;
}

#define PYNN_TEMPLATE "norm.c"
#include "pynn_template.h"

const pynn_norm_desc PYNN_ISA_SYM(pynn_norm_desc) = {PYNN_DESC_ENTRIES(PYNN_NORM_KERNELS)};

#else /* the template (pynn_template.h) */

/* Layer normalisation (norm.h). A row's statistics are summed in double: float32 sums of a
 * few thousand values lose digits that the gradient's differences of means then amplify. */
static void PYNN_FN(layer_norm_row)(int64_t cols, const real *PYNN_RESTRICT x,
                                    const real *weight, const real *bias, double eps,
                                    real *PYNN_RESTRICT y, real *mean, real *rstd)
{
    double sum = 0, squares = 0;
    PYNN_SIMD(reduction(+ : sum))
    for (int64_t j = 0; j < cols; ++j)
        sum += x[j];
    const double mu = sum / (double)cols;
    PYNN_SIMD(reduction(+ : squares))
    for (int64_t j = 0; j < cols; ++j) {
        const double d = x[j] - mu;
        squares += d * d;
    }
    const double r = 1 / sqrt(squares / (double)cols + eps);
    *mean = (real)mu;
    *rstd = (real)r;
    const real m = (real)mu, rr = (real)r;
    if (weight && bias) {
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            y[j] = (x[j] - m) * rr * weight[j] + bias[j];
    } else {
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            y[j] = (x[j] - m) * rr * (weight ? weight[j] : 1) + (bias ? bias[j] : 0);
    }
}

static void PYNN_FN(layer_norm_fwd)(int64_t rows, int64_t cols, const real *x,
                                    const real *weight, const real *bias, double eps, real *y,
                                    real *mean, real *rstd, int n_threads)
{
    PYNN_PARALLEL_FOR(i, rows, n_threads, NORM_PARALLEL(rows * cols), ,
                      PYNN_FN(layer_norm_row)(cols, x + i * cols, weight, bias, eps,
                                              y + i * cols, mean + i, rstd + i));
}

/* dx (unless NULL) of rows [r0, r1), and their contributions to the column sums in dw_acc and
 * db_acc (cols doubles each, or NULL). */
static void PYNN_FN(layer_norm_bwd_rows)(int64_t r0, int64_t r1, int64_t cols, const real *x,
                                         const real *dy, const real *mean, const real *rstd,
                                         const real *weight, real *dx, double *dw_acc,
                                         double *db_acc)
{
    for (int64_t i = r0; i < r1; ++i) {
        const real *xr = x + i * cols, *dyr = dy + i * cols;
        const real m = mean[i], r = rstd[i];
        if (dw_acc) {
            PYNN_SIMD()
            for (int64_t j = 0; j < cols; ++j)
                dw_acc[j] += (double)dyr[j] * (double)((xr[j] - m) * r);
        }
        if (db_acc) {
            PYNN_SIMD()
            for (int64_t j = 0; j < cols; ++j)
                db_acc[j] += dyr[j];
        }
        if (!dx)
            continue;
        double sum_g = 0, sum_gx = 0;
        PYNN_SIMD(reduction(+ : sum_g, sum_gx))
        for (int64_t j = 0; j < cols; ++j) {
            const real g = dyr[j] * (weight ? weight[j] : 1);
            sum_g += g;
            sum_gx += (double)g * (double)((xr[j] - m) * r);
        }
        const real a = (real)(sum_g / (double)cols), c = (real)(sum_gx / (double)cols);
        real *dxr = dx + i * cols;
        PYNN_SIMD()
        for (int64_t j = 0; j < cols; ++j)
            dxr[j] = r * (dyr[j] * (weight ? weight[j] : 1) - a - (xr[j] - m) * r * c);
    }
}

static int PYNN_FN(layer_norm_bwd)(int64_t rows, int64_t cols, const real *x, const real *dy,
                                   const real *mean, const real *rstd, const real *weight,
                                   real *dx, real *dweight, real *dbias, int n_threads)
{
    if (!dweight && !dbias) {
        PYNN_PARALLEL_FOR(i, rows, n_threads, NORM_PARALLEL(rows * cols), ,
                          PYNN_FN(layer_norm_bwd_rows)(i, i + 1, cols, x, dy, mean, rstd,
                                                       weight, dx, NULL, NULL));
        return PYNN_OK;
    }
    const int64_t block = layer_norm_block_rows(rows), blocks = (rows + block - 1) / block;
    const int64_t sums = (dweight != NULL) + (dbias != NULL);
    double *acc = pynn_alloc_n(pynn_size_mul(pynn_size_mul(blocks, sums), cols),
                               sizeof(double), 1);
    if (!acc)
        return PYNN_ERR_NOMEM;
    /* block b's sums: dweight's at acc + b sums cols, then dbias's */
#define BLOCK_SUMS(b, k) (acc + ((b) * sums + (k)) * cols)
    PYNN_PARALLEL_FOR(b, blocks, n_threads, NORM_PARALLEL(rows * cols), ,
                      PYNN_FN(layer_norm_bwd_rows)(b * block, PYNN_MIN(rows, (b + 1) * block),
                                                   cols, x, dy, mean, rstd, weight, dx,
                                                   dweight ? BLOCK_SUMS(b, 0) : NULL,
                                                   dbias ? BLOCK_SUMS(b, dweight != NULL)
                                                         : NULL));
    for (int64_t k = 0; k < sums; ++k) {
        real *out = k == 0 && dweight ? dweight : dbias;
        for (int64_t j = 0; j < cols; ++j) {
            double total = 0;
            for (int64_t b = 0; b < blocks; ++b)
                total += BLOCK_SUMS(b, k)[j];
            out[j] = (real)total;
        }
    }
#undef BLOCK_SUMS
    pynn_free(acc);
    return PYNN_OK;
}

/* Batch normalisation (norm.h): a channel's values are n runs of s, c s apart. */
static void PYNN_FN(batch_norm_channel_fwd)(int64_t n, int64_t c, int64_t s, const real *x,
                                            real w, real b, double eps, real *y, real *mean,
                                            real *var, real *rstd)
{
    const int64_t step = c * s;
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < n; ++i) {
        const real *xi = x + i * step;
        PYNN_SIMD(reduction(+ : sum))
        for (int64_t j = 0; j < s; ++j)
            sum += xi[j];
    }
    const double m = (double)n * (double)s, mu = sum / m;
    for (int64_t i = 0; i < n; ++i) {
        const real *xi = x + i * step;
        PYNN_SIMD(reduction(+ : squares))
        for (int64_t j = 0; j < s; ++j) {
            const double d = xi[j] - mu;
            squares += d * d;
        }
    }
    const double v = squares / m, r = 1 / sqrt(v + eps);
    *mean = (real)mu;
    *var = (real)v;
    *rstd = (real)r;
    const real mr = (real)mu, rr = (real)r;
    for (int64_t i = 0; i < n; ++i) {
        const real *xi = x + i * step;
        real *yi = y + i * step;
        PYNN_SIMD()
        for (int64_t j = 0; j < s; ++j)
            yi[j] = (xi[j] - mr) * rr * w + b;
    }
}

static void PYNN_FN(batch_norm_fwd)(int64_t n, int64_t c, int64_t s, const real *x,
                                    const real *weight, const real *bias, double eps, real *y,
                                    real *mean, real *var, real *rstd, int n_threads)
{
    PYNN_PARALLEL_FOR(k, c, n_threads, NORM_PARALLEL(n * c * s) && c > 1, ,
                      PYNN_FN(batch_norm_channel_fwd)(n, c, s, x + k * s,
                                                      weight ? weight[k] : 1,
                                                      bias ? bias[k] : 0, eps, y + k * s,
                                                      mean + k, var + k, rstd + k));
}

static void PYNN_FN(batch_norm_channel_bwd)(int64_t n, int64_t c, int64_t s, const real *x,
                                            const real *dy, real mean, real rstd, real w,
                                            real *dx, real *dweight, real *dbias)
{
    const int64_t step = c * s;
    double sum_dy = 0, sum_dyx = 0;
    for (int64_t i = 0; i < n; ++i) {
        const real *xi = x + i * step, *dyi = dy + i * step;
        PYNN_SIMD(reduction(+ : sum_dy, sum_dyx))
        for (int64_t j = 0; j < s; ++j) {
            sum_dy += dyi[j];
            sum_dyx += (double)dyi[j] * (double)((xi[j] - mean) * rstd);
        }
    }
    if (dweight)
        *dweight = (real)sum_dyx;
    if (dbias)
        *dbias = (real)sum_dy;
    if (!dx)
        return;
    const double m = (double)n * (double)s;
    const real scale = w * rstd, a = (real)(sum_dy / m), b = (real)(sum_dyx / m);
    for (int64_t i = 0; i < n; ++i) {
        const real *xi = x + i * step, *dyi = dy + i * step;
        real *dxi = dx + i * step;
        PYNN_SIMD()
        for (int64_t j = 0; j < s; ++j)
            dxi[j] = scale * (dyi[j] - a - (xi[j] - mean) * rstd * b);
    }
}

static void PYNN_FN(batch_norm_bwd)(int64_t n, int64_t c, int64_t s, const real *x,
                                    const real *dy, const real *mean, const real *rstd,
                                    const real *weight, real *dx, real *dweight, real *dbias,
                                    int n_threads)
{
    PYNN_PARALLEL_FOR(k, c, n_threads, NORM_PARALLEL(n * c * s) && c > 1, ,
                      PYNN_FN(batch_norm_channel_bwd)(
                          n, c, s, x + k * s, dy + k * s, mean[k], rstd[k],
                          weight ? weight[k] : 1, dx ? dx + k * s : NULL,
                          dweight ? dweight + k : NULL, dbias ? dbias + k : NULL));
}

#endif
