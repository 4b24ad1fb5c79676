"""DataLoader: batches of a dataset as Tensors, in the main process or in worker processes."""

import itertools
import math
import multiprocessing
import os
import pickle
import queue
import sys
import weakref

import numpy as np

from ...tensor import _wrap
from ._fetch import Fetcher
from ._rng import draw_generator, keep, numpy_generator
from ._worker import IterableEnd, WorkerError, get_worker_info, unpack, worker_loop
from .collate import default_collate  # torch.utils.data.dataloader.default_collate
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "get_worker_info"]

# How often (seconds) the main process, waiting for a batch, checks its workers are alive.
_POLL = 1.0


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors (``torch.utils.data.DataLoader``).

    Each batch collates ``batch_size`` samples with ``collate_fn`` (default
    :func:`default_collate`): a dataset of ``(x, y)`` samples gives ``[X, Y]`` with ``X`` of
    shape ``(B, ...)``; Python ints become int64 Tensors, Python floats float64, ndarrays and
    Tensors keep their dtype. The last batch is smaller when ``len(dataset)`` is not a
    multiple of ``batch_size``, unless ``drop_last``.

    Parameters
    ----------
    dataset : Dataset or IterableDataset
        A map-style dataset that also has ``get_batch(indices)`` (:class:`TensorDataset`,
        :class:`~pynn.data.MNIST`, a :class:`Subset` of those) is fetched with one
        fancy-indexing per array per batch when ``collate_fn`` is the default: no Python loop
        over samples (the *fast path*).
    batch_size : int or None, default 1
        None: no batching; each sample is converted to Tensors on its own.
    shuffle : bool, default False
        A new random order every epoch (a :class:`RandomSampler`).
    sampler : Sampler or iterable of int, optional
        The order of the indices; excludes ``shuffle``.
    batch_sampler : BatchSampler or iterable of lists of int, optional
        Whole batches of indices; excludes ``batch_size``, ``shuffle``, ``sampler`` and
        ``drop_last``.
    num_workers : int, default 0
        0 loads in the main process; more starts that many worker processes (``spawn`` or
        ``forkserver``) that fetch and collate batches in parallel, delivered in order.
    collate_fn : callable, optional
        Turns a list of samples into a batch.
    pin_memory : bool
        Accepted and ignored (pynn runs on the CPU).
    drop_last : bool, default False
    timeout : float, default 0
        With workers: seconds to wait for a batch before raising RuntimeError (0: no limit).
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each worker after seeding, before loading.
    multiprocessing_context : str or multiprocessing context, optional
        How workers start. By default ``"forkserver"`` (``"spawn"`` where it is missing):
        workers import the dataset's module, and the dataset, ``collate_fn`` and
        ``worker_init_fn`` are pickled. When they cannot be (a lambda, a local class) or the
        main script has no ``if __name__ == "__main__":`` guard, workers are forked instead
        (POSIX). Either way workers run pynn's kernels on one thread: a child forked after
        OpenMP ran hangs in a parallel region of several threads under GNU libgomp.
    generator : numpy.random.Generator or int, optional
        Where shuffling and the workers' base seed are drawn from; None: pynn's global
        generator (:func:`pynn.manual_seed`).
    prefetch_factor : int, optional
        Batches each worker loads ahead (default 2 with workers).
    persistent_workers : bool, default False
        Keep the workers (and their dataset copies) alive between epochs.
    pin_memory_device : str
        Accepted and ignored (pynn runs on the CPU).
    in_order : bool
        Accepted; batches are always delivered in order.
    seed : int or numpy.random.Generator, optional
        pynn's earlier spelling of ``generator``.
    transform : callable, optional
        Applied to field 0 of every batch (an ndarray, e.g. ``(B, C, H, W)``), in the
        workers when there are any; see :mod:`pynn.data.transforms`.

    Notes
    -----
    Each worker is seeded with ``base_seed + worker_id``, ``base_seed`` drawn from the
    loader's generator once per epoch: pynn's global generator, Python's ``random`` and
    NumPy's legacy global state are seeded in the worker, so random augmentation differs
    between workers and is reproducible under :func:`pynn.manual_seed`. Workers run pynn's
    kernels on one thread.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, transform=None):
        if batch_size is not None and (isinstance(batch_size, (bool, np.bool_))
                                       or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is None and num_workers > 0:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError("prefetch_factor option should be positive")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        if generator is not None and seed is not None:
            raise ValueError("give generator or seed, not both")

        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = bool(persistent_workers)
        self.in_order = in_order
        self.seed = seed
        self.transform = transform
        self.generator = keep(generator if generator is not None else seed)
        # The NumPy generator itself, for pynn.train's checkpoints of random states.
        self._generator = numpy_generator(self.generator)
        self._iterable = isinstance(dataset, IterableDataset)

        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=self.generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        auto_collation = (self.batch_size is not None if self._iterable
                          else batch_sampler is not None)
        self._fetcher = Fetcher(dataset, self.batch_size, auto_collation, self.drop_last,
                                collate_fn, transform, self._iterable)
        self._pool = None  # the persistent workers

    # -- properties ---------------------------------------------------------------------------

    @property
    def fast_path(self):
        """True when batches are fetched with ``dataset.get_batch``."""
        return self._fetcher.fast

    def __len__(self):
        """The number of batches in one epoch (an IterableDataset needs ``__len__``)."""
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # -- iteration ----------------------------------------------------------------------------

    def _index_batches(self):
        """The indices of each batch of one epoch (int64 arrays where the samplers allow)."""
        bs = self.batch_sampler
        if bs is None:
            return iter(self.sampler)
        if type(bs) is BatchSampler or type(bs).__iter__ is BatchSampler.__iter__:
            batches = bs._index_batches()
            if batches is not None:
                return batches
        return iter(bs)

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        return self._multi_process()

    def _single_process(self):
        fetcher = self._fetcher
        if self._iterable:
            fetcher.reset()
            while True:
                try:
                    batch = fetcher.next_batch()
                except StopIteration:
                    return
                yield batch
        elif fetcher.fast and fetcher.transform is None:
            # The in-memory fast path, kept tight: a training step waits on it.
            get_batch = self.dataset.get_batch
            for indices in self._index_batches():
                fields = get_batch(indices)
                if type(fields) is tuple:
                    yield [_wrap(f, None) for f in fields]
                else:
                    yield fetcher.wrap(fields)
        else:
            fetch = fetcher.fetch
            for indices in self._index_batches():
                yield fetch(indices)

    def _context(self):
        ctx = self.multiprocessing_context
        if ctx is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = "forkserver" if "forkserver" in methods else "spawn"
            if "fork" in methods and not _spawn_can_start(self._fetcher, self.worker_init_fn):
                # Workers run pynn's kernels on one thread, which GNU libgomp allows in a
                # child forked after OpenMP ran (a team of several would hang).
                ctx = "fork"
        if isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        return ctx

    def _start_pool(self):
        base_seed = int(draw_generator(self.generator).integers(0, 2**62))
        return _WorkerPool(self._context(), self._fetcher, self.num_workers, base_seed,
                           self.worker_init_fn)

    def _multi_process(self):
        if self.persistent_workers:
            if self._pool is None or self._pool.closed:
                self._pool = self._start_pool()
            pool = self._pool
        else:
            pool = self._start_pool()
        try:
            yield from pool.run_epoch(None if self._iterable else self._index_batches(),
                                      self.prefetch_factor, self.timeout)
        finally:
            if not self.persistent_workers:
                pool.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_pool"] = None
        return state

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"num_workers={self.num_workers}, fast_path={self.fast_path})")


