"""The :class:`Optimizer` base class: parameter groups, lazily created per-parameter state,
``zero_grad``, and a ``state_dict`` laid out as PyTorch lays it out.

A *parameter* is a :class:`pynn.Tensor` (usually a :class:`pynn.nn.Parameter`) whose
storage ``._data`` is a C-contiguous float32/float64 ndarray, which the optimiser updates in
place and never rebinds; its ``.grad`` is a Tensor of the same shape (the optimiser reads
``.grad._data``), or ``None`` to skip the parameter on this step.

Per-parameter state is kept by parameter *identity*, so parameters need not be hashable (a
tensor type whose ``==`` is elementwise usually is not); :attr:`Optimizer.state` is a mapping
view keyed by the parameter objects themselves, as in PyTorch.
"""

import functools
from collections.abc import MutableMapping
from itertools import chain

import numpy as np

from ..autograd import enable_grad
from ..backend import _runtime
from ..nn.module import RemovableHandle
from ..tensor import Tensor

__all__ = ["Optimizer", "register_optimizer_step_post_hook", "register_optimizer_step_pre_hook",
           "required"]

# Hooks of every optimiser's step, run before those of the optimiser itself.
_global_step_pre_hooks = {}
_global_step_post_hooks = {}


def _add_hook(registry, hook):
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    return handle


