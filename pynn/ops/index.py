"""Indexing and assignment with gradients: ``x[key]`` (:class:`IndexFunction`) and
``x[key] = value`` (:func:`setitem`, recorded as :class:`IndexPutFunction` when it is part of
a graph).

Keys are NumPy's: ints, slices with steps, ``None``, ``...``, integer arrays (Tensors,
ndarrays or lists) and boolean masks, in any combination.
"""

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast

__all__ = ["IndexFunction", "IndexPutFunction", "OverwriteFunction", "index_key", "setitem"]


def _unwrap(k):
    if hasattr(k, "grad_fn"):
        arr = k._data
        if arr.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr
    if type(k) is list and any(hasattr(e, "grad_fn") for e in k):
        return np.asarray([e._data if hasattr(e, "grad_fn") else e for e in k])
    return k


def index_key(key):
    """An indexing key with Tensors replaced by their ndarrays."""
    if type(key) is tuple:
        return tuple(_unwrap(k) for k in key)
    return _unwrap(key)


def _is_advanced(key):
    parts = key if type(key) is tuple else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in parts)


class IndexFunction(ArrayFunction):
    """``x[key]``, basic or advanced (integer/bool arrays); the backward scatters with
    ``np.add.at`` so repeated indices accumulate."""

    def name(self):
        # PyTorch's grad_fn: the node of the last indexing step it applies
        key = self.key
        parts = key if isinstance(key, tuple) else (key,)
        if any(not isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis)))
               for k in parts):
            return "IndexBackward0"
        steps = [k for k in parts if k is not Ellipsis and k != slice(None)]
        last = steps[-1] if steps else slice(None)
        if last is None:
            return "UnsqueezeBackward0"
        return "SliceBackward0" if isinstance(last, slice) else "SelectBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.x_shape, ctx.key = x.shape, key
        try:
            return x[key]
        except IndexError as exc:
            raise IndexError(f"index: {exc} (tensor shape {x.shape})") from None

    @staticmethod
    def backward(ctx, grad):
        key = ctx.key
        dx = np.zeros(ctx.x_shape, grad.dtype)
        if _is_advanced(key):
            np.add.at(dx, key, grad)
        else:
            dx[key] = grad
        return dx, None


class IndexPutFunction(ArrayFunction):
    """``x[key] = value`` out of place: a copy of ``x`` with the positions written. The
    gradient of ``x`` is zero at the overwritten positions; ``value`` receives the gradient
    of the positions it was written to (summed over the broadcast)."""

    @staticmethod
    def forward(ctx, x, value, key, accumulate=False):
        out = x.copy()
        try:
            if accumulate:  # index_put_(..., accumulate=True): repeated indices add up
                np.add.at(out, key, value)
            else:
                out[key] = value
        except (IndexError, ValueError) as exc:
            raise type(exc)(f"index assignment: {exc} (tensor shape {x.shape})") from None
        ctx.key, ctx.value_shape, ctx.accumulate = key, np.shape(value), accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        key, vshape, accumulate = ctx.key, ctx.value_shape, ctx.accumulate
        nx, nv = ctx.needs_input_grad[:2]
        gx = gv = None
        if nx:
            gx = grad
            if not accumulate:
                gx = grad.copy()
                gx[key] = 0
        if nv:
            gv = unbroadcast(np.asarray(grad[key]), vshape)
        return gx, gv, None, None


class OverwriteFunction(ArrayFunction):
    """The result of an in-place fill (``zero_``, ``fill_``, ``uniform_`` ...) of a tensor in
    the graph: ``values``, which do not depend on the old ones (their gradient is zero)."""

    @staticmethod
    def forward(ctx, x, values):
        return values

    @staticmethod
    def backward(ctx, grad):
        return np.zeros_like(grad), None


def setitem(t, key, value):
    """``t[key] = value`` (``Tensor.__setitem__``).

    Outside the graph the storage is written in place; a leaf that requires grad raises
    PyTorch's in-place error in grad mode; otherwise (``t`` in the graph, or ``value``
    requiring grad) the assignment is recorded through ``Tensor._inplace``.
    """
    key = index_key(key)
    if t._recording_inplace(value):
        t._inplace(_put, value, key)
        return
    try:
        t._data[key] = value._data if hasattr(value, "grad_fn") else value
    except ValueError as exc:
        raise RuntimeError(f"index assignment: {exc} (tensor shape {t._data.shape})") from None
    t._version += 1


def _put(old, value, key, accumulate=False):
    return IndexPutFunction.apply(old, value, key, accumulate)
