"""``summary(model, input_size)``: a table of a model's layers with their output shapes,
parameter counts and multiply-adds, found by running one forward pass with forward hooks (the
table ``torchinfo.summary`` prints)."""

import numpy as np

from .. import _dtype
from .._device import check_device
from ..autograd import no_grad
from ..tensor import Tensor, _wrap

__all__ = ["LayerInfo", "ModelStatistics", "summary"]

_NAME_WIDTH = 40
_SHAPE_WIDTH = 25
_COUNT_WIDTH = 15


class LayerInfo:
    """One row of the table: a module, where it sits, and what its calls produced.

    Parameters
    ----------
    name : str
        Dotted path in the model.
    module : Module
        The module of the row.
    depth, depth_index : int
        Its nesting depth and its number among the rows of that depth.

    Attributes
    ----------
    name : str
        Dotted path in the model (``""`` for the model itself).
    class_name : str
    depth : int
        0 for the model, 1 for its children ...
    depth_index : int
        The row's number among the rows of its depth (the ``1-3`` of ``Linear: 1-3``).
    output_size : list of int or None
        Shape of the (first) Tensor output of the module's last call; None if never called.
    num_params : int
        Parameters of the module and all its submodules.
    trainable_params : int
        Those with ``requires_grad``.
    macs : int
        Multiply-adds of all its calls (for a container, the sum over its submodules).
    calls : int
        How many times forward ran.
    is_leaf : bool
        No submodules.
    """

    def __init__(self, name, module, depth, depth_index):
        self.name = name
        self.module = module
        self.class_name = type(module).__name__
        self.depth = depth
        self.depth_index = depth_index
        self.output_size = None
        self.output_bytes = 0
        self.calls = 0
        self.own_macs = 0
        self.macs = 0
        self.is_leaf = not any(True for _ in module.children())
        params = list(module.parameters())
        self.num_params = sum(p._data.size for p in params)
        self.trainable_params = sum(p._data.size for p in params if p.requires_grad)

    def __repr__(self):
        return (f"LayerInfo({self.class_name}: {self.depth}-{self.depth_index}, "
                f"output_size={self.output_size}, num_params={self.num_params}, "
                f"macs={self.macs})")


class ModelStatistics:
    """What :func:`summary` found; ``str()`` of it is the table it prints.

    Parameters
    ----------
    rows : list of LayerInfo
        Every module's row.
    depth : int
        The deepest rows shown.
    total_params, trainable_params, total_mult_adds : int
        As the attributes below.
    total_input, total_output_bytes, total_param_bytes : int
        As the attributes below.

    Attributes
    ----------
    summary_list : list of LayerInfo
        Every module down to ``depth``, in definition order.
    total_params, trainable_params, non_trainable_params : int
        Over the model's distinct parameters (a shared parameter counts once), as
        ``sum(p.numel() for p in model.parameters())``.
    total_mult_adds : int
        Multiply-adds of the forward pass: Linear, convolutions (transposed too),
        recurrent layers and cells, and multi-head attention; other layers count 0.
    total_input, total_output_bytes, total_param_bytes : int
        Bytes of the inputs, of the activations the leaf layers produced (times two, for the
        gradients a backward pass keeps) and of the parameters.
    """

    def __init__(self, rows, depth, total_params, trainable_params, total_mult_adds,
                 total_input, total_output_bytes, total_param_bytes):
        self.summary_list = rows
        self.depth = depth
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.total_mult_adds = total_mult_adds
        self.total_input = total_input
        self.total_output_bytes = total_output_bytes
        self.total_param_bytes = total_param_bytes

    def _row(self, info, prefix):
        shown_children = not info.is_leaf and info.depth < self.depth
        if shown_children:  # its rows below show the rest
            own = info.num_params - sum(
                child.num_params for child in self.summary_list
                if child.depth == info.depth + 1 and child.name.startswith(
                    info.name + "." if info.name else ""))
            params = _count(own) if own > 0 else "--"
            macs = _count(info.own_macs) if info.own_macs else "--"
        else:
            params = _count(info.num_params) if info.num_params else "--"
            macs = _count(info.macs) if info.macs else "--"
        label = info.class_name if info.depth == 0 else \
            f"{info.class_name}: {info.depth}-{info.depth_index}"
        shape = "--" if info.output_size is None else str(info.output_size)
        return (f"{(prefix + label):<{_NAME_WIDTH}}{shape:<{_SHAPE_WIDTH}}"
                f"{params:<{_COUNT_WIDTH}}{macs}").rstrip()

    def __str__(self):
        rule = "=" * (_NAME_WIDTH + _SHAPE_WIDTH + 2 * _COUNT_WIDTH)
        header = (f"{'Layer (type:depth-idx)':<{_NAME_WIDTH}}{'Output Shape':<{_SHAPE_WIDTH}}"
                  f"{'Param #':<{_COUNT_WIDTH}}Mult-Adds")
        lines = [rule, header, rule]
        prefixes = _tree_prefixes(self.summary_list)
        lines += [self._row(info, prefix) for info, prefix in zip(self.summary_list, prefixes)]
        macs, unit = ((self.total_mult_adds / 1e9, "G") if self.total_mult_adds >= 1e9
                      else (self.total_mult_adds / 1e6, "M"))
        params_mb = self.total_param_bytes / 1e6
        input_mb = self.total_input / 1e6
        output_mb = self.total_output_bytes / 1e6
        lines += [
            rule,
            f"Total params: {_count(self.total_params)}",
            f"Trainable params: {_count(self.trainable_params)}",
            f"Non-trainable params: {_count(self.non_trainable_params)}",
            f"Total mult-adds ({unit}): {macs:.2f}",
            rule,
            f"Input size (MB): {input_mb:.2f}",
            f"Forward/backward pass size (MB): {output_mb:.2f}",
            f"Params size (MB): {params_mb:.2f}",
            f"Estimated Total Size (MB): {input_mb + output_mb + params_mb:.2f}",
            rule,
        ]
        return "\n".join(lines)

    __repr__ = __str__


