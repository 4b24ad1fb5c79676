"""Differentiable functions with ``torch.nn.functional``'s names and signatures::

    import pynn.functional as F
    loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)

Inputs are :class:`pynn.Tensor` (ndarrays are accepted as constants). Hot paths run on the
active backend's kernels (``gemm``, convolution, pooling, the softmax family, activations,
``bias_grad``); kernel-backed ops need float32 or float64 operands of one dtype and raise a
TypeError naming the op otherwise.

Not implemented (NotImplementedError): ``groups`` in conv2d, ``dilation``/``ceil_mode`` in
pooling, ``divisor_override``, cross-entropy with both class ``weight`` and
``label_smoothing``; the legacy ``size_average``/``reduce`` arguments.
"""

import numpy as np

from ..backend import _checks

from ..ops.activation import (
    GeluFunction,
    LeakyReluFunction,
    ReluFunction,
    SigmoidFunction,
    TanhFunction,
)
from ..ops.conv import Conv2dFunction
from ..ops.elementwise import MulFunction
from ..ops.loss import BCEFunction, BCEWithLogitsFunction, MSELossFunction
from ..ops.matmul import LinearFunction
from ..ops.pool import AvgPool2dFunction, MaxPool2dFunction
from ..ops.softmax import CrossEntropyFunction, LogSoftmaxFunction, NLLLossFunction, SoftmaxFunction
from ..random import get_generator
from ..tensor import Tensor

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "relu", "leaky_relu", "sigmoid", "tanh",
    "gelu", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout", "flatten",
]

_FLOATS = _checks.FLOAT_DTYPES
# The kernels' dtype rule and message, in one place for both layers.
_float_operands = _checks.float_arrays
_REDUCTIONS = ("mean", "sum", "none")


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _legacy(op, size_average, reduce):
    if size_average is not None or reduce is not None:
        raise NotImplementedError(f"{op}: size_average and reduce are deprecated in PyTorch "
                                  "and not supported; use reduction=")


def _reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


# ---------------------------------------------------------------------------------------------
# Linear and convolution


def _check_linear(x, w, b):
    if not isinstance(x, np.ndarray) or not isinstance(w, np.ndarray):
        raise TypeError(f"linear: input and weight must be Tensors, got {type(x).__name__} and "
                        f"{type(w).__name__}")
    if w.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got "
                         f"{w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1] if x.ndim else 0} features but "
                         f"weight expects {w.shape[1]} (input shape {x.shape}, weight shape "
                         f"{w.shape})")
    if x.dtype != w.dtype or x.dtype not in _FLOATS:
        _float_operands("linear", input=x, weight=w)
    if b is not None:
        if not isinstance(b, np.ndarray) or b.shape != (w.shape[0],):
            raise ValueError(f"linear: bias must have shape ({w.shape[0]},) to match weight "
                             f"{w.shape}, got {np.shape(b)}")
        if b.dtype != w.dtype:
            _float_operands("linear", weight=w, bias=b)


def linear(input, weight, bias=None):
    """``y = input @ weight.T + bias``, one fused ``gemm``.

    Parameters
    ----------
    input : Tensor of shape (*, in_features)
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,), optional

    Returns
    -------
    Tensor of shape (*, out_features)
    """
    _check_linear(_data(input), _data(weight), _data(bias))
    return LinearFunction.apply(input, weight, bias, False)


def _linear_relu(input, weight, bias=None):
    """``relu(linear(input, weight, bias))`` in one ``gemm`` with the ReLU fused (internal:
    for layers that know a ReLU follows)."""
    _check_linear(_data(input), _data(weight), _data(bias))
    return LinearFunction.apply(input, weight, bias, True)


def _conv_padding(padding, weight_shape, stride, dilation):
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    strides = stride if isinstance(stride, (tuple, list)) else (stride, stride)
    if any(s != 1 for s in strides):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    dil = dilation if isinstance(dilation, (tuple, list)) else (dilation, dilation)
    total = [d * (k - 1) for d, k in zip(dil, weight_shape[2:])]
    if any(t % 2 for t in total):
        raise NotImplementedError("conv2d: padding='same' with an even dilated kernel needs "
                                  "asymmetric padding, which pynn's kernels do not do")
    return tuple(t // 2 for t in total)


def _conv2d(input, weight, bias, stride, padding, dilation, groups, relu, pool=None):
    if groups != 1:
        raise NotImplementedError(f"conv2d: groups={groups} is not supported (only groups=1)")
    x, w, b = _data(input), _data(weight), _data(bias)
    _float_operands("conv2d", input=x, weight=w, bias=b)
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (out_channels, in_channels, kH, kW), "
                         f"got {w.shape}")
    if x.ndim == 3:  # unbatched (C, H, W)
        out = _conv2d(_tensor(input).unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups, relu, pool)
        return out.squeeze(0)
    if x.ndim != 4:
        raise ValueError(f"conv2d: input must have shape (N, C, H, W) or (C, H, W), got "
                         f"{x.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels but weight expects "
                         f"{w.shape[1]} (input shape {x.shape}, weight shape {w.shape})")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},), got {b.shape}")
    padding = _conv_padding(padding, w.shape, stride, dilation)
    return Conv2dFunction.apply(input, weight, bias, stride, padding, dilation, relu, pool)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), NCHW.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    weight : Tensor of shape (out_channels, C, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), "valid" or "same" (stride 1)
    groups : 1 (others are not implemented)

    Returns
    -------
    Tensor of shape (N, out_channels, oH, oW), ``oH = (H + 2 pH - dH (kH - 1) - 1) // sH + 1``
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, False)


