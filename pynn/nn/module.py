"""``Module``: the base class of layers, holding Parameters, buffers and sub-modules.

Semantics follow ``torch.nn.Module`` where a PyTorch user would look for them: assigning a
:class:`Parameter`, a ``Module`` or (through :meth:`Module.register_buffer`) a buffer to an
attribute registers it; names are dotted paths (``"features.0.weight"``); ``state_dict`` /
``load_state_dict`` use PyTorch's keys, so a PyTorch ``state_dict`` converted to NumPy
(``{k: v.numpy() for k, v in sd.items()}``) loads key for key.

Differences from PyTorch, on purpose
------------------------------------
- Buffers are plain ``numpy.ndarray`` objects (or None), not tensors.
- ``state_dict()`` returns *copies* (a snapshot). PyTorch returns tensors sharing storage,
  and because optimisers update parameters in place, a "best model so far" kept with
  ``best = model.state_dict()`` would silently follow later training. ``keep_vars=True``
  gives the live Parameter objects and buffer arrays instead.
- ``load_state_dict`` checks every key and shape before it copies anything: a failing load
  leaves the module untouched (PyTorch may have copied some entries before it raises).
"""

from collections import OrderedDict, namedtuple

import numpy as np

from .._device import _KNOWN, check_device
from .._device import device as _device
from ..tensor import Tensor
from .parameter import Parameter

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
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value._data
    raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(ndarray, Tensor or None expected)")


_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _float_dtype(arg):
    """The NumPy float dtype named by ``arg`` (a dtype, a type, a string), or None for a
    device argument ("cpu")."""
    if arg is None:
        return None
    if isinstance(arg, _device) or (isinstance(arg, int) and not isinstance(arg, bool)) or (
            isinstance(arg, str) and arg.split(":")[0] in _KNOWN):
        check_device(arg)  # "cpu" passes; "cuda" and the rest raise pynn's one error
        return None
    try:
        dtype = np.dtype(arg)
    except TypeError:
        raise TypeError(f"to(): expected a floating-point dtype or 'cpu', got {arg!r}") from None
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"to(): nn.Module.to only accepts floating point dtypes, but got "
                        f"desired dtype={dtype}")
    return dtype


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

    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it (here it raises NotImplementedError).

        ``module(*args, **kwargs)`` calls it.
        """
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

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
        tensor : ndarray, Tensor (its array is kept) or None
            None registers the name without an array (skipped by ``state_dict``).
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
        ``id``s already yielded (internal).
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
        """Yield ``(dotted_name, ndarray)`` for every buffer (non-persistent ones too)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Yield every buffer array of the tree (non-persistent ones too)."""
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
            False (default): each value is a *copy* of the array (a snapshot that later
            training does not change). True: the live Parameter objects and buffer arrays.

        Returns
        -------
        OrderedDict of str -> ndarray
        """
        out = OrderedDict() if destination is None else destination
        for key, module, name, kind in self._state_entries(prefix):
            if kind == "parameter":
                p = module._parameters[name]
                out[key] = p if keep_vars else p._data.copy()
            else:
                b = module._buffers[name]
                out[key] = b if keep_vars else b.copy()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` into this module's parameters and buffers, in place.

        The parameters stay the same objects (so optimisers that hold them keep working); values
        are cast to each target's dtype.

        Parameters
        ----------
        state_dict : mapping of str -> array_like
            ndarrays, Tensors, or anything ``np.asarray`` takes (a PyTorch CPU tensor too).
        strict : bool
            Require the keys to match exactly. Shapes must always match.

        Returns
        -------
        namedtuple ``(missing_keys, unexpected_keys)``

        Raises
        ------
        RuntimeError
            Listing every missing and unexpected key (when ``strict``) and every key whose
            shape differs (both shapes). Nothing is copied when it raises.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        entries = list(self._state_entries())
        own = {key for key, *_ in entries}
        missing = [key for key, *_ in entries if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        copies = []
        mismatched = []
        for key, module, name, kind in entries:
            if key not in state_dict:
                continue
            value = state_dict[key]
            src = value._data if isinstance(value, Tensor) else np.asarray(value)
            target = (module._parameters[name]._data if kind == "parameter"
                      else module._buffers[name])
            if src.shape != target.shape:
                mismatched.append(f"{key}: the state_dict has shape {tuple(src.shape)}, the "
                                  f"model has {tuple(target.shape)}")
                continue
            copies.append((module, name, kind, target, src))
        errors = []
        if strict and missing:
            errors.append("missing keys (in the model, not in the state_dict): "
                          + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            errors.append("unexpected keys (in the state_dict, not in the model): "
                          + ", ".join(repr(k) for k in unexpected))
        if mismatched:
            errors.append("size mismatch for " + "; ".join(mismatched))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} "
                               f"(nothing was loaded):\n  " + "\n  ".join(errors))
        for module, name, kind, target, src in copies:
            if target.flags.writeable:
                np.copyto(target, src, casting="unsafe")
            elif kind == "parameter":
                module._parameters[name]._data = np.array(src, dtype=target.dtype)
            else:
                module._buffers[name] = np.array(src, dtype=target.dtype)
        return _IncompatibleKeys(missing, unexpected)

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

        The Parameter objects and their ``.grad`` Tensors stay the same (their storage is
        replaced by a converted array); integer buffers (``num_batches_tracked``) are kept. A
        device argument ``"cpu"`` is accepted and ignored: ``module.to(np.float64)``,
        ``module.to("float64")``, ``module.to(dtype=...)``.
        """
        dtype = None
        for arg in list(args) + [kwargs.pop("dtype", None), kwargs.pop("device", None)]:
            dt = _float_dtype(arg)
            if dt is not None:
                dtype = dt
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        if dtype is None:
            return self
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p._data.dtype.kind == "f" and p._data.dtype != dtype:
                    p._data = p._data.astype(dtype)
                    if p._grad is not None:
                        p._grad._data = p._grad._data.astype(dtype)
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f" and b.dtype != dtype:
                    m._buffers[name] = b.astype(dtype)
        return self

    def double(self):
        """Floating-point parameters and buffers to float64 (for gradient checks)."""
        return self.to(np.float64)

    def float(self):
        """Floating-point parameters and buffers to float32."""
        return self.to(np.float32)

    def cpu(self):
        """Return self: pynn runs on the CPU only (for code written for PyTorch)."""
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
