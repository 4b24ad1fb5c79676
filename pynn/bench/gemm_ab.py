"""GEMM rates on the shapes an A/B of two builds needs, one line per run.

Run it alternately against two builds (a worktree of the previous commit built in place,
put first on PYTHONPATH) and compare the medians; pin 1-thread runs to one core:

    PYTHONPATH=/tmp/old taskset -c 1 python -m pynn.bench.gemm_ab 1
    taskset -c 1 python -m pynn.bench.gemm_ab 1
    PYTHONPATH=/tmp/old python -m pynn.bench.gemm_ab 2
    python -m pynn.bench.gemm_ab 2

(A build older than this module has it as ``bench/gemm_ab.py``: run that file instead.)
"""

import sys
import time

import numpy as np

import pynn
from pynn.backend import get

SHAPES = [(64, 256, 1352), (8, 2048, 512), (32, 512, 128), (13, 801, 85), (64, 784, 100),
          (96, 1024, 1024), (128, 784, 256), (512, 512, 512)]  # (m, k, n)


def main(threads):
    gemm = get("compiled").gemm
    pynn.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rates = []
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        reps = max(3, int(2e8 / (2 * m * n * k)))
        times = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(reps):
                gemm(a, b)
            times.append((time.perf_counter() - start) / reps)
        rates.append(f"{m}x{k}x{n} {2 * m * n * k / np.median(times) / 1e9:.1f}")
    print(f"{pynn.__file__}, {threads} thread(s), GFLOP/s: " + " | ".join(rates))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