class _Discard:
    """A file that forgets what is written (to try pickling without keeping the bytes)."""

    def write(self, data):
        return len(data)


def _spawn_can_start(fetcher, init_fn):
    """Whether spawn/forkserver workers can start: what they receive pickles (no lambdas or
    local classes), and the main script guards its code with ``if __name__ == "__main__":``
    (a child re-runs the unguarded top level of the script)."""
    try:
        pickle.dump((fetcher, init_fn), _Discard(), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(getattr(main, "__spec__", None), "name", None):
        return True  # an interactive session, or python -m (re-imported by name)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "__main__" in f.read()
    except OSError:
        return True


def _shutdown(workers, index_queues, result_queue):
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):  # already closed
            pass
    for w in workers:
        w.join(timeout=5.0)
        if w.is_alive():
            w.terminate()
            w.join(timeout=1.0)
    for q in (*index_queues, result_queue):
        try:
            q.cancel_join_thread()
            q.close()
        except (OSError, ValueError):
            pass


class _WorkerPool:
    """``num_workers`` processes with one task queue each and one result queue."""

    def __init__(self, ctx, fetcher, num_workers, base_seed, init_fn):
        self.num_workers = num_workers
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        self.epoch = 0
        parent = os.getpid()
        for i in range(num_workers):
            q = ctx.Queue()
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(fetcher, q, self.result_queue, i, num_workers, base_seed,
                                  init_fn, parent))
            w.start()
            self.index_queues.append(q)
            self.workers.append(w)
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self.index_queues,
                                           self.result_queue)

    @property
    def closed(self):
        return not self._finalizer.alive

    def close(self):
        """Stop the workers (at once if they are idle; killed after a grace period)."""
        self._finalizer()

    def _get(self, timeout):
        """The next ``(epoch, index, data)`` from any worker; raises if one died."""
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL)
            except queue.Empty:
                waited += _POLL
            dead = [w for w in self.workers if not w.is_alive()]
            if dead:
                codes = ", ".join(f"pid {w.pid}, exit code {w.exitcode}" for w in dead)
                self.close()
                raise RuntimeError(f"DataLoader worker ({codes}) exited unexpectedly; its "
                                   f"error, if any, was printed to stderr (e.g. a failed "
                                   f"import of the dataset's module)")
            if timeout and waited >= timeout:
                self.close()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def run_epoch(self, index_batches, prefetch_factor, timeout):
        """Yield one epoch's batches in order. ``index_batches`` None: each worker iterates
        its own copy of an iterable dataset, and the batches alternate between workers."""
        if self.closed:
            raise RuntimeError("the DataLoader's workers were shut down")
        self.epoch += 1
        epoch = self.epoch
        active = list(range(self.num_workers))
        cycle = itertools.cycle(range(self.num_workers))
        tasks = index_batches
        sent = 0  # tasks handed out
        owner = {}  # task index -> worker, for tasks not yet yielded
        buffer = {}
        exhausted = False

        def send():
            nonlocal sent, exhausted
            if exhausted or not active:
                return False
            if tasks is None:
                indices = None
            else:
                try:
                    indices = next(tasks)
                except StopIteration:
                    exhausted = True
                    return False
            while True:
                w = next(cycle)
                if w in active:
                    break
            self.index_queues[w].put((epoch, sent, indices))
            owner[sent] = w
            sent += 1
            return True

        for _ in range(prefetch_factor * self.num_workers):
            if not send():
                break
        next_index = 0
        while next_index < sent:
            while next_index not in buffer:
                got_epoch, idx, data = self._get(timeout)
                if got_epoch == epoch:
                    buffer[idx] = data
            data = buffer.pop(next_index)
            worker = owner.pop(next_index)
            next_index += 1
            if isinstance(data, IterableEnd):
                if worker in active:
                    active.remove(worker)
                # Tasks already sent to that worker come back as ends too.
                send()
                continue
            if isinstance(data, WorkerError):
                data.reraise()
            send()
            yield unpack(data)
