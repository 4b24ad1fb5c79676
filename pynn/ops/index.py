"""Indexing and assignment with gradients: ``x[key]`` (:class:`IndexFunction`) and
``x[key] = value`` (:func:`setitem`, recorded as :class:`IndexPutFunction` when it is part of
a graph).

Keys are NumPy's: ints, slices with steps, ``None``, ``...``, integer arrays (Tensors,
ndarrays or lists) and boolean masks, in any combination.
"""

import math

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast
from .shape import GatherMapFunction

__all__ = ["AsStrided", "AsStridedFunction", "IndexFunction", "IndexPutFunction",
           "OverwriteFunction", "Strided", "StridedPutFunction", "StridedViewFunction", "index_key",
           "setitem", "storage_positions", "strided_view"]


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


def strided_view(arr, offset, shape, strides):
    """The ndarray of ``shape`` and ``strides`` (bytes) starting ``offset`` bytes from the first
    element of ``arr``, in ``arr``'s memory (which the caller knows holds it)."""
    iface = dict(arr.__array_interface__)
    iface["data"] = (iface["data"][0] + offset, iface["data"][1])
    iface["shape"], iface["strides"] = tuple(shape), tuple(strides)
    out = np.asarray(_Interface(iface, arr))
    return out if out.dtype == arr.dtype else out.view(arr.dtype)


class _Interface:
    """An ``__array_interface__`` holder that keeps the array it points into alive."""

    __slots__ = ("__array_interface__", "base")

    def __init__(self, iface, base):
        self.__array_interface__ = iface
        self.base = base


class Strided:
    """Where a view's elements lie in its base's storage, in elements: ``offset`` from the
    base's first element, ``shape`` and ``strides``, for a base laid out densely as
    ``layout`` (its shape and strides). Any array laid out so holds the view at the same
    place (:meth:`at`), which is how a write through the view reaches a new copy of the base.

    Parameters
    ----------
    offset : int
    shape, strides : tuple of int
        The view's.
    layout : tuple
        ``(shape, strides)`` of the base.
    """

    __slots__ = ("full", "layout", "offset", "shape", "strides")

    def __init__(self, offset, shape, strides, layout):
        self.offset, self.shape, self.strides, self.layout = offset, shape, strides, layout
        # the view covers every element of the base (its elements are distinct)
        self.full = math.prod(shape) == math.prod(layout[0])

    def at(self, arr):
        """The view in ``arr``, an array of the base's layout."""
        if not self.fits(arr):  # callers check fits() first: a bug if reached
            raise RuntimeError(
                f"in-place write through a view: its base is laid out otherwise (shape "
                f"{arr.shape}, strides {arr.strides}) than the view's place in it expects")
        size = arr.itemsize
        return strided_view(arr, self.offset * size, self.shape,
                            tuple(s * size for s in self.strides))

    def fits(self, arr):
        """Whether ``arr`` has the base's layout (:meth:`at` finds the view in it)."""
        size = arr.itemsize
        shape, strides = self.layout
        return arr.shape == shape and arr.strides == tuple(s * size for s in strides)

    def key(self):
        """The view's elements as an integer index key into the base (for a base laid out
        otherwise)."""
        pos = self.empty(np.int64)
        pos[...] = np.arange(pos.size).reshape(pos.shape)
        return np.unravel_index(self.at(pos), pos.shape)

    def empty(self, dtype):
        """An uninitialised array of ``dtype`` with the base's layout."""
        shape, strides = self.layout
        if strides == _c_strides(shape):
            return np.empty(shape, dtype)
        flat = np.empty(math.prod(shape), dtype)
        first = -sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
        size = flat.itemsize
        return strided_view(flat, first * size, shape, tuple(s * size for s in strides))

    def copy(self, arr):
        """A copy of ``arr`` (of the base's shape, any layout) with the base's layout."""
        out = self.empty(arr.dtype)
        np.copyto(out, arr)
        return out


def _c_strides(shape):
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= max(n, 1)
    return tuple(reversed(out))


class StridedViewFunction(ArrayFunction):
    """The view ``where`` (a :class:`Strided`) of ``x``, as a node: what a view (``view``,
    ``t``, ``permute`` ...) written in place becomes, reading its base's new value."""

    def name(self):
        return "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, where):
        ctx.where = where
        # a base laid out otherwise (a gradient, under create_graph) is read through a copy
        return where.at(x if where.fits(x) else where.copy(x))

    @staticmethod
    def backward(ctx, grad):
        where = ctx.where
        dx = where.empty(grad.dtype)
        dx.fill(0)
        where.at(dx)[...] = grad
        return dx, None

    def _backward_graph(self, grad):
        # create_graph=True: the backward as recorded ops (each of these two nodes is the
        # other's adjoint), next to the ndarray one rather than in graph_backward's registry
        where = self.where
        zeros = np.zeros(where.layout[0], _dtype_of(grad))
        return StridedPutFunction.apply(zeros, grad, where), None


