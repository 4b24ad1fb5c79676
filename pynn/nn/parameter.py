"""``Parameter``, the learnable weights of a module.

``Parameter``: a leaf :class:`pynn.Tensor` that a :class:`pynn.nn.Module` registers as one
of its learnable weights when it is assigned as an attribute."""

import numpy as np

from ..tensor import Tensor, _as_array

__all__ = ["Buffer", "Parameter", "UninitializedParameter"]


class Parameter(Tensor):
    """A leaf tensor that is a module's learnable weight (``torch.nn.Parameter``).

    Assigning a Parameter to a :class:`Module` attribute registers it, so it appears in
    ``parameters()`` and ``state_dict()``. Optimisers update its storage (``._data``) in place
    and never rebind it.

    Parameters
    ----------
    data : ndarray, Tensor or array_like, optional
        The values. A C-contiguous, writeable ndarray (or the ndarray of a Tensor) is used
        as is, without a copy, as PyTorch shares the storage; anything else is copied into
        such an array (the optimisers need contiguous, writeable storage). ``None`` gives an
        empty float32 array.
    requires_grad : bool
        Default True; only floating-point parameters can require grad.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty(0, np.float32)
        else:
            arr = _as_array(data)
            if not (arr.flags.c_contiguous and arr.flags.writeable):
                arr = np.array(arr, order="C")
        self._data = arr
        self._grad = None
        self._version = 0
        self.grad_fn = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # print(p) as PyTorch prints it (Tensor binds __str__ to its own repr)


class Buffer(Tensor):
    """A tensor that a module registers as a buffer when assigned (``torch.nn.Buffer``).

    ``self.pe = nn.Buffer(table)`` is ``self.register_buffer("pe", table)``; the module
    stores a plain Tensor over the same storage, as PyTorch's does.

    Parameters
    ----------
    data : ndarray, Tensor or array_like, optional
        The values (a Tensor's or a C-contiguous ndarray's storage is shared); ``None``
        gives an empty float32 tensor.
    persistent : bool, default True, keyword-only
        Whether the buffer is part of the module's ``state_dict()``.
    """

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        arr = np.empty(0, np.float32) if data is None else _as_array(data)
        self._data = arr
        self._grad = None
        self._version = 0
        self.grad_fn = None
        self.requires_grad = False
        self.persistent = bool(persistent)


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy layer's, before its first input).

    It holds no values (an empty array, whose dtype ``.double()`` / ``.to()`` still
    convert); :meth:`materialize` gives it its shape and makes it a :class:`Parameter`, the
    same object, so an optimiser built before then updates it.

    Parameters
    ----------
    requires_grad : bool
    device : str or pynn.device, optional
        Only the CPU.
    dtype : pynn.dtype, optional
        Of the values it will hold (default float32).
    """

    __slots__ = ()

    def __init__(self, requires_grad=True, device=None, dtype=None):
        from .._device import check_device
        from .._dtype import np_dtype

        check_device(device)
        super().__init__(np.empty(0, np.float32 if dtype is None else np_dtype(dtype)),
                         requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        """Give the parameter ``shape`` (uninitialised values) and make it a Parameter.

        Parameters
        ----------
        shape : tuple of int
        device : str or pynn.device, optional
        dtype : pynn.dtype, optional
            Default: the dtype it holds now.
        """
        from .._dtype import np_dtype

        self._data = np.empty(tuple(shape), self._data.dtype if dtype is None
                              else np_dtype(dtype))
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"

    __str__ = __repr__
