"""Timing with medians and spread, and the peer libraries pinned to pynn's thread count."""

import contextlib
import os
import statistics
import time

import numpy as np

import pynn

# OpenMP runtimes keep their threads spinning for a while after a parallel region (Intel's,
# inside PyTorch, for 200 ms by default, its KMP_BLOCKTIME). Measured without a pause, the
# library timed next shares its cores with those spinners: pynn's 2-thread GEMM measured right
# after PyTorch's ran far below its speed alone.
SETTLE_SECONDS = 0.3


# A sample shorter than this is mostly timer and loop overhead and the jitter of a shared
# machine: calls faster than it are timed in batches (as timeit and pytest-benchmark do).
MIN_SAMPLE_SECONDS = 2e-3

# Fewer samples give no quartiles worth quoting.
MIN_SAMPLES = 3

# The thread count Peers.set_threads pinned every library to; None until then, when the
# libraries run at their own defaults.
_pinned_threads = None


def settle():
    """Wait SETTLE_SECONDS, so that threads of the previously timed library have gone to
    sleep; no wait when every library runs on one thread, which leaves none spinning."""
    threads = _pinned_threads if _pinned_threads is not None else os.cpu_count() or 1
    if threads > 1:
        time.sleep(SETTLE_SECONDS)


def _calls_per_sample(fn, warmup):
    """Warm ``fn`` up, then how many calls of it make a sample of MIN_SAMPLE_SECONDS."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    return 1 if once >= MIN_SAMPLE_SECONDS else int(MIN_SAMPLE_SECONDS / max(once, 1e-7)) + 1


def _summary(times, calls):
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return {"median": statistics.median(times), "q1": q1, "q3": q3, "runs": len(times),
            "calls": calls}


def measure(fn, repeat=15, warmup=2, max_seconds=3.0):
    """Time ``fn()``: ``{"median", "q1", "q3", "runs", "calls"}``, seconds per call, over up
    to ``repeat`` samples after ``warmup`` calls, stopping early once ``max_seconds`` have
    been spent (at least MIN_SAMPLES samples). A call shorter than MIN_SAMPLE_SECONDS is
    repeated ``calls`` times per sample so that each sample lasts about that long. Starts
    with :func:`settle`."""
    return measure_together({"fn": fn}, repeat, warmup, max_seconds, rounds=1)["fn"]


def measure_together(fns, repeat=15, warmup=2, max_seconds=3.0, rounds=3):
    """Time the libraries of one case, ``{name: fn or None}``, in alternating rounds, so that
    a slow phase of a shared machine, which lasts longer than one library's samples, slows
    every library alike instead of whichever was timed then. Returns ``{name: sample or
    None}`` with the samples of :func:`measure`.

    Each round takes about ``repeat / rounds`` samples of each library in turn, moving on once
    ``max_seconds / rounds`` have been spent on it (at least MIN_SAMPLES samples of each over
    all rounds). The ``warmup`` calls and the choice of calls per sample come before a
    library's first round. Each switch to another library starts with :func:`settle` and,
    from the second round on, one untimed call, which wakes the threads the pause put to sleep
    and brings back the operands that the libraries in between evicted from the caches."""
    active = {name: fn for name, fn in fns.items() if fn is not None}
    calls, times = {}, {name: [] for name in active}
    budget = max_seconds / rounds
    previous = None
    for done in range(1, rounds + 1):
        # counts after this round, so that the rounds share ``repeat`` and MIN_SAMPLES evenly
        most = repeat * done // rounds
        least = min(most, -(-MIN_SAMPLES * done // rounds))
        for name, fn in active.items():
            samples = times[name]
            if len(samples) >= most:
                continue
            if name != previous:
                settle()
                if name in calls:
                    fn()
                else:
                    calls[name] = _calls_per_sample(fn, warmup)
            previous = name
            start = time.perf_counter()
            while len(samples) < most and (len(samples) < least
                                           or time.perf_counter() - start < budget):
                t0 = time.perf_counter()
                for _ in range(calls[name]):
                    fn()
                samples.append((time.perf_counter() - t0) / calls[name])
    return {name: _summary(times[name], calls[name]) if name in active else None
            for name in fns}


def median(sample):
    """The median of a :func:`measure` sample (None stays None)."""
    return None if sample is None else sample["median"]


def spread(sample):
    """Half the interquartile range relative to the median: the "±" quoted beside a median."""
    return (sample["q3"] - sample["q1"]) / 2 / sample["median"]


class Peers:
    """The other libraries, pinned to the same thread count as pynn."""

    def __init__(self):
        try:
            import threadpoolctl

            self._pool = threadpoolctl
        except ImportError:
            self._pool = None
        try:
            import torch

            self.torch = torch
        except ImportError:
            self.torch = None
        self._limit = None

    def set_threads(self, n):
        """Pin every library to ``n`` threads; pynn at the machine's core count keeps its
        default count instead (``n`` threads, fewer for training steps that were timed
        faster with fewer: what a user who sets nothing gets)."""
        from pynn.backend import _runtime

        global _pinned_threads
        _pinned_threads = n

        if n == _runtime._default_num_threads():
            _runtime._use_default_count()
        else:
            pynn.set_num_threads(n)
        if self._limit is not None:
            self._limit.unregister()
        if self._pool is not None:
            self._limit = self._pool.threadpool_limits(limits=n)
        if self.torch is not None:
            self.torch.set_num_threads(n)

    def notes(self):
        notes = []
        if self._pool is None:
            notes.append("threadpoolctl missing: NumPy's BLAS threads were not pinned")
        if self.torch is None:
            notes.append("PyTorch not installed: its columns are empty "
                         "(`pip install torch==2.13.0`)")
        return notes


def rng_arrays(*shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@contextlib.contextmanager
def on_backend(name):
    """Run the enclosed code with pynn's layers on backend ``name``, then restore."""
    previous = pynn.get_backend()
    pynn.set_backend(name)
    try:
        yield
    finally:
        pynn.set_backend(previous)