def _conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1):
    """``relu(conv2d(...))`` with the ReLU fused into the kernel (internal)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, 1, True)


def _conv2d_maxpool(input, weight, bias, stride, padding, dilation, relu, pool_kernel,
                    pool_stride, pool_padding):
    """``max_pool2d(relu?(conv2d(...)), pool_kernel, pool_stride, pool_padding)`` in one
    kernel call that pools the output while it is in cache (internal)."""
    return _conv2d(input, weight, bias, stride, padding, dilation, 1, relu,
                   (pool_kernel, pool_stride or None, pool_padding))


# ---------------------------------------------------------------------------------------------
# Pooling


def _pool_input(op, input):
    x = _data(input)
    _float_operands(op, input=x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: input must have shape (N, C, H, W) or (C, H, W), got "
                         f"{x.shape}")
    return x.ndim == 3


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling (padding counts as -inf).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding at most half the kernel.
    dilation : int
        Only 1 is implemented.
    ceil_mode : bool
        Only False is implemented.
    return_indices : bool
        Also return the indices of the maxima.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    indices : int64 Tensor of the same shape, with ``return_indices``
        The flat position ``h * W + w`` of each maximum in its (H, W) plane.
    """
    if dilation != 1 or ceil_mode:
        raise NotImplementedError("max_pool2d: dilation and ceil_mode are not supported")
    if _pool_input("max_pool2d", input):
        res = max_pool2d(_tensor(input).unsqueeze(0), kernel_size, stride, padding,
                         return_indices=return_indices)
        if return_indices:
            return res[0].squeeze(0), res[1].squeeze(0)
        return res.squeeze(0)
    stride = stride or None
    if return_indices:
        out, ctx = MaxPool2dFunction.apply_with_ctx(input, kernel_size, stride, padding)
        return out, Tensor(ctx.saved_tensors[0])
    return MaxPool2dFunction.apply(input, kernel_size, stride, padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``kernel_size``; padding (zeros) at most half the kernel.
    ceil_mode : bool
        Only False is implemented.
    count_include_pad : bool
        Divide by kH * kW everywhere (True) or by the number of in-image positions.
    divisor_override : None
        Only None is implemented.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    """
    if ceil_mode or divisor_override is not None:
        raise NotImplementedError("avg_pool2d: ceil_mode and divisor_override are not supported")
    if _pool_input("avg_pool2d", input):
        return avg_pool2d(_tensor(input).unsqueeze(0), kernel_size, stride, padding,
                          count_include_pad=count_include_pad).squeeze(0)
    return AvgPool2dFunction.apply(input, kernel_size, stride or None, padding,
                                   bool(count_include_pad))


# ---------------------------------------------------------------------------------------------
# Activations


def relu(input, inplace=False):
    """``max(input, 0)``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool
        Accepted and ignored: pynn never overwrites the input.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return ReluFunction.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, else ``negative_slope * input``.

    Parameters
    ----------
    input : Tensor of any shape
    negative_slope : float
    inplace : bool
        Accepted and ignored: pynn never overwrites the input.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return LeakyReluFunction.apply(input, float(negative_slope))


def sigmoid(input):
    """``1 / (1 + exp(-input))``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return SigmoidFunction.apply(input)


def tanh(input):
    """``tanh(input)``, elementwise.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return TanhFunction.apply(input)


def gelu(input, approximate="none"):
    """GELU, ``input * Phi(input)``, exact or tanh-approximated.

    Parameters
    ----------
    input : Tensor of any shape
    approximate : {"none", "tanh"}
        ``"tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GeluFunction.apply(input, approximate)


def softmax(input, dim=-1, dtype=None):
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        Any dimension (the kernels see it moved last).
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    return SoftmaxFunction.apply(input, dim)


def log_softmax(input, dim=-1, dtype=None):
    """``log(softmax(input, dim))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    return LogSoftmaxFunction.apply(input, dim)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero elements with probability ``p``, scale the rest by ``1 / (1 - p)``.

    The mask comes from pynn's global generator (:func:`pynn.manual_seed`).

    Parameters
    ----------
    input : Tensor of any shape
    p : float in [0, 1]
    training : bool
        When False (or ``p == 0``) the input is returned unchanged.
    inplace : bool
        Accepted and ignored: pynn never overwrites the input.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = _data(input)
    if x.dtype not in _FLOATS:
        raise TypeError(f"dropout: input must be float32 or float64, got {x.dtype}")
    if p == 1.0:
        mask = np.zeros(x.shape, x.dtype)
    else:
        mask = get_generator().random(x.shape, dtype=x.dtype.type) >= p
        mask = mask.astype(x.dtype)
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return MulFunction.apply(input, mask)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one (``torch.flatten``).

    Parameters
    ----------
    input : Tensor of any shape
    start_dim, end_dim : int

    Returns
    -------
    Tensor
        The input's shape with dimensions ``start_dim`` to ``end_dim`` replaced by their
        product.
    """
    return _tensor(input).flatten(start_dim, end_dim)


# ---------------------------------------------------------------------------------------------
# Losses


def _class_layout(op, input, target):
    """Bring (C,) / (N, C) / (N, C, d1, ...) scores and their labels to (M, C) and (M,).

    Returns ``(input2d, labels, out_shape)``; ``out_shape`` is the shape of a
    ``reduction="none"`` result.
    """
    x = _data(input)
    t = np.asarray(_data(target))
    _float_operands(op, input=x)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype} "
                        f"(shape {t.shape})")
    if x.ndim == 1:
        expected = ()
    elif x.ndim >= 2:
        expected = (x.shape[0],) + x.shape[2:]
    else:
        raise ValueError(f"{op}: input must have shape (C,), (N, C) or (N, C, d1, ...), got "
                         f"a 0-d tensor")
    if t.shape != expected:
        raise ValueError(f"{op}: target has shape {t.shape} but input of shape {x.shape} "
                         f"needs {expected}")
    if x.ndim == 2:
        return input, t, expected
    if x.ndim == 1:
        return _tensor(input).reshape(1, -1), t.reshape(1), expected
    perm = (0,) + tuple(range(2, x.ndim)) + (1,)
    return _tensor(input).permute(*perm).reshape(-1, x.shape[1]), t.reshape(-1), expected


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between ``softmax(input)`` (over dim 1) and the target, fused.

    Parameters
    ----------
    input : Tensor of shape (N, C), (C,) or (N, C, d1, ...)
        Unnormalised scores (logits).
    target : integer Tensor or ndarray of shape (N,), () or (N, d1, ...), or float Tensor
        Class indices; or class probabilities shaped like ``input``.
    weight : Tensor of shape (C,), optional
        Class weights (not combinable with ``label_smoothing`` for index targets).
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    ignore_index : int
        Samples with this label contribute nothing (index targets only).
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]

    Returns
    -------
    Tensor
        0-d, or with ``reduction="none"`` the target's shape (indices) or the input's without
        dim 1 (probabilities).
    """
    _legacy("cross_entropy", size_average, reduce)
    _reduction("cross_entropy", reduction)
    t = _data(target)
    if isinstance(t, np.ndarray) and t.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    x2, labels, out_shape = _class_layout("cross_entropy", input, target)
    if weight is not None:
        if label_smoothing:
            raise NotImplementedError("cross_entropy: class weights together with "
                                      "label_smoothing are not supported")
        logp = log_softmax(_tensor(input), 1 if _data(input).ndim > 1 else 0)
        return nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    loss = CrossEntropyFunction.apply(x2, labels, int(ignore_index), float(label_smoothing),
                                      reduction)
    if reduction == "none" and out_shape != loss.shape:
        loss = loss.reshape(out_shape)
    return loss


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    x, t = _data(input), _data(target)
    if t.shape != x.shape:
        raise ValueError(f"cross_entropy: target must hold integer class indices, or class "
                         f"probabilities shaped like the input {x.shape}; got {t.dtype} of "
                         f"shape {t.shape}")
    dim = 1 if x.ndim > 1 else 0
    target = _tensor(target)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / x.shape[dim]
    terms = log_softmax(_tensor(input), dim) * target
    if weight is not None:
        w = _data(weight)
        terms = terms * (w.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim > 1 else w)
    per = -terms.sum(dim)
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities at class indices.

    Parameters
    ----------
    input : Tensor of shape (N, C), (C,) or (N, C, d1, ...)
        Log-probabilities.
    target : integer Tensor or ndarray of shape (N,), () or (N, d1, ...)
    weight : Tensor of shape (C,), optional
        Class weights; the weighted mean divides by the summed weights of the targets.
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    ignore_index : int
        Samples with this label contribute nothing and are not counted by the mean.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the target's shape with ``reduction="none"``.
    """
    _legacy("nll_loss", size_average, reduce)
    _reduction("nll_loss", reduction)
    x2, labels, out_shape = _class_layout("nll_loss", input, target)
    c = x2.shape[1]
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= c))
    if bad.any():
        raise IndexError(f"nll_loss: target {labels[bad][0]} is out of bounds for {c} classes")
    w = _data(weight)
    if w is not None:
        _float_operands("nll_loss", input=_data(x2), weight=w)
        if w.shape != (c,):
            raise ValueError(f"nll_loss: weight must have shape ({c},), got {w.shape}")
    loss = NLLLossFunction.apply(x2, labels, w, int(ignore_index), reduction)
    if reduction == "none" and out_shape != loss.shape:
        loss = loss.reshape(out_shape)
    return loss


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error ``(input - target)^2``, reduced.

    Both arguments may require grad.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape (shapes that broadcast are accepted)
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the broadcast shape with ``reduction="none"``.
    """
    _legacy("mse_loss", size_average, reduce)
    _reduction("mse_loss", reduction)
    return MSELossFunction.apply(input, target, reduction)


def _binary_args(op, input, target, weight):
    x, t = _data(input), _data(target)
    _float_operands(op, input=x)
    if not isinstance(t, np.ndarray) or t.shape != x.shape:
        raise ValueError(f"{op}: target size {np.shape(t)} must be the same as input size "
                         f"{x.shape}")
    w = _data(weight)
    if w is not None:
        try:
            np.broadcast_shapes(w.shape, x.shape)
        except ValueError:
            raise ValueError(f"{op}: weight of shape {w.shape} does not broadcast to the input "
                             f"shape {x.shape}") from None
    return x, w


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """``-weight (target log(input) + (1 - target) log(1 - input))``, logs clamped at -100.

    Parameters
    ----------
    input : Tensor of any shape
        Probabilities in [0, 1].
    target : Tensor of the input's shape
    weight : Tensor broadcastable to the input's shape, optional
        Not differentiated.
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the input's shape with ``reduction="none"``.
    """
    _legacy("binary_cross_entropy", size_average, reduce)
    _reduction("binary_cross_entropy", reduction)
    x, w = _binary_args("binary_cross_entropy", input, target, weight)
    if x.size and (np.min(x) < 0 or np.max(x) > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 "
                         "and 1")
    return BCEFunction.apply(input, target, w, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    Per element ``max(x, 0) - x y + log1p(exp(-|x|))`` (with ``pos_weight``, the positive term
    is weighted).

    Parameters
    ----------
    input : Tensor of any shape
        Logits.
    target : Tensor of the input's shape, in [0, 1]
    weight : Tensor broadcastable to the input's shape, optional
        Not differentiated.
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    reduction : {"mean", "sum", "none"}
    pos_weight : Tensor broadcastable to the input's shape, optional
        Weight of the positive term, typically one per class (last dimension); not
        differentiated.

    Returns
    -------
    Tensor
        0-d, or of the input's shape with ``reduction="none"``.
    """
    _legacy("binary_cross_entropy_with_logits", size_average, reduce)
    _reduction("binary_cross_entropy_with_logits", reduction)
    _, w = _binary_args("binary_cross_entropy_with_logits", input, target, weight)
    return BCEWithLogitsFunction.apply(input, target, w, _data(pos_weight), reduction)


# ---------------------------------------------------------------------------------------------
# Normalisation (appended with pynn.nn; autograd nodes in pynn/ops/norm.py)

from ..autograd import ArrayFunction
from ..ops.loss import _reduce, _reduced_grad
from ..ops.norm import BatchNormFunction, LayerNormFunction

__all__ += ["batch_norm", "hinge_loss", "layer_norm", "multi_margin_loss"]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over dim 1 (the channels) of (N, C) or (N, C, *) input.

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


# ---------------------------------------------------------------------------------------------
# Margin losses (appended with pynn.nn; their nodes live here until ops/loss.py takes them)


class MultiMarginLossFunction(ArrayFunction):
    """``sum_{j != y} w[y] max(0, margin - x[y] + x[j])^p / C`` per row of (N, C) scores."""

    @staticmethod
    def forward(ctx, x, labels, weight, p, margin, reduction):
        n, c = x.shape
        rows = np.arange(n)
        z = x - x[rows, labels][:, None]
        z += margin
        z[rows, labels] = 0
        active = z > 0
        h = np.where(active, z if p == 1 else z * z, 0).astype(x.dtype, copy=False)
        wy = None if weight is None else weight[labels][:, None]
        if wy is not None:
            h *= wy
        per = h.sum(axis=1) / x.dtype.type(c)
        ctx.save_for_backward(z, active, labels, wy)
        ctx.args = (p, reduction)
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, active, labels, wy = ctx.saved_tensors
        p, reduction = ctx.args
        n, c = z.shape
        g = _reduced_grad(grad, (n,), reduction)
        coef = active.astype(z.dtype) if p == 1 else np.where(active, 2 * z, 0)
        coef *= (g / c).reshape(-1, 1)
        if wy is not None:
            coef *= wy
        rows = np.arange(n)
        coef[rows, labels] = -coef.sum(axis=1)
        return coef, None, None, None, None, None


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss (the multi-class SVM loss), as ``torch.nn.MultiMarginLoss``.

    Per sample ``sum_{j != y} w[y] * max(0, margin - x[y] + x[j])^p / C``.

    Parameters
    ----------
    input : Tensor of shape (N, C) or (C,)
        Class scores.
    target : integer Tensor or ndarray of shape (N,) or ()
    p : {1, 2}
    margin : float
    weight : Tensor of shape (C,), optional
        Class weights, indexed by the target class.
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of shape (N,) (``()`` for unbatched input) with ``reduction="none"``.
    """
    _legacy("multi_margin_loss", size_average, reduce)
    _reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p!r}")
    x, t, w = _data(input), np.asarray(_data(target)), _data(weight)
    _float_operands("multi_margin_loss", input=x, weight=w)
    if x.ndim not in (1, 2):
        raise ValueError(f"multi_margin_loss: input must have shape (N, C) or (C,), got "
                         f"{x.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"multi_margin_loss: target must hold integer class indices, got "
                        f"dtype {t.dtype}")
    expected = x.shape[:1] if x.ndim == 2 else ()
    if t.shape != expected:
        raise ValueError(f"multi_margin_loss: target has shape {t.shape} but input of shape "
                         f"{x.shape} needs {expected}")
    c = x.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"multi_margin_loss: target out of bounds for {c} classes")
    if w is not None and w.shape != (c,):
        raise ValueError(f"multi_margin_loss: weight must have shape ({c},), got {w.shape}")
    x2 = input if x.ndim == 2 else _tensor(input).reshape(1, -1)
    loss = MultiMarginLossFunction.apply(x2, t.reshape(-1), w, p, float(margin), reduction)
    if x.ndim == 1 and reduction == "none":
        loss = loss.reshape(())
    return loss


