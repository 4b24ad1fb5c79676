"""Recurrent layers over a whole sequence: one graph node per layer and direction.

Each Function runs one direction of one layer over all L time steps:

- forward: one kernel call runs every step (``K.lstm_sequence_forward``,
  ``K.gru_sequence_forward``, ``K.rnn_sequence_forward``), each step the GEMMs of the step's
  input and previous state with the weights and the cell (or the activation);
- backward: one kernel call runs the steps in reverse (the cell's backward and the GEMM
  carrying the gradient to the previous state); then the weight gradients are one GEMM each
  over all steps at once (``dW_hh = dG^T H_prev``, ``dW_ih = dG^T X`` with dG stacked
  (L*N, gates)), the biases one ``bias_grad``, and the input gradient one GEMM ``dG @ W_ih``.

Arguments (checked by :mod:`pynn.nn.recurrent`): ``x`` (L, N, H_in), ``h0``/``c0`` (N, H) or None
(zeros), ``w_ih`` (G*H, H_in), ``w_hh`` (G*H, H), ``b_ih``/``b_hh`` (G*H,) or both None,
``reverse`` (run from t = L-1 down to 0), all of one float dtype. Gate blocks are PyTorch's:
LSTM ``i, f, g, o``; GRU ``r, z, n``.

State layout. The hidden states live in one array ``hs`` of shape (L+2, N, H) whose rows
1..L are the outputs in time order, so the output is a view and the stacked previous states
that ``dW_hh`` needs are a contiguous slice:

============  ==============  ==================  ================
direction     h0 row          h_prev of step t    stacked h_prev
============  ==============  ==================  ================
forward       0               t                   ``hs[:L]``
reverse       L+1             t+2                 ``hs[2:]``
============  ==============  ==================  ================

The LSTM returns two outputs, the (L, N, H) outputs and c_n (N, H); GRU and RNN return
the outputs. h_n is the output row of the last step taken (the module slices it).
"""

import numpy as np

from ..autograd import ArrayFunction
from ..backend import active as K

__all__ = ["GRUFunction", "LSTMFunction", "RNNFunction"]


def _layout(L, reverse):
    """``(h0_row, prev_offset, stacked_prev)`` of the table in the module docstring; step t
    reads ``hs[t + prev_offset]`` and writes ``hs[t + 1]``."""
    if reverse:
        return L + 1, 2, slice(2, L + 2)
    return 0, 0, slice(0, L)


def _states(L, N, H, h0, dtype, reverse):
    hs = np.empty((L + 2, N, H), dtype)
    h0_row = _layout(L, reverse)[0]
    if h0 is None:
        hs[h0_row] = 0
    else:
        hs[h0_row] = h0
    return hs


def _bias_sum(b_ih, b_hh):
    """``b_ih + b_hh`` (both add to the same gate pre-activations), or None."""
    return None if b_ih is None else b_ih + b_hh


def _weight_grads(ctx, w_pos, dG, x2, w_ih, hprev2):
    """The gradients of x, w_ih, w_hh, b_ih and b_hh from the stacked gate gradients.

    ``w_pos`` is the position of ``w_ih`` among the forward arguments (w_hh, b_ih, b_hh
    follow it). ``dG`` is (L*N, G*H) when one gradient reaches both projections (LSTM, RNN:
    the biases were summed, so both get the same gradient), or a pair ``(dGi, dGh)`` when
    they differ (GRU)."""
    needs = ctx.needs_input_grad
    nx = needs[0]
    nw_ih, nw_hh, nb_ih, nb_hh = needs[w_pos:w_pos + 4]
    db_pair = not isinstance(dG, tuple)
    dGi, dGh = (dG, dG) if db_pair else dG
    dx = dw_ih = dw_hh = db_ih = db_hh = None
    if nx:
        dx = K.gemm(dGi, w_ih).reshape(ctx.x_shape)
    db = None
    if nw_ih and nw_hh and dGi is dGh:
        # One GEMM for both, with the inputs side by side: dG is read once. With a bias, a
        # column of ones beside them makes the GEMM's last output column dG's column sums,
        # the bias gradient, which would otherwise be one more pass over all of dG (larger
        # than the caches: (L*N, G*H)).
        with_db = ctx.has_bias and (nb_ih or nb_hh)
        d_in, width = x2.shape[1], x2.shape[1] + hprev2.shape[1]
        side = np.empty((x2.shape[0], width + with_db), x2.dtype)
        side[:, :d_in], side[:, d_in:width] = x2, hprev2
        if with_db:
            side[:, width] = 1
        dw = _transposed_product(side, dGi)
        dw_ih, dw_hh = (np.ascontiguousarray(dw[:, :d_in]),
                        np.ascontiguousarray(dw[:, d_in:width]))
        if with_db:
            db = np.ascontiguousarray(dw[:, width])
    else:
        dw_ih = _transposed_product(x2, dGi) if nw_ih else None
        dw_hh = _transposed_product(hprev2, dGh) if nw_hh else None
    if ctx.has_bias:
        if db_pair:
            if nb_ih or nb_hh:
                if db is None:
                    db = K.bias_grad(dGi, 1)
                db_ih = db if nb_ih else None
                db_hh = (db.copy() if nb_ih else db) if nb_hh else None
        else:
            db_ih = K.bias_grad(dGi, 1) if nb_ih else None
            db_hh = K.bias_grad(dGh, 1) if nb_hh else None
    return dx, dw_ih, dw_hh, db_ih, db_hh


