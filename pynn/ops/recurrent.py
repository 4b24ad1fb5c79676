"""Recurrent layers over a whole sequence: one graph node per layer and direction.

Each Function runs one direction of one layer over all L time steps:

- forward: the input projection of every step is one GEMM, ``X (L*N, H_in) @ W_ih^T + b``;
  then per step one GEMM ``h_prev @ W_hh^T`` accumulated into that step's projection
  (``beta=1``) and one cell kernel (``K.gru_cell_forward``, or the activation for the Elman
  RNN); the LSTM runs all its steps in one kernel call, ``K.lstm_sequence_forward``, each
  step one GEMM of ``[x_t h_prev]`` with both weights;
- backward: the steps in reverse, per step the cell's backward kernel and one GEMM for the
  recurrent gradient ``dgates @ W_hh`` (the LSTM's in ``K.lstm_sequence_backward``); then
  the weight gradients are one GEMM each over all steps at once (``dW_hh = dG^T H_prev``,
  ``dW_ih = dG^T X`` with dG stacked (L*N, gates)), the biases one ``bias_grad``, and the
  input gradient one GEMM ``dG @ W_ih``.

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


def _steps(L, reverse):
    return range(L - 1, -1, -1) if reverse else range(L)


def _backward_steps(L, reverse):
    """Time steps in the order backward visits them, with the step visited next (None
    after the last one)."""
    order = list(range(L)) if reverse else list(range(L - 1, -1, -1))
    return zip(order, order[1:] + [None])


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
    if nw_ih and nw_hh and dGi is dGh:
        # One GEMM for both, with the inputs side by side: dG is read once.
        dw = _transposed_product(np.concatenate([x2, hprev2], axis=1), dGi)
        dw_ih, dw_hh = np.ascontiguousarray(dw[:, :x2.shape[1]]), np.ascontiguousarray(
            dw[:, x2.shape[1]:])
    else:
        dw_ih = _transposed_product(x2, dGi) if nw_ih else None
        dw_hh = _transposed_product(hprev2, dGh) if nw_hh else None
    if ctx.has_bias:
        if db_pair:
            if nb_ih or nb_hh:
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
        gi = K.gemm(x2, w_ih, trans_b=True, bias=b_ih).reshape(L, N, 3 * H)
        gh = np.empty((N, 3 * H), x.dtype)
        hs = _states(L, N, H, h0, x.dtype, reverse)
        acts = np.empty((L, N, 4 * H), x.dtype) if record else None
        _, off, _ = _layout(L, reverse)
        for t in _steps(L, reverse):
            h_prev = hs[t + off]
            K.gemm(h_prev, w_hh, out=gh, trans_b=True, bias=b_hh)
            h, a = K.gru_cell_forward(gi[t], gh, h_prev)
            hs[t + 1] = h
            if record:
                acts[t] = a
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
        _, off, prev_rows = _layout(L, reverse)
        dout = np.ascontiguousarray(grad)
        need_h0 = ctx.needs_input_grad[1]
        dGi = np.empty((L, N, 3 * H), grad.dtype)
        dGh = np.empty((L, N, 3 * H), grad.dtype)
        dh = dout[L - 1 if not reverse else 0].copy()
        dh0 = None
        for t, nxt in _backward_steps(L, reverse):
            dgi, dgh, dh_direct = K.gru_cell_backward(acts[t], hs[t + off], dh)
            dGi[t] = dgi
            dGh[t] = dgh
            if nxt is not None:
                dh = dout[nxt] + dh_direct
                K.gemm(dgh, w_hh, out=dh, beta=1.0)
            elif need_h0:
                dh0 = dh_direct + K.gemm(dgh, w_hh)
        dG = (dGi.reshape(L * N, 3 * H), dGh.reshape(L * N, 3 * H))
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, 2, dG, x2, w_ih, hs[prev_rows].reshape(L * N, H))
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None


class RNNFunction(ArrayFunction):
    """One Elman RNN layer (``h = act(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)``, act tanh or
    relu) in one direction over a sequence; returns the outputs (L, N, H).

    The input projection is written straight into the output rows of ``hs``; each step
    accumulates ``h_prev @ W_hh^T`` into its row in place, with the ReLU fused into the GEMM
    (tanh is one kernel call after it)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity):
        L, N, H, x2 = _prepare(ctx, x, w_hh)
        relu = nonlinearity == "relu"
        hs = _states(L, N, H, h0, x.dtype, reverse)
        K.gemm(x2, w_ih, out=hs[1:L + 1].reshape(L * N, H), trans_b=True,
               bias=_bias_sum(b_ih, b_hh))
        _, off, _ = _layout(L, reverse)
        for t in _steps(L, reverse):
            K.gemm(hs[t + off], w_hh, out=hs[t + 1], trans_b=True, beta=1.0, relu=relu)
            if not relu:
                hs[t + 1] = K.tanh_forward(hs[t + 1])
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
        act_backward = K.relu_backward if ctx.relu else K.tanh_backward
        L, N, H = hs.shape[0] - 2, hs.shape[1], hs.shape[2]
        _, _, prev_rows = _layout(L, reverse)
        dout = np.ascontiguousarray(grad)
        need_h0 = ctx.needs_input_grad[1]
        dG = np.empty((L, N, H), grad.dtype)
        dh = dout[L - 1 if not reverse else 0].copy()
        dh0 = None
        for t, nxt in _backward_steps(L, reverse):
            dg = act_backward(hs[t + 1], dh)
            dG[t] = dg
            if nxt is not None:
                dh = dout[nxt].copy()
                K.gemm(dg, w_hh, out=dh, beta=1.0)
            elif need_h0:
                dh0 = K.gemm(dg, w_hh)
        dG = dG.reshape(L * N, H)
        dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(
            ctx, 2, dG, x2, w_ih, hs[prev_rows].reshape(L * N, H))
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None
