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
- dtypes: elementwise ops, reductions, ``cat``/``stack`` and the elementwise losses (mse,
  bce) follow NumPy's promotion (float32 with float64 gives float64, as PyTorch does for
  tensor-tensor ops; a Python scalar never promotes). Kernel-backed ops (``@``/matmul,
  linear, conv, pooling, activations, the softmax family and cross-entropy) require operands
  of one float dtype and raise TypeError otherwise, as PyTorch's matmul does. A gradient
  always has the dtype of the tensor it belongs to.
- Comparisons (``== < >=`` ...) return bool Tensors that do not require grad.
- ``pynn.tensor(list of Python floats)`` is float32 (PyTorch's default dtype); from an
  ndarray the dtype is kept and the data is not copied.
"""

import numbers
from collections import namedtuple

import numpy as np

__all__ = ["Tensor", "tensor", "cat", "stack"]

_new = object.__new__
_FLOAT_KINDS = "f"


def _wrap(data, node):
    """A Tensor over ``data`` made by ``node`` (None: not recorded). The hot path of every op."""
    t = _new(Tensor)
    t._data = data
    t._grad = None
    t.requires_grad = node is not None
    t.grad_fn = node
    return t


def _as_array(data, dtype=None):
    """Convert like ``torch.tensor``: Python floats become float32, ndarrays keep dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data)
    if arr.dtype == np.float64 and not isinstance(data, (np.generic, np.ndarray)):
        arr = arr.astype(np.float32)
    elif arr.dtype == np.complex128:
        arr = arr.astype(np.complex64)
    return arr


def _check_grad_dtype(arr, what="Tensor"):
    if arr.dtype.kind != _FLOAT_KINDS:
        raise RuntimeError(
            f"Only Tensors of floating point dtype can require gradients; this {what} has "
            f"dtype {arr.dtype}"
        )


MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _dims(dim, axis, op):
    """Accept PyTorch's ``dim`` or NumPy's ``axis`` (not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim or axis, not both")
        return axis
    return dim


def _keep(keepdim, keepdims):
    return bool(keepdim or keepdims)


class Tensor:
    """An n-dimensional array that records the operations applied to it for autograd.

    Parameters
    ----------
    data : array_like
        An ndarray is used as is (no copy); other data is converted as :func:`tensor` does.
    requires_grad : bool
        Record operations on this (leaf) tensor so ``backward`` fills its ``.grad``.

    Attributes
    ----------
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
    __slots__ = ("_data", "_grad", "requires_grad", "grad_fn", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False):
        self._data = data if type(data) is np.ndarray else _as_array(data)
        self._grad = None
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
        """The shape, a tuple of ints (that of the storage)."""
        return self._data.shape

    @property
    def dtype(self):
        """The NumPy dtype of the storage."""
        return self._data.dtype

    @property
    def ndim(self):
        """The number of dimensions."""
        return self._data.ndim

    def dim(self):
        """The number of dimensions (as :attr:`ndim`)."""
        return self._data.ndim

    def size(self, dim=None):
        """The shape (``dim=None``) or the length of one dimension."""
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self):
        """The number of elements."""
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def is_leaf(self):
        """True for tensors not made by a recorded operation (parameters, inputs)."""
        return self.grad_fn is None

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars (shape "
                f"{self._data.shape})"
            )
        return self._data.item()

    def numpy(self):
        """The underlying ndarray itself (no copy).

        Writing to it changes the tensor, and corrupts gradients if a recorded graph saved it.
        """
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

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape "
                f"{self._data.shape})"
            )
        return bool(self._data.item())

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = ""
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self._data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd ------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Gradients add up (``+=``) across calls: call ``zero_grad`` between steps.

        Parameters
        ----------
        gradient : array_like or Tensor of the same shape as self, optional
            d(something)/d(self); required unless self has one element.
        retain_graph : bool, optional
            Keep the saved arrays so ``backward`` can run through this graph again.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have "
                               "a grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (this tensor has "
                    f"shape {self._data.shape}); pass backward(gradient) shaped like it"
                )
            grad = np.array(1, self._data.dtype)
            if self._data.ndim:
                grad = grad.reshape(self._data.shape)
        else:
            grad = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if grad.shape != self._data.shape:
                raise RuntimeError(
                    f"backward: gradient has shape {grad.shape} but the tensor has shape "
                    f"{self._data.shape}"
                )
            if grad.dtype != self._data.dtype:
                grad = grad.astype(self._data.dtype)
        if self.grad_fn is None:
            _accumulate(self, grad)
        else:
            _run_backward(self.grad_fn, grad, bool(retain_graph))

    def retain_grad(self):
        """Make ``backward`` fill this non-leaf tensor's ``.grad`` too."""
        if self.grad_fn is not None:
            self.grad_fn._retain = self
        elif not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")

    def detach(self):
        """A tensor sharing this one's data, outside the graph."""
        return Tensor(self._data)

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

    # -- arithmetic ----------------------------------------------------------------------------

    def __add__(self, other):
        return _ew.AddFunction.apply(self, other)

    def __radd__(self, other):
        return _ew.AddFunction.apply(other, self)

    def __sub__(self, other):
        return _ew.SubFunction.apply(self, other)

    def __rsub__(self, other):
        return _ew.SubFunction.apply(other, self)

    def __mul__(self, other):
        return _ew.MulFunction.apply(self, other)

    def __rmul__(self, other):
        return _ew.MulFunction.apply(other, self)

    def __truediv__(self, other):
        return _ew.DivFunction.apply(self, other)

    def __rtruediv__(self, other):
        return _ew.DivFunction.apply(other, self)

    def __pow__(self, other):
        return _ew.PowFunction.apply(self, other)

    def __rpow__(self, other):
        return _ew.PowFunction.apply(other, self)

    def __matmul__(self, other):
        return _mm.MatmulFunction.apply(self, other)

    def __rmatmul__(self, other):
        return _mm.MatmulFunction.apply(other, self)

    def __neg__(self):
        return _ew.NegFunction.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.AbsFunction.apply(self)

    # In-place operators: on tensors outside the graph they write into the storage (so an update
    # like ``w -= lr * g`` under no_grad keeps w's identity); on tensors in the graph they
    # rebind to an out-of-place result, except on a leaf that requires grad, which PyTorch
    # refuses too.

    def _inplace(self, other, ufunc, name):
        if self.requires_grad and _autograd._mode.enabled:
            if self.grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place "
                    f"operation ({name}); wrap it in pynn.no_grad()"
                )
            return getattr(self, name.replace("__i", "__", 1))(other)
        ufunc(self._data, other._data if isinstance(other, Tensor) else other, out=self._data)
        return self

    def __iadd__(self, other):
        return self._inplace(other, np.add, "__iadd__")

    def __isub__(self, other):
        return self._inplace(other, np.subtract, "__isub__")

    def __imul__(self, other):
        return self._inplace(other, np.multiply, "__imul__")

    def __itruediv__(self, other):
        return self._inplace(other, np.true_divide, "__itruediv__")

    # -- comparisons (not differentiable: bool tensors) -----------------------------------------

    def _compare(self, other, ufunc):
        return Tensor(ufunc(self._data, other._data if isinstance(other, Tensor) else other))

    def __eq__(self, other):
        if other is None:
            return False
        return self._compare(other, np.equal)

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def eq(self, other):
        """Elementwise ``self == other`` as a bool tensor (not differentiable)."""
        return self.__eq__(other)

    def ne(self, other):
        """Elementwise ``self != other`` as a bool tensor (not differentiable)."""
        return self.__ne__(other)

    def lt(self, other):
        """Elementwise ``self < other`` as a bool tensor (not differentiable)."""
        return self.__lt__(other)

    def le(self, other):
        """Elementwise ``self <= other`` as a bool tensor (not differentiable)."""
        return self.__le__(other)

    def gt(self, other):
        """Elementwise ``self > other`` as a bool tensor (not differentiable)."""
        return self.__gt__(other)

    def ge(self, other):
        """Elementwise ``self >= other`` as a bool tensor (not differentiable)."""
        return self.__ge__(other)

    # -- elementwise functions -----------------------------------------------------------------

    def add(self, other):
        """``self + other``, broadcasting."""
        return self.__add__(other)

    def sub(self, other):
        """``self - other``, broadcasting."""
        return self.__sub__(other)

    def mul(self, other):
        """``self * other``, elementwise, broadcasting."""
        return self.__mul__(other)

    def div(self, other):
        """``self / other``, broadcasting."""
        return self.__truediv__(other)

    def pow(self, exponent):
        """``self ** exponent``, elementwise."""
        return self.__pow__(exponent)

    def neg(self):
        """``-self``."""
        return self.__neg__()

    def matmul(self, other):
        """``self @ other`` with ``np.matmul``'s rules (2-D operands use the ``gemm`` kernel)."""
        return self.__matmul__(other)

    def exp(self):
        """Elementwise ``exp``."""
        return _ew.ExpFunction.apply(self)

    def log(self):
        """Elementwise natural logarithm."""
        return _ew.LogFunction.apply(self)

    def sqrt(self):
        """Elementwise square root."""
        return _ew.SqrtFunction.apply(self)

    def abs(self):
        """Elementwise absolute value."""
        return _ew.AbsFunction.apply(self)

    def clamp(self, min=None, max=None):
        """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return _ew.ClampFunction.apply(self, min, max)

    clip = clamp

    def tanh(self):
        """Elementwise ``tanh`` (the backend's kernel)."""
        return _act.TanhFunction.apply(self)

    def sigmoid(self):
        """Elementwise ``1 / (1 + exp(-self))`` (the backend's kernel)."""
        return _act.SigmoidFunction.apply(self)

    def relu(self):
        """Elementwise ``max(self, 0)`` (the backend's kernel)."""
        return _act.ReluFunction.apply(self)

    def softmax(self, dim=-1):
        """Softmax along ``dim`` (as :func:`pynn.functional.softmax`)."""
        return _sm.SoftmaxFunction.apply(self, dim)

    def log_softmax(self, dim=-1):
        """``log(softmax(self))`` along ``dim``, computed stably."""
        return _sm.LogSoftmaxFunction.apply(self, dim)

    def to(self, dtype):
        """This tensor cast to ``dtype`` (differentiable; self when the dtype matches)."""
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            # As in PyTorch, only floating-point tensors carry gradients: an integer or
            # boolean cast leaves the graph.
            return Tensor(self._data.astype(dtype))
        return _ew.CastFunction.apply(self, dtype)

    def float(self):
        """``self.to(np.float32)``."""
        return self.to(np.float32)

    def double(self):
        """``self.to(np.float64)``."""
        return self.to(np.float64)

    def long(self):
        """``self.to(np.int64)``."""
        return self.to(np.int64)

    def clone(self):
        """A copy of the data, recorded in the graph (the gradient flows back to self)."""
        return _ew.CloneFunction.apply(self)

    # -- reductions ----------------------------------------------------------------------------

    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """Sum over ``dim`` (int or tuple; all when None).

        ``axis`` / ``keepdims`` are accepted as NumPy-style aliases of ``dim`` / ``keepdim``.
        """
        return _red.SumFunction.apply(self, _dims(dim, axis, "sum"), _keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """Mean over ``dim`` (int or tuple; all when None)."""
        return _red.MeanFunction.apply(self, _dims(dim, axis, "mean"), _keep(keepdim, keepdims))

    def _minmax(self, dim, keepdim, axis, keepdims, name, result):
        dim = _dims(dim, axis, name)
        keep = _keep(keepdim, keepdims)
        if dim is None:
            return _red.AmaxFunction.apply(self, None, keep, name == "min")
        if not isinstance(dim, numbers.Integral):
            raise TypeError(f"{name}: dim must be an int when indices are returned (use "
                            f"amax/amin for several dims), got {dim!r}")
        arg = np.argmin if name == "min" else np.argmax
        indices = _red.arg_reduce(self._data, dim, True, arg)
        values = _red.TakeAlongFunction.apply(self, dim, indices, keep)
        return result(values, Tensor(indices if keep else np.squeeze(indices, dim)))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The maximum, or the namedtuple ``(values, indices)`` along ``dim`` (``torch.max``).

        With ``dim=None`` the result is a 0-d tensor and ties share the gradient equally; along
        ``dim`` the gradient goes to the first maximum.
        """
        return self._minmax(dim, keepdim, axis, keepdims, "max", MaxResult)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """The minimum, or ``(values, indices)`` along ``dim``; see :meth:`max`."""
        return self._minmax(dim, keepdim, axis, keepdims, "min", MinResult)

    def amax(self, dim=None, keepdim=False):
        """Maximum over ``dim`` (int, tuple or None), values only; ties share the gradient."""
        return _red.AmaxFunction.apply(self, dim, keepdim, False)

    def amin(self, dim=None, keepdim=False):
        """Minimum over ``dim`` (int, tuple or None), values only; ties share the gradient."""
        return _red.AmaxFunction.apply(self, dim, keepdim, True)

    def argmax(self, dim=None, keepdim=False):
        """Indices of the maxima (int64, not differentiable)."""
        return Tensor(_red.arg_reduce(self._data, dim, keepdim, np.argmax))

    def argmin(self, dim=None, keepdim=False):
        """Indices of the minima (int64, not differentiable)."""
        return Tensor(_red.arg_reduce(self._data, dim, keepdim, np.argmin))

    # -- shape ---------------------------------------------------------------------------------

    def reshape(self, *shape):
        """The same data with a new shape (one entry may be -1)."""
        return _sh.ReshapeFunction.apply(self, _sh.shape_arg(shape))

    def view(self, *shape):
        """As :meth:`reshape`.

        pynn does not distinguish views: NumPy decides whether the result shares memory.
        """
        return _sh.ReshapeFunction.apply(self, _sh.shape_arg(shape))

    def view_as(self, other):
        """``self.reshape(other.shape)``."""
        return _sh.ReshapeFunction.apply(self, other.shape)

    def reshape_as(self, other):
        """``self.reshape(other.shape)``."""
        return _sh.ReshapeFunction.apply(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dimensions ``start_dim..end_dim`` into one."""
        return _sh.ReshapeFunction.apply(self, _sh.flatten_shape(self.shape, start_dim, end_dim))

    def unsqueeze(self, dim):
        """Insert a dimension of size 1 at ``dim``."""
        return _sh.ReshapeFunction.apply(self, _sh.unsqueeze_shape(self.shape, dim))

    def squeeze(self, dim=None):
        """Drop dimensions of size 1 (all, or ``dim`` if it has size 1)."""
        return _sh.ReshapeFunction.apply(self, _sh.squeeze_shape(self.shape, dim))

    def transpose(self, dim0, dim1):
        """Swap two dimensions."""
        return _sh.PermuteFunction.apply(self, _sh.swap_perm(self.ndim, dim0, dim1))

    def permute(self, *dims):
        """Reorder the dimensions."""
        return _sh.PermuteFunction.apply(self, _sh.perm_arg(self.ndim, dims))

    def t(self):
        """The transpose of a matrix; a tensor of fewer than 2 dimensions is returned as is."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self):
        """All dimensions reversed (the transpose of a matrix)."""
        if self.ndim < 2:
            return self
        return _sh.PermuteFunction.apply(self, tuple(range(self.ndim - 1, -1, -1)))

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (-1 keeps a dimension); a read-only view."""
        return _sh.ExpandFunction.apply(self, _sh.expand_shape(self.shape, _sh.shape_arg(sizes)))

    def expand_as(self, other):
        """``self.expand(*other.shape)``."""
        return self.expand(*other.shape)

    def contiguous(self):
        """Self if its data is C-contiguous, else a C-contiguous copy (recorded in the graph)."""
        if self._data.flags.c_contiguous:
            return self
        return _ew.CloneFunction.apply(self)

    def __getitem__(self, key):
        return _sh.IndexFunction.apply(self, _sh.index_key(key))

    def __setitem__(self, key, value):
        """Write into the storage (not recorded: refused on a tensor in a recording graph)."""
        if self.requires_grad and _autograd._mode.enabled:
            raise RuntimeError(
                "pynn does not record in-place assignment to a tensor that requires grad; do "
                "it under pynn.no_grad() (not differentiated) or build a new tensor"
            )
        self._data[_sh.index_key(key)] = value._data if isinstance(value, Tensor) else value


def tensor(data, dtype=None, requires_grad=False):
    """Make a leaf tensor from ``data`` (``torch.tensor``).

    Parameters
    ----------
    data : array_like, scalar, ndarray or Tensor
        Python floats become float32, Python ints int64, bools bool. An ndarray keeps its
        dtype and is not copied (unless ``dtype`` asks for a conversion).
    dtype : numpy dtype, optional
    requires_grad : bool

    Returns
    -------
    Tensor
    """
    arr = _as_array(data, dtype)
    if isinstance(data, Tensor) and arr is data._data:
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def cat(tensors, dim=0):
    """Concatenate tensors along an existing dimension (``torch.cat``).

    Parameters
    ----------
    tensors : sequence of Tensor
        Shapes equal except along ``dim``.
    dim : int

    Returns
    -------
    Tensor
        Its size along ``dim`` is the sum of the inputs' sizes.
    """
    tensors = _sh.sequence_arg("cat", tensors)
    return _sh.CatFunction.apply(dim, *tensors)


def stack(tensors, dim=0):
    """Stack equally-shaped tensors along a new dimension (``torch.stack``).

    Parameters
    ----------
    tensors : sequence of Tensor, all of one shape S
    dim : int
        Where the new dimension goes, ``-len(S) - 1 <= dim <= len(S)``.

    Returns
    -------
    Tensor
        Shape S with ``len(tensors)`` inserted at ``dim``.
    """
    tensors = _sh.sequence_arg("stack", tensors)
    return _sh.StackFunction.apply(dim, *tensors)


# ---------------------------------------------------------------------------------------------
# The backward walk


def _accumulate(leaf, grad, owned=False):
    """Add the ndarray ``grad`` into a leaf's ``.grad``, in place once there is one. The first
    gradient becomes a Tensor over an ndarray of the leaf's dtype that nothing else refers to:
    ``grad`` itself when it is ``owned`` (see ``ArrayFunction.fresh_grads``) and already such
    an ndarray, else a copy."""
    g = leaf._grad
    if g is not None:
        g._data += grad
        return
    if not (owned and type(grad) is np.ndarray and grad.dtype == leaf._data.dtype
            and grad.flags.writeable):
        grad = np.array(grad, dtype=leaf._data.dtype)
    g = _new(Tensor)  # _wrap inline: once per leaf per step
    g._data = grad
    g._grad = None
    g.requires_grad = False
    g.grad_fn = None
    leaf._grad = g


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time."
)


def _run_backward(root, grad, retain_graph):
    """Propagate ``grad`` from node ``root`` to the leaves, in reverse topological order.

    Kahn's algorithm without recursion: count, for every node reachable from root, how many
    edges lead into it; a node runs once all its consumers have handed it their gradient.
    """
    deps = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for t, needed in zip(node.inputs, node.needs_input_grad):
            if needed:
                parent = t.grad_fn
                if parent is not None:
                    if parent in deps:
                        deps[parent] += 1
                    else:
                        deps[parent] = 1
                        stack.append(parent)

    grads = {root: grad}
    ready = [root]
    ndarray = np.ndarray
    while ready:
        node = ready.pop()
        g = grads.pop(node)
        if node._freed:
            raise RuntimeError(_FREED)
        if node._retain is not None:
            _accumulate(node._retain, g)
        in_grads = node.backward(node, g)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        if not retain_graph:
            node.saved_tensors = None
            node._freed = True
        for t, needed, gi in zip(node.inputs, node.needs_input_grad, in_grads):
            if not needed or gi is None:
                continue
            parent = t.grad_fn
            if parent is None:
                _accumulate(t, gi, node.fresh_grads)
                continue
            dtype = t._data.dtype
            if type(gi) is not ndarray or (gi.dtype is not dtype and gi.dtype != dtype):
                gi = np.asarray(gi, dtype)
            if parent in grads:
                grads[parent] = grads[parent] + gi
            else:
                grads[parent] = gi
            left = deps[parent] - 1
            deps[parent] = left
            if left == 0:
                ready.append(parent)


from . import autograd as _autograd  # (imported last: these modules need Tensor)
from .ops import activation as _act
from .ops import elementwise as _ew
from .ops import matmul as _mm
from .ops import reduce as _red
from .ops import shape as _sh
from .ops import softmax as _sm
