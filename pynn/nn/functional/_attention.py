"""Attention: ``scaled_dot_product_attention`` and multi-head attention, the function
behind :class:`pynn.nn.MultiheadAttention` in either token layout."""

from dataclasses import dataclass

import numpy as np

from ...ops.attention import (
    MultiheadAttentionFunction,
    ScaledDotProductAttentionFunction,
    additive_mask,
    is_causal_mask,
)
from ...tensor import Tensor, _wrap
from ...tensor import cat as _cat
from ._linear import linear
from ._utils import _data, _float_operands, _tensor

__all__ = [
    "multi_head_attention_forward",
    "scaled_dot_product_attention",
]


def _mask_array(op, name, mask):
    """A mask argument (Tensor, ndarray or array_like) as an ndarray of bool or float."""
    m = _data(mask)
    if not isinstance(m, np.ndarray):
        m = np.asarray(m)
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise TypeError(f"{op}: only bool and floating types of {name} are supported, got "
                        f"{m.dtype}")
    return m


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query key^T * scale + mask) value`` over the last two dimensions.

    As ``torch.nn.functional.scaled_dot_product_attention``, in one autograd node. A query
    that sees no key at all gets weights 0 and output 0 (as PyTorch's CPU kernels).

    Parameters
    ----------
    query : Tensor of shape (*, L, E)
    key : Tensor of shape (*, S, E)
    value : Tensor of shape (*, S, Ev)
        The leading dimensions broadcast together.
    attn_mask : Tensor or ndarray broadcastable to (*, L, S), optional
        Bool: True marks a key that takes part (False hides it). Float: added to the scores
        (and differentiated when it is a Tensor that requires grad).
    dropout_p : float
        Dropout on the attention weights, applied whenever ``dropout_p > 0`` (as in
        PyTorch: pass ``dropout_p=p if training else 0.0``); the mask comes from pynn's
        generator.
    is_causal : bool
        Hide key j from query i when j > i (top-left aligned when L != S); not combinable
        with ``attn_mask``.
    scale : float, optional
        Default ``1 / sqrt(E)``.
    enable_gqa : bool
        Grouped-query attention: query has Hq heads in dim -3 and key/value Hk, Hk dividing
        Hq; query head h uses key/value head ``h // (Hq / Hk)``.

    Returns
    -------
    Tensor of shape (*, L, Ev)
    """
    op = "scaled_dot_product_attention"
    q, k, v = _data(query), _data(key), _data(value)
    _float_operands(op, query=q, key=k, value=v)
    for name, arr in (("query", q), ("key", k), ("value", v)):
        if arr.ndim < 2:
            raise ValueError(f"{op}: {name} must have shape (*, {'L' if name == 'query' else 'S'}"
                             f", E), got {arr.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{op}: key must have E = {q.shape[-1]} features like query "
                         f"{q.shape}, got {k.shape}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{op}: value must have S = {k.shape[-2]} rows like key {k.shape}, "
                         f"got {v.shape}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        key, value = _repeat_kv_heads(op, q, key, value)
        k, v = _data(key), _data(value)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the leading dimensions of query {q.shape}, key {k.shape} and "
                         f"value {v.shape} do not broadcast") from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got "
                         f"{dropout_p}")
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(f"{op}: explicit attn_mask should not be set when "
                               "is_causal=True")
        m = _mask_array(op, "attn_mask", attn_mask)
        target = tuple(batch) + (q.shape[-2], k.shape[-2])
        try:
            ok = np.broadcast_shapes(m.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}: attn_mask of shape {m.shape} does not broadcast to "
                             f"(*, L, S) = {target}")
        if m.dtype == np.bool_:
            mask = additive_mask(m, q.dtype, true_hides=False)
        else:
            mask = attn_mask if isinstance(attn_mask, Tensor) else m
    return ScaledDotProductAttentionFunction.apply(
        query, key, value, mask, bool(is_causal), None if scale is None else float(scale),
        float(dropout_p))


def _repeat_kv_heads(op, q, key, value):
    """Grouped-query attention: key/value heads (dim -3) repeated to query's count."""
    hq, hk = q.shape[-3], _data(key).shape[-3]
    if hk == 0 or hq % hk or _data(value).shape[-3] != hk:
        raise ValueError(f"{op}: with enable_gqa, query's {hq} heads (dim -3) must be a "
                         f"multiple of key's and value's, got shapes {q.shape}, "
                         f"{_data(key).shape}, {_data(value).shape}")
    g = hq // hk

    def repeat(t):
        t = _tensor(t)
        shape = t.shape
        expanded = t.unsqueeze(-3).expand(*shape[:-2], g, *shape[-2:])
        return expanded.reshape(*shape[:-3], hq, *shape[-2:])

    return repeat(key), repeat(value)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention, sequence-first (``torch.nn.functional.multi_head_attention_forward``).

    The function behind :class:`pynn.nn.MultiheadAttention`, with E = ``embed_dim_to_check``.

    Parameters
    ----------
    query : Tensor of shape (L, N, E) or (L, E)
    key : Tensor of shape (S, N, kdim) or (S, kdim)
    value : Tensor of shape (S, N, vdim) or (S, vdim)
    embed_dim_to_check : int
        E; the query's last dimension must equal it.
    num_heads : int
        Must divide E.
    in_proj_weight : Tensor of shape (3E, E), or None
        The packed q, k, v projections (None with ``use_separate_proj_weight``).
    in_proj_bias : Tensor of shape (3E,), or None
    bias_k, bias_v : Tensor of shape (1, 1, E), or None
        Appended to the projected keys and values as one more source position.
    add_zero_attn : bool
        Append a zero key and value after the projections.
    dropout_p : float
        Dropout on the attention weights (only when ``training``).
    out_proj_weight : Tensor of shape (E, E)
    out_proj_bias : Tensor of shape (E,), or None
    training : bool
    key_padding_mask : bool or float mask of shape (N, S) or (S,), optional
        Bool: True marks a padded key, which no query sees. Float: added to the scores.
    need_weights : bool
        Also return the attention weights.
    attn_mask : bool or float mask of shape (L, S) or (N * num_heads, L, S), optional
        Bool: True hides a key from a query. Float: added to the scores.
    use_separate_proj_weight : bool
        Project with ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
    q_proj_weight, k_proj_weight, v_proj_weight : Tensor of shape (E, E), (E, kdim), (E, vdim)
        Optional; used with ``use_separate_proj_weight``.
    static_k, static_v : None
        Not supported (anything else raises NotImplementedError).
    average_attn_weights : bool
        Average the returned weights over the heads.
    is_causal : bool
        Hide key j from query i when j > i (``attn_mask``, if given, is taken to be that
        mask).

    Returns
    -------
    attn_output : Tensor of shape (L, N, E) or (L, E)
    attn_weights : Tensor of shape (N, L, S) or (N, num_heads, L, S), or None
        Without N for unbatched input; None unless ``need_weights``.
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k and static_v are "
                                  "not supported")
    params = AttentionProjections(
        in_proj_weight=None if use_separate_proj_weight else in_proj_weight,
        in_proj_bias=in_proj_bias,
        separate=((q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight
                  else None),
        bias_k=bias_k, bias_v=bias_v,
        out_proj_weight=out_proj_weight, out_proj_bias=out_proj_bias)
    return _multi_head_attention(
        "multi_head_attention_forward", query, key, value, params,
        embed_dim=int(embed_dim_to_check), num_heads=int(num_heads), batch_first=False,
        add_zero_attn=add_zero_attn, dropout_p=float(dropout_p) if training else 0.0,
        key_padding_mask=key_padding_mask, attn_mask=attn_mask, is_causal=is_causal,
        need_weights=need_weights, average_attn_weights=average_attn_weights)


@dataclass(frozen=True)
class AttentionProjections:
    """The parameters of multi-head attention (internal: what :class:`pynn.nn.MultiheadAttention`
    holds and :func:`multi_head_attention_forward` takes one by one).

    The input projections are either packed, ``in_proj_weight`` of shape (3E, E), or
    ``separate``: the (q, k, v) weights of shapes (E, E), (E, kdim), (E, vdim).
    ``in_proj_bias`` (3E,) serves both. ``bias_k``/``bias_v`` (1, 1, E), given together, are
    one more key and value appended after the projections.
    """

    in_proj_weight: object = None
    in_proj_bias: object = None
    separate: tuple = None
    bias_k: object = None
    bias_v: object = None
    out_proj_weight: object = None
    out_proj_bias: object = None

    def input_dims(self, e):
        """The (kdim, vdim) the key and value must have for embedding size ``e``."""
        if self.separate is None:
            return e, e
        return _data(self.separate[1]).shape[1], _data(self.separate[2]).shape[1]

    def project(self, query, key, value, e):
        """The q, k, v projections as GEMMs over all tokens at once: one for self-attention
        with packed weights, two when key is value, else three. Returns the GEMMs' outputs
        and the kernel's ``layout``: for q, k and v, which output holds it and at which
        feature offset."""
        if self.separate is not None:
            ws = self.separate
        else:
            w = _tensor(self.in_proj_weight)
            if query is key and key is value:
                return (linear(query, w, self._bias(0, 3 * e)),), ((0, 0), (0, e), (0, 2 * e))
            if key is value:
                return ((linear(query, w[:e], self._bias(0, e)),
                         linear(key, w[e:], self._bias(e, 3 * e))),
                        ((0, 0), (1, 0), (1, e)))
            ws = (w[:e], w[e:2 * e], w[2 * e:])
        bs = (self._bias(0, e), self._bias(e, 2 * e), self._bias(2 * e, 3 * e))
        outs = tuple(linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bs))
        return outs, ((0, 0), (1, 0), (2, 0))

    def _bias(self, lo, hi):
        if self.in_proj_bias is None:
            return None
        b = _tensor(self.in_proj_bias)
        return b if (lo, hi) == (0, b.shape[0]) else b[lo:hi]


