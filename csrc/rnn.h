/* The element-wise part of one recurrent time step, forward and backward, for n rows (batch)
 * of hidden size h; the GEMMs around it are the caller's. Every array is C-contiguous, rows of
 * (blocks x h) values; gate blocks follow PyTorch's order so its weights apply unchanged.
 * pynn/backend/reference.py states the same contracts in NumPy. rnn.c is compiled once per
 * instruction set (see simd_isa.h) and exports the kernels as pynn_rnn_desc_<isa>; callers
 * take theirs from pynn_rnn_kernels(isa). */
#ifndef PYNN_RNN_H
#define PYNN_RNN_H

#include "pynn_common.h"

#define PYNN_RNN_KERNELS(K, real, sfx)                                                             \
    /* gates (n, 4h): pre-activations, blocks input, forget, cell, output. c := f c_prev + i g,    \
     * h := o tanh(c); acts (n, 5h) := [i, f, g, o, tanh(c)] for the backward. */                  \
    K(void, lstm_cell_fwd, (int64_t n, int64_t h, const real *gates, const real *c_prev,           \
                            real *h_out, real *c_out, real *acts, int n_threads))                  \
    /* dh, dc (n, h) reach h and c (dc NULL: zero); writes dgates (n, 4h), dc_prev (n, h). */      \
    K(void, lstm_cell_bwd, (int64_t n, int64_t h, const real *acts, const real *c_prev,            \
                            const real *dh, const real *dc, real *dgates, real *dc_prev,           \
                            int n_threads))                                                        \
    /* gi, gh (n, 3h): x W_ih^T + b_ih and h_prev W_hh^T + b_hh, blocks reset, update, new.        \
     * h := (1 - z) nn + z h_prev; acts (n, 4h) := [r, z, nn, gh_new]. */                          \
    K(void, gru_cell_fwd, (int64_t n, int64_t h, const real *gi, const real *gh,                   \
                           const real *h_prev, real *h_out, real *acts, int n_threads))            \
    /* Writes dgi, dgh (n, 3h) and dh_prev (n, h) := dh z, the part of h_prev's gradient that      \
     * does not pass through gh (the caller adds dgh W_hh). */                                     \
    K(void, gru_cell_bwd, (int64_t n, int64_t h, const real *acts, const real *h_prev,             \
                           const real *dh, real *dgi, real *dgh, real *dh_prev, int n_threads))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_RNN_KERNELS)
} pynn_rnn_desc;

PYNN_DECLARE_DESCS(rnn)

#endif
