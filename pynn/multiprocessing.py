"""Python's ``multiprocessing`` with tensors in shared memory (``torch.multiprocessing``).

Everything ``multiprocessing`` offers is here under the same names (``Process``,
``Queue``, ``Pool``, ``set_start_method``, ``get_context``, ...), plus :func:`spawn`. What
this module adds is how tensors travel to other processes:

- A tensor whose storage was moved to shared memory (``Tensor.share_memory_()``,
  ``Module.share_memory()``) reaches a child process as a tensor over the *same* memory,
  whatever the start method: writes on either side are seen by the other. That is what
  Hogwild training relies on: several processes update one model's parameters in place.
  A forked child inherits the mapping; a spawned child, or a process receiving the tensor
  through a ``Queue`` or ``Pipe``, gets a duplicate of the memory's file descriptor.
- Any other tensor is copied, as a plain ``pickle`` copies it.

Shared storage is an anonymous memory file (``memfd_create`` on Linux, an unlinked
temporary file elsewhere) mapped ``MAP_SHARED``; it is freed when the last process
holding a tensor over it lets go. POSIX systems only (Linux, macOS).
"""

import mmap
import multiprocessing as _mp
import os
import sys
import tempfile
import traceback
import weakref
from multiprocessing import *  # noqa: F403  (this module is multiprocessing, with tensors)
from multiprocessing import context as _context
from multiprocessing import reduction as _reduction

import numpy as np

__all__ = list(_mp.__all__) + ["ProcessContext", "ProcessException", "ProcessExitedException",
                               "ProcessRaisedException", "spawn"]


class _SharedBlock(mmap.mmap):
    """A shared mapping of an anonymous memory file; ``fd`` stays open while it lives, so
    that the block can be handed to further processes."""


def _new_block(nbytes, fd=None):
    """A shared block of ``nbytes`` (a new memory file, or the one ``fd`` refers to)."""
    if os.name != "posix":
        raise RuntimeError("share_memory_: pynn shares tensor memory between processes on "
                           "POSIX systems only (Linux, macOS)")
    size = max(int(nbytes), 1)  # mmap refuses an empty mapping
    if fd is None:
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("pynn-shared-tensor", os.MFD_CLOEXEC)
        else:
            handle, path = tempfile.mkstemp(prefix="pynn-shared-")
            os.unlink(path)  # only the descriptors keep it now
            fd = handle
        os.ftruncate(fd, size)
    block = _SharedBlock(fd, size)
    block.fd = fd
    weakref.finalize(block, os.close, fd)
    return block


def _block_of(arr):
    """The shared block ``arr`` lies in, or None."""
    base = arr
    while base is not None:
        if isinstance(base, _SharedBlock):
            return base
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return None


def _share(arr):
    """``arr`` itself if it lies in shared memory, else a copy of it there (same strides
    for a contiguous array, C order otherwise)."""
    if _block_of(arr) is not None:
        return arr
    block = _new_block(arr.nbytes)
    out = np.ndarray(arr.shape, arr.dtype, buffer=block)
    out[...] = arr
    return out


def _is_shared(arr):
    return _block_of(arr) is not None


def _rebuild_tensor(cls, arr, requires_grad):
    from .tensor import _wrap

    if cls is _wrap:  # a plain Tensor
        return _wrap(arr, None).requires_grad_(requires_grad)
    return cls(arr, requires_grad=requires_grad)


def _fd_for_receiver(fd):
    """How the receiving process gets a descriptor of the block behind ``fd``: a process
    being started inherits it under the same number (passed once however many tensors
    share the block); any other receiver gets a duplicate sent over a socket."""
    popen = _context.get_spawning_popen()
    if popen is None:
        return "dup", _reduction.DupFd(fd)
    if fd not in getattr(popen, "_fds", ()):
        popen.duplicate_for_child(fd)
    return "inherited", fd


_inherited = weakref.WeakValueDictionary()  # inherited descriptor -> its block, in a child


def _rebuild_shared(how, nbytes, offset, shape, strides, dtype, cls, requires_grad):
    kind, value = how
    if kind == "dup":
        block = _new_block(nbytes, value.detach())
    else:
        block = _inherited.get(value)
        if block is None:
            block = _inherited[value] = _new_block(nbytes, value)
    arr = np.ndarray(shape, dtype, buffer=block, offset=offset, strides=strides)
    return _rebuild_tensor(cls, arr, requires_grad)


def _reduce_tensor(t):
    """How a Tensor crosses to another process: over its shared block if it has one (a
    duplicate of the block's descriptor travels), else as a copy of its values."""
    from .nn.parameter import Parameter
    from .tensor import _wrap

    cls = Parameter if isinstance(t, Parameter) else _wrap
    arr = t._data
    block = _block_of(arr)
    if block is None:
        return _rebuild_tensor, (cls, np.array(arr), t.requires_grad)
    start = np.frombuffer(block, np.uint8).__array_interface__["data"][0]
    offset = arr.__array_interface__["data"][0] - start
    return _rebuild_shared, (_fd_for_receiver(block.fd), len(block), offset, arr.shape,
                             arr.strides, arr.dtype, cls, t.requires_grad)


def _register_reducers():
    from .nn.parameter import Parameter
    from .tensor import Tensor

    for cls in (Tensor, Parameter):
        _reduction.ForkingPickler.register(cls, _reduce_tensor)


_register_reducers()


# -- spawn ------------------------------------------------------------------------------------

