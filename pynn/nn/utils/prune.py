"""Pruning: zero a module's weights through a mask, as ``torch.nn.utils.prune``.

Pruning ``module.<name>`` moves the Parameter to ``<name>_orig``, adds the buffer
``<name>_mask`` (1 keeps an entry, 0 prunes it) and a forward pre-hook that sets
``module.<name> = <name>_mask * <name>_orig`` before every forward, so the pruned entries get
no gradient and stay zero while ``<name>_orig`` trains. Pruning the same tensor again
combines the masks (the new method acts on the entries still unpruned); :func:`remove`
makes the pruning permanent. The state dict keys are PyTorch's::

    prune.l1_unstructured(model.fc1, "weight", amount=0.3)
    prune.ln_structured(model.conv1, "weight", amount=2, n=2, dim=0)
    prune.global_unstructured([(model.fc1, "weight"), (model.fc2, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.2)
    prune.remove(model.fc1, "weight")
"""

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ...autograd import no_grad
from ...random import get_generator
from ...tensor import Tensor, _wrap

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


def _array(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _pruning_hooks(module):
    """``(key, method)`` of the module's pruning pre-hooks (pynn stores ``(hook, with_kwargs)``)."""
    return [(k, entry[0]) for k, entry in module._forward_pre_hooks.items()
            if isinstance(entry[0], BasePruningMethod)]


class BasePruningMethod(ABC):
    """Base class of the pruning methods.

    Subclasses define :meth:`compute_mask` and ``PRUNING_TYPE`` ("unstructured",
    "structured" or "global").
    """

    _tensor_name = None
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new mask, given the tensor (or its importance scores) and the current mask.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``
            Same shape as ``t``; entries already pruned are 0.

        Returns
        -------
        Tensor
            Same shape as ``t``.
        """

    def apply_mask(self, module):
        """``<name>_mask * <name>_orig``, differentiable with respect to ``<name>_orig``.

        Parameters
        ----------
        module : Module

        Returns
        -------
        Tensor
        """
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new instance ``cls(*args, **kwargs)``.

        Parameters
        ----------
        module : Module
        name : str
        *args : object
            The method's positional arguments (``amount``, ...).
        **kwargs : object
            Its keyword arguments.
        importance_scores : Tensor of the pruned tensor's shape, optional
            Ranked instead of the tensor itself; same shape.

        Returns
        -------
        BasePruningMethod
            The method (a :class:`PruningContainer` when the tensor was already pruned).
        """
        old, found = None, []
        for key, hook in _pruning_hooks(module):
            if hook._tensor_name == name:
                old = hook
                found.append(key)
        if len(found) > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor "
                                 f"{name} of module {module}. Use a PruningContainer.")
        removed = {key: module._forward_pre_hooks.pop(key) for key in found}
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            if isinstance(old, PruningContainer):
                old.add_pruning_method(method)
                method = old
            else:
                container = PruningContainer(old)
                container.add_pruning_method(method)
                method = container
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise ValueError(f"importance_scores should have the same shape as parameter "
                                 f"{name} of {module}")
        else:
            importance_scores = orig
        started = not isinstance(method, PruningContainer)
        saved = (module._parameters.copy(), module._buffers.copy())
        if started:
            if name not in module._parameters:
                raise ValueError(f"prune: {type(module).__name__} has no parameter '{name}'")
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _wrap(np.ones_like(orig._data), None)
        else:
            default_mask = _wrap(getattr(module, name + "_mask")._data.copy(), None)
        try:
            with no_grad():
                mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            # the module as it was, its entries' order included
            for registry, before in zip((module._parameters, module._buffers), saved):
                registry.clear()
                registry.update(before)
            if started:
                module.__dict__.pop(name, None)
            if old is not None:
                module._forward_pre_hooks.update(removed)
                if isinstance(old, PruningContainer) and old is method:
                    old._pruning_methods = old._pruning_methods[:-1]
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """The pruned version of ``t``: ``t * compute_mask(...)``.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``, optional
            All ones when not given.
        importance_scores : Tensor of the pruned tensor's shape, optional

        Returns
        -------
        Tensor
        """
        scores = t if importance_scores is None else importance_scores
        if default_mask is None:
            default_mask = _wrap(np.ones_like(_array(t)), None)
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent.

        ``<name>`` is a Parameter holding the masked value again; ``<name>_orig`` and
        ``<name>_mask`` go.

        Parameters
        ----------
        module : Module
        """
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 f"removed")
        with no_grad():
            weight = self.apply_mask(module)
        module.__dict__.pop(self._tensor_name, None)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig._data = weight._data.copy()
        orig._version += 1
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        module.register_parameter(self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The sequence of pruning methods applied to one tensor (built by repeated pruning).

    Parameters
    ----------
    *args : BasePruningMethod
        The methods, in the order they were applied.
    """

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], Iterable):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        elif len(args) == 1:
            for method in args[0]:
                self.add_pruning_method(method)
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        """Append ``method`` (which must prune the same tensor).

        Parameters
        ----------
        method : BasePruningMethod
        """
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask, computed on the entries (or channels) still unpruned.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        method = self._pruning_methods[-1]
        arr = _array(t)
        mask = _array(default_mask).astype(arr.dtype, copy=True)
        if method.PRUNING_TYPE == "unstructured":
            slc = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to "
                                     "have the attribute `dim` defined.")
            dim = method.dim if method.dim >= 0 else arr.ndim + method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor of dimension "
                                 f"{arr.ndim}")
            others = tuple(d for d in range(arr.ndim) if d != dim)
            keep = mask.sum(axis=others) != 0
            slc = tuple(keep if d == dim else slice(None) for d in range(arr.ndim))
        elif method.PRUNING_TYPE == "global":
            slc = (slice(None),) * arr.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        partial = method.compute_mask(_wrap(arr[slc], None),
                                      default_mask=_wrap(mask[slc], None))
        mask[slc] = _array(partial)
        return _wrap(mask, None)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (a way to add the mask machinery)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        """The current mask, unchanged.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        return default_mask

    @classmethod
    def apply(cls, module, name):
        """Add the mask machinery to ``module.<name>`` without pruning.

        Parameters
        ----------
        module : Module
        name : str

        Returns
        -------
        Identity
        """
        return super().apply(module, name)


def _validate_amount_init(amount):
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0
                                                          or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         f"non-negative integer")


def _n_to_prune(amount, size):
    """How many of ``size`` entries ``amount`` asks for (a count, or a fraction rounded as
    Python's ``round``, as PyTorch)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _zero_smallest(scores, mask, k):
    """``mask`` with the entries of the ``k`` smallest ``scores`` set to 0 (ties: lowest
    index first)."""
    mask = mask.copy()
    if k:
        order = np.argsort(scores.reshape(-1), kind="stable")[:k]
        mask.reshape(-1)[order] = 0
    return mask


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` entries chosen at random.

    Parameters
    ----------
    amount : int or float
        A count, or a fraction in ``[0, 1]`` of the entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        """Zero ``amount`` random entries of the mask.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        arr = _array(t)
        k = _n_to_prune(self.amount, arr.size)
        scores = get_generator().random(arr.shape)
        return _wrap(_zero_smallest(scores, _array(default_mask), k), None)

    @classmethod
    def apply(cls, module, name, amount):
        """Prune ``module.<name>`` at random.

        Parameters
        ----------
        module : Module
        name : str
        amount : int or float

        Returns
        -------
        RandomUnstructured
        """
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` entries of smallest absolute value.

    Parameters
    ----------
    amount : int or float
        A count, or a fraction in ``[0, 1]`` of the entries.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        """Zero the mask at the ``amount`` smallest ``|t|``.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        arr = _array(t)
        k = _n_to_prune(self.amount, arr.size)
        return _wrap(_zero_smallest(np.abs(arr), _array(default_mask), k), None)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        """Prune ``module.<name>`` by magnitude.

        Parameters
        ----------
        module : Module
        name : str
        amount : int or float
        importance_scores : Tensor of the pruned tensor's shape, optional

        Returns
        -------
        L1Unstructured
        """
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _check_structured(arr, dim):
    if arr.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional "
                         f"tensors. Found tensor of shape {tuple(arr.shape)} with {arr.ndim} "
                         f"dims")
    if dim >= arr.ndim or dim < -arr.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(arr.shape)}")


def _channel_mask(shape, dim, keep):
    """Ones on the channels ``keep`` (indices or booleans) along ``dim``, zeros elsewhere."""
    mask = np.zeros(shape)
    slc = [slice(None)] * len(shape)
    slc[dim] = keep
    mask[tuple(slc)] = 1
    return mask


def _norm(arr, n, axes):
    if n in ("fro", 2):
        return np.sqrt((arr * arr).sum(axis=axes))
    if n == math.inf:
        return np.abs(arr).max(axis=axes)
    if n == -math.inf:
        return np.abs(arr).min(axis=axes)
    if n == 0:
        return (arr != 0).sum(axis=axes).astype(arr.dtype)
    if isinstance(n, str):
        raise NotImplementedError(f"ln_structured: norm {n!r} is not supported (a number, "
                                  f"inf or 'fro')")
    return (np.abs(arr) ** n).sum(axis=axes) ** (1.0 / n)


class LnStructured(BasePruningMethod):
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm.

    Parameters
    ----------
    amount : int or float
        A count, or a fraction in ``[0, 1]`` of the channels.
    n : int, float, inf, -inf or "fro"
        The norm's order.
    dim : int
        The dimension of the channels (0: output units of Linear and Conv layers).
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        """Zero the mask on the channels of smallest norm.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        arr = _array(t)
        _check_structured(arr, self.dim)
        dim = self.dim % arr.ndim
        size = arr.shape[dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        norms = _norm(arr, self.n, tuple(d for d in range(arr.ndim) if d != dim))
        # the size - k largest norms are kept (ties: lowest index first)
        keep = np.argsort(-norms, kind="stable")[:size - k]
        mask = _channel_mask(arr.shape, dim, keep) * _array(default_mask)
        return _wrap(mask.astype(_array(default_mask).dtype), None)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        """Prune channels of ``module.<name>`` by their norm.

        Parameters
        ----------
        module : Module
        name : str
        amount : int or float
        n : int, float, inf, -inf or "fro"
        dim : int
        importance_scores : Tensor of the pruned tensor's shape, optional

        Returns
        -------
        LnStructured
        """
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prune ``amount`` channels along ``dim`` chosen at random.

    Parameters
    ----------
    amount : int or float
    dim : int
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        """Zero the mask on ``amount`` random channels.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        arr = _array(t)
        _check_structured(arr, self.dim)
        dim = self.dim % arr.ndim
        size = arr.shape[dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        keep = np.argsort(get_generator().random(size), kind="stable")[k:]
        mask = _channel_mask(arr.shape, dim, keep) * _array(default_mask)
        return _wrap(mask.astype(_array(default_mask).dtype), None)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        """Prune random channels of ``module.<name>``.

        Parameters
        ----------
        module : Module
        name : str
        amount : int or float
        dim : int

        Returns
        -------
        RandomStructured
        """
        return super().apply(module, name, amount=amount, dim=dim)


class CustomFromMask(BasePruningMethod):
    """Prune with a given mask.

    Parameters
    ----------
    mask : Tensor of the pruned tensor's shape
        1 keeps, 0 prunes; shaped like the tensor.
    """

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        """``default_mask * mask``.

        Parameters
        ----------
        t : Tensor of any shape
        default_mask : Tensor shaped like ``t``

        Returns
        -------
        Tensor
        """
        dm = _array(default_mask)
        if tuple(dm.shape) != tuple(_array(self.mask).shape):
            raise ValueError(f"custom_from_mask: mask of shape {tuple(_array(self.mask).shape)}"
                             f" for a tensor of shape {tuple(dm.shape)}")
        return _wrap(dm * _array(self.mask).astype(dm.dtype), None)

    @classmethod
    def apply(cls, module, name, mask):
        """Prune ``module.<name>`` with ``mask``.

        Parameters
        ----------
        module : Module
        name : str
        mask : Tensor of the pruned tensor's shape

        Returns
        -------
        CustomFromMask
        """
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Add the pruning machinery to ``module.<name>`` with an all-ones mask.

    Parameters
    ----------
    module : Module
    name : str

    Returns
    -------
    Module
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>``.

    Parameters
    ----------
    module : Module
    name : str
    amount : int or float
        A count, or a fraction in ``[0, 1]``.

    Returns
    -------
    Module
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` of smallest absolute value.

    Parameters
    ----------
    module : Module
    name : str
    amount : int or float
        A count, or a fraction in ``[0, 1]``.
    importance_scores : Tensor of the pruned tensor's shape, optional
        Ranked instead of the tensor.

    Returns
    -------
    Module
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels along ``dim`` of ``module.<name>``.

    Parameters
    ----------
    module : Module
    name : str
    amount : int or float
    dim : int

    Returns
    -------
    Module
    """
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of ``module.<name>`` of smallest ``n``-norm.

    Parameters
    ----------
    module : Module
    name : str
    amount : int or float
    n : int, float, inf, -inf or "fro"
    dim : int
    importance_scores : Tensor of the pruned tensor's shape, optional

    Returns
    -------
    Module
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune several tensors together: ``pruning_method`` ranks all their entries at once.

    Parameters
    ----------
    parameters : iterable of (Module, str)
    pruning_method : type
        An unstructured :class:`BasePruningMethod` subclass (:class:`L1Unstructured`,
        :class:`RandomUnstructured`).
    importance_scores : dict, optional
        ``{(module, name): Tensor}`` used instead of those tensors.
    **kwargs : object
        The method's arguments (``amount``: a count, or a fraction of all the entries).
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = np.concatenate([
        _array(importance_scores.get((m, n), getattr(m, n))).reshape(-1)
        for m, n in parameters])
    default = np.concatenate([
        _array(getattr(m, n + "_mask")).reshape(-1).astype(scores.dtype)
        if hasattr(m, n + "_mask") else np.ones(getattr(m, n).numel(), scores.dtype)
        for m, n in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the '
                        f'`pruning_method`. Found method {pruning_method} of type '
                        f'{method.PRUNING_TYPE}')
    container.add_pruning_method(method)
    final = _array(container.compute_mask(_wrap(scores, None), _wrap(default, None)))
    pointer = 0
    for m, n in parameters:
        param = getattr(m, n)
        size = param.numel()
        mask = final[pointer:pointer + size].reshape(tuple(param.shape))
        custom_from_mask(m, n, mask=_wrap(mask, None))
        pointer += size


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` with a given ``mask``.

    Parameters
    ----------
    module : Module
    name : str
    mask : Tensor of the pruned tensor's shape

    Returns
    -------
    Module
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent.

    ``<name>`` becomes a Parameter holding the masked values; ``<name>_orig``, ``<name>_mask``
    and the hook go.

    Parameters
    ----------
    module : Module
    name : str

    Returns
    -------
    Module
    """
    for key, hook in _pruning_hooks(module):
        if hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            module._update_hooked()
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     f"can be removed")


def is_pruned(module):
    """Whether ``module`` or any of its submodules is pruned.

    Parameters
    ----------
    module : Module

    Returns
    -------
    bool
    """
    return any(_pruning_hooks(m) for _, m in module.named_modules())

