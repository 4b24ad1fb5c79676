"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from the files their authors distribute.

Two layouts are read: the Python version torchvision leaves (``cifar-10-batches-py/`` or
``cifar-100-python/``, pickled batches) and the binary version (``cifar-10-batches-bin/``
or ``cifar-100-binary/``, fixed-size records). The pickles are read by an unpickler that
admits only what those files hold (dicts, lists, strings, numbers and NumPy arrays, through
NumPy's own reconstruction functions): a file asking for any other global (``os.system``,
``builtins.eval`` ...) is refused before anything runs, and the loaded batch is checked
field by field.
"""

import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from ...data import mnist as _mnist
from . import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]

_PIXELS = 3 * 32 * 32

# The only globals a CIFAR batch pickle refers to: NumPy's array and scalar reconstruction
# (under NumPy 1's and NumPy 2's module names) and, in batches re-pickled by Python 3 at
# protocol 2, the codec call that encodes bytes. Each builds data; none runs other code.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside :data:`_ALLOWED_GLOBALS`."""

    def __init__(self, file, source):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"{self.source}: refused to load the global '{module}.{name}': CIFAR batch "
                f"files hold only dicts, lists, strings, numbers and NumPy arrays, so this "
                f"file is not a CIFAR batch (it may be corrupt or malicious)")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError(f"{self.source}: refused a persistent id: not a CIFAR "
                                     f"batch file")


def _unpickle(path):
    """The object pickled in ``path``, read without running code (see the module)."""
    data = Path(path).read_bytes()
    try:
        obj = _BatchUnpickler(io.BytesIO(data), path).load()
    except pickle.UnpicklingError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated or garbled file, said as such
        raise ValueError(f"{path}: not a readable CIFAR batch ({type(exc).__name__}: "
                         f"{exc})") from None
    if not isinstance(obj, dict):
        raise TypeError(f"{path}: a CIFAR batch is a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _labels(values, path, key, classes):
    if not isinstance(values, (list, np.ndarray)):
        raise TypeError(f"{path}: '{key}' must be a list of ints, got {type(values).__name__}")
    labels = np.asarray(values)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: '{key}' must be a list of ints")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{path}: '{key}' holds labels outside 0..{classes - 1}")
    return labels.astype(np.int64)


def _pictures(flat):
    """Rows of 3072 bytes (the red, green then blue 32x32 planes) as (N, 32, 32, 3)."""
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def _read_python_batch(path, label_key, classes):
    batch = _unpickle(path)
    for key in ("data", label_key):
        if key not in batch:
            raise ValueError(f"{path}: not a CIFAR batch (no '{key}' entry; it has "
                             f"{sorted(map(str, batch))})")
    data = batch["data"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == _PIXELS):
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (N, {_PIXELS}), got "
                         f"{getattr(data, 'dtype', type(data).__name__)} "
                         f"{getattr(data, 'shape', '')}")
    labels = _labels(batch[label_key], path, label_key, classes)
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels")
    return _pictures(data), labels


def _read_binary_batch(path, label_bytes, classes):
    """Records of ``label_bytes`` label bytes (the last is the label used) then 3072 pixels."""
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + _PIXELS
    if raw.size == 0 or raw.size % record:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {record}-byte "
                         f"CIFAR records")
    rows = raw.reshape(-1, record)
    labels = _labels(rows[:, label_bytes - 1], path, "label", classes)
    return _pictures(rows[:, label_bytes:]), labels


