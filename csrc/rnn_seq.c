/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h).
 *
 * A batch row's state depends only on that row's earlier states, so the rows are shared among
 * the threads once and each thread runs every time step on its own rows, with single-threaded
 * GEMMs and cell kernels: no barrier between steps. Threading each step's GEMM instead would
 * meet two barriers a step, hundreds a sequence, each waiting for the slowest thread. */
#ifndef PYNN_FN
#include "rnn_seq.h"
#include "activation.h"
#include "gemm.h"
#include "rnn.h"

/* Threads get at least this many multiply-adds of the whole sequence each: below it, opening
 * the team costs more than the thread saves (the same order as one GEMM's per-thread share). */
#define PYNN_RNN_SEQ_MIN_FMAS_PER_THREAD ((int64_t)1 << 17)

/* Threads for L steps of n rows whose GEMMs are gate_cols wide and k deep. */
static int seq_threads(int64_t L, int64_t n, int64_t gate_cols, int64_t k, int n_threads)
{
    const int64_t fmas = L * n * gate_cols * k;
    int64_t nt = PYNN_MIN((int64_t)n_threads, n);
    nt = PYNN_MIN(nt, fmas / PYNN_RNN_SEQ_MIN_FMAS_PER_THREAD);
    return nt < 1 ? 1 : (int)nt;
}

/* The scratch each batch row needs, in elements (see seq_args). */
#define LSTM_FWD_SCRATCH(d, h, own_acts) ((d) + 5 * (h) + ((own_acts) ? 5 * (h) : 0))
#define LSTM_BWD_SCRATCH(h) (3 * (h))
#define GRU_FWD_SCRATCH(h, own_acts) (6 * (h) + ((own_acts) ? 4 * (h) : 0))
#define GRU_BWD_SCRATCH(h) (2 * (h))
#define RNN_SCRATCH(h) (h)

/* The rows [*r0, *r1) of n that thread tid of nt runs. */
static void seq_rows(int64_t n, int tid, int nt, int64_t *r0, int64_t *r1)
{
    *r0 = n * tid / nt;
    *r1 = n * (tid + 1) / nt;
}

#define PYNN_TEMPLATE "rnn_seq.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */
#define GEMM PYNN_FN(pynn_gemm_packed)
#define ROW_BYTES(rows, h) (sizeof(real) * (size_t)((rows) * (h)))

/* One call's arguments; a thread runs rows [r0, r1) of them. */
typedef struct {
    int64_t L, n, d, h, off;
    int reverse, isa, relu;
    const pynn_rnn_desc *cells;
    const pynn_activation_desc *act;
    const real *x;
    /* Forward: W_ih^T (d, G h) and W_hh^T (h, G h), row-major (the LSTM's w_in is
     * [W_ih W_hh]^T, (d + h, 4h), and w_rec unused); backward: w_rec is W_hh (G h, h). */
    const real *w_in, *w_rec;
    /* The same packed for the GEMMs (pynn_gemm_pack_b), once a call: the weights are the B of
     * every step's products, which each step would pack again. */
    const real *bp_in, *bp_rec;
    const real *b_in, *b_rec; /* the LSTM's and RNN's b_in is b_ih + b_hh */
    real *hs, *cs, *acts;     /* forward: acts NULL means the scratch takes them */
    real *scratch;            /* per row: the *_SCRATCH sizes above */
    const real *dout, *dc_n;
    real *dgates, *dgates_rec, *dc0, *dh0; /* dgates_rec: the GRU's recurrent-side dgh */
} PYNN_FN(seq_args);

/* Step t of s (0, 1, ...) forward, and the step that comes after t going backward. */
static inline int64_t PYNN_FN(fwd_step)(const PYNN_FN(seq_args) *q, int64_t s)
{
    return q->reverse ? q->L - 1 - s : s;
}
static inline int64_t PYNN_FN(bwd_step)(const PYNN_FN(seq_args) *q, int64_t s)
{
    return q->reverse ? s : q->L - 1 - s;
}