def _count(n):
    return f"{n:,}"


def _tree_prefixes(rows):
    """The box-drawing indent of each row: ``├─`` or ``└─`` (last child), under ``│`` bars."""
    prefixes = []
    for i, info in enumerate(rows):
        if info.depth == 0:
            prefixes.append("")
            continue
        parts = []
        for level in range(1, info.depth + 1):
            # is there a later row at this level before the branch closes?
            later = False
            for nxt in rows[i + 1:]:
                if nxt.depth < level:
                    break
                if nxt.depth == level:
                    later = True
                    break
            if level == info.depth:
                parts.append("├─" if later else "└─")
            else:
                parts.append("│    " if later else "     ")
        prefixes.append("".join(parts))
    return prefixes


# ----------------------------------------------------------------------- multiply-adds
def _first_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for item in obj:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()))
    return None


def _tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _weight(module, name):
    w = module._parameters.get(name) if hasattr(module, "_parameters") else None
    return None if w is None else w._data


def _macs(module, args, output):
    """Multiply-adds of one call of a leaf-like layer, from its weights and tensors."""
    from .. import nn

    out = _first_tensor(output)
    x = _first_tensor(args)
    if out is None:
        return 0
    name = type(module).__name__
    if isinstance(module, nn.Linear):
        return out._data.size * module.in_features
    if isinstance(module, nn.MultiheadAttention):
        return _attention_macs(module, args)
    weight = _weight(module, "weight")
    if weight is not None and name.startswith("ConvTranspose") and x is not None:
        # each input element meets out_channels/groups * kernel weights
        return x._data.size * (weight.size // weight.shape[0])
    if weight is not None and name.startswith("Conv"):
        # each output element is a dot product over in_channels/groups * kernel
        return out._data.size * (weight.size // weight.shape[0])
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)) and x is not None:
        steps = x._data.size // module.input_size  # batch * time: one cell update each
        matrices = [p._data.size for key, p in module._parameters.items()
                    if key.startswith("weight_") and p is not None]
        return steps * sum(matrices)
    return 0


def _attention_macs(module, args):
    tensors = [a for a in args[:3] if isinstance(a, Tensor)]
    if len(tensors) < 3:  # unknown call: count nothing rather than guess
        return 0
    query, key, value = (t._data for t in tensors)
    e = module.embed_dim
    batched = query.ndim == 3
    n = (query.shape[0] if module.batch_first else query.shape[1]) if batched else 1
    lq = query.size // e // n
    s = key.size // key.shape[-1] // n
    projections = n * (lq * e * e + s * key.shape[-1] * e + s * value.shape[-1] * e + lq * e * e)
    scores_and_mix = 2 * n * lq * s * e  # Q K^T and the weighted sum of V
    return projections + scores_and_mix


# ------------------------------------------------------------------------------ summary
def _inputs(input_size, dtypes):
    if isinstance(input_size, (list, tuple)) and input_size and all(
            isinstance(s, (list, tuple)) for s in input_size):
        shapes = [tuple(s) for s in input_size]
    elif isinstance(input_size, (list, tuple)):
        shapes = [tuple(input_size)]
    else:
        raise TypeError(f"summary: input_size must be a shape (tuple of ints, batch first) or a "
                        f"list of shapes, got {input_size!r}")
    if dtypes is None:
        dtypes = [_dtype.get_default_dtype()] * len(shapes)
    if len(dtypes) != len(shapes):
        raise ValueError(f"summary: {len(shapes)} input shapes but {len(dtypes)} dtypes")
    rng = np.random.default_rng(0)  # not the global generator: summary leaves it alone
    inputs = []
    for shape, dt in zip(shapes, dtypes):
        np_dt = np.dtype(_dtype.np_dtype(_dtype.to_dtype(dt)))
        if np_dt.kind == "f":
            arr = rng.standard_normal(shape).astype(np_dt)
        else:  # indices (Embedding) and masks: zeros are always valid
            arr = np.zeros(shape, np_dt)
        inputs.append(_wrap(arr, None))
    return inputs


