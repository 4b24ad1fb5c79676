"""dtypes as objects (``pynn.float32``, ``pynn.long`` ...), the default float dtype and the
type-promotion rules of PyTorch.

A :class:`dtype` wraps a NumPy dtype: it compares equal to it (and to the NumPy scalar type,
so ``t.dtype == np.float32`` holds), hashes as it, and converts with ``np.dtype(pynn.float32)``
(NumPy reads its ``.dtype`` attribute), so library code that passes ``t.dtype`` to NumPy keeps
working. Attributes NumPy dtypes have and :class:`dtype` does not (``kind``, ``type``,
``char``) are read from the NumPy dtype.
"""

import numpy as np

__all__ = [
    "bfloat16",
    "bool",
    "can_cast",
    "cdouble",
    "cfloat",
    "channels_last",
    "channels_last_3d",
    "complex64",
    "complex128",
    "contiguous_format",
    "double",
    "dtype",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "get_default_dtype",
    "half",
    "iinfo",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_complex",
    "is_floating_point",
    "long",
    "preserve_format",
    "promote_types",
    "result_type",
    "set_default_dtype",
    "set_default_tensor_type",
    "short",
    "strided",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

_builtin_bool = bool
_builtin_float = float
_builtin_int = int


class dtype:
    """The element type of a tensor (``torch.dtype``).

    Parameters
    ----------
    name : str
    np_dtype : numpy.dtype
    itemsize : int, optional

    Attributes
    ----------
    is_floating_point : bool
    is_complex : bool
    is_signed : bool
    itemsize : int
        Bytes per element.
    """

    __slots__ = ("_name", "_np", "is_complex", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, np_dtype, itemsize=None):
        self._name = name
        self._np = None if np_dtype is None else np.dtype(np_dtype)
        kind = "V" if self._np is None else self._np.kind
        self.is_floating_point = kind == "f" or name == "bfloat16"
        self.is_complex = kind == "c"
        self.is_signed = kind in "fic" or name == "bfloat16"
        self.itemsize = itemsize if self._np is None else self._np.itemsize

    @property
    def dtype(self):
        """The NumPy dtype (what ``np.dtype(pynn.float32)`` reads)."""
        if self._np is None:
            raise TypeError(f"pynn.{self._name} has no NumPy storage: pynn tensors cannot hold "
                            f"{self._name} (use pynn.float32 or pynn.float16)")
        return self._np

    def __getattr__(self, name):
        # kind, type, char, str ...: NumPy's dtype answers for us
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dtype, name)

    def __eq__(self, other):
        if type(other) is dtype:
            return self is other or (self._np is not None and self._np == other._np)
        try:
            return self._np == _AS_NP[other]  # NumPy dtypes and scalar types: one lookup
        except (KeyError, TypeError):
            pass
        if self._np is None or other is None or isinstance(other, (str, _builtin_int)):
            return False
        try:
            return self._np == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self._np) if self._np is not None else hash(self._name)

    def __repr__(self):
        return f"pynn.{self._name}"

    __str__ = __repr__

    def __reduce__(self):
        return (_by_name, (self._name,))

    def to_real(self):
        """The real dtype of a complex one (self otherwise)."""
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self):
        """The complex dtype of matching precision."""
        return {float32: complex64, float64: complex128, complex64: complex64,
                complex128: complex128}[self]


float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
float16 = half = dtype("float16", np.float16)
bfloat16 = dtype("bfloat16", None, itemsize=2)
complex64 = cfloat = dtype("complex64", np.complex64)
complex128 = cdouble = dtype("complex128", np.complex128)
int64 = long = dtype("int64", np.int64)
int32 = int = dtype("int32", np.int32)
int16 = short = dtype("int16", np.int16)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
uint16 = dtype("uint16", np.uint16)
uint32 = dtype("uint32", np.uint32)
uint64 = dtype("uint64", np.uint64)
bool = dtype("bool", np.bool_)

_ALL = (float32, float64, float16, bfloat16, complex64, complex128, int64, int32, int16, int8,
        uint8, uint16, uint32, uint64, bool)
# NumPy dtype -> pynn dtype: Tensor.dtype is one dict lookup
_FROM_NP = {d._np: d for d in _ALL if d._np is not None}
_BY_NAME = {d._name: d for d in _ALL}
_AS_NP = {**{k: k for k in _FROM_NP}, **{k.type: k for k in _FROM_NP}}


