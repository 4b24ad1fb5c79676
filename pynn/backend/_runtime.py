"""Thread count and instruction set used by the compiled kernels (pure Python state, read by
the compiled backend at every call, so changes apply immediately)."""

import os
import threading
import time

_num_threads = None
_chosen = False  # set_num_threads was called: nothing else changes the count
_isa = None


# glibc's mallopt parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 << 20  # the largest value glibc accepts on 64-bit systems
_TRIM_THRESHOLD = 1 << 30


def _keep_freed_memory():
    """Ask glibc's allocator to keep freed memory for the next allocation instead of returning
    it to the system: every step of training allocates and frees arrays of the same large
    sizes (activations and their gradients), and by default glibc unmaps each one above its
    mmap threshold and trims the heap's top above its trim threshold, so that the next step
    takes fresh pages, each faulted in and zeroed by the kernel. Arrays up to 32 MiB then
    come from the heap, and up to 1 GiB of freed heap stays with the process.

    Done once when pynn's backend is imported, on glibc only, and not when the environment
    already sets glibc's allocator options (``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) or ``PYNN_KEEP_FREED_MEMORY=0``.

    Returns
    -------
    bool
        Whether the thresholds were set.
    """
    if os.environ.get("PYNN_KEEP_FREED_MEMORY", "1").strip() == "0" or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                            "GLIBC_TUNABLES")):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it, and mallopt's meaning)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
                and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _default_num_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n >= 1:
            return n
    return _usable_cores()


def get_num_threads():
    """Return the number of threads pynn's kernels use.

    Defaults to ``OMP_NUM_THREADS`` when set, else the number of cores this process may run on.
    With that default (neither ``OMP_NUM_THREADS`` nor :func:`set_num_threads` chose the
    count), the kernels use fewer threads while other processes keep the cores busy (the
    calling thread waits for a core more than 15% of its time), and this many again once
    the cores are free: a team of threads waits at every barrier for its member whose core
    another process holds. ``PYNN_ADAPTIVE_THREADS=0`` turns that off.

    Returns
    -------
    int
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_num_threads()
    return _num_threads


def set_num_threads(n):
    """Set the number of threads pynn's kernels use; it applies from the next kernel call.

    Parameters
    ----------
    n : int
        At least 1 (ValueError otherwise).
    """
    global _num_threads, _chosen
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected an integer >= 1, got {n!r}")
    _num_threads = n
    _chosen = True


# The count the kernels use while other processes hold the cores, when the count is the
# default (a count the user chose is used as it is, as PyTorch does). A team of threads meets at
# every barrier of every parallel region, and each meeting waits for the member whose core
# another process holds: with one core of two taken by a busy process, a 2-thread GEMM of a
# fraction of a millisecond took many times as long as on one thread (bench/RESULTS.md). So
# while the calling thread spends more than _CONTENDED of its time waiting for a core, the
# count is halved; after a hold it is doubled again, and the hold doubles (up to _HOLD_MAX)
# each time the doubled count meets contention at once. Read from the thread's run delay in
# /proc (Linux); PYNN_ADAPTIVE_THREADS=0 turns it off.
_WINDOW = 0.1  # seconds between readings of the run delay
_CONTENDED = 0.15  # fraction of a window spent waiting for a core
_HOLD_MIN, _HOLD_MAX = 1.0, 16.0  # seconds before the count is raised again
_adaptive = (os.environ.get("PYNN_ADAPTIVE_THREADS", "1").strip() != "0"
             and not os.environ.get("OMP_NUM_THREADS", "").strip())
_cap = None  # the kernels' thread count while contended; None: not capped
_next_reading = 0.0
_last_reading = None  # (thread, time, run delay in seconds) of the previous reading
_hold = _HOLD_MIN
_raise_at = 0.0
_raised = False  # the last change raised the count (contention right after: hold longer)


def _run_delay():
    """Seconds the calling thread has waited for a core since it started, or None where the
    system does not say (anything but Linux)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) * 1e-9
    except (OSError, ValueError, IndexError):
        return None


def _read_contention(now, wanted):
    """Read the run delay and move the cap (see _WINDOW)."""
    global _adaptive, _cap, _next_reading, _last_reading, _hold, _raise_at, _raised
    _next_reading = now + _WINDOW
    delay = _run_delay()
    if delay is None:
        _adaptive = False
        return
    last, _last_reading = _last_reading, (threading.get_ident(), now, delay)
    if last is None or last[0] != _last_reading[0] or now <= last[1]:
        return  # a delay is read per thread: compare one thread's readings only
    waited = (delay - last[2]) / (now - last[1])
    threads = wanted if _cap is None else _cap
    if waited > _CONTENDED and threads > 1:
        _hold = min(2 * _hold, _HOLD_MAX) if _raised else _HOLD_MIN
        _cap, _raise_at, _raised = threads // 2, now + _hold, False
    elif _cap is not None and now >= _raise_at:
        _cap = 2 * _cap if 2 * _cap < wanted else None
        _raise_at, _raised = now + _hold, True
    elif waited <= _CONTENDED:
        _raised = False


def kernel_threads():
    """The thread count for the next kernel call: :func:`get_num_threads`, fewer while other
    processes keep the cores busy (see _WINDOW)."""
    wanted = _num_threads if _num_threads is not None else get_num_threads()
    if wanted == 1 or _chosen or not _adaptive:
        return wanted
    now = time.monotonic()
    if now >= _next_reading:
        _read_contention(now, wanted)
    return wanted if _cap is None else min(_cap, wanted)


def _share_cores(processes):
    """Give this process its share of the cores when ``processes`` processes of one job run
    on this machine (the MPI ranks on one node), unless the user chose a thread count
    (``set_num_threads`` or ``OMP_NUM_THREADS``): threads beyond the cores wait on each
    other's time slices at every parallel region."""
    global _num_threads
    if _chosen or os.environ.get("OMP_NUM_THREADS", "").strip() or processes <= 1:
        return
    _num_threads = max(1, _usable_cores() // processes)