def register_optimizer_step_pre_hook(hook):
    """Register a hook run before every optimiser's ``step()``, as
    :meth:`Optimizer.register_step_pre_hook` registers one for one optimiser.

    Parameters
    ----------
    hook : callable
        ``hook(optimizer, args, kwargs)``, returning None or ``(new_args, new_kwargs)``.

    Returns
    -------
    RemovableHandle
        ``remove()`` unregisters the hook.
    """
    return _add_hook(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """Register a hook run after every optimiser's ``step()`` (after the optimiser's own).

    Parameters
    ----------
    hook : callable
        ``hook(optimizer, args, kwargs)``; what it returns is ignored.

    Returns
    -------
    RemovableHandle
        ``remove()`` unregisters the hook.
    """
    return _add_hook(_global_step_post_hooks, hook)


def _with_step_hooks(step):
    """``step`` running the step hooks around it, then telling the thread-count trials that a
    training step ended (pynn.backend's get_num_threads). A step that calls its base class's
    step (``super().step()``) runs them once (PyTorch's run twice there once an instance of the
    base class exists: a hook counting steps would count two)."""

    @functools.wraps(step)
    def hooked_step(*args, **kwargs):
        self = args[0]  # the hooks see it among the arguments, as PyTorch's do
        if self.__dict__.get("_in_step"):
            return step(*args, **kwargs)
        for hook in chain(tuple(_global_step_pre_hooks.values()),
                          tuple(self.__dict__.get("_step_pre_hooks", {}).values())):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for hook in chain(tuple(self.__dict__.get("_step_post_hooks", {}).values()),
                          tuple(_global_step_post_hooks.values())):
            hook(self, args, kwargs)
        _runtime.mark_training_step(self)
        return out

    hooked_step._with_step_hooks = True
    return hooked_step


class _Required:
    """Marker for a hyper-parameter without a default: every group must give it."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class _StateView(MutableMapping):
    """``optimizer.state``: per-parameter state dicts keyed by the parameter objects.

    Like PyTorch's ``defaultdict(dict)``, looking up a parameter without state inserts an
    empty dict (the optimiser fills it on its next step).
    """

    __slots__ = ("_opt",)

    def __init__(self, optimizer):
        self._opt = optimizer

    def __getitem__(self, param):
        states = self._opt._states
        key = id(param)
        st = states.get(key)
        if st is None:
            if key not in self._opt._params_by_id:
                raise KeyError("parameter is not optimised by this optimizer")
            st = states[key] = {}
        return st

    def __setitem__(self, param, value):
        if id(param) not in self._opt._params_by_id:
            raise KeyError("parameter is not optimised by this optimizer")
        if not isinstance(value, dict):
            raise TypeError(f"parameter state must be a dict, got {type(value).__name__}")
        self._opt._states[id(param)] = value

    def __delitem__(self, param):
        del self._opt._states[id(param)]

    def __iter__(self):
        by_id = self._opt._params_by_id
        return (by_id[key] for key in list(self._opt._states))

    def __len__(self):
        return len(self._opt._states)

    def __contains__(self, param):
        return id(param) in self._opt._states

    def __repr__(self):
        return f"<optimizer state for {len(self)} parameters>"


class Optimizer:
    """Base class of the optimisers.

    Subclasses implement :meth:`step` and may override ``_check_hyperparameters(group)``, which
    validates the defaults and every group (raising ValueError).

    Parameters
    ----------
    params : iterable of Parameter, of (name, Parameter) pairs, or of dicts
        Either the parameters to optimise (``model.parameters()``, or
        ``model.named_parameters()``: the names are kept in the groups' ``"param_names"``), or
        *parameter groups*: dicts with a ``"params"`` entry and any hyper-parameters that
        override ``defaults`` for that group.
    defaults : dict
        Hyper-parameters of groups that do not set them.
    """

    # Whether per-parameter state arrays have their parameter's shape (checked on loading).
    _state_shaped_like_param = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if callable(step) and not getattr(step, "_with_step_hooks", False):
            cls.step = _with_step_hooks(step)

    def __getstate__(self):
        # As PyTorch's: a copy or a pickle leaves the hooks behind (they may be closures over
        # anything), and is never in the middle of a step.
        state = dict(self.__dict__)
        state.pop("_in_step", None)
        state["_step_pre_hooks"], state["_step_post_hooks"] = {}, {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", {})
        self.__dict__.setdefault("_step_post_hooks", {})

    def __init__(self, params, defaults):
        self._step_pre_hooks = {}
        self._step_post_hooks = {}
        self.defaults = dict(defaults)
        self._check_hyperparameters(self.defaults)
        self.param_groups = []
        self._states = {}  # id(param) -> state dict
        self._params_by_id = {}  # id(param) -> param, for every param of every group
        self.state = _StateView(self)

        if isinstance(params, (Tensor, np.ndarray)):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of parameters "
                f"or dicts, but got {type(params).__name__}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of parameters in sets changes between runs; use a list instead"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- hyper-parameters -------------------------------------------------------------------

    def _check_hyperparameters(self, group):
        """Raise ``ValueError`` for an invalid hyper-parameter in ``group`` (a dict)."""
        lr = group.get("lr")
        if lr is not None and lr is not required and not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")

    # -- parameter groups -------------------------------------------------------------------

    def add_param_group(self, param_group):
        """Add a group of parameters, e.g. to unfreeze layers during fine-tuning.

        Parameters
        ----------
        param_group : dict
            ``"params"`` (a parameter, an iterable of them, or of ``(name, parameter)`` pairs as
            ``named_parameters()`` gives) and optional hyper-parameters that override the
            defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("param_group must have a 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of parameters in sets changes between runs; use a list instead"
            )
        else:
            params = list(params)
        # Named parameters (model.named_parameters()): the names go into "param_names".
        named = bool(params) and all(isinstance(p, tuple) and len(p) == 2
                                     and isinstance(p[0], str) for p in params)
        if named:
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        if self.param_groups and named != ("param_names" in self.param_groups[0]):
            which = "with" if named else "without"
            raise ValueError(f"all optimizer param groups should be with/without names. "
                             f"cannot add param group {which} names to the optimizer")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize parameters (Tensors), but one of the params "
                    f"is {type(p).__name__}"
                )
            if p._data.dtype not in (np.float32, np.float64):
                raise TypeError(
                    "optimizer can only optimize float32/float64 ndarray data, got "
                    f"{p._data.dtype}"
                )
        group["params"] = params

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        self._check_hyperparameters(group)

        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if not self._params_by_id.keys().isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self._params_by_id.update(zip(ids, params))
        self.param_groups.append(group)

    # -- gradients and steps ----------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to ``None`` (the default), or to zeros in place.

        ``None`` also makes the next :meth:`step` skip parameters that receive no gradient.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                elif grad._data.flags.writeable:
                    grad._data.fill(0)
                else:
                    grad._data = np.zeros_like(grad._data)  # same Tensor, as zero_() keeps it

    @staticmethod
    def _closure_loss(closure):
        """``closure()`` with gradient recording on (it usually calls ``backward``), or None
        without a closure."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def step(self, closure=None):
        """Update every parameter that has a gradient.

        ``closure``, when given, re-evaluates the model and returns the loss; it is called first
        and its value returned.
        """
        raise NotImplementedError

    def register_step_pre_hook(self, hook):
        """Register a hook run before each :meth:`step` of this optimiser.

        It runs after those of ``pynn.optim.optimizer.register_optimizer_step_pre_hook``.

        Parameters
        ----------
        hook : callable
            ``hook(optimizer, args, kwargs)``, where ``args`` starts with the optimiser,
            returning None or ``(new_args, new_kwargs)`` to call ``step`` with instead.

        Returns
        -------
        RemovableHandle
            ``remove()`` unregisters the hook.
        """
        return _add_hook(self.__dict__.setdefault("_step_pre_hooks", {}), hook)

    def register_step_post_hook(self, hook):
        """Register a hook run after each :meth:`step` of this optimiser.

        It runs before those of ``pynn.optim.optimizer.register_optimizer_step_post_hook``.

        Parameters
        ----------
        hook : callable
            ``hook(optimizer, args, kwargs)``; what it returns is ignored.

        Returns
        -------
        RemovableHandle
            ``remove()`` unregisters the hook.
        """
        return _add_hook(self.__dict__.setdefault("_step_post_hooks", {}), hook)

    # -- saving and loading -----------------------------------------------------------------

    def state_dict(self):
        """The optimiser's state as PyTorch lays it out::

            {"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}

        Parameters are numbered 0, 1, ... in group order; ``state`` holds only parameters
        that have state. The arrays are the live state (not copies), as in PyTorch.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            start = len(index_of)
            for i, p in enumerate(group["params"], start):
                index_of[id(p)] = i
            packed["params"] = list(range(start, len(index_of)))
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self._states.get(id(p))
                if st:
                    state[index_of[id(p)]] = st
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a :meth:`state_dict`.

        The group count and sizes must match; arrays are copied and cast to their parameter's
        dtype; ``step`` counters become Python ints.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in self.param_groups)))

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = dict(group)
            new_group.update((k, v) for k, v in saved.items() if k != "params")
            new_group["params"] = group["params"]
            self._check_hyperparameters(new_group)
            new_groups.append(new_group)

        new_states = {}
        for key, saved_state in state_dict["state"].items():
            if key not in param_of:
                raise ValueError(
                    f"loaded state dict has state for parameter {key!r}, which is in none of "
                    "its parameter groups"
                )
            p = param_of[key]
            new_states[id(p)] = cast = {}
            for name, value in saved_state.items():
                try:
                    cast[name] = _cast_state(name, value, p, self._state_shaped_like_param)
                except (TypeError, ValueError) as exc:  # name the entry; nothing is loaded yet
                    raise ValueError(f"loaded state dict: state {name!r} of parameter {key!r} "
                                     f"cannot be loaded: {exc}") from None

        self.param_groups[:] = new_groups
        self._states.clear()
        self._states.update(new_states)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _cast_state(name, value, param, check_shape=True):
    """One loaded state entry for ``param``: the step as an int, one-element scalars (a
    tensor in PyTorch's state) as Python floats, arrays copied as C-contiguous arrays of the
    parameter's dtype (and shape, with ``check_shape``), lists element by element, anything
    else unchanged."""
    if name == "step":
        return int(np.asarray(value).item()) if not isinstance(value, int) else value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_cast_state(name, v, param, check_shape=False) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufc":  # strings of digits would cast without an error
            raise ValueError(f"its dtype {arr.dtype} is not numeric")
        if arr.ndim == 0 and param._data.ndim != 0:
            return float(arr) if arr.dtype.kind == "f" else arr.item()
        arr = np.array(arr, dtype=param._data.dtype, order="C", copy=True)
        if check_shape and arr.shape != param._data.shape:
            raise ValueError(
                f"loaded state {name!r} has shape {arr.shape}, but its parameter has shape "
                f"{param._data.shape}"
            )
        return arr
    return value