def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _extract(archive, root, folder):
    """Extract ``folder``'s regular files from ``archive`` into ``root``; anything else (a
    link, a device, a path leaving ``folder``) is refused."""
    root = Path(root).resolve()
    with tarfile.open(archive, "r:gz") as tar:
        members = []
        for m in tar.getmembers():
            target = (root / m.name).resolve()
            inside = target == root / folder or (root / folder) in target.parents
            if not inside or not (m.isfile() or m.isdir()):
                raise OSError(f"{archive}: refused to extract '{m.name}': CIFAR archives hold "
                              f"only the regular files of {folder}/")
            members.append(m)
        tar.extractall(root, members=members, filter="data")


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, in 10 classes.

    The batches are looked up as ``root/cifar-10-batches-py`` (the Python version, as
    torchvision leaves it), then ``root/cifar-10-batches-bin`` (the binary version), then
    the same under ``$PYNN_DATA_DIR``. With ``download=True`` and no copy found, the Python
    version's archive is fetched from the authors' site into ``root``, its MD5 checked,
    and extracted. Samples are ``(image, target)``: the image a uint8 ndarray
    (32, 32, 3), as pynn's other datasets give pictures (torchvision gives a PIL image;
    ``transforms.ToTensor`` takes either), passed through ``transform``.

    Parameters
    ----------
    root : str or Path
        The data folder.
    train : bool
        The training split (the five data batches), else the test batch.
    transform : callable, optional
        Applied to each image, e.g. ``transforms.ToTensor()``.
    target_transform : callable, optional
        Applied to each label (an int).
    download : bool
        Fetch and extract the archive when no copy is found.

    Attributes
    ----------
    data : ndarray of shape (N, 32, 32, 3), uint8
    targets : list of int
    classes : list of str
    class_to_idx : dict
    """

    base_folder = "cifar-10-batches-py"
    binary_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_list = ("test_batch",)
    meta: ClassVar[dict] = {"filename": "batches.meta", "key": "label_names"}
    binary_train = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    binary_test = ("test_batch.bin",)
    binary_meta = "batches.meta.txt"
    label_key = "labels"
    label_bytes = 1
    num_classes = 10

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        found = self._find()
        if found is None:
            if not download:
                raise RuntimeError(
                    f"Dataset not found or corrupted: no {type(self).__name__} batches "
                    f"({self.base_folder}/ or {self.binary_folder}/) in "
                    f"{', '.join(map(str, self._roots())) or '(no root given)'}. You can use "
                    f"download=True to download it")
            self.download()
            found = self._find()
            if found is None:
                raise RuntimeError(f"{type(self).__name__}: {self.filename} did not hold "
                                   f"{self.base_folder}/ with the expected batches")
        self._load(*found)
        self.data = self._pictures
        self.targets = self._labels.tolist()
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _roots(self):
        roots = [] if self.root is None else [Path(self.root).expanduser()]
        env = os.environ.get("PYNN_DATA_DIR")
        if env:
            roots.append(Path(env).expanduser())
        return roots

    def _find(self):
        """``(folder, binary)`` of the first complete copy of the split, or None."""
        names = self.train_list if self.train else self.test_list
        binary_names = self.binary_train if self.train else self.binary_test
        for base in self._roots():
            if all((base / self.base_folder / n).is_file() for n in names):
                return base / self.base_folder, False
            if all((base / self.binary_folder / n).is_file() for n in binary_names):
                return base / self.binary_folder, True
        return None

    def _load(self, folder, binary):
        if binary:
            parts = [_read_binary_batch(folder / n, self.label_bytes, self.num_classes)
                     for n in (self.binary_train if self.train else self.binary_test)]
            self.classes = self._binary_classes(folder)
        else:
            parts = [_read_python_batch(folder / n, self.label_key, self.num_classes)
                     for n in (self.train_list if self.train else self.test_list)]
            self.classes = self._python_classes(folder)
        self._pictures = np.concatenate([p for p, _ in parts])
        self._labels = np.concatenate([t for _, t in parts])

    def _python_classes(self, folder):
        path = folder / self.meta["filename"]
        if not path.is_file():
            return [str(i) for i in range(self.num_classes)]
        names = _unpickle(path).get(self.meta["key"])
        if not (isinstance(names, list) and len(names) == self.num_classes
                and all(isinstance(n, (str, bytes)) for n in names)):
            raise ValueError(f"{path}: '{self.meta['key']}' must list {self.num_classes} "
                             f"class names")
        return [n.decode("latin1") if isinstance(n, bytes) else n for n in names]

    def _binary_classes(self, folder):
        path = folder / self.binary_meta
        if not path.is_file():
            return [str(i) for i in range(self.num_classes)]
        names = [line.strip() for line in path.read_text("latin1").splitlines()
                 if line.strip()]
        if len(names) != self.num_classes:
            raise ValueError(f"{path}: expected {self.num_classes} class names, got "
                             f"{len(names)}")
        return names

    def download(self):
        """Fetch the archive into ``root``, check its MD5 and extract it.

        A copy already in ``root`` with the right MD5 is not fetched again.

        Raises
        ------
        OSError
            The transfer failed, the MD5 differs, or the archive holds anything but the
            batch folder's regular files.
        """
        if self.root is None:
            raise RuntimeError(f"{type(self).__name__}: download=True needs a root folder")
        root = Path(self.root).expanduser()
        archive = root / self.filename
        if not (archive.is_file() and _md5(archive) == self.tgz_md5):
            payload = _mnist._fetch(self.url, timeout=60.0)
            got = hashlib.md5(payload).hexdigest()
            if got != self.tgz_md5:
                raise OSError(f"{self.url}: checksum mismatch: MD5 {got}, expected "
                              f"{self.tgz_md5}")
            _mnist._write_atomic(archive, payload)
        _extract(archive, root, self.base_folder)

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: CIFAR-10's format and sizes, 100 fine classes (``fine_labels``).

    The files are looked up as ``root/cifar-100-python`` (``train``, ``test``, ``meta``),
    then ``root/cifar-100-binary`` (``train.bin``, ``test.bin``, ``fine_label_names.txt``;
    each record a coarse and a fine label byte), then under ``$PYNN_DATA_DIR``; see
    :class:`CIFAR10` for the rest.

    Parameters
    ----------
    root : str or Path
        The data folder.
    train : bool
        The training split, else the test split.
    transform : callable, optional
        Applied to each image (a uint8 ndarray (32, 32, 3)).
    target_transform : callable, optional
        Applied to each label (an int, the fine class).
    download : bool
        Fetch and extract the archive when no copy is found.
    """

    base_folder = "cifar-100-python"
    binary_folder = "cifar-100-binary"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = ("train",)
    test_list = ("test",)
    meta: ClassVar[dict] = {"filename": "meta", "key": "fine_label_names"}
    binary_train = ("train.bin",)
    binary_test = ("test.bin",)
    binary_meta = "fine_label_names.txt"
    label_key = "fine_labels"
    label_bytes = 2
    num_classes = 100

