"""Scaled dot-product attention as single autograd nodes around the backend kernels
``attention_forward`` / ``attention_backward``, which solve B independent problems
(q (B, L, E), k (B, S, E), v (B, S, Ev)) with one additive mask broadcastable to (B, L, S).

- :class:`ScaledDotProductAttentionFunction`: q (*, L, E), k (*, S, E), v (*, S, Ev); the
  leading dimensions are broadcast together and flattened to B.
- :class:`MultiheadAttentionFunction`: the heads of projected tokens. Its inputs are the
  projections in token layout, (L, N, W) or (N, L, W), and it reads q, k and v as column
  slices of them (one packed (L, N, 3E) projection for self-attention, a q and a packed kv
  projection for cross-attention, or three separate ones); it splits each into
  (N * heads, L, E / heads), attends, and merges the heads back into token layout, so the
  output projection is one GEMM over all tokens. Its backward writes dq, dk, dv straight into
  the gradient of the (packed) projection.

Masks are passed to the kernels as the smallest array that broadcasts to (B, L, S): a mask
that does not vary over the leading dimensions stays (L, S) (a view), one that varies over all
of them is reshaped to (B, L, S) (a view when contiguous). Only a mask that varies over some
leading dimensions but not others (a per-batch mask shared by the heads, say) is copied along
them, because no strided view of it has a single B axis.

Dropout masks (0, or 1 / (1 - p)) are drawn here from pynn's generator (:mod:`pynn.random`)
and handed to the kernels.
"""

import math

import numpy as np

from ..autograd import ArrayFunction
from ..backend import active as K
from ..random import get_generator
from . import unbroadcast

__all__ = [
    "MultiheadAttentionFunction",
    "ScaledDotProductAttentionFunction",
    "additive_mask",
    "is_causal_mask",
    "kernel_mask",
]


# ---------------------------------------------------------------------------------------------
# Masks


def additive_mask(mask, dtype, true_hides):
    """A bool or float mask as the additive float mask the kernels take.

    Parameters
    ----------
    mask : ndarray of bool or float
    dtype : float dtype of the scores
    true_hides : bool
        For bool masks: True marks a hidden key (``nn.MultiheadAttention``'s convention) or,
        when False, a key that takes part (``scaled_dot_product_attention``'s).

    Returns
    -------
    ndarray of ``dtype`` and the mask's shape: 0 keeps, -inf hides (float masks are cast)
    """
    if mask.dtype == np.bool_:
        zero, neg = dtype.type(0), dtype.type(-np.inf)
        return np.where(mask, neg, zero) if true_hides else np.where(mask, zero, neg)
    return mask.astype(dtype, copy=False)


def is_causal_mask(mask, l, s):
    """True when the additive mask ``mask`` is exactly the (l, s) causal mask: 0 where key
    j <= query i, -inf elsewhere (``torch.nn.Transformer.generate_square_subsequent_mask``)."""
    if mask.shape != (l, s):
        return False
    keep = np.tri(l, s, dtype=bool)
    return bool(np.all(mask[keep] == 0) and np.all(np.isneginf(mask[~keep])))


def kernel_mask(mask, batch):
    """An additive mask broadcastable to ``batch + (L, S)`` as an array of at most three
    dimensions broadcastable to (B, L, S), B = prod(batch), B in C order of ``batch``.

    A view when the mask is constant over the leading dimensions or spans all of them; a
    copy along the leading dimensions (never along L or S) otherwise.
    """
    if mask.ndim <= 2:
        return mask
    tail = mask.shape[-2:]
    lead = mask.shape[:-2]
    if all(n == 1 for n in lead):
        return mask.reshape(tail)
    lead = (1,) * (len(batch) - len(lead)) + lead
    if lead == tuple(batch):
        return mask.reshape((-1,) + tail)
    return np.broadcast_to(mask, tuple(batch) + tail).reshape((-1,) + tail)


def _dropout_mask(shape, p, dtype):
    """Inverted-dropout multipliers: 0 with probability p, else 1 / (1 - p)."""
    if p >= 1.0:
        return np.zeros(shape, dtype)
    keep = get_generator().random(shape, dtype=dtype.type) >= p
    mask = keep.astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return mask


