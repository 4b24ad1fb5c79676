"""MNIST from the original IDX files (LeCun et al.), with a checked parser and download.

Files are looked up under a root directory: the ``root`` argument, else the environment
variable ``PYNN_DATA_DIR``, else ``~/.pynn/data``; each file as ``root/mnist/<name>`` or
``root/<name>``, gzip-compressed (``<name>.gz``) or raw. Missing files are downloaded to
``root/mnist/`` (only then), checked against their MD5 and written atomically, with a
progress bar on standard error when it is a terminal (none under CI or in a log file).
"""

import gzip
import hashlib
import os
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .dataset import Dataset, _check_index

__all__ = [
    "MIRRORS",
    "MNIST",
    "MNIST_MEAN",
    "MNIST_STD",
    "download_mnist",
    "load_mnist",
    "mnist_root",
    "read_idx",
]

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

# MD5 of the original .gz files as distributed (the published checksums).
MD5_GZ = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
# MD5 of the decompressed IDX bytes: identical whatever gzip level a mirror recompressed
# with (checked against the data in the project's shared folder).
MD5_RAW = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension

# IDX type codes (third magic byte) -> big-endian dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def mnist_root(root=None):
    """The data root: ``root``, else ``$PYNN_DATA_DIR``, else ``~/.pynn/data``."""
    if root is None:
        root = os.environ.get("PYNN_DATA_DIR") or "~/.pynn/data"
    return Path(root).expanduser()


def _candidates(root, name):
    for folder in (root / "mnist", root):
        yield folder / (name + ".gz")
        yield folder / name


def _find(root, name):
    return next((p for p in _candidates(root, name) if p.is_file()), None)


def _decompress(raw, path):
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(f"{path}: corrupt gzip stream ({exc})") from None


def _read_bytes(path):
    """The file's content, decompressed if it is gzip (by its magic bytes, not its name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        return _decompress(raw, path)
    if str(path).endswith(".gz"):
        raise ValueError(f"{path}: named .gz but is not a gzip file (bad magic bytes)")
    return raw


def parse_idx(data, path="<bytes>", expected_magic=None):
    """Parse IDX bytes into an ndarray (native byte order), checking the header and size.

    Parameters
    ----------
    data : bytes
        A whole IDX file: magic ``00 00 <type> <ndim>``, ``ndim`` big-endian uint32
        dimensions, then the values in C order.
    path : str, used in error messages.
    expected_magic : int, optional
        E.g. ``0x00000803`` (uint8 images, 3-D) or ``0x00000801`` (uint8 labels, 1-D).
    """
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file: only {len(data)} bytes, no header")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: wrong IDX magic number 0x{magic:08x}, "
                         f"expected 0x{expected_magic:08x}")
    code, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{magic:08x})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                         f"bytes, the file has {len(data)}")
    dims = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise ValueError(f"{path}: truncated data: the header promises shape {dims} "
                         f"({expected} bytes), the file holds only {actual} bytes")
    if actual > expected:
        raise ValueError(f"{path}: {actual - expected} bytes of trailing garbage after the "
                         f"{expected} bytes of data promised by the header (shape {dims})")
    # frombuffer is zero-copy but read-only; one copy gives the caller a writable array.
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path, expected_magic=None):
    """Read an IDX file (raw or gzip) into an ndarray; see ``parse_idx``.

    Parameters
    ----------
    path : str or Path
        Gzip is recognised by its magic bytes, not the file name.
    expected_magic : int, optional
        E.g. ``0x00000803`` (uint8 images, 3-D) or ``0x00000801`` (uint8 labels, 1-D).

    Returns
    -------
    ndarray
        Of the shape and dtype the header gives, in native byte order.

    Raises
    ------
    ValueError
        Corrupt gzip stream, wrong magic, truncated data or trailing bytes (the message
        names the file and the problem).
    """
    return parse_idx(_read_bytes(path), str(path), expected_magic)


def _check_download(name, payload):
    """The error message if ``payload`` (a downloaded .gz) is not the genuine file."""
    if hashlib.md5(payload).hexdigest() == MD5_GZ[name]:
        return None
    # A mirror may serve the same data recompressed: accept it if the content matches.
    try:
        content = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as exc:
        return f"checksum mismatch and not a valid gzip stream ({exc})"
    got = hashlib.md5(content).hexdigest()
    if got != MD5_RAW[name]:
        return (f"checksum mismatch: MD5 {hashlib.md5(payload).hexdigest()} (expected "
                f"{MD5_GZ[name]}), decompressed MD5 {got} (expected {MD5_RAW[name]})")
    return None


def _write_atomic(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.part")
    try:
        with open(tmp, "xb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _progress_wanted(progress, stream):
    """``progress`` None means: a bar on a terminal, unless the ``CI`` variable is set (as
    CI services do; their logs are not terminals, but some fake one)."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def _megabytes(n, unit_of=None):
    """``n`` bytes in MB (kB below one MB, judged by ``unit_of`` when given)."""
    if (n if unit_of is None else unit_of) < 1e6:
        return f"{n / 1e3:.1f} kB"
    return f"{n / 1e6:.1f} MB"


