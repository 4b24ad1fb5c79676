"""safetensors files through the ``safetensors`` package's NumPy API (an optional extra:
``pip install safetensors``)."""

import json
import os
from collections import OrderedDict

import numpy as np

from ._errors import CheckpointError
from ._torch import _F8_E4M3FN, _F8_E5M2, _bfloat16_to_float32

__all__ = ["load_safetensors", "save_safetensors"]

# what each safetensors dtype code is stored as, and what pynn keeps (None: as stored)
_DTYPES = {
    "F64": (np.float64, None), "F32": (np.float32, None),
    "F16": (np.float16, lambda raw: raw.astype(np.float32)),
    "BF16": (np.uint16, _bfloat16_to_float32),
    "F8_E4M3": (np.uint8, _F8_E4M3FN.__getitem__), "F8_E5M2": (np.uint8, _F8_E5M2.__getitem__),
    "I64": (np.int64, None), "I32": (np.int32, None), "I16": (np.int16, None),
    "I8": (np.int8, None), "U64": (np.uint64, None), "U32": (np.uint32, None),
    "U16": (np.uint16, None), "U8": (np.uint8, None), "BOOL": (np.bool_, None),
    "C64": (np.complex64, None),
}
# codes the package's NumPy API cannot return: their bytes are read through deserialize()
_RAW_ONLY = ("BF16", "F8_E4M3", "F8_E5M2")


def _package():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError("safetensors files need the 'safetensors' package: "
                          "pip install safetensors") from None
    return safetensors


def _array(value, key):
    from ..tensor import Tensor

    if not isinstance(key, str):
        raise TypeError(f"save_safetensors: keys must be str, got {key!r}")
    arr = value._data if isinstance(value, Tensor) else value
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"save_safetensors: {key!r} is a {type(value).__name__}; the values "
                        f"must be Tensors or ndarrays (safetensors holds a flat dict of "
                        f"tensors, such as a state_dict; pynn.save writes nested checkpoints)")
    if arr.dtype.kind not in "biufc" or arr.dtype == np.complex128:
        raise TypeError(f"save_safetensors: {key!r} has dtype {arr.dtype}, which safetensors "
                        f"cannot store")
    return np.ascontiguousarray(arr)


def save_safetensors(tensors, f, metadata=None):
    """Write a flat dict of tensors (a ``state_dict``) to a safetensors file.

    Parameters
    ----------
    tensors : mapping of str -> Tensor or ndarray
        Any shapes; dtypes float64/32/16, int64/32/16/8, uint64/32/16/8, bool, complex64.
        Non-contiguous arrays are written contiguous.
    f : str, PathLike or writable binary file object
        A path is written atomically: to a temporary file in the same directory, fsynced,
        then renamed over ``f``, so a crash or an interrupt never leaves half a file.
    metadata : dict of str -> str, optional
        Free text kept in the file's header (``load_safetensors(..., metadata=True)`` reads it
        back). The format allows only string values.

    Raises
    ------
    TypeError
        A key or metadata entry that is not a str, or a value that is not a Tensor/ndarray of
        a storable dtype.
    ImportError
        The ``safetensors`` package is not installed.
    """
    package = _package()
    if not hasattr(tensors, "items"):
        raise TypeError(f"save_safetensors: expected a dict of tensors, got "
                        f"{type(tensors).__name__}")
    if metadata is not None:
        if not hasattr(metadata, "items") or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("save_safetensors: metadata must be a dict of str -> str")
        metadata = dict(metadata)
    arrays = {key: _array(value, key) for key, value in tensors.items()}
    if hasattr(f, "write"):
        f.write(package.numpy.save(arrays, metadata=metadata))
        return
    from ..serialization import _atomic_write

    _atomic_write(f, lambda out, tmp: package.numpy.save_file(arrays, tmp, metadata=metadata))