class ProcessException(Exception):
    """A process started by :func:`spawn` failed.

    Parameters
    ----------
    msg : str
        The message.
    error_index : int
        The failed process's index, ``0 .. nprocs - 1``.
    pid : int
        Its process id.
    """

    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A process started by :func:`spawn` raised an exception.

    The message holds its traceback.

    Parameters
    ----------
    msg : str
        The message, with the child's traceback.
    error_index : int
        The failed process's index.
    pid : int
        Its process id.
    """


class ProcessExitedException(ProcessException):
    """A process started by :func:`spawn` exited with a non-zero code (or a signal).

    Parameters
    ----------
    msg : str
        The message.
    error_index : int
        The failed process's index.
    pid : int
        Its process id.
    exit_code : int
        Its exit code (negative: killed by a signal).
    signal_name : str, optional
        The signal's name, when a signal ended it.
    """

    def __init__(self, msg, error_index, pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _spawned_main(fn, index, args, errors):
    try:
        fn(index, *args)
    except KeyboardInterrupt:
        pass  # the parent is stopping the job
    except Exception:  # noqa: BLE001  (any error is reported to the parent; SystemExit keeps its code)
        errors.put((index, traceback.format_exc()))
        sys.exit(1)


class ProcessContext:
    """The processes :func:`spawn` started, to :meth:`join`.

    Parameters
    ----------
    processes : list of multiprocessing.Process
    errors : multiprocessing.SimpleQueue
        Where a failing process puts ``(index, traceback text)``.

    Attributes
    ----------
    processes : list of multiprocessing.Process
    """

    def __init__(self, processes, errors):
        self.processes = processes
        self._errors = errors

    def pids(self):
        """The processes' ids.

        Returns
        -------
        list of int
        """
        return [p.pid for p in self.processes]

    def join(self, timeout=None):
        """Wait for the processes; on the first failure stop the others and raise.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for a process to end before returning False.

        Returns
        -------
        bool
            True when all processes ended successfully; False if some still run.

        Raises
        ------
        ProcessRaisedException
            A process raised; the message holds its traceback.
        ProcessExitedException
            A process exited with a non-zero code or was killed by a signal.
        """
        from multiprocessing.connection import wait

        while True:
            # One reading of the exit codes serves both tests: read twice, a process that
            # fails between the readings would be neither a failure nor alive.
            codes = [p.exitcode for p in self.processes]
            for index, code in enumerate(codes):
                if code not in (None, 0):
                    self._fail(index, self.processes[index])
            alive = [p.sentinel for p, code in zip(self.processes, codes) if code is None]
            if not alive:
                return True
            if not wait(alive, timeout=timeout):
                return False

    def _fail(self, index, failed):
        for p in self.processes:
            if p.exitcode is None:
                p.terminate()
        for p in self.processes:
            p.join()
        if not self._errors.empty():
            error_index, text = self._errors.get()
            pid = self.processes[error_index].pid
            raise ProcessRaisedException(
                f"\n\n-- Process {error_index} terminated with the following error:\n{text}",
                error_index, pid)
        code = failed.exitcode
        if code < 0:
            import signal

            name = signal.Signals(-code).name
            raise ProcessExitedException(f"process {index} terminated with signal {name}",
                                         index, failed.pid, code, name)
        raise ProcessExitedException(f"process {index} terminated with exit code {code}",
                                     index, failed.pid, code)


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` in ``nprocs`` new processes (``torch.multiprocessing.spawn``).

    Parameters
    ----------
    fn : callable
        A function defined at module level (the children import it by name); its first
        argument is the process index ``0 .. nprocs - 1``.
    args : tuple, optional
        The remaining arguments; tensors in shared memory stay shared.
    nprocs : int, default 1
    join : bool, default True
        Wait for all processes (and raise if one fails); False returns the context.
    daemon : bool, default False
    start_method : {"spawn", "fork", "forkserver"}, default "spawn"

    Returns
    -------
    ProcessContext or None
        The context when ``join`` is False, else None once all processes succeeded.

    Raises
    ------
    ProcessRaisedException
        A process raised an exception (its traceback is in the message); the others are
        terminated.
    ProcessExitedException
        A process ended with a non-zero exit code or a signal.
    """
    ctx = _mp.get_context(start_method)
    errors = ctx.SimpleQueue()
    processes = []
    for i in range(nprocs):
        p = ctx.Process(target=_spawned_main, args=(fn, i, args, errors), daemon=daemon)
        p.start()
        processes.append(p)
    context = ProcessContext(processes, errors)
    if not join:
        return context
    while not context.join():
        pass
    return None


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """:func:`spawn` with the start method chosen (PyTorch's name; ``"spawn"`` by default).

    Parameters
    ----------
    fn : callable
    args : tuple, optional
    nprocs : int, default 1
    join : bool, default True
    daemon : bool, default False
    start_method : {"spawn", "fork", "forkserver"}, default "spawn"
        As :func:`spawn`.

    Returns
    -------
    ProcessContext or None
    """
    return spawn(fn, args, nprocs, join, daemon, start_method)


def get_sharing_strategy():
    """``"file_descriptor"``: shared tensors travel as duplicated descriptors.

    Returns
    -------
    str
    """
    return "file_descriptor"


def get_all_sharing_strategies():
    """The strategies :func:`set_sharing_strategy` takes.

    Returns
    -------
    set of str
    """
    return {"file_descriptor"}


def set_sharing_strategy(new_strategy):
    """Accept ``"file_descriptor"``, the one strategy pynn has.

    Parameters
    ----------
    new_strategy : str
    """
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"set_sharing_strategy: pynn shares tensors by file descriptor "
                         f"only; got {new_strategy!r}")


__all__ += ["get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy",
            "start_processes"]
