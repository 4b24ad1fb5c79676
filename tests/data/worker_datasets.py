"""Datasets for the worker tests. Worker processes are started with spawn/forkserver and
unpickle the dataset by module name, so these live in a module the children can import
(test modules are imported by pytest under names they cannot)."""

import os
import random

import numpy as np

import pynn
from pynn.utils.data import Dataset, IterableDataset, get_worker_info


class Probe(Dataset):
    """Sample i: (i, worker id, pid, draws from pynn's, NumPy's and Python's generators)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        return {"i": i, "worker": -1 if info is None else info.id, "pid": os.getpid(),
                "seed": -1 if info is None else info.seed,
                "pynn": float(pynn.random.get_generator().random()),
                "numpy": float(np.random.rand()), "random": random.random()}


class Fails(Dataset):
    """Raises ValueError on sample ``bad``."""

    def __init__(self, n, bad):
        self.n = n
        self.bad = bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"sample {i} is broken")
        return np.full(3, i, np.float32), i


class Shards(IterableDataset):
    """range(n), each worker taking every num_workers-th item."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def init_marks_worker(worker_id):
    os.environ["PYNN_TEST_WORKER"] = str(worker_id)


class ReportsInit(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return os.environ.get("PYNN_TEST_WORKER", "none")


def init_fails(worker_id):
    raise RuntimeError(f"init of worker {worker_id} failed")


def add_one(x):
    """A batch transform, run in the workers."""
    return x + 1


class Slow(Dataset):
    """Ten samples, each taking 0.2 s (a worker to kill mid-epoch)."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        import time

        time.sleep(0.2)
        return i
