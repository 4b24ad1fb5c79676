"""GEMM, float32: pynn against numpy.matmul (OpenBLAS) and PyTorch, at 1 and 2 threads, on
the square sizes and MNIST shapes of ``pynn.bench`` (``python -m pynn.bench`` prints the same
comparison as GFLOP/s tables)::

    pytest --pyargs pynn.bench.suite -k gemm --benchmark-only --benchmark-columns=median,iqr
"""

import numpy as np
import pytest

from pynn import bench
from pynn.backend import compiled

CASES = [(f"square {n}", n, n, n) for n in bench.SQUARE_SIZES] + list(bench.MNIST_GEMMS)
LIBRARIES = ["pynn", "numpy", "torch"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_gemm(benchmark, peers, threads, case, library):
    _, m, k, n = case
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.empty((m, n), np.float32)
    if library == "pynn":
        benchmark(compiled.gemm, a, b, out)
    elif library == "numpy":
        benchmark(np.matmul, a, b, out=out)
    else:
        if peers.torch is None:
            pytest.skip("PyTorch is not installed")
        ta, tb, tc = (peers.torch.from_numpy(v) for v in (a, b, out))
        benchmark(lambda: peers.torch.matmul(ta, tb, out=tc))
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["gflops"] = 2.0 * m * n * k / benchmark.stats.stats.median / 1e9
