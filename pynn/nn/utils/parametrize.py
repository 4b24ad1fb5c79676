"""Parametrizations: a module's tensor computed from others on every access.

``pynn.nn.utils.parametrize``, as ``torch.nn.utils.parametrize``::

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

    parametrize.register_parametrization(layer, "weight", Symmetric())
    layer.weight                            # Symmetric()(layer.parametrizations.weight.original)

Registering one swaps the module's class for a generated subclass (``Parametrized<Name>``)
whose property of that name evaluates the chain of parametrizations on the stored
``original`` (several ``original0``, ``original1``, ... when ``right_inverse`` returns a
tuple). The state dict keys are PyTorch's (``parametrizations.weight.original``,
``parametrizations.weight.0.<buffer>``), so state dicts load across the two libraries.
"""

import contextlib

from ...autograd import no_grad
from ...tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "type_before_parametrizations",
]

_cache_depth = 0
_cache = {}


@contextlib.contextmanager
def cached():
    """Context manager: inside it each parametrized tensor is computed once, on first access.

    Useful when a parametrized weight is read several times in one forward (a recurrent
    layer over a sequence); the cache is emptied on leaving the outermost ``cached()``.
    """
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


def _set_data(target, value):
    """Make ``target`` (a Parameter or buffer) hold ``value``'s array, as ``Tensor.set_``."""
    data = value._data if isinstance(value, Tensor) else value
    with no_grad():
        target._data = data.astype(target._data.dtype, copy=True)
        target._version += 1


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in order, and the tensor(s) they start from.

    Built by :func:`register_parametrization`; ``original`` (or ``original0``,
    ``original1``, ...) holds the unconstrained value(s).

    Parameters
    ----------
    modules : sequence of Module
        The parametrizations, applied first to last.
    original : Parameter or Tensor
        The tensor being parametrized (its Parameter object is kept as ``original``).
    unsafe : bool
        Skip the consistency checks of the parametrization's outputs.
    """

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        first = modules[0]
        new = original
        if hasattr(first, "right_inverse"):
            with no_grad():
                try:
                    new = first.right_inverse(original)
                except NotImplementedError:
                    pass  # as PyTorch: the original is then stored as it is
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new is not original:
                changed = tuple(new.shape) != tuple(original.shape) or new.dtype != original.dtype
                if changed and not unsafe:
                    raise ValueError(
                        "When `right_inverse` outputs one tensor, it may not change the "
                        f"dtype or shape.\noriginal.dtype: {original.dtype}\n"
                        f"right_inverse(original).dtype: {new.dtype}\noriginal.shape: "
                        f"{tuple(original.shape)}\nright_inverse(original).shape: "
                        f"{tuple(new.shape)}")
                _set_data(original, new)
            self._store("original", original)
        else:
            for i, t in enumerate(new):
                if not isinstance(t, Tensor):
                    raise TypeError(f"'right_inverse' must return a Tensor or a Sequence of "
                                    f"tensors (list, tuple...). Got element {i} of type "
                                    f"{type(t).__name__}")
                t = t.detach().clone()
                if isinstance(original, Parameter):
                    t = Parameter(t, requires_grad=original.requires_grad)
                self._store(f"original{i}", t)
        if not unsafe:
            self._check(original)

    def _store(self, name, tensor):
        if isinstance(tensor, Parameter):
            self.register_parameter(name, tensor)
        else:
            self.register_buffer(name, tensor)

    def _check(self, original):
        z = self()
        if not isinstance(z, Tensor):
            raise ValueError(f"A parametrization must return a tensor. Got "  # noqa: TRY004
                             f"{type(z).__name__}.")  # (PyTorch's exception type)
        if z.dtype != original.dtype or tuple(z.shape) != tuple(original.shape):
            raise ValueError(
                "Registering a parametrization may not change the shape or dtype of the "
                f"tensor, unless `unsafe` flag is enabled.\nunparametrized dtype: "
                f"{original.dtype}\nparametrized dtype: {z.dtype}\nunparametrized shape: "
                f"{tuple(original.shape)}\nparametrized shape: {tuple(z.shape)}")

    def originals(self):
        """The stored tensors, in the order the first parametrization takes them.

        Returns
        -------
        list of Tensor
        """
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def right_inverse(self, value):
        """Assign ``value`` to the parametrized tensor through the chain's ``right_inverse``.

        Each parametrization's ``right_inverse`` runs, last to first, and the result is
        stored in the original(s).

        Parameters
        ----------
        value : Tensor of the parametrized tensor's shape
        """
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                elif not self.unsafe:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       f"implement right_inverse.")
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got "
                                     f"{type(value).__name__}")
                _set_data(self.original, value)
            else:
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of "
                                     f"length {self.ntensors}. Got a sequence of length "
                                     f"{len(value)}.")
                for target, v in zip(self.originals(), value):
                    _set_data(target, v)

    def forward(self):
        """The parametrized tensor: the chain applied to the original(s).

        Returns
        -------
        Tensor
        """
        mods = list(self)
        x = mods[0](*self.originals())
        for m in mods[1:]:
            x = m(x)
        return x


def _parametrized_property(name):
    def getter(self):
        plist = self.parametrizations[name]
        if _cache_depth:
            key = (id(self), name)
            value = _cache.get(key)
            if value is None:
                value = _cache[key] = plist()
            return value
        return plist()

    def setter(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(getter, setter, doc=f"The parametrized tensor ``{name}``.")


def _parametrize_class(module):
    cls = type(module)
    # generated here, so no loading program could find it by name: pynn.save refuses it
    # with this reason, as PyTorch refuses to pickle a parametrized module
    refusal = ("a parametrized module is saved through its state_dict() (as in PyTorch): "
               "save model.state_dict(); to load, build and parametrize the model again, "
               "then call load_state_dict")
    new = type(f"Parametrized{cls.__name__}", (cls,),
               {"_orig_class": cls, "_not_serializable": refusal})
    module.__class__ = new


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has a parametrization (on ``tensor_name``, when given).

    Parameters
    ----------
    module : Module
    tensor_name : str, optional

    Returns
    -------
    bool
    """
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    if tensor_name is None:
        return len(plists) > 0
    return tensor_name in plists


