"""Worker processes of the DataLoader: the loop each one runs, and what travels back.

Workers are started with ``spawn`` or ``forkserver`` (never a plain ``fork`` of a process that
has run OpenMP: GNU libgomp hangs the child). Each receives ``(epoch, batch_index, indices)``
tasks on its own queue and puts ``(epoch, batch_index, payload)`` on the shared result
queue; ``None`` tells it to stop. Tensors travel as their ndarrays (:func:`pack` /
:func:`unpack`), so nothing depends on how a Tensor pickles.
"""

import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

from ...tensor import Tensor, _wrap

_worker_info = None

# How often (seconds) a waiting worker checks that its parent is still alive.
_POLL = 1.0


class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker.

    Attributes
    ----------
    id : int
        This worker's index, ``0 <= id < num_workers``.
    num_workers : int
    seed : int
        The seed this worker's generators were given (``base_seed + id``).
    dataset : Dataset
        This worker's copy of the dataset.
    """

    def __init__(self, id, num_workers, seed, dataset):
        self.id = id
        self.num_workers = num_workers
        self.seed = seed
        self.dataset = dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, "
                f"seed={self.seed}, dataset={type(self.dataset).__name__})")


def get_worker_info():
    """Inside a DataLoader worker process, its ``WorkerInfo``; None in the main process.

    An :class:`~pynn.data.IterableDataset` uses it in ``__iter__`` to give each worker its share.

    Returns
    -------
    WorkerInfo or None
    """
    return _worker_info


class _Shipped:
    """A Tensor on its way from a worker: its array and ``requires_grad``."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array, requires_grad):
        self.array = array
        self.requires_grad = requires_grad


def pack(obj):
    """``obj`` with every Tensor (through lists, tuples, namedtuples, dicts) replaced by a
    :class:`_Shipped`."""
    if isinstance(obj, Tensor):
        return _Shipped(obj._data, obj.requires_grad)
    if isinstance(obj, list):
        return [pack(v) for v in obj]
    if isinstance(obj, tuple):
        items = [pack(v) for v in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, pack(v)) for k, v in obj.items())
    return obj


def unpack(obj):
    """The inverse of :func:`pack`."""
    if isinstance(obj, _Shipped):
        return _wrap(obj.array, None).requires_grad_(obj.requires_grad)
    if isinstance(obj, list):
        return [unpack(v) for v in obj]
    if isinstance(obj, tuple):
        items = [unpack(v) for v in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, unpack(v)) for k, v in obj.items())
    return obj


class WorkerError:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, worker_id, exc):
        self.exc_type = type(exc)
        self.worker_id = worker_id
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process "
                        f"{worker_id}.\nOriginal Traceback (most recent call last):\n"
                        + "".join(traceback.format_exception(type(exc), exc,
                                                             exc.__traceback__)[1:]))

    def __reduce__(self):
        # The exception type travels by reference; a type the parent cannot import
        # (defined in a worker-only module) falls back to RuntimeError.
        exc_type = self.exc_type
        try:
            pickle.dumps(exc_type)
        except Exception:  # noqa: BLE001 - whatever fails to pickle travels as RuntimeError
            exc_type = RuntimeError
        return (_rebuild_error, (exc_type, self.worker_id, self.message))

    def reraise(self):
        """Raise the worker's exception in this process, its message holding the worker's
        traceback."""
        if self.exc_type is KeyError:  # KeyError's str() shows the repr: keep it readable
            raise KeyError(self.message)
        try:
            exc = self.exc_type(self.message)
        except Exception:  # noqa: BLE001 - a type whose constructor takes other arguments
            exc = RuntimeError(self.message)
        raise exc


def _rebuild_error(exc_type, worker_id, message):
    err = WorkerError.__new__(WorkerError)
    err.exc_type, err.worker_id, err.message = exc_type, worker_id, message
    return err


class IterableEnd:
    """A worker's iterable dataset is exhausted for this epoch."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


def _seed_everything(seed, worker_id, base_seed):
    from ... import random as pynn_random

    pynn_random.manual_seed(seed)
    random.seed(seed)
    # The legacy NumPy global state too, as many augmentation scripts use np.random.
    np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(1)[0])


def worker_loop(fetcher, index_queue, result_queue, worker_id, num_workers, base_seed,
                init_fn, parent_pid):
    """The body of worker ``worker_id`` (runs in the child process)."""
    global _worker_info
    try:
        from ...backend import set_num_threads

        set_num_threads(1)  # the main process's kernels keep the cores
    except (ImportError, OSError, RuntimeError):
        pass
    seed = base_seed + worker_id
    _seed_everything(seed, worker_id, base_seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetcher.dataset)
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            init_error = WorkerError(worker_id, exc)
    epoch = None
    try:
        while True:
            try:
                task = index_queue.get(timeout=_POLL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the parent died: nobody will read
                    break
                continue
            except (EOFError, OSError):
                break
            if task is None:
                break
            task_epoch, idx, indices = task
            if init_error is not None:
                result_queue.put((task_epoch, idx, init_error))
                continue
            try:
                if fetcher.iterable:
                    if task_epoch != epoch:
                        fetcher.reset()
                    try:
                        data = pack(fetcher.next_batch())
                    except StopIteration:
                        data = IterableEnd(worker_id)
                else:
                    data = pack(fetcher.fetch(indices))
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                data = WorkerError(worker_id, exc)
            epoch = task_epoch
            try:
                result_queue.put((task_epoch, idx, data))
            except Exception as exc:  # noqa: BLE001 - e.g. the batch cannot be pickled
                result_queue.put((task_epoch, idx, WorkerError(worker_id, exc)))
    except KeyboardInterrupt:
        pass
    finally:
        # Leave at once even if results are still unread (the parent may have broken its
        # loop early and stopped reading).
        result_queue.cancel_join_thread()
        sys.stdout.flush()
