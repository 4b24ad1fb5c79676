"""Collective communication between processes (``torch.distributed``'s names), on MPI.

::

    import pynn.distributed as dist

    dist.init_process_group("mpi")           # "gloo" is accepted too: pynn always uses MPI
    rank, world = dist.get_rank(), dist.get_world_size()
    t = pynn.ones(3) * rank
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # in place, on every rank

Run a script on several processes with MPI's launcher, on one machine or many::

    mpiexec -n 4 python train.py
    mpiexec -f hosts -n 8 python train.py     # MPICH's host file; `srun python train.py` on Slurm

MPI comes from PyPI alone (``pip install mpi4py mpich``). A script started without
``mpiexec`` (or without mpi4py installed) runs as a world of one process: rank 0, world size
1, every collective a no-op (AVG divides by 1), so the same script runs alone. At import,
this module copies the launcher's rank variables into ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` when they are not set, as ``torchrun`` would.

Tensors (their ``._data`` storage) and ndarrays are reduced in place: a C-contiguous buffer
is handed to MPI as is (``MPI_IN_PLACE``), anything else goes through a contiguous copy.
Every collective takes ``async_op=True`` and then returns a :class:`Work` handle
(``wait()``, ``is_completed()``); otherwise it returns once its result is there.

Faults
------
- An uncaught exception on one rank aborts the whole job (``MPI_Abort`` from
  ``sys.excepthook``, installed by :func:`init_process_group`), after printing the traceback
  with the rank: the other ranks do not wait forever in their next collective.
- A rank that dies (killed, crashed, ``os._exit``) makes ``mpiexec`` (MPICH's Hydra, Open
  MPI's ``mpirun``, Slurm's ``srun``) terminate the others at once.
- A rank that leaves without either (it returned early and is blocked elsewhere, or exited
  cleanly while others still expect it) is caught by the ``timeout`` of
  :func:`init_process_group`: waits poll MPI's requests and raise :class:`DistBackendError`
  after it, which, uncaught, aborts the job.

Where pynn differs from PyTorch: CPU only (``"nccl"`` raises), one process group (the
world), and no object collectives (``all_gather_object`` ...), which would pickle: pynn
never unpickles, so those raise; send arrays instead.
"""

import datetime
import os
import sys
import time
from enum import Enum

import numpy as np

from .tensor import Tensor

__all__ = [
    "DistBackendError",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "irecv",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "isend",
    "monitored_barrier",
    "new_group",
    "recv",
    "reduce",
    "reduce_scatter_tensor",
    "scatter",
    "scatter_object_list",
    "send",
]

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)

# The launchers' variables for (rank, size, local rank, local size): MPICH/Hydra and Intel MPI,
# Open MPI, Slurm. The first set present tells that this process was started by one.
_LAUNCH_VARS = (
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    # srun's job-step variables (a batch script itself has SLURM_NTASKS but is one process)
    ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", "SLURM_STEP_TASKS_PER_NODE"),
)


def _launcher():
    """``(rank, size, local_rank, local_size)`` from the launcher's environment, or None
    when this process was not started by an MPI launcher (or by one as a single task)."""
    env = os.environ
    for names in _LAUNCH_VARS:
        if names[0] in env and names[1] in env:
            try:
                vals = [int(env.get(n, "").split("(")[0] or -1) for n in names]
            except ValueError:
                continue
            if names[0] == "SLURM_PROCID" and vals[1] <= 1:
                continue  # a plain Slurm job step of one task: not a parallel launch
            return tuple(vals)
    return None


def _export_env():
    found = _launcher()
    if found is None:
        return
    rank, size, local_rank, local_size = found
    for name, value in (("RANK", rank), ("WORLD_SIZE", size), ("LOCAL_RANK", local_rank),
                        ("LOCAL_WORLD_SIZE", local_size)):
        if value >= 0:
            os.environ.setdefault(name, str(value))


