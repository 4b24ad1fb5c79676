"""Multi-head attention and positional encodings.

``MultiheadAttention`` follows ``torch.nn.MultiheadAttention``: same arguments, defaults,
parameter names and shapes (``in_proj_weight`` (3E, E) or ``q_proj_weight`` /
``k_proj_weight`` / ``v_proj_weight``, ``in_proj_bias`` (3E,), ``out_proj`` a Linear), the same
initialisation, masks and return values, so a PyTorch ``state_dict`` loads key for key.

As ``torch.nn.attention``, it also holds :class:`SDPBackend` and :func:`sdpa_kernel`, the
switch scripts wrap attention in (recorded, with no effect on pynn's one implementation).

Positional encodings have no PyTorch class: :class:`SinusoidalPositionalEncoding` is the
fixed encoding of "Attention Is All You Need" (as in PyTorch's Transformer tutorial) and
:class:`LearnedPositionalEncoding` a learned table laid out as an ``nn.Embedding``.
"""

import contextlib
import enum
import math

import numpy as np

from ..tensor import Tensor, _wrap
from . import functional as F
from . import init
from .functional._attention import AttentionProjections
from .linear import Linear, _input_error, _layer_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["LearnedPositionalEncoding", "MultiheadAttention", "SDPBackend",
           "SinusoidalPositionalEncoding", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The scaled-dot-product-attention backends by PyTorch's names and values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self):
        return f"SDPBackend.{self.name}"  # as PyTorch's prints


_SWITCH = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
           SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Allow only ``backends`` for attention in a block (``torch.nn.attention.sdpa_kernel``).

    The switches are recorded (``pynn.backends.cuda.math_sdp_enabled()`` ... read them) and
    restored after; pynn's attention has one implementation, used whatever they say.

    Parameters
    ----------
    backends : SDPBackend or list of SDPBackend
    set_priority : bool
        Accepted for PyTorch's signature.

    Yields
    ------
    None
    """
    from ..backends import cuda

    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise AssertionError("Backend must be an instance of SDPBackend")
    with cuda.sdp_kernel(**{f"enable_{name}": b in chosen
                            for b, name in _SWITCH.items()}):
        yield


class NonDynamicallyQuantizableLinear(Linear):
    """The attention's output projection: a :class:`Linear` under PyTorch's class name (so a
    printed model reads as PyTorch's).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    device : str or pynn.device, optional
    dtype : pynn.dtype, optional

    Shape
    -----
    - Input: ``(*, in_features)``.
    - Output: ``(*, out_features)``.
    """


class MultiheadAttention(Module):
    """Multi-head attention (``torch.nn.MultiheadAttention``).

    ::

        out = concat(head_1, ..., head_h) W_o^T + b_o,
        head_i = softmax(q_i k_i^T / sqrt(E / h) + mask) v_i,
        q_i, k_i, v_i = the i-th E/h columns of query W_q^T + b_q, key W_k^T + b_k, ...

    Call ``mha(query, key, value, ...)``; see :meth:`forward`.

    Parameters
    ----------
    embed_dim : int
        E, the model dimension (of the query and the output).
    num_heads : int
        h; it must divide E.
    dropout : float
        Dropout on the attention weights, in train mode.
    bias : bool
        Learn ``in_proj_bias`` and ``out_proj.bias`` (both zeros at first).
    add_bias_kv : bool
        Learn ``bias_k`` and ``bias_v`` of shape (1, 1, E), appended to the projected keys and
        values as one more source position.
    add_zero_attn : bool
        Append a zero key and value (one more source position) after the projections.
    kdim, vdim : int, optional
        Feature sizes of key and value (default E). When either differs from E the
        projections are ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and
        ``v_proj_weight`` (E, vdim) instead of the packed ``in_proj_weight`` (3E, E).
    batch_first : bool
        Batched inputs and output are (N, L, E) instead of (L, N, E).
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Notes
    -----
    Projection weights are Xavier-uniform, ``out_proj.weight`` has Linear's default
    initialisation, ``bias_k`` / ``bias_v`` are Xavier-normal: PyTorch's rules.

    Differences from PyTorch: a query that can see no key (all masked) gets weights 0 and
    output 0 where PyTorch gives NaN; the returned attention weights are not differentiable;
    ``is_causal=True`` without ``attn_mask`` means a causal mask (PyTorch asks for the mask);
    with ``is_causal=True`` the mask is always taken to be causal (PyTorch, for whom it is a
    hint, does so only when it need not return weights nor merge a key padding mask).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        e = self.embed_dim
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(np.empty((e, e), dtype))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), dtype))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * e, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, e), dtype))
            self.bias_v = Parameter(np.empty((1, 1, e), dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key`` / ``value``.

        Parameters
        ----------
        query : Tensor of shape (L, N, E), (N, L, E) when ``batch_first``, or (L, E)
        key : Tensor of shape (S, N, kdim), (N, S, kdim) or (S, kdim)
        value : Tensor of shape (S, N, vdim), (N, S, vdim) or (S, vdim)
            Pass the same Tensor as query, key and value for self-attention (one projection
            GEMM), or as key and value for cross-attention (two).
        key_padding_mask : bool or float Tensor/ndarray of shape (N, S) or (S,), optional
            Bool: True marks a padded key, which no query sees. Float: added to the scores.
        need_weights : bool
            Also return the attention weights.
        attn_mask : bool or float Tensor/ndarray of shape (L, S) or (N * num_heads, L, S)
            Bool: True marks a key the query may NOT attend to. Float: added to the scores.
        average_attn_weights : bool
            Average the returned weights over the heads.
        is_causal : bool
            Hide key j from query i when j > i (then ``attn_mask``, if given, is taken to be
            that causal mask and not read).

        Returns
        -------
        attn_output : Tensor of shape (L, N, E), (N, L, E) or (L, E)
        attn_weights : Tensor or None
            (N, L, S) averaged or (N, num_heads, L, S) per head ((L, S) / (num_heads, L, S)
            unbatched), after dropout; None unless ``need_weights``.
        """
        separate = None if self._qkv_same_embed_dim else (self.q_proj_weight, self.k_proj_weight,
                                                          self.v_proj_weight)
        params = AttentionProjections(
            in_proj_weight=self.in_proj_weight, in_proj_bias=self.in_proj_bias,
            separate=separate, bias_k=self.bias_k, bias_v=self.bias_v,
            out_proj_weight=self.out_proj.weight, out_proj_bias=self.out_proj.bias)
        return F._multi_head_attention(
            self._layer_name(), query, key, value, params, embed_dim=self.embed_dim,
            num_heads=self.num_heads, batch_first=self.batch_first,
            add_zero_attn=self.add_zero_attn, dropout_p=self.dropout if self.training else 0.0,
            key_padding_mask=key_padding_mask, attn_mask=attn_mask, is_causal=is_causal,
            need_weights=need_weights, average_attn_weights=average_attn_weights)

    def _layer_name(self):
        dims = "" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}"
        return (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}"
                f"{dims})")


# ---------------------------------------------------------------------------------------------
# Positional encodings


class _PositionalEncoding(Module):
    """Shared by the positional encodings: ``dropout(x + table[:L])`` with the positions
    along dim 0 of (L, N, E) input, dim 1 of (N, L, E) input (``batch_first``) or dim 0 of
    unbatched (L, E) input."""

    def _table(self):
        raise NotImplementedError

    def forward(self, x):
        """Add the encodings of positions ``0 .. L-1`` to ``x`` and apply dropout.

        Parameters
        ----------
        x : Tensor of shape (L, N, d_model), (N, L, d_model) with ``batch_first``, or (L, d_model)

        Returns
        -------
        Tensor shaped like ``x``
        """
        data = x._data if isinstance(x, Tensor) else x
        table = self._table()
        if not isinstance(data, np.ndarray) or data.ndim not in (2, 3) \
                or data.shape[-1] != self.d_model:
            layout = "(N, L, d_model)" if self.batch_first else "(L, N, d_model)"
            raise _input_error(self, data, f"input of shape {layout} or (L, d_model) with "
                                           f"d_model={self.d_model}")
        if data.dtype != table.dtype:
            raise TypeError(f"{self._layer_name()}: input has dtype {data.dtype} but the "
                            f"encodings are {table.dtype} (convert the input with .to(...), or "
                            f"the layer with .double() / .float())")
        axis = 1 if self.batch_first and data.ndim == 3 else 0
        length = data.shape[axis]
        if length > self.max_len:
            raise ValueError(f"{self._layer_name()}: the input has {length} positions (dim "
                             f"{axis} of shape {data.shape}) but max_len is {self.max_len}; "
                             f"construct the encoding with a larger max_len")
        x = x if isinstance(x, Tensor) else _wrap(data, None)
        pos = self._positions(length)
        if data.ndim == 3 and axis == 0:
            pos = pos.reshape(length, 1, self.d_model)
        return F.dropout(x + pos, self.dropout, self.training)


class SinusoidalPositionalEncoding(_PositionalEncoding):
    """Fixed sinusoidal positional encoding, added to the input, then dropout.

    As in "Attention Is All You Need" and PyTorch's Transformer tutorial::

        pe[pos, 2i] = sin(pos / 10000^(2i / d_model)),  pe[pos, 2i+1] = cos(same angle)

    Parameters
    ----------
    d_model : int
    max_len : int
        Longest sequence accepted.
    dropout : float
    batch_first : bool
        Input (N, L, d_model) instead of (L, N, d_model).
    device : None or "cpu"
    dtype : float dtype, optional
        Of the table (default float32).

    Attributes
    ----------
    pe : ndarray of shape (max_len, d_model)
        A non-persistent buffer: computed, not saved in ``state_dict``.

    Shape
    -----
    - Input: (L, N, d_model), (N, L, d_model) with ``batch_first``, or (L, d_model); L at
      most ``max_len``.
    - Output: the input's shape.
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.d_model = int(d_model)
        self.max_len = int(max_len)
        self.dropout = float(dropout)
        self.batch_first = batch_first
        position = np.arange(self.max_len, dtype=np.float64)[:, None]
        div_term = np.exp(np.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model))
        pe = np.zeros((self.max_len, self.d_model))
        pe[:, 0::2] = np.sin(position * div_term)
        pe[:, 1::2] = np.cos(position * div_term[: self.d_model // 2])
        self.register_buffer("pe", pe.astype(dtype), persistent=False)

    def _table(self):
        return self.pe._data

    def _positions(self, length):
        return self.pe._data[:length]

    def extra_repr(self):
        return (f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


class LearnedPositionalEncoding(_PositionalEncoding):
    """A learned encoding per position, added to the input, then dropout.

    Parameters
    ----------
    max_len : int
        Number of positions (the longest sequence accepted).
    d_model : int
    dropout : float
    batch_first : bool
        Input (N, L, d_model) instead of (L, N, d_model).
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight : Parameter of shape (max_len, d_model)
        N(0, 1), as ``nn.Embedding(max_len, d_model)``, whose ``state_dict`` it shares.

    Shape
    -----
    - Input: (L, N, d_model), (N, L, d_model) with ``batch_first``, or (L, d_model); L at
      most ``max_len``.
    - Output: the input's shape.
    """

    def __init__(self, max_len, d_model, dropout=0.0, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.max_len = int(max_len)
        self.d_model = int(d_model)
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.weight = Parameter(np.empty((self.max_len, self.d_model), dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw the encodings from N(0, 1)."""
        init.normal_(self.weight)

    def _table(self):
        return self.weight._data

    def _positions(self, length):
        return self.weight[:length]

    def extra_repr(self):
        return (f"max_len={self.max_len}, d_model={self.d_model}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