class HingeLossFunction(ArrayFunction):
    """``max(0, margin - y * s)`` elementwise, labels y in {-1, +1}."""

    @staticmethod
    def forward(ctx, s, y, margin, reduction):
        z = margin - y * s
        active = z > 0
        per = np.where(active, z, 0).astype(s.dtype, copy=False)
        ctx.save_for_backward(y, active)
        ctx.reduction = reduction
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        y, active = ctx.saved_tensors
        g = _reduced_grad(grad, active.shape, ctx.reduction)
        ds = np.where(active, -y * g, 0).astype(grad.dtype, copy=False)
        return ds, None, None, None


def hinge_loss(input, target, margin=1.0, reduction="mean"):
    """Binary hinge loss of a linear SVM: ``max(0, margin - target * input)``, reduced.

    pynn-specific. Unlike ``torch.nn.HingeEmbeddingLoss`` (a loss on distances), this is the
    classifier loss on raw scores: ``input`` is a score ``s`` (positive means class +1) and
    ``target`` a label in {-1, +1}. The target is not differentiated.

    Parameters
    ----------
    input : Tensor of any shape
        Scores.
    target : Tensor or ndarray of the input's shape
        Labels -1 or +1 (for {0, 1} labels pass ``2 * y - 1``).
    margin : float
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the input's shape with ``reduction="none"``.
    """
    _reduction("hinge_loss", reduction)
    x, t = _data(input), np.asarray(_data(target))
    _float_operands("hinge_loss", input=x)
    if t.shape != x.shape:
        raise ValueError(f"hinge_loss: target shape {t.shape} must equal input shape {x.shape}")
    if t.size and not np.all((t == 1) | (t == -1)):
        raise ValueError("hinge_loss: target must hold labels -1 or +1 (for {0, 1} labels "
                         "pass 2 * y - 1)")
    return HingeLossFunction.apply(input, t.astype(x.dtype, copy=False), float(margin),
                                   reduction)


