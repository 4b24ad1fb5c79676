"""``DistributedDataParallel``: one replica of the model per process, gradients averaged.

How a step runs
---------------
At construction the parameters and buffers of rank 0 are copied to every rank, and the
parameters that require grad are laid out in *buckets*: flat contiguous buffers of one
dtype, filled in reverse order of ``module.parameters()`` (roughly the order backward
produces their gradients), the first capped near 1 MB (or ``bucket_cap_mb`` if smaller) so that
communication starts
early, the others near ``bucket_cap_mb`` (25 MB by default). After a synchronised backward each
parameter's ``.grad`` is a view into its bucket.

Each parameter has a post-accumulate-grad hook (``Tensor.register_post_accumulate_grad_hook``),
which the backward walk calls once the parameter's gradient is complete (after all its uses).
The hook divides the gradient by the world size into its bucket slice (in place when it
already is that slice: ``zero_grad(set_to_none=False)`` keeps the views), so that the sum
the ranks exchange is already the average and no pass over the buckets follows it; when the
last gradient of a bucket arrives, a non-blocking in-place ``MPI_Iallreduce`` starts on the
bucket (between machines; see below for ranks on one machine). Buckets start in bucket
order, identical on every rank (a bucket that completes early waits for its predecessors),
because MPI matches collectives by their order. When the last bucket has started, the hook
waits for all of them: backward returns with averaged gradients.

Ranks on one machine (all of the world's, the usual case for ``mpiexec -n 2`` on a
workstation) exchange differently: their buckets live in MPI shared-memory windows
(``MPI_Win_allocate_shared``), and at the end of backward each rank sums its slice of every
rank's bucket and copies the other slices' sums, between two barriers (see
``_SharedBucket``). MPI's all_reduce of the same bytes copies them through MPI's own
cells, in more time, and needs each rank's attention at every hand-over of cells: on a
machine other jobs keep busy, every hand-over to a rank that has lost its core waits for
it to get it back. ``PYNN_DDP_SHARED_MEMORY=0`` turns this off (then the buckets are
exchanged as between machines).

Progress: MPI advances a non-blocking collective only inside MPI calls. Between machines,
pynn tests the pending requests from every gradient hook (between backward nodes) rather
than running a communication thread: testing costs a microsecond per hook and needs no
thread support from MPI, while a thread would contend for the GIL between kernels and,
under MPICH's busy-polling progress, take a core. On one machine there is nothing for a
thread to hide: the exchange is copies the ranks' own cores make, and when every core
runs a rank a thread takes its time from the computation (measured with MPI's all_reduce
on 2 busy cores: backward then waits far less for the exchange, but the step is barely
shorter, and the shared-memory exchange above does better than either). The
price between machines: a bucket progresses only while later layers' hooks run, so the
last buckets are mostly reduced in the final wait; there, where a network card moves the
bytes while the cores compute, a thread that tests the requests would hide more of the
exchange, which pynn does not have yet.
"""

import os
import weakref
from contextlib import contextmanager

import numpy as np

from ... import distributed as dist
from ...autograd import is_grad_enabled
from ...tensor import Tensor, _wrap
from ..module import Module

__all__ = ["DistributedDataParallel"]

_MB = 1024 * 1024
_FIRST_BUCKET_MB = 1


class _Bucket:
    """A flat buffer holding the gradients of some parameters of one dtype."""

    __slots__ = ("flat", "params", "pending", "shared", "views")

    def __init__(self, params, dtype):
        self.params = params
        self.shared = None
        self._lay_out(np.zeros(sum(p._data.size for p in params), dtype))
        self.pending = 0

    def _lay_out(self, flat):
        self.flat = flat
        self.views = []
        offset = 0
        for p in self.params:
            n = p._data.size
            self.views.append(flat[offset:offset + n].reshape(p._data.shape))
            offset += n


def _window_array(MPI, comm, count, dtype):
    """A window of ``count`` elements per rank in memory every rank of ``comm`` (one
    machine) can read: the window and each rank's part as an ndarray."""
    dtype = np.dtype(dtype)
    # each rank's part on its own pages, not packed after the previous rank's: aligned
    info = MPI.Info.Create()
    info.Set("alloc_shared_noncontig", "true")
    try:
        win = MPI.Win.Allocate_shared(count * dtype.itemsize, dtype.itemsize, info, comm)
    finally:
        info.Free()
    parts = []
    for r in range(comm.Get_size()):
        buf, _ = win.Shared_query(r)
        n = len(memoryview(buf).cast("B")) // dtype.itemsize
        parts.append(np.frombuffer(buf, dtype, count=n) if n else np.zeros(0, dtype))
    win.Lock_all(MPI.MODE_NOCHECK)  # the passive epoch Win.Sync needs, open for good
    return win, parts


