"""Tracing a forward pass and turning its autograd graph into an ONNX model.

The model runs once in eval mode with its parameters and (aliases of) its inputs requiring
grad under :func:`pynn.enable_grad`, so that every op records its node; the graph is then
walked back from the outputs through each node's recorded arguments (``node._inputs``).
Tensor arguments are the graph inputs, the parameters and buffers (initializers named as
``named_parameters()`` / ``named_buffers()`` name them), other nodes' outputs, or constants.

A second trace on other input values, with one more element along each dynamic axis, tells
which constants follow the inputs: a repeated value over a shape that follows a dynamic size
(a zero initial state) is rebuilt from the input's shape in the graph; any other constant
that changed gets an :class:`~pynn.onnx.errors.OnnxExporterWarning`, as does control flow
on input values.
"""

import io
import os
import warnings

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor, _wrap
from ._graph import GraphBuilder, TracedNode, Value, match_array, node_name, onnx_dtype
from ._ops import DERIVED_ARGS, OPS
from ._record import recording
from ._state import exporting
from .errors import OnnxExporterError, OnnxExporterWarning, UnsupportedOperatorError

__all__ = ["build_model", "write"]

class _Stored:
    """A parameter's or buffer's storage passed as an ndarray, seen as a leaf Tensor."""

    def __init__(self, data):
        self._data = data