def load_safetensors(f, *, metadata=False):
    """Read a safetensors file into a dict of :class:`pynn.Tensor`.

    The file may come from pynn, ``safetensors.torch.save_file``, the Hugging Face Hub ...

    Parameters
    ----------
    f : str, PathLike or readable binary file object
        A path is memory-mapped by the library and each tensor copied out of it.
    metadata : bool, default False
        Also return the header's metadata.

    Returns
    -------
    OrderedDict of str -> Tensor
        Sorted by name (the format keeps no order), each of its shape and dtype, except that
        **bfloat16, float16 and float8 (E4M3, E5M2) tensors become float32**: exactly (every
        such value is a float32), bfloat16 and float8 decoded from their bits as NumPy has no
        such dtypes, float16 widened as pynn computes in float32/64. ``model.load_state_dict``
        takes the dict (and casts to each parameter's dtype).
    dict of str -> str, optional
        The metadata (``{}`` when the file has none), when ``metadata=True``.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) Not a safetensors file, a truncated or corrupt one, an ambiguous
        one (a key repeated in its header), or a dtype pynn has no equivalent for
        (``F8_E8M0``, ``F4`` ...). The message names the file.
    FileNotFoundError
        No such file.
    ImportError
        The ``safetensors`` package is not installed.
    """
    package = _package()
    if hasattr(f, "read"):
        source = str(getattr(f, "name", None) or "<file object>")
        data = f.read()
        _check_header(data[:8], lambda n: data[8:8 + n], source)
        return _finish(_from_bytes(package, data, source), metadata)
    source = os.fspath(f)
    if not os.path.exists(source):
        raise FileNotFoundError(f"No such file: {source!r}")
    with open(source, "rb") as fh:
        _check_header(fh.read(8), fh.read, source)
    try:
        with package.safe_open(source, framework="np") as sf:
            header = sf.metadata() or {}
            kinds = {key: sf.get_slice(key).get_dtype() for key in sorted(sf.keys())}
            _check_kinds(kinds, source)
            out = OrderedDict((key, None if kind in _RAW_ONLY else
                               _convert(kind, np.array(sf.get_tensor(key))))
                              for key, kind in kinds.items())
    except (package.SafetensorError, OSError, ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{source}: not a readable safetensors file ({exc})") from None
    if any(value is None for value in out.values()):
        with open(source, "rb") as fh:
            raw, _ = _from_bytes(package, fh.read(), source)
        out = OrderedDict((key, raw[key] if value is None else value)
                          for key, value in out.items())
    return _finish((out, header), metadata)


# the package refuses larger headers
_MAX_HEADER = 100_000_000


def _no_repeated_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise CheckpointError(f"the key {repeated!r} appears twice in one object of the header "
                              f"(ambiguous: which one is meant?)")
    return dict(pairs)


def _check_header(length_bytes, read, source):
    """Refuse a header whose JSON repeats a key (a tensor or a metadata entry), which the
    package would read as its last occurrence; what else is wrong the package reports."""
    if len(length_bytes) != 8:
        return
    length = int.from_bytes(length_bytes, "little")
    if length > _MAX_HEADER:
        return
    try:
        json.loads(bytes(read(length)).decode("utf-8"), object_pairs_hook=_no_repeated_keys)
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: not a readable safetensors file ({exc})") from None
    except RecursionError:
        raise CheckpointError(f"{source}: not a readable safetensors file (its header is "
                              f"nested too deeply)") from None
    except (ValueError, UnicodeDecodeError):
        pass  # not JSON: the package says so


def _check_kinds(kinds, source):
    for key, kind in kinds.items():
        if kind not in _DTYPES:
            raise CheckpointError(f"{source}: tensor {key!r} has dtype {kind}, which pynn has "
                                  f"no equivalent for")


def _convert(kind, arr):
    convert = _DTYPES[kind][1]
    return arr if convert is None else np.asarray(convert(arr))  # 0-d: not a scalar


def _from_bytes(package, data, source):
    """(arrays, metadata) of a whole file's bytes, parsed by the package."""
    try:
        entries = package.deserialize(bytes(data))
        # deserialize() does not return the header's metadata: read it from the header,
        # which the call above has just validated (8-byte little-endian length, then JSON)
        length = int.from_bytes(data[:8], "little")
        header = json.loads(bytes(data[8:8 + length]).decode("utf-8")).get("__metadata__")
    except (package.SafetensorError, ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{source}: not a readable safetensors file ({exc})") from None
    _check_kinds({key: info["dtype"] for key, info in entries}, source)
    out = OrderedDict()
    for key, info in sorted(entries, key=lambda entry: entry[0]):
        raw_dtype = _DTYPES[info["dtype"]][0]
        arr = np.frombuffer(info["data"], raw_dtype).reshape(info["shape"])
        out[key] = np.array(_convert(info["dtype"], arr))
    return out, header or {}


def _finish(loaded, metadata):
    from ..tensor import _wrap

    out, header = loaded
    tensors = OrderedDict((key, _wrap(arr, None)) for key, arr in out.items())
    return (tensors, dict(header)) if metadata else tensors
