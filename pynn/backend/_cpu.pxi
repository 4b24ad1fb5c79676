# What this CPU and this build of pynn can run.

import os
import time
import warnings

ISA_NAMES = ("generic", "avx2", "avx512")
CACHE_LEVELS = ("L1d", "L2", "L3")
# pynn_gemm_blocking_of's sources, in gemm.h's order.
_BLOCKING_SOURCES = ("model", "PYNN_GEMM_BLOCKING", "model (PYNN_GEMM_BLOCKING malformed)")
_BLOCK_NAMES = ("mr", "nr", "kc", "mc", "nc")


def isa_supported(int isa):
    """True when kernels for ISA number ``isa`` are built and this CPU can run them."""
    return bool(pynn_cpu_isa_supported(isa))


def best_isa():
    """Number of the best ISA this CPU can run (index into ISA_NAMES)."""
    return pynn_cpu_best_isa()


def openmp_enabled():
    """True when the kernels were built with OpenMP."""
    return bool(pynn_openmp_enabled())


def team_round_trip_ns(int rounds=2000):
    """How far apart the first two threads of an OpenMP team are now, in nanoseconds.

    The median time a cache line takes from one to the other and back (csrc/cpu.h); None
    without OpenMP or when a team gets a single thread.

    Parameters
    ----------
    rounds : int
        Round trips in each of the 5 samples.

    Returns
    -------
    float or None
    """
    cdef double ns
    with nogil:
        ns = pynn_team_round_trip_ns(rounds)
    return None if ns < 0 else ns


def wide_vector_speedup():
    """How many times the float32 FMA throughput of 256-bit vectors the AVX-512 kernels'
    512-bit ones reach on this core, measured once (csrc/cpu.h): about 1 where the core splits
    512-bit operations in halves (Zen 4), about 2 with full-width units (Zen 5, Intel's server
    cores); 1 without AVX-512. Kernels that can take a row in either width weigh by it.

    Returns
    -------
    float
    """
    cdef double speedup
    with nogil:
        speedup = pynn_cpu_wide_speedup()
    return speedup


cdef dict _level(pynn_cache_level c):
    return {"size": c.size, "ways": c.ways, "line": c.line, "sharing": c.sharing}


def caches():
    """The data caches of one core as the GEMM's blocking model reads them (in C, once).

    Returns
    -------
    dict
        ``source`` (``"cpuid"``, ``"sysfs"``, ``"sysctl"``, or ``"default"`` when nothing
        could be read) and, for each level present among ``"L1d"``, ``"L2"``, ``"L3"``, a
        dict of ``size`` (bytes), ``ways``, ``line`` (bytes) and ``sharing`` (logical CPUs
        sharing the cache).
    """
    return _info(pynn_cpu_caches())


cdef dict _info(const pynn_cache_info *ci):
    out = {"source": ci.source.decode()}
    for name, level in zip(CACHE_LEVELS, (_level(ci.l1d), _level(ci.l2), _level(ci.l3))):
        if level["size"] > 0:
            out[name] = level
    return out


CACHE_SOURCES = ("cpuid", "sysfs", "sysctl", "default")


def caches_from(str source):
    """What one source alone gives, read now (as :func:`caches`), or None when it gives
    nothing on this machine; :func:`caches` takes the first of ``CACHE_SOURCES`` that does.

    Parameters
    ----------
    source : str
        One of ``CACHE_SOURCES``.

    Returns
    -------
    dict or None
    """
    if source not in CACHE_SOURCES:
        raise ValueError(f"caches_from: unknown source {source!r}; expected one of "
                         f"{CACHE_SOURCES}")
    cdef pynn_cache_info ci
    encoded = source.encode()
    if not pynn_cpu_caches_from(encoded, &ci):
        return None
    return _info(&ci)


_this_cpu_caches = caches


def _check_isa(str where, int isa):
    if not 0 <= isa < len(ISA_NAMES):
        raise ValueError(f"{where}: no ISA number {isa} (0 to {len(ISA_NAMES) - 1})")