/* After step s of the backward: h_prev's gradient through the recurrent product, dg W_hh
 * (dg rows of gate_cols), plus what reaches h_prev directly (`direct`, or nothing when NULL),
 * into dh with the output gradient of the step visited next, or after the last step into dh0
 * (unless NULL). */
static int PYNN_FN(carry_back)(const PYNN_FN(seq_args) *q, int64_t s, int64_t r0, int64_t rows,
                               const real *dg, int64_t gate_cols, const real *direct, real *dh)
{
    const int64_t n = q->n, h = q->h;
    real *target = dh;
    if (s < q->L - 1) {
        const real *out = q->dout + (PYNN_FN(bwd_step)(q, s + 1) * n + r0) * h;
        if (direct)
            for (int64_t i = 0; i < rows * h; ++i)
                dh[i] = out[i] + direct[i];
        else
            memcpy(dh, out, ROW_BYTES(rows, h));
    } else if (q->dh0) {
        target = q->dh0 + r0 * h;
        if (direct)
            memcpy(target, direct, ROW_BYTES(rows, h));
    } else {
        return PYNN_OK;
    }
    const real beta = target == dh || direct ? 1 : 0;
    return GEMM(rows, h, gate_cols, 1, dg, gate_cols, 1, q->bp_rec, beta, target, h, NULL, 0, 0,
                q->isa, 1);
}

static int PYNN_FN(lstm_fwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, d = q->d, h = q->h, g4 = 4 * h, k = d + h, rows = r1 - r0;
    real *xh = q->scratch + r0 * LSTM_FWD_SCRATCH(d, h, !q->acts), *g = xh + rows * k;
    real *own_acts = g + rows * g4;
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(fwd_step)(q, s);
        const int64_t prev = ((t + q->off) * n + r0) * h, next = ((t + 1) * n + r0) * h;
        for (int64_t r = 0; r < rows; ++r) {
            memcpy(xh + r * k, q->x + (t * n + r0 + r) * d, sizeof(real) * (size_t)d);
            memcpy(xh + r * k + d, q->hs + prev + r * h, sizeof(real) * (size_t)h);
        }
        /* The step's input projection and recurrent product in one GEMM (k = d + h): its
         * gates stay in cache for the cell, where a projection of every step made ahead
         * would come back from memory, and a short k alone runs the GEMM slowly. */
        int status = GEMM(rows, g4, k, 1, xh, k, 1, q->bp_in, 0, g, g4, q->b_in, 1, 0, q->isa, 1);
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
    real *dh = q->scratch + r0 * LSTM_BWD_SCRATCH(h);
    real *dc_buf[2] = {dh + rows * h, dh + 2 * rows * h};
    const real *dc_in = q->dc_n ? q->dc_n + r0 * h : NULL;
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(bwd_step)(q, s);
        if (s == 0)
            memcpy(dh, q->dout + (t * n + r0) * h, ROW_BYTES(rows, h));
        real *dg = q->dgates + (t * n + r0) * g4;
        real *dc_out = s == q->L - 1 ? q->dc0 + r0 * h : dc_buf[s & 1];
        q->cells->PYNN_FN(lstm_cell_bwd)(rows, h, q->acts + (t * n + r0) * 5 * h,
                                         q->cs + ((t + q->off) * n + r0) * h, dh, dc_in, dg,
                                         dc_out, 1);
        dc_in = dc_out;
        const int status = PYNN_FN(carry_back)(q, s, r0, rows, dg, g4, NULL, dh);
        if (status != PYNN_OK)
            return status;
    }
    return PYNN_OK;
}