_export_env()


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI


class DistBackendError(RuntimeError):
    """A collective failed or timed out (``torch.distributed.DistBackendError``)."""


class ReduceOp(Enum):
    """How :func:`all_reduce` and :func:`reduce` combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


reduce_op = ReduceOp  # the deprecated name


class ProcessGroup:
    """A set of ranks that run collectives together.

    pynn has one, the world (``GroupMember.WORLD``, also ``group.WORLD``); it is made by
    :func:`init_process_group`, not by hand.

    Parameters
    ----------
    comm : mpi4py communicator or None
        The MPI communicator (None in a one-process world).
    rank, size : int
        This process's rank and the number of ranks.
    backend : str
        ``"mpi"``.
    timeout : float
        Seconds a collective may wait for the other ranks.
    node : mpi4py communicator, optional
        The ranks on this machine (MPI's shared-memory split).
    """

    def __init__(self, comm, rank, size, backend, timeout, node=None):
        self.comm = comm  # an mpi4py communicator, or None in a one-process world
        self._node = node  # the communicator of the ranks on this machine (MPI's shared type)
        self._rank = rank
        self._size = size
        self._backend = backend
        self.timeout = timeout

    def rank(self):
        """This process's rank in the group."""
        return self._rank

    def size(self):
        """The number of processes in the group."""
        return self._size

    def name(self):
        """The backend's name (``"mpi"``)."""
        return self._backend

    def __repr__(self):
        return f"<ProcessGroup {self._backend} rank {self._rank} of {self._size}>"


class GroupMember:
    """``GroupMember.WORLD``: the default group once initialised (None before)."""

    WORLD = None
    NON_GROUP_MEMBER = object()


group = GroupMember


def _world(group=None):
    pg = GroupMember.WORLD
    if pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    if group is not None and group is not pg:
        raise ValueError("pynn.distributed has one process group, the world: pass group=None")
    return pg


def is_available():
    """True: collectives always work (in a one-process world without MPI, trivially).

    Returns
    -------
    bool
    """
    return True


def is_mpi_available():
    """True when mpi4py can be imported, so ``mpiexec`` can start several processes.

    Returns
    -------
    bool
    """
    return _import_mpi() is not None


def is_gloo_available():
    """True: ``backend="gloo"`` is accepted and runs on MPI.

    Returns
    -------
    bool
    """
    return True


def is_nccl_available():
    """False: pynn runs on CPUs only.

    Returns
    -------
    bool
    """
    return False


def is_torchelastic_launched():
    """False: pynn's processes are started by an MPI launcher, not torchrun.

    Returns
    -------
    bool
    """
    return False


def is_initialized():
    """Whether :func:`init_process_group` has been called (and not destroyed since).

    Returns
    -------
    bool
    """
    return GroupMember.WORLD is not None


def _seconds(timeout):
    if timeout is None:
        timeout = _DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the processes of this job into the default group (``torch.distributed``'s call).

    Under an MPI launcher the group is MPI's world; otherwise it is this process alone.

    Parameters
    ----------
    backend : {"mpi", "gloo", None}
        ``"gloo"`` (what CPU PyTorch scripts pass) is a synonym: the transport is MPI either
        way. ``"nccl"`` raises: pynn runs on CPUs only.
    init_method : str, optional
        Accepted for compatibility (``"env://"``, ``"tcp://..."``): MPI's launcher already
        connected the processes.
    timeout : datetime.timedelta or float, optional
        How long a collective may wait for the other ranks before raising
        :class:`DistBackendError` (default 30 minutes, as PyTorch's).
    world_size, rank : int, optional
        When given, checked against MPI's (a mismatch raises ValueError).
    store, group_name, pg_options, device_id : optional
        Accepted for PyTorch's signature.

    Notes
    -----
    Each rank's kernels then use its share of this machine's cores (the cores divided by
    the ranks on the machine, at least one thread), unless the thread count was chosen with
    :func:`pynn.set_num_threads` or ``OMP_NUM_THREADS``: more threads than cores make every
    parallel region wait for a descheduled thread.
    """
    if GroupMember.WORLD is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    name = (backend or "mpi").lower()
    if "nccl" in name or "cuda" in name or "ucc" in name:
        raise RuntimeError(f"backend {backend!r}: pynn runs on CPUs only; use backend='mpi' "
                           "(or 'gloo', a synonym)")
    name = name.removeprefix("cpu:")
    if name not in ("mpi", "gloo"):
        raise ValueError(f"Invalid backend: {backend!r}; pynn.distributed supports 'mpi' "
                         "(and 'gloo', run on MPI)")
    launched = _launcher()
    comm = node = None
    my_rank, size = 0, 1
    if launched is not None and launched[1] > 1:
        MPI = _import_mpi()
        if MPI is None:
            raise RuntimeError(
                f"this process was started by an MPI launcher with {launched[1]} processes, "
                "but mpi4py is not installed: pip install mpi4py mpich (or pynn[distributed])")
        comm = MPI.COMM_WORLD
        my_rank, size = comm.Get_rank(), comm.Get_size()
        from .backend import _runtime

        node = comm.Split_type(MPI.COMM_TYPE_SHARED)
        _runtime._share_cores(node.Get_size())
    if world_size not in (-1, None) and int(world_size) != size:
        raise ValueError(f"init_process_group: world_size={world_size} but the launcher started "
                         f"{size} process(es); start the job with mpiexec -n {world_size}")
    if rank not in (-1, None) and int(rank) != my_rank:
        raise ValueError(f"init_process_group: rank={rank} but MPI gives this process rank "
                         f"{my_rank}; ranks are assigned by the launcher")
    GroupMember.WORLD = ProcessGroup(comm, my_rank, size, "mpi", _seconds(timeout), node)
    if comm is not None:
        _install_abort_hook()


def destroy_process_group(group=None):
    """Leave the default group (MPI itself is finalised when the process exits).

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).
    """
    if GroupMember.WORLD is None:
        return
    GroupMember.WORLD = None
    _remove_abort_hook()


def get_rank(group=None):
    """This process's rank, 0 to ``get_world_size() - 1`` (-1 outside the group, as PyTorch).

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).

    Returns
    -------
    int
    """
    return _world(group).rank()


def get_world_size(group=None):
    """The number of processes in the job.

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).

    Returns
    -------
    int
    """
    return _world(group).size()


def get_backend(group=None):
    """``"mpi"``: the transport of every collective.

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).

    Returns
    -------
    str
    """
    return _world(group).name()


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False):
    """The group of ``ranks``: only the whole world is supported (``ranks`` None or all).

    Parameters
    ----------
    ranks : list of int, optional
        Every rank (or None).
    timeout, backend, pg_options : optional
        Accepted for PyTorch's signature.
    use_local_synchronization : bool
        Accepted for PyTorch's signature.

    Returns
    -------
    ProcessGroup
    """
    pg = _world()
    if ranks is not None and sorted(ranks) != list(range(pg.size())):
        raise NotImplementedError("pynn.distributed: sub-groups are not supported; collectives "
                                  "run over all ranks (new_group(ranks=None))")
    return pg


# ---------------------------------------------------------------------------------------------
# Faults: an uncaught exception on one rank ends the job


_saved_hook = None
_ABORT_GRACE_SECONDS = 0.5


def _abort_hook(exc_type, exc, tb):
    rank = GroupMember.WORLD.rank() if GroupMember.WORLD is not None else "?"
    sys.stderr.write(f"pynn.distributed: rank {rank} raised an uncaught exception; "
                     "aborting every rank of the job\n")
    (_saved_hook or sys.__excepthook__)(exc_type, exc, tb)
    sys.stderr.flush()
    sys.stdout.flush()
    MPI = _import_mpi()
    if MPI is not None:
        # The launcher forwards a process's output from a pipe, and MPI_Abort ends every
        # process of the job, its forwarders included, perhaps before they read what was just
        # written: the traceback, the one thing that says why the job ended, went missing on
        # a busy machine. A moment's pause lets them read it.
        time.sleep(_ABORT_GRACE_SECONDS)
        MPI.COMM_WORLD.Abort(1)


def _install_abort_hook():
    global _saved_hook
    if sys.excepthook is not _abort_hook:
        _saved_hook = sys.excepthook
        sys.excepthook = _abort_hook


def _remove_abort_hook():
    global _saved_hook
    if sys.excepthook is _abort_hook:
        sys.excepthook = _saved_hook or sys.__excepthook__
    _saved_hook = None


# ---------------------------------------------------------------------------------------------
# Work handles and waiting


# A wait tests its requests back to back for _SPIN_SECONDS (the peers are usually about to
# arrive), then sleeps 50 us between tests for _NAP_SECONDS (a rank waiting for a slower one
# lets it run when ranks outnumber cores: sched_yield does not, under Linux's scheduler), then
# a millisecond (a long wait: a rank evaluating, or one that is gone).
#
# Spinning pays only while this rank's core has nothing else to run. When other processes
# want it (other jobs on the machine, or more ranks than cores), a spinning rank takes the
# time the rank it waits for, or the job sharing that rank's core, would use, and every
# collective waits for its slowest rank: the wait then naps at once. Such a core shows in
# the time this thread spends runnable but waiting for a core (Linux's schedstat run
# delay): a percent or so of the time on a machine of its own, a third and more on a
# shared one. (Involuntary context switches tell less: a quiet machine gives a few dozen a
# second too.)
_SPIN_SECONDS = 2e-3
_NAP_SECONDS = 0.1
_CONTENDED_SHARE = 0.1  # of the time spent waiting for a core
_WATCH_SECONDS = 0.5
_core_watch = None  # [time, run delay then, contended]


def _run_delay():
    """Seconds this thread has spent runnable but waiting for a core (None where Linux's
    ``/proc/thread-self/schedstat`` is missing)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) * 1e-9
    except (OSError, ValueError, IndexError):
        return None