def _flatten(obj, out):
    """The Tensors of a (nested) tuple/list/dict output, in order."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flatten(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten(o, out)
    elif obj is not None:
        raise OnnxExporterError(f"onnx export: the model returned a {type(obj).__name__}; "
                                "only Tensors (or tuples, lists and dicts of them) can be "
                                "graph outputs")
    return out


def _split_args(args, kwargs):
    """PyTorch's convention: ``args`` is a Tensor or a tuple, whose last element may be a
    dict of keyword arguments."""
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        raise OnnxExporterError(f"onnx export: args must be a Tensor or a tuple of them, got "
                                f"{type(args).__name__}")
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs.update(args[-1])
        args = args[:-1]
    return args, kwargs


def _alias(t):
    """A Tensor sharing ``t``'s storage that requires grad (integer ones too: the trace
    needs the ops on token indices recorded; no backward ever runs)."""
    a = t.detach()
    a.requires_grad = True
    return a


def _trace(model, args, kwargs):
    """Run ``model`` once as described in the module docstring; returns (graph inputs as
    (original, alias) pairs, the flat outputs)."""
    from ..nn.module import Module

    params = list(model.parameters()) if isinstance(model, Module) else []
    flags = [p.requires_grad for p in params]
    modes = [(m, m.training) for m in model.modules()] if isinstance(model, Module) else []
    inputs = []

    def wrap(obj):
        if isinstance(obj, Tensor):
            a = _alias(obj)
            inputs.append((obj, a))
            return a
        if isinstance(obj, (tuple, list)):
            return type(obj)(wrap(o) for o in obj)
        return obj

    call_args = tuple(wrap(a) for a in args)
    call_kwargs = {k: wrap(v) for k, v in kwargs.items()}
    try:
        for p in params:
            p.requires_grad = True
        for m, _ in modes:
            m.training = False
        with exporting(), enable_grad(), recording() as registry:
            out = model(*call_args, **call_kwargs)
    finally:
        for p, f in zip(params, flags):
            p.requires_grad = f
        for m, t in modes:
            m.training = t
    return inputs, out, registry


def _producer(a, registry):
    """The Tensor behind a node argument: itself, or for an ndarray, the recorded Tensor
    whose array it is (None for others)."""
    if isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray):
        return registry.get(id(a))
    return None


def _version_at_call(node, i):
    versions = node._versions  # kept only when some input had been written in place
    return versions[i] if versions is not None and i < len(versions) else 0


def _before_writes(t, version):
    """The Tensor that stood for ``t``'s value at ``version``: each in-place write made a
    node whose input is a snapshot of the value before it (one version lower), so the
    chain of those nodes is walked back; ``t`` itself if the chain cannot be followed."""
    cur = t
    while cur._version > version and cur.grad_fn is not None:
        prev = next((a for a in cur.grad_fn._inputs if isinstance(a, Tensor) and a is not cur
                     and a._version == cur._version - 1 and a.shape == cur.shape), None)
        if prev is None:
            return t
        cur = prev
    return cur if cur._version == version else t


def _resolver(registry):
    """``resolve(node, i)``: the Tensor that held argument ``i`` of ``node`` when the node
    ran, or None for a non-Tensor. An in-place write rebinds a Tensor to a later node (its
    old value lives on in a snapshot Tensor); the versions the node recorded tell which."""

    def resolve(node, i):
        a = node._inputs[i]
        if isinstance(a, Tensor):
            v = _version_at_call(node, i)
            return a if a._version == v else _before_writes(a, v)
        return _producer(a, registry)

    return resolve


def _topological(outputs, resolve):
    """The nodes that the outputs depend on, each after those it reads (iterative DFS)."""
    order, seen = [], set()
    for t in outputs:
        if t.grad_fn is None or id(t.grad_fn) in seen:
            continue
        stack = [(t.grad_fn, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for i in range(len(node._inputs)):
                t = resolve(node, i)
                if t is not None and t.grad_fn is not None and id(t.grad_fn) not in seen:
                    stack.append((t.grad_fn, False))
    return order


def _out_index(node, t):
    if node._outs is None:
        return 0
    for k, r in enumerate(node._outs):
        if r() is t:
            return k
    return 0


def _perturbed(t, rng, axes=()):
    """Other values for an input, of the same dtype and shape except one more along each of
    ``axes`` (its dynamic axes), for :func:`_check_constants`: floats moved by noise,
    integers and bools rolled (so indices stay valid)."""
    a = t._data
    for axis in axes:
        if a.shape[axis]:
            a = np.take(a, np.arange(a.shape[axis] + 1) % a.shape[axis], axis=axis)
    if a.dtype.kind in "fc":
        scale = float(np.std(a)) + 0.1 if a.size else 1.0
        b = a + (rng.standard_normal(a.shape) * scale).astype(a.dtype)
    elif a.dtype.kind in "biu" and a.size:
        b = np.roll(a.reshape(-1), 1).reshape(a.shape)
    else:
        b = a.copy()
    return _wrap(b, None)


def _constants(order, resolve, known, input_arrays):
    """``{(node position, argument position): (node name, array)}`` for each argument of the
    nodes in ``order`` that the export turns into a constant (a Tensor no node made, or an
    ndarray, that is no parameter, buffer or input: ``known`` holds their ids)."""
    out = {}
    for k, node in enumerate(order):
        derived = DERIVED_ARGS.get(type(node).__name__, ())
        for i, a in enumerate(node._inputs):
            if i in derived:
                continue
            if isinstance(a, Tensor):
                a = resolve(node, i)
                if a.grad_fn is None and id(a) not in known and id(a._data) not in known:
                    out[k, i] = (node_name(node), a._data)
            elif isinstance(a, np.ndarray) and id(a) not in known and \
                    match_array(a, input_arrays) is None:
                out[k, i] = (node_name(node), a)
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                out[k, i] = (node_name(node), np.asarray(a))
    return out


def _second_trace(model, args, kwargs, inputs, order, resolve, named, dynamic):
    """Trace again on other input values (and other sizes along the dynamic axes), to tell
    which of the export's constants follow the inputs. Returns the constants of both traces
    (see :func:`_constants`), the second trace's inputs, or a reason string when the
    model ran other ops (control flow on values), or None when it refused the new inputs."""
    rng = np.random.default_rng(0)
    fresh = {id(orig): _perturbed(orig, rng, axes) for (orig, _), axes in zip(inputs, dynamic)}

    def swap(obj):
        if isinstance(obj, Tensor):
            return fresh.get(id(obj), obj)
        if isinstance(obj, (tuple, list)):
            return type(obj)(swap(o) for o in obj)
        return obj

    # The new values may leave the domain of some op (log of a negative): NaNs are fine here.
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            inputs2, out2, registry2 = _trace(model, tuple(swap(a) for a in args),
                                              {k: swap(v) for k, v in kwargs.items()})
    except Exception:  # noqa: BLE001 - a model may refuse other values: nothing to compare
        return None
    outputs2 = _flatten(out2, [])
    resolve2 = _resolver(registry2)
    order2 = _topological(outputs2, resolve2)
    if [type(n) for n in order] != [type(n) for n in order2]:
        return "control flow"
    known = set(named)
    first, second = (
        _constants(o, r, known | {id(a._data) for _, a in ins}, [a._data for _, a in ins])
        for o, r, ins in ((order, resolve, inputs), (order2, resolve2, inputs2)))
    return first, second, inputs2


def _uniform(a):
    return a.size > 0 and a.dtype.kind in "biuf" and (a == a.flat[0]).all()


def _batch_fills(first, second, inputs, inputs2, dynamic):
    """The constants that are one value repeated over a shape that follows a dynamic input
    axis (``zeros(x.size(0), hidden)``, an initial state): ``{key: (array, [(axis, input,
    input axis) ...])}``, so that they are built from the input's shape in the graph."""
    fills = {}
    for key, (_, a) in first.items():
        b = second.get(key, (None, None))[1]
        if b is None or a.ndim != b.ndim or a.shape == b.shape or a.dtype != b.dtype or \
                not (_uniform(a) and _uniform(b) and a.flat[0] == b.flat[0]):
            continue
        follows = []
        for d in range(a.ndim):
            if a.shape[d] == b.shape[d]:
                continue
            src = [(j, ax) for j, axes in enumerate(dynamic) for ax in axes
                   if inputs[j][1]._data.shape[ax] == a.shape[d]
                   and inputs2[j][1]._data.shape[ax] == b.shape[d]]
            if not src:
                break
            follows.append((d, *src[0]))
        else:
            fills[key] = (a, follows)
    return fills


