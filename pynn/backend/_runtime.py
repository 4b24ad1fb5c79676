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
    """Return the number of threads pynn's kernels use at most.

    Defaults to ``OMP_NUM_THREADS`` when set, else the number of cores this process may run on.
    With that default (neither ``OMP_NUM_THREADS`` nor :func:`set_num_threads` chose the
    count) the kernels use fewer in two cases. Training steps (each ends with an optimiser's
    ``step()``) run at the count they were last timed fastest at, now and then timing a
    neighbouring count, as a small model's step can be faster on fewer threads where the
    cores are far apart. And while other processes keep the cores busy (the calling thread
    waits for a core more than 15% of its time) the kernels use fewer, and this many again
    once the cores are free: a team of threads waits at every barrier for its member whose
    core another process holds. A count chosen is kept, so that runs repeat bit for bit
    (kernels that reduce in parallel can round differently at another count);
    ``PYNN_ADAPTIVE_THREADS=0`` and :func:`pynn.use_deterministic_algorithms` keep the
    default count too.

    Returns
    -------
    int
    """
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_num_threads()
    return _num_threads


def set_num_threads(n):
    """Set the number of threads pynn's kernels use, from the next kernel call.

    The count is kept as set (see :func:`get_num_threads` for what the default does).

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
    _reset_step_threads()


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


# With the default count, training steps run at the count timed to run them fastest. More
# threads are not always faster: a small model's step spends much of its time moving data
# between the cores' caches, which costs several times as much between cores on different
# dies (or a VM's vCPUs that the host placed there) as on one die; there the 2-thread MLP
# step took 1.8x its 1-thread time (bench/RESULTS.md, "Threads far apart"), and where the
# cores are can change while a program runs. A count the user chose is kept, so that runs
# at a chosen count repeat bit for bit (kernels that reduce in parallel can round
# differently at another count).
# A trial times the optimiser that steps first after the pause (its intervals are whole
# iterations however many optimisers step in one) in blocks of 1 + _STEP_SETTLE steps,
# alternating between a neighbouring count (half or double) and the count in use, the
# first _STEP_SETTLE steps of a block not timed (data moves to the new team's caches).
# After _STEP_PAIRS blocks of each, the neighbour wins if it was faster in at least
# _STEP_WINS of the pairs of blocks and by _STEP_GAIN in the median, and is taken if it wins
# again in a repeat of the trial: alternating cancels drift, and the pairs and the repeat
# keep noise from deciding. The pause before the next trial doubles
# (from _STEP_HOLD_MIN to _STEP_HOLD_MAX) while the count in use keeps winning, and trials
# take at most _STEP_TRIAL_SHARE of the time. There is no trial while other processes keep
# the cores busy (the contention cap decides then), and the trials' count applies only while
# steps go on: a pause of _STEP_STALE typical steps (evaluation, inference after training)
# ends a trial and runs the kernels at the count asked for until the steps resume. A step is
# what an optimiser's step() ends (pynn.optim calls mark_training_step).
_STEP_SETTLE = 1
_STEP_PAIRS = 5
_STEP_WINS = 4
_STEP_GAIN = 0.03
_STEP_HOLD_MIN, _STEP_HOLD_MAX = 1.0, 8.0  # seconds between trials
_STEP_TRIAL_SHARE = 0.05
_STEP_STALE = 4.0
_tune_steps = (os.environ.get("PYNN_ADAPTIVE_THREADS", "1").strip() != "0"
               and not os.environ.get("OMP_NUM_THREADS", "").strip())
_step_threads = None  # the count training steps run at; None: the count asked for
_step_lock = threading.Lock()


class _StepTrial:
    """One trial: ``counts`` (the neighbour, the count in use), the timed steps of each, and
    the optimiser timed."""

    def __init__(self, other, current, owner, now, confirming=False):
        self.confirming = confirming  # a repeat of a trial the neighbour won
        self.counts = (other, current)
        self.timed = ([], [])
        self.owner = owner
        self.start = self.last = now
        self.block = 0  # even blocks run counts[0], odd ones counts[1]
        self.steps_in_block = 0


_trial = None
_last_step = None  # when the previous step (of any optimiser) ended
_typical_step = None  # a running mean of the intervals between steps
_next_trial = None  # when the next trial may start (None: at the first step + _STEP_HOLD_MIN)
_step_hold = _STEP_HOLD_MIN
_try_fewer = True  # the direction of the next trial where both are possible


def _neighbour_count(current, wanted):
    global _try_fewer
    fewer = current // 2 if current > 1 else None
    more = min(2 * current, wanted) if current < wanted else None
    if fewer and more:
        choice = fewer if _try_fewer else more
        _try_fewer = not _try_fewer
        return choice
    return fewer or more


def _steps_paused(now):
    """Whether the steps stopped: no step for _STEP_STALE typical steps."""
    return (_last_step is None or _typical_step is not None
            and now - _last_step > _STEP_STALE * _typical_step)


def _end_trial(now, wanted):
    global _trial, _step_threads, _next_trial, _step_hold
    other, current = _trial.counts
    ours, theirs = _trial.timed
    wins = sum(o < c for o, c in zip(ours, theirs))
    median_other, median_current = (sorted(t)[len(t) // 2] for t in (ours, theirs))
    if wins >= _STEP_WINS and median_other < median_current * (1 - _STEP_GAIN):
        if not _trial.confirming:
            _trial = _StepTrial(other, current, _trial.owner, now, confirming=True)
            _step_threads = other
            return
        chosen, _step_hold = other, _STEP_HOLD_MIN
    else:
        chosen, _step_hold = current, min(2 * _step_hold, _STEP_HOLD_MAX)
    _step_threads = None if chosen >= wanted else chosen
    _next_trial = now + max(_step_hold, (now - _trial.start) / _STEP_TRIAL_SHARE)
    _trial = None


def _abandon_trial(wanted):
    global _trial, _step_threads
    if _trial is not None:
        current = _trial.counts[1]
        _step_threads = None if current >= wanted else current
        _trial = None


def _mark(owner, now):
    global _trial, _last_step, _typical_step, _step_threads, _next_trial
    wanted = _num_threads if _num_threads is not None else get_num_threads()
    if wanted == 1 or not _tune_steps or _fixed_count or _chosen:
        _trial, _step_threads, _last_step = None, None, now
        return
    if _last_step is not None and not _steps_paused(now):
        gap = now - _last_step
        _typical_step = gap if _typical_step is None else 0.9 * _typical_step + 0.1 * gap
    elif _last_step is not None:
        _abandon_trial(wanted)  # the steps paused: this interval is not a step
    _last_step = now
    if _next_trial is None:
        _next_trial = now + _STEP_HOLD_MIN
    if _trial is None:
        if now < _next_trial or _cap is not None:
            return
        current = wanted if _step_threads is None else min(_step_threads, wanted)
        other = _neighbour_count(current, wanted)
        if other is not None:
            _trial, _step_threads = _StepTrial(other, current, owner, now), other
        return
    trial = _trial
    if owner != trial.owner:
        return
    gap, trial.last = now - trial.last, now
    trial.steps_in_block += 1
    if trial.steps_in_block <= _STEP_SETTLE:
        return
    trial.timed[trial.block % 2].append(gap)
    trial.block += 1
    trial.steps_in_block = 0
    if trial.block == 2 * _STEP_PAIRS:
        _end_trial(now, wanted)
    else:
        _step_threads = trial.counts[trial.block % 2]


def mark_training_step(owner=None):
    """Note that a training step ended (:class:`pynn.optim.Optimizer` calls it after every
    ``step()``, ``owner`` the optimiser): the clock of the thread-count trials (see
    _STEP_PAIRS). A call while another thread is in one is skipped."""
    if not _step_lock.acquire(blocking=False):
        return
    try:
        _mark(id(owner), time.monotonic())
    finally:
        _step_lock.release()


def _reset_step_threads():
    """Forget the trials (the count asked for changed, or tuning was turned off)."""
    global _trial, _step_threads, _next_trial, _step_hold, _last_step, _typical_step
    _trial, _step_threads, _next_trial, _step_hold = None, None, None, _STEP_HOLD_MIN
    _last_step = _typical_step = None


# pynn.use_deterministic_algorithms(True): the kernels use the count asked for, always, since
# kernels that reduce in parallel may round differently at another count.
_fixed_count = False


def _fix_count(fixed):
    global _fixed_count
    _fixed_count = bool(fixed)
    _reset_step_threads()


def _use_default_count():
    """Back to the default count, as if set_num_threads had never been called (the benchmark
    times each library at its default on the machine's core count)."""
    global _num_threads, _chosen
    _num_threads, _chosen = None, False
    _reset_step_threads()


def kernel_threads():
    """The thread count for the next kernel call: :func:`get_num_threads`, or with the default
    count fewer while other processes keep the cores busy (see _WINDOW) or where training
    steps ran faster with fewer (see _STEP_PAIRS)."""
    wanted = _num_threads if _num_threads is not None else get_num_threads()
    if wanted == 1 or _fixed_count or _chosen:
        return wanted
    now = None
    if _step_threads is not None and _step_threads < wanted:
        now = time.monotonic()
        if not _steps_paused(now):
            wanted = _step_threads
    if not _adaptive:
        return wanted
    if now is None:
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
