"""``pynn.Tensor``: an ndarray with a gradient and a link to the operation that made it, and
the backward walk (iterative reverse topological order, so graphs of any depth work).

Conventions (a reviewer's checklist)
------------------------------------
- The storage is ``._data``, a plain ``numpy.ndarray``: library code (ops, optimisers,
  modules) reads and updates it directly. ``.data`` is, as in PyTorch, a new Tensor sharing
  that storage, outside the graph; assigning ``t.data = other`` replaces the storage.
- ``.grad`` is a Tensor without history (or None), as in PyTorch; its storage is
  ``.grad._data``. Gradients *accumulate*: every ``backward()`` adds into the leaves'
  ``.grad._data`` (in place, with ``+=``) until someone resets it
  (``optimizer.zero_grad()``). Non-leaf tensors get no ``.grad`` unless they called
  :meth:`Tensor.retain_grad`.
- ``backward()`` frees the saved arrays of the graph it walked, as PyTorch does; a second
  ``backward()`` through it raises "Trying to backward through the graph a second time"
  unless the first passed ``retain_graph=True``.
- dtypes: ``Tensor.dtype`` is a :class:`pynn.dtype` (``pynn.float32`` ...) that compares
  equal to the NumPy dtype of the storage, so ``t.dtype == np.float32`` and
  ``np.zeros(n, t.dtype)`` work. Promotion is PyTorch's (``pynn._dtype.result_np_dtype``: a
  Python scalar never promotes a float tensor; an int tensor with a float scalar gives the
  default float dtype). Kernel-backed ops require operands of one float dtype. A gradient
  always has the dtype of the tensor it belongs to.
- ``pynn.tensor(data)`` copies, as ``torch.tensor`` does: Python floats give the default
  dtype (float32), ints int64; an ndarray keeps its dtype. ``as_tensor``/``from_numpy``
  share an ndarray's memory. ``Tensor(...)`` follows ``torch.Tensor``: sizes or data of the
  default float dtype; library code wraps its ndarrays with ``_wrap`` (no copy, dtype kept).
- In place: every in-place method goes through :meth:`Tensor._inplace`: outside the graph it
  writes into the storage (views see it); in the graph the tensor takes a recorded result
  and a new storage (copy-on-write: nodes that saved the old values keep them), so a view
  taken before an in-place op of a tensor *in the graph* does not see the write. Each write
  increments ``_version``, which backward checks.
"""

import functools
import math
import numbers
import operator
import warnings
import weakref

import numpy as np

from . import _dtype
from ._device import CPU, check_device

__all__ = ["Size", "Tensor", "cat", "set_printoptions", "stack", "tensor"]

_new = object.__new__
_FLOAT_KINDS = "fc"  # floating and complex: the kinds autograd differentiates


def _wrap(data, node):
    """A Tensor over ``data`` made by ``node`` (None: not recorded). The hot path of every op."""
    t = _new(Tensor)
    t._data = data
    t._grad = None
    t._version = 0
    t.requires_grad = node is not None
    t.grad_fn = node
    return t


def _as_array(data, dtype=None):
    """Convert like ``torch.tensor``: Python floats become the default float dtype, Python
    ints int64, bools bool; ndarrays and NumPy scalars keep their dtype. ``dtype`` is a NumPy
    dtype (or None)."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(_plain(data), dtype=dtype)
    arr = np.asarray(_plain(data))
    if arr.dtype == np.float64 and not isinstance(data, (np.generic, np.ndarray)) \
            and not _holds_float64_scalar(data):
        default = _dtype._default._np
        if default != np.float64:
            arr = arr.astype(default)
    elif arr.dtype == np.complex128 and not isinstance(data, (np.generic, np.ndarray)):
        if _dtype._default is not _dtype.float64:
            arr = arr.astype(np.complex64)
    elif arr.dtype.kind in "OUS":
        raise TypeError(f"Could not infer dtype of {type(data).__name__} (pynn tensors hold "
                        f"numbers only)")
    return arr


def _holds_float64_scalar(data):
    """Whether a (nested) list holds a NumPy float64 scalar, whose dtype ``torch.tensor``
    keeps (a Python float gives the default dtype)."""
    if isinstance(data, np.float64):
        return True
    if isinstance(data, (list, tuple)):
        return any(_holds_float64_scalar(e) for e in data)
    return False


def _plain(data):
    """Lists that hold Tensors (``tensor([t1, t2])``) as lists of their arrays."""
    if isinstance(data, (list, tuple)) and data and any(isinstance(e, (Tensor, list, tuple))
                                                        for e in data):
        return [e._data if isinstance(e, Tensor) else _plain(e) for e in data]
    return data


class Size(tuple):
    """The shape of a tensor (``torch.Size``): a tuple of ints with :meth:`numel`.

    Parameters
    ----------
    iterable : iterable of int
    """

    __slots__ = ()

    def numel(self):
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __repr__(self):
        return f"pynn.Size({list(self)})"


# ---------------------------------------------------------------------------------------------
# Printing, close to PyTorch's: 4 decimals, integral floats as ``1.``, scientific notation when
# the magnitudes span too much, and the dtype when it is not a default one.

_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (``torch.set_printoptions``).

    Parameters
    ----------
    precision : int, optional
        Digits after the decimal point (4).
    threshold : int, optional
        Tensors with more elements than this are summarised with ``...`` (1000).
    edgeitems : int, optional
        Items shown at each end of a summarised dimension (3).
    linewidth : int, optional
        Characters per line (80).
    profile : {"default", "short", "full"}, optional
        A preset, applied before the other arguments.
    sci_mode : bool or None, optional
        Force (True) or forbid (False) scientific notation; None decides from the values.
    """
    if profile is not None:
        _PRINT.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _PRINT[name] = value
    _PRINT["sci_mode"] = sci_mode


def _float_formatter(arr):
    prec = _PRINT["precision"]
    finite = arr[np.isfinite(arr)].astype(np.float64)
    nonzero = np.abs(finite[finite != 0])
    integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
    sci = _PRINT["sci_mode"]
    if sci is None:
        sci = False
        if nonzero.size:
            hi, lo = nonzero.max(), nonzero.min()
            sci = hi > 1e8 or hi / lo > 1000 or (not integral and lo < 1e-4)
    if sci:
        fmt = f"{{:.{prec}e}}".format
    elif integral:
        def fmt(v):
            return f"{v:.0f}."
    else:
        fmt = f"{{:.{prec}f}}".format

    def one(v):
        if np.isnan(v):
            return "nan"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return fmt(float(v))

    return one


def _format_data(arr, prefix):
    summarise = arr.size > _PRINT["threshold"]
    shown = arr
    if summarise:
        e = _PRINT["edgeitems"]
        for axis, n in enumerate(arr.shape):
            if n > 2 * e:
                shown = np.concatenate([np.take(shown, range(e), axis),
                                        np.take(shown, range(n - e, n), axis)], axis)
    # as PyTorch: the format is chosen from the values shown, the width from the finite
    # nonzero ones (a -0. or nan wider than the rest is not padded for)
    sized = shown
    if arr.dtype.kind == "f":
        one = _float_formatter(shown)
        sized = shown[np.isfinite(shown) & (shown != 0)]
    elif arr.dtype.kind == "b":
        def one(v):
            return str(bool(v))
    elif arr.dtype.kind == "c":
        def one(v):
            return f"{v.real:.{_PRINT['precision']}f}{v.imag:+.{_PRINT['precision']}f}j"
    else:
        def one(v):
            return str(int(v))
    if arr.ndim == 0:
        return one(arr.item() if arr.dtype.kind != "c" else arr[()])
    width = max((len(one(v)) for v in sized.flat), default=1)
    return _layout(arr, lambda v: one(v).rjust(width), width + 2, len(prefix), summarise)


