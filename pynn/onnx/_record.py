"""Recording, during an export only, the ops that pynn does not put in the autograd graph
because they have no gradient: comparisons, logical ops and argmax/argmin.

Their results (masks, predicted classes) would otherwise reach the graph as constants fixed
at the traced values. While :func:`recording` is active, the Tensor methods and ``pynn``
functions of these ops are replaced by versions that go through :class:`CompareFunction`,
:class:`LogicalNotFunction` and :class:`ArgReduceFunction` (nodes with the same results,
recorded when an operand is in the graph); they are put back afterwards.
"""

import contextlib

import numpy as np

from ..autograd import ArrayFunction
from ..ops.elementwise import result_type
from ..ops.reduce import arg_reduce
from ..tensor import Tensor

__all__ = ["ArgReduceFunction", "CompareFunction", "LogicalNotFunction", "recording"]

# name -> (NumPy function, ONNX op, negate the ONNX result)
COMPARISONS = {
    "eq": (np.equal, "Equal", False),
    "ne": (np.not_equal, "Equal", True),
    "lt": (np.less, "Less", False),
    "le": (np.less_equal, "LessOrEqual", False),
    "gt": (np.greater, "Greater", False),
    "ge": (np.greater_equal, "GreaterOrEqual", False),
    "logical_and": (np.logical_and, "And", False),
    "logical_or": (np.logical_or, "Or", False),
    "logical_xor": (np.logical_xor, "Xor", False),
}


class CompareFunction(ArrayFunction):
    """``a <op> b`` for an op of :data:`COMPARISONS` (bool result, no gradient)."""

    @staticmethod
    def forward(ctx, a, b, name):
        return np.asarray(COMPARISONS[name][0](a, b))

    @staticmethod
    def backward(ctx, grad):
        return None, None, None


class LogicalNotFunction(ArrayFunction):
    """``not x`` (bool result, no gradient)."""

    @staticmethod
    def forward(ctx, x):
        return np.logical_not(x)

    @staticmethod
    def backward(ctx, grad):
        return (None,)


class ArgReduceFunction(ArrayFunction):
    """``argmax`` / ``argmin`` (``name``) over ``dim`` (int64 result, no gradient)."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, name):
        return arg_reduce(x, dim, keepdim, np.argmax if name == "argmax" else np.argmin)

    @staticmethod
    def backward(ctx, grad):
        return None, None, None, None


_MISSING = object()
_registries = []  # one {id(array): Tensor} per active recording() block


def _register(out):
    """Remember ``out`` by its array: layers that take a mask pass its ndarray, which the
    exporter then traces back to this Tensor."""
    if _registries and isinstance(out, Tensor):
        _registries[-1][id(out._data)] = out
    return out


def _in_graph(*args):
    return any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _comparison(name, original, swap=False):
    def fn(input, other, *rest, **kwargs):
        a, b = (other, input) if swap else (input, other)
        if rest or kwargs or not _in_graph(a, b) or not isinstance(
                b, (Tensor, int, float, bool, np.ndarray, np.number, np.bool_)):
            return original(input, other, *rest, **kwargs)
        return _register(CompareFunction.apply(a, b, name))

    return fn


def _bool_binary(name, original, swap=False):
    # & | ^ on bool tensors are logical ops; on integers they stay bitwise (not recorded)
    def fn(input, other):
        a, b = (other, input) if swap else (input, other)
        if _in_graph(a, b) and all(isinstance(t, bool) or isinstance(t, Tensor) and
                                   t._data.dtype == np.bool_ for t in (a, b)):
            return _register(CompareFunction.apply(a, b, name))
        return original(input, other)

    return fn


def _logical_not(original, bool_only=False):
    def fn(input):
        if _in_graph(input) and (not bool_only or input._data.dtype == np.bool_):
            return _register(LogicalNotFunction.apply(input))
        return original(input)

    return fn


def _arg_reduce(name, original):
    def fn(input, dim=None, keepdim=False):
        if _in_graph(input) and input._data.dtype.kind in "fiu" and input._data.size:
            return _register(ArgReduceFunction.apply(input, dim, keepdim, name))
        return original(input, dim, keepdim)

    return fn


def _replacements(obj, is_class):
    """``{attribute: recording version}`` for the ops ``obj`` (Tensor or the pynn module)
    has."""
    out = {}
    names = dict.fromkeys(COMPARISONS)
    aliases = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
               "not_equal": "ne"}
    for attr, name in {**{n: n for n in names}, **aliases}.items():
        if hasattr(obj, attr):
            out[attr] = _comparison(name, getattr(obj, attr))
    if is_class:
        for attr, name in (("__eq__", "eq"), ("__ne__", "ne"), ("__lt__", "lt"),
                           ("__le__", "le"), ("__gt__", "gt"), ("__ge__", "ge")):
            out[attr] = _comparison(name, getattr(obj, attr))
        for attr, name, swap in (("__and__", "logical_and", False),
                                 ("__or__", "logical_or", False),
                                 ("__xor__", "logical_xor", False),
                                 ("__rand__", "logical_and", True),
                                 ("__ror__", "logical_or", True),
                                 ("__rxor__", "logical_xor", True)):
            if hasattr(obj, attr):
                out[attr] = _bool_binary(name, getattr(obj, attr), swap)
        if hasattr(obj, "__invert__"):
            out["__invert__"] = _logical_not(obj.__invert__, bool_only=True)
    if hasattr(obj, "logical_not"):
        out["logical_not"] = _logical_not(obj.logical_not)
    for name in ("argmax", "argmin"):
        if hasattr(obj, name):
            out[name] = _arg_reduce(name, getattr(obj, name))
    return out


@contextlib.contextmanager
def recording():
    """Within the block, comparisons, logical ops and argmax/argmin of Tensors in the graph
    are recorded (see the module docstring). Yields ``{id(ndarray): Tensor}`` for their
    results."""
    import pynn

    saved = []
    registry = {}
    _registries.append(registry)
    try:
        for obj, is_class in ((Tensor, True), (pynn, False)):
            for attr, fn in _replacements(obj, is_class).items():
                saved.append((obj, attr, obj.__dict__.get(attr, _MISSING)))
                setattr(obj, attr, fn)
        yield registry
    finally:
        _registries.remove(registry)
        for obj, attr, original in reversed(saved):
            if original is _MISSING:  # inherited (object.__eq__): drop the override
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)


def common_dtype(a, b):
    """The dtype both operands of a comparison are cast to (PyTorch's promotion)."""
    arrays = [x.array if hasattr(x, "array") else x for x in (a, b)]
    return result_type(*arrays)
