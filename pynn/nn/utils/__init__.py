"""Utilities for modules: gradient clipping, parameters as one vector, sequences.

``pynn.nn.utils``: gradient clipping by total norm or by value, parameters to and from
one vector, an L1 penalty; ``rnn`` (padding and packing sequences).

Parameters are Tensors (:class:`pynn.nn.Parameter`); the gradients are clipped in their
storage, ``.grad._data``, and parameters whose ``.grad`` is ``None`` are skipped.
"""

import math
import warnings

import numpy as np

from ...tensor import Tensor, _wrap
from . import parametrizations, parametrize, prune, rnn, stateless
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "l1_penalty", "parameters_to_vector",
    "rnn",
    "vector_to_parameters",
]
__all__ += ["parametrizations", "parametrize", "prune", "remove_spectral_norm",
            "remove_weight_norm", "spectral_norm", "stateless", "weight_norm"]


def _as_list(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters):
    """``(grad Tensor, its ndarray)`` for every parameter that has a gradient."""
    return [(p._grad, p._grad._data) for p in _as_list(parameters) if p._grad is not None]


def _grad_norm_power(g, norm_type):
    """``sum(|g| ** p)`` for finite ``p > 0`` (the ``p``-th power of the norm)."""
    flat = g.reshape(-1)
    if norm_type == 2.0:
        return float(np.dot(flat, flat))
    if norm_type == 1.0:
        return float(np.abs(flat).sum())
    return float((np.abs(flat) ** norm_type).sum())


def _scale_(grad, g, factor):
    if g.flags.writeable:
        g *= factor
    else:
        grad._data = g * factor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients together, as if concatenated into one vector
    (``norm_type`` may be ``inf`` for the largest absolute value, or ``0`` to count the
    nonzero entries). When it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (total_norm + 1e-6)``, as ``torch.nn.utils.clip_grad_norm_`` does.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Those whose ``.grad`` is None are skipped.
    max_norm : float
    norm_type : float
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is NaN or infinite (otherwise the
        gradients are scaled by the non-finite norm, as in PyTorch).

    Returns
    -------
    total_norm : Tensor
        0-d, the norm before clipping (in the gradients' dtype, as PyTorch).
    """
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if math.isnan(norm_type):
        raise ValueError("norm_type must not be NaN")
    grads = _grads(parameters)
    if not grads:
        return _wrap(np.array(0.0, np.float32), None)
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for _, g in grads)
    elif norm_type == -math.inf:
        total = min(float(np.min(np.abs(g))) if g.size else math.inf for _, g in grads)
    elif norm_type == 0.0:
        total = float(sum(np.count_nonzero(g) for _, g in grads))
    else:
        total = sum(_grad_norm_power(g, norm_type) for _, g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    factor = max_norm / (total + 1e-6)
    if not factor >= 1.0:  # also when the norm is NaN, as PyTorch does
        for grad, g in grads:
            _scale_(grad, g, factor)
    return _wrap(np.array(total, grads[0][1].dtype), None)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """PyTorch's deprecated name of :func:`clip_grad_norm_` (older scripts call it).

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Those whose ``.grad`` is None are skipped.
    max_norm : float
        The largest total norm allowed.
    norm_type : float
        The norm's order (``inf`` allowed).
    error_if_nonfinite : bool
        Raise if the total norm is NaN or infinite.

    Returns
    -------
    total_norm : Tensor
        0-d, the norm before clipping.
    """
    warnings.warn("torch.nn.utils.clip_grad_norm is now deprecated in favor of "
                  "torch.nn.utils.clip_grad_norm_.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient entry in place to ``[-clip_value, clip_value]``.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Those whose ``.grad`` is None are skipped.
    clip_value : float
    """
    clip_value = float(clip_value)
    for grad, g in _grads(parameters):
        if g.flags.writeable:
            np.clip(g, -clip_value, clip_value, out=g)
        else:
            grad._data = np.clip(g, -clip_value, clip_value)


def l1_penalty(parameters):
    """``sum(|w|)`` over all entries of all ``parameters``, as a differentiable tensor.

    Built from the parameters' own ``.abs()``, ``.sum()`` and ``+``, so that backward gives
    ``sign(w)``. Multiply by a coefficient and add it to the loss::

        loss = criterion(model(x), y) + 1e-4 * l1_penalty(model.parameters())

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter

    Returns
    -------
    Tensor
        0-d; the float ``0.0`` when there are no parameters.
    """
    if hasattr(parameters, "abs") and hasattr(parameters, "sum"):
        parameters = [parameters]
    total = None
    for p in parameters:
        term = p.abs().sum()
        total = term if total is None else total + term
    return 0.0 if total is None else total


def parameters_to_vector(parameters):
    """The parameters' values flattened and joined into one vector (a copy, in the graph).

    Parameters
    ----------
    parameters : iterable of Parameter

    Returns
    -------
    Tensor of shape (total number of elements,)
    """
    from ...tensor import cat

    return cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters' storage, in place.

    Parameters
    ----------
    vec : Tensor of shape (total number of elements,)
    parameters : iterable of Parameter
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    data = vec._data.reshape(-1)
    offset = 0
    for p in _as_list(parameters):
        n = p._data.size
        p._data = data[offset:offset + n].reshape(p._data.shape).astype(p._data.dtype)
        offset += n
