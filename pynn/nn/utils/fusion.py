"""Folding an evaluation-mode batch norm into the layer before it (``torch.nn.utils.fusion``).

In evaluation mode a batch norm is an affine map per channel, ``y = a * x + c`` with
``a = weight / sqrt(running_var + eps)`` and ``c = bias - a * running_mean``; after a
convolution or a linear layer it folds into that layer's weight and bias, so inference runs
one layer instead of two.
"""

import copy

import numpy as np

from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _arr(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _scale_and_shift(weight, bias, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """``a`` and the fused bias ``(bias - running_mean) * a + bn_bias``, in float64."""
    rm = _arr(bn_rm).astype(np.float64)
    a = 1.0 / np.sqrt(_arr(bn_rv).astype(np.float64) + float(bn_eps))
    if bn_w is not None:
        a = a * _arr(bn_w)
    b = np.zeros_like(rm) if bias is None else _arr(bias).astype(np.float64)
    shift = (b - rm) * a + (0.0 if bn_b is None else _arr(bn_b))
    return a, shift


def _fused(weight, bias, w, b):
    dtype = _arr(weight).dtype
    bias_dtype = dtype if bias is None else _arr(bias).dtype
    bias_grad = bool(getattr(bias, "requires_grad", False))
    return (Parameter(w.astype(dtype), bool(getattr(weight, "requires_grad", False))),
            Parameter(b.astype(bias_dtype), bias_grad))


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """A convolution's weight and bias with the batch norm after it folded in.

    Parameters
    ----------
    conv_w : Tensor of shape (C_out, C_in / groups, *kernel)
        The convolution's weight; ``(C_in, C_out / groups, *kernel)`` with ``transpose``.
    conv_b : Tensor of shape (C_out,) or None
        Its bias (None is zeros).
    bn_rm, bn_rv : Tensor of shape (C_out,)
        The batch norm's running mean and variance.
    bn_eps : float
        Its ``eps``.
    bn_w, bn_b : Tensor of shape (C_out,) or None
        Its affine weight and bias (None: ones and zeros).
    transpose : bool
        The convolution is transposed (output channels on dimension 1 of the weight).

    Returns
    -------
    weight : Parameter
        Shaped like ``conv_w``, in its dtype.
    bias : Parameter of shape (C_out,)
    """
    a, shift = _scale_and_shift(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)
    w = _arr(conv_w)
    shape = [1] * w.ndim
    shape[1 if transpose else 0] = -1
    return _fused(conv_w, conv_b, w * a.reshape(shape), shift)


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """A linear layer's weight and bias with the batch norm after it folded in.

    Parameters
    ----------
    linear_w : Tensor of shape (out_features, in_features)
        The linear layer's weight.
    linear_b : Tensor of shape (out_features,) or None
        Its bias (None is zeros).
    bn_rm, bn_rv : Tensor of shape (out_features,) or (1,)
        The batch norm's running mean and variance.
    bn_eps : float
        Its ``eps``.
    bn_w, bn_b : Tensor of shape (out_features,) or (1,)
        Its affine weight and bias.

    Returns
    -------
    weight : Parameter of shape (out_features, in_features)
    bias : Parameter of shape (out_features,)
    """
    a, shift = _scale_and_shift(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)
    w = _arr(linear_w)
    shift = np.broadcast_to(shift, (w.shape[0],))
    return _fused(linear_w, linear_b, w * a.reshape(-1, 1), shift)


def _check_eval(layer, bn, who):
    if layer.training or bn.training:
        raise AssertionError(f"{who}: fusion only for eval! Call .eval() on both modules")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(f"{who}: the batch norm has no running statistics "
                             "(track_running_stats=False)")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of the convolution ``conv`` with the batch norm ``bn`` after it folded in.

    ``fused(x)`` equals ``bn(conv(x))`` with both in evaluation mode.

    Parameters
    ----------
    conv : Module
        A convolution layer (Conv1d, Conv2d, ConvTranspose2d ...) in evaluation mode.
    bn : Module
        The batch norm applied to its output, in evaluation mode.
    transpose : bool
        ``conv`` is a transposed convolution.

    Returns
    -------
    Module
        A new convolution (``conv`` is unchanged).
    """
    _check_eval(conv, bn, "fuse_conv_bn_eval")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` with the batch norm ``bn`` after it folded in.

    ``fused(x)`` equals ``bn(linear(x))`` with both in evaluation mode.

    Parameters
    ----------
    linear : Linear
        In evaluation mode.
    bn : Module
        A BatchNorm1d over its ``out_features`` (or over 1 feature), in evaluation mode.

    Returns
    -------
    Linear
        A new layer (``linear`` is unchanged).
    """
    _check_eval(linear, bn, "fuse_linear_bn_eval")
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise AssertionError("To fuse, linear.out_features must equal bn.num_features or "
                             f"bn.num_features must be 1, got {linear.out_features} and "
                             f"{bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
