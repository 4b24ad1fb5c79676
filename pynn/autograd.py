"""Differentiable operations: :class:`ArrayFunction`, and the grad mode (:class:`no_grad`).

An :class:`ArrayFunction` subclass is one node type of the autograd graph; every op of pynn
(``pynn.ops``, ``pynn.functional``) is one::

    class MulFunction(ArrayFunction):
        @staticmethod
        def forward(ctx, a, b):          # ndarrays in (Tensors are unwrapped) ...
            ctx.save_for_backward(a, b)
            return a * b                 # ... one ndarray out

        @staticmethod
        def backward(ctx, grad):         # grad: ndarray shaped like the output
            a, b = ctx.saved_tensors
            return grad * b, grad * a    # one gradient (or None) per forward argument

    y = MulFunction.apply(x, w)          # a Tensor, recorded in the graph when needed

Contract (different from PyTorch's ``torch.autograd.Function``, for speed): ``forward``
receives the *ndarrays* (``._data``) of its Tensor arguments (other arguments as given) and
returns one ndarray; ``backward`` receives and returns ndarrays. The ``ctx`` is the graph
node itself. ``backward`` must not modify ``grad`` in place (it may be shared or a read-only
broadcast view) and returns gradients shaped like the corresponding inputs. The backward
walk (``pynn.tensor._run_backward``) passes ndarrays between nodes and wraps a gradient in
a Tensor only when it stores it in a ``.grad``.

``Function`` is, for now, another name for :class:`ArrayFunction`.
"""

import functools
import threading

import numpy as np

from .tensor import Tensor, _wrap

_new = object.__new__
_ndarray = np.ndarray

__all__ = [
    "ArrayFunction",
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
]


# ---------------------------------------------------------------------------------------------
# Grad mode (per thread, as in PyTorch)


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled():
    """True when operations record the graph for :meth:`Tensor.backward`.

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


# ---------------------------------------------------------------------------------------------
# ArrayFunction


class ArrayFunction:
    """Base class of pynn's differentiable operations, on ndarrays: subclass it with static
    ``forward`` and ``backward`` methods and call :meth:`apply` (see the module docstring).

    Attributes of ``ctx`` (the node)
    --------------------------------
    needs_input_grad : tuple of bool
        One per argument of ``forward``: whether ``backward`` must return its gradient
        (empty when the call was not recorded).
    saved_tensors : tuple
        What :meth:`save_for_backward` stored; released after ``backward`` unless
        ``retain_graph=True``.
    inputs : tuple
        The arguments of ``apply`` (only those flagged in ``needs_input_grad`` are used).

    A subclass whose ``backward`` returns only arrays it has just allocated, which nothing
    else refers to, sets ``fresh_grads = True``: a leaf's first gradient is then kept as it
    is instead of copied (a copy of each weight gradient a step otherwise). Left False, the
    gradients may be anything, the incoming ``grad`` itself included.
    """

    # Class-level defaults; instances set only what they use (no per-op dict/kwargs work).
    fresh_grads = False
    needs_input_grad = ()
    saved_tensors = ()
    inputs = ()
    _retain = None  # a non-leaf Tensor that called retain_grad()
    _freed = False

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` (ndarrays or other values) for ``backward``."""
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("ArrayFunction subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("ArrayFunction subclasses must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` on the arguments (Tensors unwrapped to ndarrays) and return the
        result as a Tensor, recording this node in the graph when grad mode is on and some
        Tensor argument requires grad."""
        ctx = cls()
        arrays = []
        needs = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a.requires_grad:
                    needs.append(True)
                    record = True
                    continue
            else:
                arrays.append(a)
            needs.append(False)
        t = _new(Tensor)  # the result, built inline: this is every op's hot path
        t._grad = None
        if record and _mode.enabled:
            # inputs: the arguments themselves (no copy); the backward walk reads only the
            # positions where needs_input_grad is True.
            ctx.inputs = args
            ctx.needs_input_grad = tuple(needs)
            out = cls.forward(ctx, *arrays)
            t.requires_grad = True
            t.grad_fn = ctx
        else:
            out = cls.forward(ctx, *arrays)
            t.requires_grad = False
            t.grad_fn = None
        t._data = out if type(out) is _ndarray else np.asarray(out)
        return t

    @classmethod
    def apply_with_ctx(cls, *args):
        """As :meth:`apply`, returning ``(output, ctx)``, for callers that want something
        ``forward`` left on the context (pooling indices); slower, off the hot path."""
        ctx = cls()
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = any(needs) and _mode.enabled
        ctx.needs_input_grad = needs if record else (False,) * len(args)
        if record:
            ctx.inputs = args
        out = np.asarray(cls.forward(ctx, *arrays))
        return _wrap(out, ctx if record else None), ctx

    def __repr__(self):
        return f"<{type(self).__name__}>"


# The PyTorch-contract Function (Tensors in and out) replaces this alias next.
Function = ArrayFunction
