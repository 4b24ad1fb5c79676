"""Weight normalisation by a forward pre-hook (``torch.nn.utils.weight_norm``).

``w = g * v / ||v||``: the tensor ``name`` is replaced by two Parameters, ``<name>_g`` (the
norms) and ``<name>_v`` (the direction), and recomputed from them before every forward, as
PyTorch's older (hook-based) API does; the keys of the state dict are PyTorch's.
:func:`pynn.nn.utils.parametrizations.weight_norm` is the newer form.
"""

import warnings

from ...autograd import no_grad
from ..parameter import Parameter

__all__ = ["norm_except_dim", "remove_weight_norm", "weight_norm"]


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, keeping dimensions.

    Parameters
    ----------
    v : Tensor
    pow : float
    dim : int
        ``-1`` (PyTorch's convention here, not the last dimension) for the norm of the
        whole tensor, a 0-d result.

    Returns
    -------
    Tensor
        Shaped like ``v`` with every dimension but ``dim`` of size 1 (0-d for ``dim=-1``).
    """
    if dim == -1:
        return v.abs().pow(pow).sum().pow(1.0 / pow)
    dim = dim % v.dim()
    axes = tuple(i for i in range(v.dim()) if i != dim)
    if not axes:
        return v.abs()
    return v.abs().pow(pow).sum(dim=axes, keepdim=True).pow(1.0 / pow)


def _weight(g, v, dim):
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_g`` and
    ``<name>_v``.

    Parameters
    ----------
    name : str
    dim : int
        ``-1`` normalises the whole tensor.
    """

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        """The weight from the module's current ``<name>_g`` and ``<name>_v``.

        Parameters
        ----------
        module : Module

        Returns
        -------
        Tensor
        """
        return _weight(getattr(module, self.name + "_g"), getattr(module, self.name + "_v"),
                       self.dim)

    @staticmethod
    def apply(module, name, dim):
        """Register the hook and the two Parameters on ``module``.

        Parameters
        ----------
        module : Module
        name : str
        dim : int or None

        Returns
        -------
        WeightNorm
        """
        for hook, _ in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                                   f"parameter {name}")
        fn = WeightNorm(name, dim)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter "
                             f"'{name}'")
        with no_grad():
            g = norm_except_dim(weight, 2, fn.dim)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(g.detach().clone()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        """Put back ``<name>`` as one Parameter holding the current weight.

        Parameters
        ----------
        module : Module
        """
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Apply weight normalisation to ``module.<name>``: ``w = g * v / ||v||``.

    Parameters
    ----------
    module : Module
    name : str
        The parameter to reparametrize.
    dim : int or None
        The dimension that keeps its own norm (0: one per output unit); None normalises
        the whole tensor.

    Returns
    -------
    Module
        ``module``, with Parameters ``<name>_g`` and ``<name>_v`` and a pre-hook.
    """
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` is a Parameter again (its current value).

    Parameters
    ----------
    module : Module
    name : str

    Returns
    -------
    Module
    """
    return _remove_pre_hook(module, WeightNorm, name, "weight_norm")


def _remove_pre_hook(module, kind, name, label):
    """Undo the ``kind`` reparametrization (a forward pre-hook) of ``module.<name>``."""
    for key, (hook, _) in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            module._update_hooked()
            return module
    raise ValueError(f"{label} of '{name}' not found in {module}")
