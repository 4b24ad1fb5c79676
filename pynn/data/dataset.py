"""Datasets: an indexable collection of samples, each a tuple of ndarrays.

A dataset may also define ``get_batch(indices) -> tuple of ndarrays``: the whole batch
at once, each array indexed with the integer index array. :class:`~pynn.data.DataLoader`
uses it when present (its *fast path*: one fancy-indexing per array instead of a Python
loop over samples and a ``np.stack``). ``get_batch(idx)`` must return exactly what stacking
``dataset[i]`` over ``i in idx`` would.
"""

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split"]


class Dataset:
    """Abstract dataset: subclasses implement ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, normally a tuple ``(x, y)`` of ndarrays (or
    NumPy scalars); the loader stacks the fields of a batch along a new first axis.
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")


def _as_array(a):
    """An ndarray as is, a Tensor's ndarray, another object's ``.data`` ndarray, else
    ``np.asarray``."""
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, Tensor):
        return a._data
    data = getattr(a, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(a)


def _check_index(index, n):
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset index must be an integer, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for a dataset of {n} samples")
    return int(index) % n


class TensorDataset(Dataset):
    """Samples are the rows of arrays held in memory: sample ``i`` is ``(arrays[0][i], ...)``.

    Parameters
    ----------
    *arrays : array_like, each of shape (N, ...)
        At least one; all must share the first dimension N. They are kept as given
        (``np.asarray``, no copy), so the loader's fast path indexes them directly.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(_as_array(a) for a in arrays)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} is 0-d; each needs a first "
                                 f"(sample) dimension")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset: all arrays must have the same first dimension "
                             f"(number of samples); got shapes {shapes}")
        self.arrays = arrays

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        i = _check_index(index, len(self))
        return tuple(a[i] for a in self.arrays)

    def get_batch(self, indices):
        """``tuple(a[indices] for a in arrays)``: the loader's fast path."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (keeps the fast path if it has one).

    Parameters
    ----------
    dataset : Dataset
    indices : 1-D array_like of int
        Positions in ``dataset``, in the order the subset presents them.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError("Subset indices must be 1-D")
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset indices out of range for a dataset of {n} samples")
        if hasattr(dataset, "get_batch"):
            self.get_batch = self._get_batch

    def __len__(self):
        return self.indices.shape[0]

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self))])]

    def _get_batch(self, indices):
        return self.dataset.get_batch(self.indices[indices])


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping :class:`Subset` s of the given lengths.

    The samples are assigned by a random permutation.

    Parameters
    ----------
    dataset : Dataset
    lengths : sequence of int
        Non-negative; they must sum to ``len(dataset)``.
    seed : int or numpy.random.Generator, optional
        Draw the permutation from ``np.random.default_rng(seed)`` (or that generator); None:
        pynn's global generator (:func:`pynn.manual_seed`).

    Returns
    -------
    list of Subset
        One per length, in order.
    """
    lengths = [int(n) for n in lengths]
    if any(n < 0 for n in lengths) or sum(lengths) != len(dataset):
        raise ValueError(f"random_split: lengths {lengths} must be non-negative and sum to "
                         f"the dataset's length {len(dataset)}")
    rng = _random.as_generator(seed) or _random.get_generator()
    order = rng.permutation(len(dataset))
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
