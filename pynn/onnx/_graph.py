"""The ONNX graph under construction (:class:`GraphBuilder`) and the traced values it is
built from (:class:`Value`, :class:`TracedNode`).

The exporter visits the autograd nodes of one forward pass in topological order; for each it
calls the translation of its type (:mod:`pynn.onnx._ops`) with a :class:`TracedNode`, whose
``args`` are the node's arguments with every Tensor replaced by the :class:`Value` that holds
it in the ONNX graph. A translation adds ONNX nodes through :meth:`GraphBuilder.add` and
returns the name of the value it computed.
"""

import numpy as np

from .errors import OnnxExporterError

__all__ = ["GraphBuilder", "TracedNode", "Value", "match_array", "node_name", "onnx_dtype"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def onnx_dtype(dtype):
    """The ONNX ``TensorProto`` element type of a NumPy dtype."""
    from onnx import helper

    try:
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except (KeyError, TypeError, ValueError):
        raise OnnxExporterError(f"onnx export: dtype {np.dtype(dtype)} has no ONNX "
                                "equivalent") from None


def node_name(node):
    """The node's name as PyTorch prints a grad_fn (``LinearFunction`` -> ``LinearBackward0``);
    read from the type, since some nodes keep an attribute called ``name``."""
    return f"{type(node).__name__.removesuffix('Function')}Backward0"


def match_array(arr, candidates):
    """The position in ``candidates`` of the array that ``arr`` is, views or equals (same
    shape and kind), or None."""
    if not isinstance(arr, np.ndarray):
        return None
    for i, c in enumerate(candidates):
        if c is arr or c.shape == arr.shape and np.shares_memory(c, arr):
            return i
    for i, c in enumerate(candidates):
        if c.shape == arr.shape and c.dtype.kind == arr.dtype.kind and np.array_equal(c, arr):
            return i
    return None


class Value:
    """A Tensor of the traced forward pass as an ONNX value: ``name`` in the graph and the
    ``array`` it held during the trace (for shapes and dtypes)."""

    __slots__ = ("array", "name")

    def __init__(self, name, array):
        self.name = name
        self.array = array

    @property
    def shape(self):
        return self.array.shape

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def dtype(self):
        return self.array.dtype

    def __repr__(self):
        return f"Value({self.name!r}, shape={self.shape}, dtype={self.dtype})"


class TracedNode:
    """One autograd node to translate.

    Attributes
    ----------
    node : ArrayFunction
        The node itself (what its forward left on it can be read).
    args : list
        The arguments of its forward: a :class:`Value` for each Tensor, others as given.
    outs : list of ndarray or None
        What each of its outputs held during the trace (None for an output nothing used).
    """

    __slots__ = ("args", "node", "outs")

    def __init__(self, node, args, outs):
        self.node = node
        self.args = args
        self.outs = outs

    @property
    def out(self):
        """The (first) output's array during the trace."""
        return self.outs[0]

    @property
    def op(self):
        """The node's type name (``LinearFunction``), for error messages."""
        return type(self.node).__name__


class GraphBuilder:
    """The nodes and initializers of the ONNX graph being built, for ``opset``."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._names = set()
        self._consts = {}
        self.inputs = []  # the graph inputs' Values
        self.matched = set()  # ids of ndarrays that translations traced back to an input
        self.fixed_shape = set()  # names of the nodes translated for the traced shape only

    def match_input(self, arr):
        """The graph input whose trace array ``arr`` is (or is a view or an equal copy of:
        layers that unwrap their integer input, ``embedding``'s indices, pass an ndarray),
        else None."""
        i = match_array(arr, [v.array for v in self.inputs])
        if i is None:
            return None
        self.matched.add(id(arr))
        return self.inputs[i]

    def fresh(self, hint):
        """A value name not used yet, made from ``hint``."""
        hint = hint or "v"
        name, k = hint, 0
        while name in self._names:
            k += 1
            name = f"{hint}_{k}"
        self._names.add(name)
        return name

    def reserve(self, name):
        """Claim ``name`` (a graph input or initializer name) exactly as given."""
        if name in self._names:
            raise OnnxExporterError(f"onnx export: the name {name!r} is used twice")
        self._names.add(name)
        return name

    def initializer(self, name, array):
        """Add ``array`` as the initializer ``name`` (reserved by the caller)."""
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value, dtype=None, hint="const"):
        """The name of a constant initializer holding ``value`` (as ``dtype`` if given);
        equal small constants share one initializer."""
        arr = np.asarray(value, dtype=dtype)
        if arr.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            arr = arr.astype(np.float32)
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.initializer(self.fresh(hint), arr)
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values):
        """A 1-D int64 constant (shapes, axes, slice bounds)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint="ints")

    def name_of(self, arg, dtype=None):
        """The graph name of an argument: a :class:`Value`'s name (cast to ``dtype`` when it
        differs), a constant for an ndarray or Python number (made ``dtype``), "" for None
        (an omitted optional input), a name string as it is."""
        if arg is None:
            return ""
        if isinstance(arg, Value):
            if dtype is not None and np.dtype(dtype) != arg.dtype:
                return self.add("Cast", [arg.name], to=onnx_dtype(dtype))
            return arg.name
        if isinstance(arg, str):
            return arg
        return self.const(arg, dtype=dtype)

    def add(self, op_type, inputs, n_out=1, **attrs):
        """Append the ONNX node ``op_type`` on ``inputs`` (names, Values or constants) with
        attributes ``attrs``; returns its output name (a list when ``n_out > 1``)."""
        from onnx import helper

        names = [self.name_of(i) for i in inputs]
        while names and names[-1] == "":
            names.pop()  # trailing omitted optional inputs are left out
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, names, outs,
                                           name=self.fresh(f"{op_type}_node"), **attrs))
        return outs[0] if n_out == 1 else outs

    # -- helpers shared by the translations ---------------------------------------------------

    def reduce(self, op_type, x, axes, keepdims):
        """``op_type`` (ReduceSum, ReduceMean, ...) over ``axes`` (None: all): the axes are an
        input from opset 13 (ReduceSum) or 18 (the others), an attribute before."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.add(op_type, [x], keepdims=keep)
        axes = [int(a) for a in axes]
        as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if as_input:
            return self.add(op_type, [x, self.ints(axes)], keepdims=keep)
        return self.add(op_type, [x], axes=axes, keepdims=keep)

    def squeeze(self, x, axes):
        return self.add("Squeeze", [x, self.ints(axes)])

    def unsqueeze(self, x, axes):
        return self.add("Unsqueeze", [x, self.ints(axes)])

    def slice(self, x, starts, ends, axes, steps=None):
        ins = [x, self.ints(starts), self.ints(ends), self.ints(axes)]
        if steps is not None:
            ins.append(self.ints(steps))
        return self.add("Slice", ins)

    def reshape(self, x, shape):
        return self.add("Reshape", [x, self.ints(shape)])