# ---------------------------------------------------------------------------------------------
# Attention (appended with pynn.nn's attention layers; autograd nodes in pynn/ops/attention.py)

from ..ops.attention import (
    MultiheadAttentionFunction,
    ScaledDotProductAttentionFunction,
    additive_mask,
    is_causal_mask,
)
from ..tensor import cat as _cat

__all__ += ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _mask_array(op, name, mask):
    """A mask argument (Tensor, ndarray or array_like) as an ndarray of bool or float."""
    m = _data(mask)
    if not isinstance(m, np.ndarray):
        m = np.asarray(m)
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise TypeError(f"{op}: only bool and floating types of {name} are supported, got "
                        f"{m.dtype}")
    return m


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query key^T * scale + mask) value`` over the last two dimensions.

    As ``torch.nn.functional.scaled_dot_product_attention``, in one autograd node. A query
    that sees no key at all gets weights 0 and output 0 (as PyTorch's CPU kernels).

    Parameters
    ----------
    query : Tensor of shape (*, L, E)
    key : Tensor of shape (*, S, E)
    value : Tensor of shape (*, S, Ev)
        The leading dimensions broadcast together.
    attn_mask : Tensor or ndarray broadcastable to (*, L, S), optional
        Bool: True marks a key that takes part (False hides it). Float: added to the scores
        (and differentiated when it is a Tensor that requires grad).
    dropout_p : float
        Dropout on the attention weights, applied whenever ``dropout_p > 0`` (as in
        PyTorch: pass ``dropout_p=p if training else 0.0``); the mask comes from pynn's
        generator.
    is_causal : bool
        Hide key j from query i when j > i (top-left aligned when L != S); not combinable
        with ``attn_mask``.
    scale : float, optional
        Default ``1 / sqrt(E)``.
    enable_gqa : bool
        Grouped-query attention: query has Hq heads in dim -3 and key/value Hk, Hk dividing
        Hq; query head h uses key/value head ``h // (Hq / Hk)``.

    Returns
    -------
    Tensor of shape (*, L, Ev)
    """
    op = "scaled_dot_product_attention"
    q, k, v = _data(query), _data(key), _data(value)
    _float_operands(op, query=q, key=k, value=v)
    for name, arr in (("query", q), ("key", k), ("value", v)):
        if arr.ndim < 2:
            raise ValueError(f"{op}: {name} must have shape (*, {'L' if name == 'query' else 'S'}"
                             f", E), got {arr.shape}")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"{op}: key must have E = {q.shape[-1]} features like query "
                         f"{q.shape}, got {k.shape}")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"{op}: value must have S = {k.shape[-2]} rows like key {k.shape}, "
                         f"got {v.shape}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        key, value = _repeat_kv_heads(op, q, key, value)
        k, v = _data(key), _data(value)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the leading dimensions of query {q.shape}, key {k.shape} and "
                         f"value {v.shape} do not broadcast") from None
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got "
                         f"{dropout_p}")
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(f"{op}: explicit attn_mask should not be set when "
                               "is_causal=True")
        m = _mask_array(op, "attn_mask", attn_mask)
        target = tuple(batch) + (q.shape[-2], k.shape[-2])
        try:
            ok = np.broadcast_shapes(m.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}: attn_mask of shape {m.shape} does not broadcast to "
                             f"(*, L, S) = {target}")
        if m.dtype == np.bool_:
            mask = additive_mask(m, q.dtype, true_hides=False)
        else:
            mask = attn_mask if isinstance(attn_mask, Tensor) else m
    return ScaledDotProductAttentionFunction.apply(
        query, key, value, mask, bool(is_causal), None if scale is None else float(scale),
        float(dropout_p))


def _repeat_kv_heads(op, q, key, value):
    """Grouped-query attention: key/value heads (dim -3) repeated to query's count."""
    hq, hk = q.shape[-3], _data(key).shape[-3]
    if hk == 0 or hq % hk or _data(value).shape[-3] != hk:
        raise ValueError(f"{op}: with enable_gqa, query's {hq} heads (dim -3) must be a "
                         f"multiple of key's and value's, got shapes {q.shape}, "
                         f"{_data(key).shape}, {_data(value).shape}")
    g = hq // hk

    def repeat(t):
        t = _tensor(t)
        shape = t.shape
        expanded = t.unsqueeze(-3).expand(*shape[:-2], g, *shape[-2:])
        return expanded.reshape(*shape[:-3], hq, *shape[-2:])

    return repeat(key), repeat(value)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention, sequence-first (``torch.nn.functional.multi_head_attention_forward``).

    The function behind :class:`pynn.nn.MultiheadAttention`, with E = ``embed_dim_to_check``.

    Parameters
    ----------
    query : Tensor of shape (L, N, E) or (L, E)
    key : Tensor of shape (S, N, kdim) or (S, kdim)
    value : Tensor of shape (S, N, vdim) or (S, vdim)
    embed_dim_to_check : int
        E; the query's last dimension must equal it.
    num_heads : int
        Must divide E.
    in_proj_weight : Tensor of shape (3E, E), or None
        The packed q, k, v projections (None with ``use_separate_proj_weight``).
    in_proj_bias : Tensor of shape (3E,), or None
    bias_k, bias_v : Tensor of shape (1, 1, E), or None
        Appended to the projected keys and values as one more source position.
    add_zero_attn : bool
        Append a zero key and value after the projections.
    dropout_p : float
        Dropout on the attention weights (only when ``training``).
    out_proj_weight : Tensor of shape (E, E)
    out_proj_bias : Tensor of shape (E,), or None
    training : bool
    key_padding_mask : bool or float mask of shape (N, S) or (S,), optional
        Bool: True marks a padded key, which no query sees. Float: added to the scores.
    need_weights : bool
        Also return the attention weights.
    attn_mask : bool or float mask of shape (L, S) or (N * num_heads, L, S), optional
        Bool: True hides a key from a query. Float: added to the scores.
    use_separate_proj_weight : bool
        Project with ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``.
    q_proj_weight, k_proj_weight, v_proj_weight : Tensor of shape (E, E), (E, kdim), (E, vdim)
        Optional; used with ``use_separate_proj_weight``.
    static_k, static_v : None
        Not supported (anything else raises NotImplementedError).
    average_attn_weights : bool
        Average the returned weights over the heads.
    is_causal : bool
        Hide key j from query i when j > i (``attn_mask``, if given, is taken to be that
        mask).

    Returns
    -------
    attn_output : Tensor of shape (L, N, E) or (L, E)
    attn_weights : Tensor of shape (N, L, S) or (N, num_heads, L, S), or None
        Without N for unbatched input; None unless ``need_weights``.
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k and static_v are "
                                  "not supported")
    proj = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    return _multi_head_attention(
        "multi_head_attention_forward", query, key, value, int(embed_dim_to_check),
        int(num_heads), in_proj_weight, in_proj_bias, proj, bias_k, bias_v, add_zero_attn,
        float(dropout_p) if training else 0.0, out_proj_weight, out_proj_bias,
        key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal, False)


