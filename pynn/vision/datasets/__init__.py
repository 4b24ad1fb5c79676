"""Datasets with torchvision's names and constructors: ``from pynn.vision import datasets``.

Samples are ``(image, target)``: the image is a *picture* (a uint8 ndarray (H, W) or
(H, W, C), where torchvision gives a PIL image) passed through ``transform``; the target an
int passed through ``target_transform``. With a transform made of batch-capable steps
(:class:`~pynn.vision.transforms.ToTensor`, ``Normalize``, flips, crops ...) the
:class:`~pynn.data.DataLoader` builds each batch in one pass over arrays
(``get_batch``) instead of one Python call per image.
"""

import os
from pathlib import Path

import numpy as np

from ...data import mnist as _mnist
from ...tensor import _wrap
from ...utils.data import Dataset, default_collate

__all__ = ["CIFAR10", "CIFAR100", "MNIST", "FakeData", "FashionMNIST", "ImageFolder"]


class VisionDataset(Dataset):
    """Base: ``root``, ``transform``, ``target_transform``, and the batch fast path.

    Subclasses set ``_pictures`` (N, H, W[, C]) uint8 and ``_labels`` (N,) int64 ndarrays to
    get ``__getitem__``, ``__len__`` and ``get_batch``; those that make samples one by one
    define ``_raw(index)`` (the sample before the transforms) and hide ``get_batch`` (an
    AttributeError), so the loader asks for samples.
    """

    def __init__(self, root=None, transform=None, target_transform=None):
        self.root = root
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return self._pictures.shape[0]

    def __getitem__(self, index):
        img, target = self._raw(index)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _raw(self, index):
        """Sample ``index`` before the transforms: ``(picture, label)``."""
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index} out of range for "
                             f"{len(self)} samples")
        return self._pictures[index], int(self._labels[index])

    def get_batch(self, indices):
        """The samples at ``indices`` collated, ``(images, targets)``: the DataLoader's fast path.

        A transform whose every step can run on a whole batch (:meth:`Compose.batch`) runs
        once on the batch; any other (a ``Lambda``, a ``target_transform``) runs image by
        image, as the loader's ordinary path would.

        Parameters
        ----------
        indices : ndarray of int

        Returns
        -------
        tuple or list
            The images and the targets of the batch.
        """
        t = self.transform
        if self.target_transform is None and (t is None or (
                callable(getattr(t, "batch", None)) and getattr(t, "batchable", True))):
            x = self._pictures[indices]
            if t is not None:
                x = t.batch(x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2))
            return x, self._labels[indices]
        return default_collate([self[i] for i in np.asarray(indices).tolist()])

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines += ["    " + line for line in self.extra_repr().splitlines()]
        if self.transform is not None:
            lines.append(f"    StandardTransform\nTransform: {self.transform!r}")
        return "\n".join(lines)


def _data_roots(root, folder):
    """Where IDX files may be: torchvision's ``root/<folder>/raw``, then pynn's layouts under
    ``root``, then under ``$PYNN_DATA_DIR``."""
    roots = []
    if root is not None:
        root = Path(root).expanduser()
        roots += [root / folder / "raw", root / folder, root]
    env = os.environ.get("PYNN_DATA_DIR")
    if env:
        roots.append(Path(env).expanduser())
    return roots