class _DownloadBar:
    """One line on ``stream`` rewritten in place (at most every ``interval`` seconds):
    name, bar and percentage when the size is known, bytes and speed."""

    def __init__(self, name, total, stream, interval=0.1):
        self.name = name
        self.total = total
        self.stream = stream
        self.interval = interval
        self.start = time.perf_counter()
        self.next_time = 0.0
        self.last_len = 0

    def _draw(self, done, end=""):
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(done / self.total, 1.0)
            filled = int(30 * frac)
            bar = "=" * filled + (">" if filled < 30 else "") + " " * (29 - filled)
            text = (f"{self.name} [{bar}] {100 * frac:3.0f}% "
                    f"{_megabytes(done, self.total).split()[0]}/{_megabytes(self.total)} "
                    f"{_megabytes(rate)}/s")
        else:
            text = f"{self.name} {_megabytes(done)} {_megabytes(rate)}/s"
        pad = " " * max(0, self.last_len - len(text))
        self.stream.write("\r" + text + pad + end)
        self.stream.flush()
        self.last_len = len(text)

    def update(self, done):
        now = time.perf_counter()
        if now >= self.next_time:
            self.next_time = now + self.interval
            self._draw(done)

    def close(self, done):
        self._draw(done, "\n")


def _fetch(url, timeout, progress=None, stream=None, chunk_size=1 << 16):
    """The body of ``url`` (any scheme urllib opens), read in chunks with a progress bar
    on ``stream`` (default ``sys.stderr``) as :func:`_progress_wanted` decides."""
    stream = sys.stderr if stream is None else stream
    with urllib.request.urlopen(url, timeout=timeout) as response:
        headers = getattr(response, "headers", None)  # None from some openers and fakes
        length = (headers.get("Content-Length") if headers is not None else None) or ""
        total = int(length) if length.strip().isdigit() else None
        bar = None
        if _progress_wanted(progress, stream):
            bar = _DownloadBar(url.rsplit("/", 1)[-1] or url, total, stream)
        chunks = []
        done = 0
        try:
            while True:
                chunk = response.read(chunk_size)
                if not chunk:
                    break
                chunks.append(chunk)
                done += len(chunk)
                if bar is not None:
                    bar.update(done)
        finally:
            if bar is not None:  # end the line, also when the transfer failed
                bar.close(done)
    if total is not None and done != total:
        raise OSError(f"{url}: the transfer ended after {done} of {total} bytes")
    return b"".join(chunks)


def download_mnist(root=None, train=True, mirrors=None, timeout=60.0, progress=None):
    """Download the missing MNIST files of the train or test split to ``root/mnist/``.

    Each ``.gz`` is fetched from the first of ``mirrors`` that serves it with the right MD5,
    then written atomically (temporary file + rename). Files already present (in any of the
    looked-up places) are left alone.

    Parameters
    ----------
    root : str or Path, optional
        The data root (default ``$PYNN_DATA_DIR``, else ``~/.pynn/data``).
    train : bool
        The training split (else the test split).
    mirrors : list of str, optional
        Base URLs (default ``MIRRORS``).
    timeout : float
        Seconds per download attempt.
    progress : bool, optional
        Draw a progress bar on standard error; default: when it is a terminal and the
        ``CI`` environment variable is not set.

    Raises
    ------
    OSError
        No mirror gave a good copy: the message lists each mirror's failure (unreachable,
        checksum mismatch, ...).
    """
    root = mnist_root(root)
    mirrors = MIRRORS if mirrors is None else list(mirrors)
    for name in FILES[bool(train)]:
        if _find(root, name) is not None:
            continue
        target = root / "mnist" / (name + ".gz")
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                payload = _fetch(url, timeout, progress)
            except Exception as exc:  # noqa: BLE001 - any failure means "try the next one"
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            problem = _check_download(name, payload)
            if problem is not None:
                failures.append(f"{url}: {problem}")
                continue
            _write_atomic(target, payload)
            break
        else:
            raise OSError(f"could not download {name}.gz to {target}:\n  "
                          + "\n  ".join(failures or ["no mirrors given"]))