class StridedPutFunction(ArrayFunction):
    """A copy of ``x`` (laid out as ``where``'s base) with the view ``where`` set to ``value``
    (of the view's shape): a write through a view reaching its base (PyTorch's CopySlices).
    ``x`` receives the gradient outside the view, ``value`` the gradient inside it."""

    def name(self):
        return "CopySlices"

    @staticmethod
    def forward(ctx, x, value, where):
        ctx.where = where
        out = where.empty(x.dtype) if where.full else where.copy(x)
        where.at(out)[...] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        where = ctx.where
        nx, nv = ctx.needs_input_grad[:2]
        g = where.copy(grad)
        view = where.at(g)
        gv = view.copy() if nv else None
        if nx:
            view[...] = 0
        return (g if nx else None), gv, None

    def _backward_graph(self, grad):
        where = self.where
        nx, nv = self.needs_input_grad[:2]
        gx = gv = None
        if nx:
            gx = StridedPutFunction.apply(grad, np.zeros(where.shape, _dtype_of(grad)), where)
        if nv:
            gv = StridedViewFunction.apply(grad, where)
        return gx, gv, None


def _dtype_of(grad):
    return grad._data.dtype if hasattr(grad, "grad_fn") else np.asarray(grad).dtype


def put_strided(old, value, where):
    """``old`` with the view ``where`` set to ``value``, recorded (see ``Tensor._inplace``)."""
    return StridedPutFunction.apply(old, value, where)


def storage_positions(offset, shape, strides):
    """The position in storage (in elements) of each element of the strided layout ``offset``,
    ``shape``, ``strides`` (in elements), as an int64 array of ``shape``."""
    pos = np.full((), offset, np.int64)
    for n, s in zip(shape, strides):
        pos = pos[..., None] + np.arange(n, dtype=np.int64) * s
    return pos


class AsStrided:
    """Two strided layouts over one storage, in elements from its start: ``source``, where an
    array lies, and ``target``, the view of that storage an ``as_strided`` call asks for; each
    is ``(offset, shape, strides)``. The layouts may overlap themselves and each other.

    Parameters
    ----------
    source, target : tuple
        ``(offset, shape, strides)``: int, tuple of int, tuple of int.
    """

    __slots__ = ("source", "target")

    def __init__(self, source, target):
        self.source, self.target = source, target

    def view(self, x):
        """The target view, in the memory of ``x`` (an array laid out as ``source``)."""
        size = x.itemsize
        offset, shape, strides = self.target
        return strided_view(x, (offset - self.source[0]) * size, shape,
                            tuple(s * size for s in strides))

    def maps(self):
        """``(slot, inv, counts)``: the distinct storage positions of ``source`` are the slots
        (sorted); ``slot`` gives the target's element's slot, flat (-1: a position ``source``
        does not hold), ``inv`` each source element's slot, flat, and ``counts`` how many
        source elements share each slot (more than one in an expanded array)."""
        pin = storage_positions(*self.source).reshape(-1)
        pout = storage_positions(*self.target).reshape(-1)
        uniq, inv, counts = np.unique(pin, return_inverse=True, return_counts=True)
        if not uniq.size:
            return np.full(pout.shape, -1, np.int64), inv.reshape(-1), counts
        slot = np.minimum(np.searchsorted(uniq, pout), uniq.size - 1)
        return np.where(uniq[slot] == pout, slot, -1), inv.reshape(-1), counts


class AsStridedFunction(ArrayFunction):
    """``as_strided``: the view ``geometry.target`` (an :class:`AsStrided`) of the storage of
    ``x``. The backward is PyTorch's: the gradient is added up per storage position (windows
    that overlap accumulate), read back at the input's elements and, where the input holds a
    position more than once, shared equally among them; positions outside the input get
    none."""

    def name(self):
        return "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry = geometry
        return geometry.view(x)

    @staticmethod
    def backward(ctx, grad):
        geometry = ctx.geometry
        slot, inv, counts = geometry.maps()
        g = grad.reshape(-1)
        keep = slot >= 0
        if not keep.all():
            slot, g = slot[keep], g[keep]
        if grad.dtype.kind == "f" and grad.dtype.itemsize <= 8:
            per_slot = np.bincount(slot, weights=g, minlength=counts.size).astype(grad.dtype,
                                                                                  copy=False)
        else:
            per_slot = np.zeros(counts.size, grad.dtype)
            np.add.at(per_slot, slot, g)
        dx = per_slot[inv]
        if counts.size and counts.max() > 1:
            dx /= counts[inv]
        return dx.reshape(geometry.source[1]), None

    def _backward_graph(self, grad):
        from . import graph_backward  # it imports this module

        return graph_backward.graph_backward(self, _as_strided_graph, (grad,))


def _as_strided_graph(node, g):
    # AsStridedFunction.backward in recorded ops (create_graph=True): the per-slot sums are
    # gathering's adjoint, reading them back a gather
    from . import graph_backward

    geometry = node.geometry
    slot, inv, counts = geometry.maps()
    per_slot = graph_backward._gather_adjoint(g, slot.reshape(g._data.shape), (counts.size,))
    shape = geometry.source[1]
    dx = GatherMapFunction.apply(per_slot, inv.reshape(shape))
    if counts.size and counts.max() > 1:
        dx = dx * (1.0 / counts[inv]).reshape(shape).astype(g._data.dtype)
    return dx, None
