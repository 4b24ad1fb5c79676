"""Automatic differentiation: graph nodes, the backward walk, tensor hooks and grad mode.

Automatic differentiation: the graph nodes (:class:`Function`, :class:`ArrayFunction`), the
backward walk (:func:`backward`, :func:`grad`), tensor hooks and the grad mode.

Two kinds of node
-----------------
:class:`Function` is PyTorch's ``torch.autograd.Function``: a user subclasses it with static
``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` methods that take and return
*Tensors*, and calls ``MyFunction.apply(*args)``::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                 # Tensors in (no graph is recorded inside) ...
            y = x.exp()
            ctx.save_for_backward(y)
            return y                         # ... a Tensor, or a tuple of them, out

        @staticmethod
        def backward(ctx, grad_y):           # one gradient Tensor per output
            (y,) = ctx.saved_tensors
            return grad_y * y                # one gradient (or None) per forward input

:class:`ArrayFunction` is pynn's internal, faster contract, used by every built-in op
(``pynn.ops``): ``forward`` receives the ndarrays (``._data``) of its Tensor arguments (other
arguments as given) and returns an ndarray, or a tuple of ndarrays for several outputs;
``backward(ctx, *grads)`` receives one ndarray per output and returns ndarrays. The ``ctx``
is the graph node itself. ``backward`` must not modify a ``grad`` in place (it may be shared
or a read-only broadcast view) and returns gradients shaped like the corresponding inputs.
For a node with several outputs, an output that received no gradient is passed as None
(not materialised as zeros: the op skips that part of the work). Integer and boolean
outputs never require grad.

The walk
--------
``Tensor.backward``, :func:`backward` and :func:`grad` share one engine (``_execute``):
Kahn's algorithm over the nodes reachable from the roots, without recursion, passing
ndarrays between nodes and wrapping a gradient in a Tensor only where a user sees it (a
``.grad``, a hook, the result of :func:`grad`). Saved values are released after a node ran
unless ``retain_graph=True``. Every node records the versions of the Tensors its backward
may read (an ``ArrayFunction``: its Tensor inputs; a ``Function``: its saved tensors); an
in-place write in between makes backward raise, as PyTorch does.

Where an op's input was made by an op whose backward can absorb its own (a ReLU or a
max-pool after a convolution, a ReLU after a linear layer: the node's ``_fuse``) and that
input reaches nothing else in the walk, unwatched by hooks and unwritten since, the walk
runs the chain's backward as one kernel call (``_fused_backward``): written one op at a
time, ``F.max_pool2d(F.relu(conv(x)), 2)`` runs the pooled convolution's backward, never
storing the full-size gradients of the intermediates. Walks that must see every node
(``create_graph``, anomaly mode) run the ops one by one, and :func:`grad` never absorbs a
node whose output's gradient it was asked for.

``create_graph=True`` records the backward itself: a :class:`Function`'s ``backward`` is
written with Tensor operations; a built-in op's backward works on ndarrays, so its recorded
form comes from ``pynn.ops.graph_backward`` (an op without an entry there raises
NotImplementedError naming it).
"""

import functools
import threading
import weakref

import numpy as np

from .tensor import Tensor, _wrap

_new = object.__new__
_ndarray = np.ndarray
_ref = weakref.ref

__all__ = [
    "ArrayFunction",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
]

#: Old PyTorch scripts wrap tensors with ``Variable(x, requires_grad=True)``: a Tensor.
Variable = Tensor


# ---------------------------------------------------------------------------------------------
# Grad mode (per thread, as in PyTorch)


class _GradMode(threading.local):
    enabled = True
    anomaly = False


_mode = _GradMode()


def is_grad_enabled():
    """True when operations record the graph for :meth:`pynn.Tensor.backward`.

    Returns
    -------
    bool
        The mode of the calling thread.
    """
    return _mode.enabled


class set_grad_enabled:
    """Turn graph recording on or off, as ``torch.set_grad_enabled``.

    A call takes effect at once; as a context manager it restores the previous mode on exit;
    it also decorates functions.

    Parameters
    ----------
    mode : bool
        True records operations for backward; False does not.
    """

    def __init__(self, mode):
        self.prev = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _mode.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode
        _mode.enabled = self.prev  # used as a decorator: the call above must not stick

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    _enabled = True

    def __enter__(self):
        self.prev = _mode.enabled
        _mode.enabled = self._enabled

    def __exit__(self, *exc):
        _mode.enabled = self.prev
        return False

    def __call__(self, fn):
        cls = type(self)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with cls():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that disables graph recording (``torch.no_grad``).

    Inside it every result has ``requires_grad=False`` and no ``grad_fn``: inference costs
    no graph memory. Mode is per thread.
    """

    _enabled = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that re-enables graph recording inside ``no_grad``."""

    _enabled = True


class inference_mode(_GradModeContext):
    """``torch.inference_mode``: as :class:`no_grad` (pynn has no separate inference tensors).

    Parameters
    ----------
    mode : bool
        False makes it a no-op, as in PyTorch.
    """

    def __init__(self, mode=True):
        self._enabled = not mode

    def __call__(self, fn):
        if isinstance(fn, bool):  # @inference_mode(False) was called without a function
            return inference_mode(fn)
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(enabled and _mode.enabled):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    """True inside :class:`inference_mode` (that is, when grad mode is off).

    Returns
    -------
    bool
    """
    return not _mode.enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off (``torch.autograd.set_detect_anomaly``).

    When on, the backward walk raises as soon as a node returns a gradient holding NaN.

    A call takes effect at once; as a context manager it restores the previous setting.

    Parameters
    ----------
    mode : bool
    check_nan : bool
        False keeps the mode but skips the NaN check (nothing else is checked).
    """

    def __init__(self, mode, check_nan=True):
        self.prev = _mode.anomaly
        _mode.anomaly = bool(mode and check_nan)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _mode.anomaly = self.prev
        return False


class detect_anomaly(_GradModeContext):
    """Context manager and decorator enabling anomaly detection.

    See :class:`set_detect_anomaly`.

    Parameters
    ----------
    check_nan : bool
        Raise when a node returns a gradient holding NaN (False: detection stays off).
    """

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def __enter__(self):
        self.prev = _mode.anomaly
        _mode.anomaly = self.check_nan

    def __exit__(self, *exc):
        _mode.anomaly = self.prev
        return False

    def __call__(self, fn):
        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(check_nan):
                return fn(*args, **kwargs)

        return wrapper


def is_anomaly_enabled():
    """Whether :class:`detect_anomaly` checks the gradients of the backward walk.

    Returns
    -------
    bool
    """
    return _mode.anomaly


# ---------------------------------------------------------------------------------------------
# Nodes


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def _describe(t):
    return f"[Tensor of shape {tuple(t._data.shape)}, dtype {t._data.dtype}]"


def _version_error(t, expected):
    where = ""
    node = t.grad_fn
    if node is not None:
        k = 0 if node._outs is None else _out_index(node, t, strict=False)
        where = f", which is output {k} of {node.name()},"
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {_describe(t)}{where} is at version {t._version}; expected "
        f"version {expected} instead. Hint: the in-place write happened after the operation "
        "that needs the old value; make it out of place (x = x + y instead of x += y) or "
        "clone the tensor first."
    )


def _out_index(node, t, strict=True):
    """Which output of the multi-output ``node`` the Tensor ``t`` is."""
    for k, r in enumerate(node._outs):
        if r() is t:
            return k
    # not the output object itself: a Tensor over its storage (the value before an in-place
    # write, which took the output's place as the input of the in-place op)
    data_id = id(t._data)
    for k, i in enumerate(node._out_ids):
        if i == data_id:
            return k
    if strict:
        raise RuntimeError(f"autograd: a Tensor claims {node.name()} as grad_fn but is not one "
                           "of its outputs")
    return 0


class _HookSlot:
    """The hooks registered on one non-leaf output (or one leaf), and its retain_grad."""

    __slots__ = ("__weakref__", "fns", "retain", "tensor")

    def __init__(self):
        self.fns = []
        self.retain = None  # weakref to a non-leaf Tensor that called retain_grad()
        self.tensor = None  # for leaves: a weakref to the leaf


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, fns, fn):
        self._fns = fns
        self._fn = fn

    def remove(self):
        """Unregister the hook (a second call does nothing)."""
        fns, self._fns = self._fns, None
        if fns is not None:
            for i, f in enumerate(fns):
                if f is self._fn:
                    del fns[i]
                    break

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class AccumulateGrad:
    """The node that stands for a leaf in ``grad_fn.next_functions`` (``.variable`` is it)."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return "<AccumulateGrad>"


