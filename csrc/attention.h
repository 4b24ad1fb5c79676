/* Scaled dot-product attention over b independent problems (batch x heads), forward and
 * backward, on contiguous arrays: q (b, l, e), k (b, s, e), v (b, s, ev), out and dout
 * (b, l, ev), probs (b, l, s). pynn/backend/reference.py states the same contract in NumPy.
 *
 * A mask is a pynn_bcast3: NULL data, or a (b, l, s) array given by its element strides, a
 * stride of 0 repeating it along that axis (how a (l, s) or (b, 1, s) mask is passed without
 * being copied). The additive mask is added to the scores; causal hides key j from query i
 * when j > i; a query that sees no key gets weights 0. The dropout mask multiplies the
 * probabilities before they weight v; probs holds them before dropout.
 * Returns PYNN_OK, or PYNN_ERR_NOMEM before writing anything. */
#ifndef PYNN_ATTENTION_H
#define PYNN_ATTENTION_H

#include "pynn_common.h"

#define PYNN_DECLARE_ATTENTION(real, sfx)                                                       \
    typedef struct {                                                                           \
        const real *data;                                                                      \
        int64_t sb, sl, ss;                                                                    \
    } pynn_bcast3_##sfx;                                                                       \
    int pynn_attention_fwd_##sfx(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,        \
                                 const real *q, const real *k, const real *v,                  \
                                 pynn_bcast3_##sfx mask, int causal, double scale,             \
                                 pynn_bcast3_##sfx dropout, real *out, real *probs, int isa,   \
                                 int n_threads);                                               \
    int pynn_attention_bwd_##sfx(int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,        \
                                 const real *q, const real *k, const real *v,                  \
                                 const real *probs, const real *dout, double scale,            \
                                 pynn_bcast3_##sfx dropout, real *dq, real *dk, real *dv,      \
                                 int isa, int n_threads);

PYNN_DECLARE_ATTENTION(float, f32)
PYNN_DECLARE_ATTENTION(double, f64)
#undef PYNN_DECLARE_ATTENTION

#endif
