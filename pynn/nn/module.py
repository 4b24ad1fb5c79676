"""``Module``: the base class of layers, holding Parameters, buffers and sub-modules.

Semantics follow ``torch.nn.Module`` where a PyTorch user would look for them: assigning a
:class:`Parameter`, a ``Module`` or (through :meth:`Module.register_buffer`) a buffer to an
attribute registers it; names are dotted paths (``"features.0.weight"``); ``state_dict`` /
``load_state_dict`` use PyTorch's keys, so a PyTorch ``state_dict`` converted to NumPy
(``{k: v.numpy() for k, v in sd.items()}``) loads key for key.

Differences from PyTorch, on purpose
------------------------------------
- ``state_dict()`` returns *copies* (a snapshot). PyTorch returns tensors sharing storage,
  and because optimisers update parameters in place, a "best model so far" kept with
  ``best = model.state_dict()`` would silently follow later training. ``keep_vars=True``
  gives the live Parameter objects and buffer arrays instead.
- ``load_state_dict`` checks every key, shape and dtype before it copies anything: a failing
  load leaves the module untouched (PyTorch may have copied some entries before it raises).
"""

from collections import OrderedDict, namedtuple

import numpy as np

from .._device import _KNOWN as _DEVICE_TYPES
from .._device import check_device, device
from .._dtype import np_dtype
from ..autograd import ArrayFunction, is_grad_enabled
from ..tensor import Size, Tensor, _wrap
from .parameter import Buffer, Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: keys the module has that the state_dict lacked, and
    keys of the state_dict that the module has no place for."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _as_buffer(value, name):
    """A buffer is a Tensor outside the graph (or None); an ndarray is wrapped."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return _wrap(value, None)
    raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(Tensor, ndarray or None expected)")


def _state_value_array(value):
    """The ndarray behind one state dict value (a pynn Tensor, an ndarray, a PyTorch tensor
    or anything ``np.asarray`` takes)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    detach = getattr(value, "detach", None)
    if callable(detach) and hasattr(value, "numpy"):  # PyTorch: may require grad
        value = detach()
        if str(getattr(value, "dtype", "")) in ("torch.bfloat16", "torch.float8_e4m3fn",
                                                 "torch.float8_e5m2"):
            value = value.float()  # NumPy has no such dtype; exact in float32
    return np.asarray(value)


def _state_array(value, key, target, assign):
    """``(array, None)`` when ``value`` can be loaded into ``target`` (an ndarray), else
    ``(None, the line of the error naming the key, the dtypes or the shapes)``."""
    try:
        src = _state_value_array(value)
        if src.dtype.hasobject and not isinstance(value, np.ndarray):
            raise TypeError("it holds Python objects")
    except Exception as exc:  # noqa: BLE001 (whatever the value's conversion raises)
        return None, (f'While copying the parameter named "{key}", expected an array or '
                      f"Tensor from checkpoint but received a {type(value).__name__} that is "
                      f"not one ({type(exc).__name__}: {exc}).")
    if src.dtype.kind not in "biufc":
        return None, (f"dtype mismatch for {key}: copying a param with dtype {src.dtype} from "
                      f"checkpoint, which is not numeric; the dtype in current model is "
                      f"{target.dtype}.")
    if src.dtype.kind == "c" and target.dtype.kind != "c" and not assign:
        return None, (f"dtype mismatch for {key}: copying a param with dtype {src.dtype} from "
                      f"checkpoint into the dtype {target.dtype} in current model would discard "
                      f"the imaginary part.")
    if src.shape != target.shape:
        return None, (f"size mismatch for {key}: copying a param with shape "
                      f"{Size(src.shape)!r} from checkpoint, the shape in current model is "
                      f"{Size(target.shape)!r}.")
    return src, None


