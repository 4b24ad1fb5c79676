"""Thread count and instruction set used by the compiled kernels (pure Python state, read by
the compiled backend at every call, so changes apply immediately)."""

import os

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


def _share_cores(processes):
    """Give this process its share of the cores when ``processes`` processes of one job run
    on this machine (the MPI ranks on one node), unless the user chose a thread count
    (``set_num_threads`` or ``OMP_NUM_THREADS``): threads beyond the cores wait on each
    other's time slices at every parallel region."""
    global _num_threads
    if _chosen or os.environ.get("OMP_NUM_THREADS", "").strip() or processes <= 1:
        return
    _num_threads = max(1, _usable_cores() // processes)
