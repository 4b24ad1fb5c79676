/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h).
 *
 * A batch row's state depends only on that row's earlier states, so the rows are shared among
 * the threads once and each thread runs every time step on its own rows, with single-threaded
 * GEMMs and cell kernels: no barrier between steps. Threading each step's GEMM instead would
 * meet two barriers a step, hundreds a sequence, each waiting for the slowest thread. */
#ifndef PYNN_FN
#include "rnn_seq.h"
#include "gemm.h"
#include "rnn.h"

/* Threads get at least this many multiply-adds of the whole sequence each: below it, opening
 * the team costs more than the thread saves (the same order as one GEMM's per-thread share). */
#define PYNN_RNN_SEQ_MIN_FMAS_PER_THREAD ((int64_t)1 << 17)

static int seq_threads(int64_t L, int64_t n, int64_t gate_cols, int64_t h, int n_threads)
{
    const int64_t fmas = L * n * gate_cols * h;
    int64_t nt = PYNN_MIN((int64_t)n_threads, n);
    nt = PYNN_MIN(nt, fmas / PYNN_RNN_SEQ_MIN_FMAS_PER_THREAD);
    return nt < 1 ? 1 : (int)nt;
}

/* The rows [*r0, *r1) of n that thread tid of nt runs. */
static void seq_rows(int64_t n, int tid, int nt, int64_t *r0, int64_t *r1)
{
    *r0 = n * tid / nt;
    *r1 = n * (tid + 1) / nt;
}

#define PYNN_TEMPLATE "rnn_seq.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */
#define GEMM PYNN_FN(pynn_gemm)

/* One call's arguments; a thread runs rows [r0, r1) of them. */
typedef struct {
    int64_t L, n, d, h, off;
    int reverse, isa;
    const pynn_rnn_desc *cells;
    const real *x, *bias;
    real *hs, *cs, *acts;
    const real *w;  /* forward: [W_ih W_hh]^T (d + h, 4h); backward: W_hh (4h, h) */
    real *scratch;  /* forward: per row [x_t h_prev] (d + h), gates (4h), and unless acts
                     * is given acts (5h); backward: per row dh and two dc (3h) */
    const real *dout, *dc_n;
    real *dgates, *dc0, *dh0;
} PYNN_FN(seq_args);

/* The scratch a forward row needs (see seq_args). */
#define FWD_ROW_SCRATCH(d, h, own_acts) ((d) + (h) + 4 * (h) + ((own_acts) ? 5 * (h) : 0))

static int PYNN_FN(lstm_fwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, d = q->d, h = q->h, g4 = 4 * h, k = d + h, rows = r1 - r0;
    real *xh = q->scratch + r0 * FWD_ROW_SCRATCH(d, h, !q->acts), *g = xh + rows * k;
    real *own_acts = g + rows * g4;
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = q->reverse ? q->L - 1 - s : s;
        const int64_t prev = ((t + q->off) * n + r0) * h, next = ((t + 1) * n + r0) * h;
        for (int64_t r = 0; r < rows; ++r) {
            memcpy(xh + r * k, q->x + (t * n + r0 + r) * d, sizeof(real) * (size_t)d);
            memcpy(xh + r * k + d, q->hs + prev + r * h, sizeof(real) * (size_t)h);
        }
        /* The step's input projection and recurrent product in one GEMM (k = d + h): its
         * gates stay in cache for the cell, where a projection of every step made ahead
         * would come back from memory, and a short k alone runs the GEMM slowly. */
        int status = GEMM(rows, g4, k, 1, xh, k, 1, q->w, g4, 1, 0, g, g4, 1, q->bias, 1, 0,
                          q->isa, 1);
        if (status != PYNN_OK)
            return status;
        real *a = q->acts ? q->acts + (t * n + r0) * 5 * h : own_acts;
        q->cells->PYNN_FN(lstm_cell_fwd)(rows, h, g, q->cs + prev, q->hs + next, q->cs + next,
                                         a, 1);
    }
    return PYNN_OK;
}

