"""Reading the zip checkpoints that ``torch.save`` writes, without PyTorch and without running
any code the file names.

A PyTorch (1.6 or later) checkpoint is a zip archive whose records sit under one folder
(``<name>/``): ``data.pkl``, a pickle of the saved object in which every tensor is a call to a
``torch._utils._rebuild_tensor_*`` function on a *persistent id* ``("storage", <storage
type>, <key>, <location>, <numel>)``; ``data/<key>``, the raw bytes of each storage; and
``byteorder`` (``little`` or ``big``). The pickle is read by a ``pickle.Unpickler`` whose
``find_class`` maps the names PyTorch's ``weights_only=True`` admits onto pynn's own
NumPy-based stand-ins and refuses every other name before anything is called; tensors become
strided NumPy views of their storage, so views and tensors that share a storage share memory
here too.
"""

import collections
import contextvars
import io
import os
import pickle
import pickletools
import warnings
import zipfile
import zlib

import numpy as np

from ._errors import CheckpointError, UnsafeCheckpointError
from ._limits import Budget, check_max_bytes, check_members, default_limit, file_size

# the Budget of the load in progress: what the pickle makes beyond its records (converted
# tensors, byte strings built by calls) counts against it
_BUDGET = contextvars.ContextVar("pynn_torch_budget", default=None)


def _charge(nbytes, what):
    budget = _BUDGET.get()
    if budget is not None:
        budget.take(nbytes, what)

__all__ = ["load_torch"]


# ---------------------------------------------------------------------------------- dtypes
def _minifloat_table(exp_bits, man_bits, bias, ieee_inf):
    """float32 value of each of the 256 codes of an 8-bit float (sign, exponent, mantissa)."""
    codes = np.arange(256)
    sign = np.where(codes >> 7, -1.0, 1.0)
    exp = (codes >> man_bits) & ((1 << exp_bits) - 1)
    man = codes & ((1 << man_bits) - 1)
    frac = man / float(1 << man_bits)
    with np.errstate(over="ignore"):
        values = np.where(exp == 0, frac * 2.0 ** (1 - bias), (1 + frac) * 2.0 ** (exp - bias))
    top = exp == (1 << exp_bits) - 1
    if ieee_inf:  # e5m2: IEEE-like, the top exponent is inf (mantissa 0) or NaN
        values = np.where(top & (man == 0), np.inf, values)
        values = np.where(top & (man != 0), np.nan, values)
    else:  # e4m3fn: no infinities, only the all-ones code is NaN
        values = np.where(top & (man == (1 << man_bits) - 1), np.nan, values)
    return (sign * values).astype(np.float32)


def _bfloat16_to_float32(raw):
    # bfloat16 is the top half of a float32: shifting its bits up gives the exact value.
    return (raw.astype(np.uint32) << 16).view(np.float32)


_F8_E4M3FN = _minifloat_table(4, 3, 7, ieee_inf=False)
_F8_E5M2 = _minifloat_table(5, 2, 15, ieee_inf=True)

# torch dtype name -> (NumPy dtype of the stored bytes, conversion to what pynn keeps or None)
_DTYPES = {
    "float32": (np.float32, None),
    "float64": (np.float64, None),
    "float16": (np.float16, None),
    "bfloat16": (np.uint16, _bfloat16_to_float32),
    "float8_e4m3fn": (np.uint8, _F8_E4M3FN.__getitem__),
    "float8_e5m2": (np.uint8, _F8_E5M2.__getitem__),
    "complex64": (np.complex64, None),
    "complex128": (np.complex128, None),
    "int8": (np.int8, None),
    "int16": (np.int16, None),
    "int32": (np.int32, None),
    "int64": (np.int64, None),
    "uint8": (np.uint8, None),
    "uint16": (np.uint16, None),
    "uint32": (np.uint32, None),
    "uint64": (np.uint64, None),
    "bool": (np.bool_, None),
}
# dtypes PyTorch writes that pynn has no equivalent for (an error names them when used)
_UNSUPPORTED_DTYPES = (
    "complex32", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
    "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2",
    "bits8", "bits16", *(f"uint{n}" for n in range(1, 8)), *(f"int{n}" for n in range(1, 8)),
)

