"""What pynn runs on this machine: ``pynn.show_config()``."""

import platform

from . import _runtime


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def config():
    """What pynn runs on: a dict of the CPU, its caches, the build and the kernels chosen.

    Returns
    -------
    dict
        ``cpu``; ``caches``: bytes of each data cache level of one core (``"L1d"``, ``"L2"``,
        ``"L3"``), as the compiled kernels read them; ``cache_source``: where from
        (``"cpuid"``, ``"sysfs"``, ``"sysctl"``, ``"default"``, or None without compiled
        kernels); ``backend``; ``isa`` (the SIMD kernels in use) and ``isas`` (all this CPU
        and build can run); ``openmp``; ``threads`` (:func:`pynn.get_num_threads`) and
        ``threads_in_use`` (with the default count, fewer while other processes keep the
        cores busy or where training steps ran faster with fewer; see
        :func:`pynn.get_num_threads`); ``round_trip_ns``: how far apart two threads of the
        kernels' team are, the nanoseconds a cache line takes between them and back (tens
        on one die, hundreds across dies; None with fewer than 2 threads or no OpenMP);
        ``wide_speedup``: the measured float32 FMA throughput of AVX-512's 512-bit vectors over
        256-bit ones (about 1 where the core splits them in halves, 2 with full-width units;
        1 without AVX-512; None without compiled kernels); and
        ``gemm_blocking``: for float32
        and float64, the register block ``mr`` x ``nr`` and the cache blocks ``kc``,
        ``mc``, ``nc`` of the ISA in use, and their ``source`` (``"model"``, computed from
        the caches, or ``"PYNN_GEMM_BLOCKING"``, the environment variable
        ``PYNN_GEMM_BLOCKING="mc,kc,nc"`` read at the first GEMM; an empty field keeps the
        model's value, which for mc and nc follows a given kc).
    """
    from . import _active_name

    info = {"cpu": _cpu_model(), "caches": {}, "cache_source": None,
            "backend": _active_name, "threads": _runtime.get_num_threads(),
            "threads_in_use": _runtime.kernel_threads(), "round_trip_ns": None,
            "wide_speedup": None}
    try:
        from . import _native, compiled
    except ImportError:
        info.update(isa=None, isas=[], openmp=False, gemm_blocking={})
        return info
    if info["threads"] > 1:
        info["round_trip_ns"] = _native.team_round_trip_ns()
    read = _native.caches()
    info["cache_source"] = read.pop("source")
    info["caches"] = {level: c["size"] for level, c in read.items()}
    isa = compiled.get_isa()
    number = _native.ISA_NAMES.index(isa)
    info.update(isa=isa, isas=compiled.available_isas(), openmp=compiled.openmp_enabled(),
                wide_speedup=_native.wide_vector_speedup(),
                gemm_blocking={"float32": _native.gemm_blocking(number),
                               "float64": _native.gemm_blocking(number, True)})
    return info


def show_config():
    """Print what pynn runs on (:func:`pynn.backend.config`), a line a fact; return the dict.

    Returns
    -------
    dict
        What :func:`pynn.backend.config` returns, also printed.
    """
    info = config()
    caches = ", ".join(f"{k} {v // 1024} KiB" for k, v in info["caches"].items()) or "unknown"
    if info["cache_source"]:
        caches += f" (from {info['cache_source']})"
    lines = [
        f"cpu: {info['cpu']}",
        f"caches (a core): {caches}",
        f"backend: {info['backend']}",
        f"isa: {info['isa']} (available: {', '.join(info['isas']) or 'none'})",
        f"openmp: {info['openmp']}, threads: {info['threads']} ({info['threads_in_use']} in use)",
    ]
    if info["round_trip_ns"] is not None:
        lines.append(f"threads' cache-line round trip: {info['round_trip_ns']:.0f} ns (tens: "
                     f"one die; hundreds: different dies)")
    if info["wide_speedup"] is not None and "avx512" in info["isas"]:
        lines.append(f"512-bit FMA throughput: {info['wide_speedup']:.2f}x 256-bit's "
                     f"(about 1: split in halves; 2: full-width units)")
    for dtype, b in info["gemm_blocking"].items():
        lines.append(f"gemm {dtype}: register block {b['mr']}x{b['nr']}, kc {b['kc']}, "
                     f"mc {b['mc']}, nc {b['nc']} (from {b['source']})")
    print("\n".join(lines))
    return info