class MNIST(VisionDataset):
    """The MNIST digits: 60,000 training and 10,000 test images, 28x28 grey, labels 0..9.

    The IDX files (raw or ``.gz``) are looked up in ``root/MNIST/raw`` (torchvision's
    layout), ``root/mnist``, ``root``, then ``$PYNN_DATA_DIR`` (and its ``mnist``
    folder). With ``download=True`` and no copy found they are fetched into
    ``root/mnist`` by :func:`pynn.data.download_mnist` (checksums checked).

    Parameters
    ----------
    root : str or Path
        The data folder.
    train : bool
        The training split, else the test split.
    transform : callable, optional
        Applied to each image (a uint8 ndarray (28, 28)), e.g. ``transforms.ToTensor()``.
    target_transform : callable, optional
        Applied to each label (an int).
    download : bool
        Fetch the files when no copy is found.

    Attributes
    ----------
    data : Tensor of shape (N, 28, 28), uint8
    targets : Tensor of shape (N,), int64
    classes : list of str
    """

    _folder = "MNIST"
    _classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        self.classes = list(self._classes)
        images, labels = self._load(download)
        self._pictures = images
        self._labels = labels.astype(np.int64)
        self.data = _wrap(self._pictures, None)
        self.targets = _wrap(self._labels, None)

    def _load(self, download):
        tried = _data_roots(self.root, self._folder)
        for where in tried:
            try:
                return _mnist.load_mnist(where, self.train, download=False)
            except FileNotFoundError:
                continue
        if not download:
            raise RuntimeError(f"Dataset not found: no {type(self).__name__} files in "
                               f"{', '.join(map(str, tried)) or '(no root given)'}. You can "
                               f"use download=True to download it")
        return self._download()

    def _download(self):
        root = Path(self.root if self.root is not None else _mnist.mnist_root()).expanduser()
        return _mnist.load_mnist(root, self.train, download=True)

    @property
    def class_to_idx(self):
        """``{class name: label}``."""
        return {name: i for i, name in enumerate(self.classes)}

    @property
    def train_data(self):
        """Old name of ``data`` (training split)."""
        return self.data

    @property
    def train_labels(self):
        """Old name of ``targets`` (training split)."""
        return self.targets

    @property
    def test_data(self):
        """Old name of ``data`` (test split)."""
        return self.data

    @property
    def test_labels(self):
        """Old name of ``targets`` (test split)."""
        return self.targets

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing.

    The files (named as MNIST's) are looked up in ``root/FashionMNIST/raw``,
    ``root/FashionMNIST``, ``root``, then ``$PYNN_DATA_DIR``; they are not downloaded
    (pynn's downloader knows MNIST's checksums only): fetch them once from
    Fashion-MNIST's site into ``root/FashionMNIST/raw``.

    Parameters
    ----------
    root : str or Path
        The data folder.
    train : bool
        The training split, else the test split.
    transform : callable, optional
        Applied to each image (a uint8 ndarray (28, 28)).
    target_transform : callable, optional
        Applied to each label (an int).
    download : bool
        Accepted; missing files are an error that says where to put them.
    """

    _folder = "FashionMNIST"
    _classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot")

    def _load(self, download):
        tried = []
        for base in (self.root, os.environ.get("PYNN_DATA_DIR")):
            if base:
                base = Path(base).expanduser() / self._folder
                tried += [base / "raw", base]
        for where in tried:
            try:
                return _mnist.load_mnist(where, self.train, download=False)
            except FileNotFoundError:
                continue
        raise RuntimeError(f"Dataset not found: no FashionMNIST files in "
                           f"{', '.join(map(str, tried))}. pynn does not download "
                           f"Fashion-MNIST: put its four IDX files (train-images-idx3-ubyte.gz "
                           f"...) in {Path(self.root or '.') / self._folder / 'raw'}")


class FakeData(VisionDataset):
    """Random images and labels, the same for the same index on every call.

    Parameters
    ----------
    size : int
        Number of samples.
    image_size : (int, int, int)
        (C, H, W) of each image; the pictures are uint8 (H, W, C).
    num_classes : int
    transform : callable, optional
    target_transform : callable, optional
    random_offset : int
        Added to the index to seed each sample's generator.
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform, target_transform)
        self.size, self.num_classes = int(size), int(num_classes)
        self.image_size = tuple(int(s) for s in image_size)
        if len(self.image_size) != 3:
            raise ValueError(f"FakeData: image_size must be (C, H, W), got {image_size!r}")
        self.random_offset = int(random_offset)

    def __len__(self):
        return self.size

    def _sample(self, index):
        rng = np.random.default_rng(index + self.random_offset)
        c, h, w = self.image_size
        picture = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        return picture, int(rng.integers(0, self.num_classes))

    def _raw(self, index):
        index = int(index)
        if not 0 <= index < self.size:
            raise IndexError(f"FakeData: index {index} out of range for {self.size} samples")
        return self._sample(index)

    @property
    def get_batch(self):
        """Absent: samples are drawn one by one."""
        raise AttributeError("get_batch")


_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff",
                     ".webp")


class ImageFolder(VisionDataset):
    """Images in one sub-folder per class (``root/<class>/<image>``), labelled by class.

    Labels follow the sorted class names. Reading image files needs Pillow (an optional
    dependency).

    Parameters
    ----------
    root : str or Path
    transform : callable, optional
        Applied to each picture (a uint8 ndarray (H, W, 3)).
    target_transform : callable, optional
    loader : callable, optional
        ``loader(path) -> picture``; default: Pillow, converted to RGB.
    is_valid_file : callable, optional
        ``is_valid_file(path) -> bool``; default: by extension.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=None,
                 is_valid_file=None):
        super().__init__(root, transform, target_transform)
        root = Path(root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {root} is not a folder")
        self.classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class folders in {root}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file or (lambda p: str(p).lower().endswith(_IMAGE_EXTENSIONS))
        self.samples = [(str(p), self.class_to_idx[c]) for c in self.classes
                        for p in sorted((root / c).rglob("*")) if p.is_file() and valid(p)]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no image files under {root}")
        self.imgs = self.samples
        self.targets = [t for _, t in self.samples]
        self.loader = loader or _pil_loader

    def __len__(self):
        return len(self.samples)

    def _raw(self, index):
        path, target = self.samples[index]
        return self.loader(path), target

    @property
    def get_batch(self):
        """Absent: files are read one by one."""
        raise AttributeError("get_batch")


def _pil_loader(path):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("ImageFolder: reading image files needs Pillow (pip install "
                          "pillow), or pass loader=... returning a uint8 (H, W, C) "
                          "array") from None
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


from .cifar import CIFAR10, CIFAR100  # noqa: E402  (it builds on VisionDataset above)