class ArrayFunction:
    """Base class of pynn's differentiable operations, on ndarrays.

    Subclass it with static ``forward`` and ``backward`` methods and call :meth:`apply` (see
    the module docstring)::

        class MulFunction(ArrayFunction):
            @staticmethod
            def forward(ctx, a, b):          # ndarrays in (Tensors are unwrapped) ...
                ctx.save_for_backward(a, b)
                return a * b                 # ... one ndarray (or a tuple of them) out

            @staticmethod
            def backward(ctx, grad):         # grad: ndarray shaped like the output
                a, b = ctx.saved_tensors
                return grad * b, grad * a    # one gradient (or None) per forward argument

    Attributes of ``ctx`` (the node)
    --------------------------------
    needs_input_grad : tuple of bool
        One per argument of ``forward``: whether ``backward`` must return its gradient
        (empty when the call was not recorded).
    saved_tensors : tuple
        What :meth:`save_for_backward` stored; released after ``backward`` unless
        ``retain_graph=True``.

    A subclass whose ``backward`` returns only arrays it has just allocated, which nothing
    else refers to, sets ``fresh_grads = True``: a leaf's first gradient is then kept as it
    is instead of copied (a copy of each weight gradient a step otherwise). Left False, the
    gradients may be anything, the incoming ``grad`` itself included.
    """

    # Class-level defaults; instances set only what they use (no per-op dict/kwargs work).
    fresh_grads = False
    needs_input_grad = ()
    saved_tensors = ()
    _inputs = ()  # the arguments of apply (read where needs_input_grad is True)
    _outs = None  # several outputs: a tuple of weak references to them
    _out_ids = ()  # and the ids of their storage arrays
    _hooks = None  # {output index: _HookSlot} once a hook or retain_grad is registered
    _prehooks = None  # the node's own hooks (grad_fn.register_prehook / register_hook)
    _posthooks = None
    _special = False  # True once it has several outputs or hooks (the walk's slow path)
    _vsum = 0  # the sum of the Tensor inputs' versions when recorded
    _others = ()  # the Tensor inputs that do not require grad
    _versions = None  # each input's version, kept only when _vsum is not 0
    # ``_fuse(grad, deps, grads)``, on ops that can run their backward together with that of
    # the ops that made their input (see :func:`_fused_backward`); None on the others.
    _fuse = None

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` (ndarrays or other values) for ``backward``."""
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx, *args):
        """The operation, defined by each subclass.

        Parameters
        ----------
        ctx : ArrayFunction
            The node: :meth:`save_for_backward` and attributes keep what ``backward`` needs.
        *args : ndarray of any shape, or other values
            The arguments of :meth:`apply`, Tensors unwrapped.

        Returns
        -------
        ndarray or tuple of ndarray
            The output(s), of any shapes.
        """
        raise NotImplementedError("ArrayFunction subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        """The gradients of the inputs from those of the outputs, defined by each subclass.

        Parameters
        ----------
        ctx : ArrayFunction
            The node ``forward`` ran on.
        *grads : ndarray shaped like each output
            The gradient of each output.

        Returns
        -------
        ndarray or tuple of (ndarray or None)
            One gradient per argument of ``forward``, shaped like it (None for one that
            needs none).
        """
        raise NotImplementedError("ArrayFunction subclasses must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` on the arguments and return the result as Tensors.

        The Tensors among ``args`` reach ``forward`` unwrapped to ndarrays; the result is a
        Tensor (a tuple of Tensors sharing this node when ``forward`` returns a tuple). The
        node is recorded in the graph when grad mode is on and some Tensor argument
        requires grad."""
        ctx = cls()
        arrays = []
        needs = []
        record = False
        vsum = 0
        others = None
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                vsum += a._version
                if a.requires_grad:
                    needs.append(True)
                    record = True
                    continue
                if others is None:
                    others = [a]
                else:
                    others.append(a)
            else:
                arrays.append(a)
            needs.append(False)
        if record and _mode.enabled:
            # _inputs: the arguments themselves (no copy); the backward walk reads only the
            # positions where needs_input_grad is True (and the versions of _others).
            ctx._inputs = args
            ctx.needs_input_grad = tuple(needs)
            if others is not None:
                ctx._others = others
            if vsum:
                ctx._vsum = vsum
                ctx._versions = [a._version if isinstance(a, Tensor) else 0 for a in args]
            out = cls.forward(ctx, *arrays)
            node = ctx
        else:
            out = cls.forward(ctx, *arrays)
            node = None
        if type(out) is not _ndarray:
            if type(out) is tuple:
                return _array_outputs(node, out)
            out = np.asarray(out)
        t = _new(Tensor)  # the result, built inline: this is every op's hot path
        t._data = out
        t._grad = None
        t._version = 0
        t.requires_grad = node is not None
        t.grad_fn = node
        return t

    @classmethod
    def apply_with_ctx(cls, *args):
        """As :meth:`apply`, returning ``(output, ctx)``.

        For callers that want something ``forward`` left on the context (pooling indices);
        slower, off the hot path."""
        ctx = cls()
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        record = _record(ctx, args) is not None
        if not record:
            ctx.needs_input_grad = (False,) * len(args)
        out = np.asarray(cls.forward(ctx, *arrays))
        return _wrap(out, ctx if record else None), ctx

    @property
    def inputs(self):
        """The arguments of the recorded call (empty when it was not recorded)."""
        return self._inputs

    # -- what PyTorch's grad_fn offers -------------------------------------------------------

    def _hook_slots(self):
        """The argument indices whose gradients a grad_fn hook sees, as PyTorch's
        ``grad_inputs``: the Tensor arguments (ops that wrap a number override it)."""
        return [i for i, a in enumerate(self._inputs) if isinstance(a, Tensor)]

    def register_prehook(self, hook):
        """Run ``hook(grad_outputs)`` each time a backward walk is about to run this node.

        ``grad_outputs`` is a tuple with one gradient (a Tensor, or None where none reached
        it) per output of the node, after the hooks registered on those outputs; a tuple
        returned by the hook replaces it.

        Parameters
        ----------
        hook : callable
            ``hook(grad_outputs) -> tuple of Tensor or None``.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.
        """
        return self._add_node_hook("_prehooks", hook, "register_prehook")

    def register_hook(self, hook):
        """Run ``hook(grad_inputs, grad_outputs)`` each time a backward walk ran this node.

        ``grad_inputs`` holds the gradients the node computed, one per Tensor argument of
        the recorded call (None for one that does not require grad), ``grad_outputs`` those
        it received; a tuple returned by the hook replaces ``grad_inputs``.

        Parameters
        ----------
        hook : callable
            ``hook(grad_inputs, grad_outputs) -> tuple of Tensor or None``.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.
        """
        return self._add_node_hook("_posthooks", hook, "register_hook")

    def _add_node_hook(self, where, hook, who):
        if not callable(hook):
            raise TypeError(f"{who} expects a callable, got {type(hook).__name__}")
        fns = self.__dict__.get(where)
        if fns is None:
            fns = []
            setattr(self, where, fns)
        fns.append(hook)
        self._special = True  # the walks' slow path runs hooks; fusion leaves the node alone
        return RemovableHandle(fns, hook)

    def name(self):
        """The node's name as PyTorch prints it (``AddFunction`` -> ``AddBackward0``)."""
        name = type(self).__name__
        name = name.removesuffix("Function")
        return f"{name}Backward0"

    @property
    def next_functions(self):
        """One ``(node, output index)`` per Tensor argument.

        The node that made the argument, an ``AccumulateGrad`` for a leaf that requires
        grad, ``(None, 0)`` otherwise."""
        out = []
        for t, needed in zip(self._inputs, self.needs_input_grad):
            if not isinstance(t, Tensor):
                continue
            if not needed:
                out.append((None, 0))
            elif t.grad_fn is None:
                out.append((AccumulateGrad(t), 0))
            else:
                parent = t.grad_fn
                out.append((parent, 0 if parent._outs is None else _out_index(parent, t)))
        return tuple(out)

    def _check_versions(self):
        """Called by the walks when an input's version changed since the call. Raise
        PyTorch's error if the input was written in place and this node kept (a view of)
        its storage, as PyTorch raises for a saved tensor (a write outside the graph goes
        into the storage itself; one in the graph gives the tensor a new storage). An
        input the node did not keep (``x + y`` keeps neither) is not an error; but when an
        in-place op recorded in the graph has since given it a new ``grad_fn``
        (``_after_version``, set by ``Tensor._inplace``), the input is replaced by the
        value it had (``_before``), whose node is the one to receive this node's gradient.
        Returns True when it replaced an input: the walk then counts its edges again."""
        versions = self._versions
        replaced = None
        for i, t in enumerate(self._inputs):
            if isinstance(t, Tensor):
                expected = versions[i] if versions else 0
                if t._version == expected:
                    continue
                if _kept(self, t._data):
                    raise _version_error(t, expected)
                before = t
                while getattr(before.grad_fn, "_after_version", -1) >= expected:
                    before = before.grad_fn._before
                if before is not t:
                    replaced = replaced or list(self._inputs)
                    replaced[i] = before
        if replaced is None:
            return False
        self._inputs = tuple(replaced)
        return True

    def _backward_graph(self, *grads):
        """``create_graph=True``: the backward as recorded Tensor operations, from the
        registry of :mod:`pynn.ops.graph_backward` (read only here, off the ordinary walk)."""
        from .ops import graph_backward as registry  # ops import this module

        fn = registry.GRAPH_BACKWARD.get(type(self))
        if fn is None:
            raise NotImplementedError(
                f"create_graph=True: the backward of {self.name()} ({type(self).__name__}, a "
                "built-in pynn op) works on ndarrays and has no recorded form, so "
                "higher-order gradients through it are not supported"
            )
        return registry.graph_backward(self, fn, grads)

    def __repr__(self):
        return f"<{self.name()}>"