static int PYNN_FN(gru_fwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, d = q->d, h = q->h, g3 = 3 * h, rows = r1 - r0;
    real *gi = q->scratch + r0 * GRU_FWD_SCRATCH(h, !q->acts), *gh = gi + rows * g3;
    real *own_acts = gh + rows * g3;
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(fwd_step)(q, s);
        const int64_t prev = ((t + q->off) * n + r0) * h, next = ((t + 1) * n + r0) * h;
        /* Two GEMMs: the new gate takes the recurrent product times the reset gate. */
        int status = GEMM(rows, g3, d, 1, q->x + (t * n + r0) * d, d, 1, q->bp_in, 0, gi, g3,
                          q->b_in, 1, 0, q->isa, 1);
        if (status == PYNN_OK)
            status = GEMM(rows, g3, h, 1, q->hs + prev, h, 1, q->bp_rec, 0, gh, g3, q->b_rec, 1, 0,
                          q->isa, 1);
        if (status != PYNN_OK)
            return status;
        real *a = q->acts ? q->acts + (t * n + r0) * 4 * h : own_acts;
        q->cells->PYNN_FN(gru_cell_fwd)(rows, h, gi, gh, q->hs + prev, q->hs + next, a, 1);
    }
    return PYNN_OK;
}

static int PYNN_FN(gru_bwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, h = q->h, g3 = 3 * h, rows = r1 - r0;
    real *dh = q->scratch + r0 * GRU_BWD_SCRATCH(h), *direct = dh + rows * h;
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(bwd_step)(q, s);
        if (s == 0)
            memcpy(dh, q->dout + (t * n + r0) * h, ROW_BYTES(rows, h));
        real *dgi = q->dgates + (t * n + r0) * g3, *dgh = q->dgates_rec + (t * n + r0) * g3;
        q->cells->PYNN_FN(gru_cell_bwd)(rows, h, q->acts + (t * n + r0) * 4 * h,
                                        q->hs + ((t + q->off) * n + r0) * h, dh, dgi, dgh, direct,
                                        1);
        /* h_prev's gradient: the part through z (direct) plus the one through gh. */
        const int status = PYNN_FN(carry_back)(q, s, r0, rows, dgh, g3, direct, dh);
        if (status != PYNN_OK)
            return status;
    }
    return PYNN_OK;
}

static int PYNN_FN(rnn_fwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, d = q->d, h = q->h, rows = r1 - r0;
    real *pre = q->scratch + r0 * RNN_SCRATCH(h);
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(fwd_step)(q, s);
        real *out = q->hs + ((t + 1) * n + r0) * h;
        /* ReLU is the second GEMM's epilogue, written straight into the state; tanh, a
         * kernel of its own, reads the sum from scratch. */
        real *sum = q->relu ? out : pre;
        int status = GEMM(rows, h, d, 1, q->x + (t * n + r0) * d, d, 1, q->bp_in, 0, sum, h,
                          q->b_in, 1, 0, q->isa, 1);
        if (status == PYNN_OK)
            status = GEMM(rows, h, h, 1, q->hs + ((t + q->off) * n + r0) * h, h, 1, q->bp_rec, 1,
                          sum, h, NULL, 0, q->relu, q->isa, 1);
        if (status != PYNN_OK)
            return status;
        if (!q->relu)
            q->act->PYNN_FN(tanh_fwd)(rows * h, pre, out, 1);
    }
    return PYNN_OK;
}

