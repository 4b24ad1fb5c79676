"""Utilities for modules: gradient clipping, parameters as one vector, sequences.

``pynn.nn.utils``: gradient clipping by total norm or by value, parameters to and from
one vector, an L1 penalty, batch norms folded into the layer before them (``fusion``);
``rnn`` (padding and packing sequences), ``stateless`` (the older ``functional_call``).

Parameters are Tensors (:class:`pynn.nn.Parameter`); the gradients are clipped in their
storage, ``.grad._data``, and parameters whose ``.grad`` is ``None`` are skipped.
"""

import math
import warnings

import numpy as np

from ...tensor import Tensor, _wrap
from . import fusion, parametrizations, parametrize, prune, rnn, stateless
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
    "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format",
    "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
    "fusion", "get_total_norm", "l1_penalty", "parameters_to_vector", "rnn", "skip_init",
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


def _total_norm(arrays, norm_type):
    """The ``norm_type`` norm of ``arrays`` taken together as one vector, a float."""
    if norm_type == math.inf:
        return max((float(np.max(np.abs(g))) for g in arrays if g.size), default=0.0)
    if norm_type == -math.inf:
        return min((float(np.min(np.abs(g))) for g in arrays if g.size), default=math.inf)
    if norm_type == 0.0:  # PyTorch's: the 0-"norm" of the per-tensor counts
        return float(sum(bool(np.count_nonzero(g)) for g in arrays))
    return sum(_grad_norm_power(g, norm_type) for g in arrays) ** (1.0 / norm_type)


def _check_finite(total, norm_type, error_if_nonfinite):
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of ``tensors`` taken together, as if concatenated into one vector.

    As ``torch.nn.utils.get_total_norm``: the first half of :func:`clip_grad_norm_`, given
    the gradients themselves (``[p.grad for p in model.parameters()]``).

    Parameters
    ----------
    tensors : Tensor or iterable of Tensor, of any shapes
        The gradients; None entries are skipped.
    norm_type : float
        The order of the norm (``inf`` for the largest absolute value; ``0`` counts, as in
        PyTorch, the tensors with a nonzero entry).
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the norm is NaN or infinite.
    foreach : bool, optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor
        0-d, in the tensors' dtype (float32 when there are none).
    """
    arrays = [t._data for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if math.isnan(norm_type):
        raise ValueError("norm_type must not be NaN")
    if not arrays:
        return _wrap(np.array(0.0, np.float32), None)
    total = _total_norm(arrays, norm_type)
    _check_finite(total, norm_type, error_if_nonfinite)
    return _wrap(np.array(total, arrays[0].dtype), None)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients in place by ``max_norm / (total_norm + 1e-6)`` when below 1.

    As ``torch.nn.utils.clip_grads_with_norm_``: the second half of :func:`clip_grad_norm_`,
    with the norm from :func:`get_total_norm` (or anywhere else).

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Those whose ``.grad`` is None are skipped.
    max_norm : float
        The largest total norm allowed.
    total_norm : Tensor or float
        0-d: the gradients' total norm.
    foreach : bool, optional
        Accepted for PyTorch's signature.
    """
    grads = _grads(parameters)
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    factor = float(max_norm) / (total + 1e-6)
    if not factor >= 1.0:  # also when the norm is NaN, as PyTorch does
        for grad, g in grads:
            _scale_(grad, g, factor)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients together, as if concatenated into one vector
    (``norm_type`` may be ``inf`` for the largest absolute value; ``0`` counts, as in
    PyTorch, the gradients with a nonzero entry). When it exceeds ``max_norm`` every
    gradient is multiplied by ``max_norm / (total_norm + 1e-6)``, as
    ``torch.nn.utils.clip_grad_norm_`` does:
    :func:`get_total_norm` then :func:`clip_grads_with_norm_`.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Those whose ``.grad`` is None are skipped.
    max_norm : float
    norm_type : float
    error_if_nonfinite : bool
        Raise ``RuntimeError`` when the total norm is NaN or infinite (otherwise the
        gradients are scaled by the non-finite norm, as in PyTorch).
    foreach : bool, optional
        Accepted for PyTorch's signature.

    Returns
    -------
    total_norm : Tensor
        0-d, the norm before clipping (in the gradients' dtype, as PyTorch).
    """
    parameters = _as_list(parameters)
    total = get_total_norm([p._grad for p in parameters], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
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
    foreach : bool, optional
        Accepted for PyTorch's signature.

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


def skip_init(module_cls, *args, **kwargs):
    """Make a module whose parameters the caller will set (``torch.nn.utils.skip_init``).

    PyTorch leaves the memory uninitialised; pynn constructs the module as usual (the values
    are unspecified either way, so overwrite them).

    Parameters
    ----------
    module_cls : type
        A :class:`~pynn.nn.Module` subclass whose constructor takes ``device``.
    *args : any
        The constructor's positional arguments.
    **kwargs : any
        Its keyword arguments (``device`` may not be among them).

    Returns
    -------
    Module
        The new module.
    """
    import inspect

    from ..module import Module

    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")  # noqa: TRY004 (as torch)
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)


def _convert_conv_weights(module, memory_format, who):
    from ... import _dtype

    if memory_format not in (_dtype.contiguous_format, _dtype.preserve_format,
                             _dtype.channels_last, _dtype.channels_last_3d):
        raise TypeError(f"{who}: expected a memory format (pynn.channels_last ...), got "
                        f"{memory_format!r}")
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """``module``, unchanged: pynn's convolutions choose their own layout.

    ``torch.nn.utils.convert_conv2d_weight_memory_format`` makes the 4-D convolution weights
    ``channels_last``; pynn's memory formats are accepted and ignored.

    Parameters
    ----------
    module : Module
        The model.
    memory_format : pynn.memory_format
        ``pynn.channels_last`` or ``pynn.contiguous_format``.

    Returns
    -------
    Module
        ``module``.
    """
    return _convert_conv_weights(module, memory_format, "convert_conv2d_weight_memory_format")


def convert_conv3d_weight_memory_format(module, memory_format):
    """``module``, unchanged, as :func:`convert_conv2d_weight_memory_format` (5-D weights).

    Parameters
    ----------
    module : Module
        The model.
    memory_format : pynn.memory_format
        ``pynn.channels_last_3d`` or ``pynn.contiguous_format``.

    Returns
    -------
    Module
        ``module``.
    """
    return _convert_conv_weights(module, memory_format, "convert_conv3d_weight_memory_format")
