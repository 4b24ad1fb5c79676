"""Normalisation: batch and layer norm (kernel-backed), RMS, group, instance and
local-response norm (composed from Tensor ops)."""

import numpy as np

from ...ops.norm import BatchNormFunction, LayerNormFunction
from ._pooling import avg_pool2d
from ._shape import pad
from ._utils import _data, _float_operands, _tensor

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "rms_norm",
]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over dim 1 (the channels) of (N, C) or ``(N, C, *)`` input.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel. With ``training``,
    mean and (biased) variance come from the batch, and ``running_mean`` / ``running_var``
    (when given) are updated in place, ``r = (1 - momentum) r + momentum stat``, using the
    *unbiased* batch variance, as PyTorch does. Without ``training`` the running statistics
    are used.

    Parameters
    ----------
    input : Tensor of shape (N, C) or (N, C, *)
    running_mean, running_var : ndarray of shape (C,) or None
        Updated in place when ``training`` (not differentiated).
    weight, bias : Tensor of shape (C,), optional
    training : bool
    momentum : float
    eps : float

    Returns
    -------
    Tensor shaped like ``input``
    """
    x = _data(input)
    rm, rv, w, b = _data(running_mean), _data(running_var), _data(weight), _data(bias)
    _float_operands("batch_norm", input=x, weight=w, bias=b, running_mean=rm, running_var=rv)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have shape (N, C) or (N, C, *), got {x.shape}")
    c = x.shape[1]
    for name, arr in (("running_mean", rm), ("running_var", rv), ("weight", w), ("bias", b)):
        if arr is not None and arr.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input of shape "
                             f"{x.shape}, got {arr.shape}")
    if training:
        if x.size // max(c, 1) <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input size {x.shape}")
    elif rm is None or rv is None:
        raise ValueError("batch_norm: running_mean and running_var must be given when not "
                         "training")
    return BatchNormFunction.apply(input, weight, bias, rm, rv, bool(training),
                                   float(momentum if momentum is not None else 0.0),
                                   float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the trailing dimensions ``normalized_shape``.

    Parameters
    ----------
    input : Tensor of shape (*, *normalized_shape)
    normalized_shape : int or tuple of int
    weight, bias : Tensor of shape ``normalized_shape``, optional
    eps : float

    Returns
    -------
    Tensor shaped like ``input``
    """
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)
    x, w, b = _data(input), _data(weight), _data(bias)
    _float_operands("layer_norm", input=x, weight=w, bias=b)
    if not shape or x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {shape}")
    for name, arr in (("weight", w), ("bias", b)):
        if arr is not None and arr.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {arr.shape}")
    return LayerNormFunction.apply(input, weight, bias, len(shape), float(eps))


def _affine(y, weight, bias, ndim):
    shape = (1, -1) + (1,) * (ndim - 2)
    if weight is not None:
        y = y * _tensor(weight).reshape(*shape)
    if bias is not None:
        y = y + _tensor(bias).reshape(*shape)
    return y


def _standardise(x, dims, eps):
    mu = x.mean(dims, keepdim=True)
    d = x - mu
    var = (d * d).mean(dims, keepdim=True)
    return d / (var + eps).sqrt()


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation.

    Normalise each sample's channels in ``num_groups`` groups (mean 0, variance 1 over a group's
    channels and positions), then scale and shift per channel.

    Parameters
    ----------
    input : Tensor of shape (N, C, *)
    num_groups : int dividing C
    weight, bias : Tensor of shape (C,), optional
    eps : float

    Returns
    -------
    Tensor shaped like ``input``
    """
    x = _data(input)
    _float_operands("group_norm", input=x)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input of shape (N, C, *) with C divisible by "
                         f"num_groups={num_groups}, got {x.shape}")
    n = x.shape[0]
    y = _standardise(_tensor(input).reshape(n, num_groups, -1), -1, eps).reshape(*x.shape)
    return _affine(y, weight, bias, x.ndim)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation.

    Normalise each channel of each sample over its positions (or with running statistics when
    ``use_input_stats`` is False).

    Parameters
    ----------
    input : Tensor of shape (N, C, *)
    running_mean, running_var : ndarray of shape (C,), optional
        Updated in place from the batch when ``use_input_stats`` (unbiased variance).
    weight, bias : Tensor of shape (C,), optional
    use_input_stats : bool
    momentum, eps : float

    Returns
    -------
    Tensor shaped like ``input``
    """
    x = _data(input)
    _float_operands("instance_norm", input=x)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, *), got {x.shape}")
    rm, rv = _data(running_mean), _data(running_var)
    dims = tuple(range(2, x.ndim))
    if not use_input_stats:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = (_tensor(input) - rm.reshape(shape)) / np.sqrt(rv.reshape(shape) + eps)
        return _affine(y, weight, bias, x.ndim)
    if rm is not None or rv is not None:
        m = x.shape[2:]
        count = int(np.prod(m))
        if rm is not None:
            rm *= 1 - momentum
            rm += momentum * x.mean(axis=dims).mean(axis=0)
        if rv is not None:
            rv *= 1 - momentum
            rv += momentum * (x.var(axis=dims) * count / max(count - 1, 1)).mean(axis=0)
    y = _standardise(_tensor(input), dims, eps)
    return _affine(y, weight, bias, x.ndim)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha / size * sum of x^2 over size neighbouring channels)^beta``.

    Parameters
    ----------
    input : Tensor of shape (N, C, *)
    size : int
    alpha, beta, k : float

    Returns
    -------
    Tensor shaped like ``input``
    """
    x = _tensor(input)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3-D or more input, got {x.shape}")
    sq = (x * x).reshape(x.shape[0], 1, x.shape[1], -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(*x.shape)
    return x / (div * alpha + k) ** beta


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalisation over the trailing dimensions ``normalized_shape``.

    ``x / sqrt(mean(x ** 2) + eps) * weight``, the mean over those dimensions (LLaMA-style
    layers); differentiable.

    Parameters
    ----------
    input : Tensor of shape (*, *normalized_shape)
    normalized_shape : int or tuple of int
    weight : Tensor of shape ``normalized_shape``, optional
    eps : float, optional
        Added to the mean square; by default the machine epsilon of the input's dtype.

    Returns
    -------
    Tensor shaped like ``input``
    """
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(n) for n in normalized_shape)
    x, w = _data(input), _data(weight)
    _float_operands("rms_norm", input=x, weight=w)
    if not shape or x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"rms_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {shape}")
    if w is not None and w.shape != shape:
        raise ValueError(f"rms_norm: weight must have shape {shape}, got {w.shape}")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    dims = tuple(range(-len(shape), 0))
    out = input * (input * input).mean(dims, keepdim=True).add(eps).rsqrt()
    return out if weight is None else out * weight