static int PYNN_FN(rnn_bwd_rows)(const PYNN_FN(seq_args) *q, int64_t r0, int64_t r1)
{
    const int64_t n = q->n, h = q->h, rows = r1 - r0;
    real *dh = q->scratch + r0 * RNN_SCRATCH(h);
    for (int64_t s = 0; s < q->L; ++s) {
        const int64_t t = PYNN_FN(bwd_step)(q, s);
        if (s == 0)
            memcpy(dh, q->dout + (t * n + r0) * h, ROW_BYTES(rows, h));
        real *dg = q->dgates + (t * n + r0) * h;
        const real *y = q->hs + ((t + 1) * n + r0) * h;
        if (q->relu)
            q->act->PYNN_FN(relu_bwd)(rows * h, y, dh, dg, 1);
        else
            q->act->PYNN_FN(tanh_bwd)(rows * h, y, dh, dg, 1);
        const int status = PYNN_FN(carry_back)(q, s, r0, rows, dg, h, NULL, dh);
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

typedef void (*PYNN_FN(fill_fn))(PYNN_FN(seq_args) *q, real *wt, const real *w_ih,
                                  const real *w_hh, int64_t gate_cols);

/* B (k x n, rows rsb apart) packed for the GEMMs, NULL when out of memory. */
static real *PYNN_FN(packed)(int64_t k, int64_t n, const real *b, int64_t rsb, int isa)
{
    /* At least one element: an input of no features (d = 0) packs nothing. */
    const int64_t len = PYNN_FN(pynn_gemm_packed_b_len)(k, n, isa);
    real *bp = pynn_alloc_n(len == 0 ? 1 : len, sizeof(real), 0);
    if (bp)
        PYNN_FN(pynn_gemm_pack_b)(k, n, b, rsb, 1, isa, bp);
    return bp;
}

/* Allocates the scratch (row_scratch elements a row) and, for a forward (fill not NULL), the
 * transposed weights ((d + h) x gate_cols), which `fill` writes and points q at; packs the
 * weights the steps multiply by (a backward's: W_hh, gate_cols x h); runs the rows; frees
 * all. */
static int PYNN_FN(run)(int (*rows)(const PYNN_FN(seq_args) *, int64_t, int64_t),
                        PYNN_FN(seq_args) *q, int64_t row_scratch, PYNN_FN(fill_fn) fill,
                        const real *w_ih, const real *w_hh, int64_t gate_cols, int n_threads)
{
    real *wt = fill ? pynn_alloc_n((q->d + q->h) * gate_cols, sizeof(real), 0) : NULL;
    real *bp_in = NULL, *bp_rec = NULL;
    q->scratch = pynn_alloc_n(q->n * row_scratch, sizeof(real), 0);
    int status = PYNN_ERR_NOMEM;
    if ((wt || !fill) && q->scratch) {
        if (fill) {
            fill(q, wt, w_ih, w_hh, gate_cols);
            /* Joint (the LSTM's [W_ih W_hh]^T, no w_rec) or apart. */
            const int64_t k_in = q->w_rec ? q->d : q->d + q->h;
            bp_in = PYNN_FN(packed)(k_in, gate_cols, q->w_in, gate_cols, q->isa);
            if (q->w_rec)
                bp_rec = PYNN_FN(packed)(q->h, gate_cols, q->w_rec, gate_cols, q->isa);
        } else {
            bp_rec = PYNN_FN(packed)(gate_cols, q->h, q->w_rec, q->h, q->isa);
        }
        q->bp_in = bp_in, q->bp_rec = bp_rec;
        if ((bp_in || !fill) && (bp_rec || (fill && !q->w_rec)))
            status = PYNN_FN(over_rows)(rows, q, seq_threads(q->L, q->n, gate_cols,
                                                             q->d + q->h, n_threads));
    }
    pynn_free(wt);
    pynn_free(bp_in);
    pynn_free(bp_rec);
    pynn_free(q->scratch);
    return status;
}

/* [W_ih W_hh]^T, (d + h, 4h), for the LSTM's one GEMM a step: one matrix for run() to pack
 * (the two as stored would be two B operands, each transposed). */
static void PYNN_FN(fill_joint)(PYNN_FN(seq_args) *q, real *wt, const real *w_ih,
                                const real *w_hh, int64_t gates)
{
    PYNN_FN(pynn_transpose)(gates, q->d, w_ih, q->d, wt, gates);
    PYNN_FN(pynn_transpose)(gates, q->h, w_hh, q->h, wt + q->d * gates, gates);
    q->w_in = wt;
}

/* The same rows read as W_ih^T (d, G h) and W_hh^T (h, G h), for two GEMMs a step. */
static void PYNN_FN(fill_apart)(PYNN_FN(seq_args) *q, real *wt, const real *w_ih,
                                const real *w_hh, int64_t gates)
{
    PYNN_FN(fill_joint)(q, wt, w_ih, w_hh, gates);
    q->w_rec = wt + q->d * gates;
}

int PYNN_FN(pynn_lstm_seq_fwd)(int64_t L, int64_t n, int64_t d, int64_t h, const real *x,
                               const real *w_ih, const real *w_hh, const real *bias, real *hs,
                               real *cs, real *acts, int reverse, int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .d = d, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .cells = pynn_rnn_kernels(isa),
                           .x = x, .b_in = bias, .hs = hs, .cs = cs, .acts = acts};
    return PYNN_FN(run)(PYNN_FN(lstm_fwd_rows), &q, LSTM_FWD_SCRATCH(d, h, !acts),
                        PYNN_FN(fill_joint), w_ih, w_hh, 4 * h, n_threads);
}

/* The backward entries share seq_args with the forward ones, which write acts, hs and cs:
 * the casts drop const from arrays the backward only reads. */
int PYNN_FN(pynn_lstm_seq_bwd)(int64_t L, int64_t n, int64_t h, const real *acts,
                               const real *cs, const real *w_hh, const real *dout,
                               const real *dc_n, real *dgates, real *dc0, real *dh0, int reverse,
                               int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .cells = pynn_rnn_kernels(isa),
                           .cs = (real *)cs, .acts = (real *)acts, .w_rec = w_hh,
                           .dout = dout, .dc_n = dc_n, .dgates = dgates, .dc0 = dc0,
                           .dh0 = dh0};
    return PYNN_FN(run)(PYNN_FN(lstm_bwd_rows), &q, LSTM_BWD_SCRATCH(h), NULL, NULL, NULL,
                        4 * h, n_threads);
}

