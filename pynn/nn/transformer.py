"""The Transformer (``torch.nn.Transformer`` and its parts), with PyTorch's arguments,
defaults, sub-module names and ``state_dict`` keys: ``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``, ``Transformer``,
and :func:`generate_square_subsequent_mask`.

For a causal, decoder-only language model use ``TransformerEncoder`` with ``is_causal=True``
(or ``mask=generate_square_subsequent_mask(L)``): the self-attention then hides the future.

Differences from PyTorch: ``is_causal=True`` without a mask means a causal mask (PyTorch asks
for the mask as well); eval mode has no separate fast path (PyTorch's gives the same numbers,
except that ``TransformerEncoder`` with a key padding mask in inference writes zeros at the
padded positions, where pynn computes them like the others).
"""

import copy

import numpy as np

from ..tensor import Tensor, _wrap
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear, _input_error
from .module import Module
from .normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "generate_square_subsequent_mask",
]


def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """The (sz, sz) causal mask: 0 where key j <= query i, -inf above the diagonal.

    As ``torch.nn.Transformer.generate_square_subsequent_mask``.

    Parameters
    ----------
    sz : int
        The sequence length.
    device : None or "cpu"
    dtype : float dtype, optional
        Default float32.

    Returns
    -------
    Tensor of shape (sz, sz)
    """
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"pynn runs on the CPU only, got device={device!r}")
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    mask = np.zeros((sz, sz), dtype)
    mask[np.triu_indices(sz, 1)] = -np.inf
    return _wrap(mask, None)