# the legacy typed storage classes and the dtype of their elements
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
_QUANTIZED_STORAGES = ("QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
                       "QUInt2x4Storage")


class _TorchDtype:
    """Stand-in for a ``torch.<dtype>`` global: its name. A pynn dtype in the result."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __setstate__(self, state):
        raise _Failure(f"the pickle sets the state of torch.{self.name}, which checkpoints "
                       f"never do")


# --------------------------------------------------------------- what the pickle may build
class _Failure(Exception):
    """Raised by the stand-ins on arguments the format never produces; becomes an error
    naming the file."""


class _Frozen:
    """Base of the stand-ins ``find_class`` hands out. They are shared by every load, so a
    file must not change them: pickle's BUILD calls ``__setstate__``, which refuses, and
    there is no ``__dict__`` to write into."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Failure(f"the pickle sets the state of {self!r}, which checkpoints never do")


class _Global(_Frozen):
    """An admitted global that is a function: ours, under the name the pickle uses."""

    __slots__ = ("fn", "name")

    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return self.name


class _StorageType(_Frozen):
    """Stand-in for a storage class (``torch.FloatStorage``, ``torch.storage.UntypedStorage``)."""

    __slots__ = ("dtype_name", "name")

    def __init__(self, name, dtype_name):
        self.name = name
        self.dtype_name = dtype_name  # None: untyped (bytes); the tensor gives its dtype

    def __call__(self, *args, **kwargs):
        raise _Failure(f"the pickle calls the storage class {self.name}, which checkpoints "
                       f"never do")

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage:
    """One storage record: its elements as a flat ndarray of the stored dtype."""

    __slots__ = ("array", "dtype_name", "key")

    def __init__(self, key, dtype_name, array):
        self.key, self.dtype_name, self.array = key, dtype_name, array

    def __setstate__(self, state):
        raise _Failure("the pickle sets the state of a storage, which checkpoints never do")


class _TensorRecord:
    """A rebuilt tensor (its ndarray) until the loaded structure is finished."""

    __slots__ = ("array", "parameter", "requires_grad")

    def __init__(self, array, requires_grad, parameter=False):
        self.array, self.requires_grad, self.parameter = array, requires_grad, parameter

    def __setstate__(self, state):
        raise _Failure("the pickle sets the state of a tensor, which checkpoints never do")


