"""Datasets: map-style (``__len__`` and ``__getitem__``) and iterable-style (``__iter__``).

A map-style dataset may also define ``get_batch(indices) -> tuple of ndarrays``: the whole
batch at once, each array indexed with the integer index array. :class:`DataLoader` uses it
when present and the default collation is in use (its *fast path*: one fancy-indexing per
array instead of a Python loop over samples and a stack). ``get_batch(idx)`` must return
what stacking ``dataset[i]`` over ``i in idx`` field by field would.
"""

import bisect
import math

import numpy as np

from ... import random as _random
from ...tensor import Tensor, _wrap
from ._rng import numpy_generator

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset:
    """Abstract map-style dataset: subclasses implement ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, for example a tuple ``(x, y)`` of Tensors,
    ndarrays or numbers; the loader's collation stacks the fields of a batch along a new
    first axis. ``a + b`` is ``ConcatDataset([a, b])``.
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Abstract iterable-style dataset (a stream): subclasses implement ``__iter__``.

    With worker processes every worker iterates its own copy of the dataset; use
    :func:`get_worker_info` inside ``__iter__`` to give each worker its share.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it is iterated, "
                        f"not indexed")

    def __len__(self):
        # TypeError, as for any object without a length: list(loader) then ignores it.
        raise TypeError(f"{type(self).__name__} (an IterableDataset) has no len()")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (``a + b`` for iterable datasets).

    Parameters
    ----------
    datasets : iterable of IterableDataset
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


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
    if isinstance(index, Tensor) and index._data.ndim == 0:
        index = index._data.item()
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset index must be an integer, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for a dataset of {n} samples")
    return int(index) % n


class TensorDataset(Dataset):
    """A dataset of the rows of tensors held in memory.

    Samples are the rows of tensors held in memory: sample ``i`` is
    ``(tensors[0][i], tensors[1][i], ...)``, each a Tensor.

    Parameters
    ----------
    *tensors : Tensor or array_like, each of shape (N, ...)
        At least one; all must share the first dimension N. Their storage is kept as given
        (no copy), so the loader's fast path indexes it directly.

    Attributes
    ----------
    tensors : tuple of Tensor
    arrays : tuple of ndarray
        Their storage.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(_as_array(a) for a in tensors)
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
        self.tensors = tuple(t if isinstance(t, Tensor) else _wrap(a, None)
                             for t, a in zip(tensors, arrays))

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            i = _check_index(index, len(self))
            return tuple(_wrap(np.asarray(a[i]), None) for a in self.arrays)
        # as PyTorch: any index a tensor takes (a slice, a list, a mask: ``ds[:]``, ``ds[0:2]``)
        return tuple(t[index] for t in self.tensors)

    def get_batch(self, indices):
        """``tuple(a[indices] for a in arrays)``: the loader's fast path."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (keeps the fast path if it has one).

    Parameters
    ----------
    dataset : Dataset
    indices : 1-D sequence of int
        Positions in ``dataset``, in the order the subset presents them.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(_as_array(indices), dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError("Subset indices must be 1-D")
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset indices out of range for a dataset of {n} samples")
        if callable(getattr(dataset, "get_batch", None)):
            self.get_batch = self._get_batch

    def __len__(self):
        return self.indices.shape[0]

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[int(i) for i in self.indices[np.asarray(index)]]]
        return self.dataset[int(self.indices[_check_index(index, len(self))])]

    def _get_batch(self, indices):
        return self.dataset.get_batch(self.indices[indices])


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after the other.

    Parameters
    ----------
    datasets : iterable of Dataset

    Attributes
    ----------
    datasets : list of Dataset
    cumulative_sizes : list of int
        ``cumulative_sizes[k]`` is the number of samples in ``datasets[:k + 1]``.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self))
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][i - start]


class StackDataset(Dataset):
    """Samples of several datasets of one length, side by side.

    Samples of several datasets of one length side by side: sample ``i`` is the tuple
    ``(a[i], b[i], ...)`` (positional datasets) or the dict ``{k: d[i]}`` (keywords).

    Parameters
    ----------
    *args : Dataset
    **kwargs : Dataset
        Either positional or keyword datasets, not both.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or"
                             "``dict``- (via ``kwargs``) like input/output, but both types "
                             "are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        n = len(datasets[0])
        if any(len(d) != n for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self._length = n
        self.datasets = args if args else dict(kwargs)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split ``dataset`` into non-overlapping :class:`~pynn.data.Subset` s of the given lengths.

    The samples are assigned by a random permutation.

    Parameters
    ----------
    dataset : Dataset
    lengths : sequence of int, or of float summing to 1
        Sizes that sum to ``len(dataset)``, or fractions of it: each gets
        ``floor(fraction * len(dataset))`` samples and the remainder is dealt one by one to
        the subsets in order.
    generator : numpy.random.Generator, int or pynn generator, optional
        Where the permutation is drawn from; None: pynn's global generator
        (:func:`pynn.manual_seed`).
    seed : int, optional
        Same as ``generator`` (kept from earlier versions).

    Returns
    -------
    list of Subset
        One per length, in order.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(v, float) for v in lengths) and math.isclose(sum(lengths), 1):
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    lengths = [int(v) for v in lengths]
    if any(v < 0 for v in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative and sum to "
                         f"the dataset's length {n}")
    rng = numpy_generator(generator if generator is not None else seed)
    if rng is None:
        rng = _random.get_generator()
    order = rng.permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