def _warn_changed(first, second, matched):
    """Warn about the constants that differ between the two traces (see
    :func:`_second_trace`), except those traced back to the inputs (``matched``)."""
    changed = set()
    for key, (name, a) in first.items():
        if id(a) in matched:
            continue
        b = second.get(key, (None, None))[1]
        if b is None or a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            changed.add(name)
    if changed:
        warnings.warn(f"onnx export: values used by {', '.join(sorted(changed))} were "
                      "computed from the inputs outside the autograd graph (random draws, "
                      ".numpy(), .item(), sizes such as x.size(0) used in arithmetic ...) and "
                      "are exported as constants: the file will not follow its inputs there",
                      OnnxExporterWarning, stacklevel=4)


def _fill_from_shapes(g, array, follows, input_names):
    """``ConstantOfShape`` of ``array``'s value, whose sizes along ``follows``' axes are read
    from the inputs' shapes in the graph."""
    from onnx import numpy_helper

    dims = []
    by_axis = {d: (j, ax) for d, j, ax in follows}
    for d, size in enumerate(array.shape):
        if d in by_axis:
            j, ax = by_axis[d]
            shape = g.add("Shape", [input_names[j]])
            dims.append(g.add("Gather", [shape, g.ints([ax])], axis=0))
        else:
            dims.append(g.ints([size]))
    value = numpy_helper.from_array(np.asarray([array.flat[0]], array.dtype))
    return g.add("ConstantOfShape", [g.add("Concat", dims, axis=0)], value=value)