def _multi_head_attention(who, query, key, value, embed_dim, num_heads, in_proj_weight,
                          in_proj_bias, proj_weights, bias_k, bias_v, add_zero_attn, dropout_p,
                          out_proj_weight, out_proj_bias, key_padding_mask, need_weights,
                          attn_mask, average_attn_weights, is_causal, batch_first):
    """The body of multi-head attention, in either token layout.

    ``who`` names the caller in error messages; ``proj_weights`` is None (packed
    ``in_proj_weight``) or the three separate projection weights; ``dropout_p`` is already 0
    outside training. Projections are GEMMs over all tokens (one for self-attention), the
    heads are the B axis of the attention kernel.
    """
    self_attn = query is key and key is value
    kv_same = key is value
    q, k, v = _data(query), _data(key), _data(value)
    for name, arr in (("query", q), ("key", k), ("value", v)):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(arr).__name__}")
    w0 = _data(in_proj_weight if proj_weights is None else proj_weights[0])
    _float_operands(who, query=q, key=k, value=v, weight=w0)
    if q.ndim not in (2, 3):
        layout = "(N, L, E)" if batch_first else "(L, N, E)"
        raise ValueError(f"{who}: query must have shape {layout} or, unbatched, (L, E); got "
                         f"{q.ndim}-D shape {q.shape}")
    if k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"{who}: for a {q.ndim}-D query, key and value must be {q.ndim}-D too, "
                         f"got shapes {k.shape} and {v.shape}")
    batched = q.ndim == 3
    shapes = {"query": q.shape, "key": k.shape, "value": v.shape}  # as given, for messages
    if not batched:  # one sequence: a batch of one, sequence-first
        batch_first = False
        query = _tensor(query).unsqueeze(1)
        key = query if self_attn else _tensor(key).unsqueeze(1)
        value = key if kv_same else _tensor(value).unsqueeze(1)
        q, k, v = query._data, key._data, value._data
    sa, ba = (1, 0) if batch_first else (0, 1)
    e = embed_dim
    kdim = e if proj_weights is None else _data(proj_weights[1]).shape[1]
    vdim = e if proj_weights is None else _data(proj_weights[2]).shape[1]
    for name, arr, dim, dim_name in (("query", q, e, "embed_dim"), ("key", k, kdim, "kdim"),
                                     ("value", v, vdim, "vdim")):
        if arr.shape[-1] != dim:
            raise ValueError(f"{who}: expected {name} with {dim_name}={dim} features (last "
                             f"dimension), got shape {shapes[name]}")
    if num_heads <= 0 or e % num_heads:
        raise ValueError(f"{who}: embed_dim {e} is not divisible by num_heads {num_heads}")
    n, l, s = q.shape[ba], q.shape[sa], k.shape[sa]
    if k.shape[ba] != n:
        raise ValueError(f"{who}: key has batch size {k.shape[ba]} but query has {n} (shapes "
                         f"{k.shape} and {q.shape}, batch_first={batch_first})")
    if v.shape[:2] != k.shape[:2]:
        raise ValueError(f"{who}: key's sequence and batch dims {k.shape[:2]} do not match "
                         f"value's {v.shape[:2]}")

    # -- projections: GEMMs over all tokens at once
    w = _tensor(in_proj_weight) if proj_weights is None else None
    bias = None if in_proj_bias is None else _tensor(in_proj_bias)
    if proj_weights is None and self_attn:
        inputs = (linear(query, w, bias),)
        layout = ((0, 0), (0, e), (0, 2 * e))
    elif proj_weights is None and kv_same:
        inputs = (linear(query, w[:e], None if bias is None else bias[:e]),
                  linear(key, w[e:], None if bias is None else bias[e:]))
        layout = ((0, 0), (1, 0), (1, e))
    else:
        ws = (w[:e], w[e:2 * e], w[2 * e:]) if proj_weights is None else proj_weights
        bs = (None,) * 3 if bias is None else (bias[:e], bias[e:2 * e], bias[2 * e:])
        inputs = tuple(linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bs))
        layout = ((0, 0), (1, 0), (2, 0))

    pad = 0
    if bias_k is not None or bias_v is not None or add_zero_attn:
        qp, kp, vp = (inputs[i] if inputs[i].shape[-1] == e else inputs[i][..., c:c + e]
                      for i, c in layout)
        row = (n, 1, e) if batch_first else (1, n, e)
        if bias_k is not None or bias_v is not None:
            if bias_k is None or bias_v is None:
                raise ValueError(f"{who}: bias_k and bias_v must be given together")
            kp = _cat([kp, _tensor(bias_k).expand(*row)], dim=sa)
            vp = _cat([vp, _tensor(bias_v).expand(*row)], dim=sa)
            pad += 1
        if add_zero_attn:
            zeros = Tensor(np.zeros(row, q.dtype))
            kp = _cat([kp, zeros], dim=sa)
            vp = _cat([vp, zeros], dim=sa)
            pad += 1
        inputs = (qp, kp, vp)
        layout = ((0, 0), (1, 0), (2, 0))
    s_all = s + pad

    # -- masks: one additive array broadcastable to (N * heads, L, S)
    kpm = am = None
    if key_padding_mask is not None:
        kpm = _mask_array(who, "key_padding_mask", key_padding_mask)
        expected = (n, s) if batched else (s,)
        if kpm.shape != expected:
            raise ValueError(f"{who}: key_padding_mask must have shape {expected} (batch, source "
                             f"length), got {kpm.shape}")
        kpm = additive_mask(kpm.reshape(n, s), q.dtype, true_hides=True)
        if pad:
            kpm = np.pad(kpm, ((0, 0), (0, pad)))
    if attn_mask is not None and not is_causal:
        am = _mask_array(who, "attn_mask", attn_mask)
        if am.ndim == 2:
            if am.shape != (l, s):
                raise ValueError(f"{who}: the shape of the 2D attn_mask is {am.shape}, but should "
                                 f"be {(l, s)} (target length, source length)")
        elif am.ndim == 3:
            if am.shape != (n * num_heads, l, s):
                raise ValueError(f"{who}: the shape of the 3D attn_mask is {am.shape}, but should "
                                 f"be {(n * num_heads, l, s)} (batch * num_heads, target length, "
                                 "source length)")
        else:
            raise ValueError(f"{who}: attn_mask must have shape (L, S) or (N * num_heads, L, S), "
                             f"got {am.ndim}-D shape {am.shape}")
        am = additive_mask(am, q.dtype, true_hides=True)
        if pad:
            am = np.pad(am, ((0, 0),) * (am.ndim - 1) + ((0, pad),))
    causal = bool(is_causal)
    if am is not None and am.ndim == 2 and is_causal_mask(am, l, s_all):
        am, causal = None, True  # the kernel's causal flag: no mask to read
    mask = am
    if kpm is not None:
        per_head = np.broadcast_to(kpm[:, None, None, :], (n, num_heads, 1, s_all))
        per_head = per_head.reshape(n * num_heads, 1, s_all)
        mask = per_head if am is None else am + per_head

    args = (*inputs, *(None,) * (3 - len(inputs)), layout, e, num_heads, batch_first, mask,
            causal, float(dropout_p), bool(need_weights))
    weights = None
    if need_weights:
        out, ctx = MultiheadAttentionFunction.apply_with_ctx(*args)
        weights = ctx.weights.reshape(n, num_heads, l, s_all)
        if average_attn_weights:
            weights = weights.mean(axis=1)
        weights = Tensor(weights if batched else weights[0])
    else:
        out = MultiheadAttentionFunction.apply(*args)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    return out, weights