def _by_name(name):
    return _BY_NAME[name]


_default = float32


def get_default_dtype():
    """The dtype of floating-point tensors made from Python floats (``torch.get_default_dtype``).

    Returns
    -------
    dtype
        ``pynn.float32`` unless :func:`set_default_dtype` changed it.
    """
    return _default


def set_default_dtype(d):
    """Set the default floating-point dtype (``torch.set_default_dtype``).

    Parameters
    ----------
    d : dtype
        ``pynn.float32``, ``pynn.float64`` or ``pynn.float16``.
    """
    global _default
    d = to_dtype(d)
    if not d.is_floating_point or d is bfloat16:
        raise TypeError(f"only floating-point types are supported as the default type, "
                        f"got {d}")
    _default = d


def to_dtype(d):
    """A :class:`dtype` from a pynn dtype, a NumPy dtype or scalar type, or a Python type
    (``float`` is float64, ``int`` int64, ``bool`` bool, as in PyTorch)."""
    if type(d) is dtype:
        return d
    if d is _builtin_float:
        return float64
    if d is _builtin_int:
        return int64
    if d is _builtin_bool:
        return bool
    try:
        return _FROM_NP[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"{d!r} is not a dtype pynn supports") from None


def np_dtype(d):
    """The NumPy dtype of ``d`` (anything :func:`to_dtype` takes); None stays None."""
    if d is None:
        return None
    if type(d) is dtype:
        return d.dtype
    return to_dtype(d).dtype


def is_floating_point(t):
    """True when the tensor's dtype is a floating-point one (``torch.is_floating_point``).

    Parameters
    ----------
    t : Tensor of any shape

    Returns
    -------
    bool
    """
    return t._data.dtype.kind == "f"


def is_complex(t):
    """True when the tensor's dtype is complex (``torch.is_complex``).

    Parameters
    ----------
    t : Tensor of any shape

    Returns
    -------
    bool
    """
    return t._data.dtype.kind == "c"


# ---------------------------------------------------------------------------------------------
# Promotion. PyTorch's categories: bool < integer < floating < complex. Between tensors (of the
# same dimensionality class), types promote as NumPy's do; a 0-d tensor or a Python scalar only
# matters when its category is higher than the tensors', and then gives the default dtype of
# its category (a float scalar with an int tensor gives the default float dtype).

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _promote(a, b):
    """PyTorch's promotion of two NumPy dtypes: within a category NumPy's rule, across
    categories the higher one's dtype (int64 with float16 gives float16)."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb:
        return np.promote_types(a, b)
    hi, lo = (a, b) if ca > cb else (b, a)
    if hi.kind == "c" and lo.kind == "f":
        return np.promote_types(hi, lo)
    return hi


def _promote_all(dtypes):
    out = dtypes[0]
    for d in dtypes[1:]:
        out = _promote(out, d)
    return out


def promote_types(type1, type2):
    """The smallest dtype both ``type1`` and ``type2`` convert to (``torch.promote_types``).

    Parameters
    ----------
    type1 : pynn.dtype
    type2 : pynn.dtype

    Returns
    -------
    dtype
    """
    return _FROM_NP[_promote(np_dtype(type1), np_dtype(type2))]


def _scalar_category(x):
    if isinstance(x, (_builtin_bool, np.bool_)):
        return 0
    if isinstance(x, (_builtin_int, np.integer)):
        return 1
    if isinstance(x, (_builtin_float, np.floating)):
        return 2
    return 3


def _category_default(cat):
    return (np.dtype(np.bool_), np.dtype(np.int64), _default._np,
            np.dtype(np.complex128 if _default is float64 else np.complex64))[cat]


def result_np_dtype(*operands):
    """The NumPy dtype PyTorch gives an op on ``operands`` (Tensors, ndarrays, scalars)."""
    dims, zero_dim, scalars = [], [], []
    for x in operands:
        arr = getattr(x, "_data", x)
        if isinstance(arr, np.ndarray):
            (dims if arr.ndim else zero_dim).append(arr.dtype)
        else:
            scalars.append(_scalar_category(x))
    result = _promote_all(dims) if dims else None
    if zero_dim:
        t = _promote_all(zero_dim)
        if result is None or _CATEGORY[t.kind] > _CATEGORY[result.kind]:
            # a higher category among the 0-d tensors: their own promoted type
            result = t if result is None else _promote_all(
                [d for d in zero_dim if _CATEGORY[d.kind] == _CATEGORY[t.kind]])
    if scalars:
        cat = max(scalars)
        if result is None or cat > _CATEGORY[result.kind]:
            return _category_default(cat)
    return result


def result_type(tensor1, tensor2):
    """The dtype of an arithmetic op on the two operands (``torch.result_type``).

    Parameters
    ----------
    tensor1 : Tensor, broadcastable with input
    tensor2 : Tensor, broadcastable with input

    Returns
    -------
    dtype
    """
    return _FROM_NP[result_np_dtype(tensor1, tensor2)]


def can_cast(from_, to):
    """Whether PyTorch's casting rules allow a cast (``torch.can_cast``).

    True when PyTorch's casting rules allow ``from_`` into ``to`` (``torch.can_cast``): no cast to a
    lower category (float to int, int to bool).

    Parameters
    ----------
    from_ : pynn.dtype
    to : pynn.dtype

    Returns
    -------
    bool
    """
    a, b = np_dtype(from_), np_dtype(to)
    return _CATEGORY[a.kind] <= _CATEGORY[b.kind]


class _FInfo:
    """``torch.finfo``'s answer: the limits as Python numbers (NumPy's are NumPy scalars,
    which print differently: ``1.1920929e-07`` against PyTorch's ``1.1920928955078125e-07``)."""

    _FIELDS = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")

    def __init__(self, info):
        self.bits = _builtin_int(info.bits)
        for name in self._FIELDS:
            setattr(self, name, _builtin_float(getattr(info, name)))
        self.resolution = 10.0 ** -_builtin_int(info.precision)  # exact, as PyTorch's
        self.dtype = str(info.dtype)

    def __repr__(self):
        fields = ", ".join(f"{n}={getattr(self, n):g}" for n in self._FIELDS)
        return f"finfo({fields}, dtype={self.dtype})"


