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

/* The mask's and dropout's arrays, for each precision. */
typedef struct {
    const float *data;
    int64_t sb, sl, ss;
} pynn_bcast3_f32;
typedef struct {
    const double *data;
    int64_t sb, sl, ss;
} pynn_bcast3_f64;

#define PYNN_ATTENTION_KERNELS(K, real, sfx)                                                       \
    K(int, pynn_attention_fwd, (int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,            \
                                const real *q, const real *k, const real *v,                       \
                                pynn_bcast3_##sfx mask, int causal, double scale,                  \
                                pynn_bcast3_##sfx dropout, real *out, real *probs, int isa,        \
                                int n_threads))                                                    \
    K(int, pynn_attention_bwd, (int64_t b, int64_t l, int64_t s, int64_t e, int64_t ev,            \
                                const real *q, const real *k, const real *v, const real *probs,    \
                                const real *dout, double scale, pynn_bcast3_##sfx dropout,         \
                                real *dq, real *dk, real *dv, int isa, int n_threads))

PYNN_DECLARE_PROTOS(PYNN_ATTENTION_KERNELS)

#endif
