"""Containers: ``Sequential`` (a chain of modules), ``ModuleList``, ``ModuleDict``,
``ParameterList`` and ``ParameterDict``."""

import functools
import operator
from collections import OrderedDict

from .activation import ReLU
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .parameter import Parameter
from .pooling import MaxPool2d

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]


def _index(idx, n, cls):
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {cls} of length {n}")
    return idx % n


# Layers with a ``_forward_relu`` that fuses a following ReLU into their kernel.
_FUSES_RELU = (Linear, Conv2d)


def _plain_max_pool(mods, j):
    """Whether ``mods[j]`` is a MaxPool2d that only returns the pooled values, rounding the
    output size down (the fused kernel's geometry)."""
    m = mods[j] if j < len(mods) else None
    return type(m) is MaxPool2d and not m.return_indices and not m.ceil_mode


def _relu_then_pool(mods, j):
    """Whether ``mods[j]`` is a ReLU that can run after the max-pool ``mods[j + 1]``."""
    return type(mods[j]) is ReLU and _plain_max_pool(mods, j + 1)


def _conv_pool(mods, i):
    """For a Conv2d ``mods[i]`` followed by a max-pool with a ReLU before or after it, or by
    a max-pool alone: ``(modules covered, ReLU or not, the pool)``; else None."""
    relu_first = i + 1 < len(mods) and type(mods[i + 1]) is ReLU
    j = i + 1 + relu_first
    if not _plain_max_pool(mods, j):
        return None
    if not relu_first and j + 1 < len(mods) and type(mods[j + 1]) is ReLU:
        return 3, True, mods[j]
    return j + 1 - i, relu_first, mods[j]


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Supports ``len``, iteration, indexing (a slice gives a Sequential keeping the names),
    ``append``, ``insert``, ``extend`` and ``del``.

    Three rewrites give the same result with less work. A :class:`Conv2d` followed by a
    :class:`MaxPool2d`, with or without a :class:`ReLU` before or after the pool, runs as one
    kernel call that pools each chunk of the convolution's output while it is in cache (the
    full-size output and its gradient are never stored). Otherwise a :class:`Linear` or
    :class:`Conv2d` immediately followed by a :class:`ReLU` runs as one fused kernel call
    (one pass over the output less), and a :class:`ReLU` followed by a :class:`MaxPool2d`
    runs after the pooling instead (the maximum commutes with ReLU, which then touches a
    quarter of the data for a 2x2 pool, forward and backward); the latter wins when both
    apply. A model with its own ``forward`` written with the functional ops
    (``F.max_pool2d(F.relu(self.conv(x)), 2)``) runs the same kernels: a wide convolution's
    output and the ReLU of a temporary are computed when read, so that the ReLU and the pool
    join the convolution's kernel, and the backward walk fuses the chain's backwards
    (:mod:`pynn.autograd`). Through module calls (``self.pool(self.relu(...))``) an argument
    cannot be proved a temporary, so those ops run one by one in the forward; ``Sequential``,
    which knows what follows each module, keeps its rewrites.

    Parameters
    ----------
    *args : Module, or one OrderedDict of str -> Module
        The modules, named ``"0"``, ``"1"``, ..., or by the dictionary's keys.

    Shape
    -----
    - Input: what the first module takes.
    - Output: what the last module returns.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        keys = list(self._modules)
        return self._modules[keys[_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx, module):
        keys = list(self._modules)
        setattr(self, keys[_index(idx, len(keys), "Sequential")], module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        targets = keys[idx] if isinstance(idx, slice) else \
            [keys[_index(idx, len(keys), "Sequential")]]
        for key in targets:
            del self._modules[key]
        # renumber, as PyTorch does, so that append keeps working
        items = list(self._modules.items())
        self._modules.clear()
        for i, (key, m) in enumerate(items):
            self._modules[str(i) if key.isdigit() else key] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (the modules are renumbered)."""
        if not isinstance(module, Module):
            raise TypeError(f"module should be of type Module, got {type(module).__name__}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self

    def extend(self, sequential):
        """Append every module of ``sequential`` (any iterable of modules); returns self."""
        for m in sequential:
            self.append(m)
        return self

    # (modules, hook generation, steps): the rewrites above decided once per arrangement of
    # modules, not on every call; rebuilt when a module is added, replaced or removed, or any
    # module's hooks change (a fused pair would skip a hook of its second module).
    _plan = None
    _not_saved = ("_plan",)  # pynn.save of a whole model keeps data, not the fused steps

    def forward(self, input):
        mods = tuple(self._modules.values())
        plan = self._plan
        if plan is None or plan[0] != mods or plan[1] != Module._hooks_version:
            plan = (mods, Module._hooks_version, _fused_steps(mods))
            self.__dict__["_plan"] = plan
        for step in plan[2]:
            input = step(input)
        return input


def _fused_steps(mods):
    """The callables that :meth:`Sequential.forward` applies in turn to run ``mods``."""
    if any(m._hooked for m in mods):
        return mods
    steps = []
    i, n = 0, len(mods)
    while i < n:
        m = mods[i]
        fused = _conv_pool(mods, i) if type(m) is Conv2d else None
        if fused is not None:
            covered, relu, pool = fused
            steps.append(functools.partial(m._forward_pooled, relu=relu, pool=pool))
            i += covered
        elif _relu_then_pool(mods, i):
            steps.append(mods[i + 1])
            steps.append(m)
            i += 2
        elif (i + 1 < n and type(mods[i + 1]) is ReLU and type(m) in _FUSES_RELU
              and not _relu_then_pool(mods, i + 1)):
            steps.append(m._forward_relu)
            i += 2
        else:
            steps.append(m)
            i += 1
    return tuple(steps)


class ModuleList(Module):
    """A list of modules, registered as children ``"0"``, ``"1"``, ... (no ``forward``).

    Supports ``len``, iteration, indexing (a slice gives a ModuleList), assignment,
    ``append``, ``extend``, ``insert``, ``+=`` and ``del``.

    Parameters
    ----------
    modules : iterable of Module, optional
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx]
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (the modules are renumbered)."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """An ordered dict of modules, registered as children under their keys (no ``forward``).

    Supports ``[key]``, assignment, ``del``, ``in``, ``len``, iteration over the keys,
    ``keys``, ``values``, ``items``, ``update``, ``pop`` and ``clear``.

    Parameters
    ----------
    modules : mapping or iterable of (str, Module) pairs, optional
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """``(key, module)`` pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules):
        """Add (or replace) the entries of a mapping or of an iterable of pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key):
        """Remove the entry ``key`` and return its module."""
        return self._modules.pop(key)

    def clear(self):
        """Remove every entry."""
        self._modules.clear()