def _transposed_product(v, dG):
    """``dG^T v`` for two tall operands (L*N rows). The GEMM packs one of them by transposing
    it, the slower packing: when ``v`` is the narrower, it is ``(v^T dG)^T``, so that ``v`` is
    the one transposed."""
    if v.shape[1] < dG.shape[1]:
        return np.ascontiguousarray(K.gemm(v, dG, trans_a=True).T)
    return K.gemm(dG, v, trans_a=True)


def _prepare(ctx, x, w_hh):
    L, N, _ = x.shape
    H = w_hh.shape[1]
    x2 = x.reshape(L * N, x.shape[2])  # a copy only when x is not contiguous (batch_first)
    ctx.x_shape = x.shape
    return L, N, H, x2


class LSTMFunction(ArrayFunction):
    """One LSTM layer in one direction over a sequence; returns the outputs (L, N, H) and
    c_n (N, H)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        L, N, H, x2 = _prepare(ctx, x, w_hh)
        record = bool(ctx.needs_input_grad)
        hs = _states(L, N, H, h0, x.dtype, reverse)
        cs = _states(L, N, H, c0, x.dtype, reverse)
        acts = K.lstm_sequence_forward(x2.reshape(x.shape), w_ih, w_hh, _bias_sum(b_ih, b_hh),
                                       hs, cs, reverse, record)
        if record:
            ctx.save_for_backward(x2, w_ih, w_hh, hs, cs, acts)
            ctx.reverse = reverse
            ctx.has_bias = b_ih is not None
        return hs[1:L + 1], cs[1 if reverse else L].copy()

    @staticmethod
    def backward(ctx, grad_out, grad_cn):
        x2, w_ih, w_hh, hs, cs, acts = ctx.saved_tensors
        reverse = ctx.reverse
        L, N, H = acts.shape[0], acts.shape[1], hs.shape[2]
        _, _, prev_rows = _layout(L, reverse)
        dtype = acts.dtype
        dout = (np.zeros((L, N, H), dtype) if grad_out is None
                else np.ascontiguousarray(grad_out, dtype))
        dc = None if grad_cn is None else np.ascontiguousarray(grad_cn, dtype)
        need_h0, need_c0 = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        dG, dc0, dh0 = K.lstm_sequence_backward(acts, cs, w_hh, dout, dc, reverse, need_h0)
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, 3, dG.reshape(L * N, 4 * H), x2, w_ih, hs[prev_rows].reshape(L * N, H))
        return dx, dh0, dc0 if need_c0 else None, dw_ih, dw_hh, db_ih, db_hh, None


class GRUFunction(ArrayFunction):
    """One GRU layer in one direction over a sequence; returns the outputs (L, N, H)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        L, N, H, x2 = _prepare(ctx, x, w_hh)
        record = bool(ctx.needs_input_grad)
        hs = _states(L, N, H, h0, x.dtype, reverse)
        acts = K.gru_sequence_forward(x2.reshape(x.shape), w_ih, w_hh, b_ih, b_hh, hs, reverse,
                                      record)
        if record:
            ctx.save_for_backward(x2, w_ih, w_hh, hs, acts)
            ctx.reverse = reverse
            ctx.has_bias = b_ih is not None
        return hs[1:L + 1]

    @staticmethod
    def backward(ctx, grad):
        x2, w_ih, w_hh, hs, acts = ctx.saved_tensors
        reverse = ctx.reverse
        L, N, H = acts.shape[0], acts.shape[1], hs.shape[2]
        _, _, prev_rows = _layout(L, reverse)
        dgi, dgh, dh0 = K.gru_sequence_backward(acts, hs, w_hh, np.ascontiguousarray(grad),
                                                reverse, ctx.needs_input_grad[1])
        dG = (dgi.reshape(L * N, 3 * H), dgh.reshape(L * N, 3 * H))
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, 2, dG, x2, w_ih, hs[prev_rows].reshape(L * N, H))
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None


class RNNFunction(ArrayFunction):
    """One Elman RNN layer (``h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)``, act tanh or
    relu) in one direction over a sequence; returns the outputs (L, N, H)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity):
        L, N, H, x2 = _prepare(ctx, x, w_hh)
        relu = nonlinearity == "relu"
        hs = _states(L, N, H, h0, x.dtype, reverse)
        K.rnn_sequence_forward(x2.reshape(x.shape), w_ih, w_hh, _bias_sum(b_ih, b_hh), hs,
                               reverse, relu)
        if ctx.needs_input_grad:
            ctx.save_for_backward(x2, w_ih, w_hh, hs)
            ctx.reverse = reverse
            ctx.relu = relu
            ctx.has_bias = b_ih is not None
        return hs[1:L + 1]

    @staticmethod
    def backward(ctx, grad):
        x2, w_ih, w_hh, hs = ctx.saved_tensors
        reverse = ctx.reverse
        L, N, H = hs.shape[0] - 2, hs.shape[1], hs.shape[2]
        _, _, prev_rows = _layout(L, reverse)
        dG, dh0 = K.rnn_sequence_backward(hs, w_hh, np.ascontiguousarray(grad), reverse,
                                          ctx.relu, ctx.needs_input_grad[1])
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, 2, dG.reshape(L * N, H), x2, w_ih, hs[prev_rows].reshape(L * N, H))
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None