def load_mnist(root=None, train=True, download=True):
    """Load the MNIST train (60,000) or test (10,000) split.

    Parameters
    ----------
    root : str or Path, optional
        See the module docstring for where files are looked up.
    train : bool, default True
    download : bool, default True
        Fetch files that are missing (never those present); with False a missing file is a
        ``FileNotFoundError``.

    Returns
    -------
    images : ndarray of shape (N, 28, 28), uint8
    labels : ndarray of shape (N,), uint8, values 0..9
    """
    root = mnist_root(root)
    image_name, label_name = FILES[bool(train)]
    paths = [_find(root, image_name), _find(root, label_name)]
    if None in paths and download:
        download_mnist(root, train)
        paths = [_find(root, image_name), _find(root, label_name)]
    for name, path in zip((image_name, label_name), paths):
        if path is None:
            tried = ", ".join(str(p) for p in _candidates(root, name))
            raise FileNotFoundError(f"MNIST file {name} not found (tried {tried})")
    image_path, label_path = paths
    images = read_idx(image_path, IMAGES_MAGIC)
    labels = read_idx(label_path, LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{image_path}: MNIST images must be 28x28, got {images.shape[1:]}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST files disagree: {image_path} holds {images.shape[0]} images "
                         f"but {label_path} holds {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{label_path}: label {int(labels.max())} outside 0..9")
    return images, labels


class MNIST(Dataset):
    """The MNIST digits as a dataset of ``(image, label)``.

    Samples are ``(x, y)``: ``x`` of shape (1, 28, 28) and ``dtype``, ``y`` an int64 scalar.
    The raw data stay in memory as uint8 (``images`` (N, 28, 28), ``labels`` (N,) int64)
    and are converted per batch with a 256-entry lookup table, so :class:`DataLoader` takes
    its fast path (:meth:`get_batch`).

    Parameters
    ----------
    root : str or Path, optional
        Where the files are looked up (see :func:`load_mnist`).
    train : bool
        The training split (60,000 images), else the test split (10,000).
    transform : callable, optional
        Applied to image batches (N, 1, 28, 28) (single images as a batch of one).
    dtype : float dtype
        Of the images (default float32).
    normalize : bool
        Standardise with MNIST's mean 0.1307 and std 0.3081 after scaling to [0, 1];
        with False the images stay in [0, 1].
    download : bool
        Fetch missing files (see :func:`download_mnist`).
    """

    def __init__(self, root=None, train=True, transform=None, dtype=np.float32,
                 normalize=True, download=True):
        images, labels = load_mnist(root, train, download=download)
        self.images = images
        self.labels = labels.astype(np.int64)
        self.train = bool(train)
        self.transform = transform
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"MNIST dtype must be a float type, got {self.dtype}")
        self.normalize = bool(normalize)
        table = np.arange(256, dtype=np.float64) / 255.0
        if self.normalize:
            table = (table - MNIST_MEAN) / MNIST_STD
        self._table = table.astype(self.dtype)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        i = _check_index(index, len(self))
        x = self._table[self.images[i]][None]
        if self.transform is not None:
            x = self.transform(x[None])[0]
        return x, self.labels[i]

    def get_batch(self, indices):
        """Images (B, 1, 28, 28) and labels (B,) at ``indices``: the loader's fast path."""
        x = self._table[self.images[indices]][:, None]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.labels[indices]

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"MNIST({split}, {len(self)} samples, dtype={self.dtype}, " \
               f"normalize={self.normalize})"
