"""GEMM benchmarks: pynn's compiled gemm against numpy.matmul (OpenBLAS) and PyTorch (CPU).

Run as pytest-benchmark benchmarks::

    python -m pytest bench/bench_gemm.py --benchmark-only -p no:cacheprovider

or print a table of median GFLOP/s at 1 and 2 threads::

    python bench/bench_gemm.py --report [--repeat 30] [--threads 1 2]

Every library runs at the same thread count: OpenBLAS is pinned with threadpoolctl, PyTorch
with ``torch.set_num_threads`` and pynn with ``pynn.set_num_threads``. All float32.
"""

import argparse
import contextlib
import sys
import time

import numpy as np
import pytest

if __name__ == "__main__" and __package__ is None:
    # Run as a script from a source tree: import the pynn next to bench/.
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pynn  # noqa: E402
from pynn.backend import get  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl is a bench requirement
    threadpool_limits = None

try:
    import torch
except Exception:  # noqa: BLE001 - any import failure means "no torch"
    torch = None

SQUARE = [64, 128, 256, 512, 1024, 2048]
# (name, m, k, n): C (m x n) = A (m x k) B (k x n)
MNIST = [
    ("mlp 100x784.784x100", 100, 784, 100),
    ("mlp 128x784.784x256", 128, 784, 256),
    ("mlp 128x256.256x10", 128, 256, 10),
    ("conv1 im2col 30x25.25x576", 30, 25, 576),
    ("conv2 im2col 16x150.150x64", 16, 150, 64),
    ("conv3 im2col 64x288.288x784", 64, 288, 784),
]
SHAPES = [(f"square {n}", n, n, n) for n in SQUARE] + MNIST
THREADS = [1, 2]
LIBRARIES = ["pynn", "numpy"] + (["torch"] if torch is not None else [])


@contextlib.contextmanager
def threads(n):
    """Run pynn, OpenBLAS and PyTorch on ``n`` threads, restoring them afterwards."""
    previous = pynn.get_num_threads()
    previous_torch = torch.get_num_threads() if torch is not None else None
    pynn.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    limits = threadpool_limits(limits=n) if threadpool_limits else contextlib.nullcontext()
    try:
        with limits:
            yield
    finally:
        pynn.set_num_threads(previous)
        if torch is not None:
            torch.set_num_threads(previous_torch)


def make_call(library, m, k, n, seed=0):
    """Return a no-argument function computing one (m x k) @ (k x n) product in place."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    if library == "pynn":
        gemm = get("compiled").gemm
        return lambda: gemm(a, b, out)
    if library == "numpy":
        return lambda: np.matmul(a, b, out=out)
    if library == "torch":
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        return lambda: torch.matmul(ta, tb, out=tout)
    raise ValueError(library)


def _id(shape):
    return shape[0].replace(" ", "_")


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("shape", SHAPES, ids=_id)
def test_gemm_speed(benchmark, shape, library, n_threads):
    name, m, k, n = shape
    call = make_call(library, m, k, n)
    with threads(n_threads):
        call()  # warm up: thread pools, page faults
        benchmark.extra_info["gflop"] = 2.0 * m * n * k / 1e9
        benchmark.group = f"gemm {name} t={n_threads}"
        benchmark(call)


def median_seconds(call, repeat, min_time=0.02):
    """Median over ``repeat`` samples; each sample loops until it lasts ``min_time``."""
    call()
    t0 = time.perf_counter()
    call()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_time / once))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        samples.append((time.perf_counter() - t0) / inner)
    return float(np.median(samples))


def report(repeat=15, thread_counts=THREADS, shapes=SHAPES, file=sys.stdout):
    """Print median GFLOP/s of pynn, numpy (and torch) and the ratios; return the rows."""
    rows = []
    libs = LIBRARIES
    header = f"{'shape':30s} {'thr':>3s} " + " ".join(f"{lib:>7s}" for lib in libs)
    header += " " + " ".join(f"{'pynn/' + lib:>10s}" for lib in libs[1:])
    print("GEMM float32, median GFLOP/s", file=file)
    print(header, file=file)
    for nt in thread_counts:
        with threads(nt):
            for name, m, k, n in shapes:
                flop = 2.0 * m * n * k
                gf = {}
                # Interleave the libraries so that background load hits them alike; pause
                # between them so that the previous library's worker threads (OpenBLAS and
                # OpenMP spin for a while after a call) have gone to sleep.
                for lib in libs:
                    time.sleep(0.3)
                    gf[lib] = flop / median_seconds(make_call(lib, m, k, n), repeat) / 1e9
                line = f"{name:30s} {nt:3d} " + " ".join(f"{gf[lib]:7.1f}" for lib in libs)
                line += " " + " ".join(f"{gf['pynn'] / gf[lib]:10.2f}" for lib in libs[1:])
                print(line, file=file, flush=True)
                rows.append(dict(shape=name, threads=nt, **gf))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print the GFLOP/s table")
    parser.add_argument("--repeat", type=int, default=15, help="samples per median")
    parser.add_argument("--threads", type=int, nargs="+", default=THREADS)
    args = parser.parse_args(argv)
    if not args.report:
        parser.print_help()
        return 0
    version = "not installed" if torch is None else torch.__version__
    print(f"pynn isa={get('compiled').get_isa()}, torch {version}")
    report(args.repeat, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