# Embedding (appended with pynn.nn.Embedding; autograd node in pynn/ops/embedding.py)

from ..ops.embedding import EmbeddingFunction

__all__ += ["embedding"]


def _padding_idx(op, padding_idx, num_embeddings):
    """PyTorch's rule: ``padding_idx`` in [-num_embeddings, num_embeddings), negative counts
    from the end; returns it in [0, num_embeddings) or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings ({num_embeddings}), "
                         f"got {padding_idx}")
    return int(padding_idx) % num_embeddings


def _embedding_indices(op, input, num_embeddings):
    """The index array of an embedding lookup: integers in [0, num_embeddings)."""
    idx = _data(input)
    if not isinstance(idx, np.ndarray):
        idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer index tensor (int64 or int32), got dtype "
                        f"{idx.dtype} (shape {idx.shape}); convert it with .long()")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of range for {num_embeddings} "
                             f"embeddings (valid indices are 0 .. {num_embeddings - 1})")
    return idx.astype(np.intp, copy=False)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``: rescale, in place and outside the graph, the rows
    that ``idx`` uses whose ``norm_type``-norm exceeds ``max_norm``."""
    rows = np.unique(idx)
    w = weight[rows]
    norms = np.linalg.norm(w.astype(np.float64), ord=norm_type, axis=1)
    over = norms > max_norm
    if np.any(over):
        scale = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype)
        weight[rows[over]] = w[over] * scale[:, None]