def _kept(node, arr):
    """Whether ``node`` kept ``arr`` or a view of it (saved, or as a ctx attribute)."""
    todo = [node.saved_tensors, *vars(node).values()]
    while todo:
        v = todo.pop()
        if type(v) is _ndarray:
            if v is arr or np.may_share_memory(v, arr):
                return True
        elif type(v) in (tuple, list):
            todo.extend(v)
    return False


def _array_outputs(node, outs):
    """The Tensors of a multi-output ArrayFunction call, all made by ``node``."""
    res = []
    for o in outs:
        if type(o) is not _ndarray:
            o = np.asarray(o)
        t = _new(Tensor)
        t._data = o
        t._grad = None
        t._version = 0
        if node is not None and o.dtype.kind in "fc":
            t.requires_grad = True
            t.grad_fn = node
        else:
            t.requires_grad = False
            t.grad_fn = None
        res.append(t)
    if node is not None:
        node._outs = tuple(_ref(t) for t in res)
        node._out_ids = tuple(id(t._data) for t in res)
        node._special = True
    return tuple(res)


# ---------------------------------------------------------------------------------------------
# Function: PyTorch's contract


class _SavedOutput:
    """A saved output of the node itself, kept without a reference cycle (node -> output ->
    node): its storage, its index, and a weak reference for the version check."""

    __slots__ = ("data", "index", "ref")

    def __init__(self, t, index):
        self.data = t._data
        self.index = index
        self.ref = _ref(t)


class BackwardCFunction(ArrayFunction):
    """The ``ctx`` of a :class:`Function` call and the node (``grad_fn``) of its outputs.

    Each Function subclass gets its own subclass of this one, named after it with
    ``Backward`` appended (``MyRelu`` -> ``<MyReluBackward>``). Arbitrary attributes may be
    set on it in ``forward`` (``ctx.constant = 3``) and read in ``backward``.
    """

    _forward_cls = None
    _materialize = True
    _saved = ()
    _saved_versions = ()
    _non_differentiable = ()
    _dirty = ()
    _out_meta = ()
    inputs = None  # users may keep their own ``ctx.inputs``; the walk reads ``_inputs``

    def name(self):
        return type(self).__name__

    # -- the ctx API -------------------------------------------------------------------------

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for ``backward``, where ``ctx.saved_tensors`` gives them back
        (checked against in-place writes in between)."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save Tensors or None, got "
                    f"{type(t).__name__}; keep other values as attributes of ctx"
                )
        self._saved = tensors

    @property
    def saved_tensors(self):
        """The Tensors given to :meth:`save_for_backward`, in order."""
        if self._saved is None:
            raise RuntimeError(_FREED)
        out = []
        for t, v in zip(self._saved, self._saved_versions):
            if type(t) is _SavedOutput:
                real = t.ref()
                if real is not None and real._version != v:
                    raise _version_error(real, v)
                s = _wrap(t.data, self)
                s.requires_grad = self._out_meta[t.index] is not None
                if not s.requires_grad:
                    s.grad_fn = None
                t = s
            elif t is not None and t._version != v:
                raise _version_error(t, v)
            out.append(t)
        if len(out) < len(self._saved):  # saved after apply finished: no versions recorded
            out.extend(self._saved[len(out):])
        return tuple(out)

    @saved_tensors.setter
    def saved_tensors(self, value):  # the walk releases the saved tensors with None
        self._saved = value

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *outputs):
        """Declare outputs that get no gradient (their ``requires_grad`` is False; in
        ``backward`` their gradient is zeros, or None without materialisation)."""
        self._non_differentiable = self._non_differentiable + outputs

    def mark_dirty(self, *tensors):
        """Declare inputs that ``forward`` modified in place and returns: they become
        outputs of this node."""
        self._dirty = self._dirty + tensors

    def set_materialize_grads(self, value):
        """With False, ``backward`` receives None (not zeros) for outputs without gradient."""
        self._materialize = bool(value)

    # -- the walk's side ---------------------------------------------------------------------

    def _check_versions(self):
        pass  # a Function checks its saved tensors when backward unpacks them

    def _grads_in(self, grads):
        tg = []
        meta = self._out_meta
        for k, g in enumerate(grads):
            if g is None:
                m = meta[k]
                if self._materialize and m is not None:
                    tg.append(_wrap(np.zeros(m[0], m[1]), None))
                else:
                    tg.append(None)
            elif isinstance(g, Tensor):
                tg.append(g)
            else:
                tg.append(_wrap(g, None))
        return tg

    def _grads_out(self, res, graph):
        name = self.name()
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self.needs_input_grad)
        if len(res) != n:
            if len(res) < n or any(g is not None for g in res[n:]):
                raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(res)})")
            res = res[:n]
        out = []
        for i, (g, t, needed) in enumerate(zip(res, self._inputs, self.needs_input_grad)):
            if g is None:
                out.append(None)
                continue
            if not isinstance(t, Tensor):
                raise RuntimeError(  # noqa: TRY004 - PyTorch's type for this error
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Tensor"
                )
            if not needed:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                if graph:
                    g = _wrap(np.asarray(g, t._data.dtype), None)
                else:
                    g = _wrap(np.asarray(g), None)
            shape = t._data.shape
            if g._data.shape != shape:
                try:
                    np.broadcast_shapes(g._data.shape, shape)
                    if np.broadcast_shapes(g._data.shape, shape) != g._data.shape:
                        raise ValueError
                except ValueError:
                    raise RuntimeError(
                        f"Function {name} returned an invalid gradient at index {i} - got "
                        f"{list(g._data.shape)} but expected shape compatible with "
                        f"{list(shape)}"
                    ) from None
                g = _sum_to(g, shape)
            out.append(g if graph else g._data)
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        """The walk's entry: ndarray gradients in, the user's backward on Tensors, ndarrays
        out."""
        tg = ctx._grads_in(grads)
        prev = _mode.enabled
        _mode.enabled = False
        try:
            res = ctx._forward_cls.backward(ctx, *tg)
        finally:
            _mode.enabled = prev
        return ctx._grads_out(res, False)

    def _backward_graph(self, *grads):
        """``create_graph=True``: Tensor gradients in and out, the user's backward recorded."""
        tg = self._grads_in(grads)
        prev = _mode.enabled
        _mode.enabled = True
        try:
            res = self._forward_cls.backward(self, *tg)
        finally:
            _mode.enabled = prev
        return self._grads_out(res, True)


