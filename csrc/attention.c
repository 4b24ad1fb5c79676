/* Written once for `real`: the template half below is instantiated for float and double
 * (pynn_template.h). Each problem is a few GEMMs around a row-wise pass; problems are shared
 * among the threads, or, when there are fewer problems than threads, each GEMM is threaded
 * instead. */
#ifndef PYNN_FN
#include <math.h>
#include <string.h>

#include "attention.h"
#include "gemm.h"
#include "softmax.h"

#define PYNN_TEMPLATE "attention.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */
#define GEMM PYNN_FN(pynn_gemm)
#define BCAST3 PYNN_FN(pynn_bcast3)

/* w := probs, times the dropout mask when there is one (w is then scratch). */
static const real *PYNN_FN(dropped)(int64_t i, int64_t l, int64_t s, const real *p, BCAST3 drop,
                                    real *w)
{
    if (!drop.data)
        return p;
    for (int64_t r = 0; r < l; ++r) {
        const real *d = drop.data + i * drop.sb + r * drop.sl;
        for (int64_t j = 0; j < s; ++j)
            w[r * s + j] = p[r * s + j] * d[j * drop.ss];
    }
    return w;
}

/* Problem i: probs_i := softmax(scale q_i k_i^T + mask_i), out_i := dropped(probs_i) v_i. */
static int PYNN_FN(forward_one)(int64_t i, int64_t l, int64_t s, int64_t e, int64_t ev,
                                const real *q, const real *k, const real *v, BCAST3 mask,
                                int causal, double scale, BCAST3 drop, real *out, real *probs,
                                real *scratch, int isa, int n_threads)
{
    real *p = probs + i * l * s;
    int status = GEMM(l, s, e, (real)scale, q + i * l * e, e, 1, k + i * s * e, 1, e, 0, p, s,
                      1, NULL, 0, 0, isa, n_threads);
    if (status != PYNN_OK)
        return status;
    for (int64_t r = 0; r < l; ++r) {
        real *row = p + r * s;
        if (mask.data) {
            const real *m = mask.data + i * mask.sb + r * mask.sl;
            for (int64_t j = 0; j < s; ++j)
                row[j] += m[j * mask.ss];
        }
        if (causal)
            for (int64_t j = r + 1; j < s; ++j)
                row[j] = -INFINITY;
    }
    pynn_softmax_kernels(isa)->PYNN_FN(softmax_rows_inplace)(l, s, p);
    const real *w = PYNN_FN(dropped)(i, l, s, p, drop, scratch);
    return GEMM(l, ev, s, 1, w, s, 1, v + i * s * ev, ev, 1, 0, out + i * l * ev, ev, 1, NULL,
                0, 0, isa, n_threads);
}

/* Problem i's gradients; scratch holds 2 l s values. */
static int PYNN_FN(backward_one)(int64_t i, int64_t l, int64_t s, int64_t e, int64_t ev,
                                 const real *q, const real *k, const real *v,
                                 const real *probs, const real *dout, double scale, BCAST3 drop,
                                 real *dq, real *dk, real *dv, real *scratch, int isa,
                                 int n_threads)
{
    const real *p = probs + i * l * s, *dyi = dout + i * l * ev;
    const real *qi = q + i * l * e, *ki = k + i * s * e, *vi = v + i * s * ev;
    real *ds = scratch + l * s;
    const real *w = PYNN_FN(dropped)(i, l, s, p, drop, scratch);
    int status = GEMM(s, ev, l, 1, w, 1, s, dyi, ev, 1, 0, dv + i * s * ev, ev, 1, NULL, 0, 0,
                      isa, n_threads); /* dv = w^T dout */
    if (status == PYNN_OK) /* d(weights) = dout v^T */
        status = GEMM(l, s, ev, 1, dyi, ev, 1, vi, 1, ev, 0, ds, s, 1, NULL, 0, 0, isa,
                      n_threads);
    if (status != PYNN_OK)
        return status;
    for (int64_t r = 0; r < l; ++r) { /* through dropout and softmax, times the scale */
        real *dr = ds + r * s;
        const real *pr = p + r * s;
        if (drop.data) {
            const real *d = drop.data + i * drop.sb + r * drop.sl;
            for (int64_t j = 0; j < s; ++j)
                dr[j] *= d[j * drop.ss];
        }
        pynn_softmax_kernels(isa)->PYNN_FN(softmax_bwd_row)(s, pr, dr, (real)scale, dr);
    }
    status = GEMM(l, e, s, 1, ds, s, 1, ki, e, 1, 0, dq + i * l * e, e, 1, NULL, 0, 0, isa,
                  n_threads); /* dq = ds k */
    if (status == PYNN_OK) /* dk = ds^T q */
        status = GEMM(s, e, l, 1, ds, 1, s, qi, e, 1, 0, dk + i * s * e, e, 1, NULL, 0, 0, isa,
                      n_threads);
    return status;
}

/* Runs one(i, scratch, isa, threads_per_gemm) for every problem: shared among the threads
 * when there are at least as many problems, else in turn with threaded GEMMs. */
#define FOR_EACH_PROBLEM(scratch_len, call)                                                   \
    int status = PYNN_OK;                                                                     \
    const int teams = b >= n_threads ? n_threads : 1;                                         \
    const int gemm_threads = teams > 1 ? 1 : n_threads;                                       \
    PYNN_OMP(parallel num_threads(teams) if(teams > 1))                                       \
    {                                                                                         \
        real *scratch = pynn_alloc_n(scratch_len, sizeof(real), 0);                            \
        int mine = scratch ? PYNN_OK : PYNN_ERR_NOMEM;                                        \
        PYNN_OMP(for schedule(dynamic))                                                       \
        for (int64_t i = 0; i < b; ++i)                                                       \
            if (mine == PYNN_OK)                                                              \
                mine = (call);                                                                \
        if (mine != PYNN_OK) {                                                                \
            PYNN_OMP(atomic write)                                                            \
            status = mine;                                                                    \
        }                                                                                     \
        pynn_free(scratch);                                                                   \
    }                                                                                         \
    return status;

int PYNN_FN(pynn_attention_fwd)(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                                const real *q, const real *k, const real *v, BCAST3 mask,
                                int causal, double scale, BCAST3 dropout, real *out,
                                real *probs, int isa, int n_threads)
{
    FOR_EACH_PROBLEM(dropout.data ? pynn_size_mul(l, s) : 0,
                     PYNN_FN(forward_one)(i, l, s, e, ev, q, k, v, mask, causal, scale,
                                          dropout, out, probs, scratch, isa, gemm_threads))
}

int PYNN_FN(pynn_attention_bwd)(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,
                                const real *q, const real *k, const real *v, const real *probs,
                                const real *dout, double scale, BCAST3 dropout, real *dq,
                                real *dk, real *dv, int isa, int n_threads)
{
    FOR_EACH_PROBLEM(pynn_size_mul(2, pynn_size_mul(l, s)),
                     PYNN_FN(backward_one)(i, l, s, e, ev, q, k, v, probs, dout, scale,
                                           dropout, dq, dk, dv, scratch, isa, gemm_threads))
}

#undef FOR_EACH_PROBLEM
#undef GEMM
#undef BCAST3
#endif
