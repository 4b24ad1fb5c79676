"""What pynn runs on this machine: ``pynn.show_config()``."""

import os
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


def _caches():
    """The data and unified caches of CPU 0 as {"L1d": bytes, "L2": ..., "L3": ...}, read from
    Linux's sysfs; empty elsewhere."""
    root = "/sys/devices/system/cpu/cpu0/cache"
    found = {}
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return found
    for entry in entries:
        if not entry.startswith("index"):
            continue
        try:
            read = {k: open(os.path.join(root, entry, k)).read().strip()
                    for k in ("level", "type", "size")}
        except OSError:
            continue
        if read["type"] == "Instruction":
            continue
        size = read["size"]
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:], 1)
        name = "L" + read["level"] + ("d" if read["type"] == "Data" else "")
        found[name] = int(size.rstrip("KMG")) * scale
    return found


def config():
    """What pynn runs on: a dict of the CPU, its caches, the build and the kernels chosen.

    Returns
    -------
    dict
        ``cpu``, ``caches`` (bytes per cache level of one core, Linux only), ``backend``,
        ``isa`` (the SIMD kernels in use) and ``isas`` (all this CPU and build can run),
        ``openmp``, ``threads``, and ``gemm_blocking``: for float32 and float64, the
        register block ``mr`` x ``nr`` and the cache blocks ``kc``, ``mc``, ``nc`` of the
        ISA in use.
    """
    from . import _active_name

    info = {"cpu": _cpu_model(), "caches": _caches(), "backend": _active_name,
            "threads": _runtime.get_num_threads()}
    try:
        from . import _cpu, compiled
    except ImportError:
        info.update(isa=None, isas=[], openmp=False, gemm_blocking={})
        return info
    isa = compiled.get_isa()
    number = _cpu.ISA_NAMES.index(isa)
    info.update(isa=isa, isas=compiled.available_isas(), openmp=compiled.openmp_enabled(),
                gemm_blocking={"float32": _cpu.gemm_blocking(number),
                               "float64": _cpu.gemm_blocking(number, True)})
    return info


def show_config():
    """Print what pynn runs on (see :func:`config`), one line a fact, and return the dict.

    Returns
    -------
    str
        The description, also printed.
    """
    info = config()
    caches = ", ".join(f"{k} {v // 1024} KiB" for k, v in info["caches"].items()) or "unknown"
    lines = [
        f"cpu: {info['cpu']}",
        f"caches (a core): {caches}",
        f"backend: {info['backend']}",
        f"isa: {info['isa']} (available: {', '.join(info['isas']) or 'none'})",
        f"openmp: {info['openmp']}, threads: {info['threads']}",
    ]
    for dtype, b in info["gemm_blocking"].items():
        lines.append(f"gemm {dtype}: register block {b['mr']}x{b['nr']}, kc {b['kc']}, "
                     f"mc {b['mc']}, nc {b['nc']}")
    print("\n".join(lines))
    return info
