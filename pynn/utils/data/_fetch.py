"""Turning indices into batches: the part of the loader that runs in every worker."""

import numpy as np

from ...tensor import Tensor, _wrap
from .collate import default_collate, default_convert


class Fetcher:
    """Fetch and collate the batches of one dataset, in the main process or in a worker.

    Parameters
    ----------
    dataset : Dataset or IterableDataset
    batch_size : int or None
        Samples per batch of an iterable dataset (None: no batching).
    auto_collation : bool
        Batches are collated lists of samples; False: each sample is converted on its own.
    drop_last : bool
        Iterable datasets: drop a short last batch.
    collate_fn : callable or None
        None: :func:`default_collate` (or :func:`default_convert` without batching), and the
        dataset's ``get_batch`` when it has one (the fast path).
    transform : callable or None
        Applied to field 0 of each batch (an ndarray in, an ndarray out).
    iterable : bool
        ``dataset`` is iterated rather than indexed.
    """

    def __init__(self, dataset, batch_size, auto_collation, drop_last, collate_fn, transform,
                 iterable):
        self.dataset = dataset
        self.batch_size = batch_size
        self.auto_collation = auto_collation
        self.drop_last = drop_last
        self.transform = transform
        self.iterable = iterable
        self.user_collate = collate_fn is not None
        if collate_fn is None:
            collate_fn = default_collate if auto_collation else default_convert
        self.collate_fn = collate_fn
        self.fast = (not iterable and not self.user_collate and auto_collation
                     and callable(getattr(dataset, "get_batch", None)))
        self._iterator = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_iterator"] = None
        return state

    def fetch(self, indices):
        """The batch of the samples at ``indices`` (an index without batching)."""
        if self.fast:
            return self.wrap(self.dataset.get_batch(np.asarray(indices)))
        dataset = self.dataset
        if not self.auto_collation:
            return self._apply_transform(self.collate_fn(dataset[indices]))
        batch = self.collate_fn([dataset[i] for i in indices.tolist()]
                                if isinstance(indices, np.ndarray)
                                else [dataset[i] for i in indices])
        return self._apply_transform(batch)

    def wrap(self, fields):
        """A ``get_batch`` result (one array or a sequence of them) as the batch: the
        transform applied to field 0, then each field a Tensor."""
        if isinstance(fields, np.ndarray):
            return _wrap(np.asarray(self._transform(fields)), None)
        fields = list(fields)
        if fields and self.transform is not None:
            fields[0] = self.transform(fields[0])
        return [f if isinstance(f, Tensor) else _wrap(np.asarray(f), None) for f in fields]

    def reset(self):
        """Start iterating an iterable dataset again (a new epoch)."""
        self._iterator = iter(self.dataset)

    def next_batch(self):
        """The next batch of an iterable dataset; raises StopIteration at its end."""
        if self._iterator is None:
            self.reset()
        it = self._iterator
        if not self.auto_collation:
            return self._apply_transform(self.collate_fn(next(it)))
        samples = []
        for sample in it:
            samples.append(sample)
            if len(samples) == self.batch_size:
                break
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self._apply_transform(self.collate_fn(samples))

    def _transform(self, x):
        return x if self.transform is None else self.transform(x)

    def _apply_transform(self, batch):
        if self.transform is None:
            return batch
        if isinstance(batch, Tensor):
            return _wrap(np.asarray(self.transform(batch._data)), None)
        if isinstance(batch, (list, tuple)) and batch:
            first = batch[0]
            x = self.transform(first._data if isinstance(first, Tensor) else first)
            if isinstance(first, Tensor):
                x = _wrap(np.asarray(x), None)
            return type(batch)([x, *batch[1:]]) if isinstance(batch, list) \
                else (x,) + tuple(batch[1:])
        return batch
