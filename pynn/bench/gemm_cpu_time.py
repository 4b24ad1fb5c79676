"""GEMM rates in process CPU time, one library per process, one JSON line per run.

On a shared machine a wall clock times the other users too; a process's CPU time does not
count the time it was descheduled, so 1-thread figures stay comparable under load (they
still pay for caches that others evicted). With threads it counts spinning at barriers:
use it for 1 thread only. Alternate builds and libraries in separate processes, e.g.

    for r in 1 2 3; do
      PYTHONPATH=/tmp/old taskset -c 1 python -m pynn.bench.gemm_cpu_time pynn 1 --cpu-time
      taskset -c 1 python -m pynn.bench.gemm_cpu_time pynn 1 --cpu-time
      OPENBLAS_NUM_THREADS=1 taskset -c 1 python -m pynn.bench.gemm_cpu_time numpy 1 --cpu-time
    done

and take each shape's median over the runs. Arguments: library (pynn or numpy), threads,
then optional shapes m x k x n ("512x512x512"); ``--float64`` times float64, ``--cpu-time``
CPU time (default: wall clock). Each figure is the best of 15 samples of about 10 ms.
(Before this module, ``bench/gemm_cpu_time.py`` took ``GB_F64=1`` and ``GB_CPU=1`` for
those two.)
"""

import argparse
import json
import time

import numpy as np

# (m, k, n): the squares and MNIST shapes of python -m pynn.bench, and a tall product.
SHAPES = [(n, n, n) for n in (64, 128, 256, 512, 1024, 2048)] + [
    (100, 784, 100), (128, 784, 256), (128, 256, 10), (30, 25, 576), (16, 150, 64),
    (64, 288, 784), (4096, 512, 128)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pynn.bench.gemm_cpu_time",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("library", choices=("pynn", "numpy"))
    parser.add_argument("threads", type=int)
    parser.add_argument("shapes", nargs="*", metavar="MxKxN",
                        help="GEMM shapes (default: the benchmark's squares and MNIST shapes)")
    parser.add_argument("--float64", action="store_true", help="time float64 (default float32)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the process's CPU time (default: wall clock)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    lib, threads = args.library, args.threads
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes] or SHAPES
    dtype = np.float64 if args.float64 else np.float32
    cpu_time = args.cpu_time
    clock = time.process_time if cpu_time else time.perf_counter
    if lib == "pynn":
        import pynn
        from pynn.backend import get

        pynn.set_num_threads(threads)
        gemm = get("compiled").gemm

        def run(a, b, c):
            gemm(a, b, c)
    else:
        def run(a, b, c):
            np.matmul(a, b, out=c)
    rng = np.random.default_rng(0)
    rates = {}
    for m, k, n in shapes:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        c = np.empty((m, n), dtype)
        run(a, b, c)
        start = clock()
        run(a, b, c)
        reps = max(1, int(0.01 / max(clock() - start, 1e-7)))
        samples = []
        for _ in range(15):
            start = clock()
            for _ in range(reps):
                run(a, b, c)
            samples.append((clock() - start) / reps / (threads if cpu_time else 1))
        rates[f"{m}x{k}x{n}"] = 2.0 * m * n * k / min(samples) / 1e9
    print(json.dumps(rates))


if __name__ == "__main__":
    main()
