"""Weight and spectral normalisation as parametrizations (``torch.nn.utils.parametrizations``).

The newer form of :func:`pynn.nn.utils.weight_norm` and :func:`pynn.nn.utils.spectral_norm`,
built on :mod:`pynn.nn.utils.parametrize`: the state dict keys are PyTorch's
(``parametrizations.weight.original0`` / ``original1`` for weight norm's ``g`` and ``v``;
``parametrizations.weight.original`` and ``parametrizations.weight.0._u`` / ``._v`` for
spectral norm; ``parametrizations.weight.original`` and ``parametrizations.weight.0.base``
for orthogonal).
"""

import math

import numpy as np

from ...tensor import Tensor, _wrap
from ..module import Module
from . import parametrize
from .spectral_norm import _as_matrix, _normalized, _random_unit
from .weight_norm import _weight, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


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


# ---------------------------------------------------------------------------------------------
# orthogonal


def _matrix_exp(a):
    """``exp(a)`` of square matrices by scaling and squaring a Taylor series, written with
    Tensor operations (so it is differentiable); exact to rounding for the skew-symmetric
    matrices it is used on here (their norm only sets how many squarings)."""
    from ..._factory import eye

    n = a.shape[-1]
    norm = float(np.abs(a._data).sum(axis=-2).max()) if a._data.size else 0.0
    squarings = max(0, math.ceil(math.log2(norm))) + 1 if norm > 0.5 else 0
    x = a / (2.0 ** squarings)
    ident = eye(n, dtype=a.dtype)
    term, total = ident, ident
    for k in range(1, 19):  # ||x|| <= 1/2: the 18th term is below double rounding
        term = (term @ x) / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def _householder_product(v, tau):
    """``H_1 H_2 ... H_k`` restricted to the first ``k`` columns, ``H_i = I - tau_i u_i
    u_i^T`` with ``u_i`` column ``i`` of ``v`` below the diagonal and 1 on it (as
    ``torch.linalg.householder_product``); Tensor operations, so differentiable."""
    from ..._factory import eye

    n, k = v.shape[-2], v.shape[-1]
    u = v.tril(-1) + eye(n, k, dtype=v.dtype)
    q = eye(n, k, dtype=v.dtype)
    for i in range(k - 1, -1, -1):
        ui = u[..., :, i:i + 1]
        q = q - tau[..., i:i + 1].unsqueeze(-1) * (ui @ (ui.mT @ q))
    return q


def _make_orthogonal(a):
    """The Q of ``a``'s QR with R's diagonal made positive (as PyTorch's)."""
    q, r = np.linalg.qr(a)
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1, d)
    return q * d[..., None, :]


class _Orthogonal(Module):
    """Map an unconstrained matrix to an orthogonal one (``Q^T Q = I`` for tall ``Q``)."""

    def __init__(self, weight, orthogonal_map, use_trivialization=True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:
                from ..._factory import zeros
                from ...tensor import cat

                pad = zeros(*X.shape[:-2], n, n - k, dtype=X.dtype)
                X = cat([X, pad], dim=-1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = _matrix_exp(A)
            else:
                from ..._factory import eye
                from ...linalg import solve

                ident = eye(n, dtype=A.dtype)
                Q = solve(ident - A * 0.5, ident + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            sign = X.diagonal(dim1=-2, dim2=-1).detach()._data.astype(np.int64)
            Q = Q * _wrap(sign[..., None, :].astype(Q._data.dtype), None)
        if self._buffers.get("base") is not None:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {tuple(Q.shape)}.")
        q = Q._data
        n, k = q.shape[-2], q.shape[-1]
        transpose = n < k
        if transpose:
            q = np.swapaxes(q, -1, -2)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False.")
            raise NotImplementedError("orthogonal: assigning to the householder "
                                      "parametrization needs use_trivialization=True in pynn")
        if n == k:
            eps = 10 * n * np.finfo(q.dtype).eps
            ok = np.allclose(np.swapaxes(q, -1, -2) @ q, np.eye(k), atol=eps, rtol=1e-5)
            base = q.copy() if ok else _make_orthogonal(q)
        else:
            from ...random import get_generator

            extra = get_generator().standard_normal(q.shape[:-2] + (n, n - k))
            base = _make_orthogonal(np.concatenate([q, extra.astype(q.dtype)], axis=-1))
        self.base = _wrap(base.astype(q.dtype), None)
        neg_id = np.zeros(Q.shape, q.dtype)
        idx = np.arange(min(Q.shape[-2], Q.shape[-1]))
        neg_id[..., idx, idx] = -1.0
        return _wrap(neg_id, None)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain a matrix (or batch of matrices) to be orthogonal, as a parametrization.

    Parameters
    ----------
    module : Module
    name : str
        A tensor of at least 2 dimensions.
    orthogonal_map : {"matrix_exp", "cayley", "householder"}, optional
        The map from the stored matrix: ``matrix_exp`` by default for square matrices,
        ``householder`` otherwise.
    use_trivialization : bool
        Keep a base orthogonal matrix (the buffer ``base``) that the map multiplies, so
        the weight starts at the module's orthogonalised weight and can be assigned.

    Returns
    -------
    Module
        ``module``, with ``parametrizations.<name>.original`` and ``.0.base``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(  # noqa: TRY004 (PyTorch's exception type)
            f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.dim()} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] \
            else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    return parametrize.register_parametrization(module, name, orth, unsafe=True)