def _as_parameter(value):
    if isinstance(value, Parameter) or value is None:
        return value
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return Parameter(value._data, requires_grad=value.requires_grad)
    return value


def _parameters_repr(params, legacy_type=False):
    # PyTorch names the dtype in a ParameterList and the legacy type in a ParameterDict
    return "\n".join(f"  ({k}): Parameter containing: [{p.type() if legacy_type else p.dtype} "
                     f"of size {'x'.join(str(n) for n in p.shape)}]" for k, p in params.items())


class ParameterList(Module):
    """A list of Parameters, registered as submodule-style attributes of the module.

    The Parameters are registered under ``"0"``, ``"1"``, ... (so that ``parameters()`` and
    ``state_dict()`` see them).

    Supports indexing, assignment, ``len``, iteration, ``append`` and ``extend``; a Tensor
    added is wrapped in a Parameter.

    Parameters
    ----------
    values : iterable of Parameter or Tensor, optional
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, param):
        self.register_parameter(str(_index(idx, len(self), "ParameterList")),
                                _as_parameter(param))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        """Add ``value`` at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values):
        """Append every value of the iterable; returns self."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return _parameters_repr(self._parameters)


class ParameterDict(Module):
    """An ordered dict of Parameters, registered under their keys.

    Supports ``[key]``, assignment, ``del``, ``in``, ``len``, iteration over the keys,
    ``keys``, ``values``, ``items``, ``update``, ``pop`` and ``get``.

    Parameters
    ----------
    parameters : mapping or iterable of (str, Parameter) pairs, optional
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key):
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        """The keys, in insertion order."""
        return self._parameters.keys()

    def values(self):
        """The Parameters, in insertion order."""
        return self._parameters.values()

    def items(self):
        """``(key, Parameter)`` pairs, in insertion order."""
        return self._parameters.items()

    def get(self, key, default=None):
        """The Parameter under ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def update(self, parameters):
        """Add (or replace) the entries of a mapping or of an iterable of pairs."""
        pairs = parameters.items() if hasattr(parameters, "items") else parameters
        for key, value in pairs:
            self[key] = value

    def pop(self, key):
        """Remove the entry ``key`` and return its Parameter."""
        return self._parameters.pop(key)

    def extra_repr(self):
        return _parameters_repr(self._parameters, legacy_type=True)