def _embedding(op, input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq,
               sparse):
    if sparse:
        raise NotImplementedError(f"{op}: sparse=True is not supported (pynn has no sparse "
                                  "gradients; the dense gradient is the same values)")
    w = _data(weight)
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype not in _FLOATS:
        raise ValueError(f"{op}: weight must be a float32/float64 Tensor of shape "
                         f"(num_embeddings, embedding_dim), got "
                         f"{getattr(w, 'shape', type(w).__name__)} {getattr(w, 'dtype', '')}")
    idx = _embedding_indices(op, input, w.shape[0])
    padding_idx = _padding_idx(op, padding_idx, w.shape[0])
    if max_norm is not None:
        _embedding_renorm(w, idx, float(max_norm), float(norm_type))
    return EmbeddingFunction.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (``torch.nn.functional.embedding``).

    Parameters
    ----------
    input : integer Tensor/ndarray of any shape, values in [0, num_embeddings)
    weight : Tensor of shape (num_embeddings, embedding_dim)
    padding_idx : int, optional
        This row gets no gradient (negative counts from the end).
    max_norm : float, optional
        Rows used whose ``norm_type``-norm exceeds it are rescaled to it, in place in
        ``weight``, before the lookup (as PyTorch).
    norm_type : float
        The p of the p-norm for ``max_norm``.
    scale_grad_by_freq : bool
        Divide each row's gradient by the number of times its index occurs in ``input``.
    sparse : bool
        Only False is implemented (pynn has no sparse gradients).

    Returns
    -------
    Tensor of shape ``input.shape + (embedding_dim,)``
    """
    return _embedding("embedding", input, weight, padding_idx, max_norm, norm_type,
                      scale_grad_by_freq, sparse)
