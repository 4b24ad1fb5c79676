"""What loading a file may cost: a budget of inflated bytes, and the checks on zip members that
every reader of a zip-based format (pynn's ``.npz``, PyTorch's checkpoints) shares."""

import ast
import zipfile

import numpy as np

__all__ = ["Budget", "check_max_bytes", "check_members", "default_limit", "file_size",
           "read_npy_header"]

# The default limit on what a file's arrays may inflate to: a file stored without compression
# (what pynn.save and torch.save write by default) never comes near it; a compressed one of
# real weights neither (they compress by less than 2x); only a file compressed at ratios that
# mean long runs of one value, or a hostile one, reaches it.
_RATIO = 32
_FLOOR = 64 << 20


def default_limit(file_size):
    """The bytes a file of ``file_size`` bytes may inflate to by default."""
    return _FLOOR + _RATIO * file_size


def check_max_bytes(max_bytes, who):
    """Refuse a ``max_bytes=`` argument that is not None or a number >= 0."""
    if max_bytes is not None and (isinstance(max_bytes, bool)
                                  or not isinstance(max_bytes, (int, float))
                                  or not max_bytes >= 0):
        raise ValueError(f"{who}: max_bytes must be a number of bytes >= 0 (or None for the "
                         f"default), got {max_bytes!r}")


def file_size(fileobj):
    """The size of a seekable file object from its current position on (which is kept)."""
    start = fileobj.tell()
    try:
        return fileobj.seek(0, 2) - start
    finally:
        fileobj.seek(start)


class Budget:
    """The bytes still allowed to be inflated while loading one file.

    Parameters
    ----------
    source : str
        The file's name, for the error.
    limit : int or float
        The most bytes; ``float("inf")`` for none.
    error : type
        The exception raised (a ValueError subclass).
    explicit : bool
        Whether the caller chose ``limit`` (``max_bytes=``) rather than the default.
    """

    def __init__(self, source, limit, error=ValueError, explicit=False):
        self.source, self.limit, self.error, self.explicit = source, limit, error, explicit
        self.used = 0

    def take(self, nbytes, what):
        """Count ``nbytes`` more, or raise naming ``what`` when they pass the limit."""
        self.used += nbytes
        if self.used > self.limit:
            chosen = ("max_bytes" if self.explicit
                      else f"the default limit ({_RATIO} times the file's size + "
                           f"{_FLOOR >> 20} MiB)")
            raise self.error(
                f"{self.source}: loading {what} would take the arrays past {self.limit:.0f} "
                f"bytes ({chosen}); a file this small only inflates that much when it is "
                f"compressed at an extreme ratio or built to exhaust memory. If you trust it, "
                f"load it with a larger max_bytes= (float('inf') for no limit)")


def check_members(zf, source, error=ValueError):
    """Refuse an archive whose members are ambiguous (a name twice) or stored in a way pynn and
    PyTorch never write (encrypted; compressed other than by deflate, whose inflating zipfile
    cannot bound)."""
    seen = set()
    for info in zf.infolist():
        if info.filename in seen:
            raise error(f"{source}: the archive holds two members named {info.filename!r}; "
                        f"it is ambiguous which one is meant (a damaged or edited file)")
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise error(f"{source}: the member {info.filename!r} is encrypted, which pynn "
                        f"and PyTorch never write")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"{source}: the member {info.filename!r} uses zip compression method "
                        f"{info.compress_type}; only stored and deflated members are read")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise error(f"{source}: the member {info.filename!r} claims {info.file_size} "
                        f"bytes but stores {info.compress_size}: the file is corrupt")


_MAX_HEADER = 1 << 16


def read_npy_header(member, declared_size):
    """``(dtype, shape, fortran_order, data_bytes)`` of the ``.npy`` stream ``member`` whose
    whole size is ``declared_size``, read up to its data; ``ValueError`` (without the file's
    name) for anything that is not a valid header agreeing with that size."""
    magic = member.read(8)
    if len(magic) != 8 or magic[:6] != np.lib.format.MAGIC_PREFIX:
        raise ValueError("not a .npy array (bad magic)")
    major = magic[6]
    if major not in (1, 2, 3) or magic[7] != 0:
        raise ValueError(f"unknown .npy format version {major}.{magic[7]}")
    width = 2 if major == 1 else 4
    length = int.from_bytes(member.read(width), "little")
    if length > _MAX_HEADER:
        raise ValueError(f"a .npy header of {length} bytes")
    raw = member.read(length)
    if len(raw) != length:
        raise ValueError("truncated .npy header")
    try:
        text = raw.decode("utf-8" if major == 3 else "latin-1")
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            UnicodeDecodeError):
        raise ValueError(f"unreadable .npy header {raw[:60]!r}") from None
    if not (isinstance(header, dict) and set(header) == {"descr", "fortran_order", "shape"}):
        raise ValueError(f"bad .npy header {str(header)[:80]}")
    shape, fortran = header["shape"], header["fortran_order"]
    if not (isinstance(shape, tuple) and len(shape) <= 64
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
        raise ValueError(f"bad .npy shape {str(shape)[:80]}")
    if not isinstance(fortran, bool):
        raise ValueError(f"bad .npy fortran_order {fortran!r}")  # noqa: TRY004 (file content)
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except Exception as exc:  # noqa: BLE001 (numpy's many ways of refusing a descr)
        raise ValueError(f"bad .npy dtype {str(header['descr'])[:80]} ({exc})") from None
    count = 1
    for n in shape:
        count *= n
    if count and not dtype.itemsize:
        raise ValueError(f"{count} elements of the empty dtype {dtype}")
    nbytes = count * dtype.itemsize
    data_bytes = declared_size - (8 + width + length)
    if not dtype.hasobject and nbytes != data_bytes:
        raise ValueError(f"its header declares {shape} {dtype} ({nbytes} bytes) but it holds "
                         f"{data_bytes} bytes of data")
    return dtype, shape, fortran, nbytes