class _ClassMarker(_Frozen):
    """Stand-in for ``torch.Tensor`` / ``torch.nn.Parameter`` as the type argument of
    ``_rebuild_from_type_v2``; calling it is refused."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise _Failure(f"the pickle calls {self.name} directly, which checkpoints never do")

    def __repr__(self):
        return self.name


_TENSOR_CLASS = _ClassMarker("torch.Tensor")
_PARAMETER_CLASS = _ClassMarker("torch.nn.parameter.Parameter")


class _OrderedDict(collections.OrderedDict):
    """``collections.OrderedDict`` as the pickle builds it; only the ``_metadata`` attribute
    that ``state_dict()`` attaches may be set on it. Replaced by a plain OrderedDict at the end."""

    def __setstate__(self, state):
        if not (isinstance(state, dict) and set(state) <= {"_metadata"}):
            raise _Failure("the pickle sets attributes other than '_metadata' on an OrderedDict")
        self.__dict__.update(state)


class _Counter(collections.Counter):
    def __setstate__(self, state):
        raise _Failure("the pickle sets the state of a Counter, which checkpoints never do")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _int_tuple(x, what):
    if not (isinstance(x, tuple) and all(_is_int(v) for v in x)):
        raise _Failure(f"a tensor's {what} is {x!r}, not a tuple of ints")
    return x


def _strided(storage, offset, size, stride, dtype_name):
    """The ndarray a tensor of ``size``/``stride`` at ``offset`` of ``storage`` sees (shared
    memory), converted to what pynn keeps for its dtype."""
    if dtype_name not in _DTYPES:
        raise CheckpointError(f"a tensor has dtype torch.{dtype_name}, which pynn has no "
                              f"equivalent for")
    if not isinstance(storage, _Storage):
        raise _Failure(f"a tensor is rebuilt from a {type(storage).__name__}, not a storage")
    if not _is_int(offset) or offset < 0:
        raise _Failure(f"bad storage offset {offset!r}")
    size = _int_tuple(size, "size")
    stride = _int_tuple(stride, "stride")
    if len(size) != len(stride) or any(v < 0 for v in size + stride):
        raise _Failure(f"bad size {size} / stride {stride}")
    raw_dtype, convert = _DTYPES[dtype_name]
    if convert is not None:  # a new float32 array, as large as the view (strides may be 0)
        count = 1
        for n in size:
            count *= n
        _charge(4 * count, f"a {dtype_name} tensor of size {size} as float32")
    flat = storage.array
    if storage.dtype_name is None:  # untyped: bytes, read as the tensor's dtype
        usable = flat.size - flat.size % np.dtype(raw_dtype).itemsize
        flat = flat[:usable].view(raw_dtype)
    elif storage.dtype_name != dtype_name:
        raise _Failure(f"a {dtype_name} tensor on a {storage.dtype_name} storage")
    if 0 in size:
        view = np.zeros(size, raw_dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise CheckpointError(f"a tensor of size {size} and stride {stride} at offset "
                                  f"{offset} reaches past its storage of {flat.size} "
                                  f"elements (record data/{storage.key}): the file is corrupt")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                               strides=tuple(s * item for s in stride))
    return view if convert is None else np.asarray(convert(view))  # 0-d: not a scalar


def _requires_grad(flag):
    if not isinstance(flag, bool):
        raise _Failure(f"requires_grad is {flag!r}, not a bool")
    return flag


def _rebuild_tensor(storage, storage_offset, size, stride):
    if not isinstance(storage, _Storage) or storage.dtype_name is None:
        raise _Failure("_rebuild_tensor without a typed storage")
    return _TensorRecord(_strided(storage, storage_offset, size, stride, storage.dtype_name),
                         False)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    if not isinstance(storage, _Storage) or storage.dtype_name is None:
        raise _Failure("_rebuild_tensor_v2 without a typed storage")
    array = _strided(storage, storage_offset, size, stride, storage.dtype_name)
    return _TensorRecord(array, _requires_grad(requires_grad))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    if not isinstance(dtype, _TorchDtype):
        raise _Failure(f"_rebuild_tensor_v3 with dtype {dtype!r}")
    array = _strided(storage, storage_offset, size, stride, dtype.name)
    return _TensorRecord(array, _requires_grad(requires_grad))


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _TensorRecord):
        raise _Failure(f"a Parameter rebuilt from a {type(data).__name__}")
    return _TensorRecord(data.array, _requires_grad(requires_grad), parameter=True)


def _rebuild_from_type_v2(func, new_type, args, state):
    if not (isinstance(func, _Global) and func.fn in (
            _rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter)):
        raise _Failure(f"_rebuild_from_type_v2 with function {func!r}")
    if new_type not in (_TENSOR_CLASS, _PARAMETER_CLASS) or not isinstance(args, tuple):
        raise _Failure(f"_rebuild_from_type_v2 with type {new_type!r}")
    record = func(*args)
    if new_type is _PARAMETER_CLASS:
        record.parameter = True
    return record


def _unsupported(kind):
    def rebuild(*args, **kwargs):
        raise CheckpointError(f"the checkpoint holds {kind}, which pynn does not support "
                              f"(convert them to dense CPU tensors in PyTorch before saving)")
    return rebuild


def _size(values=()):
    from ..tensor import Size

    return Size(_int_tuple(tuple(values), "torch.Size"))


def _device(kind, index=None):
    from .._device import device

    if not isinstance(kind, str) or not (index is None or _is_int(index)):
        raise _Failure(f"torch.device({kind!r}, {index!r})")
    return device(kind if index is None else f"{kind}:{index}")


def _encode(text, encoding="latin1"):
    # protocol 2 pickles bytes objects as _codecs.encode(<latin-1 text>, "latin1")
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Failure(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    _charge(len(text), "a byte string")  # each call copies: a pickle may repeat it
    return text.encode("latin-1")


def _bytearray(data=b""):
    if not isinstance(data, (bytes, bytearray)):
        raise _Failure(f"bytearray({type(data).__name__})")
    _charge(len(data), "a bytearray")
    return bytearray(data)


def _complex(real=0.0, imag=0.0):
    if not all(isinstance(v, (int, float, str)) for v in (real, imag)):
        raise _Failure("complex() of non-numbers")
    return complex(real, imag)


def _set(items=()):
    return set(items)


def _layout(name):
    if not isinstance(name, str):
        raise _Failure("_get_layout of a non-string")
    return name


def _allowed_globals():
    table = {
        "collections.OrderedDict": _OrderedDict,
        "collections.Counter": _Counter,
        "torch.nn.parameter.Parameter": _PARAMETER_CLASS,
        "torch.Tensor": _TENSOR_CLASS,
        "torch.Size": _size,
        "torch.device": _device,
        "torch.serialization._get_layout": _layout,
        "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray,
        "builtins.set": _set,
        "builtins.complex": _complex,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch._utils._rebuild_sparse_tensor": _unsupported("sparse tensors"),
        "torch._utils._rebuild_nested_tensor": _unsupported("nested tensors"),
        "torch._utils._rebuild_qtensor": _unsupported("quantized tensors"),
        "torch._utils._rebuild_meta_tensor_no_storage": _unsupported("meta tensors"),
        "torch._utils._rebuild_wrapper_subclass": _unsupported("tensor subclasses"),
        "torch._utils._rebuild_device_tensor_from_numpy": _unsupported("device tensors"),
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": _unsupported("device tensors"),
        "torch.storage.UntypedStorage": _StorageType("UntypedStorage", None),
    }
    for name, value in table.items():
        if callable(value) and not isinstance(value, (type, _Frozen)):
            table[name] = _Global(name, value)
    for name in list(_DTYPES) + list(_UNSUPPORTED_DTYPES):
        table[f"torch.{name}"] = _TorchDtype(name)
    for cls, dtype_name in _STORAGE_DTYPES.items():
        table[f"torch.{cls}"] = _StorageType(cls, dtype_name)
    for cls in _QUANTIZED_STORAGES:
        table[f"torch.{cls}"] = _StorageType(cls, "unsupported")
    return table


_ALLOWED = None


# ---------------------------------------------------------------------------- the unpickler
class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only :func:`_allowed_globals`; ``persistent_load`` reads storage records."""

    def __init__(self, file, reader, source):
        super().__init__(file)
        self._reader = reader
        self._source = source
        self._storages = {}

    def find_class(self, module, name):
        global _ALLOWED
        if _ALLOWED is None:
            _ALLOWED = _allowed_globals()
        if module == "__builtin__":  # protocol 2 written by Python 2
            module = "builtins"
        full = f"{module}.{name}"
        found = _ALLOWED.get(full)
        if found is None:
            raise UnsafeCheckpointError(
                f"{self._source}: refused to load the global {full!r}: a PyTorch checkpoint "
                f"may only name tensor, storage, dtype and container types (what "
                f"torch.load(weights_only=True) admits); nothing from the file was run")
        return found

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _Failure(f"unknown persistent id {str(pid)[:80]}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) \
                or not _is_int(numel) or numel < 0:
            raise _Failure(f"bad storage reference {str(pid)[:80]}")
        if storage_type.dtype_name == "unsupported":
            raise CheckpointError(f"{self._source}: the checkpoint holds quantized tensors "
                                  f"({storage_type.name}), which pynn does not support")
        found = self._storages.get(key)
        if found is None:
            found = self._reader(key, storage_type.dtype_name, numel)
            self._storages[key] = found
        return found


# ------------------------------------------------------------------------------ finishing
def _finish(root, source):
    """Replace the stand-ins by pynn objects (Tensors, Parameters, plain OrderedDicts), keeping
    shared objects shared; anything else the pickle left in the structure is refused."""
    from .. import _device, _dtype
    from ..nn.parameter import Parameter
    from ..tensor import Size, _wrap

    plain = (str, int, float, complex, bool, bytes, bytearray, type(None), Size,
             _device.device, _dtype.dtype)
    memo = {}

    def tensor(record):
        array = record.array
        grad = record.requires_grad and array.dtype.kind in "fc"
        if record.parameter:
            return Parameter(array, requires_grad=grad)
        return _wrap(array, None).requires_grad_(grad)

    def conv(obj):
        if isinstance(obj, plain):
            return obj
        key = id(obj)
        if key in memo:
            return memo[key]
        kind = type(obj)
        if kind is _TensorRecord:
            out = memo[key] = tensor(obj)
        elif kind in (dict, _OrderedDict, _Counter):
            out = memo[key] = {dict: dict, _OrderedDict: collections.OrderedDict,
                               _Counter: collections.Counter}[kind]()
            for k, v in obj.items():
                out[conv(k)] = conv(v)
            extra = getattr(obj, "__dict__", {})
            if "_metadata" in extra:
                out._metadata = conv(extra["_metadata"])
        elif kind is list:
            out = memo[key] = []
            out.extend(conv(v) for v in obj)
        elif kind is tuple:
            out = memo[key] = tuple(conv(v) for v in obj)
        elif kind in (set, frozenset):
            out = memo[key] = kind(conv(v) for v in obj)
        elif kind is _Storage:
            raise CheckpointError(f"{source}: the checkpoint holds a bare storage "
                                  f"(record data/{obj.key}); pynn loads tensors, not storages")
        elif kind is _TorchDtype:
            out = memo[key] = _dtype._BY_NAME.get(obj.name)
            if out is None:
                raise CheckpointError(f"{source}: the checkpoint holds the dtype "
                                      f"torch.{obj.name}, which pynn has no equivalent for")
        else:
            what = (f"the global {obj!r}" if isinstance(obj, _Frozen)
                    else f"a {kind.__name__} object")
            raise UnsafeCheckpointError(
                f"{source}: the pickle leaves {what} in the loaded data, where checkpoints "
                f"hold tensors, numbers, strings and containers")
        return out

    try:
        return conv(root)
    except RecursionError:
        raise CheckpointError(f"{source}: the saved structure is nested too deeply") from None


# ------------------------------------------------------------------------------ the archive
_PICKLE_MAGIC = b"\x80"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def _open_archive(fileobj, source):
    start = fileobj.tell()
    head = fileobj.read(len(_LEGACY_MAGIC))
    fileobj.seek(start)
    if not head:
        raise CheckpointError(f"{source}: not a PyTorch checkpoint: the file is empty")
    if head[:2] != b"PK":
        if head.startswith(_LEGACY_MAGIC) or head[:1] == _PICKLE_MAGIC:
            raise CheckpointError(
                f"{source}: a PyTorch checkpoint in the legacy (non-zip) format, written by "
                f"PyTorch before 1.6 or with _use_new_zipfile_serialization=False; pynn reads "
                f"only the zip format: re-save it with a current PyTorch "
                f"(torch.save(torch.load(path), path))")
        raise CheckpointError(f"{source}: not a PyTorch checkpoint (not a zip archive; it "
                              f"starts with {head[:8]!r})")
    try:
        zf = zipfile.ZipFile(fileobj, "r")
    except Exception as exc:  # noqa: BLE001 (zipfile's many ways of failing on a bad directory)
        raise CheckpointError(f"{source}: truncated or corrupt zip archive "
                              f"({type(exc).__name__}: {exc})") from None
    try:
        check_members(zf, source, CheckpointError)
    except BaseException:
        zf.close()
        raise
    return zf


def _find_prefix(zf, source):
    names = zf.namelist()
    pickles = [n[:-len("data.pkl")] for n in names
               if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        if any(n.endswith(".npy") for n in names):
            raise CheckpointError(f"{source}: a NumPy/pynn .npz archive, not a PyTorch "
                                  f"checkpoint; load it with pynn.load")
        raise CheckpointError(f"{source}: not a PyTorch checkpoint (a zip archive without "
                              f"exactly one '<name>/data.pkl' record)")
    prefix = pickles[0]
    if any(n.startswith(prefix + "code/") for n in names) or prefix + "constants.pkl" in names:
        raise CheckpointError(f"{source}: a TorchScript archive (torch.jit.save), which pynn "
                              f"does not load; save the model's state_dict() with torch.save")
    return prefix


def _read_record(zf, name, source, budget, size=None):
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise CheckpointError(f"{source}: the checkpoint refers to the record {name!r}, which "
                              f"is absent from the archive (damaged or edited file)") from None
    if size is not None and info.file_size < size:
        raise CheckpointError(f"{source}: the record {name!r} holds {info.file_size} bytes; "
                              f"its storage needs {size}: the file is corrupt")
    budget.take(info.file_size, f"the record {name!r} ({info.file_size} bytes)")
    try:
        buf = bytearray(info.file_size)
        with zf.open(info) as member:
            got = member.readinto(buf)
            if got != info.file_size:
                raise EOFError(f"read {got} of {info.file_size} bytes")
            return buf
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError) as exc:
        raise CheckpointError(f"{source}: the record {name!r} is truncated or corrupt "
                              f"({exc})") from None
    except Exception as exc:  # noqa: BLE001 (whatever else zipfile raises on a bad member)
        raise CheckpointError(f"{source}: the record {name!r} is corrupt "
                              f"({type(exc).__name__}: {exc})") from None


def _load_archive(fileobj, source, max_bytes=None):
    limit = default_limit(file_size(fileobj)) if max_bytes is None else max_bytes
    budget = Budget(source, limit, CheckpointError, explicit=max_bytes is not None)
    token = _BUDGET.set(budget)
    try:
        return _load_archive_within(fileobj, source, budget)
    finally:
        _BUDGET.reset(token)


def _load_archive_within(fileobj, source, budget):
    with _open_archive(fileobj, source) as zf:
        prefix = _find_prefix(zf, source)
        byteorder = "little"
        if prefix + "byteorder" in zf.namelist():
            byteorder = bytes(_read_record(zf, prefix + "byteorder", source, budget)).decode(
                "ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointError(f"{source}: unknown byteorder record {byteorder!r}")

        def read_storage(key, dtype_name, numel):
            raw_dtype = np.dtype(np.uint8 if dtype_name is None else _DTYPES[dtype_name][0])
            buf = _read_record(zf, f"{prefix}data/{key}", source, budget,
                               numel * raw_dtype.itemsize)
            array = np.frombuffer(buf, raw_dtype, count=numel)
            if byteorder != _native_order and raw_dtype.itemsize > 1:
                array.byteswap(inplace=True)
            return _Storage(key, dtype_name, array)

        data = _read_record(zf, prefix + "data.pkl", source, budget)
        _check_opcodes(data, source, prefix + "data.pkl")
        unpickler = _RestrictedUnpickler(io.BytesIO(data), read_storage, source)
        try:
            obj = unpickler.load()
        except CheckpointError as exc:
            message = str(exc)
            if message.startswith(source):
                raise
            raise type(exc)(f"{source}: {message}") from None
        except _Failure as exc:
            raise UnsafeCheckpointError(f"{source}: refused: {exc}") from None
        except Exception as exc:  # noqa: BLE001  (whatever a damaged pickle makes it raise)
            raise CheckpointError(f"{source}: the pickle record {prefix}data.pkl is corrupt "
                                  f"({type(exc).__name__}: {exc})") from None
    return _finish(obj, source)


_native_order = "little" if np.little_endian else "big"

_MEMO_OPS = ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET")


def _check_opcodes(data, source, name):
    """Walk the pickle's opcodes (pure Python, allocating nothing a count declares) before the
    C unpickler runs: it allocates what a count in the file says before checking there is that
    much, a memo as large as an index (up to 2**32 entries: 32 GiB) or a byte string as long
    as its length."""
    try:
        with warnings.catch_warnings():  # a bad escape in a STRING argument: an error below
            warnings.simplefilter("ignore", DeprecationWarning)
            for count, (op, arg, _) in enumerate(pickletools.genops(io.BytesIO(data)), 1):
                if op.name in _MEMO_OPS and not (isinstance(arg, int) and 0 <= arg <= count):
                    raise _Failure(f"memo index {str(arg)[:40]} at opcode {count}")
    except _Failure as exc:
        raise CheckpointError(f"{source}: the pickle record {name} is corrupt ({exc}; a "
                              f"pickler numbers its memo from 0)") from None
    except Exception as exc:  # noqa: BLE001 (pickletools' ways of refusing a damaged stream)
        raise CheckpointError(f"{source}: the pickle record {name} is corrupt "
                              f"({type(exc).__name__}: {exc})") from None


def load_torch(f, *, max_bytes=None):
    """Load a checkpoint written by ``torch.save``, without PyTorch and without running code.

    The zip format of PyTorch 1.6 and later.

    What ``torch.load(f, weights_only=True)`` accepts loads: a ``state_dict``, or a checkpoint
    dict of state dicts, numbers, strings, bytes, lists, tuples, sets, (Ordered)dicts,
    ``torch.Size``, ``torch.device`` and dtypes, with tensors anywhere. Tensors saved on a GPU
    load onto the CPU.

    Parameters
    ----------
    f : str, PathLike or readable binary file object
    max_bytes : int or float, optional, keyword-only
        The most bytes the checkpoint may take in memory while loading: its records as the
        archive declares them (checked before each is read), bfloat16 and float8 tensors
        widened to float32, byte strings the pickle builds. Default: 32 times the file's
        size plus 64 MiB, which a checkpoint ``torch.save`` wrote never reaches. Raise it
        for a file you trust (``float("inf")``: no limit).

    Returns
    -------
    object
        The saved structure, with a :class:`pynn.Tensor` for each tensor (a
        :class:`pynn.nn.Parameter` for each ``nn.Parameter``) of the same shape and dtype,
        except that bfloat16 and float8 (``e4m3fn``, ``e5m2``) tensors become float32 (exact;
        NumPy has no such dtypes). Tensors that shared a storage in PyTorch share memory
        here (views keep their strides), so a tensor saved twice loads as one object.
        ``OrderedDict`` stays ``OrderedDict``; ``torch.Size``, ``torch.device`` and dtypes
        become pynn's. Feed a loaded state dict to ``model.load_state_dict``: pynn modules use
        PyTorch's parameter names and shapes.

    Raises
    ------
    UnsafeCheckpointError
        The pickle names a global outside the allow-list (``os.system``, a model class, a
        NumPy function ...) or uses an admitted one in a way ``torch.save`` never does; the
        message names the global. Raised by ``find_class`` itself, before anything is
        called. It is a ``pickle.UnpicklingError`` (as PyTorch raises) and a
        :class:`CheckpointError`.
    CheckpointError
        (a ``ValueError``) Not a zip archive, a truncated or corrupt one, a record missing
        or too short, a legacy non-zip PyTorch file (re-save it with a current PyTorch), a
        TorchScript archive, or tensors pynn does not support (sparse, quantized, nested,
        unsupported dtypes); an ambiguous archive (two records of one name), encrypted
        records or compression other than deflate; more memory than ``max_bytes``. The
        message names the file.
    FileNotFoundError
        No such file.
    """
    check_max_bytes(max_bytes, "load_torch")
    if hasattr(f, "read"):
        source = getattr(f, "name", None) or "<file object>"
        try:
            seekable = f.seekable()
        except AttributeError:
            seekable = False
        return _load_archive(f if seekable else io.BytesIO(f.read()), str(source), max_bytes)
    source = os.fspath(f)
    with open(source, "rb") as fh:
        return _load_archive(fh, str(source), max_bytes)