def type_before_parametrizations(module):
    """The module's class before any parametrization was registered.

    Parameters
    ----------
    module : Module

    Returns
    -------
    type
    """
    return type(module)._orig_class if is_parametrized(module) else type(module)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` on a stored original.

    The first registration on a tensor moves it to
    ``module.parametrizations[tensor_name].original`` (the same Parameter object, so an
    optimiser built before still trains it); if the parametrization has a
    ``right_inverse``, the original is initialised with ``right_inverse(tensor)``. Later
    registrations on the same tensor are applied after the earlier ones. Assigning to
    ``module.<tensor_name>`` calls the chain's ``right_inverse``.

    Parameters
    ----------
    module : Module
    tensor_name : str
        A parameter or buffer of ``module``.
    parametrization : Module
        ``forward(X)`` (or ``forward(X0, X1, ...)`` when its ``right_inverse`` returns a
        tuple) gives the tensor.
    unsafe : bool
        Allow the parametrization to change the shape or dtype (not checked).

    Returns
    -------
    Module
        ``module``, parametrized.
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"parametrization must be an nn.Module, got "
                        f"{type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor) or x.dtype != y.dtype or \
                    tuple(x.shape) != tuple(y.shape):
                raise ValueError("Registering a parametrization may not change the shape "
                                 "or dtype of the tensor, unless the `unsafe` flag is "
                                 "enabled.")
        plist.append(parametrization)
        plist.unsafe = plist.unsafe or unsafe
        return module
    if tensor_name in module._parameters:
        original = module._parameters[tensor_name]
    elif tensor_name in module._buffers:
        original = module._buffers[tensor_name]
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    if original is None:
        raise ValueError(f"Module '{type(module).__name__}' has '{tensor_name}' set to None")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _parametrize_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    Module._hooks_version += 1  # a Sequential holding it decides its steps again
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Remove the parametrizations of ``module.<tensor_name>``.

    Parameters
    ----------
    module : Module
    tensor_name : str
    leave_parametrized : bool
        True: the tensor keeps its current (parametrized) value; False: it goes back to
        the stored original (only possible when there is one original).

    Returns
    -------
    Module
        ``module``; its original class once no parametrization is left.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if value.dtype == original.dtype:
                _set_data(original, value)
            else:
                original = Parameter(value.detach().clone(), original.requires_grad) \
                    if isinstance(original, Parameter) else value.detach().clone()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a "
                             "tensor that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name)
        requires = plist.original0.requires_grad
        original = Parameter(value.detach().clone(), requires) \
            if isinstance(plist.original0, Parameter) else value.detach().clone()
    cls = type(module)
    delattr(cls, tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = cls._orig_class
    Module._hooks_version += 1
    return module
