/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). Each row (a batch element) is independent: rows are shared among the
 * threads, and the loop along a row vectorises (the sigmoid and tanh of pynn_math.h are
 * inlined, not libm calls) to the width of the instruction set it is compiled for (see rnn.h). */
#ifndef PYNN_FN
#include "rnn.h"
#include "pynn_math.h"
#include "simd_isa.h"

/* Below this many elements (n * h) a parallel region costs more than it saves. */
#define PYNN_RNN_MIN_PARALLEL 8192

#define PYNN_TEMPLATE "rnn.c"
#include "pynn_template.h"

const pynn_rnn_desc PYNN_ISA_SYM(pynn_rnn_desc) = {
    PYNN_DESC_ENTRIES(PYNN_RNN_KERNELS)};

#else /* the template (pynn_template.h) */
#define SIGMOID PYNN_FN(pynn_sigmoid)
#define TANH PYNN_FN(pynn_tanh)

#define FOR_EACH_ROW(n, h, ...)                                                               \
    PYNN_PARALLEL_FOR(r, n, n_threads, n_threads > 1 && (n) * (h) >= PYNN_RNN_MIN_PARALLEL, , \
                      __VA_ARGS__)

static void PYNN_FN(lstm_cell_fwd)(int64_t n, int64_t h, const real *gates, const real *c_prev,
                                   real *h_out, real *c_out, real *acts, int n_threads)
{
    FOR_EACH_ROW(n, h, {
        const real *PYNN_RESTRICT g = gates + r * 4 * h, *PYNN_RESTRICT cp = c_prev + r * h;
        real *PYNN_RESTRICT a = acts + r * 5 * h;
        real *PYNN_RESTRICT ho = h_out + r * h, *PYNN_RESTRICT co = c_out + r * h;
        PYNN_SIMD()
        for (int64_t j = 0; j < h; ++j) {
            const real i = SIGMOID(g[j]), f = SIGMOID(g[h + j]);
            const real gg = TANH(g[2 * h + j]), o = SIGMOID(g[3 * h + j]);
            const real c = f * cp[j] + i * gg, tc = TANH(c);
            a[j] = i, a[h + j] = f, a[2 * h + j] = gg, a[3 * h + j] = o, a[4 * h + j] = tc;
            co[j] = c;
            ho[j] = o * tc;
        }
    });
}

/* One row of the LSTM backward; has_dc is a constant at each call, so the branch on it
 * leaves the loop. */
static inline void PYNN_FN(lstm_bwd_row)(int64_t h, const real *PYNN_RESTRICT a,
                                         const real *PYNN_RESTRICT cp,
                                         const real *PYNN_RESTRICT dh,
                                         const real *PYNN_RESTRICT dc, const int has_dc,
                                         real *PYNN_RESTRICT dg, real *PYNN_RESTRICT dcp)
{
    PYNN_SIMD()
    for (int64_t j = 0; j < h; ++j) {
        const real i = a[j], f = a[h + j], g = a[2 * h + j], o = a[3 * h + j];
        const real tc = a[4 * h + j];
        real dct = dh[j] * o * (1 - tc * tc);
        if (has_dc)
            dct += dc[j];
        dg[j] = dct * g * i * (1 - i);
        dg[h + j] = dct * cp[j] * f * (1 - f);
        dg[2 * h + j] = dct * i * (1 - g * g);
        dg[3 * h + j] = dh[j] * tc * o * (1 - o);
        dcp[j] = dct * f;
    }
}

static void PYNN_FN(lstm_cell_bwd)(int64_t n, int64_t h, const real *acts, const real *c_prev,
                                   const real *dh, const real *dc, real *dgates, real *dc_prev,
                                   int n_threads)
{
    FOR_EACH_ROW(n, h, {
        const real *a = acts + r * 5 * h, *cp = c_prev + r * h, *dhr = dh + r * h;
        real *dg = dgates + r * 4 * h, *dcp = dc_prev + r * h;
        if (dc)
            PYNN_FN(lstm_bwd_row)(h, a, cp, dhr, dc + r * h, 1, dg, dcp);
        else
            PYNN_FN(lstm_bwd_row)(h, a, cp, dhr, NULL, 0, dg, dcp);
    });
}

static void PYNN_FN(gru_cell_fwd)(int64_t n, int64_t h, const real *gi, const real *gh,
                                  const real *h_prev, real *h_out, real *acts, int n_threads)
{
    FOR_EACH_ROW(n, h, {
        const real *PYNN_RESTRICT xi = gi + r * 3 * h, *PYNN_RESTRICT hh = gh + r * 3 * h;
        const real *PYNN_RESTRICT hp = h_prev + r * h;
        real *PYNN_RESTRICT a = acts + r * 4 * h, *PYNN_RESTRICT ho = h_out + r * h;
        PYNN_SIMD()
        for (int64_t j = 0; j < h; ++j) {
            const real rg = SIGMOID(xi[j] + hh[j]), z = SIGMOID(xi[h + j] + hh[h + j]);
            const real ghn = hh[2 * h + j], nn = TANH(xi[2 * h + j] + rg * ghn);
            a[j] = rg, a[h + j] = z, a[2 * h + j] = nn, a[3 * h + j] = ghn;
            ho[j] = (1 - z) * nn + z * hp[j];
        }
    });
}

static void PYNN_FN(gru_cell_bwd)(int64_t n, int64_t h, const real *acts, const real *h_prev,
                                  const real *dh, real *dgi, real *dgh, real *dh_prev,
                                  int n_threads)
{
    FOR_EACH_ROW(n, h, {
        const real *PYNN_RESTRICT a = acts + r * 4 * h, *PYNN_RESTRICT hp = h_prev + r * h;
        const real *PYNN_RESTRICT d = dh + r * h;
        real *PYNN_RESTRICT di = dgi + r * 3 * h, *PYNN_RESTRICT dhh = dgh + r * 3 * h;
        real *PYNN_RESTRICT dp = dh_prev + r * h;
        PYNN_SIMD()
        for (int64_t j = 0; j < h; ++j) {
            const real rg = a[j], z = a[h + j], nn = a[2 * h + j], ghn = a[3 * h + j];
            const real dn = d[j] * (1 - z) * (1 - nn * nn);
            const real dz = d[j] * (hp[j] - nn) * z * (1 - z);
            const real dr = dn * ghn * rg * (1 - rg);
            di[j] = dr, di[h + j] = dz, di[2 * h + j] = dn;
            dhh[j] = dr, dhh[h + j] = dz, dhh[2 * h + j] = dn * rg;
            dp[j] = d[j] * z;
        }
    });
}

#undef FOR_EACH_ROW
#undef TANH
#undef SIGMOID
#endif