def _layout(arr, fmt, item_width, indent, summarise):
    """PyTorch's layout: as many items a line as fit in the line width after the indent,
    rows separated by one newline per dimension below, ``...`` for the elided middle."""
    e = _PRINT["edgeitems"]
    n = arr.shape[0]
    elide = summarise and n > 2 * e
    rows = [*range(e), None, *range(n - e, n)] if elide else range(n)
    if arr.ndim == 1:
        items = [" ..." if i is None else fmt(arr[i]) for i in rows]
        per_line = max(1, (_PRINT["linewidth"] - indent) // item_width)
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = ["..." if i is None else _layout(arr[i], fmt, item_width, indent + 1, summarise)
             for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _node_name(node):
    return node.name()


def _check_grad_dtype(arr, what="Tensor"):
    if arr.dtype.kind not in _FLOAT_KINDS:
        raise RuntimeError(
            f"Only Tensors of floating point and complex dtype can require gradients; this "
            f"{what} has "
            f"dtype {arr.dtype}"
        )


class Tensor:
    """An n-dimensional array that records the operations applied to it for autograd.

    Parameters
    ----------
    *args : ndarray, sizes, or data
        As ``torch.Tensor``: ints (``Tensor(2, 3)``) or a :class:`Size` give a zero-filled
        tensor of the default float dtype; data (``Tensor([1, 2])``, an ndarray, a Tensor) is
        converted to the default float dtype, sharing the memory of an ndarray or Tensor that
        already has it; nothing gives an empty tensor. :func:`pynn.from_numpy` and
        :func:`pynn.as_tensor` keep an ndarray's dtype.
    requires_grad : bool
        Record operations on this (leaf) tensor so ``backward`` fills its ``.grad``.
    device : str or device, optional
        Only the CPU.

    Attributes
    ----------
    shape : Size
    dtype : dtype
    device : device
        Always the CPU.
    data : Tensor
        A Tensor sharing this one's storage, outside the graph (PyTorch's ``.data``);
        assigning a Tensor or an ndarray replaces the storage.
    grad : Tensor or None
        Accumulated gradient of a leaf, a Tensor of the same shape without history.
    requires_grad : bool
    grad_fn : ArrayFunction or None
        The node that produced this tensor (None for leaves).
    """

    # _data: the ndarray storage; _grad: the gradient Tensor (or None). Library code reads
    # the slots; the data/grad properties are the PyTorch-facing views of them.
    # _base (read with getattr): (tensor, key) of a tensor made by indexing; a _ViewOf once a
    # view is written in place in the graph; a weak reference to the tensor a snapshot is of.
    # _views (read with getattr): weak references to the views of a root tensor written in
    # place in the graph (or on the way to one), refreshed when the root is written there
    __slots__ = ("__weakref__", "_base", "_data", "_grad", "_version", "_views", "grad_fn",
                 "requires_grad")
    __array_ufunc__ = None  # until _math installs its NumPy ufunc hook (np.sqrt(t) -> Tensor)
    __array_priority__ = 1000

    def __init__(self, *args, requires_grad=False, device=None):
        self._data = _constructor_array(args)
        if device is not None:
            check_device(device)
        self._grad = None
        self._version = 0
        self.grad_fn = None
        self.requires_grad = False
        if requires_grad:
            _check_grad_dtype(self._data)
            self.requires_grad = True

    # -- storage and gradient ------------------------------------------------------------------

    @property
    def data(self):
        """A Tensor sharing this one's storage, outside the graph (PyTorch's ``.data``).

        No copy is made; the result has ``requires_grad=False`` and no ``grad_fn``, and writing
        into it changes this tensor without being recorded. Assigning a Tensor (its storage is
        taken, not copied) or an ndarray replaces this tensor's storage, as ``p.data = t``
        does in PyTorch.
        """
        return _wrap(self._data, None)

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            value = value._data
        elif not isinstance(value, np.ndarray):
            raise TypeError(
                f"Tensor.data must be set to a Tensor or an ndarray, not {type(value).__name__}"
            )
        self._data = value

    @property
    def grad(self):
        """The accumulated gradient, a Tensor of this tensor's shape (or None).

        Assigning None, a Tensor of the same shape, or an ndarray (wrapped without a copy)
        replaces it.
        """
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if isinstance(value, np.ndarray):
                value = _wrap(value, None)
            elif not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: grad {value._data.shape}, "
                    f"tensor {self._data.shape}"
                )
        self._grad = value

    # -- array protocol ------------------------------------------------------------------------

    @property
    def shape(self):
        """The shape, a :class:`Size` (that of the storage)."""
        return Size(self._data.shape)

    @property
    def dtype(self):
        """The element type, a :class:`pynn.dtype` (equal to the storage's NumPy dtype)."""
        return _dtype._FROM_NP[self._data.dtype]

    @property
    def device(self):
        """Where the tensor lives: always ``device("cpu")``."""
        return CPU

    is_cuda = False
    is_mps = False
    is_xpu = False
    is_cpu = True
    is_sparse = False
    is_quantized = False
    is_meta = False

    @property
    def ndim(self):
        """The number of dimensions."""
        return self._data.ndim

    def dim(self):
        """The number of dimensions (as :attr:`ndim`)."""
        return self._data.ndim

    ndimension = dim

    def size(self, dim=None):
        """The shape as a :class:`Size` (``dim=None``) or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        shape = self._data.shape
        if not -max(len(shape), 1) <= dim < max(len(shape), 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(len(shape), 1)}, {max(len(shape), 1) - 1}], but got {dim})")
        return shape[dim] if shape else 1

    def numel(self):
        """The number of elements."""
        return self._data.size

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def nbytes(self):
        """Bytes of the elements."""
        return self._data.nbytes

    def stride(self, dim=None):
        """Steps between elements, in elements, per dimension (or of one)."""
        strides = tuple(st // self._data.itemsize for st in self._data.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None):
        """True when the storage is C-contiguous."""
        return self._data.flags.c_contiguous

    def is_floating_point(self):
        """True for a floating-point dtype."""
        return self._data.dtype.kind == "f"

    def is_complex(self):
        """True for a complex dtype."""
        return self._data.dtype.kind == "c"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __contains__(self, element):
        if isinstance(element, (Tensor, numbers.Number, np.generic)):
            return bool(np.any(self._data == getattr(element, "_data", element)))
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element).__name__}.")

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self._data.shape[0]):
            yield self[i]

    @property
    def is_leaf(self):
        """True for tensors not made by a recorded operation (parameters, inputs)."""
        return self.grad_fn is None

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def numpy(self, force=False):
        """The underlying ndarray itself (no copy).

        Writing to it changes the tensor. As in PyTorch, a tensor that requires grad must be
        detached first (or ``force=True``, which returns a copy).
        """
        if self.requires_grad:
            if force:
                return self._data.copy()
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._data

    def tolist(self):
        """The data as (nested lists of) Python numbers."""
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.item())

    def __bool__(self):
        """The truth value of a one-element tensor (``bool(t)``, ``torch.is_nonzero``).

        Parameters
        ----------
        self : Tensor of any shape

        Returns
        -------
        bool
        """
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape "
                f"{self._data.shape})"
            )
        return bool(self._data.item())

    def __format__(self, spec):
        if self._data.size == 1 and spec:
            return format(self._data.item(), spec)
        return format(str(self), spec)

    __hash__ = object.__hash__

    def __repr__(self):
        arr = self._data
        body = "[]" if arr.size == 0 else _format_data(arr, "tensor(")
        suffixes = []
        if arr.size == 0 and arr.shape != (0,):
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype not in (_dtype._default._np, np.int64, np.bool_):
            suffixes.append(f"dtype={_dtype._FROM_NP.get(arr.dtype, arr.dtype)}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{_node_name(self.grad_fn)}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        # as PyTorch: a suffix that would overflow the last line goes on a line of its own
        text = "tensor(" + body
        last = len(text) - text.rfind("\n") + 1 if "\n" in text else len(text) + 1
        for suffix in suffixes:
            if last + len(suffix) + 2 > _PRINT["linewidth"]:
                text += ",\n" + " " * len("tensor(") + suffix
                last = len("tensor(") + len(suffix)
            else:
                text += ", " + suffix
                last += len(suffix) + 2
        return text + ")"

    __str__ = __repr__

    # -- autograd ------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Gradients add up (``+=``) across calls: call ``zero_grad`` between steps. The walk is
        ``pynn.autograd.backward``.

        Parameters
        ----------
        gradient : Tensor or array_like of the same shape as self, optional
            d(something)/d(self); required unless self has one element.
        retain_graph : bool, optional
            Keep the saved arrays so ``backward`` can run through this graph again.
        create_graph : bool
            Record the backward for higher-order gradients (see ``pynn.autograd``).
        inputs : sequence of Tensor, or one Tensor, optional
            Accumulate only into these tensors' ``.grad``.
        """
        _autograd._tensor_backward(self, gradient, retain_graph, create_graph, inputs)

    def retain_grad(self):
        """Make ``backward`` fill this non-leaf tensor's ``.grad`` too (no-op on a leaf)."""
        _autograd.retain_grad(self)

    @property
    def retains_grad(self):
        """True for a non-leaf tensor that called :meth:`retain_grad`."""
        return _autograd._retains_grad(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` each time backward computes this tensor's gradient.

        Call ``hook(grad)`` with this tensor's gradient (a Tensor) each time backward computes it; a
        Tensor it returns replaces the gradient.

        Returns
        -------
        handle
            ``handle.remove()`` unregisters the hook.
        """
        return _autograd.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` on this leaf after each backward.

        Call ``hook(self)`` on this leaf once per backward, after its ``.grad`` has received every
        gradient of that backward (see ``pynn.autograd.register_post_accumulate_grad_hook``).

        Returns
        -------
        handle
            ``handle.remove()`` unregisters the hook.
        """
        return _autograd.register_post_accumulate_grad_hook(self, hook)

    def __getstate__(self):
        # the weak references linking views and their bases are not pickled (nor deep
        # copied): a loaded tensor has storage of its own
        state = object.__getstate__(self)
        slots = state[1] if isinstance(state, tuple) else state
        if slots and ("_views" in slots or isinstance(slots.get("_base"), weakref.ref)):
            slots = dict(slots)
            slots.pop("_views", None)
            if isinstance(slots.get("_base"), weakref.ref):
                del slots["_base"]
            state = (state[0], slots) if isinstance(state, tuple) else slots
        return state

    def detach_(self):
        """Take this tensor out of the graph in place (no ``grad_fn``, no grad); returns self."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def detach(self):
        """A tensor sharing this one's data, outside the graph.

        Returns
        -------
        Tensor of the same shape
            Sharing the storage, outside the graph.
        """
        return _wrap(self._data, None)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of a leaf in place; returns self."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad:
            _check_grad_dtype(self._data)
        self.requires_grad = bool(requires_grad)
        return self

    # -- in place -------------------------------------------------------------------------------

    def _recording_inplace(self, *args):
        """Whether an in-place op on self with ``args`` must be recorded in the graph."""
        if not _autograd._mode.enabled:
            return False
        if self.requires_grad:
            return True
        return any(isinstance(a, Tensor) and a.requires_grad for a in args)

    def _inplace(self, fn, *args, rebind=False, passthrough=False, **kwargs):
        """Apply ``fn(self, *args, **kwargs)`` (an out-of-place op returning a Tensor, or, for
        fills, an ndarray or scalar) in place: the one helper behind every in-place method.

        Outside the graph the result is written into the storage (views and ``from_numpy``
        arrays see it); a leaf that requires grad raises PyTorch's error in grad mode; a tensor
        in the graph (or written from a tensor that requires grad) takes the recorded result:
        its storage is replaced (copy-on-write, so nodes that saved the old values keep them)
        and its ``grad_fn`` becomes the new node. ``rebind`` (``t_``, ``unsqueeze_`` ...)
        replaces the storage by the result, which may change shape. Every call increments
        ``_version``. ``passthrough`` marks ops whose gradient with respect to the old value
        is the identity (``add_``, ``sub_`` ...): nodes recorded before the write may then
        still reach the new node through self, when no other operand requires grad.
        """
        if self._recording_inplace(*args, *kwargs.values()):
            if not rebind:
                where = _view_base(self)
                if where is not None:
                    return self._inplace_view(where, fn, args, kwargs)
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            # the value before the write, as the new node's input (self becomes the output)
            old = _snapshot(self)
            out = _recorded_result(self, fn(old, *args, **kwargs), old, rebind)
            if out is old or any(out is a for a in args):
                out = out.clone()  # self needs a node of its own (see _after_version)
            # nodes recorded before this write reach self's node through self: unless that
            # node passes their gradient on unchanged, the backward walk sends their
            # gradients to the node self had then, which _before leads back to (autograd's
            # _check_versions)
            if not passthrough or any(isinstance(a, Tensor) and a.requires_grad for a in args):
                out.grad_fn._after_version = self._version
                out.grad_fn._before = old
            # the storage self had, where views taken before this write find it (_view_base)
            out.grad_fn._prior = old
            arr = out._data
            if not arr.flags.writeable or arr is old._data or any(
                    isinstance(a, Tensor) and arr is a._data for a in args):
                arr = arr.copy()
            self._data = arr
            self.grad_fn = out.grad_fn
            self.requires_grad = out.requires_grad
            self._version += 1
            if getattr(self, "_views", None):
                if rebind:  # a new shape or layout: where its views lie is found again
                    _forget_views(self)
                else:
                    _refresh_views(self, old._data)
            return self
        out = fn(self, *args, **kwargs)
        arr = out._data if isinstance(out, Tensor) else out
        if rebind:
            self._data = arr
        elif arr is not self._data:
            data = self._data
            if type(arr) is np.ndarray:
                _inplace_result(arr, data)
            try:
                np.copyto(data, arr, casting="unsafe")
            except ValueError as exc:
                raise RuntimeError(f"in-place write: {exc}") from None
        self._version += 1
        return self

    def _take_result(self, out):
        """Make self ``out``, the recorded result of an op that took self as an input (what
        ``inplace=True`` of an activation means in the graph): the op keeps self's old
        value as its input, and self is written as by :meth:`copy_`, views and all."""
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        node = out.grad_fn
        old = _snapshot(self)
        node._inputs = tuple(old if a is self else a for a in node._inputs)
        return self.copy_(out)

    def _inplace_view(self, where, fn, args, kwargs):
        """The recorded in-place op on a view of ``root`` (``where`` is ``(root, place,
        others)`` from :func:`_view_base`): computed from the root's current value, written
        into the root (recorded there, PyTorch's CopySlices), after which self and the views
        in ``others`` are views of the root's new value, as PyTorch's views are."""
        root, place, others = where
        if root.requires_grad and root.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        strided = type(place) is _ix.Strided
        if strided and not place.fits(root._data):  # the root was since laid out otherwise
            place, strided = place.key(), False
        current = _snapshot(root)
        old = _ix.StridedViewFunction.apply(current, place) if strided else current[place]
        out = _recorded_result(self, fn(old, *args, **kwargs), old, False)
        for view, at in others:
            _follow(view, root, at)
        _follow(self, root, place)
        root._inplace(_ix.put_strided if strided else _ix._put, out, place)
        return self

    def __iadd__(self, other):
        return self._inplace(Tensor.__add__, other, passthrough=True)

    def __isub__(self, other):
        return self._inplace(Tensor.__sub__, other, passthrough=True)

    def __imul__(self, other):
        return self._inplace(Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._inplace(Tensor.__truediv__, other)

    def __ipow__(self, other):
        return self._inplace(Tensor.__pow__, other)

    def __ifloordiv__(self, other):
        return self._inplace(_method("__floordiv__"), other)

    def __imod__(self, other):
        return self._inplace(_method("__mod__"), other)

    def __iand__(self, other):
        return self._inplace(_method("__and__"), other)

    def __ior__(self, other):
        return self._inplace(_method("__or__"), other)

    def __ixor__(self, other):
        return self._inplace(_method("__xor__"), other)

    def zero_(self):
        """Fill with zeros, in place; returns self."""
        if not self._recording_inplace():
            self._data.fill(0)
            self._version += 1
            return self
        return self._inplace(_fill_value, 0)

    def fill_(self, value):
        """Fill with ``value`` (a number or a one-element tensor), in place; returns self."""
        if isinstance(value, Tensor) and value.requires_grad:
            return self._inplace(_fill_tensor, value)
        return self._inplace(_fill_value, value.item() if isinstance(value, Tensor) else value)

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to self's shape, cast to self's dtype) into self; returns self.

        The gradient flows to ``src``.
        """
        return self._inplace(_copy_from, src)

    def add_(self, other, _other=None, *, alpha=1):
        """``self += alpha * other`` in place; returns self.

        PyTorch's deprecated form ``add_(alpha, other)`` (older training loops write
        ``p.data.add_(-lr, p.grad)``) is accepted with the same warning.
        """
        if _other is not None:
            alpha, other = _deprecated_alpha_first("add_", other, _other)
        return self._inplace(_add, other, alpha=alpha, passthrough=True)

    def sub_(self, other, _other=None, *, alpha=1):
        """``self -= alpha * other`` in place; returns self (also ``sub_(alpha, other)``)."""
        if _other is not None:
            alpha, other = _deprecated_alpha_first("sub_", other, _other)
        return self._inplace(_sub, other, alpha=alpha, passthrough=True)

    def mul_(self, other):
        """``self *= other`` in place; returns self."""
        return self._inplace(Tensor.__mul__, other)

    def div_(self, other, *, rounding_mode=None):
        """``self /= other`` in place (``rounding_mode`` as :meth:`div`); returns self."""
        if rounding_mode is None:
            return self._inplace(Tensor.__truediv__, other)
        return self._inplace(_method("div"), other, rounding_mode=rounding_mode)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        """``self += value * tensor1 * tensor2`` in place; returns self."""
        return self._inplace(_addcmul, tensor1, tensor2, value=value, passthrough=True)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        """``self += value * tensor1 / tensor2`` in place; returns self."""
        return self._inplace(_addcdiv, tensor1, tensor2, value=value, passthrough=True)

    def lerp_(self, end, weight):
        """``self += weight * (end - self)`` in place; returns self."""
        return self._inplace(_lerp, end, weight)

    def clamp_(self, min=None, max=None):
        """Clamp into ``[min, max]`` in place; returns self."""
        return self._inplace(_method("clamp"), min, max)

    clip_ = clamp_

    def clamp_min_(self, min):
        """``self = max(self, min)`` in place; returns self."""
        return self._inplace(_method("clamp"), min, None)

    def clamp_max_(self, max):
        """``self = min(self, max)`` in place; returns self."""
        return self._inplace(_method("clamp"), None, max)

    def masked_fill_(self, mask, value):
        """Write ``value`` where ``mask`` is True, in place; returns self."""
        return self._inplace(_method("masked_fill"), mask, value)

    def index_fill_(self, dim, index, value):
        """Write ``value`` into the entries at ``index`` along ``dim``, in place."""
        return self._inplace(_method("index_fill"), dim, index, value)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write ``fill_value`` on the main diagonal, in place.

        Write ``fill_value`` on the main diagonal (all dims equal beyond 2-D), in place; ``wrap``
        restarts it below a tall matrix's square part, as NumPy's fill_diagonal.
        """
        return self._inplace(_fill_diagonal, fill_value, wrap)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        """Write ``src`` (or ``value``) at ``index`` along ``dim``, in place (``scatter``)."""
        if src is None:
            src = value
        if reduce is not None:
            return self._inplace(_method("scatter"), dim, index, src, reduce=reduce)
        return self._inplace(_method("scatter"), dim, index, src)

    def scatter_add_(self, dim, index, src):
        """Add ``src`` at ``index`` along ``dim``, in place (``scatter_add``)."""
        return self._inplace(_method("scatter_add"), dim, index, src)

    def index_add_(self, dim, index, source, *, alpha=1):
        """Add ``alpha * source`` at ``index`` along ``dim``, in place (``index_add``)."""
        if alpha != 1:
            return self._inplace(_method("index_add"), dim, index, source, alpha=alpha)
        return self._inplace(_method("index_add"), dim, index, source)

    def index_copy_(self, dim, index, source):
        """Write ``source`` at ``index`` along ``dim``, in place."""
        return self._inplace(_method("index_copy"), dim, index, source)

    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        """Reduce the slices of ``source`` into those at ``index`` along ``dim``, in place."""
        return self._inplace(_method("index_reduce"), dim, index, source, reduce,
                             include_self=include_self)

    def put_(self, index, source, accumulate=False):
        """Write (or add) ``source`` at the flat positions ``index``, in place (``put``)."""
        return self._inplace(_method("put"), index, source, accumulate)

    def renorm_(self, p, dim, maxnorm):
        """Scale down the slices along ``dim`` whose ``p``-norm exceeds ``maxnorm``, in place."""
        return self._inplace(_method("renorm"), p, dim, maxnorm)

    def apply_(self, callable):
        """Replace every element ``x`` by ``callable(x)``, in place.

        ``callable`` is a Python function of one number, called once an element (slow); the
        change is not recorded for autograd, and a tensor that requires grad is refused, as
        in PyTorch.
        """
        return self._map("apply_", self, lambda x, _: callable(x))

    def map_(self, tensor, callable):
        """Replace every element ``x`` by ``callable(x, y)``, in place.

        ``y`` is the element of ``tensor`` (broadcast to this shape) at the same position;
        slow and not recorded, as :meth:`apply_`.
        """
        return self._map("map_", tensor, callable)

    def _map(self, name, tensor, callable):
        if self.requires_grad:
            raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                               f"var.detach().{name}() instead.")
        other = np.broadcast_to(tensor._data if isinstance(tensor, Tensor) else tensor,
                                self.shape)
        data = self._data
        kind = data.dtype.type
        flat = [kind(callable(x.item(), y.item())) for x, y in zip(data.reshape(-1),
                                                                    other.reshape(-1))]
        with _autograd.no_grad():
            self.copy_(_wrap(np.array(flat, data.dtype).reshape(data.shape), None))
        return self

    def dim_order(self):
        """The dimensions from outermost to innermost in memory.

        ``(0, 1, ..., n - 1)`` for a contiguous tensor.

        Returns
        -------
        tuple of int
        """
        strides = self.stride()
        return tuple(sorted(range(self.ndim), key=lambda d: (-strides[d], d)))

    def index_put_(self, indices, values, accumulate=False):
        """``self[indices] = values``, in place.

        ``self[indices] = values`` (``accumulate``: ``+=``, repeated indices adding up), in place;
        ``indices`` is a tuple of index tensors.
        """
        key = _ix.index_key(tuple(indices))
        return self._inplace(_ix._put, values, key, accumulate, passthrough=accumulate)

    def index_put(self, indices, values, accumulate=False):
        """The out-of-place :meth:`index_put_`."""
        return _ix._put(self, values, _ix.index_key(tuple(indices)), accumulate)

    def masked_scatter_(self, mask, source):
        """Write ``source``'s elements, in order, where ``mask`` is True, in place."""
        return self._inplace(_method("masked_scatter"), mask, source)

    # fills with random values (pynn's global generator, or ``generator``)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Uniform samples on ``[a, b)``, in place; returns self."""
        return self._inplace(_random_fill, "uniform", a, b, generator=generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Normal samples, in place; returns self."""
        return self._inplace(_random_fill, "normal", mean, std, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        """1 with probability ``p`` (a number or a tensor), else 0, in place; returns self."""
        return self._inplace(_random_fill, "bernoulli", p, None, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        """Exponential samples of rate ``lambd``, in place; returns self."""
        return self._inplace(_random_fill, "exponential", lambd, None, generator=generator)

    def geometric_(self, p, *, generator=None):
        """Geometric samples (trials to the first success), in place; returns self."""
        return self._inplace(_random_fill, "geometric", p, None, generator=generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """``exp`` of normal samples, in place; returns self."""
        return self._inplace(_random_fill, "lognormal", mean, std, generator=generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        """Cauchy samples, in place; returns self."""
        return self._inplace(_random_fill, "cauchy", median, sigma, generator=generator)

    def random_(self, from_=0, to=None, *, generator=None):
        """Fill with integers drawn from ``[from_, to)``, in place.

        Integers drawn from ``[from_, to)`` (``random_(to)``: ``[0, to)``; ``random_()``: up to the
        largest integer the dtype holds exactly), in place; returns self.
        """
        if to is None and from_ != 0:
            from_, to = 0, from_
        return self._inplace(_random_fill, "integers", from_, to, generator=generator)

    # shape changes in place

    def t_(self):
        """Transpose a matrix in place; returns self."""
        return self._inplace(_method("t"), rebind=True)

    def transpose_(self, dim0, dim1):
        """Swap two dimensions in place; returns self."""
        return self._inplace(_method("transpose"), dim0, dim1, rebind=True)

    def swapaxes_(self, axis0, axis1):
        """Swap two dimensions in place (:meth:`transpose_`); returns self."""
        return self.transpose_(axis0, axis1)

    def swapdims_(self, dim0, dim1):
        """Swap two dimensions in place (:meth:`transpose_`); returns self."""
        return self.transpose_(dim0, dim1)

    def as_strided_(self, size, stride, storage_offset=None):
        """Make self the view :func:`pynn.as_strided` gives of its storage, in place.

        Parameters
        ----------
        size : sequence of int
            The new shape.
        stride : sequence of int
            The new strides, in elements of the storage.
        storage_offset : int or None
            The storage position of the first element (None: self's own).

        Returns
        -------
        Tensor
            self, now of shape ``size``.
        """
        return self._inplace(_method("as_strided"), size, stride, storage_offset, rebind=True)

    def unsqueeze_(self, dim):
        """Insert a dimension of size 1 in place; returns self."""
        return self._inplace(_method("unsqueeze"), dim, rebind=True)

    def squeeze_(self, dim=None):
        """Drop dimensions of size 1 in place; returns self."""
        return self._inplace(_method("squeeze"), dim, rebind=True)

    def resize_(self, *sizes):
        """Give self the shape ``sizes``, in place.

        Give self the shape ``sizes``, keeping its first elements (zeros beyond them); returns self.

        Not differentiable.
        """
        return self._inplace(_resize, sizes, rebind=True)

    def resize_as_(self, other):
        """:meth:`resize_` to ``other``'s shape."""
        return self.resize_(*other._data.shape)

    # -- conversions -------------------------------------------------------------------------

    def to(self, *args, **kwargs):
        """This tensor with another dtype or on another device.

        This tensor with another dtype (``to(dtype)``, ``to(other)``) on a device (``to("cpu")``,
        ``to(device, dtype)``): self when nothing changes, else a cast that is differentiable for
        floating-point targets.

        ``non_blocking``, ``copy`` and ``memory_format`` are accepted; a device other than the
        CPU raises a RuntimeError.

        Returns
        -------
        Tensor
            ``self`` when nothing changes, else a converted copy.
        """
        dtype, copy = _to_args(args, kwargs)
        if dtype is None or dtype == self._data.dtype:
            return self.clone() if copy else self
        if dtype.kind not in "fc":
            # As in PyTorch, only floating-point tensors carry gradients: an integer or
            # boolean cast leaves the graph.
            return _wrap(self._data.astype(dtype), None)
        return _ew.CastFunction.apply(self, dtype)

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """The type's name, or a cast to another type.

        The type's name (``"pynn.FloatTensor"``) without ``dtype``; else :meth:`to` it (a dtype, a
        legacy tensor type such as ``pynn.LongTensor``, or its name).
        """
        if dtype is None:
            return _LEGACY_NAMES.get(self._data.dtype, f"pynn.{self._data.dtype}")
        if isinstance(dtype, str):
            dtype = _LEGACY_BY_NAME.get(dtype, dtype)
        dtype = getattr(dtype, "_pynn_dtype", dtype)
        return self.to(dtype)

    def type_as(self, other):
        """This tensor cast to ``other``'s dtype."""
        return self.to(other._data.dtype)

    def float(self, memory_format=None):
        """``self.to(pynn.float32)``."""
        return self.to(np.float32)

    def double(self, memory_format=None):
        """``self.to(pynn.float64)``."""
        return self.to(np.float64)

    def half(self, memory_format=None):
        """``self.to(pynn.float16)`` (NumPy's float16: kernel-backed ops refuse it)."""
        return self.to(np.float16)

    def bfloat16(self, memory_format=None):
        """Raises: pynn has no bfloat16 storage."""
        return self.to(_dtype.bfloat16)

    def long(self, memory_format=None):
        """``self.to(pynn.int64)``."""
        return self.to(np.int64)

    def int(self, memory_format=None):
        """``self.to(pynn.int32)``."""
        return self.to(np.int32)

    def short(self, memory_format=None):
        """``self.to(pynn.int16)``."""
        return self.to(np.int16)

    def char(self, memory_format=None):
        """``self.to(pynn.int8)``."""
        return self.to(np.int8)

    def byte(self, memory_format=None):
        """``self.to(pynn.uint8)``."""
        return self.to(np.uint8)

    def bool(self, memory_format=None):
        """``self.to(pynn.bool)``."""
        return self.to(np.bool_)

    def cpu(self, memory_format=None):
        """Self: tensors live on the CPU."""
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """Raises the CPU-only RuntimeError."""
        check_device("cuda" if device is None or isinstance(device, int) else device)
        return self

    def pin_memory(self, device=None):
        """Self (pinning is a CUDA transfer optimisation)."""
        return self

    def is_pinned(self, device=None):
        """False."""
        return False

    def share_memory_(self):
        """Move the storage to memory that other processes share; returns self.

        Afterwards the tensor reaches a child process (forked, spawned, or through a
        ``pynn.multiprocessing`` queue) as a tensor over the same memory, so writes on
        either side are seen by both (Hogwild training). A tensor already shared is left
        as it is. Views taken before the call keep the old storage (PyTorch moves the storage
        itself, views included): call it before taking views.

        Returns
        -------
        Tensor
            Self.
        """
        from .multiprocessing import _share

        self._data = _share(self._data)
        return self

    def is_shared(self):
        """Whether the storage is in memory shared between processes (:meth:`share_memory_`).

        Returns
        -------
        bool
        """
        from .multiprocessing import _is_shared

        return _is_shared(self._data)

    def get_device(self):
        """-1: the CPU."""
        return -1

    def data_ptr(self):
        """The address of the first element."""
        return self._data.__array_interface__["data"][0]

    def storage_offset(self):
        """Elements from the start of the storage to the first element.

        The storage is the array a view was taken of."""
        return (self.data_ptr() - _storage(self._data)[0]) // self._data.itemsize

    def is_neg(self):
        """False: pynn has no lazy negation bit.

        PyTorch marks some of its views as negated without computing them (the negative bit
        this reports); pynn computes every negation when it is asked for, so no tensor has it.

        Returns
        -------
        bool
        """
        return False

    @property
    def layout(self):
        """The memory layout: always :data:`pynn.strided` (dense, strided storage)."""
        return _dtype.strided

    def hardshrink(self, lambd=0.5):
        """:func:`pynn.functional.hardshrink` of self: ``x`` where ``|x| > lambd``, else 0.

        Parameters
        ----------
        lambd : float
            The threshold.

        Returns
        -------
        Tensor of the shape of self
        """
        from .nn import functional  # (nn imports this module)

        return functional.hardshrink(self, lambd)

    def prelu(self, weight):
        """:func:`pynn.functional.prelu` of self: ``max(0, x) + weight * min(0, x)``.

        Parameters
        ----------
        weight : Tensor of shape (1,) or (C,)
            One slope, or one per channel (dimension 1 of self).

        Returns
        -------
        Tensor of the shape of self
        """
        from .nn import functional  # (nn imports this module)

        return functional.prelu(self, weight)

    def is_inference(self):
        """False: pynn has no inference tensors (``inference_mode`` is ``no_grad``)."""
        return False

    def is_signed(self):
        """True for a signed dtype (floats, complex and signed integers)."""
        return self.dtype.is_signed

    def is_same_size(self, other):
        """True when ``other`` has this shape."""
        return tuple(self._data.shape) == tuple(other.shape)

    def sum_to_size(self, *size):
        """The sum over the dimensions that ``size`` broadcasts along.

        The adjoint of expanding a ``size`` tensor to this one's shape.

        Parameters
        ----------
        *size : int, or one sequence of int
            A shape that broadcasts to this tensor's.

        Returns
        -------
        Tensor of shape ``size``
        """
        target = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) \
            else tuple(size)
        shape = tuple(self._data.shape)
        lead = len(shape) - len(target)
        if lead < 0 or any(t not in (1, n) for t, n in zip(target, shape[lead:])):
            raise RuntimeError(f"size {list(target)} is not expandable to size {list(shape)}")
        out = self
        if lead:
            out = out.sum(tuple(range(lead)))
        dims = tuple(i for i, (t, n) in enumerate(zip(target, shape[lead:])) if t == 1 and n != 1)
        return out.sum(dims, keepdim=True) if dims else out

    def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of shape ``size``, of self's dtype unless ``dtype``.

        C-contiguous: ``stride`` is accepted for PyTorch's signature.

        Parameters
        ----------
        size : sequence of int
        stride : sequence of int
        dtype : pynn.dtype, optional
        device : str or pynn.device, optional
        requires_grad : bool

        Returns
        -------
        Tensor
        """
        return self.new_empty(tuple(size), dtype=dtype, device=device,
                              requires_grad=requires_grad)

    def new(self, *args):
        """A new tensor of self's dtype (the legacy ``Tensor.new``).

        A tensor of self's dtype: ``new(2, 3)`` uninitialised, ``new(data)`` from data (the legacy
        ``Tensor.new``).
        """
        if len(args) == 1 and isinstance(args[0], (Tensor, np.ndarray)):
            return _wrap(np.array(getattr(args[0], "_data", args[0]), self._data.dtype), None)
        return _wrap(_constructor_array(args).astype(self._data.dtype, copy=False), None)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        """A new leaf tensor copied from ``data``, of self's dtype unless ``dtype``."""
        dt = self._data.dtype if dtype is None else _dtype.np_dtype(dtype)
        return tensor(data, dtype=dt, device=device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of shape ``size``, of self's dtype unless ``dtype``."""
        return self._new(np.zeros, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of shape ``size``, of self's dtype unless ``dtype``."""
        return self._new(np.ones, size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of shape ``size``, of self's dtype unless ``dtype``."""
        return self._new(np.empty, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """``fill_value`` everywhere, shape ``size``, of self's dtype unless ``dtype``."""
        t = self._new(np.empty, (size,), dtype, device, False)
        t._data.fill(fill_value)
        return t.requires_grad_(True) if requires_grad else t

    def _new(self, make, size, dtype, device, requires_grad):
        from ._factory import _make, size_arg

        dt = self._data.dtype if dtype is None else _dtype.np_dtype(dtype)
        return _make(make(size_arg(size, "new"), dt), device, requires_grad)

    def clone(self):
        """A copy of the data, recorded in the graph (the gradient flows back to self).

        Returns
        -------
        Tensor of the same shape
            A copy, differentiable.
        """
        return _ew.CloneFunction.apply(self)

    # -- memory layout and indexing ----------------------------------------------------------

    def contiguous(self):
        """Self if its data is C-contiguous, else a C-contiguous copy (recorded in the graph)."""
        if self._data.flags.c_contiguous:
            return self
        return _ew.CloneFunction.apply(self)

    def __getitem__(self, key):
        key = _ix.index_key(key)
        out = _ix.IndexFunction.apply(self, key)
        # remembered so that an in-place write to a view in the graph reaches self
        out._base = (self, key)
        if out._data.base is not None:
            _adopt(self, out)
        return out

    def __setitem__(self, key, value):
        """``self[key] = value``: written in place, recorded when self is in the graph or
        ``value`` requires grad (see :func:`pynn.ops.index.setitem`)."""
        _ix.setitem(self, key, value)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Make a leaf tensor holding a copy of ``data`` (``torch.tensor``).

    Parameters
    ----------
    data : array_like, scalar, ndarray or Tensor
        Python floats become the default float dtype (float32), Python ints int64, bools
        bool; an ndarray or a NumPy scalar keeps its dtype. Always copied (use
        :func:`pynn.as_tensor` or :func:`pynn.from_numpy` to share an ndarray's memory).
    dtype : dtype, optional
    device : str or device, optional
        Only the CPU.
    requires_grad : bool
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor
    """
    if device is not None:
        check_device(device)
    dt = None if dtype is None else _dtype.np_dtype(dtype)
    src = data._data if isinstance(data, Tensor) else data
    arr = _as_array(src, dt)
    if arr is src or (isinstance(src, np.ndarray) and arr.base is not None):
        arr = arr.copy()
    t = _wrap(arr, None)
    if requires_grad:
        _check_grad_dtype(arr)
        t.requires_grad = True
    return t



# ---------------------------------------------------------------------------------------------
# Helpers of the constructor, ``to`` and the in-place methods


def _constructor_array(args):
    """The storage of ``Tensor(*args)``: sizes give an uninitialised (zeroed) tensor, data a
    tensor of the default float dtype, as ``torch.Tensor`` does."""
    default = _dtype._default._np
    if not args:
        return np.empty((0,), default)
    first = args[0]
    if len(args) == 1 and not isinstance(first, Size):
        if isinstance(first, (Tensor, np.ndarray)):
            arr = first._data if isinstance(first, Tensor) else first
            return arr if arr.dtype == default else arr.astype(default)
        if isinstance(first, numbers.Integral) and not isinstance(first, (bool, np.bool_)):
            return np.zeros((operator.index(first),), default)
        if isinstance(first, numbers.Number):
            raise TypeError(f"new(): data must be a sequence (got {type(first).__name__})")
        return np.array(_plain(first), default)
    sizes = tuple(first) if len(args) == 1 else args
    try:
        return np.zeros(tuple(operator.index(n) for n in sizes), default)
    except TypeError:
        raise TypeError(f"Tensor(): expected sizes (ints) or one sequence of data, got "
                        f"{args!r}") from None


def _to_args(args, kwargs):
    """The target NumPy dtype (or None) and ``copy`` of ``Tensor.to``'s many signatures,
    after checking the device."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a._data.dtype
        elif isinstance(a, (str, _device_type)) or (isinstance(a, int)
                                                    and not isinstance(a, bool)):
            device = a
        elif isinstance(a, bool):
            continue  # the positional non_blocking / copy flags
        else:
            dtype = a
    if device is not None:
        check_device(device)
    return (None if dtype is None else _dtype.np_dtype(dtype)), copy


def _method(name):
    """``lambda t, *a, **k: t.<name>(*a, **k)``, looked up at call time (the math methods
    are installed on Tensor by another module)."""
    def call(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    call.__name__ = name
    return call


def _deprecated_alpha_first(name, alpha, other):
    """(alpha, other) of the deprecated ``name(alpha, other)``, with PyTorch's warning."""
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor "
                  f"other)\nConsider using one of the following signatures instead:\n\t"
                  f"{name}(Tensor other, *, Number alpha = 1)", UserWarning, stacklevel=3)
    return alpha, other


def _inplace_result(arr, data):
    """Check that an op's result can be written into ``data`` (PyTorch's rules)."""
    if arr.shape != data.shape:
        try:
            ok = np.broadcast_shapes(arr.shape, data.shape) == data.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"output with shape {list(data.shape)} doesn't match the "
                               f"broadcast shape {list(arr.shape)}")
    if arr.dtype != data.dtype and not _dtype.can_cast(arr.dtype, data.dtype):
        raise RuntimeError(f"result type {_dtype._FROM_NP[arr.dtype]} can't be cast to the "
                           f"desired output type {_dtype._FROM_NP[data.dtype]}")
    return arr


def _snapshot(t):
    """A Tensor standing for ``t``'s current value in the graph (its storage and node), which
    stays so when ``t`` is then written in place."""
    old = _wrap(t._data, t.grad_fn)
    old.requires_grad = t.requires_grad
    old._version = t._version
    old._base = weakref.ref(t)  # a view taken of the snapshot is one of t (_view_base)
    return old


class _ViewOf:
    """``Tensor._base`` of a view written in place in the graph: its root tensor, where it
    lies there (``place``: an :class:`~pynn.ops.index.Strided` or an index key) and the
    storage it was given then (the record holds while the view keeps that storage)."""

    __slots__ = ("data", "place", "root", "shape")

    def __init__(self, root, place, data):
        self.root, self.place, self.data = root, place, data
        self.shape = root._data.shape


def _view_op(fn):
    """``fn``, a function returning views of its first argument (``view``, ``t``, ``split``
    ...), made to link a view it gives outside the graph to that tensor (a recorded one finds
    it through its node), so that a write through the view in the graph reaches it
    (``x.t()[0] = a * 2`` writes ``x``, as in PyTorch), and to have the tensor remember its
    views, so that they show its writes in the graph (:func:`_adopt`)."""
    @functools.wraps(fn)
    def call(input, *args, **kwargs):
        out = fn(input, *args, **kwargs)
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, Tensor) and o is not input and o._data.base is not None:
                if o.grad_fn is None:
                    o._base = (input, None)
                _adopt(input, o)
        return out
    return call


def _adopt(parent, view):
    """Remember ``view``, taken of ``parent``'s storage, so that a write to ``parent`` (or to
    the tensor it is a view of) in the graph reaches it too (:func:`_refresh_views`)."""
    if parent.requires_grad and parent.grad_fn is None:
        return  # a leaf that requires grad is never written in the graph
    views = getattr(parent, "_views", None)
    if views is None:
        parent._views = [weakref.ref(view)]
        return
    n = len(views)
    if n >= 32 and not n & (n - 1):  # views of a long-lived tensor: drop the dead ones
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))


def _follow(view, root, place):
    """Make the Tensor ``view`` (whose elements lie at ``place`` in ``root``) follow the root:
    each write to the root in the graph gives it the new values (:func:`_refresh_views`)."""
    views = getattr(root, "_views", None)
    if views is None:
        views = root._views = []
    if not any(r() is view for r in views):
        views.append(weakref.ref(view))
    view._base = _ViewOf(root, place, view._data)


def _forget_views(root):
    """Drop what ``root`` and its views recorded of each other (after ``t_``, ``unsqueeze_``
    ...): a later write through one of them finds its place in the root again."""
    for ref in root._views:
        v = ref()
        if v is not None and type(getattr(v, "_base", None)) is _ViewOf and v._base.root is root:
            v._base = None
    root._views = None


def _refresh_views(root, held):
    """After a write to ``root`` in the graph (copy-on-write: new storage ``root._data``, new
    node; ``held`` the storage it had), make the views of it (and the views of those) that
    shared ``held`` views of the new value, as PyTorch's views see their base's writes. A
    view given other storage since (``v.data = ...``) is left alone; so is one whose elements
    do not map one to one onto the root's (an expanded view, another dtype's)."""
    owner = _owner(held)
    keep, seen, stack = [], {id(root)}, list(root._views)
    while stack:
        ref = stack.pop()
        v = ref()
        if v is None or id(v) in seen:
            continue
        seen.add(id(v))
        rec = getattr(v, "_base", None)
        if type(rec) is _ViewOf and rec.data is v._data:
            if rec.root is not root:
                continue
            place = rec.place
        elif _owner(v._data) is owner:
            try:  # an expanded view is read from the root too (its writes are refused)
                place = _place(v._data, held, root, strict=False)
            except RuntimeError:
                continue
        else:
            continue
        stack.extend(getattr(v, "_views", None) or ())
        keep.append(ref)
        _repoint(v, root, place)
    root._views = keep


def _repoint(v, root, place):
    """Make ``v`` the view ``place`` of ``root``'s current value (storage and node)."""
    if type(place) is _ix.Strided and not place.fits(root._data):
        place = place.key()
    before = _snapshot(v)
    if type(place) is _ix.Strided:
        now = _ix.StridedViewFunction.apply(root, place)
    else:
        now = root[place]
    if now.grad_fn is not None:
        # nodes that read v before reach the node it had then (autograd's _check_versions)
        now.grad_fn._after_version = v._version
        now.grad_fn._before = before
    v._data, v.grad_fn, v.requires_grad = now._data, now.grad_fn, now.requires_grad
    v._base = _ViewOf(root, place, v._data)
    v._version += 1


def _storage(arr):
    """``(start, nbytes)`` of the storage of ``arr`` (PyTorch's): the memory of the array at
    the end of its chain of bases, from its first byte."""
    root = arr
    while True:
        base = root.base
        if type(base) is _ix._Interface:  # a strided view made by strided_view
            base = base.base
        if not isinstance(base, np.ndarray):
            break
        root = base
    lo, hi = _bounds(root)
    return lo, hi - lo


def _owner(arr):
    """The object owning ``arr``'s memory: arrays sharing storage share it."""
    while True:
        base = getattr(arr, "base", None)
        if base is None:
            return arr
        arr = base


def _parents(t):
    """``(tensor, version)`` for each tensor ``t`` may be a view of: the one it was indexed
    from, and the inputs of its node with their version when it was recorded."""
    base = getattr(t, "_base", None)
    if type(base) is tuple:
        yield base[0], None
    node = t.grad_fn
    if node is not None:
        versions = node._versions
        for i, p in enumerate(node._inputs):
            if isinstance(p, Tensor):
                yield p, versions[i] if versions else 0


def _storage_in(t, owner, since):
    """The ndarray ``t`` holds (or held, before writes in the graph from version ``since``
    on gave it new storage) in the memory of ``owner``; None if none."""
    arr = t._data
    if _owner(arr) is owner:
        return arr
    node = t.grad_fn
    while node is not None:
        prior = getattr(node, "_prior", None)
        if prior is None or (since is not None and prior._version < since):
            return None
        if _owner(prior._data) is owner:
            return prior._data
        node = prior.grad_fn
    return None


def _view_base(t):
    """``(root, place, others)`` when ``t`` is a view (``view``, ``reshape``, ``t``, ``permute``,
    indexing, chains of them ...) of the storage of ``root``, a tensor that is no view
    itself: ``place`` says where its elements lie in the root (see :func:`_place`), so that
    an in-place write to ``t`` in the graph reaches the root, as PyTorch's does, even when
    the root or another of its views was written since; ``others``, ``(view, place)`` of the
    views of the root it was taken through. None when ``t`` is no view."""
    arr = t._data
    rec = getattr(t, "_base", None)
    if type(rec) is _ViewOf and rec.data is arr:
        place = rec.place
        if type(place) is tuple and place[0].size and np.bincount(
                np.ravel_multi_index(place, rec.shape).reshape(-1)).max() > 1:
            _not_one_to_one(arr, rec.root._data)
        if rec.root._data.shape != rec.shape:
            raise RuntimeError(
                f"an in-place operation on a view of a tensor whose shape changed in place "
                f"(to {tuple(rec.root._data.shape)}, from {rec.shape}) since the view was "
                f"written: take the view again")
        return rec.root, rec.place, ()
    if arr.base is None and type(rec) is not tuple:
        # storage of its own (the common case): a view only if an input handed it over as is
        node = t.grad_fn
        if node is None or not any(isinstance(p, Tensor) and p._data is arr
                                   for p in node._inputs):
            return None
    owner = _owner(arr)
    cur, held, seen, chain = t, None, {id(t)}, []
    while True:
        step = None
        for p, since in _parents(cur):
            live = getattr(p, "_base", None)
            if type(live) is weakref.ref:  # a value p had: the tensor itself is the base
                p, since = live(), p._version
                if p is None:
                    continue
            if id(p) in seen:
                continue
            seen.add(id(p))
            found = _storage_in(p, owner, since)
            if found is not None:
                step = p, found
                break
        if step is None:
            break
        if held is not None and held is cur._data:
            chain.append(cur)
        cur, held = step
    if held is None:
        return None
    # the views passed on the way (``y`` of ``y = b[1:]; y.t().mul_(2)``): where they lie too
    others = []
    for p in chain:
        try:
            others.append((p, _place(p._data, held, cur)))
        except RuntimeError:  # not one to one: never written through, so not refreshed
            pass
    return cur, _place(arr, held, cur), others


def _bounds(arr):
    """The first and one-past-the-last byte address of the elements of ``arr``."""
    lo = hi = arr.__array_interface__["data"][0]
    if arr.size:
        for n, s in zip(arr.shape, arr.strides):
            if s < 0:
                lo += s * (n - 1)
            else:
                hi += s * (n - 1)
        hi += arr.itemsize
    return lo, hi


def _dense(arr):
    """Whether the elements of ``arr`` fill the memory between its first and last byte, each
    once (a permuted, possibly flipped, contiguous array)."""
    lo, hi = _bounds(arr)
    return hi - lo == arr.nbytes and _distinct(arr.shape, arr.strides, arr.itemsize)


def _distinct(shape, strides, itemsize):
    """Whether the elements of a strided array are at distinct addresses (a sufficient test:
    each stride steps over the whole extent of the smaller ones)."""
    extent = itemsize
    for stride, n in sorted((abs(s), n) for n, s in zip(shape, strides) if n > 1):
        if stride < extent:
            return False
        extent += stride * (n - 1)
    return True


def _in_elements(arr, start, itemsize):
    """(offset, strides) of ``arr`` in elements from the address ``start``, or None when
    they are not whole elements."""
    off = arr.__array_interface__["data"][0] - start
    if off % itemsize or any(s % itemsize for s in arr.strides):
        return None
    return off // itemsize, tuple(s // itemsize for s in arr.strides)


def _place(view, held, root, strict=True):
    """Where the elements of the ndarray ``view`` lie in ``root`` (a Tensor), given ``held``,
    the root's storage (now or before a write) that ``view`` shares: a
    :class:`~pynn.ops.index.Strided` when both are strided the same way (the view found at
    the same offset in any copy of that layout), else an integer index key. An error when
    the view's elements do not map one to one onto the root's."""
    data = root._data
    size = held.itemsize
    where = None
    if (view.dtype == held.dtype == data.dtype and data.shape == held.shape
            and data.strides == held.strides and _dense(held)):
        start = held.__array_interface__["data"][0]
        lo, hi = _bounds(held)
        vlo, vhi = _bounds(view)
        geometry = _in_elements(view, start, size)
        if (view.size and geometry is not None and lo <= vlo and vhi <= hi
                and _distinct(view.shape, view.strides, size)):
            layout = (held.shape, tuple(s // size for s in held.strides))
            return _ix.Strided(geometry[0], view.shape, geometry[1], layout)
    if view.dtype != held.dtype:
        raise RuntimeError(
            f"an in-place operation in the graph on a view of another dtype ({view.dtype} of "
            f"{held.dtype}, as .real or view_as_real give), whose elements do not map one to "
            f"one onto its base's, is not supported by pynn; write into a .clone() of it, or "
            f"write the base")
    if data.shape == held.shape:
        where = _element_indices(view, held)
    if where is None or (strict and where.size and np.bincount(where.reshape(-1)).max() > 1):
        _not_one_to_one(view, held)
    return np.unravel_index(where, held.shape)


def _not_one_to_one(view, base):
    raise RuntimeError(
        f"an in-place operation on a view (shape {tuple(view.shape)}, {view.dtype}) whose "
        f"elements do not map one to one onto those of its base (shape {tuple(base.shape)}, "
        f"{base.dtype}), as an expanded view's: write into a .clone() of it instead")


def _element_indices(view, base):
    """The C-order index in ``base`` of each element of ``view`` (an ndarray in the memory
    of the ndarray ``base``), shaped as ``view``; None when some element is not one of
    ``base``'s or ``base`` holds some address twice."""
    size = base.itemsize
    lo, hi = _bounds(base)
    vlo, vhi = _bounds(view)
    at_base, at_view = _in_elements(base, lo, size), _in_elements(view, lo, size)
    if at_base is None or at_view is None or (view.size and (vlo < lo or vhi > hi)):
        return None
    slots = np.full(max((hi - lo) // size, 1), -1, np.int64)
    item = slots.itemsize
    pos = _ix.strided_view(slots, at_base[0] * item, base.shape,
                           tuple(s * item for s in at_base[1]))
    pos[...] = np.arange(base.size).reshape(base.shape)
    if np.count_nonzero(slots >= 0) != base.size:
        return None
    out = _ix.strided_view(slots, at_view[0] * item, view.shape,
                           tuple(s * item for s in at_view[1])).copy()
    return None if out.size and out.min() < 0 else out


def _recorded_result(t, out, old, rebind):
    """The recorded result of an in-place op on ``t``, shaped and typed as ``t``: a fill
    (an ndarray or a number) or a result that does not depend on anything requiring grad
    becomes a node that passes no gradient to the old values."""
    if not isinstance(out, Tensor) or not out.requires_grad:
        values = np.array(np.broadcast_to(getattr(out, "_data", out), t._data.shape),
                          t._data.dtype)
        return _ix.OverwriteFunction.apply(old, values)
    if not rebind:
        _inplace_result(out._data, t._data)
        if out._data.dtype != t._data.dtype:
            out = out.to(t._data.dtype)
        if out._data.shape != t._data.shape:
            out = out.expand(*t._data.shape)
    return out


def _fill_value(t, value):
    return value


def _fill_tensor(t, value):
    return value.to(t._data.dtype).expand(*t._data.shape)


def _copy_from(t, src):
    if isinstance(src, Tensor):
        out = src.to(t._data.dtype)
        return out if out._data.shape == t._data.shape else out.expand(*t._data.shape)
    return np.asarray(src, t._data.dtype)


def _add(t, other, alpha=1):
    return t + (other if alpha == 1 else other * alpha)


def _sub(t, other, alpha=1):
    return t - (other if alpha == 1 else other * alpha)


def _addcmul(t, a, b, value=1):
    return t + (a * b if value == 1 else a * b * value)


def _addcdiv(t, a, b, value=1):
    return t + (a / b if value == 1 else a / b * value)


def _lerp(t, end, weight):
    return t + weight * (end - t)


def _fill_diagonal(t, value, wrap):
    mask = np.zeros(t._data.shape, np.bool_)
    np.fill_diagonal(mask, True, wrap=wrap)
    return t.masked_fill(_wrap(mask, None), value)


def _random_fill(t, kind, a, b, generator=None):
    from .random import draw

    rng = draw(generator)
    shape, dtype = t._data.shape, t._data.dtype
    a = getattr(a, "_data", a)
    if kind == "uniform":
        return rng.uniform(a, b, shape)
    if kind == "normal":
        return rng.normal(a, b, shape)
    if kind == "bernoulli":
        return rng.random(shape) < a
    if kind == "exponential":
        return rng.exponential(1.0 / a, shape)
    if kind == "geometric":
        return rng.geometric(a, shape)
    if kind == "lognormal":
        return rng.lognormal(a, b, shape)
    if kind == "cauchy":
        return a + b * rng.standard_cauchy(shape)
    # integers
    if b is None:
        b = (2 ** (np.finfo(dtype).nmant + 1) if dtype.kind == "f"
             else 2 if dtype.kind == "b" else int(np.iinfo(dtype).max) + 1)
    return rng.integers(a, b, shape)


def _resize(t, sizes):
    from ._factory import size_arg

    shape = size_arg(sizes, "resize_")
    flat = t._data.reshape(-1)
    n = math.prod(shape)
    if n == flat.size:
        return t._data.reshape(shape)
    out = np.zeros(n, t._data.dtype)
    k = min(n, flat.size)
    out[:k] = flat[:k]
    return out.reshape(shape)


# The in-place forms of the elementwise math: ``t.exp_()`` is ``t._inplace(<t.exp>)``.
_UNARY_INPLACE = (
    "abs", "neg", "negative", "sqrt", "rsqrt", "exp", "exp2", "expm1", "log", "log2", "log10",
    "log1p", "relu", "sigmoid", "tanh", "floor", "ceil", "round", "trunc", "fix", "frac",
    "sign", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "square",
    "reciprocal", "erf", "erfinv", "nan_to_num", "logical_not", "bitwise_not", "sgn",
    "deg2rad", "rad2deg", "digamma", "lgamma", "sinc", "logit", "arcsin", "arccos", "arctan",
    "absolute", "hardtanh", "clamp_", "fmod", "remainder", "pow", "float_power", "atan2",
    "maximum", "minimum", "fmax", "fmin", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "hypot", "copysign", "xlogy", "true_divide",
    "floor_divide", "multiply", "subtract", "divide", "eq", "ne", "lt", "le", "gt", "ge",
    "greater", "less", "greater_equal", "less_equal", "not_equal", "tril", "triu",
    "cumsum", "cumprod", "addmm", "addmv", "baddbmm", "scatter_reduce", "acosh", "arccosh",
    "asinh", "arcsinh", "atanh", "arctanh", "arctan2", "erfc", "gcd", "lcm", "heaviside",
    "bitwise_left_shift", "bitwise_right_shift", "addbmm", "ldexp", "addr", "i0", "polygamma",
    "mvlgamma", "igamma", "igammac", "nextafter",
)


def _install_inplace():
    for name in _UNARY_INPLACE:
        if name.endswith("_") or hasattr(Tensor, name + "_"):
            continue
        fn = _method(name)

        def method(self, *args, _fn=fn, **kwargs):
            return self._inplace(_fn, *args, **kwargs)

        method.__name__ = name + "_"
        method.__qualname__ = f"Tensor.{name}_"
        target = f":meth:`{name}`" if hasattr(Tensor, name) else f"``{name}``"
        method.__doc__ = f"In-place {target}; returns self."
        setattr(Tensor, name + "_", method)


_install_inplace()


# Legacy tensor types: ``pynn.FloatTensor(2, 3)`` builds a float32 tensor, ``isinstance(t,
# pynn.FloatTensor)`` checks the dtype, ``t.type(pynn.LongTensor)`` casts.

_LEGACY_NAMES = {}
_LEGACY_BY_NAME = {}


class _LegacyTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls._pynn_dtype._np


_LEGACY_DOC = """A {dt} tensor (``torch.{name}``).

    ``{name}(2, 3)`` is an uninitialised tensor of that shape; ``{name}(data)`` converts data.

    Parameters
    ----------
    *args : ints, or array_like of any shape
        The sizes of the dimensions, or the data (a sequence, ndarray or Tensor).
    requires_grad : bool
        Whether autograd records operations on the result.
    device : str or pynn.device, optional
        Only the CPU is supported.
    """


def _legacy_type(name, dt):
    def new(cls, *args, requires_grad=False, device=None):
        if len(args) == 1 and isinstance(args[0], np.ndarray):
            arr = args[0].astype(dt._np)
        else:
            arr = _constructor_array(args)
            if arr.dtype != dt._np:
                arr = arr.astype(dt._np)
        if device is not None:
            check_device(device)
        t = _wrap(arr, None)
        return t.requires_grad_(True) if requires_grad else t

    cls = _LegacyTensorMeta(name, (), {"__new__": new, "_pynn_dtype": dt,
                                       "__doc__": _LEGACY_DOC.format(dt=dt, name=name)})
    _LEGACY_NAMES[dt._np] = f"pynn.{name}"
    _LEGACY_BY_NAME[f"pynn.{name}"] = _LEGACY_BY_NAME[f"torch.{name}"] = dt
    return cls


FloatTensor = _legacy_type("FloatTensor", _dtype.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dtype.float64)
HalfTensor = _legacy_type("HalfTensor", _dtype.float16)
LongTensor = _legacy_type("LongTensor", _dtype.int64)
IntTensor = _legacy_type("IntTensor", _dtype.int32)
ShortTensor = _legacy_type("ShortTensor", _dtype.int16)
CharTensor = _legacy_type("CharTensor", _dtype.int8)
ByteTensor = _legacy_type("ByteTensor", _dtype.uint8)
BoolTensor = _legacy_type("BoolTensor", _dtype.bool)


from . import autograd as _autograd  # (imported last: these modules need Tensor)
from ._device import device as _device_type
from ._math import cat, stack  # (installs the math methods on Tensor)
from .ops import elementwise as _ew
from .ops import index as _ix
