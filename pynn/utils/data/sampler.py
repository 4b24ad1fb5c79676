"""Samplers: the order in which a map-style dataset's indices are visited, and batching.

A sampler is an iterable of dataset indices (Python ints); a batch sampler is an iterable of
lists of them. Random samplers draw from their ``generator`` (a NumPy ``Generator``, an int
seed, or None for pynn's global generator, which :func:`pynn.manual_seed` reseeds) when an
epoch starts.
"""

import numpy as np

from ...tensor import Tensor
from ._rng import draw_generator, keep

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler:
    """Base class: subclasses implement ``__iter__`` (indices) and usually ``__len__``.

    Parameters
    ----------
    data_source : Dataset, optional
        Accepted for compatibility; the base class does not use it.
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def _epoch_indices(self):
        """The indices of one epoch as an int64 ndarray, or None when the sampler has no
        such shortcut (the loader then iterates it)."""


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``.

    Parameters
    ----------
    data_source : Dataset
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def _epoch_indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order: a permutation, or draws with replacement.

    Parameters
    ----------
    data_source : Dataset
    replacement : bool, default False
        Draw ``num_samples`` indices independently (uniformly) instead of permuting.
    num_samples : int, optional
        Indices per epoch (default ``len(data_source)``); without replacement, more than
        ``len(data_source)`` chains several permutations.
    generator : numpy.random.Generator or int, optional
        None draws from pynn's global generator.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._rng = keep(generator)
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={n}")

    @property
    def num_samples(self):
        """Indices drawn per epoch."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch_indices(self):
        n = len(self.data_source)
        rng = draw_generator(self._rng)
        count = self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=count, dtype=np.int64)
        whole, rest = divmod(count, n)
        parts = [rng.permutation(n) for _ in range(whole)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False) if parts else \
            np.zeros(0, np.int64)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order every epoch.

    Parameters
    ----------
    indices : sequence of int
    generator : numpy.random.Generator or int, optional
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        self._rng = keep(generator)

    def _epoch_indices(self):
        idx = np.asarray(self.indices._data if isinstance(self.indices, Tensor)
                         else self.indices, dtype=np.int64)
        rng = draw_generator(self._rng)
        return idx[rng.permutation(idx.shape[0])]

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Parameters
    ----------
    weights : sequence of float, shape (N,)
        Non-negative, not necessarily summing to 1.
    num_samples : int
    replacement : bool, default True
        Without replacement, an index appears at most once (``num_samples <= N``).
    generator : numpy.random.Generator or int, optional
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "  # noqa: TRY004 (as torch)
                             f"replacement={replacement}")
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{w.shape}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution: weights must be "
                               "non-negative, finite, with a positive sum")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator
        self._rng = keep(generator)

    def _epoch_indices(self):
        rng = draw_generator(self._rng)
        p = self.weights / self.weights.sum()
        return rng.choice(p.shape[0], size=self.num_samples, replace=self.replacement,
                          p=p).astype(np.int64)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Parameters
    ----------
    sampler : Sampler or iterable of int
    batch_size : int
    drop_last : bool
        Drop the last batch when it is short.
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "  # noqa: TRY004 (as torch)
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def _index_batches(self):
        """The batches as int64 ndarray slices of one epoch's indices, when the sampler
        gives them as an array; else None."""
        if type(self.sampler).__iter__ not in _ARRAY_ITERS:  # a subclass changed the order
            return None
        order = self.sampler._epoch_indices()
        if order is None:
            return None
        bs, n = self.batch_size, order.shape[0]
        stop = n - n % bs if self.drop_last else n
        return (order[i:i + bs] for i in range(0, stop, bs))

    def __iter__(self):
        batches = self._index_batches()
        if batches is not None:
            for b in batches:
                yield b.tolist()
            return
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# The __iter__ methods that just list _epoch_indices(): a sampler using one of them can hand
# the loader its whole epoch as an array.
_ARRAY_ITERS = frozenset(cls.__iter__ for cls in (SequentialSampler, RandomSampler,
                                                  SubsetRandomSampler, WeightedRandomSampler))
