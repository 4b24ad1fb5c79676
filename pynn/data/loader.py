"""DataLoader: batches of a dataset, optionally shuffled and augmented."""

import math

import numpy as np

from .. import random as _random

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Each batch is a tuple of ndarrays, field ``k`` of shape ``(B, ...)`` stacking field ``k``
    of the B samples (a dataset whose samples are single arrays gives 1-tuples). The last
    batch is smaller when ``len(dataset)`` is not a multiple of ``batch_size``, unless
    ``drop_last``. Batches are NumPy arrays; the training loop turns them into tensors.

    Parameters
    ----------
    dataset : Dataset
        Anything with ``__len__`` and ``__getitem__``. If it also has
        ``get_batch(indices)`` (:class:`TensorDataset`, :class:`MNIST`, :class:`Subset` of
        those), each batch is fetched with one fancy-indexing per array: no Python loop
        over samples, no per-sample stacking (the *fast path*).
    batch_size : int, default 1
    shuffle : bool, default False
        Visit the samples in a new random order every epoch (every ``iter(loader)``).
    drop_last : bool, default False
        Drop the last, incomplete batch.
    seed : int or numpy Generator, optional
        The loader then owns ``np.random.default_rng(seed)``: the sequence of epoch
        permutations is reproducible and independent of other random draws. Without it,
        each epoch's permutation is drawn from pynn's global generator (which
        ``pynn.manual_seed`` reseeds).
    transform : callable, optional
        Applied to the whole batch of inputs (field 0, e.g. ``(B, C, H, W)``) after
        fetching; the other fields (labels) pass unchanged. See :mod:`pynn.data.transforms`.

    Notes
    -----
    Batches are produced in the calling process: there are no worker processes. Forking a
    process after OpenMP has started threads (our kernels, or NumPy's BLAS) can hang the
    child with GNU libgomp, and the in-memory fast path is cheap next to a training step. A
    later version may add workers started with ``spawn``/``forkserver``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 transform=None):
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(
            batch_size, (int, np.integer)
        ) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.transform = transform
        self._generator = _random.as_generator(seed)

    @property
    def fast_path(self):
        """True when batches are fetched with ``dataset.get_batch``."""
        return callable(getattr(self.dataset, "get_batch", None))

    def __len__(self):
        """The number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._generator if self._generator is not None else _random.get_generator()
        return rng.permutation(n)

    def _fetch(self, indices):
        if self.fast_path:
            return tuple(self.dataset.get_batch(indices))
        samples = [self.dataset[int(i)] for i in indices]
        if isinstance(samples[0], (tuple, list)):
            return tuple(np.stack([np.asarray(v) for v in field]) for field in zip(*samples))
        return (np.stack([np.asarray(s) for s in samples]),)

    def __iter__(self):
        order = self._order()
        n_batches = len(self)
        for b in range(n_batches):
            batch = self._fetch(order[b * self.batch_size:(b + 1) * self.batch_size])
            if self.transform is not None:
                batch = (self.transform(batch[0]),) + batch[1:]
            yield batch

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, fast_path={self.fast_path})")