def _spin_seconds(now):
    """How long :func:`_wait` spins before it naps: ``_SPIN_SECONDS``, or 0 while this
    thread's core is contended (see above; judged over the last ``_WATCH_SECONDS`` before
    ``now``, a ``time.monotonic()`` reading)."""
    global _core_watch
    if _core_watch is None or now - _core_watch[0] >= _WATCH_SECONDS:
        delay = _run_delay()
        if delay is None:
            return _SPIN_SECONDS
        contended = (_core_watch is not None and (delay - _core_watch[1])
                     > _CONTENDED_SHARE * (now - _core_watch[0]))
        _core_watch = [now, delay, contended]
    return 0.0 if _core_watch[2] else _SPIN_SECONDS


def _wait(requests, timeout, what, statuses=None):
    """Poll ``requests`` until all complete (their ``statuses`` filled in when given);
    DistBackendError after ``timeout`` seconds.

    MPI's own blocking wait spins, which starves the other ranks when ranks outnumber cores;
    this one spins briefly, and not at all on a contended core, then sleeps between tests
    (see above)."""
    if not requests:
        return
    testall = _import_mpi().Request.Testall
    if testall(requests, statuses):
        return
    now = time.monotonic()
    spin_end = now + _spin_seconds(now)
    nap_end = spin_end + _NAP_SECONDS
    deadline = now + timeout
    while not testall(requests, statuses):
        now = time.monotonic()
        if now > spin_end:
            time.sleep(5e-5 if now < nap_end else 1e-3)
            if now > deadline:
                raise DistBackendError(
                    f"pynn.distributed: {what} did not complete within {timeout:g} s on rank "
                    f"{GroupMember.WORLD.rank() if GroupMember.WORLD else '?'}: another rank "
                    "died, left, or stopped calling the same collectives (see the timeout of "
                    "init_process_group)")


