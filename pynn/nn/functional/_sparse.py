"""Index lookups: ``embedding``, ``embedding_bag`` and ``one_hot``."""

import numpy as np

from ...ops.embedding import EmbeddingFunction
from ...tensor import _wrap
from ...tensor import stack as _stack
from ._utils import _FLOATS, _data, _tensor

__all__ = [
    "embedding",
    "embedding_bag",
    "one_hot",
]


def _padding_idx(op, padding_idx, num_embeddings):
    """PyTorch's rule: ``padding_idx`` in [-num_embeddings, num_embeddings), negative counts
    from the end; returns it in [0, num_embeddings) or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings ({num_embeddings}), "
                         f"got {padding_idx}")
    return int(padding_idx) % num_embeddings


def _embedding_indices(op, input, num_embeddings):
    """The index array of an embedding lookup: integers in [0, num_embeddings)."""
    idx = _data(input)
    if not isinstance(idx, np.ndarray):
        idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer index tensor (int64 or int32), got dtype "
                        f"{idx.dtype} (shape {idx.shape}); convert it with .long()")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of range for {num_embeddings} "
                             f"embeddings (valid indices are 0 .. {num_embeddings - 1})")
    return idx.astype(np.intp, copy=False)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``: rescale, in place and outside the graph, the rows
    that ``idx`` uses whose ``norm_type``-norm exceeds ``max_norm``."""
    rows = np.unique(idx)
    w = weight[rows]
    norms = np.linalg.norm(w.astype(np.float64), ord=norm_type, axis=1)
    over = norms > max_norm
    if np.any(over):
        scale = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype)
        weight[rows[over]] = w[over] * scale[:, None]


def _embedding(op, input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq,
               sparse):
    if sparse:
        raise NotImplementedError(f"{op}: sparse=True is not supported (pynn has no sparse "
                                  "gradients; the dense gradient is the same values)")
    w = _data(weight)
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype not in _FLOATS:
        raise ValueError(f"{op}: weight must be a float32/float64 Tensor of shape "
                         f"(num_embeddings, embedding_dim), got "
                         f"{getattr(w, 'shape', type(w).__name__)} {getattr(w, 'dtype', '')}")
    idx = _embedding_indices(op, input, w.shape[0])
    padding_idx = _padding_idx(op, padding_idx, w.shape[0])
    if max_norm is not None:
        _embedding_renorm(w, idx, float(max_norm), float(norm_type))
    return EmbeddingFunction.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (``torch.nn.functional.embedding``).

    Parameters
    ----------
    input : integer Tensor/ndarray of any shape, values in [0, num_embeddings)
    weight : Tensor of shape (num_embeddings, embedding_dim)
    padding_idx : int, optional
        This row gets no gradient (negative counts from the end).
    max_norm : float, optional
        Rows used whose ``norm_type``-norm exceeds it are rescaled to it, in place in
        ``weight``, before the lookup (as PyTorch).
    norm_type : float
        The p of the p-norm for ``max_norm``.
    scale_grad_by_freq : bool
        Divide each row's gradient by the number of times its index occurs in ``input``.
    sparse : bool
        Only False is implemented (pynn has no sparse gradients).

    Returns
    -------
    Tensor of shape ``input.shape + (embedding_dim,)``
    """
    return _embedding("embedding", input, weight, padding_idx, max_norm, norm_type,
                      scale_grad_by_freq, sparse)


def one_hot(tensor, num_classes=-1):
    """Class indices to one-hot rows (int64).

    Parameters
    ----------
    tensor : integer Tensor of any shape
    num_classes : int
        -1: one more than the largest index.

    Returns
    -------
    int64 Tensor of shape ``tensor.shape + (num_classes,)``
    """
    idx = np.asarray(_data(tensor))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensor of integer dtype, got "
                        f"{idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got "
                           f"{idx.min()} .. {idx.max()}")
    return _wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64), None)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embeddings.

    Sums, means or maxima of bags of embeddings, without materialising each bag's rows separately
    for "sum" and "mean" (one matrix product with the bag-membership matrix).

    Parameters
    ----------
    input : integer Tensor of shape (B, N) (B bags of N indices) or (L,) with ``offsets``
    weight : Tensor of shape (num_embeddings, D)
    offsets : integer Tensor of shape (B,) (or (B + 1,) with ``include_last_offset``)
        Where each bag starts in a 1-D ``input``.
    max_norm : float, optional
    norm_type : float
    scale_grad_by_freq : bool
        As :func:`embedding`.
    mode : {"mean", "sum", "max"}
        How each bag is reduced.
    sparse : bool
        As :func:`embedding`.
    per_sample_weights : Tensor shaped like ``input``, optional
        ``mode="sum"`` only: each row is scaled by its weight.
    include_last_offset : bool
        Whether ``offsets`` has one more entry, the end of the last bag.
    padding_idx : int, optional
        As :func:`embedding`; entries equal to ``padding_idx`` are left out of their bag.

    Returns
    -------
    Tensor of shape (B, D)
    """
    if mode not in ("mean", "sum", "max"):
        raise ValueError(f"embedding_bag: mode must be 'mean', 'sum' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights is only supported for "
                                  "mode='sum'")
    idx = np.asarray(_data(input))
    w = _data(weight)
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets has to be None if input is 2D")
        n_bags, per = idx.shape
        starts = np.arange(n_bags) * per
        idx = idx.reshape(-1)
        ends = starts + per
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        starts = np.asarray(_data(offsets)).astype(np.int64).reshape(-1)
        if include_last_offset:
            starts, ends = starts[:-1], starts[1:]
        else:
            ends = np.append(starts[1:], idx.size)
        n_bags = starts.size
    else:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {idx.ndim}")
    rows = embedding(_wrap(idx, None), weight, None, max_norm, norm_type, scale_grad_by_freq,
                     sparse)
    pad = _padding_idx("embedding_bag", padding_idx, w.shape[0])
    keep = np.ones(idx.size, bool) if pad is None else idx != pad
    position = np.arange(idx.size)
    member = (position >= starts[:, None]) & (position < ends[:, None]) & keep
    if mode == "max":
        out = []
        for b in range(n_bags):
            sel = np.flatnonzero(member[b])
            out.append(rows[sel.tolist()].amax(0) if sel.size
                       else _wrap(np.zeros(w.shape[1], w.dtype), None))
        return _stack(out, 0)
    mat = member.astype(w.dtype)
    if per_sample_weights is not None:
        mat = _wrap(mat, None) * _tensor(per_sample_weights).reshape(1, -1)
    elif mode == "mean":
        mat = mat / np.maximum(mat.sum(1, keepdims=True), 1)
    return _tensor(mat) @ rows
