/* A recurrent layer's whole recurrence in one call: for each of the L time steps, one GEMM of
 * the step's input and previous state with both weights and the cell kernel of rnn.h
 * (forward), or the cell's backward and the GEMM carrying the gradient to the previous step
 * (backward). The weight and input gradients after it are single GEMMs of the caller's.
 *
 * Layout (pynn/ops/recurrent.py states it for the caller; reference.py has the same contracts
 * in NumPy): every array is C-contiguous. hs and cs are (L + 2, n, h): step t reads h_prev and
 * c_prev from row t (forward) or t + 2 (reverse, steps from L - 1 down to 0) and writes its
 * state into row t + 1, so rows 1..L are the outputs in time order and the initial state sits
 * in row 0 (forward) or L + 1 (reverse). Gate blocks follow PyTorch's order (LSTM i, f, g, o;
 * GRU r, z, n).
 * Returns PYNN_OK, or PYNN_ERR_NOMEM when a scratch buffer could not be had (the outputs
 * then hold no result). */
#ifndef PYNN_RNN_SEQ_H
#define PYNN_RNN_SEQ_H

#include "pynn_common.h"

#define PYNN_RNN_SEQ_KERNELS(K, real, sfx)                                                         \
    /* x (L, n, d): the inputs; w_ih (4h, d), w_hh (4h, h), bias (4h) b_ih + b_hh or NULL;         \
     * hs, cs as above, initial rows read, output rows written; acts (L, n, 5h): each step's       \
     * cell activations for the backward, or NULL. */                                              \
    K(int, pynn_lstm_seq_fwd, (int64_t L, int64_t n, int64_t d, int64_t h, const real *x,          \
                               const real *w_ih, const real *w_hh, const real *bias, real *hs,     \
                               real *cs, real *acts, int reverse, int isa, int n_threads))         \
    /* From the forward's acts and cs: dout (L, n, h) reaches each output, dc_n (n, h) c_n (NULL:  \
     * zero). Writes dgates (L, n, 4h), the gradients of the pre-activations; dc0 (n, h), c_0's;   \
     * and unless NULL dh0 (n, h), h_0's. */                                                       \
    K(int, pynn_lstm_seq_bwd, (int64_t L, int64_t n, int64_t h, const real *acts, const real *cs,  \
                               const real *w_hh, const real *dout, const real *dc_n,               \
                               real *dgates, real *dc0, real *dh0, int reverse, int isa,           \
                               int n_threads))                                                     \
    /* GRU (gates r, z, n): x, w_ih (3h, d), w_hh (3h, h), b_ih, b_hh (3h) or NULL, hs as          \
     * above; acts (L, n, 4h) as gru_cell_fwd writes them, or NULL. */                             \
    K(int, pynn_gru_seq_fwd, (int64_t L, int64_t n, int64_t d, int64_t h, const real *x,           \
                              const real *w_ih, const real *w_hh, const real *b_ih,                \
                              const real *b_hh, real *hs, real *acts, int reverse, int isa,        \
                              int n_threads))                                                      \
    /* From the forward's acts and hs: dout (L, n, h); writes dgi, dgh (L, n, 3h), the             \
     * gradients of x W_ih^T + b_ih and of h_prev W_hh^T + b_hh, and unless NULL dh0. */           \
    K(int, pynn_gru_seq_bwd, (int64_t L, int64_t n, int64_t h, const real *acts,                   \
                              const real *hs, const real *w_hh, const real *dout, real *dgi,       \
                              real *dgh, real *dh0, int reverse, int isa, int n_threads))          \
    /* Elman RNN: h := act(x W_ih^T + h_prev W_hh^T + bias), act ReLU (relu != 0) or tanh;         \
     * w_ih (h, d), w_hh (h, h), bias (h) b_ih + b_hh or NULL. */                                  \
    K(int, pynn_rnn_seq_fwd, (int64_t L, int64_t n, int64_t d, int64_t h, const real *x,           \
                              const real *w_ih, const real *w_hh, const real *bias, real *hs,      \
                              int relu, int reverse, int isa, int n_threads))                      \
    /* From the forward's hs: dout (L, n, h); writes dgates (L, n, h), the gradients of the        \
     * pre-activations, and unless NULL dh0. */                                                    \
    K(int, pynn_rnn_seq_bwd, (int64_t L, int64_t n, int64_t h, const real *hs,                     \
                              const real *w_hh, const real *dout, real *dgates, real *dh0,         \
                              int relu, int reverse, int isa, int n_threads))

PYNN_DECLARE_PROTOS(PYNN_RNN_SEQ_KERNELS)

#endif
