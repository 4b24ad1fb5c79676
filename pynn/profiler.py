"""A simple CPU profiler with ``torch.profiler``'s interface.

``pynn.profiler`` times every differentiable op (each ``pynn.autograd.ArrayFunction``
and ``pynn.autograd.Function`` call), each backward pass and the ranges a program
marks with :class:`record_function`, and summarises them as PyTorch does::

    from pynn.profiler import profile, record_function, ProfilerActivity

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(inputs)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

While a profiler records, the ops' ``apply`` and ``Tensor.backward`` run wrapped with a
timer (wall-clock, ``time.perf_counter_ns``), and are put back when the last profiler
stops: outside a profile nothing is slowed down. An event's *self* time excludes the events
nested inside it (an op called by a user Function, a range's ops). Ops are named after
their node class (``LinearFunction`` gives ``Linear``); there are no device kernels to
time, so the CUDA columns of PyTorch's table are absent and ``ProfilerActivity.CUDA``
records nothing.
"""

import enum
import functools
import json
import os
import threading
import time
from collections import OrderedDict

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "record_function",
    "schedule",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """What a profiler records: ``CPU`` (pynn's ops).

    The device kinds exist for scripts that name them and record nothing (pynn runs on the
    CPU).

    Parameters
    ----------
    value : int
        A member's value (``ProfilerActivity(0)`` is ``CPU``).
    names, module, qualname, type, start, boundary : object, optional
        The functional API of Python's ``enum.Enum``.
    """

    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What a :func:`schedule` asks for at a step.

    Parameters
    ----------
    value : int
        A member's value (``ProfilerAction(2)`` is ``RECORD``).
    names, module, qualname, type, start, boundary : object, optional
        The functional API of Python's ``enum.Enum``.
    """

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """A profiling schedule: which steps :class:`profile` records.

    Skip ``skip_first`` steps, then run cycles of ``wait`` idle, ``warmup`` and ``active``
    recorded steps, ``repeat`` times (0: forever).

    Parameters
    ----------
    wait, warmup, active : int
        Steps per cycle in each phase; ``active`` must be positive.
    repeat : int
        Number of cycles; 0 repeats until the profiler stops.
    skip_first : int
        Steps ignored before the first cycle.
    skip_first_wait : int
        1: the first cycle has no wait phase.

    Returns
    -------
    callable
        ``fn(step) -> ProfilerAction``; the last active step of a cycle is
        ``RECORD_AND_SAVE`` (the profiler then calls its ``on_trace_ready``).
    """
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("Invalid profiler schedule arguments")
    if warmup == 0:
        import warnings

        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      UserWarning, stacklevel=2)

    def schedule_fn(step):
        if step < 0:
            raise ValueError(f"Invalid step: {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        period = wait + warmup + active
        if repeat > 0 and step // period >= repeat:
            return ProfilerAction.NONE
        mod = step % period
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < period - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(_step):
    return ProfilerAction.RECORD


# ---------------------------------------------------------------------------------------------
# Events


class FunctionEvent:
    """One timed call: an op, a backward pass or a :class:`record_function` range.

    Parameters
    ----------
    name : str
    start_ns : int
        ``time.perf_counter_ns()`` at the start.
    thread : int
        The recording thread's id.
    input_shapes : list
        The shapes of the Tensor arguments (with ``record_shapes``), else empty.
    """

    def __init__(self, name, start_ns, thread, input_shapes):
        self.name = name
        self.key = name
        self.start_ns = start_ns
        self.end_ns = start_ns
        self.thread = thread
        self.input_shapes = input_shapes
        self.children_ns = 0
        self.count = 1

    @property
    def cpu_time_total(self):
        """Wall time of the call, in microseconds (nested events included)."""
        return (self.end_ns - self.start_ns) / 1000.0

    @property
    def self_cpu_time_total(self):
        """Wall time minus that of the events nested in it, in microseconds."""
        return (self.end_ns - self.start_ns - self.children_ns) / 1000.0

    @property
    def cpu_time(self):
        """Wall time per call (one call), in microseconds."""
        return self.cpu_time_total

    @property
    def self_cpu_time(self):
        """Self time per call (one call), in microseconds."""
        return self.self_cpu_time_total

    def __repr__(self):
        return (f"<FunctionEvent name={self.name} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


class FunctionEventAvg:
    """The events of one key added up (a row of :meth:`EventList.table`).

    Parameters
    ----------
    key : str
        The name (and, grouped by shape, the input shapes).
    """

    def __init__(self, key):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = None
        # pynn times no device work; present for scripts that read them
        self.device_time_total = self.self_device_time_total = 0.0
        self.cuda_time_total = self.self_cuda_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0

    def add(self, event):
        """Fold in one event (or another average).

        Parameters
        ----------
        event : FunctionEvent or FunctionEventAvg

        Returns
        -------
        FunctionEventAvg
            self.
        """
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        if self.input_shapes is None:
            self.input_shapes = event.input_shapes
        return self

    @property
    def cpu_time(self):
        """Average wall time per call, in microseconds."""
        return self.cpu_time_total / max(self.count, 1)

    @property
    def self_cpu_time(self):
        """Average self time per call, in microseconds."""
        return self.self_cpu_time_total / max(self.count, 1)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time:.3f}us "
                f"cpu_time={self.cpu_time:.3f}us count={self.count}>")


def _fmt_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


_SORT_KEYS = {
    "cpu_time_total": "cpu_time_total",
    "self_cpu_time_total": "self_cpu_time_total",
    "cpu_time": "cpu_time",
    "self_cpu_time": "self_cpu_time",
    "count": "count",
    # device columns are all zero in pynn: sorting by them keeps the order of first call
    "cuda_time_total": "cuda_time_total",
    "self_cuda_time_total": "self_cuda_time_total",
    "device_time_total": "device_time_total",
    "self_device_time_total": "self_device_time_total",
    "cpu_memory_usage": "cpu_memory_usage",
    "self_cpu_memory_usage": "self_cpu_memory_usage",
}


class EventList(list):
    """A list of :class:`FunctionEvent` (or of :class:`FunctionEventAvg` once averaged).

    Parameters
    ----------
    iterable : iterable of FunctionEvent or FunctionEventAvg, optional
        The events.
    """

    def key_averages(self, group_by_input_shape=False):
        """One :class:`FunctionEventAvg` per name (per name and input shapes, if asked).

        Parameters
        ----------
        group_by_input_shape : bool
            Separate the calls of one op by the shapes of their inputs (needs
            ``record_shapes=True``).

        Returns
        -------
        EventList
            Of FunctionEventAvg, in the order of the first call.
        """
        groups = OrderedDict()
        for e in self:
            key = (e.key, str(e.input_shapes)) if group_by_input_shape else e.key
            if key not in groups:
                groups[key] = FunctionEventAvg(e.key)
            groups[key].add(e)
        return EventList(groups.values())

    @property
    def self_cpu_time_total(self):
        """The sum of the events' self times, in microseconds."""
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        """The events as PyTorch's text table.

        Parameters
        ----------
        sort_by : str, optional
            A column, descending: "cpu_time_total", "self_cpu_time_total", "cpu_time",
            "self_cpu_time", "count" (device columns are accepted and all zero).
        row_limit : int
            The most rows shown (-1: all).
        max_src_column_width : int
            Unused (pynn records no stacks); accepted for PyTorch's signature.
        max_name_column_width : int
            Longer names are cut with "...".
        max_shapes_column_width : int
            Width of the input-shapes column (shown when shapes were recorded).
        header : str, optional
            A line printed above the table.
        top_level_events_only : bool
            Accepted for PyTorch's signature.

        Returns
        -------
        str
        """
        rows = list(self)
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"sort_by must be one of {sorted(_SORT_KEYS)}, got {sort_by!r}")
            rows.sort(key=lambda e: getattr(e, _SORT_KEYS[sort_by], 0), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total_self = sum(e.self_cpu_time_total for e in self) or 1.0
        shapes = any(e.input_shapes for e in rows)
        name_w = min(max([len(e.key) for e in rows] + [4]) + 4, max_name_column_width)
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls"]
        widths = [name_w] + [12] * len(cols)
        if shapes:
            cols.append("Input Shapes")
            widths.append(max_shapes_column_width)
        line = "  ".join("-" * w for w in widths) + "  "

        def cell(text, width, left=False):
            return text.ljust(width) if left else text.rjust(width)

        out = []
        if header:
            out.append(header)
        out.append(line)
        out.append("  ".join([cell("Name", name_w)] + [cell(c, w) for c, w in
                                                         zip(cols, widths[1:])]) + "  ")
        out.append(line)
        for e in rows:
            name = e.key if len(e.key) <= name_w else e.key[:name_w - 3] + "..."
            values = [f"{100 * e.self_cpu_time_total / total_self:.2f}%",
                      _fmt_time(e.self_cpu_time_total),
                      f"{100 * e.cpu_time_total / total_self:.2f}%",
                      _fmt_time(e.cpu_time_total), _fmt_time(e.cpu_time), str(e.count)]
            if shapes:
                values.append(str(e.input_shapes or [])[:max_shapes_column_width])
            out.append("  ".join([cell(name, name_w)] + [
                cell(v, w, left=(i == len(values) - 1 and shapes))
                for i, (v, w) in enumerate(zip(values, widths[1:]))]) + "  ")
        out.append(line)
        out.append(f"Self CPU time total: {_fmt_time(sum(e.self_cpu_time_total for e in self))}")
        return "\n".join(out) + "\n"

    def __str__(self):
        return self.table()


# ---------------------------------------------------------------------------------------------
# Recording


class _ThreadStack(threading.local):
    def __init__(self):
        self.stack = []


_lock = threading.Lock()
_active = []  # the profilers recording now
_stack = _ThreadStack()
_patched = {}  # what was replaced while recording: (owner, attribute) -> original


def _shapes(args):
    from .tensor import Tensor

    return [list(a.shape) if isinstance(a, Tensor) else [] for a in args]


def _begin(name, args=None):
    """Open an event in every recording profiler (None when none records)."""
    recording = [p for p in _active if p._recording]
    if not recording:
        return None
    shapes = _shapes(args) if args is not None and any(p.record_shapes for p in recording) \
        else []
    event = FunctionEvent(name, time.perf_counter_ns(), threading.get_ident(), shapes)
    _stack.stack.append(event)
    return event, recording


def _end(token):
    if token is None:
        return
    event, recording = token
    event.end_ns = time.perf_counter_ns()
    stack = _stack.stack
    if stack and stack[-1] is event:
        stack.pop()
    if stack:
        stack[-1].children_ns += event.end_ns - event.start_ns
    for p in recording:
        p._events.append(event)


def _op_name(cls):
    name = cls.__name__
    return name[:-len("Function")] if name.endswith("Function") and name != "Function" \
        else name


# The op wrappers. Their code replaces that of ``ArrayFunction.apply`` and ``Function.apply``
# while a profile records (rather than the class attributes being replaced): the hot operator
# paths (``Tensor.__mul__`` ...) hold ``SomeFunction.apply`` bound once at import, and only
# the shared function's code reaches them. Their free names are looked up in pynn.autograd's
# globals, where _install puts them. Outside a profile the original code runs untouched.


def _timed_array_apply(cls, *args):
    token = _pynn_profiler_begin(cls, args)  # noqa: F821 (pynn.autograd's globals)
    try:
        return _pynn_profiler_array_apply(cls, *args)  # noqa: F821
    finally:
        _pynn_profiler_end(token)  # noqa: F821


def _timed_function_apply(cls, *args, **kwargs):
    token = _pynn_profiler_begin(cls, args)  # noqa: F821 (pynn.autograd's globals)
    try:
        return _pynn_profiler_function_apply(cls, *args, **kwargs)  # noqa: F821
    finally:
        _pynn_profiler_end(token)  # noqa: F821


def _begin_op(cls, args):
    return _begin(_op_name(cls), args)


def _timed_backward(original):
    @functools.wraps(original)
    def backward(self, *args, **kwargs):
        token = _begin("autograd::backward")
        try:
            return original(self, *args, **kwargs)
        finally:
            _end(token)

    return backward


def _install():
    import types

    from .autograd import ArrayFunction, Function
    from .tensor import Tensor

    for owner, timed, alias in ((ArrayFunction, _timed_array_apply,
                                 "_pynn_profiler_array_apply"),
                                (Function, _timed_function_apply,
                                 "_pynn_profiler_function_apply")):
        func = owner.__dict__["apply"].__func__
        names = func.__globals__
        original = types.FunctionType(func.__code__, names, func.__name__, func.__defaults__,
                                      func.__closure__)
        original.__kwdefaults__ = func.__kwdefaults__
        names[alias] = original
        names["_pynn_profiler_begin"] = _begin_op
        names["_pynn_profiler_end"] = _end
        _patched[(func, "__code__")] = func.__code__
        func.__code__ = timed.__code__
    _patched[(Tensor, "backward")] = Tensor.__dict__["backward"]
    Tensor.backward = _timed_backward(Tensor.__dict__["backward"])


def _uninstall():
    names = None
    for (owner, attr), original in _patched.items():
        setattr(owner, attr, original)
        if attr == "__code__":
            names = owner.__globals__
    _patched.clear()
    if names is not None:
        for alias in ("_pynn_profiler_array_apply", "_pynn_profiler_function_apply",
                      "_pynn_profiler_begin", "_pynn_profiler_end"):
            names.pop(alias, None)


class record_function:
    """Time a range of a program under its own name (a context manager or a decorator).

    Parameters
    ----------
    name : str
        The row's name in the table.
    args : str, optional
        Accepted for PyTorch's signature.
    """

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._token = None

    def __enter__(self):
        self._token = _begin(self.name)
        return self

    def __exit__(self, *exc):
        _end(self._token)
        self._token = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        return wrapper


class profile:
    """Record the time of pynn's ops while active, as ``torch.profiler.profile``.

    Parameters
    ----------
    activities : iterable of ProfilerActivity, optional
        Recorded only when ``ProfilerActivity.CPU`` is among them (the default).
    schedule : callable, optional
        ``schedule(step) -> ProfilerAction`` (see :func:`schedule`); driven by
        :meth:`step`. Without one every step is recorded.
    on_trace_ready : callable, optional
        ``on_trace_ready(prof)`` at the end of each ``RECORD_AND_SAVE`` step (and when
        the profiler stops during a recorded phase).
    record_shapes : bool
        Keep the input shapes of each op (``key_averages(group_by_input_shape=True)``).
    profile_memory, with_stack, with_flops, with_modules : bool
        Accepted for PyTorch's signature; pynn records none of them.
    experimental_config, execution_trace_observer, acc_events : object
        Accepted and ignored.
    use_cuda : bool, optional
        PyTorch's deprecated flag; True raises (pynn runs on the CPU only).
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False,
                 with_flops=False, with_modules=False, experimental_config=None,
                 execution_trace_observer=None, acc_events=False, use_cuda=None):
        if use_cuda:
            raise RuntimeError("profile(use_cuda=True): pynn runs on the CPU only")
        self.activities = set(activities) if activities is not None else \
            {ProfilerActivity.CPU}
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.step_num = 0
        self._events = EventList()
        self._recording = False
        self._started = False
        self._action = ProfilerAction.NONE

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        """Start the profiler (and the schedule at its current step)."""
        if self._started:
            return
        self._started = True
        with _lock:
            if not _active:
                _install()
            _active.append(self)
        self._enter_action(self.schedule(self.step_num))

    def stop(self):
        """Stop recording; a recorded phase still open is handed to ``on_trace_ready``."""
        if not self._started:
            return
        if self._action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE) \
                and self.schedule is not _always_record:
            self._save()
        self._recording = False
        self._started = False
        with _lock:
            if self in _active:
                _active.remove(self)
            if not _active:
                _uninstall()
        if self.schedule is _always_record and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self):
        """Mark the end of a training step: the schedule moves on."""
        if not self._started:
            return
        previous = self._action
        self.step_num += 1
        action = self.schedule(self.step_num)
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._save()
        self._enter_action(action)

    def _enter_action(self, action):
        recorded = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if action == ProfilerAction.WARMUP and self._action != ProfilerAction.WARMUP:
            self._events = EventList()  # a new cycle
        elif action in recorded and self._action not in (ProfilerAction.RECORD,):
            # a new recorded phase: after warm-up (whose events are not kept), after an
            # idle phase, or after the previous cycle was saved
            self._events = EventList()
        # entering NONE keeps the last cycle's events for key_averages() after the loop
        self._action = action
        self._recording = ProfilerActivity.CPU in self.activities and action in (
            ProfilerAction.WARMUP, ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    def _save(self):
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    # -- results -------------------------------------------------------------------------------

    def events(self):
        """The recorded events, in the order they ended.

        Returns
        -------
        EventList
        """
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        """The events averaged per name (see :meth:`EventList.key_averages`).

        Parameters
        ----------
        group_by_input_shape : bool
        group_by_stack_n : int
            Accepted for PyTorch's signature (no stacks are recorded).

        Returns
        -------
        EventList
        """
        return self._events.key_averages(group_by_input_shape)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (``chrome://tracing``, Perfetto).

        Parameters
        ----------
        path : str or os.PathLike
            The JSON file written (replaced whole: a temporary file is renamed).
        """
        origin = min((e.start_ns for e in self._events), default=0)
        trace = {"traceEvents": [
            {"name": e.name, "ph": "X", "cat": "cpu_op", "pid": os.getpid(),
             "tid": e.thread, "ts": (e.start_ns - origin) / 1000.0,
             "dur": (e.end_ns - e.start_ns) / 1000.0,
             "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
            for e in self._events]}
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(trace, f)
        os.replace(tmp, path)


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` that writes each trace into ``dir_name`` as a Chrome trace.

    Parameters
    ----------
    dir_name : str or os.PathLike
        Created if missing.
    worker_name : str, optional
        Defaults to ``<hostname>_<pid>``.
    use_gzip : bool
        Compress the file (``.pt.trace.json.gz``).

    Returns
    -------
    callable
        ``handler(prof)``.
    """
    import socket

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(os.fspath(dir_name),
                            f"{name}.{time.time_ns() // 1_000_000}.pt.trace.json")
        prof.export_chrome_trace(path)
        if use_gzip:
            import gzip
            import shutil

            with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.remove(path)

    return handler


# ---------------------------------------------------------------------------------------------
# torch.autograd.profiler: the older spelling (older scripts, tutorials)


class _AutogradProfile(profile):
    """``torch.autograd.profiler.profile``: the same profiler with the older signature and
    result names."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False,
                 with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        if use_cuda or use_device not in (None, "cpu"):
            raise RuntimeError("autograd.profiler.profile: pynn runs on the CPU only "
                               "(use_cuda / use_device)")
        activities = [ProfilerActivity.CPU] if enabled and use_cpu else []
        super().__init__(activities=activities, record_shapes=record_shapes)

    @property
    def function_events(self):
        """The recorded events (an :class:`EventList`)."""
        return self._events

    @property
    def self_cpu_time_total(self):
        """The sum of the events' self times, in microseconds."""
        return self._events.self_cpu_time_total

    def table(self, *args, **kwargs):
        """The events' table (see :meth:`EventList.table`)."""
        return self._events.table(*args, **kwargs)

    def total_average(self):
        """All events added into one :class:`FunctionEventAvg`."""
        total = FunctionEventAvg("Total")
        for e in self._events:
            total.add(e)
        return total


def _register_autograd_profiler():
    """Make ``pynn.autograd.profiler`` (and ``import pynn.autograd.profiler``) exist."""
    import sys
    import types

    from . import autograd

    legacy = types.ModuleType("pynn.autograd.profiler",
                              "torch.autograd.profiler's names: profile, record_function.")
    legacy.profile = _AutogradProfile
    legacy.record_function = record_function
    legacy.EventList = EventList
    legacy.FunctionEvent = FunctionEvent
    legacy.FunctionEventAvg = FunctionEventAvg
    sys.modules[legacy.__name__] = legacy
    autograd.profiler = legacy


_register_autograd_profiler()
