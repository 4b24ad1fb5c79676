"""What this CPU and this build of pynn can run."""
from pynn.backend._kernels cimport (
    pynn_cpu_best_isa, pynn_cpu_isa_supported, pynn_openmp_enabled, pynn_openmp_max_threads)

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


def openmp_max_threads():
    """OpenMP's default number of threads (1 in a serial build)."""
    return pynn_openmp_max_threads()