def _score_grad(v, probs, dout, dropout_mask):
    """d loss / d scores (before scaling: the gradient of an additive mask), (B, L, S)."""
    dp = np.matmul(dout, v.transpose(0, 2, 1))
    if dropout_mask is not None:
        dp *= dropout_mask
    dp -= np.einsum("bls,bls->bl", dp, probs)[..., None]
    dp *= probs
    return dp


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention


def _flat(x, batch, b):
    """``x`` of shape (*, R, C), broadcast to ``batch + (R, C)`` and reshaped to (b, R, C)."""
    shape = tuple(batch) + x.shape[-2:]
    if x.shape != shape:
        x = np.broadcast_to(x, shape)
    return np.ascontiguousarray(x.reshape((b,) + x.shape[-2:]))


class ScaledDotProductAttentionFunction(ArrayFunction):
    """``softmax(scale q k^T + mask) v`` over the last two dims; leading dims broadcast.

    Arguments are checked by :func:`pynn.functional.scaled_dot_product_attention`; ``mask``
    is an additive float mask (any float dtype) broadcastable to ``batch + (L, S)`` or None,
    and receives a gradient when it is a Tensor that requires grad.
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, causal, scale, dropout_p):
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        b = math.prod(batch)
        l, s, ev = q.shape[-2], k.shape[-2], v.shape[-1]
        q3, k3, v3 = _flat(q, batch, b), _flat(k, batch, b), _flat(v, batch, b)
        m = None
        if mask is not None:
            m = kernel_mask(mask.astype(q.dtype, copy=False), batch)
        dmask = _dropout_mask((b, l, s), dropout_p, q.dtype) if dropout_p > 0 else None
        out, probs = K.attention_forward(q3, k3, v3, m, causal, scale, dmask)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(q3, k3, v3, probs, dmask)
            ctx.shapes = (q.shape, k.shape, v.shape, None if mask is None else mask.shape)
            ctx.batch, ctx.scale = batch, scale
        return out.reshape(tuple(batch) + (l, ev))

    @staticmethod
    def backward(ctx, grad):
        q3, k3, v3, probs, dmask = ctx.saved_tensors
        q_shape, k_shape, v_shape, mask_shape = ctx.shapes
        batch, scale = ctx.batch, ctx.scale
        nq, nk, nv, nm = ctx.needs_input_grad[:4]
        g3 = np.ascontiguousarray(grad.reshape((-1,) + grad.shape[-2:]))
        grads = [None, None, None, None]
        if nq or nk or nv:
            dq, dk, dv = K.attention_backward(q3, k3, v3, probs, g3, scale, dmask)
            for i, (need, d, shape) in enumerate(((nq, dq, q_shape), (nk, dk, k_shape),
                                                  (nv, dv, v_shape))):
                if need:
                    grads[i] = unbroadcast(d.reshape(tuple(batch) + d.shape[1:]), shape)
        if nm:
            ds = _score_grad(v3, probs, g3, dmask)
            grads[3] = unbroadcast(ds.reshape(tuple(batch) + ds.shape[1:]), mask_shape)
        return (*grads, None, None, None)


# ---------------------------------------------------------------------------------------------
# Multi-head attention over projected tokens


def split_heads(x, heads, batch_first):
    """Tokens (L, N, E) (or (N, L, E) when ``batch_first``; may be a strided column slice)
    to a contiguous (N * heads, L, E / heads), problem ``n * heads + h``."""
    if batch_first:
        n, l, e = x.shape
        t = x.reshape(n, l, heads, e // heads).transpose(0, 2, 1, 3)
    else:
        l, n, e = x.shape
        t = x.reshape(l, n, heads, e // heads).transpose(1, 2, 0, 3)
    return np.ascontiguousarray(t).reshape(n * heads, l, e // heads)


def _heads_view(y, heads, batch_first):
    """(N * heads, L, D) as an (N, L, heads, D) or (L, N, heads, D) view: token order."""
    b, l, d = y.shape
    t = y.reshape(b // heads, heads, l, d)
    return t.transpose(0, 2, 1, 3) if batch_first else t.transpose(2, 0, 1, 3)


def merge_heads(y, heads, batch_first, out=None):
    """Inverse of :func:`split_heads`: (N * heads, L, D) to tokens (L, N, heads * D) (or
    (N, L, heads * D)), a new contiguous array or written into ``out`` (may be strided)."""
    t = _heads_view(y, heads, batch_first)
    if out is None:
        return np.ascontiguousarray(t).reshape(t.shape[:2] + (-1,))
    view = out.reshape(t.shape)  # splits the unit-stride feature axis: a view of out
    if np.may_share_memory(view, out):
        view[...] = t
    else:  # (never for a column slice, but a reshape that copied must not swallow the write)
        out[...] = np.ascontiguousarray(t).reshape(out.shape)
    return out


class MultiheadAttentionFunction(ArrayFunction):
    """Attention of projected tokens, head split and merge included.

    ``forward(ctx, a, b, c, layout, embed_dim, heads, batch_first, mask, causal, dropout_p,
    keep_weights)``

    a, b, c : ndarrays (b and c may be None) of shape (L_i, N, W_i), or (N, L_i, W_i) when
        ``batch_first``: the projections.
    layout : ((input, column), (input, column), (input, column))
        Where q, k and v are: columns ``[column, column + embed_dim)`` of input 0, 1 or 2.
    embed_dim, heads : int
        E, and the number of heads (which divides it).
    mask : additive ndarray broadcastable to (N * heads, L, S), of the inputs' dtype, or None
    causal : bool
    dropout_p : float
        Dropout on the attention weights (0: none).
    keep_weights : bool
        Leave the attention weights (N * heads, L, S), after dropout as PyTorch returns
        them, on ``ctx.weights`` (call through ``apply_with_ctx``).

    Returns (L, N, E) or (N, L, E): the heads concatenated along the features.
    Arguments are checked by :func:`pynn.functional.multi_head_attention_forward`.
    """

    @staticmethod
    def forward(ctx, a, b, c, layout, e, heads, batch_first, mask, causal, dropout_p,
                keep_weights):
        arrays = (a, b, c)
        (iq, oq), (ik, ok), (iv, ov) = layout
        qh = split_heads(arrays[iq][..., oq:oq + e], heads, batch_first)
        kh = split_heads(arrays[ik][..., ok:ok + e], heads, batch_first)
        vh = split_heads(arrays[iv][..., ov:ov + e], heads, batch_first)
        bsz, l, _ = qh.shape
        s = kh.shape[1]
        dmask = _dropout_mask((bsz, l, s), dropout_p, qh.dtype) if dropout_p > 0 else None
        out, probs = K.attention_forward(qh, kh, vh, mask, causal, None, dmask)
        if keep_weights:
            ctx.weights = probs if dmask is None else probs * dmask
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(qh, kh, vh, probs, dmask)
            ctx.layout, ctx.heads, ctx.batch_first, ctx.e = layout, heads, batch_first, e
            ctx.shapes = tuple(None if x is None else x.shape for x in arrays)
        return merge_heads(out, heads, batch_first)

    @staticmethod
    def backward(ctx, grad):
        qh, kh, vh, probs, dmask = ctx.saved_tensors
        layout, heads, batch_first, e = ctx.layout, ctx.heads, ctx.batch_first, ctx.e
        shapes = ctx.shapes
        needs = ctx.needs_input_grad[:3]
        gh = split_heads(grad, heads, batch_first)
        dq, dk, dv = K.attention_backward(qh, kh, vh, probs, gh, None, dmask)
        grads = [None, None, None]
        covered = [0, 0, 0]
        for i, _ in layout:
            covered[i] += e
        for (i, col), d in zip(layout, (dq, dk, dv)):
            if not needs[i]:
                continue
            if grads[i] is None:
                shape = shapes[i]
                grads[i] = (np.empty if covered[i] == shape[-1] else np.zeros)(shape, d.dtype)
            merge_heads(d, heads, batch_first, out=grads[i][..., col:col + e])
        return (*grads, None, None, None, None, None, None, None, None)
