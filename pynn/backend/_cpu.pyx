"""What this CPU and this build of pynn can run."""
from libc.stdint cimport int64_t
from pynn.backend._kernels cimport (
    pynn_cpu_best_isa, pynn_cpu_isa_supported, pynn_fma_probe_f32, pynn_gemm_blocking_of,
    pynn_openmp_enabled)
import time

ISA_NAMES = ("generic", "avx2", "avx512")


def isa_supported(int isa):
    """True when kernels for ISA number ``isa`` are built and this CPU can run them."""
    return bool(pynn_cpu_isa_supported(isa))


def best_isa():
    """Number of the best ISA this CPU can run (index into ISA_NAMES)."""
    return pynn_cpu_best_isa()


def openmp_enabled():
    """True when the kernels were built with OpenMP."""
    return bool(pynn_openmp_enabled())


def gemm_blocking(int isa, bint double=False):
    """GEMM's blocks for ISA number ``isa`` in float32 (or float64 with ``double``): a dict
    of the register block ``mr`` x ``nr`` and the cache blocks ``kc``, ``mc``, ``nc``."""
    if not 0 <= isa < len(ISA_NAMES):
        raise ValueError(f"gemm_blocking: no ISA number {isa}")
    cdef int64_t out[5]
    pynn_gemm_blocking_of(isa, double, out)
    return dict(zip(("mr", "nr", "kc", "mc", "nc"), [out[i] for i in range(5)]))


def fma_peak_gflops(int isa, double seconds=0.2):
    """Measured float32 FMA throughput of one core with ISA ``isa``, in GFLOP/s: the best of
    several timed runs of independent FMA chains (the micro-kernel's instructions). An ISA
    this CPU cannot run is a ValueError (running it would kill the process with SIGILL)."""
    if not pynn_cpu_isa_supported(isa):
        names = ISA_NAMES[isa] if 0 <= isa < len(ISA_NAMES) else isa
        raise ValueError(f"fma_peak_gflops: ISA {names!r} is not supported on this CPU "
                         f"(best: {ISA_NAMES[pynn_cpu_best_isa()]!r})")
    cdef float sink = 0
    cdef int64_t rounds = 1 << 16, flops
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        with nogil:
            flops = pynn_fma_probe_f32(isa, rounds, &sink)
        elapsed = time.perf_counter() - start
        if elapsed < 1e-3:
            rounds *= 4
            continue
        best = max(best, flops / elapsed / 1e9)
        if time.perf_counter() > deadline:
            return best
