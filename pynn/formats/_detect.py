"""Telling the formats apart by their first bytes, so that one ``load`` can read them all."""

import os
import zipfile

from ._torch import _LEGACY_MAGIC

__all__ = ["detect_format"]

_PYNN_META = "pynn:meta.npy"


def _kind_of(fileobj):
    head = fileobj.read(9)
    if head[:2] == b"PK":
        fileobj.seek(0)
        try:
            names = zipfile.ZipFile(fileobj).namelist()
        except Exception:  # noqa: BLE001 (too damaged to tell: the reader will say why)
            return None
        if _PYNN_META in names:
            return "pynn"
        if any(n.endswith("/data.pkl") and n.count("/") == 1 for n in names):
            return "torch"
        return None
    if head.startswith(_LEGACY_MAGIC[:2]):  # a pickle: PyTorch's legacy format
        return "torch"
    if len(head) == 9 and head[8:9] == b"{":
        # safetensors: an 8-byte little-endian header length, then the JSON header
        size = int.from_bytes(head[:8], "little")
        fileobj.seek(0, os.SEEK_END)
        if 2 <= size <= fileobj.tell() - 8:
            return "safetensors"
    return None


def detect_format(f):
    """Which format a file is in, from its content (never its name).

    Parameters
    ----------
    f : str, PathLike or readable, seekable binary file object
        A file object is read from its current position, which is restored.

    Returns
    -------
    {"pynn", "torch", "safetensors"} or None
        ``"pynn"``: written by :func:`pynn.save` (read it with :func:`pynn.load`);
        ``"torch"``: written by ``torch.save``, zip or legacy (:func:`load_torch`, which
        explains that legacy files must be re-saved); ``"safetensors"``
        (:func:`load_safetensors`); None: none of these, or too damaged to tell.
    """
    if hasattr(f, "read"):
        start = f.tell()
        try:
            return _kind_of(_Window(f, start))
        finally:
            f.seek(start)
    with open(os.fspath(f), "rb") as fh:
        return _kind_of(fh)


class _Window:
    """A file object seen from ``start`` on (a checkpoint inside a larger stream)."""

    def __init__(self, f, start):
        self._f, self._start = f, start

    def read(self, n=-1):
        return self._f.read(n)

    def seek(self, offset, whence=os.SEEK_SET):
        if whence == os.SEEK_SET:
            offset += self._start
        return self._f.seek(offset, whence) - self._start

    def tell(self):
        return self._f.tell() - self._start

    def seekable(self):
        return True