def _multi_head_attention(who, query, key, value, params, *, embed_dim, num_heads, batch_first,
                          add_zero_attn=False, dropout_p=0.0, key_padding_mask=None,
                          attn_mask=None, is_causal=False, need_weights=True,
                          average_attn_weights=True):
    """The body of multi-head attention, in either token layout.

    ``who`` names the caller in error messages; ``params`` is an
    :class:`AttentionProjections`; ``dropout_p`` is already 0 outside training. Projections are
    GEMMs over all tokens, the heads are the B axis of the attention kernel. Arguments and
    return values are those of :func:`multi_head_attention_forward`.
    """
    self_attn = query is key and key is value
    kv_same = key is value
    q, k, v = _data(query), _data(key), _data(value)
    for name, arr in (("query", q), ("key", k), ("value", v)):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(arr).__name__}")
    first_weight = params.in_proj_weight if params.separate is None else params.separate[0]
    _float_operands(who, query=q, key=k, value=v, weight=_data(first_weight))
    if q.ndim not in (2, 3):
        layout = "(N, L, E)" if batch_first else "(L, N, E)"
        raise ValueError(f"{who}: query must have shape {layout} or, unbatched, (L, E); got "
                         f"{q.ndim}-D shape {q.shape}")
    if k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"{who}: for a {q.ndim}-D query, key and value must be {q.ndim}-D too, "
                         f"got shapes {k.shape} and {v.shape}")
    batched = q.ndim == 3
    shapes = {"query": q.shape, "key": k.shape, "value": v.shape}  # as given, for messages
    if not batched:  # one sequence: a batch of one, sequence-first
        batch_first = False
        query = _tensor(query).unsqueeze(1)
        key = query if self_attn else _tensor(key).unsqueeze(1)
        value = key if kv_same else _tensor(value).unsqueeze(1)
        q, k, v = query._data, key._data, value._data
    seq_axis, batch_axis = (1, 0) if batch_first else (0, 1)
    e = embed_dim
    kdim, vdim = params.input_dims(e)
    for name, arr, dim, dim_name in (("query", q, e, "embed_dim"), ("key", k, kdim, "kdim"),
                                     ("value", v, vdim, "vdim")):
        if arr.shape[-1] != dim:
            raise ValueError(f"{who}: expected {name} with {dim_name}={dim} features (last "
                             f"dimension), got shape {shapes[name]}")
    if num_heads <= 0 or e % num_heads:
        raise ValueError(f"{who}: embed_dim {e} is not divisible by num_heads {num_heads}")
    n, l, s = q.shape[batch_axis], q.shape[seq_axis], k.shape[seq_axis]
    if k.shape[batch_axis] != n:
        raise ValueError(f"{who}: key has batch size {k.shape[batch_axis]} but query has {n} "
                         f"(shapes {k.shape} and {q.shape}, batch_first={batch_first})")
    if v.shape[:2] != k.shape[:2]:
        raise ValueError(f"{who}: key's sequence and batch dims {k.shape[:2]} do not match "
                         f"value's {v.shape[:2]}")

    inputs, layout = params.project(query, key, value, e)
    extra = 0
    if params.bias_k is not None or params.bias_v is not None or add_zero_attn:
        inputs, extra = _extra_keys(who, inputs, layout, params, add_zero_attn, e,
                                    (n, 1, e) if batch_first else (1, n, e), seq_axis, q.dtype)
        layout = ((0, 0), (1, 0), (2, 0))
    mask, causal = _attention_mask(who, key_padding_mask, attn_mask, is_causal, batched,
                                   (n, num_heads, l, s), extra, q.dtype)

    args = (*inputs, *(None,) * (3 - len(inputs)), layout, e, num_heads, batch_first, mask,
            causal, float(dropout_p), bool(need_weights))
    weights = None
    if need_weights:
        out, ctx = MultiheadAttentionFunction.apply_with_ctx(*args)
        weights = ctx.weights.reshape(n, num_heads, l, s + extra)
        if average_attn_weights:
            weights = weights.mean(axis=1)
        weights = _wrap(weights if batched else weights[0], None)
    else:
        out = MultiheadAttentionFunction.apply(*args)
    out = linear(out, params.out_proj_weight, params.out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    return out, weights


def _extra_keys(who, inputs, layout, params, add_zero_attn, e, row, seq_axis, dtype):
    """The projected q, k, v as three tensors, with ``bias_k``/``bias_v`` and then (with
    ``add_zero_attn``) a zero row appended to the keys and values along the sequence axis.
    Returns them and the number of source positions added."""
    q, k, v = (inputs[i] if inputs[i].shape[-1] == e else inputs[i][..., c:c + e]
               for i, c in layout)
    extra = 0
    if params.bias_k is not None or params.bias_v is not None:
        if params.bias_k is None or params.bias_v is None:
            raise ValueError(f"{who}: bias_k and bias_v must be given together")
        k = _cat([k, _tensor(params.bias_k).expand(*row)], dim=seq_axis)
        v = _cat([v, _tensor(params.bias_v).expand(*row)], dim=seq_axis)
        extra += 1
    if add_zero_attn:
        zeros = _wrap(np.zeros(row, dtype), None)
        k = _cat([k, zeros], dim=seq_axis)
        v = _cat([v, zeros], dim=seq_axis)
        extra += 1
    return (q, k, v), extra


def _attention_mask(who, key_padding_mask, attn_mask, is_causal, batched, sizes, extra, dtype):
    """The masks of multi-head attention as one additive array broadcastable to
    (N * heads, L, S + extra), or None, and whether the kernel's causal flag replaces it.

    ``sizes`` is (N, heads, L, S); ``extra`` source positions appended after the keys
    (``bias_k``, ``add_zero_attn``) are never masked.
    """
    n, heads, l, s = sizes
    kpm = am = None
    if key_padding_mask is not None:
        kpm = _mask_array(who, "key_padding_mask", key_padding_mask)
        expected = (n, s) if batched else (s,)
        if kpm.shape != expected:
            raise ValueError(f"{who}: key_padding_mask must have shape {expected} (batch, source "
                             f"length), got {kpm.shape}")
        kpm = additive_mask(kpm.reshape(n, s), dtype, true_hides=True)
        if extra:
            kpm = np.pad(kpm, ((0, 0), (0, extra)))
    if attn_mask is not None and not is_causal:
        am = _mask_array(who, "attn_mask", attn_mask)
        if am.ndim == 2:
            if am.shape != (l, s):
                raise ValueError(f"{who}: the shape of the 2D attn_mask is {am.shape}, but should "
                                 f"be {(l, s)} (target length, source length)")
        elif am.ndim == 3:
            if am.shape != (n * heads, l, s):
                raise ValueError(f"{who}: the shape of the 3D attn_mask is {am.shape}, but should "
                                 f"be {(n * heads, l, s)} (batch * num_heads, target length, "
                                 "source length)")
        else:
            raise ValueError(f"{who}: attn_mask must have shape (L, S) or (N * num_heads, L, S), "
                             f"got {am.ndim}-D shape {am.shape}")
        am = additive_mask(am, dtype, true_hides=True)
        if extra:
            am = np.pad(am, ((0, 0),) * (am.ndim - 1) + ((0, extra),))
    causal = bool(is_causal)
    if am is not None and am.ndim == 2 and is_causal_mask(am, l, s + extra):
        am, causal = None, True  # the kernel's causal flag: no mask to read
    if kpm is None:
        return am, causal
    per_head = np.broadcast_to(kpm[:, None, None, :], (n, heads, 1, s + extra))
    per_head = per_head.reshape(n * heads, 1, s + extra)
    return (per_head if am is None else am + per_head), causal