def finfo(type=None):
    """Machine limits of a floating-point dtype (``torch.finfo``).

    Parameters
    ----------
    type : dtype, optional
        The default dtype when omitted.

    Returns
    -------
    finfo
        ``bits`` (int); ``eps``, ``max``, ``min``, ``tiny``, ``smallest_normal``,
        ``resolution`` (Python floats); ``dtype`` (its name).
    """
    return _FInfo(np.finfo(np_dtype(type if type is not None else _default)))


def iinfo(type):
    """Machine limits of an integer dtype (``torch.iinfo``; NumPy's ``iinfo``).

    Parameters
    ----------
    type : pynn.dtype

    Returns
    -------
    iinfo
        With ``bits``, ``min``, ``max`` (ints) and ``dtype`` (its name).
    """
    return _IInfo(np.iinfo(np_dtype(type)))


class _IInfo:
    """``torch.iinfo``'s answer, printed as PyTorch prints it."""

    def __init__(self, info):
        self.bits, self.min, self.max = (_builtin_int(v) for v in (info.bits, info.min, info.max))
        self.dtype = str(info.dtype)

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


class _Named:
    """A named constant (memory formats, layouts): compared by identity, printed as PyTorch's."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"pynn.{self._name}"

    def __reduce__(self):
        return self._name


# Memory formats and layouts are accepted and ignored: NumPy decides the memory layout.
contiguous_format = _Named("contiguous_format")
preserve_format = _Named("preserve_format")
channels_last = _Named("channels_last")
channels_last_3d = _Named("channels_last_3d")
strided = _Named("strided")


def set_default_tensor_type(t):
    """Set the default float dtype from a legacy tensor type.

    Set the default float dtype from a legacy tensor type (``pynn.DoubleTensor``) or its name
    (``"torch.FloatTensor"``), as the deprecated ``torch.set_default_tensor_type``.

    Parameters
    ----------
    t : str or type
    """
    if isinstance(t, str):
        name = t.rsplit(".", 1)[-1]
        t = {"FloatTensor": float32, "DoubleTensor": float64, "HalfTensor": float16}.get(name)
        if t is None:
            raise TypeError(f"set_default_tensor_type: unknown type {name!r}")
    set_default_dtype(getattr(t, "_pynn_dtype", t))