def gemm_blocking(int isa, bint double=False):
    """GEMM's blocks for ISA number ``isa`` in float32 (or float64 with ``double``), as every
    call uses them: the register block ``mr`` x ``nr`` and the cache blocks ``kc``, ``mc``,
    ``nc`` (ints), and ``source``: ``"model"`` (from :func:`caches`), or
    ``"PYNN_GEMM_BLOCKING"`` when that variable (``"mc,kc,nc"``, fields may be empty) set
    them at the first GEMM."""
    _check_isa("gemm_blocking", isa)
    cdef int64_t out[5]
    source = pynn_gemm_blocking_of(isa, double, out)
    blocks = dict(zip(_BLOCK_NAMES, [out[i] for i in range(5)]))
    blocks["source"] = _BLOCKING_SOURCES[source]
    return blocks


cdef int _fill_level(pynn_cache_level *c, str name, value) except -1:
    c.size = c.ways = c.line = c.sharing = 0
    if value is None:
        return 0
    if isinstance(value, dict):
        unknown = set(value) - {"size", "ways", "line", "sharing"}
        if unknown:
            raise ValueError(f"gemm_blocking_model: unknown keys {sorted(unknown)} for {name}")
        c.size = int(value.get("size", 0))
        c.ways = int(value.get("ways", 0))
        c.line = int(value.get("line", 0))
        c.sharing = int(value.get("sharing", 0))
    else:
        c.size = int(value)
    if c.size < 0 or c.ways < 0 or c.line < 0 or c.sharing < 0:
        raise ValueError(f"gemm_blocking_model: negative figure for {name}: {value!r}")
    return 0


def gemm_blocking_model(int isa, bint double=False, caches=None):
    """The blocks the model would choose on a CPU with other caches (for reports: what a
    machine this is not would run), without changing what GEMM uses.

    Parameters
    ----------
    isa : int
        ISA number (index into ``ISA_NAMES``): sets the register block.
    double : bool
        float64 instead of float32.
    caches : dict, optional
        As :func:`caches` returns it: ``"L1d"``, ``"L2"``, ``"L3"`` each a size in bytes or
        a dict of ``size``, ``ways``, ``line``, ``sharing`` (absent: 8 ways, 16 for L3, 64
        byte lines, not shared); a missing level is absent. Default: this CPU's.

    Returns
    -------
    dict
        ``mr``, ``nr``, ``kc``, ``mc``, ``nc``.
    """
    _check_isa("gemm_blocking_model", isa)
    if caches is None:
        caches = _this_cpu_caches()
    unknown = set(caches) - set(CACHE_LEVELS) - {"source"}
    if unknown:
        raise ValueError(f"gemm_blocking_model: unknown cache levels {sorted(unknown)}; "
                         f"expected {CACHE_LEVELS}")
    cdef pynn_cache_info ci
    _fill_level(&ci.l1d, "L1d", caches.get("L1d"))
    _fill_level(&ci.l2, "L2", caches.get("L2"))
    _fill_level(&ci.l3, "L3", caches.get("L3"))
    if ci.l1d.size <= 0 or ci.l2.size <= 0:
        raise ValueError("gemm_blocking_model: L1d and L2 sizes are required, got "
                         f"{caches!r}")
    ci.source = NULL
    cdef int64_t out[5]
    pynn_gemm_blocking_model(isa, double, &ci, out)
    return dict(zip(_BLOCK_NAMES, [out[i] for i in range(5)]))


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


def _check_override():
    """A PYNN_GEMM_BLOCKING that does not parse is ignored by C, which cannot say so: warn."""
    value = os.environ.get("PYNN_GEMM_BLOCKING")
    if value and gemm_blocking(best_isa())["source"] != "PYNN_GEMM_BLOCKING":
        warnings.warn(f"PYNN_GEMM_BLOCKING={value!r} ignored: expected 'mc,kc,nc', positive "
                      "integers or empty fields (the model's value), e.g. '144,256,' "
                      "(see pynn.show_config())", RuntimeWarning, stacklevel=2)


_check_override()