static int PYNN_FN(lstm_bwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, h = q->h, g4 = 4 * h, rows = r1 - r0;
    real *dh = q->scratch + 3 * r0 * h, *dc_buf[2] = {dh + rows * h, dh + 2 * rows * h};
    const real *dc_in = q->dc_n ? q->dc_n + r0 * h : NULL;
    const size_t row_bytes = sizeof(real) * (size_t)(rows * h);
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = q->reverse ? s : q->L - 1 - s;
        if (s == 0)
            memcpy(dh, q->dout + (t * n + r0) * h, row_bytes);
        real *dg = q->dgates + (t * n + r0) * g4;
        real *dc_out = s == q->L - 1 ? q->dc0 + r0 * h : dc_buf[s & 1];
        q->cells->PYNN_FN(lstm_cell_bwd)(rows, h, q->acts + (t * n + r0) * 5 * h,
                                         q->cs + ((t + q->off) * n + r0) * h, dh, dc_in, dg,
                                         dc_out, 1);
        dc_in = dc_out;
        int status = PYNN_OK;
        if (s < q->L - 1) {
            const int64_t t_next = q->reverse ? t + 1 : t - 1;
            memcpy(dh, q->dout + (t_next * n + r0) * h, row_bytes);
            status = GEMM(rows, h, g4, 1, dg, g4, 1, q->w, h, 1, 1, dh, h, 1, NULL, 0, 0, q->isa,
                          1);
        } else if (q->dh0) {
            status = GEMM(rows, h, g4, 1, dg, g4, 1, q->w, h, 1, 0, q->dh0 + r0 * h, h, 1, NULL,
                          0, 0, q->isa, 1);
        }
        if (status != PYNN_OK)
            return status;
    }
    return PYNN_OK;
}

/* Runs rows(q, r0, r1) over the batch's rows, on nt threads (each its share) or on one. */
static int PYNN_FN(over_rows)(int (*rows)(const PYNN_FN(seq_args) *, int64_t, int64_t),
                              const PYNN_FN(seq_args) *q, int nt)
{
    if (nt == 1)
        return rows(q, 0, q->n);
    int status = PYNN_OK;
    PYNN_OMP(parallel num_threads(nt))
    {
        int64_t r0, r1;
        seq_rows(q->n, pynn_thread_id(), pynn_team_size(), &r0, &r1);
        const int mine = r1 > r0 ? rows(q, r0, r1) : PYNN_OK;
        if (mine != PYNN_OK) {
            PYNN_OMP(atomic write)
            status = mine;
        }
    }
    return status;
}

int PYNN_FN(pynn_lstm_seq_fwd)(int64_t L, int64_t n, int64_t d, int64_t h, const real *x,
                               const real *w_ih, const real *w_hh, const real *bias, real *hs,
                               real *cs, real *acts, int reverse, int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    const int64_t g4 = 4 * h, k = d + h;
    /* [W_ih W_hh]^T row-major: the GEMM reads a row-major B in place, or packs it by
     * straight copies, where the weights as stored would be transposed again every step. */
    real *wt = pynn_alloc_n(k * g4, sizeof(real), 0);
    real *scratch = pynn_alloc_n(n * FWD_ROW_SCRATCH(d, h, !acts), sizeof(real), 0);
    int status = PYNN_ERR_NOMEM;
    if (wt && scratch) {
        for (int64_t j = 0; j < g4; ++j) {
            for (int64_t p = 0; p < d; ++p)
                wt[p * g4 + j] = w_ih[j * d + p];
            for (int64_t p = 0; p < h; ++p)
                wt[(d + p) * g4 + j] = w_hh[j * h + p];
        }
        const PYNN_FN(seq_args) q = {.L = L, .n = n, .d = d, .h = h, .off = reverse ? 2 : 0,
                                     .reverse = reverse, .isa = isa,
                                     .cells = pynn_rnn_kernels(isa), .x = x, .bias = bias,
                                     .hs = hs, .cs = cs, .acts = acts, .w = wt,
                                     .scratch = scratch};
        status = PYNN_FN(over_rows)(PYNN_FN(lstm_fwd_rows), &q,
                                    seq_threads(L, n, g4, k, n_threads));
    }
    pynn_free(wt);
    pynn_free(scratch);
    return status;
}

int PYNN_FN(pynn_lstm_seq_bwd)(int64_t L, int64_t n, int64_t h, const real *acts,
                               const real *cs, const real *w_hh, const real *dout,
                               const real *dc_n, real *dgates, real *dc0, real *dh0, int reverse,
                               int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    real *scratch = pynn_alloc_n(3 * n * h, sizeof(real), 0);
    if (!scratch)
        return PYNN_ERR_NOMEM;
    /* The arguments' struct is shared with the forward, which writes acts and cs: the casts
     * drop const from arrays the backward only reads. */
    const PYNN_FN(seq_args) q = {.L = L, .n = n, .h = h, .off = reverse ? 2 : 0,
                                 .reverse = reverse, .isa = isa, .cells = pynn_rnn_kernels(isa),
                                 .cs = (real *)cs, .acts = (real *)acts, .w = w_hh,
                                 .scratch = scratch, .dout = dout, .dc_n = dc_n,
                                 .dgates = dgates, .dc0 = dc0, .dh0 = dh0};
    const int status = PYNN_FN(over_rows)(PYNN_FN(lstm_bwd_rows), &q,
                                          seq_threads(L, n, 4 * h, h, n_threads));
    pynn_free(scratch);
    return status;
}

#undef GEMM
#endif