def _dynamic_dims(dynamic_axes, names):
    """``{value name: {axis: dim_param}}`` from PyTorch's ``dynamic_axes`` forms."""
    dims = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise OnnxExporterError(f"onnx export: dynamic_axes names {name!r}, which is not "
                                    f"an input or output name ({sorted(names)})")
        if isinstance(axes, dict):
            dims[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            dims[name] = {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}
    return dims


def _value_info(name, array, dims):
    from onnx import helper

    shape = [dims.get(i, n) for i, n in enumerate(array.shape)]
    return helper.make_tensor_value_info(name, onnx_dtype(array.dtype), shape)


def build_model(model, args, kwargs=None, input_names=None, output_names=None,
                dynamic_axes=None, opset_version=17, export_params=True,
                keep_initializers_as_inputs=False, check_constants=True):
    """Trace ``model`` on ``args`` and return the ONNX ``ModelProto`` (see
    :func:`pynn.onnx.export`)."""
    import onnx
    from onnx import helper

    from ..nn.module import Module

    if opset_version < 13:
        raise OnnxExporterError(f"onnx export: opset_version {opset_version} is not "
                                "supported; pynn exports opset 13 or later")
    args, kwargs = _split_args(args, kwargs)
    inputs, out, registry = _trace(model, args, kwargs)
    outputs = _flatten(out, [])
    if not outputs:
        raise OnnxExporterError("onnx export: the model returned no Tensor")

    in_names = list(input_names or [])
    if len(in_names) > len(inputs):
        raise OnnxExporterError(f"onnx export: {len(in_names)} input_names given for "
                                f"{len(inputs)} inputs")
    for i in range(len(in_names), len(inputs)):
        in_names.append("input" if len(inputs) == 1 else f"input_{i}")
    out_names = list(output_names or [])
    if len(out_names) > len(outputs):
        raise OnnxExporterError(f"onnx export: {len(out_names)} output_names given for "
                                f"{len(outputs)} outputs")
    for i in range(len(out_names), len(outputs)):
        out_names.append("output" if len(outputs) == 1 else f"output_{i}")
    dims = _dynamic_dims(dynamic_axes, set(in_names) | set(out_names))

    g = GraphBuilder(opset_version)
    for n in in_names + out_names:
        g.reserve(n)
    values = {}  # id(Tensor) or (id(node), output index) -> Value
    for (orig, alias), name in zip(inputs, in_names):
        values[id(alias)] = values[id(orig)] = Value(name, alias._data)
        g.inputs.append(values[id(alias)])

    named = {}  # id(Tensor) and id(ndarray) -> (name, is_parameter)
    if isinstance(model, Module):
        for name, b in model.named_buffers():
            named[id(b)] = named[id(b._data)] = (name, False)
        for name, p in model.named_parameters():
            named[id(p)] = named[id(p._data)] = (name, True)
    graph_params = []  # parameters as graph inputs (export_params=False)
    emitted = {}

    def leaf(t):
        """The Value of a Tensor that no recorded node made."""
        key = named.get(id(t)) or named.get(id(t._data))
        if key is None:
            name = g.const(t._data, hint="constant")
            return Value(name, t._data)
        name, is_param = key
        if name not in emitted:
            g.reserve(name)
            if export_params or not is_param:
                g.initializer(name, t._data)
            if not export_params and is_param or keep_initializers_as_inputs:
                graph_params.append((name, t._data))
            emitted[name] = Value(name, t._data)
        return emitted[name]

    def value_of(t):
        v = values.get(id(t))
        if v is not None:
            return v
        if t.grad_fn is not None:
            v = values.get((id(t.grad_fn), _out_index(t.grad_fn, t)))
            if v is None:
                raise OnnxExporterError(f"onnx export: internal error, {node_name(t.grad_fn)} "
                                        "was not translated before its output was used")
            return v
        v = leaf(t)
        values[id(t)] = v
        return v

    def arg_of(a):
        """A node's argument for its translation: Tensors (and the storage of a parameter,
        buffer or input, which some layers pass instead) as Values, others as they are."""
        if isinstance(a, Tensor):
            return value_of(a)
        if isinstance(a, np.ndarray):
            if id(a) in named:
                name, _ = named[id(a)]
                return emitted.get(name) or leaf(_Stored(a))
            for v in g.inputs:
                if v.array is a:
                    return v
            t = registry.get(id(a))
            if t is not None and t.grad_fn is not None:  # a recorded mask passed as an array
                g.matched.add(id(a))
                return value_of(t)
        return a

    # What each node's outputs held, from the Tensors that reference them.
    resolve = _resolver(registry)
    order = _topological(outputs, resolve)
    outs = {id(n): [None] * (1 if n._outs is None else len(n._outs)) for n in order}

    def note(t):
        if t.grad_fn is not None and id(t.grad_fn) in outs:
            outs[id(t.grad_fn)][_out_index(t.grad_fn, t)] = t._data

    for node in order:
        for i in range(len(node._inputs)):
            t = resolve(node, i)
            if t is not None:
                note(t)
    for t in outputs:
        note(t)

    checked = fills = None
    if check_constants:
        dynamic = [sorted(dims.get(name, {})) for name in in_names]
        checked = _second_trace(model, args, kwargs, inputs, order, resolve, named, dynamic)
        if isinstance(checked, tuple):
            fills = _batch_fills(checked[0], checked[1], inputs, checked[2], dynamic)
    fill_values = {}

    def fill_of(key, a):
        """The graph value of a constant that follows a dynamic size, or None."""
        if not fills or key not in fills:
            return None
        array, follows = fills[key]
        if id(array) not in fill_values:
            g.matched.add(id(array))
            name = _fill_from_shapes(g, array, follows, in_names)
            fill_values[id(array)] = Value(name, array)
        return fill_values[id(array)]

    for k, node in enumerate(order):
        op = type(node).__name__
        fn = OPS.get(op)
        if fn is None:
            raise UnsupportedOperatorError(
                f"onnx export: the operation {op} ({node_name(node)}) has no ONNX translation in "
                "pynn; see pynn.onnx.supported_operations()")
        traced = TracedNode(node, [fill_of((k, i), a) or
                                   arg_of(resolve(node, i) if isinstance(a, Tensor) else a)
                                   for i, a in enumerate(node._inputs)], outs[id(node)])
        res = fn(g, traced)
        res = [res] if isinstance(res, str) else list(res)
        for j, (name, arr) in enumerate(zip(res, traced.outs)):
            if arr is not None:
                values[(id(node), j)] = Value(name, arr)

    if g.fixed_shape and any(dims.get(name) for name in in_names):
        warnings.warn(f"onnx export: {', '.join(sorted(g.fixed_shape))} are exported for the "
                      "traced shape only (index assignment, scatter or gather by position): "
                      "the file will not take other sizes along the dynamic axes",
                      OnnxExporterWarning, stacklevel=3)
    if checked is not None:
        if isinstance(checked, str):
            warnings.warn("onnx export: the model ran different operations for other input "
                          "values (control flow on values); the file records the operations "
                          "of the example inputs only", OnnxExporterWarning, stacklevel=3)
        else:
            _warn_changed(checked[0], checked[1], g.matched)

    # An output not given dynamic axes gets its sizes fixed, except where an input has a
    # dynamic axis at the same position and of the same size (the batch, typically): that
    # axis takes the input's name.
    free = {}
    for (_, alias), name in zip(inputs, in_names):
        for axis, dim in dims.get(name, {}).items():
            free.setdefault((axis, alias._data.shape[axis]), dim)
    graph_outputs = []
    for t, name in zip(outputs, out_names):
        g.nodes.append(helper.make_node("Identity", [value_of(t).name], [name],
                                        name=g.fresh("Identity_output")))
        out_dims = dims.get(name)
        if out_dims is None:
            out_dims = {i: free[i, n] for i, n in enumerate(t._data.shape) if (i, n) in free}
        graph_outputs.append(_value_info(name, t._data, out_dims))
    graph_inputs = [_value_info(name, alias._data, dims.get(name, {}))
                    for (_, alias), name in zip(inputs, in_names)]
    graph_inputs += [_value_info(name, arr, {}) for name, arr in graph_params]
    graph = helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs,
                              initializer=g.initializers)
    m = helper.make_model(graph, producer_name="pynn",
                          opset_imports=[helper.make_opsetid("", opset_version)])
    m.ir_version = min(m.ir_version, _max_ir_version(opset_version))
    onnx.checker.check_model(m)
    return m


def _max_ir_version(opset):
    """The IR version that goes with ``opset`` (so older runtimes load the file)."""
    table = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}
    return table.get(opset, 10)


def write(model_proto, f):
    """Write the serialised model to a path (str or PathLike) or a binary file object."""
    data = model_proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        from ..serialization import _atomic_write

        _atomic_write(f, lambda out, tmp: out.write(data))  # never half a file
    elif isinstance(f, io.TextIOBase):
        raise OnnxExporterError("onnx export: f is a text file; open it in binary mode ('wb')")
    elif hasattr(f, "write"):
        f.write(data)
    else:
        raise OnnxExporterError(f"onnx export: f must be a path or a binary file object, got "
                                f"{type(f).__name__}")