class _SharedBucket:
    """A bucket's exchange through shared memory, for ranks on one machine.

    Each rank's bucket lives in a window the others read; rank ``r`` sums slice ``r`` of
    every rank's bucket into its slice of a second window, and each rank then copies the
    whole sum from there into its bucket. Two barriers a step: the buckets are written
    before anyone reads them, and the sums before anyone copies them (the sums are written
    again only after the next step's first barrier, which every rank reaches after its
    copy).
    """

    __slots__ = ("bounds", "grads", "rank", "results", "windows")

    def __init__(self, MPI, comm, bucket):
        size, rank = comm.Get_size(), comm.Get_rank()
        n = bucket.flat.size
        # slices of whole cache lines (16 elements), so that no two ranks write one line
        self.bounds = [min(n, (n * r // size + 15) // 16 * 16) for r in range(size)] + [n]
        self.rank = rank
        win, self.grads = _window_array(MPI, comm, n, bucket.flat.dtype)
        rwin, self.results = _window_array(
            MPI, comm, self.bounds[rank + 1] - self.bounds[rank], bucket.flat.dtype)
        self.windows = (win, rwin)
        flat = self.grads[rank]
        flat[...] = bucket.flat
        bucket._lay_out(flat)

    def sync(self):
        for win in self.windows:
            win.Sync()

    def reduce(self):
        lo, hi = self.bounds[self.rank], self.bounds[self.rank + 1]
        out = self.results[self.rank]
        grads = self.grads
        if len(grads) == 1:
            out[...] = grads[0][lo:hi]
            return
        np.add(grads[0][lo:hi], grads[1][lo:hi], out=out)
        for g in grads[2:]:
            np.add(out, g[lo:hi], out=out)

    def collect(self):
        flat = self.grads[self.rank]
        for r, part in enumerate(self.results):
            flat[self.bounds[r]:self.bounds[r + 1]] = part


def _tensors_in(obj, out):
    """The Tensors inside a module's output (nested tuples, lists, dicts)."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    return out


def _reachable_leaves(outputs):
    """The ids of the leaves the graph of ``outputs`` reaches (iterative walk)."""
    leaves = set()
    seen = set()
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    leaves.update(id(t) for t in outputs if t.grad_fn is None and t.requires_grad)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for t, needed in zip(node._inputs, node.needs_input_grad):
            if needed:
                if t.grad_fn is None:
                    leaves.add(id(t))
                else:
                    stack.append(t.grad_fn)
    return leaves


class DistributedDataParallel(Module):
    """Data-parallel training across processes (``torch.nn.parallel.DistributedDataParallel``).

    Every process holds the whole model and runs it on its own part of the data; backward
    averages the gradients over the processes, so that after ``optimizer.step()`` all replicas
    hold the same parameters, those that one process would get from the concatenated batch.
    Call :func:`pynn.distributed.init_process_group` first.

    Parameters
    ----------
    module : Module
        The model; its parameters and buffers are copied from rank 0 at construction.
    device_ids, output_device : optional
        Accepted for compatibility; None or CPU (pynn runs on CPUs).
    dim : int
        Accepted for compatibility (the batch dimension is each rank's own).
    broadcast_buffers : bool
        Copy rank 0's buffers (BatchNorm's running statistics) to every rank at the start of
        each forward.
    process_group : ProcessGroup, optional
        The world (the only group).
    bucket_cap_mb : float, optional
        The size of the gradient buckets after the first (default 25).
    find_unused_parameters : bool
        Walk the graph of each forward's output to find the parameters it did not use, so
        that the reduction does not wait for their gradient. A parameter no rank used keeps
        its ``.grad`` (None stays None).
    check_reduction : bool
        Accepted for compatibility (deprecated in PyTorch).
    gradient_as_bucket_view : bool
        Accepted; gradients are always views into their buckets.
    static_graph : bool
        Accepted for compatibility.
    **kwargs : any
        PyTorch's other options, accepted.

    Shape
    -----
    The wrapped module's: each rank passes its own part of the batch.

    Attributes
    ----------
    module : Module
        The wrapped model (``state_dict`` keys get the ``module.`` prefix, as PyTorch's).

    Notes
    -----
    The gradient exchange is described in the docstring of this module
    (``pynn.nn.parallel.distributed``). When every rank runs on one machine, the buckets
    are MPI shared-memory windows, which stay allocated until the processes exit (freeing
    one is a collective call, which garbage collection cannot make at the same moment on
    every rank): a job that wraps many models one after the other, or one whose machine
    has little shared memory (``/dev/shm``), may set ``PYNN_DDP_SHARED_MEMORY=0`` before
    constructing them.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, **kwargs):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects a Module, got "
                            f"{type(module).__name__}")
        for ids, what in ((device_ids, "device_ids"), (output_device, "output_device")):
            if ids is not None and any(str(d) not in ("cpu", "-1") for d in
                                       (ids if isinstance(ids, (list, tuple)) else [ids])):
                raise ValueError(f"DistributedDataParallel: {what}={ids!r}: pynn runs on CPUs "
                                 "only; leave it None")
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        pg = dist._world(process_group)
        self.process_group = pg
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._sync_module_states()
        self._buckets = self._build_buckets(self._params, bucket_cap_mb * _MB)
        self._where = {}
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        self._armed = False  # a synchronised backward is expected (set by forward)
        self._next = 0  # the next bucket to start
        self._fired = 0  # gradient hooks run since the forward
        self._requests = []
        self._had_grad = None  # per bucket: which parameters had a gradient this step
        self._handles = []
        self._size = pg.size()
        self._mpi = dist._import_mpi() if pg.size() > 1 else None
        self._node = None  # the communicator of the shared-memory exchange
        if pg.size() > 1:
            self._share_buckets()
            ref = weakref.ref(self)

            def hook(p, ref=ref):
                ddp = ref()
                if ddp is not None and ddp._armed:
                    ddp._grad_ready(p)

            self._handles = [p.register_post_accumulate_grad_hook(hook) for p in self._params]

    # -- construction --------------------------------------------------------------------------

    def _share_buckets(self):
        """When every rank runs on this machine, lay the buckets out in shared memory
        (unless ``PYNN_DDP_SHARED_MEMORY=0``): their exchange is then a sum each rank
        computes over a slice of all ranks' buckets, between two barriers, instead of
        MPI's all_reduce, which copies the bytes through MPI's own shared buffers and needs
        each rank's attention several times (see the module docstring)."""
        MPI = self._mpi
        comm = self.process_group.comm
        node = self.process_group._node
        enabled = os.environ.get("PYNN_DDP_SHARED_MEMORY", "1").strip() != "0"
        # every rank must take the same path: the decision is the world's
        agree = np.array([enabled and node.Get_size() == comm.Get_size()], np.int32)
        dist._wait([comm.Iallreduce(MPI.IN_PLACE, agree, MPI.MIN)], self.process_group.timeout,
                   "DistributedDataParallel construction")
        if not agree[0]:
            return
        for bucket in self._buckets:
            bucket.shared = _SharedBucket(MPI, node, bucket)
        self._node = node

    def _sync_module_states(self):
        """Rank 0's parameters and buffers on every rank."""
        pg = self.process_group
        if pg.size() == 1:
            return
        arrays = [p._data for p in self.module.parameters()]
        arrays += [b._data for b in self.module.buffers()]
        self._broadcast(arrays)

    def _sync_buffers(self):
        """Rank 0's buffers (BatchNorm's running statistics) on every rank."""
        if self.process_group.size() > 1:
            bufs = [b._data for b in self.module.buffers()]
            if bufs:
                self._broadcast(bufs)

    def _broadcast(self, arrays):
        reqs = []
        copies = []
        for a in arrays:
            buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
            if buf is not a:
                copies.append((buf, a))
            reqs.append(self.process_group.comm.Ibcast(buf, root=0))
        dist._wait(reqs, self.process_group.timeout, "DistributedDataParallel broadcast")
        for buf, a in copies:
            a[...] = buf

    @staticmethod
    def _build_buckets(params, cap):
        """Buckets of parameters in reverse order, one dtype each: the first of each dtype
        closes past about 1 MB, the later ones past ``cap`` bytes."""
        open_ = {}  # dtype -> (params, bytes, limit)
        count = {}
        buckets = []
        for p in reversed(params):
            dt = p._data.dtype
            cur = open_.get(dt)
            if cur is None:
                limit = min(_FIRST_BUCKET_MB * _MB, cap) if count.get(dt, 0) == 0 else cap
                cur = open_[dt] = ([], [0], limit)
            cur[0].append(p)
            cur[1][0] += p._data.nbytes
            if cur[1][0] >= cur[2]:
                buckets.append(_Bucket(cur[0], dt))
                count[dt] = count.get(dt, 0) + 1
                del open_[dt]
        for dt, cur in open_.items():
            buckets.append(_Bucket(cur[0], dt))
        return buckets

    # -- forward -------------------------------------------------------------------------------

    def forward(self, *inputs, **kwargs):
        """Run the wrapped module and prepare the gradient reduction of the coming backward.

        With ``broadcast_buffers``, rank 0's buffers are copied first.

        Parameters
        ----------
        *inputs, **kwargs : any
            The wrapped module's arguments.

        Returns
        -------
        The wrapped module's output.
        """
        pg = self.process_group
        if self._armed and self._fired:
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                "iteration before starting a new one: some parameters that require grad did "
                "not receive a gradient in that backward. Pass find_unused_parameters=True "
                "when the forward does not use every parameter, and make sure the loss depends "
                "on every output of the module.")
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        if pg.size() > 1 and self.require_backward_grad_sync and is_grad_enabled():
            self._prepare(out)
        else:
            self._armed = False
        return out

    def _prepare(self, out):
        self._armed = True
        self._fired = 0
        self._next = 0
        self._requests = []
        for b in self._buckets:
            b.pending = len(b.params)
        self._had_grad = [[False] * len(b.params) for b in self._buckets]
        if self.find_unused_parameters:
            used = _reachable_leaves(_tensors_in(out, []))
            for p in self._params:
                if id(p) not in used:
                    self._grad_ready(p)

    # -- backward ------------------------------------------------------------------------------

    def _grad_ready(self, p):
        """The gradient of ``p`` is final for this step: put it in its bucket, and start every
        bucket that is full, in order."""
        b, i = self._where[id(p)]
        self._fired += 1
        bucket = self._buckets[b]
        view = bucket.views[i]
        g = p._grad
        if g is not None:
            # averaged on the way into the bucket (as PyTorch's default communication hook
            # divides before its all_reduce): the copy a fresh gradient needs anyway does
            # the division, and no pass over the buckets follows the exchange
            if g._data is not view:
                np.divide(g._data, self._size, out=view)
                g._data = view
            else:
                np.divide(view, self._size, out=view)
            self._had_grad[b][i] = True
        else:
            view.fill(0)
        bucket.pending -= 1
        if bucket.pending == 0 and b == self._next:
            self._start_buckets()
        elif self._requests:
            self._mpi.Request.Testall(self._requests)  # progress only

    def _start_buckets(self):
        comm = self.process_group.comm
        MPI = self._mpi
        buckets = self._buckets
        while self._next < len(buckets) and buckets[self._next].pending == 0:
            if self._node is None:
                self._requests.append(comm.Iallreduce(MPI.IN_PLACE, buckets[self._next].flat,
                                                      MPI.SUM))
            self._next += 1
        if self._next == len(buckets):
            self._finish()

    def _reduce_shared(self):
        """The shared-memory exchange of every bucket (see ``_SharedBucket``)."""
        timeout = self.process_group.timeout
        for step in ("reduce", "collect"):
            for bucket in self._buckets:
                bucket.shared.sync()
            dist._wait([self._node.Ibarrier()], timeout,
                       "DistributedDataParallel gradient exchange")
            for bucket in self._buckets:
                bucket.shared.sync()
                getattr(bucket.shared, step)()

    def _finish(self):
        """All buckets started: wait for them, average, and give every parameter that had
        a gradient on some rank its bucket view as ``.grad``."""
        pg = self.process_group
        if self._node is not None:
            self._reduce_shared()
        dist._wait(self._requests, pg.timeout, "DistributedDataParallel gradient all_reduce")
        self._requests = []
        self._armed = False
        self._next = 0
        self._fired = 0
        used = None
        if self.find_unused_parameters:
            flags = np.concatenate([np.array(h, np.int32) for h in self._had_grad])
            dist._wait([pg.comm.Iallreduce(self._mpi.IN_PLACE, flags)], pg.timeout,
                       "DistributedDataParallel unused-parameter map")
            used = iter(flags)
        for b, bucket in enumerate(self._buckets):
            for p, view, had in zip(bucket.params, bucket.views, self._had_grad[b]):
                if used is not None and not next(used):
                    continue  # no rank used it: its .grad stays as it was
                if not had:
                    p._grad = _wrap(view, None)

    @contextmanager
    def no_sync(self):
        """Within this context backward does not average gradients.

        They accumulate locally until the first forward-and-backward outside it, which
        averages the sum."""
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    def join(self, divide_by_initial_world_size=True, enable=True,
             throw_on_early_termination=False):
        """Uneven inputs across ranks, which pynn does not support: raises.

        Give every rank the same number of batches (``DistributedSampler`` does).

        Parameters
        ----------
        divide_by_initial_world_size, enable, throw_on_early_termination : bool
            PyTorch's options.
        """
        raise NotImplementedError("DistributedDataParallel.join: uneven inputs are not "
                                  "supported; use DistributedSampler so every rank gets the "
                                  "same number of batches")