def _store_state(registry, name, value, src, assign):
    """Load one checked entry: copy ``src`` into the registered array, or with ``assign``
    register ``value`` (a Tensor sharing ``src``) in its place."""
    owner = registry[name]
    if assign:
        if isinstance(owner, Parameter):
            grad = owner.requires_grad and src.dtype.kind in "fc"
            if isinstance(value, Parameter):
                value.requires_grad = grad
                registry[name] = value
            else:
                registry[name] = Parameter(src, requires_grad=grad)
        else:
            registry[name] = value if isinstance(value, Tensor) else _wrap(src, None)
    elif owner._data.flags.writeable:
        np.copyto(owner._data, src, casting="unsafe")
    else:
        owner._data = np.array(src, dtype=owner._data.dtype)


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` unregisters the hook (also as a context
    manager, on exit)."""

    _next_id = 0

    def __init__(self, registry, module=None):
        self._registry = registry
        self._module = module
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        """Unregister the hook (a second call does nothing)."""
        self._registry.pop(self.id, None)
        if self._module is not None:
            self._module._update_hooked()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _check_module_device(d):
    """:func:`check_device`, but for "meta" too: a module moved to PyTorch's meta device only
    serves as the skeleton that ``func.functional_call`` gives parameters (its ensembling
    recipe), which a module keeping its CPU storage serves as well."""
    if isinstance(d, (str, device)) and str(d).split(":")[0] == "meta":
        return
    check_device(d)


def _to_args(args, kwargs):
    """The dtype (NumPy, or None) that ``Module.to(*args, **kwargs)`` asks for, after checking
    that any device given is the CPU: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)``, ``to(device=..., dtype=..., non_blocking=...)``."""
    dtype = kwargs.pop("dtype", None)
    _check_module_device(kwargs.pop("device", None))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, bool):  # non_blocking given positionally
            continue
        if isinstance(arg, Tensor):
            dtype = arg._data.dtype
        elif isinstance(arg, str) and arg.split(":")[0] not in _DEVICE_TYPES:
            dtype = arg  # a dtype's name, "float64"
        elif isinstance(arg, (str, int, device)):
            _check_module_device(arg)
        else:
            dtype = arg
    if dtype is None:
        return None
    dtype = np_dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got "
                        f"desired dtype={dtype}")
    return dtype


class _HookInputFunction(ArrayFunction):
    """Identity on one input of a module with backward hooks: its backward receives the
    gradient with respect to that input."""

    @staticmethod
    def forward(ctx, x, state, index):
        ctx.state, ctx.index = state, index
        return x

    @staticmethod
    def backward(ctx, grad):
        return ctx.state.input_grad(ctx.index, grad), None, None


class _HookOutputFunction(ArrayFunction):
    """Identity on one output of a module with backward hooks: records the gradient with
    respect to that output."""

    @staticmethod
    def forward(ctx, y, state, index):
        ctx.state, ctx.index = state, index
        return y

    @staticmethod
    def backward(ctx, grad):
        return ctx.state.output_grad(ctx.index, grad), None, None


class _BackwardHookState:
    """One forward call of a module with full backward hooks: identity nodes around its Tensor
    inputs and outputs collect ``grad_output`` and ``grad_input``; the hooks run once every
    input's gradient is known (or, when no input needs one, once the outputs' gradients are)."""

    def __init__(self, module, args):
        self.module = module
        self.grad_outputs = None
        self.n_out = 0
        self.waiting = set()
        self.grad_inputs = [None] * len(args)
        wrapped = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad and is_grad_enabled():
                self.waiting.add(i)
                a = _HookInputFunction.apply(a, self, i)
            wrapped.append(a)
        self.inputs = tuple(wrapped)
        self.n_waiting = len(self.waiting)

    def wrap_outputs(self, output):
        if not is_grad_enabled():
            return output
        single = isinstance(output, Tensor)
        outs = (output,) if single else output
        if not isinstance(outs, (tuple, list)):
            return output
        self.n_out = len(outs)
        self.grad_outputs = [None] * len(outs)
        wrapped = [(_HookOutputFunction.apply(o, self, i)
                    if isinstance(o, Tensor) and o.requires_grad else o)
                   for i, o in enumerate(outs)]
        return wrapped[0] if single else type(outs)(wrapped)

    def output_grad(self, index, grad):
        if self.grad_outputs is not None:
            self.grad_outputs[index] = grad
        if not self.n_waiting:
            self._run(None)
        return grad

    def input_grad(self, index, grad):
        self.grad_inputs[index] = grad
        self.waiting.discard(index)
        if self.waiting:
            return grad
        return self._run(index, grad)

    def _run(self, index, grad=None):
        def wrap(g):
            return None if g is None else _wrap(g, None)

        grad_out = tuple(wrap(g) for g in (self.grad_outputs or ()))
        grad_in = tuple(wrap(g) for g in self.grad_inputs)
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grad_in, grad_out)
            if res is not None:
                grad_in = tuple(res)
        if index is None:
            return None
        new = grad_in[index]
        return grad if new is None else (new._data if isinstance(new, Tensor) else new)


class Module:
    """Base class of all layers: holds Parameters, buffers and sub-modules.

    Subclass it, create Parameters and sub-modules in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``; call the module, not ``forward``::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 100)
                self.fc2 = nn.Linear(100, 10)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))

    Attributes
    ----------
    training : bool
        Train mode (default) or evaluation mode; see :meth:`train` and :meth:`eval`.
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_hooked"] = False

    _hooked = False  # any hook registered: __call__ takes the slow path
    # Bumped whenever any module's hooks change, so that what was decided from the hooks
    # (Sequential's fused steps) is decided again.
    _hooks_version = 0

    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it (here it raises NotImplementedError).

        ``module(*args, **kwargs)`` calls it.
        """
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    def __call__(self, *args, **kwargs):
        if self._hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks ---------------------------------------------------------------------------------

    def _update_hooked(self):
        Module._hooks_version += 1
        self.__dict__["_hooked"] = bool(self._forward_pre_hooks or self._forward_hooks
                                        or self._backward_hooks)

    def _add_hook(self, registry, entry, prepend):
        handle = RemovableHandle(registry, self)
        registry[handle.id] = entry
        if prepend:
            registry.move_to_end(handle.id, last=False)
        self._update_hooked()
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every forward.

        A non-None result replaces the positional arguments (a tuple, or a single value).

        With ``with_kwargs``: ``hook(module, args, kwargs)`` returning None or ``(args,
        kwargs)``.

        Returns
        -------
        RemovableHandle
        """
        return self._add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """Call ``hook(module, args, output)`` after every forward.

        A non-None result replaces the output.

        With ``with_kwargs``: ``hook(module, args, kwargs, output)``.

        Returns
        -------
        RemovableHandle
        """
        return self._add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` during backward.

        Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's Tensor inputs have been computed during backward.

        ``grad_input`` and ``grad_output`` are tuples of Tensors (None for an input that
        needs no gradient); a non-None result (a tuple) replaces ``grad_input``.

        Returns
        -------
        RemovableHandle
        """
        return self._add_hook(self._backward_hooks, hook, prepend)

    register_backward_hook = register_full_backward_hook

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        state = None
        if self._backward_hooks:
            state = _BackwardHookState(self, args)
            args = state.inputs
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            res = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if res is not None:
                output = res
        if state is not None:
            output = state.wrap_outputs(output)
        return output

    # -- registration --------------------------------------------------------------------------

    def _check_name(self, name, kind):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")

    def register_parameter(self, name, param):
        """Add ``param`` (a :class:`Parameter` or None) under ``name``."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (pynn.nn.Parameter or None required)")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that is not a parameter (``running_mean`` of batch norm).

        Parameters
        ----------
        name : str
        tensor : Tensor, ndarray (wrapped in a Tensor) or None
            None registers the name without a value (skipped by ``state_dict``).
        persistent : bool
            Whether the buffer is part of ``state_dict()``.
        """
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._buffers[name] = _as_buffer(tensor, name)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add ``module`` (a :class:`Module` or None) as a child under ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __getattr__(self, name):
        # Only called when normal lookup fails: parameters, buffers and modules live in the
        # registries, not in __dict__.
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _forget(self, name, *registries):
        d = self.__dict__
        d.pop(name, None)
        for reg in registries:
            d[reg].pop(name, None)
        if "_buffers" in registries:
            self._non_persistent_buffers_set.discard(name)

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, "_buffers", "_modules")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter "
                                f"'{name}' (pynn.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffers before Module.__init__() call")
            self._forget(name, "_parameters", "_modules")
            self.register_buffer(name, _wrap(value._data, None), persistent=value.persistent)
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, "_parameters", "_buffers")
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (pynn.nn.Module or None expected)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            d["_buffers"][name] = _as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if name in d.get(reg, ()):
                del d[reg][name]
                if reg == "_buffers":
                    self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(super().__dir__()) | set(extra))

    # -- traversal -----------------------------------------------------------------------------

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module and every descendant.

        Depth first in registration order, this module first under the name ``prefix``; a module
        reachable twice is yielded once unless ``remove_duplicate=False``. ``memo`` is a set of
        ``id`` values already yielded (internal).
        """
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [(name + ("." if name else "") + key, sub)
                        for key, sub in module._modules.items() if sub is not None]
            stack.extend(reversed(children))

    def modules(self):
        """Every module of the tree, this one first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """Yield ``(name, module)`` for the direct sub-modules."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """Yield the direct sub-modules (each once)."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (mod_prefix + "." + name if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted_name, Parameter)`` for every parameter of the tree.

        This module's own parameters first, then those of its sub-modules in registration order;
        a shared parameter is yielded once (under its first name) unless ``remove_duplicate=False``.
        ``recurse=False`` stops at this module's own.
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every Parameter of the tree (each shared one once): pass to an optimiser."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted_name, Tensor)`` for every buffer (non-persistent ones too)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Yield every buffer Tensor of the tree (non-persistent ones too)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The sub-module at the dotted path ``target`` (``""`` is this module)."""
        module = self
        if target:
            for part in target.split("."):
                sub = module._modules.get(part)
                if sub is None:
                    raise AttributeError(f"{type(module).__name__} has no submodule `{part}` "
                                         f"(looking up '{target}')")
                module = sub
        return module

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (``"layer1.0.weight"``).

        Parameters
        ----------
        target : str

        Returns
        -------
        Parameter
        """
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target):
        """The buffer at the dotted path ``target`` (``"bn1.running_mean"``).

        Parameters
        ----------
        target : str

        Returns
        -------
        Tensor
        """
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    # -- state ---------------------------------------------------------------------------------

    def _state_entries(self, prefix=""):
        """``(key, owner, attr, kind)`` of every parameter and persistent buffer, in
        ``state_dict`` order: per module its parameters then its buffers, then the children
        (not deduplicated, as in PyTorch: a shared tensor appears under each of its names)."""
        stack = [(prefix, self)]
        while stack:
            pre, module = stack.pop()
            for name, p in module._parameters.items():
                if p is not None:
                    yield pre + name, module, name, "parameter"
            skip = module._non_persistent_buffers_set
            for name, b in module._buffers.items():
                if b is not None and name not in skip:
                    yield pre + name, module, name, "buffer"
            children = [(pre + key + ".", sub) for key, sub in module._modules.items()
                        if sub is not None]
            stack.extend(reversed(children))

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """The parameters and persistent buffers, an ``OrderedDict`` with PyTorch's keys and order.

        Parameters
        ----------
        destination : dict, optional
            Filled and returned instead of a new OrderedDict.
        prefix : str
            Put before every key.
        keep_vars : bool
            False (default): each value is a Tensor holding a *copy* (a snapshot that later
            training does not change). True: the live Parameter and buffer Tensors.

        Returns
        -------
        OrderedDict of str -> Tensor
        """
        out = OrderedDict() if destination is None else destination
        for key, module, name, kind in self._state_entries(prefix):
            t = module._parameters[name] if kind == "parameter" else module._buffers[name]
            out[key] = t if keep_vars else _wrap(t._data.copy(), None)
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy the arrays of ``state_dict`` into this module's parameters and buffers, in place.

        Every entry is checked (keys, shapes, dtypes) before anything is copied: when it
        raises, the module is unchanged. The parameters stay the same objects (so optimisers
        that hold them keep working); values are cast to each target's dtype.

        Parameters
        ----------
        state_dict : mapping of str -> array_like
            ndarrays, Tensors, or anything ``np.asarray`` takes (a PyTorch CPU tensor too),
            of a numeric or bool dtype.
        strict : bool, default True
            Require the keys to match exactly. Shapes and dtypes are always checked.
        assign : bool, default False
            Instead of copying into the existing arrays, make each parameter and buffer
            hold the state dict's array (its dtype kept, memory shared with the state
            dict); each parameter keeps its ``requires_grad``. Optimisers built before
            then hold the old Parameters: build them after loading.

        Returns
        -------
        namedtuple ``(missing_keys, unexpected_keys)``
            Keys of the module absent from ``state_dict`` and keys of ``state_dict`` the
            module has no place for (both empty when ``strict`` succeeds).

        Raises
        ------
        RuntimeError
            In PyTorch's format, ``Error(s) in loading state_dict for <Module>:`` and one
            line per problem: the missing and the unexpected keys (when ``strict``), each
            key whose shape differs (both shapes) and each value that cannot be cast to its
            target (strings, objects, complex into real; both dtypes). Nothing is copied
            when it raises.
        TypeError
            ``state_dict`` is not a mapping.
        """
        if not hasattr(state_dict, "items") or not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        for prefix, module in self.named_modules():
            load_sizes = getattr(module, "_load_sizes", None)  # a lazy layer not yet run
            if load_sizes is not None:
                load_sizes(prefix + "." if prefix else "", state_dict)
        entries = list(self._state_entries())
        missing = [key for key, *_ in entries if key not in state_dict]
        unexpected = self._unexpected_keys(state_dict, {key for key, *_ in entries})
        updates, problems = [], []
        for key, module, name, kind in entries:
            if key not in state_dict:
                continue
            registry = module._parameters if kind == "parameter" else module._buffers
            target = registry[name]._data
            value = state_dict[key]
            src, problem = _state_array(value, key, target, assign)
            if problem:
                problems.append(problem)
            else:
                updates.append((registry, name, value, src))
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: "
                            + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: "
                            + ", ".join(f'"{k}"' for k in missing) + ".")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        for registry, name, value, src in updates:
            _store_state(registry, name, value, src, assign)
        return _IncompatibleKeys(missing, unexpected)

    def _unexpected_keys(self, state_dict, own):
        """The keys of ``state_dict`` that are not ``own``, in PyTorch's order: by the module
        (in pre-order) that has no child or entry of the key's next name, then as given."""
        order = {}
        for position, (_, module) in enumerate(self.named_modules(remove_duplicate=False)):
            order.setdefault(id(module), position)
        found = []
        for index, key in enumerate(state_dict.keys()):
            if key in own:
                continue
            module, parts = self, str(key).split(".")
            for part in parts[:-1]:
                child = module._modules.get(part)
                if child is None:
                    break
                module = child
            found.append((order.get(id(module), 0), index, key))
        return [key for *_, key in sorted(found)]

    # -- modes and gradients -------------------------------------------------------------------

    def train(self, mode=True):
        """Set train mode (``mode=True``) or evaluation mode on this module and all descendants.

        The mode changes what Dropout and BatchNorm do. Returns self.
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004 (as torch)
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of every parameter; returns self.

        False freezes them: their ``.grad`` stays None and optimisers skip them.
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default), or to zeros in place."""
        for p in self.parameters():
            grad = p._grad
            if grad is None:
                continue
            if set_to_none:
                p._grad = None
            elif grad._data.flags.writeable:
                grad._data.fill(0)
            else:
                grad._data = np.zeros_like(grad._data)  # same Tensor, as zero_() keeps it

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self; returns self.

        Typical use: custom initialisation.
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- dtype ---------------------------------------------------------------------------------

    def to(self, *args, **kwargs):
        """Convert floating-point parameters and buffers to a dtype, in place; returns self.

        Takes PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(tensor)`` (its dtype), keywords ``device=``, ``dtype=``, ``non_blocking=``. The
        device must be the CPU (others raise pynn's CPU-only RuntimeError), or "meta", which
        leaves the module as it is (pynn has no storage-less tensors; such a module only
        serves as ``func.functional_call``'s skeleton). The Parameter
        objects, their ``.grad`` Tensors and the buffer Tensors stay the same (their storage is
        replaced by a converted array); integer buffers (``num_batches_tracked``) are kept.
        """
        dtype = _to_args(args, kwargs)
        if dtype is None:
            return self
        return self._cast(dtype)

    def _cast(self, dtype):
        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is not None and t._data.dtype.kind == "f" and t._data.dtype != dtype:
                    t._data = t._data.astype(dtype)
                    grad = getattr(t, "_grad", None)
                    if grad is not None:
                        grad._data = grad._data.astype(dtype)
        return self

    def double(self):
        """Floating-point parameters and buffers to float64 (for gradient checks)."""
        return self._cast(np.dtype(np.float64))

    def float(self):
        """Floating-point parameters and buffers to float32."""
        return self._cast(np.dtype(np.float32))

    def half(self):
        """Floating-point parameters and buffers to float16.

        Floating-point parameters and buffers to float16 (storage only: pynn's kernels compute in
        float32 and float64).
        """
        return self._cast(np.dtype(np.float16))

    def bfloat16(self):
        """Not supported: NumPy has no bfloat16."""
        raise TypeError("pynn has no bfloat16 (NumPy lacks it); use float() or half()")

    def type(self, dst_type):
        """Cast floating-point parameters and buffers to ``dst_type`` (a dtype); returns self."""
        return self._cast(np_dtype(dst_type))

    def cpu(self):
        """Return self: pynn runs on the CPU only (for code written for PyTorch)."""
        return self

    def cuda(self, device=None):
        """Raise pynn's CPU-only RuntimeError (there is no GPU to move to)."""
        check_device("cuda" if device is None else (f"cuda:{device}"
                                                    if isinstance(device, int) else device))
        return self

    def share_memory(self):
        """Move every parameter, buffer and existing gradient to shared memory.

        Other processes then see the same memory (:meth:`pynn.Tensor.share_memory_`), for
        Hogwild training with ``pynn.multiprocessing``.

        Returns
        -------
        Module
            Self.
        """
        for t in list(self.parameters()) + list(self.buffers()):
            t.share_memory_()
            if t._grad is not None:
                t._grad.share_memory_()
        return self

    # -- repr ----------------------------------------------------------------------------------

    def extra_repr(self):
        """The text between the parentheses of this module's repr (override it)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def _layer_name(self):
        """This module's one-line description for error messages: ``Linear(in_features=...)``."""
        return f"{self._get_name()}({self.extra_repr()})"

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2)
                       for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