int PYNN_FN(pynn_gru_seq_fwd)(int64_t L, int64_t n, int64_t d, int64_t h, const real *x,
                              const real *w_ih, const real *w_hh, const real *b_ih,
                              const real *b_hh, real *hs, real *acts, int reverse, int isa,
                              int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .d = d, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .cells = pynn_rnn_kernels(isa),
                           .x = x, .b_in = b_ih, .b_rec = b_hh, .hs = hs, .acts = acts};
    return PYNN_FN(run)(PYNN_FN(gru_fwd_rows), &q, GRU_FWD_SCRATCH(h, !acts),
                        PYNN_FN(fill_apart), w_ih, w_hh, 3 * h, n_threads);
}

int PYNN_FN(pynn_gru_seq_bwd)(int64_t L, int64_t n, int64_t h, const real *acts,
                              const real *hs, const real *w_hh, const real *dout, real *dgi,
                              real *dgh, real *dh0, int reverse, int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .cells = pynn_rnn_kernels(isa),
                           .hs = (real *)hs, .acts = (real *)acts, .w_rec = w_hh,
                           .dout = dout, .dgates = dgi, .dgates_rec = dgh, .dh0 = dh0};
    return PYNN_FN(run)(PYNN_FN(gru_bwd_rows), &q, GRU_BWD_SCRATCH(h), NULL, NULL, NULL, 3 * h,
                        n_threads);
}

int PYNN_FN(pynn_rnn_seq_fwd)(int64_t L, int64_t n, int64_t d, int64_t h, const real *x,
                              const real *w_ih, const real *w_hh, const real *bias, real *hs,
                              int relu, int reverse, int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .d = d, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .relu = relu,
                           .act = pynn_activation_kernels(isa), .x = x, .b_in = bias, .hs = hs};
    return PYNN_FN(run)(PYNN_FN(rnn_fwd_rows), &q, RNN_SCRATCH(h), PYNN_FN(fill_apart), w_ih,
                        w_hh, h, n_threads);
}

int PYNN_FN(pynn_rnn_seq_bwd)(int64_t L, int64_t n, int64_t h, const real *hs,
                              const real *w_hh, const real *dout, real *dgates, real *dh0,
                              int relu, int reverse, int isa, int n_threads)
{
    if (L <= 0 || n <= 0 || h <= 0)
        return PYNN_OK;
    PYNN_FN(seq_args) q = {.L = L, .n = n, .h = h, .off = reverse ? 2 : 0,
                           .reverse = reverse, .isa = isa, .relu = relu,
                           .act = pynn_activation_kernels(isa), .hs = (real *)hs,
                           .w_rec = w_hh, .dout = dout, .dgates = dgates, .dh0 = dh0};
    return PYNN_FN(run)(PYNN_FN(rnn_bwd_rows), &q, RNN_SCRATCH(h), NULL, NULL, NULL, h,
                        n_threads);
}

#undef ROW_BYTES
#undef GEMM
#endif
