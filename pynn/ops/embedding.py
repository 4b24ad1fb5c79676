"""Embedding lookup: a row gather forward, a vectorised scatter-add backward."""

import numpy as np

from ..autograd import ArrayFunction

# Rows per np.add.at call in the backward: bounds the flat index array to ~8 MB.
_SCATTER_ELEMENTS = 1 << 20


def scatter_add_rows(num_rows, indices, rows):
    """``out[indices[k]] += rows[k]`` for every k, into zeros of shape (num_rows, D).

    Parameters
    ----------
    num_rows : int
    indices : integer ndarray of shape (M,), each in [0, num_rows)
    rows : ndarray of shape (M, D)

    Returns
    -------
    out : ndarray of shape (num_rows, D), the dtype of ``rows``

    Repeated indices accumulate. The rows are added through ``np.add.at`` on the flattened
    output (its fast one-dimensional path), in chunks so the flat indices stay small.
    """
    m, d = rows.shape
    out = np.zeros((num_rows, d), rows.dtype)
    if m == 0 or d == 0:
        return out
    flat_out = out.reshape(-1)
    rows = np.ascontiguousarray(rows)
    cols = np.arange(d, dtype=np.intp)
    step = max(1, _SCATTER_ELEMENTS // d)
    for s in range(0, m, step):
        idx = indices[s:s + step].astype(np.intp, copy=False)
        np.add.at(flat_out, (idx[:, None] * d + cols).reshape(-1), rows[s:s + step].reshape(-1))
    return out


class EmbeddingFunction(ArrayFunction):
    """``weight[indices]`` for integer ``indices`` of any shape: (*, D) out. Arguments are
    checked by :func:`pynn.functional.embedding`; ``padding_idx`` (a row in [0, V) or None)
    gets no gradient; ``scale_grad_by_freq`` divides each row's gradient by how often its
    index occurs in ``indices``."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        if ctx.needs_input_grad:
            ctx.save_for_backward(indices)
            ctx.num_embeddings, ctx.padding_idx = weight.shape[0], padding_idx
            ctx.scale_grad_by_freq = scale_grad_by_freq
        return np.take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        num, padding_idx, scale = ctx.num_embeddings, ctx.padding_idx, ctx.scale_grad_by_freq
        idx = indices.reshape(-1)
        g = grad.reshape(idx.size, grad.shape[-1])
        if scale:
            counts = np.bincount(idx, minlength=num)
            g = g / counts[idx][:, None].astype(g.dtype)
        dw = scatter_add_rows(num, idx, g)
        if padding_idx is not None:
            dw[padding_idx] = 0
        return dw, None, None, None
