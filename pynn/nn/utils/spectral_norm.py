"""Spectral normalisation by a forward pre-hook (``torch.nn.utils.spectral_norm``).

``w = w_orig / sigma(w_orig)``, with the largest singular value ``sigma`` estimated by power
iteration on the weight viewed as a matrix. As in PyTorch's hook-based API the module holds
the Parameter ``<name>_orig`` and the buffers ``<name>_u`` and ``<name>_v`` (the singular
vector estimates, updated in train mode only); the state dict keys are PyTorch's.
:func:`pynn.nn.utils.parametrizations.spectral_norm` is the newer form.
"""

import numpy as np

from ...autograd import no_grad
from ...random import get_generator
from ...tensor import _wrap
from ..parameter import Parameter
from .weight_norm import _remove_pre_hook

__all__ = ["remove_spectral_norm", "spectral_norm"]


def _as_matrix(weight, dim):
    """The weight as ``(weight.shape[dim], -1)``."""
    if dim != 0:
        perm = [dim] + [d for d in range(weight.dim()) if d != dim]
        weight = weight.permute(*perm)
    return weight.reshape(weight.shape[0], -1)


def _normalized(a, eps):
    """``a / max(||a||, eps)`` for a 1-D ndarray."""
    return a / max(float(np.sqrt(np.dot(a, a))), eps)


def _random_unit(n, dtype, eps):
    rng = get_generator()
    return _normalized(rng.standard_normal(n).astype(dtype), eps)


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_orig``.

    Parameters
    ----------
    name : str
    n_power_iterations : int
    dim : int
    eps : float
    """

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def compute_weight(self, module, do_power_iteration):
        """The normalised weight; in train mode the ``u``/``v`` buffers are updated first.

        Parameters
        ----------
        module : Module
        do_power_iteration : bool

        Returns
        -------
        Tensor
        """
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = _as_matrix(weight, self.dim)
        if do_power_iteration:
            m = mat._data
            uu, vv = u._data, v._data
            for _ in range(self.n_power_iterations):
                vv = _normalized(m.T @ uu, self.eps)
                uu = _normalized(m @ vv, self.eps)
            # new arrays (not writes into the old ones): a graph that saved the old u and v
            # keeps them
            with no_grad():
                u._data = uu.astype(u._data.dtype)
                v._data = vv.astype(v._data.dtype)
                u._version += 1
                v._version += 1
        u = _wrap(u._data, None)
        v = _wrap(v._data, None)
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def remove(self, module):
        """Put back ``<name>`` as one Parameter holding the normalised weight.

        Parameters
        ----------
        module : Module
        """
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        """Register the hook, ``<name>_orig`` and the ``u``/``v`` buffers on ``module``.

        Parameters
        ----------
        module : Module
        name : str
        n_power_iterations : int
        dim : int
        eps : float

        Returns
        -------
        SpectralNorm
        """
        for hook, _ in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter "
                             f"'{name}'")
        h, w = _as_matrix(weight, dim).shape
        dtype = weight._data.dtype
        u = _random_unit(h, dtype, eps)
        v = _random_unit(w, dtype, eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", _wrap(u, None))
        module.register_buffer(name + "_v", _wrap(v, None))
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration.

    Parameters
    ----------
    module : Module
    name : str
    n_power_iterations : int
        Power iterations per forward in train mode (none in eval mode).
    eps : float
        Floor of the norms in the normalisations.
    dim : int, optional
        The dimension of the output units: 1 for the ConvTranspose layers, else 0.

    Returns
    -------
    Module
        ``module``, with ``<name>_orig``, ``<name>_u``, ``<name>_v`` and a pre-hook.
    """
    if dim is None:
        name_ = type(module).__name__
        dim = 1 if name_.startswith("ConvTranspose") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` is a Parameter again.

    Parameters
    ----------
    module : Module
    name : str

    Returns
    -------
    Module
    """
    return _remove_pre_hook(module, SpectralNorm, name, "spectral_norm")
