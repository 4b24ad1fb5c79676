"""Weight and spectral normalisation as parametrizations (``torch.nn.utils.parametrizations``).

The newer form of :func:`pynn.nn.utils.weight_norm` and :func:`pynn.nn.utils.spectral_norm`,
built on :mod:`pynn.nn.utils.parametrize`: the state dict keys are PyTorch's
(``parametrizations.weight.original0`` / ``original1`` for weight norm's ``g`` and ``v``;
``parametrizations.weight.original`` and ``parametrizations.weight.0._u`` / ``._v`` for
spectral norm).
"""

from ...tensor import _wrap
from ..module import Module
from . import parametrize
from .spectral_norm import _as_matrix, _normalized, _random_unit
from .weight_norm import _weight, norm_except_dim

__all__ = ["spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    """``forward(g, v) = g * v / ||v||`` (the norm over every dimension but ``dim``)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight(weight_g, weight_v, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation as a parametrization: ``w = g * v / ||v||``.

    Parameters
    ----------
    module : Module
    name : str
        The parameter to reparametrize.
    dim : int or None
        The dimension keeping its own norm; None normalises the whole tensor.

    Returns
    -------
    Module
        ``module``, with ``parametrizations.<name>.original0`` (``g``) and ``original1``
        (``v``).
    """
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


class _SpectralNorm(Module):
    """``forward(w) = w / sigma(w)``, with power iteration on the buffers ``_u``, ``_v`` in
    train mode (a 1-D weight is simply normalised)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = _as_matrix(weight, self.dim)._data
            h, w = mat.shape
            self.register_buffer("_u", _wrap(_random_unit(h, mat.dtype, eps), None))
            self.register_buffer("_v", _wrap(_random_unit(w, mat.dtype, eps), None))
            self._power_method(mat, 15)

    def _power_method(self, mat, n):
        u, v = self._u._data, self._v._data
        for _ in range(n):
            u = _normalized(mat @ v, self.eps)
            v = _normalized(mat.T @ u, self.eps)
        # new arrays, not writes into the old ones: a graph that saved them keeps them
        self._u._data = u.astype(self._u._data.dtype)
        self._v._data = v.astype(self._v._data.dtype)
        self._u._version += 1
        self._v._version += 1

    def forward(self, weight):
        if weight.dim() == 1:
            from ..functional import normalize

            return normalize(weight, dim=0, eps=self.eps)
        mat = _as_matrix(weight, self.dim)
        if self.training:
            self._power_method(mat._data, self.n_power_iterations)
        u = _wrap(self._u._data, None)
        v = _wrap(self._v._data, None)
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation as a parametrization: ``w = w_orig / sigma(w_orig)``.

    Parameters
    ----------
    module : Module
    name : str
    n_power_iterations : int
        Power iterations per access in train mode (15 at registration, none in eval mode).
    eps : float
    dim : int, optional
        1 for the ConvTranspose layers, else 0.

    Returns
    -------
    Module
        ``module``, with ``parametrizations.<name>.original`` and the buffers
        ``parametrizations.<name>.0._u`` / ``._v``.
    """
    weight = getattr(module, name, None)
    if weight is None or not hasattr(weight, "_data"):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    sn = _SpectralNorm(weight, n_power_iterations, dim, eps)
    return parametrize.register_parametrization(module, name, sn)