def _sum_to(g, shape):
    lead = g._data.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g._data.shape[i + lead] != 1)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape)


class FunctionCtx(BackwardCFunction):
    """The type of ``ctx`` (each Function's node class derives from it)."""


class Function:
    """Base class of user-defined differentiable operations, PyTorch's contract.

    Subclass it with static methods ``forward(ctx, *args, **kwargs)`` (Tensors in, a Tensor
    or a tuple out, run without recording a graph) and ``backward(ctx, *grad_outputs)`` (one
    gradient Tensor per output in, one gradient or None per forward argument out), then call
    ``MyFunction.apply(*args)``. Alternatively ``forward(*args)`` without ctx plus
    ``setup_context(ctx, inputs, output)``.

    ``ctx`` offers ``save_for_backward`` / ``saved_tensors``,
    ``needs_input_grad`` (a bool per argument), ``mark_non_differentiable``,
    ``mark_dirty``, ``set_materialize_grads`` and takes any other attribute.

    Parameters
    ----------
    *args, **kwargs : any
        Ignored: a Function is not instantiated by users (call :meth:`apply`).
    """

    _backward_cls = FunctionCtx

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(
            cls.__name__ + "Backward", (FunctionCtx,),
            {"_forward_cls": cls, "__module__": cls.__module__,
             "__qualname__": cls.__qualname__ + "Backward"},
        )

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is not supported: define "
            "forward and backward as @staticmethod and call MyFunction.apply(...)"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """The operation, defined by each subclass (run without recording a graph).

        Parameters
        ----------
        ctx : FunctionCtx
            The node (absent when the subclass defines :meth:`setup_context`).
        *args, **kwargs : Tensor of any shape, or other values
            The arguments of :meth:`apply`.

        Returns
        -------
        Tensor or tuple of Tensor
            The output(s), of any shapes.
        """
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Save what ``backward`` needs, for a ``forward`` written without ``ctx``.

        Parameters
        ----------
        ctx : FunctionCtx
            The node.
        inputs : tuple
            The arguments of :meth:`apply`.
        output : Tensor or tuple of Tensor
            What ``forward`` returned, of any shapes.
        """
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """The gradients of the inputs from those of the outputs, defined by each subclass.

        Parameters
        ----------
        ctx : FunctionCtx
            The node ``forward`` ran on.
        *grad_outputs : Tensor shaped like each output
            The gradient of each output.

        Returns
        -------
        Tensor or tuple of (Tensor or None)
            One gradient per argument of ``forward``, shaped like it (None for one that is
            not differentiated).
        """
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward-mode AD, which pynn does not have: raises NotImplementedError.

        Parameters
        ----------
        ctx : FunctionCtx
            The node.
        *grad_inputs : Tensor shaped like each input
            Tangents of the inputs.
        """
        raise NotImplementedError("pynn has no forward-mode AD (jvp)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and return its output(s).

        The call is recorded in the graph when grad mode is on and some Tensor argument
        requires grad."""
        if cls is Function:
            raise RuntimeError("Function.apply: call apply on a subclass of Function")
        ctx = cls._backward_cls()
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _mode.enabled and any(needs)
        ctx.needs_input_grad = needs if record else (False,) * len(args)
        prev = _mode.enabled
        _mode.enabled = False
        try:
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            _mode.enabled = prev
        return _function_outputs(ctx, args, out, record)


def _function_outputs(ctx, args, out, record):
    multi = isinstance(out, tuple)
    outs = list(out) if multi else [out]
    if not record:
        ctx._saved = None  # nothing will run backward: saved tensors are not kept
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and (o.grad_fn is not None or o.requires_grad):
                outs[i] = _wrap(o._data, None)
        return tuple(outs) if multi else outs[0]
    inputs = list(args)
    ids = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
    non_diff = {id(t) for t in ctx._non_differentiable}
    dirty = {id(t) for t in ctx._dirty}
    meta = []
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            meta.append(None)
            continue
        differentiable = id(o) not in non_diff and o._data.dtype.kind in "fc"
        if id(o) in dirty and id(o) in ids:
            if o.requires_grad and o.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            # the input keeps its old history for this node's backward; the object itself
            # becomes this node's output
            alias = _wrap(o._data, o.grad_fn)
            alias.requires_grad = o.requires_grad
            parent = o.grad_fn
            if parent is not None and parent._outs is not None:
                k_parent = _out_index(parent, o)
                refs = list(parent._outs)
                refs[k_parent] = _ref(alias)
                parent._outs = tuple(refs)
            inputs[ids[id(o)]] = alias
        elif id(o) in ids or o.grad_fn is not None or o.requires_grad:
            o = _wrap(o._data, None)  # an input or outside tensor returned: a new one over it
        if differentiable:
            o.requires_grad = True
            o.grad_fn = ctx
            meta.append((o._data.shape, o._data.dtype))
        else:
            o.requires_grad = False
            o.grad_fn = None
            meta.append((o._data.shape, o._data.dtype))
        outs[k] = o
    ctx._inputs = tuple(inputs)
    ctx._out_meta = meta
    if multi:
        ctx._outs = tuple(_ref(o) if isinstance(o, Tensor) else (lambda: None) for o in outs)
        ctx._out_ids = tuple(id(o._data) if isinstance(o, Tensor) else None for o in outs)
        ctx._special = True
    # saved outputs are kept without a cycle; versions are taken now, after forward
    out_pos = {id(o): k for k, o in enumerate(outs) if isinstance(o, Tensor)}
    saved = []
    versions = []
    for t in ctx._saved:
        if t is None:
            saved.append(None)
            versions.append(0)
        elif id(t) in out_pos and t.grad_fn is ctx:
            saved.append(_SavedOutput(t, out_pos[id(t)]))
            versions.append(t._version)
        else:
            saved.append(t)
            versions.append(t._version)
    ctx._saved = tuple(saved)
    ctx._saved_versions = tuple(versions)
    return tuple(outs) if multi else outs[0]


# ---------------------------------------------------------------------------------------------
# Hooks, retain_grad


_leaf_hooks = {}  # id(leaf) -> _HookSlot (with a weak reference to the leaf)


def _slot_of(t):
    node = t.grad_fn
    if node is None:
        slot = _leaf_hooks.get(id(t))
        if slot is None or slot.tensor() is not t:
            slot = _HookSlot()
            key = id(t)

            def drop(_, key=key, slot=slot):
                if _leaf_hooks.get(key) is slot:
                    del _leaf_hooks[key]

            slot.tensor = _ref(t, drop)
            _leaf_hooks[key] = slot
        return slot
    k = 0 if node._outs is None else _out_index(node, t)
    hooks = node._hooks
    if hooks is None:
        hooks = node._hooks = {}
        node._special = True
    slot = hooks.get(k)
    if slot is None:
        slot = hooks[k] = _HookSlot()
    return slot


def register_hook(t, hook):
    """``Tensor.register_hook``: ``hook(grad)`` runs when the gradient of ``t`` is computed,
    before it is used; returning a Tensor replaces it. Returns a handle with ``remove()``."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"register_hook expects a callable, got {type(hook).__name__}")
    slot = _slot_of(t)
    slot.fns.append(hook)
    return RemovableHandle(slot.fns, hook)


_post_hooks = {}  # id(leaf) -> _HookSlot: hooks called after the leaf's .grad is complete


def register_post_accumulate_grad_hook(t, hook):
    """``Tensor.register_post_accumulate_grad_hook``: ``hook(t)`` runs once per backward walk
    that reaches the leaf ``t``, after the last gradient it receives in that walk has been
    accumulated into ``t.grad`` (a weight used several times: after all its uses). Data
    parallelism starts reducing a gradient from it. Returns a handle with ``remove()``."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                           "tensors")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook expects a callable, got "
                        f"{type(hook).__name__}")
    key = id(t)
    slot = _post_hooks.get(key)
    if slot is None or slot.tensor() is not t:
        slot = _HookSlot()

        def drop(_, key=key, slot=slot):
            if _post_hooks.get(key) is slot:
                del _post_hooks[key]

        slot.tensor = _ref(t, drop)
        _post_hooks[key] = slot
    slot.fns.append(hook)
    return RemovableHandle(slot.fns, hook)


def _post_accumulate(t, pending):
    """One more of the leaf ``t``'s incoming edges is done; at the last, run its hooks."""
    left = pending[id(t)] - 1
    pending[id(t)] = left
    if left == 0:
        for fn in list(_post_hooks[id(t)].fns):
            fn(t)


def retain_grad(t):
    """``Tensor.retain_grad``: a non-leaf keeps its gradient in ``.grad`` (a no-op on leaves)."""
    if not t.requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if t.grad_fn is not None:
        _slot_of(t).retain = _ref(t)


def _retains_grad(t):
    node = t.grad_fn
    if node is None or node._hooks is None:
        return False
    slot = node._hooks.get(0 if node._outs is None else _out_index(node, t, strict=False))
    return slot is not None and slot.retain is not None and slot.retain() is t


def _run_hooks(fns, g, graph):
    for fn in list(fns):
        r = fn(g if graph else _wrap(g, None))
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(f"a tensor hook must return a Tensor or None, got "
                                f"{type(r).__name__}")
            gshape = g._data.shape if graph else g.shape
            if r._data.shape != gshape:
                raise RuntimeError(f"hook changed the gradient's shape from {gshape} to "
                                   f"{r._data.shape}")
            g = r if graph else r._data
    return g


def _node_hooks(node, g, graph):
    """Apply the hooks of ``node``'s outputs to their gradients (``g``: one, or a list)."""
    for k, slot in node._hooks.items():
        gk = g if node._outs is None else g[k]
        if gk is None:
            continue
        if slot.fns:
            gk = _run_hooks(slot.fns, gk, graph)
        if slot.retain is not None:
            t = slot.retain()
            if t is not None:
                _store_grad(t, gk, graph, False)
        if node._outs is None:
            g = gk
        else:
            g[k] = gk
    return g


def _as_user_grad(g, graph):
    return g if graph or g is None else _wrap(g, None)


def _from_user_grad(r, like, graph, who):
    """A gradient a node hook returned, as the walk carries it (``like``: what it replaces,
    for the shape check)."""
    if r is None or graph:
        return r
    if not isinstance(r, Tensor):
        raise TypeError(f"{who} must return Tensors or None, got {type(r).__name__}")
    if like is not None and r._data.shape != like.shape:
        raise RuntimeError(f"{who} changed a gradient's shape from {like.shape} to "
                           f"{r._data.shape}")
    return r._data


def _hook_result(r, n, who):
    if not isinstance(r, (tuple, list)) or len(r) != n:
        got = len(r) if isinstance(r, (tuple, list)) else type(r).__name__
        raise RuntimeError(f"{who} returned an incorrect number of values (got {got}, but "
                           f"expected {n})")
    return r


def _run_prehooks(node, g, graph):
    """``node``'s own pre-hooks on the gradients of its outputs (``g``: one, or a list)."""
    multi = node._outs is not None
    outs = tuple(g) if multi else (g,)
    for fn in list(node._prehooks):
        r = fn(tuple(_as_user_grad(x, graph) for x in outs))
        if r is not None:
            r = _hook_result(r, len(outs), "a grad_fn pre-hook")
            outs = tuple(_from_user_grad(x, o, graph, "a grad_fn pre-hook")
                         for x, o in zip(r, outs))
    return list(outs) if multi else outs[0]


def _run_posthooks(node, in_grads, g, graph):
    """``node``'s own hooks on the gradients it computed (one per Tensor argument, as
    PyTorch's ``grad_inputs``) and those it received."""
    inputs, needs = node._inputs, node.needs_input_grad
    in_grads = list(in_grads) + [None] * (len(inputs) - len(in_grads))
    where = node._hook_slots()
    outs = tuple(_as_user_grad(x, graph) for x in (g if node._outs is not None else (g,)))
    for fn in list(node._posthooks):
        grad_inputs = tuple(_as_user_grad(in_grads[i], graph) if needs[i] else None
                            for i in where)
        r = fn(grad_inputs, outs)
        if r is not None:
            r = _hook_result(r, len(where), "a grad_fn hook")
            for i, x in zip(where, r):
                if needs[i]:
                    like = inputs[i]._data
                    in_grads[i] = _from_user_grad(x, like, graph, "a grad_fn hook")
    return tuple(in_grads)


# ---------------------------------------------------------------------------------------------
# The backward walk


def _accumulate(leaf, grad, owned=False):
    """Add the ndarray ``grad`` into a leaf's ``.grad``, in place once there is one. The first
    gradient becomes a Tensor over an ndarray of the leaf's dtype that nothing else refers to:
    ``grad`` itself when it is ``owned`` (see ``ArrayFunction.fresh_grads``) and already such
    an ndarray, else a copy."""
    g = leaf._grad
    if g is not None:
        g._data += grad
        return
    if not (owned and type(grad) is _ndarray and grad.dtype == leaf._data.dtype
            and grad.flags.writeable):
        grad = np.array(np.real(grad) if leaf._data.dtype.kind != "c" else grad,
                        dtype=leaf._data.dtype)
    g = _new(Tensor)  # _wrap inline: once per leaf per step
    g._data = grad
    g._grad = None
    g._version = 0
    g.requires_grad = False
    g.grad_fn = None
    leaf._grad = g


def _graph_cast(g, dtype):
    """The recorded gradient ``g`` in ``dtype``: a real tensor's is the real part of a
    complex one (PyTorch's), taken without NumPy's warning about discarding it."""
    if g._data.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    return g if g._data.dtype == dtype else g.to(dtype)


def _store_grad(t, g, graph, owned):
    """Accumulate ``g`` (an ndarray, or a Tensor when ``graph``) into ``t.grad``."""
    if not graph:
        _accumulate(t, g, owned)
        return
    if g._data.dtype != t._data.dtype:
        g = _graph_cast(g, t._data.dtype)
    # with create_graph the gradient keeps its history, and a sum is a new Tensor
    t._grad = g if t._grad is None else t._grad + g


def _check_nan(node, in_grads):
    for i, g in enumerate(in_grads):
        if g is not None:
            a = g._data if isinstance(g, Tensor) else g
            if a.dtype.kind in "fc" and np.isnan(a).any():
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{i}th output.")


def _plan(nodes, targets_leaf, targets_node):
    """For a walk limited to some inputs: the nodes that must run their backward, the nodes
    whose gradient is wanted (``contrib``), and the dependency counts between them."""
    children = {}
    seen = set(nodes)
    stack = list(nodes)
    while stack:
        node = stack.pop()
        _version_sum_check(node)  # before its edges are read: it may replace inputs
        for t, needed in zip(node._inputs, node.needs_input_grad):
            if needed and t.grad_fn is not None:
                parent = t.grad_fn
                children.setdefault(parent, []).append(node)
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    run = set()
    contrib = set(targets_node)
    queue = list(contrib)
    for node in seen:
        if any(needed and t.grad_fn is None and id(t) in targets_leaf
               for t, needed in zip(node._inputs, node.needs_input_grad)):
            run.add(node)
            if node not in contrib:
                contrib.add(node)
                queue.append(node)
    while queue:
        parent = queue.pop()
        for child in children.get(parent, ()):
            run.add(child)
            if child not in contrib:
                contrib.add(child)
                queue.append(child)
    deps = dict.fromkeys(contrib, 0)
    for node in run:
        for t, needed in zip(node._inputs, node.needs_input_grad):
            if needed and t.grad_fn in contrib:
                deps[t.grad_fn] += 1
    return run, contrib, deps


def _execute(roots, root_grads, retain_graph, create_graph=False, targets=None, capture=False):
    """Propagate ``root_grads`` (ndarrays; Tensors with ``create_graph``) from the Tensors
    ``roots`` back through the graph.

    With ``targets`` None every leaf reached accumulates its gradient into ``.grad``;
    otherwise only the Tensors of ``targets`` get one: returned in a list when ``capture``
    (``autograd.grad``), else accumulated into their ``.grad``. Kahn's algorithm without
    recursion: a node runs once all its consumers in the graph have handed it their
    gradient.
    """
    graph = create_graph
    restricted = targets is not None
    pending = {}  # leaves with post-accumulate hooks -> edges still to deliver
    grads = {}
    deps = {}
    starts = []
    results = None
    targets_leaf = {}
    targets_node = {}
    if restricted:
        results = [None] * len(targets)
        for i, t in enumerate(targets):
            node = t.grad_fn
            if node is None:
                targets_leaf[id(t)] = i
            else:
                k = 0 if node._outs is None else _out_index(node, t)
                targets_node.setdefault(node, []).append((k, i, t))

    def deliver(i, t, g):  # a gradient for targets[i]
        if capture:
            results[i] = g if results[i] is None else results[i] + g
        else:
            _store_grad(t, g, graph, False)

    for t, g in zip(roots, root_grads):
        node = t.grad_fn
        if node is None:  # a leaf root: its gradient is the one given
            if _leaf_hooks and id(t) in _leaf_hooks:
                g = _run_hooks(_leaf_hooks[id(t)].fns, g, graph)
            if not restricted:
                _store_grad(t, g, graph, False)
            elif id(t) in targets_leaf:
                deliver(targets_leaf[id(t)], t, g)
            continue
        if node._outs is None:
            grads[node] = grads[node] + g if node in grads else g
        else:
            lst = grads.get(node)
            if lst is None:
                lst = grads[node] = [None] * len(node._outs)
            k = _out_index(node, t)
            lst[k] = g if lst[k] is None else lst[k] + g
        if node not in deps:
            deps[node] = 0
            starts.append(node)

    leaf_hooks = _leaf_hooks
    hooked = {}  # leaves with tensor hooks -> edges still to deliver (hooks see the total)
    sums = {}
    if restricted:
        run, contrib, deps = _plan(starts, targets_leaf, targets_node)
        for node in run:  # versions of what will be read; edges into hooked target leaves
            _version_sum_check(node)
            for t, needed in zip(node._inputs, node.needs_input_grad):
                if (needed and t.grad_fn is None and id(t) in leaf_hooks
                        and id(t) in targets_leaf):
                    hooked[id(t)] = hooked.get(id(t), 0) + 1
    else:
        deps, pending, hooked = _count_edges(starts, deps)

    ready = [n for n in starts if deps.get(n, 1) == 0]
    anomaly = _mode.anomaly
    # Fused backwards skip nodes: not when the backward is recorded (graph) or checked node
    # by node (anomaly); never a node whose own output's gradient is wanted (restricted).
    fuse = not (graph or anomaly)
    fuse_deps = _Unwanted(deps, targets_node) if restricted else deps
    ndarray = _ndarray
    while ready:
        node = ready.pop()
        g = grads.pop(node, None)
        multi = node._outs is not None
        if node._hooks is not None and g is not None:
            g = _node_hooks(node, g, graph)
        if restricted:  # captured before the node's pre-hooks, after its tensors' hooks
            for k, i, t in targets_node.get(node, ()):
                gk = g[k] if multi and g is not None else g
                if gk is not None:
                    deliver(i, t, gk)
            if node not in run:
                continue
        if node._prehooks and g is not None:
            g = _run_prehooks(node, g, graph)
        head = node  # the node whose inputs receive in_grads (upstream of node once fused)
        if g is None or (multi and all(x is None for x in g)):
            in_grads = ()  # no gradient reached this node: its inputs get none either
        else:
            if graph and node.backward is _freed_backward:
                raise RuntimeError(_FREED)
            if graph:
                in_grads = node._backward_graph(*g) if multi else node._backward_graph(g)
            elif fuse and node._fuse is not None and not node._special:
                head, in_grads = _fused_backward(node, g, fuse_deps, grads, retain_graph)
            else:
                in_grads = node.backward(node, *g) if multi else node.backward(node, g)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if node._posthooks:
                in_grads = _run_posthooks(node, in_grads, g, graph)
            if anomaly:
                _check_nan(node, in_grads)
            if not retain_graph:
                node.saved_tensors = None
                node.backward = _freed_backward
        inputs = head._inputs
        if len(in_grads) < len(inputs):
            in_grads = in_grads + (None,) * (len(inputs) - len(in_grads))
        for t, needed, gi in zip(inputs, head.needs_input_grad, in_grads):
            if not needed:
                continue
            parent = t.grad_fn
            if parent is None:
                if hooked and id(t) in hooked:
                    gi = _gather(t, gi, hooked, sums)
                if gi is None:
                    if pending and id(t) in pending:
                        _post_accumulate(t, pending)
                    continue
                if hooked and id(t) in hooked:
                    gi = _run_hooks(leaf_hooks[id(t)].fns, gi, graph)
                    if restricted:
                        if id(t) in targets_leaf:
                            deliver(targets_leaf[id(t)], t, gi)
                    else:
                        _store_grad(t, gi, graph, False)
                elif restricted:
                    if id(t) in targets_leaf:
                        deliver(targets_leaf[id(t)], t, gi)
                elif graph:
                    _store_grad(t, gi, True, False)
                else:
                    _accumulate(t, gi, head.fresh_grads)
                if pending and id(t) in pending:
                    _post_accumulate(t, pending)
                continue
            if restricted and parent not in contrib:
                continue
            if gi is not None:
                dtype = t._data.dtype
                if graph:
                    if gi._data.dtype != dtype:
                        gi = _graph_cast(gi, dtype)
                elif type(gi) is not ndarray or (gi.dtype is not dtype and gi.dtype != dtype):
                    # a real tensor's gradient is the real part of a complex one (PyTorch's)
                    gi = np.asarray(np.real(gi) if dtype.kind != "c" else gi, dtype)
                if parent._outs is None:
                    if parent in grads:
                        grads[parent] = grads[parent] + gi
                    else:
                        grads[parent] = gi
                else:
                    lst = grads.get(parent)
                    if lst is None:
                        lst = grads[parent] = [None] * len(parent._outs)
                    k = _out_index(parent, t)
                    lst[k] = gi if lst[k] is None else lst[k] + gi
            left = deps[parent] - 1
            deps[parent] = left
            if left == 0:
                ready.append(parent)
    return results


def _version_sum_check(node):
    vs = 0
    for t in node._inputs:
        if isinstance(t, Tensor):
            vs += t._version
    if vs != node._vsum:
        node._check_versions()


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _seed_grads(outputs, grad_outputs, graph, who):
    """The initial gradients of the roots: ndarrays (Tensors when ``graph``)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{who}: got {len(grad_outputs)} gradients for {len(outputs)} "
                           "tensors")
    seeds = []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expected Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (this tensor has "
                    f"shape {t._data.shape}); pass backward(gradient) shaped like it"
                )
            if t._data.dtype.kind == "c":  # PyTorch's: only a real loss implies a gradient of 1
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {t.dtype}")
            a = np.ones(t._data.shape, t._data.dtype)
            seeds.append(_wrap(a, None) if graph else a)
            continue
        if isinstance(g, Tensor):
            gt = g
        else:
            gt = _wrap(np.asarray(g, dtype=t._data.dtype), None)
        if gt._data.shape != t._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {gt._data.shape} and "
                f"output[{i}] has a shape of {t._data.shape}; the gradient must have the "
                "shape of the tensor"
            )
        if graph:
            seeds.append(gt if gt._data.dtype == t._data.dtype else gt.to(t._data.dtype))
        else:
            a = gt._data
            seeds.append(a if a.dtype == t._data.dtype else a.astype(t._data.dtype))
    return seeds


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None,
             grad_variables=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves.

    The leaves are those ``tensors`` depend on, as ``torch.autograd.backward``.

    Parameters
    ----------
    tensors : Tensor or sequence of Tensor, of any shapes
        The roots; each must require grad.
    grad_tensors : Tensor, array_like, None or a sequence of them, optional
        d(something)/d(root) shaped like each root; None for a one-element root (ones).
    retain_graph : bool, optional
        Keep the saved values so the graph can be walked again (default: ``create_graph``).
    create_graph : bool
        Record the backward itself, for higher-order gradients (graphs of
        :class:`Function` nodes only; see the module docstring).
    inputs : Tensor or sequence of Tensor, optional
        Accumulate into these tensors' ``.grad`` only (leaves or not).
    grad_variables : Tensor, array_like, None or a sequence of them, optional
        The deprecated name of ``grad_tensors``.
    """
    tensors = _as_tuple(tensors)
    if grad_variables is not None and grad_tensors is None:
        grad_tensors = grad_variables
    if grad_tensors is not None:
        grad_tensors = (grad_tensors,) if isinstance(grad_tensors, Tensor) else (
            tuple(grad_tensors) if isinstance(grad_tensors, (list, tuple)) else (grad_tensors,))
    if retain_graph is None:
        retain_graph = create_graph
    targets = _as_tuple(inputs)
    if targets is not None:
        if not targets:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in targets:
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
    seeds = _seed_grads(tensors, grad_tensors, create_graph, "backward")
    if create_graph:
        with enable_grad():
            _execute(tensors, seeds, True, True, targets, False)
    else:
        _execute(tensors, seeds, bool(retain_graph), False, targets, False)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``Tensor.backward``: a one-element root without options takes the fast walk."""
    node = self.grad_fn
    if (gradient is None and inputs is None and not create_graph and node is not None
            and node._outs is None and self._data.size == 1 and self._data.dtype.kind != "c"):
        seed = np.array(1, self._data.dtype)
        _run_backward(node, seed.reshape(self._data.shape) if self._data.ndim else seed,
                      bool(retain_graph))
        return
    backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph,
             inputs)


def _count_edges(starts, deps):
    """The first pass of a walk from the nodes ``starts`` (already in ``deps``): the edges
    into each node reached (``deps``), and into leaves with post-accumulate hooks
    (``pending``) and with tensor hooks (``hooked``), by ``id``. Counted again from the start
    when a node's inputs were replaced (``_check_versions``, after an in-place write)."""
    post, leaf_hooks = _post_hooks, _leaf_hooks
    initial = dict(deps)
    while True:
        deps = dict(initial)
        pending = {}
        hooked = {}
        stack = list(starts)
        replaced = False
        while stack:
            node = stack.pop()
            vs = 0
            for t, needed in zip(node._inputs, node.needs_input_grad):
                if needed:
                    vs += t._version
                    parent = t.grad_fn
                    if parent is not None:
                        if parent in deps:
                            deps[parent] += 1
                        else:
                            deps[parent] = 1
                            stack.append(parent)
                    else:
                        if post and id(t) in post:
                            pending[id(t)] = pending.get(id(t), 0) + 1
                        if leaf_hooks and id(t) in leaf_hooks:
                            hooked[id(t)] = hooked.get(id(t), 0) + 1
            for t in node._others:
                vs += t._version
            if vs != node._vsum and node._check_versions():
                replaced = True
                break
        if not replaced:
            return deps, pending, hooked


def _run_backward(root, grad, retain_graph):
    """The common walk (``loss.backward()``): one single-output root, every leaf reached
    accumulates. The same steps as :func:`_execute`, kept apart because it runs every
    training step."""
    deps, pending, hooked = _count_edges([root], {root: 0})
    leaf_hooks = _leaf_hooks

    grads = {root: grad}
    ready = [root]
    ndarray = _ndarray
    sums = {} if hooked else None  # the gradients hooked leaves received so far
    release = not retain_graph and not _mode.anomaly
    while ready:
        node = ready.pop()
        g = grads.pop(node, None)
        head = node  # the node whose inputs receive in_grads (upstream of node once fused)
        if node._special:  # hooks on its outputs, or several outputs
            in_grads = _special_backward(node, g)
        elif g is None:
            in_grads = None
        elif node._fuse is not None and not _mode.anomaly:
            head, in_grads = _fused_backward(node, g, deps, grads, retain_graph)
        else:
            in_grads = node.backward(node, g)
        inputs = head._inputs
        if in_grads is None:  # no gradient reached this node: its inputs get none either
            in_grads = (None,) * len(inputs)
        else:
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if release:
                node.saved_tensors = None
                node.backward = _freed_backward  # a second walk through it raises
            else:
                _after_backward(node, in_grads, retain_graph)
        # (backward returns one gradient per input: zip does not pad a short tuple)
        for t, needed, gi in zip(inputs, head.needs_input_grad, in_grads):
            if not needed:
                continue
            parent = t.grad_fn
            if parent is None:
                if hooked and id(t) in hooked:
                    gi = _gather(t, gi, hooked, sums)
                    if gi is not None:
                        _accumulate(t, _run_hooks(leaf_hooks[id(t)].fns, gi, False))
                elif gi is not None:
                    _accumulate(t, gi, head.fresh_grads)
                if pending and id(t) in pending:
                    _post_accumulate(t, pending)
                continue
            if gi is not None:
                dtype = t._data.dtype
                if type(gi) is not ndarray or (gi.dtype is not dtype and gi.dtype != dtype):
                    gi = np.asarray(gi, dtype)
                if parent._outs is None:
                    if parent in grads:
                        grads[parent] = grads[parent] + gi
                    else:
                        grads[parent] = gi
                else:
                    _add_to_output(grads, parent, t, gi)
            left = deps[parent] - 1
            deps[parent] = left
            if left == 0:
                ready.append(parent)


def _record(node, args):
    """Record ``node`` as the call of its op on ``args``, as :meth:`ArrayFunction.apply` does,
    without running ``forward`` (for ops whose values are computed later or otherwise: see
    ``pynn.ops.activation``'s deferred ReLU). Returns ``node``, or None when nothing is
    recorded (grad mode off, or no Tensor argument requires grad)."""
    if not _mode.enabled:
        return None
    needs = []
    others = []
    vsum = 0
    for a in args:
        if isinstance(a, Tensor):
            vsum += a._version
            needs.append(a.requires_grad)
            if not a.requires_grad:
                others.append(a)
        else:
            needs.append(False)
    if not any(needs):
        return None
    node._inputs = tuple(args)
    node.needs_input_grad = tuple(needs)
    if others:
        node._others = others
    if vsum:
        node._vsum = vsum
        node._versions = [a._version if isinstance(a, Tensor) else 0 for a in args]
    return node


def _sole_parent(t, deps, grads):
    """The node that made the non-leaf ``t``, when the edge being walked is the only one that
    brings it a gradient in this walk, no hook or retained gradient watches ``t``, ``t`` was
    not written in place, and the node has not run yet; else None. Such a node can run its
    backward together with its consumer's (see :func:`_fused_backward`)."""
    node = t.grad_fn
    if (node is None or node._special or t._version or deps.get(node) != 1 or node in grads
            or "backward" in node.__dict__):  # set on a node already released
        return None
    return node


class _Unwanted:
    """The edge counts of a walk limited to some inputs, as :func:`_sole_parent` reads them:
    a node whose output's gradient is wanted (``wanted``) is never absorbed into a fused
    backward, which would skip computing that gradient."""

    __slots__ = ("deps", "wanted")

    def __init__(self, deps, wanted):
        self.deps = deps
        self.wanted = wanted

    def get(self, node):
        return None if node in self.wanted else self.deps.get(node)


def _fused_backward(node, g, deps, grads, retain_graph):
    """``node``'s backward, fused with those of the ops upstream of it when ``node._fuse``
    finds a chain it knows (convolution -> ReLU -> max-pool ...) whose intermediate results
    nothing else in the graph consumes: one kernel call instead of one per op, and no
    full-size gradient of the intermediates. Returns the chain's first node, whose inputs
    receive the gradients, and those gradients; the other nodes of the chain are released
    as if they had run (the walk never reaches them: their only consumer was in the
    chain)."""
    fused = node._fuse(g, deps, grads)
    if fused is None:
        return node, node.backward(node, g)
    head, absorbed, in_grads = fused
    if not retain_graph:
        for n in absorbed:
            n.saved_tensors = None
            n.backward = _freed_backward
    return head, in_grads


def _gather(t, g, counts, sums):
    """Add ``g`` (or None) to what the hooked leaf ``t`` received in this walk; the total
    once its last edge has delivered (None before), so that its hooks run once."""
    key = id(t)
    if g is not None:
        prev = sums.get(key)
        sums[key] = g if prev is None else prev + g
    left = counts[key] - 1
    counts[key] = left
    if left == 0:
        return sums.pop(key, None)
    return None


def _freed_backward(node, *grads):
    raise RuntimeError(_FREED)


def _special_backward(node, g):
    """A node with hooks (on its outputs, or its own) or several outputs: the hooks around
    its backward (None when no gradient reached it)."""
    if g is None:
        return None
    if node._hooks is not None:
        g = _node_hooks(node, g, False)
    if node._prehooks:
        g = _run_prehooks(node, g, False)
        if g is None:
            return None
    if node._outs is None:
        in_grads = node.backward(node, g)
    elif all(x is None for x in g):
        return None
    else:
        in_grads = node.backward(node, *g)
    if node._posthooks:
        in_grads = _run_posthooks(node, in_grads if type(in_grads) is tuple else (in_grads,),
                                  g, False)
    return in_grads


def _after_backward(node, in_grads, retain_graph):
    if _mode.anomaly:
        _check_nan(node, in_grads)
    if not retain_graph:
        node.saved_tensors = None
        node.backward = _freed_backward


def _add_to_output(grads, node, t, g):
    lst = grads.get(node)
    if lst is None:
        lst = grads[node] = [None] * len(node._outs)
    k = _out_index(node, t)
    lst[k] = g if lst[k] is None else lst[k] + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    No ``.grad`` is touched.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor, of any shapes
    inputs : Tensor or sequence of Tensor, of any shapes
        Leaves or intermediate tensors of the graph.
    grad_outputs : sequence of (Tensor or None), optional
        Shaped like each output; None for a one-element output (ones).
    retain_graph : bool, optional
        Default: ``create_graph``.
    create_graph : bool
        Return gradients that carry their own graph (differentiable again).
    allow_unused : bool, optional
        Give None for an input the outputs do not depend on instead of raising.
    only_inputs : bool
        Accepted and ignored, as in PyTorch (deprecated there).
    is_grads_batched : bool
        Only False is implemented.
    materialize_grads : bool
        Give zeros instead of None for unused inputs (implies ``allow_unused``).

    Returns
    -------
    tuple of Tensor
        One per input, shaped like it (None for an unused input with ``allow_unused``).
    """
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("grad requires non-empty inputs.")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    if grad_outputs is not None:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(
            grad_outputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(outputs, grad_outputs, create_graph, "grad")
    # a Tensor given twice gets its gradient twice: the walk is asked for each once
    first = {}
    unique = [first.setdefault(id(t), t) for t in inputs if id(t) not in first]
    if create_graph:
        with enable_grad():
            res = _execute(outputs, seeds, True, True, unique, True)
    else:
        res = _execute(outputs, seeds, bool(retain_graph), False, unique, True)
    by_id = {id(t): g for t, g in zip(unique, res)}
    out = []
    for t in inputs:
        g = by_id[id(t)]
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            if materialize_grads:
                g = _wrap(np.zeros_like(t._data), None)
        elif not isinstance(g, Tensor):
            # a copy: the array may be shared with the graph or a read-only broadcast view
            g = _wrap(np.array(np.real(g) if t._data.dtype.kind != "c" else g, t._data.dtype),
                      None)
        out.append(g)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Checking gradients, and PyTorch's module layout


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when autograd and finite differences disagree."""


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              **unused_options):
    """Compare the gradients autograd computes for ``func`` with central differences.

    As ``torch.autograd.gradcheck``; use float64 inputs.

    Parameters
    ----------
    func : callable
        ``func(*inputs)`` returns a Tensor or a tuple of them.
    inputs : Tensor or tuple, of any shapes
        The arguments; the Tensors that require grad are checked.
    eps, atol, rtol : float
        The step of the differences and the tolerances of the comparison.
    raise_exception : bool
        Raise :class:`GradcheckError` on a mismatch (else return False).
    **unused_options : any
        PyTorch's other options (``nondet_tol``, ``check_undefined_grad`` ...), accepted and
        ignored.

    Returns
    -------
    bool
        True when every Jacobian matches.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def outputs():
        out = func(*inputs)
        return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]

    with enable_grad():
        outs = outputs()
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue
        for i, t in enumerate(checked):
            arr = t._data
            numeric = np.zeros((out._data.size, arr.size))
            for j, idx in enumerate(np.ndindex(arr.shape)):
                orig = arr[idx]
                with no_grad():
                    arr[idx] = orig + eps
                    plus = np.array(outputs()[k]._data, np.float64)
                    arr[idx] = orig - eps
                    minus = np.array(outputs()[k]._data, np.float64)
                arr[idx] = orig
                numeric[:, j] = ((plus - minus) / (2 * eps)).ravel()
            analytic = np.zeros_like(numeric)
            for e in range(out._data.size):
                seed = np.zeros(out._data.shape, out._data.dtype)
                seed.flat[e] = 1
                (g,) = grad(out, t, grad_outputs=_wrap(seed, None), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    analytic[e] = g._data.ravel()
            if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input "
                                     f"{i},\nnumerical:{numeric}\nanalytical:{analytic}")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **unused_options):
    """Compare the second derivatives autograd computes for ``func`` with central differences.

    As ``torch.autograd.gradgradcheck``: :func:`gradcheck` applied to the function that
    returns ``func``'s gradients (recorded with ``create_graph=True``) with respect to the
    inputs that require grad, weighted by ``grad_outputs``; use float64 inputs.

    Parameters
    ----------
    func : callable
        ``func(*inputs)`` returns a Tensor or a tuple of them.
    inputs : Tensor or tuple, of any shapes
        The arguments; the Tensors that require grad are checked.
    grad_outputs : Tensor or sequence of Tensor, optional
        Shaped like each differentiable output; by default random in ``[-1, 1)`` (drawn from
        the global generator) and checked too.
    eps, atol, rtol : float
        The step of the differences and the tolerances of the comparison.
    gen_non_contig_grad_outputs : bool
        Make the random ``grad_outputs`` non-contiguous.
    raise_exception : bool
        Raise :class:`GradcheckError` on a mismatch (else return False).
    **unused_options : any
        PyTorch's other options (``nondet_tol``, ``check_undefined_grad`` ...), accepted and
        ignored.

    Returns
    -------
    bool
        True when every second derivative matches.
    """
    from .testing import make_tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    n = len(inputs)

    def differentiable(out):
        out = [out] if isinstance(out, Tensor) else list(out)
        return [o for o in out if isinstance(o, Tensor) and o.requires_grad]

    if grad_outputs is None:
        with enable_grad():
            outs = differentiable(func(*inputs))
        grad_outputs = tuple(
            make_tensor(tuple(o.shape), dtype=o.dtype, device="cpu", low=-1, high=1,
                        requires_grad=True, noncontiguous=gen_non_contig_grad_outputs)
            for o in outs)
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(
            grad_outputs)

    def first_derivatives(*args):
        xs, gs = args[:n], args[n:]
        wrt = [t for t in xs if isinstance(t, Tensor) and t.requires_grad]
        with enable_grad():
            outs = differentiable(func(*xs))
            if not outs or not wrt:
                return ()
            res = grad(outs, wrt, list(gs), create_graph=True, allow_unused=True)
        return tuple(g for g in res if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def once_differentiable(backward):
    """Decorate a :class:`Function`'s ``backward`` that is not itself differentiable.

    The decorated ``backward`` runs without recording, even under ``create_graph=True``.

    Parameters
    ----------
    backward : callable
        The ``backward(ctx, *grads)`` staticmethod.

    Returns
    -------
    callable
        ``backward`` run under :class:`no_grad`.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)

    return wrapper


def _submodule(name, **names):
    import sys
    import types

    module = types.ModuleType(f"{__name__}.{name}")
    module.__dict__.update(names)
    sys.modules[module.__name__] = module
    return module


# ``from torch.autograd.function import Function, once_differentiable`` keeps working
function = _submodule("function", Function=Function, FunctionCtx=FunctionCtx,
                      BackwardCFunction=BackwardCFunction,
                      once_differentiable=once_differentiable)
# ``from torch.autograd.gradcheck import gradgradcheck`` too; the attribute stays the function
_submodule("gradcheck", gradcheck=gradcheck, gradgradcheck=gradgradcheck,
           GradcheckError=GradcheckError)

# ``torch.autograd.functional`` (jacobian, hessian, vjp, jvp, vhp, hvp), importable by that
# path too; imported last, as it builds on grad
from . import _autograd_functional as functional  # noqa: E402

__import__("sys").modules[f"{__name__}.functional"] = functional