def _get_activation_fn(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _get_seq_len(src, batch_first):
    shape = src.shape
    if len(shape) == 2:  # unbatched: (S, E)
        return shape[0]
    return shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal=None, size=None):
    """``is_causal`` when given; else whether ``mask`` (bool: True hides, or float) is the
    causal mask of ``size`` (PyTorch's rule)."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        sz = size if size is not None else m.shape[-2]
        if m.shape == (sz, sz):
            above = np.triu(np.ones((sz, sz), dtype=bool), 1)
            if m.dtype == np.bool_:
                make_causal = bool(np.array_equal(m, above))
            else:
                make_causal = bool(np.all(m[~above] == 0) and np.all(np.isneginf(m[above])))
    return make_causal


def _check_tokens(module, name, x, d_model):
    data = x._data if isinstance(x, Tensor) else x
    if not isinstance(data, np.ndarray) or data.ndim not in (2, 3) or data.shape[-1] != d_model:
        layout = "(N, L, d_model)" if module.batch_first else "(L, N, d_model)"
        raise _input_error(module, data, f"{name} of shape {layout} or (L, d_model) with "
                                         f"d_model={d_model}")


class _FeedForward:
    """``linear2(dropout(activation(linear1(x))))``, with the ReLU fused into the first
    GEMM when the activation is ReLU (mixed into the layers below)."""

    def _ff(self, x):
        act = self.activation
        if act is F.relu or isinstance(act, ReLU):
            h = self.linear1._forward_relu(x)
        else:
            h = act(self.linear1(x))
        return self.linear2(self.dropout(h))

    def _activation_code(self):
        act = self.activation
        if act is F.relu or isinstance(act, ReLU):
            return 1
        if act is F.gelu or isinstance(act, GELU):
            return 2
        return 0


class TransformerEncoderLayer(_FeedForward, Module):
    """Self-attention and a feed-forward network, each with a residual connection and layer norm.

    As ``torch.nn.TransformerEncoderLayer``::

        norm_first=False:  x = norm1(x + sa(x));        x = norm2(x + ff(x))
        norm_first=True:   x = x + sa(norm1(x));        x = x + ff(norm2(x))

    Parameters
    ----------
    d_model : int
        E, the feature size of the inputs and outputs.
    nhead : int
        Attention heads; must divide ``d_model``.
    dim_feedforward : int
        Hidden size of the feed-forward network.
    dropout : float
        After the attention weights, the activation, and each block.
    activation : "relu", "gelu" or callable
        The feed-forward network's activation (a function or a Module).
    layer_norm_eps : float
    batch_first : bool
        (N, L, d_model) instead of (L, N, d_model).
    norm_first : bool
        Pre-norm (layer norm before each block) instead of post-norm.
    bias : bool
        Biases in the linear layers and the layer norms.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation = activation
        self.activation_relu_or_gelu = self._activation_code()

    @property
    def batch_first(self):
        """Whether inputs are (N, L, d_model) (the attention's ``batch_first``)."""
        return self.self_attn.batch_first

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Run the layer.

        Parameters
        ----------
        src : Tensor of shape (L, N, d_model), (N, L, d_model) with ``batch_first``, or (L, d_model)
        src_mask : bool or float mask of shape (L, L) or (N * nhead, L, L), optional
            Bool: True hides a key; float: added to the scores.
        src_key_padding_mask : bool or float mask of shape (N, L) or (L,), optional
            Bool: True marks padding.
        is_causal : bool
            Causal self-attention (``src_mask``, if given, is taken to be the causal mask).

        Returns
        -------
        Tensor shaped like ``src``
        """
        _check_tokens(self, "src", src, self.self_attn.embed_dim)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self._ff(x))

    def _layer_name(self):
        return (f"TransformerEncoderLayer(d_model={self.self_attn.embed_dim}, "
                f"nhead={self.self_attn.num_heads})")


class TransformerDecoderLayer(_FeedForward, Module):
    """Self-attention, cross-attention to ``memory`` and a feed-forward network.

    Each block has a residual connection and layer norm, as
    ``torch.nn.TransformerDecoderLayer``::

        norm_first=False:  x = norm1(x + sa(x)); x = norm2(x + mha(x, mem)); x = norm3(x + ff(x))
        norm_first=True:   x = x + sa(norm1(x)); x = x + mha(norm2(x), mem); x = x + ff(norm3(x))

    Parameters
    ----------
    d_model : int
        E, the feature size of the inputs and outputs.
    nhead : int
        Attention heads; must divide ``d_model``.
    dim_feedforward : int
        Hidden size of the feed-forward network.
    dropout : float
        After the attention weights, the activation, and each block.
    activation : "relu", "gelu" or callable
        The feed-forward network's activation (a function or a Module).
    layer_norm_eps : float
    batch_first : bool
        (N, L, d_model) instead of (L, N, d_model).
    norm_first : bool
        Pre-norm (layer norm before each block) instead of post-norm.
    bias : bool
        Biases in the linear layers and the layer norms.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                            batch_first=batch_first, bias=bias, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout,
                                                 batch_first=batch_first, bias=bias, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation = activation

    @property
    def batch_first(self):
        """Whether inputs are (N, L, d_model) (the attention's ``batch_first``)."""
        return self.self_attn.batch_first

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """Run the layer.

        Parameters
        ----------
        tgt : Tensor of shape (T, N, d_model), (N, T, d_model) with ``batch_first``, or (T, d_model)
        memory : Tensor of shape (S, N, d_model), (N, S, d_model) or (S, d_model)
        tgt_mask : bool or float mask of shape (T, T) or (N * nhead, T, T), optional
            Of the self-attention.
        memory_mask : bool or float mask of shape (T, S) or (N * nhead, T, S), optional
            Of the cross-attention.
        tgt_key_padding_mask : bool or float mask of shape (N, T) or (T,), optional
        memory_key_padding_mask : bool or float mask of shape (N, S) or (S,), optional
            Bool masks: True hides (or marks padding); float masks are added to the scores.
        tgt_is_causal, memory_is_causal : bool
            Causal self- / cross-attention (the corresponding mask, if given, is taken to be the
            causal one).

        Returns
        -------
        Tensor shaped like ``tgt``
        """
        _check_tokens(self, "tgt", tgt, self.self_attn.embed_dim)
        _check_tokens(self, "memory", memory, self.self_attn.embed_dim)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self._ff(x))

    def _layer_name(self):
        return (f"TransformerDecoderLayer(d_model={self.self_attn.embed_dim}, "
                f"nhead={self.self_attn.num_heads})")


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer``, then ``norm`` if given.

    As ``torch.nn.TransformerEncoder``; the copies are ``layers.0``, ``layers.1``, ...

    Parameters
    ----------
    encoder_layer : TransformerEncoderLayer
        Or any module with its forward signature.
    num_layers : int
    norm : Module, optional
    enable_nested_tensor, mask_check : bool
        Accepted for compatibility; pynn has no nested tensors (no effect).
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Pass ``src`` through the layers in turn.

        Parameters
        ----------
        src : Tensor of shape (L, N, E), (N, L, E) when the layers are ``batch_first``, or (L, E)
        mask : bool or float mask of shape (L, L) or (N * nhead, L, L), optional
            The self-attention mask.
        src_key_padding_mask : bool or float mask of shape (N, L) or (L,), optional
        is_causal : bool, optional
            Causal self-attention. None: detect whether ``mask`` is the causal mask.

        Returns
        -------
        Tensor shaped like ``src``
        """
        first = self.layers[0] if len(self.layers) else None
        batch_first = getattr(getattr(first, "self_attn", None), "batch_first", False)
        seq_len = _get_seq_len(src._data if isinstance(src, Tensor) else np.asarray(src),
                               batch_first)
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal,
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer``, then ``norm`` if given.

    As ``torch.nn.TransformerDecoder``; the copies are ``layers.0``, ``layers.1``, ...

    Parameters
    ----------
    decoder_layer : TransformerDecoderLayer
        Or any module with its forward signature.
    num_layers : int
    norm : Module, optional
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """Pass ``tgt``, attending to ``memory``, through the layers in turn.

        Parameters
        ----------
        tgt : Tensor of shape (T, N, d_model), (N, T, d_model) with ``batch_first``, or (T, d_model)
        memory : Tensor of shape (S, N, d_model), (N, S, d_model) or (S, d_model)
        tgt_mask : bool or float mask of shape (T, T) or (N * nhead, T, T), optional
            Of the self-attention.
        memory_mask : bool or float mask of shape (T, S) or (N * nhead, T, S), optional
            Of the cross-attention.
        tgt_key_padding_mask : bool or float mask of shape (N, T) or (T,), optional
        memory_key_padding_mask : bool or float mask of shape (N, S) or (S,), optional
            Bool masks: True hides (or marks padding); float masks are added to the scores.
        tgt_is_causal : bool, optional
            Causal self-attention; None: detect whether ``tgt_mask`` is the causal mask.
        memory_is_causal : bool
            Causal cross-attention.

        Returns
        -------
        Tensor shaped like ``tgt``
        """
        first = self.layers[0] if len(self.layers) else None
        batch_first = getattr(getattr(first, "self_attn", None), "batch_first", False)
        seq_len = _get_seq_len(tgt._data if isinstance(tgt, Tensor) else np.asarray(tgt),
                               batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """Encoder-decoder Transformer (``torch.nn.Transformer``).

    ``num_encoder_layers`` encoder layers and a final LayerNorm (``encoder``),
    ``num_decoder_layers`` decoder layers and a final LayerNorm (``decoder``). Every parameter
    with more than one dimension is re-initialised Xavier-uniform, as PyTorch does. See
    :class:`TransformerEncoderLayer` for what ``dim_feedforward`` to ``bias`` do.

    Parameters
    ----------
    d_model : int
        E, the feature size of ``src``, ``tgt`` and the output.
    nhead : int
        Attention heads; must divide ``d_model``.
    num_encoder_layers, num_decoder_layers : int
    dim_feedforward : int
    dropout : float
    activation : "relu", "gelu" or callable
    custom_encoder, custom_decoder : Module, optional
        Used instead of the default stacks.
    layer_norm_eps : float
    batch_first : bool
        (N, L, E) instead of (L, N, E).
    norm_first : bool
    bias : bool
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """Encode ``src``, decode ``tgt`` attending to the encoding.

        Parameters
        ----------
        src : Tensor of shape (S, N, E), (N, S, E) with ``batch_first``, or (S, E)
        tgt : Tensor of shape (T, N, E), (N, T, E) or (T, E)
        src_mask, tgt_mask, memory_mask : bool or float masks, optional
            Of shapes (S, S), (T, T) and (T, S), or per head (N * nhead, ., .).
        src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask : masks, optional
            Of shapes (N, S), (N, T) and (N, S), or (S,), (T,), (S,) unbatched.
        src_is_causal, tgt_is_causal : bool or None
            Causal self-attention in the encoder / decoder; None: detect it from the mask.
        memory_is_causal : bool
            Causal cross-attention.

        Returns
        -------
        Tensor shaped like ``tgt``
        """
        s, t = (x._data if isinstance(x, Tensor) else np.asarray(x) for x in (src, tgt))
        batched = s.ndim == 3
        axis = 0 if self.batch_first else 1
        if (t.ndim == 3) != batched or (batched and s.shape[axis] != t.shape[axis]):
            raise ValueError(f"Transformer: the batch number of src and tgt must be equal, got "
                             f"shapes {s.shape} and {t.shape} (batch_first={self.batch_first})")
        if s.shape[-1] != self.d_model or t.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature number of src and tgt must be equal to "
                             f"d_model={self.d_model}, got shapes {s.shape} and {t.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) causal mask (see :func:`generate_square_subsequent_mask`)."""
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
