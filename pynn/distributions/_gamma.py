"""Gamma draws with a pathwise gradient in the concentration (implicit reparameterisation).

A draw ``x ~ Gamma(a, 1)`` is ``F^{-1}(u; a)`` for the regularised lower incomplete gamma
``F = P(a, .)``; holding ``u`` fixed, ``dx/da = -(dP/da)(a, x) / p(x; a)``. NumPy draws ``x``;
``P`` is ``pynn.special.gammainc``'s and ``dP/da`` its central difference, accurate to about
1e-7 relative: close to PyTorch's approximation, not bit-equal to it.
"""

import numpy as np

from ..ops.special import _gammainc_pair
from ..random import get_generator
from ..tensor import _wrap
from .utils import lgamma_np


def gamma_p(a, x):
    """The regularised lower incomplete gamma ``P(a, x)`` of float64 ndarrays (``a > 0``)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    return _gammainc_pair(a, x)[0]


def standard_gamma_grad(a, x):
    """``dx/da`` of a ``Gamma(a, 1)`` draw ``x`` at fixed CDF level (float64 ndarrays)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    h = 1e-4 * a
    dp_da = (gamma_p(a + h, x) - gamma_p(a - h, x)) / (2 * h)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_density = (a - 1) * np.log(x) - x - lgamma_np(a)
        grad = -dp_da / np.exp(log_density)
    return np.where(np.isfinite(grad), grad, 0.0)


def rsample_standard_gamma(concentration, shape):
    """``Gamma(concentration, 1)`` draws of ``shape`` whose gradient reaches the concentration.

    The value is NumPy's draw (kept at least the dtype's smallest normal); the gradient is the
    implicit one, attached as ``x + (a - a.detach()) * dx/da``.
    """
    dtype = concentration._data.dtype
    a = np.broadcast_to(concentration._data.astype(np.float64), shape)
    x = get_generator().standard_gamma(a)
    x = np.maximum(x, np.finfo(dtype).tiny)
    sample = _wrap(x.astype(dtype), None)
    if not concentration.requires_grad:
        return sample
    grad = _wrap(standard_gamma_grad(a, x).astype(dtype), None)
    alpha = concentration.expand(*shape)
    return sample + (alpha - alpha.detach()) * grad


def gamma_cdf(concentration, z):
    """``P(concentration, z)`` as a Tensor, differentiable in both arguments.

    The gradient in ``z`` is the gamma density; in the concentration, a central difference of
    ``P`` (PyTorch's ``gammainc`` has none).
    """
    from .. import _math as _m

    shape = np.broadcast_shapes(tuple(concentration.shape), tuple(z.shape))
    a = concentration.expand(*shape) if tuple(concentration.shape) != shape else concentration
    z = z.expand(*shape) if tuple(z.shape) != shape else z
    dtype = z._data.dtype
    a64, z64 = a._data.astype(np.float64), np.maximum(z._data.astype(np.float64), 0.0)
    p = gamma_p(a64, z64)
    value = _wrap(p.astype(dtype), None)
    if not (a.requires_grad or z.requires_grad):
        return value
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        dz = np.exp((a64 - 1) * np.log(z64) - z64 - lgamma_np(a64))
    dz = np.where(np.isfinite(dz) & (z._data > 0), dz, 0.0)
    h = 1e-4 * a64
    da = (gamma_p(a64 + h, z64) - gamma_p(a64 - h, z64)) / (2 * h)
    out = value + (z - z.detach()) * _wrap(dz.astype(dtype), None)
    out = out + (a - a.detach()) * _wrap(da.astype(dtype), None)
    return _m.where(z > 0, out, out * 0.0)
