"""``Embedding``: a lookup table of learnable vectors indexed by integers."""

import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _layer_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


class Embedding(Module):
    """A lookup table of learnable vectors, indexed by integers (``torch.nn.Embedding``).

    Row ``i`` of the ``(num_embeddings, embedding_dim)`` weight is the vector of index ``i``.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    padding_idx : int, optional
        This row starts at zero and gets no gradient (it stays what it is); negative counts
        from the end, as in PyTorch.
    max_norm : float, optional
        Rows looked up whose ``norm_type``-norm exceeds ``max_norm`` are rescaled to it, in
        place.
    norm_type : float
        The p of the p-norm for ``max_norm``.
    scale_grad_by_freq : bool
        Divide each row's gradient by how often its index occurs in the batch.
    sparse : bool
        Only False is implemented (pynn has no sparse gradients).
    _weight : array_like of shape (num_embeddings, embedding_dim), optional
        Initial values (used by :meth:`from_pretrained`).
    _freeze : bool
        The weight does not require grad.
    device : None or "cpu"
        pynn runs on the CPU only; any other device raises ValueError.
    dtype : float dtype, optional
        Of the weight (default float32).

    Attributes
    ----------
    weight : Parameter of shape (num_embeddings, embedding_dim)
        N(0, 1) initially.

    Shape
    -----
    - Input: (*), integer indices in ``[0, num_embeddings)``.
    - Output: ``(*, embedding_dim)``.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        param_dtype = _layer_dtype(dtype, device)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = F._padding_idx(self._layer_name(), padding_idx,
                                          self.num_embeddings)
        if sparse:
            raise NotImplementedError(f"{self._layer_name()}: sparse=True is not supported "
                                      "(pynn has no sparse gradients)")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.empty(shape, param_dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            w = np.array(_weight._data if isinstance(_weight, Tensor) else _weight)
            if w.shape != shape:
                raise ValueError(f"{self._layer_name()}: _weight must have shape {shape}, got "
                                 f"{w.shape}")
            # As PyTorch, a given weight keeps its own dtype unless one is asked for.
            if dtype is None:
                param_dtype = _layer_dtype(w.dtype)
            self.weight = Parameter(w.astype(param_dtype, copy=False), requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding a copy of ``embeddings``, in their dtype.

        Parameters
        ----------
        embeddings : ndarray or Tensor of shape (num_embeddings, embedding_dim)
        freeze : bool
            The weight does not require grad (default True).
        padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse : optional
            As for :class:`Embedding`.

        Returns
        -------
        Embedding
        """
        w = np.asarray(embeddings._data if isinstance(embeddings, Tensor) else embeddings)
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{w.shape}")
        return cls(w.shape[0], w.shape[1], padding_idx, max_norm, norm_type,
                   scale_grad_by_freq, sparse, _weight=w, _freeze=freeze, dtype=w.dtype)

    def reset_parameters(self):
        """N(0, 1), then the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F._embedding(self._layer_name(), input, self.weight, self.padding_idx,
                            self.max_norm, self.norm_type, self.scale_grad_by_freq,
                            self.sparse)

    def _layer_name(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings.

    Sums, means or maxima of bags of embeddings (an :class:`Embedding` followed by a per-bag
    reduction), as ``torch.nn.EmbeddingBag``.

    Parameters
    ----------
    num_embeddings : int
        The size of the vocabulary.
    embedding_dim : int
        The size of each embedding vector.
    max_norm : float, optional
    norm_type : float
    scale_grad_by_freq : bool
    mode : {"mean", "sum", "max"}
    sparse : False
    _weight : Tensor of shape (num_embeddings, embedding_dim), optional
    include_last_offset : bool
    padding_idx : int, optional
        Indices equal to it are left out of their bag (and their row is zero).
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.

    Attributes
    ----------
    weight : Parameter of shape (num_embeddings, embedding_dim), N(0, 1)

    Shape
    -----
    - Input: (B, N), or (L,) with offsets (B,).
    - Output: (B, embedding_dim).
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = F._padding_idx("EmbeddingBag", padding_idx, self.num_embeddings)
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
            self.reset_parameters()
        else:
            self.weight = Parameter(np.array(_weight._data if isinstance(_weight, Tensor)
                                             else _weight, dtype=dtype))

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding a copy of ``embeddings``, in their dtype.

        Parameters
        ----------
        embeddings : ndarray or Tensor of shape (num_embeddings, embedding_dim)
        freeze : bool
            The weight does not require grad (default True).
        max_norm, norm_type, scale_grad_by_freq, mode, sparse : optional
            As for :class:`EmbeddingBag`.
        include_last_offset, padding_idx : optional
            As for :class:`EmbeddingBag`.

        Returns
        -------
        EmbeddingBag
        """
        w = np.asarray(embeddings._data if isinstance(embeddings, Tensor) else embeddings)
        if w.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got shape "
                             f"{w.shape}")
        bag = cls(w.shape[0], w.shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  w, include_last_offset, padding_idx, dtype=w.dtype)
        bag.weight.requires_grad = not freeze
        return bag

    def reset_parameters(self):
        """N(0, 1), then the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