def summary(model, input_size=None, dtypes=None, depth=3, *, input_data=None, device=None,
            verbose=1, **kwargs):
    """Print and return a table of ``model``'s layers: output shape, parameters, multiply-adds.

    One forward pass runs, in eval mode and without gradients (each module's mode is restored
    afterwards), with forward hooks on every module; the hooks are removed even if it fails.

    Parameters
    ----------
    model : Module
    input_size : tuple of int, or list of tuples
        The shape of the input, batch dimension included (``(N, C, H, W)``), or one shape per
        positional input. Random normal inputs are made (zeros for integer dtypes).
    dtypes : list of dtype, optional
        One per input (default: the default float dtype); ``[pynn.long]`` for an Embedding.
    depth : int, default 3
        Rows are shown down to this nesting depth; deeper modules are folded into their
        parent's row (their parameters and multiply-adds included).
    input_data : Tensor, ndarray or list of them, of the model's input shapes, optional
        Real inputs, instead of ``input_size``.
    device : str or device, optional
        Only the CPU exists in pynn; another device raises pynn's CPU-only error.
    verbose : int, default 1
        0: only return the statistics; 1: also print the table.
    **kwargs : any
        Passed to the model's forward as keyword arguments.

    Returns
    -------
    ModelStatistics
        ``str()`` of it is the table; its attributes hold the numbers (``total_params``,
        ``trainable_params``, ``total_mult_adds``, ``summary_list`` ...).

    Raises
    ------
    RuntimeError
        The forward pass failed (the original error is chained); the model is left as it was.
    """
    if device is not None:
        check_device(device)
    if input_data is not None:
        data = input_data if isinstance(input_data, (list, tuple)) else [input_data]
        inputs = [d if isinstance(d, Tensor) else _wrap(np.asarray(d), None) for d in data]
    elif input_size is not None:
        inputs = _inputs(input_size, dtypes)
    else:
        raise TypeError("summary: give input_size (the input's shape) or input_data")

    rows = []
    by_module = {}
    per_depth = {}
    for name, module in model.named_modules():
        level = 0 if name == "" else name.count(".") + 1
        per_depth[level] = per_depth.get(level, 0) + 1
        info = LayerInfo(name, module, level, per_depth[level])
        by_module[id(module)] = info
        rows.append(info)

    def hook(module, args, kwargs, output):
        info = by_module.get(id(module))
        if info is None:
            return
        info.calls += 1
        first = _first_tensor(output)
        if first is not None:
            info.output_size = list(first.shape)
        if info.is_leaf or type(module).__name__ == "MultiheadAttention":
            # inputs given by keyword (attn(query=q, key=k, value=v)) count as positional
            named = [kwargs[k] for k in ("input", "query", "key", "value") if k in kwargs]
            info.own_macs += _macs(module, tuple(args) + tuple(named), output)
            info.output_bytes += sum(t._data.nbytes for t in _tensors(output))

    modes = [(module, module.training) for module in model.modules()]
    handles = []
    try:
        for module, _ in modes:
            handles.append(module.register_forward_hook(hook, with_kwargs=True))
        model.eval()
        try:
            with no_grad():
                model(*inputs, **kwargs)
        except Exception as exc:
            raise RuntimeError(
                f"summary: the forward pass of {type(model).__name__} failed on inputs of "
                f"shape {[list(t.shape) for t in inputs]}: {exc}") from exc
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training

    # a container's multiply-adds are its own plus those of everything below it
    for info in reversed(rows):
        prefix = info.name + "." if info.name else ""
        below = sum(other.own_macs for other in rows
                    if other is not info and other.name.startswith(prefix))
        info.macs = info.own_macs + below

    params = list(model.parameters())
    total = sum(p._data.size for p in params)
    trainable = sum(p._data.size for p in params if p.requires_grad)
    stats = ModelStatistics(
        [info for info in rows if info.depth <= depth], depth, total, trainable,
        rows[0].macs, sum(t._data.nbytes for t in inputs),
        2 * sum(info.output_bytes for info in rows), sum(p._data.nbytes for p in params))
    if verbose:
        print(stats)
    return stats