class Work:
    """The handle of an ``async_op=True`` collective (``torch.distributed.Work``).

    The buffers it was given must not be read or written until :meth:`wait` returns (or
    :meth:`is_completed` gives True): MPI is still using them. Made by the collectives, not by
    hand.

    Parameters
    ----------
    requests : list
        The MPI requests to complete.
    finish : callable, optional
        Run once they have completed (copies out of the transfer buffers).
    result : tuple
        What :meth:`wait` returns.
    what : str
        The operation, for error messages.
    timeout : float, optional
        Seconds to wait before raising :class:`DistBackendError`.
    """

    def __init__(self, requests, finish=None, result=(), what="collective", timeout=None):
        self._requests = list(requests)
        self._finish = finish
        self._result = list(result)
        self._what = what
        self._timeout = timeout
        self._done = False
        if not self._requests:
            self._complete()

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()
                self._finish = None

    def is_completed(self):
        """True once the collective has finished (this tests its progress without waiting)."""
        if not self._done and _import_mpi().Request.Testall(self._requests):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block until the collective has finished and its result is in place.

        Parameters
        ----------
        timeout : datetime.timedelta or float, optional
            Default: the timeout of :func:`init_process_group`.
        """
        if not self._done:
            t = self._timeout if timeout is None else _seconds(timeout)
            if t is None:
                t = GroupMember.WORLD.timeout if GroupMember.WORLD else _seconds(None)
            _wait(self._requests, t, self._what)
            self._complete()
        return True

    def is_success(self):
        """True once completed (failures raise instead)."""
        return self.is_completed()

    def exception(self):
        """None: failures raise from :meth:`wait`."""
        return

    def result(self):
        """The tensors the collective wrote."""
        self.wait()
        return self._result

    def synchronize(self):
        """As :meth:`wait`."""
        self.wait()


def _run(pg, requests, finish, result, what, async_op):
    work = Work(requests, finish, result, what, pg.timeout)
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------------------
# Buffers


def _array(t, what):
    if isinstance(t, Tensor):
        return t._data
    if isinstance(t, np.ndarray):
        return t
    raise TypeError(f"{what}: expected a Tensor or an ndarray, got {type(t).__name__}")


def _inplace_buffer(t, what):
    """``(buffer, finish)``: the contiguous array MPI writes, and what to do after (copy back
    into a non-contiguous storage, bump the Tensor's version)."""
    arr = _array(t, what)
    if not arr.flags.writeable:
        raise ValueError(f"{what}: the tensor's storage is read-only")
    if arr.flags.c_contiguous:
        buf = arr
    else:
        buf = np.ascontiguousarray(arr)

    def finish():
        if buf is not arr:
            arr[...] = buf
        if isinstance(t, Tensor):
            t._version += 1

    return buf, finish


def _mpi_op(MPI, op, dtype=None):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a pynn.distributed.ReduceOp, got {op!r}")
    if dtype == np.bool_:  # MPI has no arithmetic on C bools: logical or / and
        return {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                ReduceOp.BXOR: MPI.LXOR, ReduceOp.AVG: MPI.LOR}[op]
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def _average(buf, size):
    if size == 1:
        return
    if buf.dtype.kind in "fc":
        buf /= size
    elif buf.dtype.kind in "iu":
        buf //= size
    else:
        raise TypeError(f"ReduceOp.AVG is not defined for {buf.dtype} tensors")


def _then(*fns):
    def finish():
        for fn in fns:
            fn()
    return finish


# ---------------------------------------------------------------------------------------------
# Collectives


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks, in place: every rank ends with the result.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        Same shape and dtype on every rank; overwritten.
    op : ReduceOp
        SUM, AVG (the sum divided by the world size; floor division for integers), PRODUCT,
        MIN, MAX, BAND, BOR, BXOR.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    buf, finish = _inplace_buffer(tensor, "all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a pynn.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and buf.dtype.kind not in "fciu":
        raise TypeError(f"ReduceOp.AVG is not defined for {buf.dtype} tensors")
    reqs = []
    if pg.comm is not None:
        MPI = _import_mpi()
        reqs.append(pg.comm.Iallreduce(MPI.IN_PLACE, buf, _mpi_op(MPI, op, buf.dtype)))
    if op is ReduceOp.AVG:
        finish = _then(lambda: _average(buf, pg.size()), finish)
    return _run(pg, reqs, finish, [tensor], "all_reduce", async_op)


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks into rank ``dst``'s ``tensor``.

    The other ranks' tensors are left as they were.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
    dst : int
        The rank that receives the result.
    op : ReduceOp
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    _check_rank(pg, dst, "dst")
    buf, finish = _inplace_buffer(tensor, "reduce")
    reqs = []
    if pg.comm is not None:
        MPI = _import_mpi()
        mop = _mpi_op(MPI, op, buf.dtype)
        if pg.rank() == dst:
            reqs.append(pg.comm.Ireduce(MPI.IN_PLACE, buf, mop, root=dst))
        else:
            reqs.append(pg.comm.Ireduce(buf, None, mop, root=dst))
    if pg.rank() != dst:
        finish = None
    elif op is ReduceOp.AVG:
        finish = _then(lambda: _average(buf, pg.size()), finish)
    return _run(pg, reqs, finish, [tensor], "reduce", async_op)


def _check_rank(pg, r, name):
    if not 0 <= int(r) < pg.size():
        raise ValueError(f"{name}={r} is not a rank of the group (world size {pg.size()})")


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``, in place.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        Same shape and dtype on every rank.
    src : int
        The rank whose values are sent.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    _check_rank(pg, src, "src")
    buf, finish = _inplace_buffer(tensor, "broadcast")
    reqs = []
    if pg.comm is not None:
        reqs.append(pg.comm.Ibcast(buf, root=src))
    return _run(pg, reqs, finish, [tensor], "broadcast", async_op)


def _send_buffer(t, what):
    return np.ascontiguousarray(_array(t, what))


def _copy_rows(rows, targets, what):
    def finish():
        for r, dst in zip(rows, targets):
            arr = _array(dst, what)
            if arr.shape != r.shape:
                raise ValueError(f"{what}: a tensor of the list has shape {arr.shape}, expected "
                                 f"{r.shape}")
            arr[...] = r
            if isinstance(dst, Tensor):
                dst._version += 1
    return finish


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor``, on every rank: ``tensor_list[i]`` receives rank i's.

    Parameters
    ----------
    tensor_list : list of Tensor
        ``get_world_size()`` tensors shaped like ``tensor``; overwritten.
    tensor : Tensor or ndarray of any shape
        This rank's contribution.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a world of "
                         f"{pg.size()}")
    send = _send_buffer(tensor, "all_gather")
    recv = np.empty((pg.size(),) + send.shape, send.dtype)
    reqs = []
    if pg.comm is not None:
        reqs.append(pg.comm.Iallgather(send, recv))
    else:
        recv[0] = send
    return _run(pg, reqs, _copy_rows(recv, tensor_list, "all_gather"), list(tensor_list),
                "all_gather", async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """The ranks' ``input_tensor`` gathered into ``output_tensor`` on every rank.

    Concatenated along dimension 0, or stacked when ``output_tensor`` has one more dimension.

    Parameters
    ----------
    output_tensor : Tensor of shape (world * N, ...) or (world, N, ...)
    input_tensor : Tensor of shape (N, ...)
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    send = _send_buffer(input_tensor, "all_gather_into_tensor")
    buf, finish = _inplace_buffer(output_tensor, "all_gather_into_tensor")
    if buf.size != send.size * pg.size():
        raise ValueError(f"all_gather_into_tensor: output has {buf.size} elements, expected "
                         f"{send.size * pg.size()} (world size times the input's)")
    reqs = []
    if pg.comm is not None:
        reqs.append(pg.comm.Iallgather(send, buf))
    else:
        buf.reshape(-1)[...] = send.reshape(-1)
    return _run(pg, reqs, finish, [output_tensor], "all_gather_into_tensor", async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world * N rows) over the ranks; rank i receives block i in ``output``.

    Parameters
    ----------
    output : Tensor of shape (N, ...)
    input : Tensor of shape (world * N, ...) or (world, N, ...)
    op : ReduceOp
        As :func:`all_reduce`'s.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    send = _send_buffer(input, "reduce_scatter_tensor")
    buf, finish = _inplace_buffer(output, "reduce_scatter_tensor")
    if send.size != buf.size * pg.size():
        raise ValueError(f"reduce_scatter_tensor: input has {send.size} elements, expected "
                         f"{buf.size * pg.size()} (world size times the output's)")
    reqs = []
    if pg.comm is not None:
        MPI = _import_mpi()
        reqs.append(pg.comm.Ireduce_scatter_block(send, buf, _mpi_op(MPI, op, buf.dtype)))
    else:
        buf.reshape(-1)[...] = send.reshape(-1)
    if op is ReduceOp.AVG:
        finish = _then(lambda: _average(buf, pg.size()), finish)
    return _run(pg, reqs, finish, [output], "reduce_scatter_tensor", async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Every rank's ``tensor`` into rank ``dst``'s ``gather_list``.

    ``gather_list[i]`` gets rank i's.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
    gather_list : list of Tensor, optional
        On ``dst`` only: ``get_world_size()`` tensors shaped like ``tensor``.
    dst : int
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    _check_rank(pg, dst, "dst")
    send = _send_buffer(tensor, "gather")
    root = pg.rank() == dst
    if root and (gather_list is None or len(gather_list) != pg.size()):
        raise ValueError(f"gather: the destination rank needs a gather_list of {pg.size()} "
                         "tensors")
    recv = np.empty((pg.size(),) + send.shape, send.dtype) if root else None
    reqs = []
    if pg.comm is not None:
        reqs.append(pg.comm.Igather(send, recv, root=dst))
    elif root:
        recv[0] = send
    finish = _copy_rows(recv, gather_list, "gather") if root else None
    return _run(pg, reqs, finish, list(gather_list or ()), "gather", async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Rank ``src``'s ``scatter_list[i]`` into rank i's ``tensor``.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        Receives this rank's part.
    scatter_list : list of Tensor, optional
        On ``src`` only: ``get_world_size()`` tensors shaped like ``tensor``.
    src : int
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    _check_rank(pg, src, "src")
    buf, finish = _inplace_buffer(tensor, "scatter")
    send = None
    if pg.rank() == src:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError(f"scatter: the source rank needs a scatter_list of {pg.size()} "
                             "tensors")
        send = np.stack([_array(t, "scatter") for t in scatter_list]).astype(buf.dtype,
                                                                              copy=False)
        if send.shape[1:] != buf.shape:
            raise ValueError(f"scatter: the tensors of scatter_list have shape {send.shape[1:]}, "
                             f"expected {buf.shape}")
    reqs = []
    if pg.comm is not None:
        reqs.append(pg.comm.Iscatter(send, buf, root=src))
    else:
        buf[...] = send[0]
    return _run(pg, reqs, finish, [tensor], "scatter", async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has called ``barrier``.

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).
    async_op : bool
        Return a :class:`Work` handle at once instead of waiting.
    device_ids : list of int, optional
        Accepted for PyTorch's signature (no GPUs).

    Returns
    -------
    Work or None
        The handle with ``async_op``, else None.
    """
    pg = _world(group)
    reqs = [pg.comm.Ibarrier()] if pg.comm is not None else []
    return _run(pg, reqs, None, (), "barrier", async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A :func:`barrier` that raises :class:`DistBackendError` after ``timeout``.

    Parameters
    ----------
    group : ProcessGroup, optional
        The world, the only group (None means it).
    timeout : datetime.timedelta or float, optional
        Default: the group's.
    wait_all_ranks : bool
        Accepted for PyTorch's signature.
    """
    pg = _world(group)
    reqs = [pg.comm.Ibarrier()] if pg.comm is not None else []
    Work(reqs, what="monitored_barrier").wait(timeout)


def isend(tensor, dst, group=None, tag=0):
    """Start sending ``tensor`` to rank ``dst``.

    Do not write the tensor before the returned handle's ``wait()``.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        The message.
    dst : int
        The receiving rank.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    tag : int
        Matches a send with its receive.

    Returns
    -------
    Work
    """
    pg = _world(group)
    _check_rank(pg, dst, "dst")
    if pg.comm is None or dst == pg.rank():
        raise ValueError("send: a rank cannot send to itself")
    buf = _send_buffer(tensor, "send")
    return Work([pg.comm.Isend(buf, dest=dst, tag=tag)], what="send", timeout=pg.timeout)


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into ``tensor`` from rank ``src``.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        Overwritten once the receive completes.
    src : int, optional
        The sending rank; None: any rank.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    tag : int
        Matches a send with its receive.

    Returns
    -------
    Work
        Its ``wait()`` returns once ``tensor`` holds the message.
    """
    pg = _world(group)
    if pg.comm is None or src == pg.rank():
        raise ValueError("recv: a rank cannot receive from itself")
    MPI = _import_mpi()
    buf, finish = _inplace_buffer(tensor, "recv")
    src = MPI.ANY_SOURCE if src is None else src
    return Work([pg.comm.Irecv(buf, source=src, tag=tag)], finish, [tensor], "recv",
                pg.timeout)


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` to rank ``dst`` (returns once the buffer may be reused).

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        The message.
    dst : int
        The receiving rank.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    tag : int
        Matches a send with its receive.
    """
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0):
    """Receive into ``tensor`` from rank ``src``.

    Parameters
    ----------
    tensor : Tensor or ndarray of any shape
        Overwritten with the message.
    src : int, optional
        The sending rank; None: any rank.
    group : ProcessGroup, optional
        The world, the only group (None means it).
    tag : int
        Matches a send with its receive.

    Returns
    -------
    int
        The sender's rank.
    """
    pg = _world(group)
    if pg.comm is None or src == pg.rank():
        raise ValueError("recv: a rank cannot receive from itself")
    MPI = _import_mpi()
    buf, finish = _inplace_buffer(tensor, "recv")
    status = MPI.Status()
    req = pg.comm.Irecv(buf, source=MPI.ANY_SOURCE if src is None else src, tag=tag)
    _wait([req], pg.timeout, "recv", [status])
    finish()
    return status.Get_source()


def _no_pickle(name):
    def fn(*args, **kwargs):
        raise RuntimeError(
            f"pynn.distributed.{name}: object collectives pickle Python objects, and pynn "
            "never unpickles; send their contents as tensors (all_gather, broadcast)")
    fn.__name__ = name
    fn.__doc__ = (f"Not supported: ``{name}`` would pickle (pynn does not); use tensors.\n\n"
                  "Parameters\n----------\n*args, **kwargs : any\n    Raise NotImplementedError.\n")
    return fn


all_gather_object = _no_pickle("all_gather_object")
broadcast_object_list = _no_pickle("broadcast_object_list")
gather_object = _no_pickle("gather_object")
scatter_object_list = _no_pickle("scatter_object_list")
