"""Differentiable functions with the names and signatures of ``torch.nn.functional``.

``pynn.nn.functional``: differentiable functions with ``torch.nn.functional``'s names and
signatures (``pynn.functional`` is the same module under an older name)::

    import pynn.nn.functional as F
    loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)

Families, in this order: linear and 2-D convolution; pooling; the kernel-backed activations,
softmax family and dropout; classification and regression losses; normalisation; attention;
embedding; then the functions without a kernel of their own (NumPy nodes in
``pynn/ops/<family>.py`` or compositions of Tensor ops): the other activations, 1-D and
transposed convolution, ``unfold``/``fold``, ``pad``, 1-D and adaptive pooling,
``interpolate``, pixel shuffle, the distance and margin losses, channel and alpha dropout,
group/instance/local-response normalisation, ``bilinear``, ``embedding_bag``.

Inputs are :class:`pynn.Tensor` (ndarrays are accepted as constants). Hot paths run on the
active backend's kernels (``gemm``, convolution, pooling, the softmax family, activations,
``bias_grad``); kernel-backed ops need float32 or float64 operands of one dtype and raise a
TypeError naming the op otherwise. PyTorch's deprecated ``size_average``/``reduce`` are
turned into ``reduction`` with PyTorch's warning.

Not implemented (NotImplementedError): ``dilation`` in pooling, ``ceil_mode`` in average
pooling, ``divisor_override``, bicubic interpolation, bicubic ``grid_sample``.
"""

import warnings

import numpy as np

from ..autograd import ArrayFunction
from ..backend import _checks
from ..ops.activation import (
    GeluFunction,
    GluFunction,
    LeakyReluFunction,
    PointwiseFunction,
    PReluFunction,
    ReluFunction,
    SigmoidFunction,
    TanhFunction,
)
from ..ops.attention import (
    MultiheadAttentionFunction,
    ScaledDotProductAttentionFunction,
    additive_mask,
    is_causal_mask,
)
from ..ops.conv import (
    Conv2dFunction,
    ConvTranspose2dFunction,
    FoldFunction,
    PadFunction,
    UnfoldFunction,
    pad_index,
)
from ..ops.ctc import ctc_loss
from ..ops.elementwise import MulFunction
from ..ops.embedding import EmbeddingFunction
from ..ops.grid import affine_grid, grid_sample
from ..ops.loss import (
    BCEFunction,
    BCEWithLogitsFunction,
    MSELossFunction,
    PairwiseLossFunction,
    _reduce,
    _reduced_grad,
)
from ..ops.matmul import LinearFunction
from ..ops.norm import BatchNormFunction, LayerNormFunction
from ..ops.pool import (
    AdaptiveMaxPoolFunction,
    AvgPool2dFunction,
    MaxPool2dFunction,
    SeparableMapFunction,
    adaptive_bins,
)
from ..ops.softmax import CrossEntropyFunction, LogSoftmaxFunction, NLLLossFunction, SoftmaxFunction
from ..random import get_generator
from ..tensor import Tensor, _wrap
from ..tensor import cat as _cat
from ..tensor import stack as _stack

__all__ = [
    "avg_pool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "flatten",
    "gelu",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]

_FLOATS = _checks.FLOAT_DTYPES
# The kernels' dtype rule and message, in one place for both layers.
_float_operands = _checks.float_arrays
_REDUCTIONS = ("mean", "sum", "none")


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _tensor(x):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x), None)


def _legacy(op, size_average, reduce, reduction="mean"):
    """The reduction that PyTorch's deprecated ``size_average`` / ``reduce`` arguments ask
    for (with PyTorch's warning), or ``reduction`` when both are None."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


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
    if x.shape[1] != w.shape[1] * groups:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels but weight expects "
                         f"{w.shape[1] * groups} (input shape {x.shape}, weight shape "
                         f"{w.shape}, groups={groups})")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},), got {b.shape}")
    padding = _conv_padding(padding, w.shape, stride, dilation)
    if groups != 1:
        return _grouped("conv2d", input, weight, bias, groups, 1,
                        lambda xg, wg, bg: Conv2dFunction.apply(xg, wg, bg, stride, padding,
                                                                dilation, relu, pool))
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
    groups : int
        Channels split into this many groups, convolved separately.

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
        Round the output size up: windows overhanging the bottom/right edge are kept.
    return_indices : bool
        Also return the indices of the maxima.

    Returns
    -------
    Tensor of shape (N, C, oH, oW) (or (C, oH, oW))
        ``oH = (H + 2 pH - kH) // sH + 1``, ``oW`` likewise.
    indices : int64 Tensor of the same shape, with ``return_indices``
        The flat position ``h * W + w`` of each maximum in its (H, W) plane.
    """
    if dilation != 1 and _tuple(dilation, 2, "dilation", "max_pool2d") != (1, 1):
        raise NotImplementedError("max_pool2d: dilation is not supported")
    if ceil_mode:
        return _max_pool2d_ceil(input, kernel_size, stride, padding, return_indices)
    if _pool_input("max_pool2d", input):
        res = max_pool2d(_tensor(input).unsqueeze(0), kernel_size, stride, padding,
                         return_indices=return_indices)
        if return_indices:
            return res[0].squeeze(0), res[1].squeeze(0)
        return res.squeeze(0)
    stride = stride or None
    if return_indices:
        out, ctx = MaxPool2dFunction.apply_with_ctx(input, kernel_size, stride, padding)
        return out, _wrap(ctx.saved_tensors[0], None)
    return MaxPool2dFunction.apply(input, kernel_size, stride, padding)


def _max_pool2d_ceil(input, kernel_size, stride, padding, return_indices):
    """``ceil_mode=True``: the windows that overhang the bottom/right edge are kept. The input
    gets -inf rows/columns there (never a maximum) and is pooled as usual."""
    x = _data(input)
    k = _tuple(kernel_size, 2, "kernel_size", "max_pool2d")
    s = k if stride is None or stride == () else _tuple(stride, 2, "stride", "max_pool2d")
    p = _tuple(padding, 2, "padding", "max_pool2d")
    extra = []
    for n, ki, si, pi in zip(x.shape[-2:], k, s, p):
        out = -(-(n + 2 * pi - ki) // si) + 1
        if (out - 1) * si >= n + pi:  # the last window would start in the right padding
            out -= 1
        extra.append(max((out - 1) * si + ki - (n + 2 * pi), 0))
    if not any(extra):
        return max_pool2d(input, k, s, p, return_indices=return_indices)
    padded = pad(input, (0, extra[1], 0, extra[0]), value=-np.inf)
    res = max_pool2d(padded, k, s, p, return_indices=return_indices)
    if not return_indices:
        return res
    idx = res[1]._data
    w_pad = x.shape[-1] + extra[1]
    return res[0], _wrap((idx // w_pad) * x.shape[-1] + idx % w_pad, None)


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
        Write the result into ``input`` when it is outside the autograd graph (else the
        same values out of place).

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if inplace:
        return _maybe_inplace(input, ReluFunction.apply(input), True)
    return ReluFunction.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, else ``negative_slope * input``.

    Parameters
    ----------
    input : Tensor of any shape
    negative_slope : float
    inplace : bool
        Write the result into ``input`` when it is outside the autograd graph.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if inplace:
        return _maybe_inplace(input, LeakyReluFunction.apply(input, float(negative_slope)), True)
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


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim``: ``exp(x) / sum(exp(x))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
        Any dimension (the kernels see it moved last). None: PyTorch's deprecated implicit
        choice (dim 0 for 0-, 1- and 3-D input, else dim 1), with its warning.
    _stacklevel : int
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("softmax", input, _stacklevel)
    return SoftmaxFunction.apply(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(input, dim))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
    _stacklevel : int
    dtype : numpy dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dtype is not None:
        input = _tensor(input).to(dtype)
    if dim is None:
        dim = _implicit_dim("log_softmax", input, _stacklevel)
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
        Class weights.
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
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
    reduction = _legacy("cross_entropy", size_average, reduce, reduction)
    _reduction("cross_entropy", reduction)
    t = _data(target)
    if isinstance(t, np.ndarray) and t.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    x2, labels, out_shape = _class_layout("cross_entropy", input, target)
    if weight is not None:
        logp = log_softmax(_tensor(input), 1 if _data(input).ndim > 1 else 0)
        if label_smoothing:
            return _weighted_smoothed_ce(logp, target, weight, ignore_index, reduction,
                                         float(label_smoothing))
        return nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    loss = CrossEntropyFunction.apply(x2, labels, int(ignore_index), float(label_smoothing),
                                      reduction)
    if reduction == "none" and out_shape != loss.shape:
        loss = loss.reshape(out_shape)
    return loss


def _weighted_smoothed_ce(logp, target, weight, ignore_index, reduction, eps):
    """Cross-entropy with class weights and label smoothing: ``(1 - eps)`` times the weighted
    NLL plus ``eps / C`` times the weighted sum of ``-log p`` over all classes; the mean
    divides both by the summed weights of the (not ignored) targets."""
    x = _data(logp)
    dim = 1 if x.ndim > 1 else 0
    c = x.shape[dim]
    t = np.asarray(_data(target))
    w = np.asarray(_data(weight), dtype=x.dtype)
    keep = (t != ignore_index)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction="none")
    w_shape = (-1,) + (1,) * (x.ndim - 2) if x.ndim > 1 else (-1,)
    smooth = -(logp * w.reshape(w_shape)).sum(dim) * keep.astype(x.dtype)
    per = nll * (1.0 - eps) + smooth * (eps / c)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / float(w[np.where(keep, t, 0)][keep].sum())


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
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    ignore_index : int
        Samples with this label contribute nothing and are not counted by the mean.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the target's shape with ``reduction="none"``.
    """
    reduction = _legacy("nll_loss", size_average, reduce, reduction)
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
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the broadcast shape with ``reduction="none"``.
    """
    reduction = _legacy("mse_loss", size_average, reduce, reduction)
    _reduction("mse_loss", reduction)
    if np.shape(_data(input)) != np.shape(_data(target)):
        _check_target_size("mse_loss", input, target)
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
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of the input's shape with ``reduction="none"``.
    """
    reduction = _legacy("binary_cross_entropy", size_average, reduce, reduction)
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
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}
    pos_weight : Tensor broadcastable to the input's shape, optional
        Weight of the positive term, typically one per class (last dimension); not
        differentiated.

    Returns
    -------
    Tensor
        0-d, or of the input's shape with ``reduction="none"``.
    """
    reduction = _legacy("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    _reduction("binary_cross_entropy_with_logits", reduction)
    _, w = _binary_args("binary_cross_entropy_with_logits", input, target, weight)
    return BCEWithLogitsFunction.apply(input, target, w, _data(pos_weight), reduction)


# ---------------------------------------------------------------------------------------------
# Normalisation (appended with pynn.nn; autograd nodes in pynn/ops/norm.py)


__all__ += ["batch_norm", "hinge_loss", "layer_norm", "multi_margin_loss"]


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
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d, or of shape (N,) (``()`` for unbatched input) with ``reduction="none"``.
    """
    reduction = _legacy("multi_margin_loss", size_average, reduce, reduction)
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
            zeros = _wrap(np.zeros(row, q.dtype), None)
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
        weights = _wrap(weights if batched else weights[0], None)
    else:
        out = MultiheadAttentionFunction.apply(*args)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    return out, weights
# Embedding (appended with pynn.nn.Embedding; autograd node in pynn/ops/embedding.py)


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


# ---------------------------------------------------------------------------------------------
# More activations (NumPy nodes in pynn/ops/activation.py)



__all__ += [
    "celu",
    "elu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "selu",
    "silu",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _maybe_inplace(input, out, inplace):
    """PyTorch's ``inplace=True``: the result written into ``input``'s storage when ``input``
    is outside the graph (nothing to differentiate through); otherwise the out-of-place result,
    which has the same values."""
    if not (inplace and isinstance(input, Tensor)):
        return out
    if out.requires_grad:
        return input._take_result(out)  # in the graph: input becomes the recorded result
    if input._data.flags.writeable and input._data.shape == out._data.shape:
        np.copyto(input._data, out._data)
        return input
    return out


def _pointwise(name, input, args=(), inplace=False):
    out = PointwiseFunction.apply(input, name, args)
    return _maybe_inplace(input, out, inplace) if inplace else out


def elu(input, alpha=1.0, inplace=False):
    """``x`` where positive, else ``alpha (exp(x) - 1)``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (float(alpha), 1.0, 1.0), inplace)


def selu(input, inplace=False):
    """``scale * elu(x, alpha)`` with the self-normalising constants of Klambauer et al.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (_SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("elu", input, (float(alpha), 1.0, 1.0 / alpha), inplace)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (swish).

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("silu", input, (), inplace)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("mish", input, (), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    Parameters
    ----------
    input : Tensor of any shape
    beta, threshold : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("softplus", input, (float(beta), float(threshold)))


def softsign(input):
    """``x / (1 + |x|)``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("softsign", input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``x`` clipped to ``[min_val, max_val]``.

    Parameters
    ----------
    input : Tensor of any shape
    min_val, max_val : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _pointwise("hardtanh", input, (float(min_val), float(max_val)), inplace)


def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardswish", input, (), inplace)


def hardsigmoid(input, inplace=False):
    """``relu6(x + 3) / 6``.

    Parameters
    ----------
    input : Tensor of any shape
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardsigmoid", input, (), inplace)


def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("logsigmoid", input)


def tanhshrink(input):
    """``x - tanh(x)``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("tanhshrink", input)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    Parameters
    ----------
    input : Tensor of any shape
    lambd : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("softshrink", input, (float(lambd),))


def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0.

    Parameters
    ----------
    input : Tensor of any shape
    lambd : float

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("hardshrink", input, (float(lambd),))


def threshold(input, threshold, value, inplace=False):
    """``x`` where ``x > threshold``, else ``value``.

    Parameters
    ----------
    input : Tensor of any shape
    threshold, value : float
    inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _pointwise("threshold", input, (float(threshold), float(value)), inplace)


def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)``, ``weight`` one value or one per channel (dim 1).

    Parameters
    ----------
    input : Tensor of shape (N, C, *) (or any shape with a single weight)
    weight : Tensor of shape (1,) or (C,)

    Returns
    -------
    Tensor of the shape of ``input``
    """
    x, w = _data(input), _data(weight)
    if w.size != 1 and (x.ndim < 2 or w.size != x.shape[1]):
        raise ValueError(f"prelu: weight has {w.size} values but the input of shape {x.shape} "
                         f"has {x.shape[1] if x.ndim > 1 else 1} channels (dim 1)")
    return PReluFunction.apply(input, weight)


def glu(input, dim=-1):
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the halves of ``input`` on ``dim``.

    Parameters
    ----------
    input : Tensor of any shape, with an even size along ``dim``
    dim : int

    Returns
    -------
    Tensor with half the size along ``dim``
    """
    x = _data(input)
    if x.shape[dim] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} is size "
                         f"{x.shape[dim]}")
    return GluFunction.apply(input, dim % x.ndim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-input, dim)``.

    Parameters
    ----------
    input : Tensor of any shape
    dim : int
    _stacklevel : int
    dtype : numpy dtype, optional

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if dim is None:
        dim = _implicit_dim("softmin", input, _stacklevel)
    return softmax(-_tensor(input), dim, dtype=dtype)


def _implicit_dim(op, input, stacklevel):
    """PyTorch's deprecated choice of dimension for the softmax family, with its warning."""
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=stacklevel + 1)
    return 0 if np.ndim(_data(input)) in (0, 1, 3) else 1


# ---------------------------------------------------------------------------------------------
# Convolution family beyond conv2d

__all__ += ["conv1d", "conv_transpose1d", "conv_transpose2d", "fold", "pad", "unfold"]


def _tuple(v, n, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


def _grouped(op, input, weight, bias, groups, in_axis, fn):
    """Run ``fn(x, w, b)`` on each of ``groups`` channel groups and join the outputs along
    dim 1. ``in_axis`` is the weight's dimension that holds input channels (1 for a
    convolution, 0 for a transposed one)."""
    x, w = _data(input), _data(weight)
    c = x.shape[1]
    if groups < 1 or c % groups or w.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels ({c}) and the "
                         f"weight's first dimension ({w.shape[0]})")
    cin = c // groups
    rows = w.shape[0] // groups
    out_per = rows if in_axis == 1 else w.shape[1]
    outs = []
    x_t, w_t = _tensor(input), _tensor(weight)
    b_t = None if bias is None else _tensor(bias)
    for g in range(groups):
        xs = x_t[:, g * cin:(g + 1) * cin]
        ws = w_t[g * rows:(g + 1) * rows]
        bs = None if b_t is None else b_t[g * out_per:(g + 1) * out_per]
        outs.append(fn(xs, ws, bs))
    return _cat(outs, 1)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation), NCL: :func:`conv2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    weight : Tensor of shape (out_channels, C / groups, k)
    bias : Tensor of shape (out_channels,), optional
    stride, dilation : int
    padding : int, "valid" or "same"
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oL), ``oL = (L + 2 p - d (k - 1) - 1) // s + 1``
    """
    x, w = _data(input), _data(weight)
    if x.ndim not in (2, 3):
        raise ValueError(f"conv1d: input must have shape (N, C, L) or (C, L), got {x.shape}")
    if w.ndim != 3:
        raise ValueError(f"conv1d: weight must have shape (out_channels, in_channels, k), got "
                         f"{w.shape}")
    (s,), (d,) = _tuple(stride, 1, "stride", "conv1d"), _tuple(dilation, 1, "dilation", "conv1d")
    p = padding if isinstance(padding, str) else (0, _tuple(padding, 1, "padding", "conv1d")[0])
    xt = _tensor(input).unsqueeze(-2)
    out = conv2d(xt, _tensor(weight).unsqueeze(2), bias, (1, s), p, (1, d), groups)
    return out.squeeze(-2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the adjoint of :func:`conv2d`), NCHW.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    weight : Tensor of shape (C, out_channels / groups, kH, kW)
    bias : Tensor of shape (out_channels,), optional
    stride, padding, output_padding, dilation : int or (int, int)
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oH, oW),
    ``oH = (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1`` (``oW`` likewise)
    """
    x, w, b = _data(input), _data(weight), _data(bias)
    _float_operands("conv_transpose2d", input=x, weight=w, bias=b)
    if w.ndim != 4:
        raise ValueError(f"conv_transpose2d: weight must have shape (in_channels, "
                         f"out_channels / groups, kH, kW), got {w.shape}")
    if x.ndim == 3:
        return conv_transpose2d(_tensor(input).unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    if x.ndim != 4:
        raise ValueError(f"conv_transpose2d: input must have shape (N, C, H, W) or (C, H, W), "
                         f"got {x.shape}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"conv_transpose2d: input has {x.shape[1]} channels but weight "
                         f"expects {w.shape[0]} (input shape {x.shape}, weight shape {w.shape})")
    s = _tuple(stride, 2, "stride", "conv_transpose2d")
    p = _tuple(padding, 2, "padding", "conv_transpose2d")
    op = _tuple(output_padding, 2, "output_padding", "conv_transpose2d")
    d = _tuple(dilation, 2, "dilation", "conv_transpose2d")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than either "
                         f"stride {s} or dilation {d}")
    out_hw = tuple((n - 1) * si - 2 * pi + di * (k - 1) + o + 1
                   for n, si, pi, di, k, o in zip(x.shape[2:], s, p, d, w.shape[2:], op))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: output size {out_hw} is too small (input shape "
                         f"{x.shape}, weight shape {w.shape})")
    if any(o >= si for o, si in zip(op, s)):
        raise NotImplementedError("conv_transpose2d: output_padding must be smaller than "
                                  "stride")

    def one(xg, wg, bg):
        return ConvTranspose2dFunction.apply(xg, wg, bg, s, p, d, out_hw)

    if groups != 1:
        return _grouped("conv_transpose2d", input, weight, bias, groups, 0, one)
    return one(input, weight, bias)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution, NCL: :func:`conv_transpose2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    weight : Tensor of shape (C, out_channels / groups, k)
    bias : Tensor of shape (out_channels,), optional
    stride, padding, output_padding, dilation : int
    groups : int

    Returns
    -------
    Tensor of shape (N, out_channels, oL), ``oL = (L - 1) s - 2 p + d (k - 1) + op + 1``
    """
    x = _data(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"conv_transpose1d: input must have shape (N, C, L) or (C, L), got "
                         f"{x.shape}")

    def pair(v, name, lead):
        return (lead, _tuple(v, 1, name, "conv_transpose1d")[0])

    out = conv_transpose2d(_tensor(input).unsqueeze(-2), _tensor(weight).unsqueeze(2), bias,
                           pair(stride, "stride", 1), pair(padding, "padding", 0),
                           pair(output_padding, "output_padding", 0), groups,
                           pair(dilation, "dilation", 1))
    return out.squeeze(-2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a batched image as columns (im2col).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W)
    kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    Tensor of shape (N, C kH kW, L), L the number of blocks
    """
    x = _data(input)
    _float_operands("unfold", input=x)
    if x.ndim != 4:
        raise ValueError(f"unfold: input must have shape (N, C, H, W), got {x.shape}")
    args = [_tuple(v, 2, n, "unfold") for v, n in ((kernel_size, "kernel_size"),
                                                    (dilation, "dilation"),
                                                    (padding, "padding"), (stride, "stride"))]
    return UnfoldFunction.apply(input, *args)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns of blocks back into a batched image (col2im; the adjoint of :func:`unfold`).

    Parameters
    ----------
    input : Tensor of shape (N, C kH kW, L)
    output_size, kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    Tensor of shape (N, C, H, W), ``(H, W) = output_size``
    """
    cols = _data(input)
    _float_operands("fold", input=cols)
    k = _tuple(kernel_size, 2, "kernel_size", "fold")
    if cols.ndim != 3 or cols.shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold: input must have shape (N, C * {k[0]} * {k[1]}, L), got "
                         f"{cols.shape}")
    hw = _tuple(output_size, 2, "output_size", "fold")
    shape = (cols.shape[0], cols.shape[1] // (k[0] * k[1])) + hw
    return FoldFunction.apply(input, shape, k, _tuple(dilation, 2, "dilation", "fold"),
                              _tuple(padding, 2, "padding", "fold"),
                              _tuple(stride, 2, "stride", "fold"))


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative sizes, crop) the trailing dimensions.

    Parameters
    ----------
    input : Tensor of any shape
    pad : tuple of 2 m ints
        ``(left, right)`` of the last dimension, then of the one before, ...
    mode : {"constant", "reflect", "replicate", "circular"}
    value : float, optional
        The fill of ``"constant"`` (default 0).

    Returns
    -------
    Tensor whose padded dimensions grow by ``left + right``
    """
    x = _data(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding length must be even and at most twice the input's "
                         f"dimensions ({x.ndim}), got {len(pad)}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use one of "
                                  f"{_PAD_MODES}")
    if mode != "constant" and value:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    index = []
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left == 0 and right == 0:
            continue
        n = x.shape[axis]
        if mode == "reflect" and (left >= n or right >= n):
            raise ValueError(f"pad: padding size should be less than the corresponding input "
                             f"dimension, but got: padding ({left}, {right}) at dimension "
                             f"{axis} of input {x.shape}")
        if mode == "circular" and (left > n or right > n):
            raise ValueError(f"pad: padding value ({left}, {right}) is larger than the input "
                             f"dimension {axis} of size {n} (circular)")
        if n + left + right < 0:
            raise ValueError(f"pad: the padded size of dimension {axis} is negative")
        idx, valid = pad_index(n, left, right, mode)
        index.append((axis, idx, valid))
    if not index:
        return _tensor(input)
    return PadFunction.apply(input, tuple(index), 0.0 if value is None else float(value))


# ---------------------------------------------------------------------------------------------
# Pooling beyond 2-D max/avg; resampling

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "interpolate",
    "max_pool1d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
]


def _unit_height(op, input):
    x = _data(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: input must have shape (N, C, L) or (C, L), got {x.shape}")
    return _tensor(input).unsqueeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling: :func:`max_pool2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    kernel_size, stride, padding : int
    dilation : 1
    ceil_mode, return_indices : bool

    Returns
    -------
    Tensor of shape (N, C, oL), ``oL = (L + 2 p - k) // s + 1`` (rounded up with ceil_mode)
    indices : int64 Tensor of the same shape, with ``return_indices``
    """
    k = _tuple(kernel_size, 1, "kernel_size", "max_pool1d")[0]
    s = k if stride is None or stride == () else _tuple(stride, 1, "stride", "max_pool1d")[0]
    p = _tuple(padding, 1, "padding", "max_pool1d")[0]
    res = max_pool2d(_unit_height("max_pool1d", input), (1, k), (1, s), (0, p), dilation,
                     ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling: :func:`avg_pool2d` over a unit height.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    kernel_size, stride, padding : int
    ceil_mode : False
    count_include_pad : bool

    Returns
    -------
    Tensor of shape (N, C, oL), ``oL = (L + 2 p - k) // s + 1``
    """
    k = _tuple(kernel_size, 1, "kernel_size", "avg_pool1d")[0]
    s = k if stride is None or stride == () else _tuple(stride, 1, "stride", "avg_pool1d")[0]
    p = _tuple(padding, 1, "padding", "avg_pool1d")[0]
    return avg_pool2d(_unit_height("avg_pool1d", input), (1, k), (1, s), (0, p), ceil_mode,
                      count_include_pad).squeeze(-2)


def _out_size(op, x, output_size, n):
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: input must have {n + 1} or {n + 2} dimensions, got shape "
                         f"{x.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * n
    if len(sizes) != n:
        raise ValueError(f"{op}: output_size must have {n} elements, got {output_size!r}")
    return tuple(x.shape[x.ndim - n + i] if o is None else int(o) for i, o in enumerate(sizes))


def _average_map(size, out, dtype):
    start, end = adaptive_bins(size, out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size.

    Bin ``i`` averages ``[floor(i H / oH), ceil((i + 1) H / oH))`` (likewise along W).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        None keeps the input's size.

    Returns
    -------
    Tensor of shape (N, C, oH, oW)
    """
    x = _data(input)
    _float_operands("adaptive_avg_pool2d", input=x)
    oh, ow = _out_size("adaptive_avg_pool2d", x, output_size, 2)
    if (oh, ow) == (1, 1):
        return _tensor(input).mean((-2, -1), keepdim=True)
    return SeparableMapFunction.apply(input, _average_map(x.shape[-2], oh, x.dtype),
                                      _average_map(x.shape[-1], ow, x.dtype))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    output_size : int

    Returns
    -------
    Tensor of shape (N, C, output_size)
    """
    x = _data(input)
    _float_operands("adaptive_avg_pool1d", input=x)
    (o,) = _out_size("adaptive_avg_pool1d", x, output_size, 1)
    return SeparableMapFunction.apply(input, None, _average_map(x.shape[-1], o, x.dtype))


def _adaptive_max(op, input, output_size, n, return_indices):
    x = _data(input)
    _float_operands(op, input=x)
    out = _out_size(op, x, output_size, n)
    y, ctx = AdaptiveMaxPoolFunction.apply_with_ctx(input, out)
    if return_indices:
        return y, _wrap(ctx.saved_tensors[0], None)
    return y


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (bins as :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
    return_indices : bool
        Also return the flat position ``h * W + w`` of each maximum.

    Returns
    -------
    Tensor of shape (N, C, oH, oW)
    """
    return _adaptive_max("adaptive_max_pool2d", input, output_size, 2, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    output_size : int
    return_indices : bool

    Returns
    -------
    Tensor of shape (N, C, output_size)
    """
    return _adaptive_max("adaptive_max_pool1d", input, output_size, 1, return_indices)


def _resample_map(size, out, mode, align_corners, scale, dtype):
    """The (out, size) matrix of one dimension's resampling."""
    rows = np.arange(out)
    m = np.zeros((out, size), np.float64)
    if mode == "nearest":
        step = scale if scale else size / out
        src = np.minimum(np.floor(rows * step).astype(np.int64), size - 1)
        m[rows, src] = 1.0
        return m.astype(dtype)
    if mode == "nearest-exact":
        step = scale if scale else size / out
        src = np.minimum(np.floor((rows + 0.5) * step).astype(np.int64), size - 1)
        m[rows, src] = 1.0
        return m.astype(dtype)
    if align_corners:
        src = rows * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        step = scale if scale else size / out
        src = np.maximum((rows + 0.5) * step - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    frac = src - i0
    np.add.at(m, (rows, i0), 1.0 - frac)
    np.add.at(m, (rows, i1), frac)
    return m.astype(dtype)


_INTERP_DIMS = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions (the last one or two): nearest or (bi)linear.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (N, C, H, W)
    size : int or tuple of int, optional
    scale_factor : float or tuple of float, optional
        Exactly one of ``size`` and ``scale_factor`` is given.
    mode : {"nearest", "nearest-exact", "linear", "bilinear"}
    align_corners : bool, optional
        (Bi)linear only: map the corner pixels' centres onto each other.
    recompute_scale_factor : bool, optional
        True: sample at ``size / input size`` rather than ``1 / scale_factor``.
    antialias : False

    Returns
    -------
    Tensor of shape (N, C, *size)
    """
    x = _data(input)
    _float_operands("interpolate", input=x)
    if mode not in _INTERP_DIMS:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, "
                                  f"nearest-exact, linear, bilinear)")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    n = x.ndim - 2
    if n not in (1, 2) or (_INTERP_DIMS[mode] not in (None, n)):
        raise ValueError(f"interpolate: mode {mode!r} does not take input of shape {x.shape} "
                         f"(linear: 3-D, bilinear: 4-D, nearest: 3-D or 4-D)")
    if align_corners is not None and mode.startswith("nearest"):
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: either size or scale_factor should be defined, not both")
    spatial = x.shape[2:]
    if size is not None:
        out = _tuple(size, n, "size", "interpolate")
        scales = (None,) * n
    else:
        factors = scale_factor if isinstance(scale_factor, (tuple, list)) \
            else (scale_factor,) * n
        out = tuple(int(np.floor(s * float(f))) for s, f in zip(spatial, factors))
        scales = (None,) * n if recompute_scale_factor else tuple(1.0 / float(f)
                                                                   for f in factors)
    maps = [_resample_map(s, o, mode, bool(align_corners), sc, x.dtype)
            for s, o, sc in zip(spatial, out, scales)]
    if n == 1:
        return SeparableMapFunction.apply(input, None, maps[0])
    return SeparableMapFunction.apply(input, maps[0], maps[1])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The older name of :func:`interpolate`.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (N, C, H, W)
    size : sequence of int, optional
    scale_factor : float or tuple of float, optional
    mode : str
    align_corners : bool, optional
        As :func:`interpolate`.

    Returns
    -------
    Tensor of shape (N, C, *size)
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input, upscale_factor):
    """(N, C r^2, H, W) to (N, C, H r, W r): channel blocks become spatial blocks.

    Parameters
    ----------
    input : Tensor of shape (*, C r^2, H, W)
    upscale_factor : int

    Returns
    -------
    Tensor of shape (*, C, H r, W r)
    """
    x = _tensor(input)
    r = int(upscale_factor)
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                         f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                         f"is not divisible by {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(N, C, H r, W r) to (N, C r^2, H, W): the inverse of :func:`pixel_shuffle`.

    Parameters
    ----------
    input : Tensor of shape (*, C, H r, W r)
    downscale_factor : int

    Returns
    -------
    Tensor of shape (*, C r^2, H, W)
    """
    x = _tensor(input)
    r = int(downscale_factor)
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle expects height and width to be divisible by "
                         f"downscale_factor {r}, got {h} x {w}")
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------------------------------------
# Regression, distance and margin losses

__all__ += [
    "cosine_embedding_loss",
    "cosine_similarity",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "multilabel_soft_margin_loss",
    "normalize",
    "one_hot",
    "pairwise_distance",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]


def _check_target_size(op, input, target):
    xs, ts = np.shape(_data(input)), np.shape(_data(target))
    if xs != ts:
        warnings.warn(f"{op}: Using a target size ({ts}) that is different to the input size "
                      f"({xs}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", stacklevel=3)


def _pairwise(op, input, target, args, reduction, check_size=True):
    _reduction(op, reduction)
    _float_operands(op, input=_data(input))
    if check_size:
        _check_target_size(op, input, target)
    return PairwiseLossFunction.apply(input, target, op, args, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error ``|input - target|``, reduced.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape (broadcast, with a warning, otherwise)
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of the broadcast shape with ``reduction="none"``
    """
    reduction = _legacy("l1_loss", size_average, reduce, reduction)
    return _pairwise("l1_loss", input, target, (), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``; ``d = input - target``.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}
    beta : float >= 0

    Returns
    -------
    Tensor: 0-d, or of the broadcast shape with ``reduction="none"``
    """
    reduction = _legacy("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    return _pairwise("smooth_l1_loss", input, target, (float(beta),), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    reduction : {"mean", "sum", "none"}
    delta : float > 0

    Returns
    -------
    Tensor: 0-d, or of the broadcast shape with ``reduction="none"``
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return _pairwise("huber_loss", input, target, (float(delta),), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of ``input`` from ``target``.

    Kullback-Leibler divergence ``target (log target - input)``; ``input`` holds log-probabilities
    (``target`` too when ``log_target``).

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "batchmean", "sum", "none"}
        ``"batchmean"`` divides the sum by the batch size (the mathematically right one).
    log_target : bool

    Returns
    -------
    Tensor: 0-d, or of the input's shape with ``reduction="none"``
    """
    reduction = _legacy("kl_div", size_average, reduce, reduction)
    if reduction == "batchmean":
        x = _data(input)
        total = _pairwise("kl_div", input, target, (bool(log_target),), "sum", False)
        return total / x.shape[0] if x.ndim else total
    return _pairwise("kl_div", input, target, (bool(log_target),), reduction, False)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target input))``, targets in {1, -1}.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of the input's shape with ``reduction="none"``
    """
    reduction = _legacy("soft_margin_loss", size_average, reduce, reduction)
    return _pairwise("soft_margin_loss", input, target, (), reduction, False)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood.

    ``exp(input) - target input`` (``log_input``) or ``input - target log(input + eps)``; ``full``
    adds Stirling's term for ``target > 1``.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    log_input, full : bool
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    eps : float
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of the input's shape with ``reduction="none"``
    """
    reduction = _legacy("poisson_nll_loss", size_average, reduce, reduction)
    return _pairwise("poisson_nll_loss", input, target, (bool(log_input), bool(full), float(eps)),
                     reduction, False)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    Parameters
    ----------
    input : Tensor of any shape (typically distances)
    target : Tensor of the input's shape, values in {1, -1}
    margin : float
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of the input's shape with ``reduction="none"``
    """
    reduction = _legacy("hinge_embedding_loss", size_average, reduce, reduction)
    return _pairwise("hinge_embedding_loss", input, target, (float(margin),), reduction, False)


def _reduce_tensor(per, reduction):
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood.

    Gaussian negative log-likelihood ``0.5 (log var + (input - target)^2 / var)``, the variance
    clamped below at ``eps`` (``full`` adds ``0.5 log(2 pi)``).

    Parameters
    ----------
    input : Tensor of shape (N, *)
        Expected values.
    target : Tensor of the input's shape
    var : Tensor of the input's shape, or with one fewer dimension / a last dimension of 1
        Variances (positive).
    full : bool
    eps : float
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of the input's shape with ``reduction="none"``
    """
    _reduction("gaussian_nll_loss", reduction)
    x, v = _data(input), _data(var)
    v_t = _tensor(var)
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v_t = v_t.unsqueeze(-1)
        elif not (x.shape[:-1] == v.shape[:-1] and v.shape[-1:] == (1,)):
            raise ValueError(f"gaussian_nll_loss: var of shape {v.shape} does not match the "
                             f"input's shape {x.shape}")
    if np.any(v < 0):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    v_t = v_t.clamp(min=eps)
    diff = _tensor(input) - target
    per = 0.5 * (v_t.log() + diff * diff / v_t)
    if full:
        per = per + 0.5 * float(np.log(2 * np.pi))
    return _reduce_tensor(per, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """Margin ranking loss of two inputs.

    ``max(0, -target (input1 - input2) + margin)``: rank input1 above input2 where ``target == 1``,
    below where ``-1``.

    Parameters
    ----------
    input1, input2 : Tensor of shape (N,) or ()
    target : Tensor of the same shape, values in {1, -1}
    margin : float
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) with ``reduction="none"``
    """
    reduction = _legacy("margin_ranking_loss", size_average, reduce, reduction)
    _reduction("margin_ranking_loss", reduction)
    per = (-(_tensor(target) * (_tensor(input1) - input2)) + margin).clamp(min=0)
    return _reduce_tensor(per, reduction)


def _norm(x, dim, keepdim=False, p=2.0):
    if p == 2:
        return (x * x).sum(dim, keepdim=keepdim).sqrt()
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    if p == float("inf"):
        return x.abs().amax(dim, keepdim=keepdim)
    return (x.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / max(|x1| |x2|, eps)`` along ``dim`` (broadcasting the two).

    Parameters
    ----------
    x1, x2 : Tensor of broadcastable shapes
    dim : int
    eps : float

    Returns
    -------
    Tensor of the broadcast shape without ``dim``
    """
    a, b = _tensor(x1), _tensor(x2)
    dot = (a * b).sum(dim)
    n1 = (a * a).sum(dim)
    n2 = (b * b).sum(dim)
    return dot / (n1 * n2).clamp(min=eps * eps).sqrt()


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``|x1 - x2 + eps|_p`` along the last dimension.

    Parameters
    ----------
    x1, x2 : Tensor of shape (N, D) or (D,) (broadcastable)
    p : float
    eps : float
    keepdim : bool

    Returns
    -------
    Tensor of shape (N,) (or (N, 1) with ``keepdim``)
    """
    return _norm(_tensor(x1) - x2 + eps, -1, keepdim, p)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(|input|_p, eps)`` along ``dim``.

    Parameters
    ----------
    input : Tensor of any shape
    p : float
    dim : int
    eps : float
    out : None

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    x = _tensor(input)
    return x / _norm(x, dim, True, p).clamp(min=eps)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """Cosine embedding loss of two inputs.

    ``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target ==
    -1``.

    Parameters
    ----------
    input1, input2 : Tensor of shape (N, D) or (D,)
    target : Tensor of shape (N,) or (), values in {1, -1}
    margin : float
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) with ``reduction="none"``
    """
    reduction = _legacy("cosine_embedding_loss", size_average, reduce, reduction)
    _reduction("cosine_embedding_loss", reduction)
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    y = np.asarray(_data(target))
    dtype = _data(cos).dtype
    pos, neg = (y == 1).astype(dtype), (y == -1).astype(dtype)
    per = (1 - cos) * pos + (cos - margin).clamp(min=0) * neg
    return _reduce_tensor(per, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)``, d the :func:`pairwise_distance`.

    Parameters
    ----------
    anchor, positive, negative : Tensor of shape (N, D) or (D,)
    margin, p, eps : float
    swap : bool
        Use ``min(d(a, n), d(p, n))`` as the negative distance.
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) with ``reduction="none"``
    """
    reduction = _legacy("triplet_margin_loss", size_average, reduce, reduction)
    _reduction("triplet_margin_loss", reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        closer = _data(d_swap) < _data(d_neg)
        d_neg = d_neg * (~closer) + d_swap * closer
    per = (d_pos - d_neg + margin).clamp(min=0)
    return _reduce_tensor(per, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class binary cross-entropy of the logits, averaged over the classes.

    Parameters
    ----------
    input : Tensor of shape (N, C)
    target : Tensor of shape (N, C), values in {0, 1}
    weight : Tensor of shape (C,), optional
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) with ``reduction="none"``
    """
    reduction = _legacy("multilabel_soft_margin_loss", size_average, reduce, reduction)
    _reduction("multilabel_soft_margin_loss", reduction)
    x = _data(input)
    t = _data(target)
    target = _wrap(np.asarray(t, dtype=x.dtype), None) if np.asarray(t).dtype != x.dtype else target
    per = binary_cross_entropy_with_logits(input, target, weight, reduction="none")
    return _reduce_tensor(per.mean(-1), reduction)


def one_hot(tensor, num_classes=-1):
    """Class indices to one-hot rows (int64).

    Parameters
    ----------
    tensor : integer Tensor of any shape
    num_classes : int
        -1: one more than the largest index.

    Returns
    -------
    int64 Tensor of shape ``tensor.shape + (num_classes,)``
    """
    idx = np.asarray(_data(tensor))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensor of integer dtype, got "
                        f"{idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got "
                           f"{idx.min()} .. {idx.max()}")
    return _wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64), None)


# ---------------------------------------------------------------------------------------------
# Dropout variants and the normalisations without a kernel (composed from Tensor ops)

__all__ += [
    "alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "group_norm",
    "instance_norm",
    "local_response_norm",
]


def _channel_dropout(op, input, p, training, ndim_ok):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _data(input)
    if x.ndim not in ndim_ok:
        if op == "dropout1d":
            raise ValueError(f"{op}: Expected 2D or 3D input, but received a {x.ndim}D input. "
                             f"(shape {x.shape})")
        # PyTorch accepts it with a warning, taking dims 0 and 1 as batch and channels
        warnings.warn(f"{op}: Received a {x.ndim}-D input to {op}, which is deprecated and "
                      f"will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead.", stacklevel=3)
    if not training or p == 0.0:
        return input
    batched = x.ndim != ndim_ok[0]
    shape = x.shape[:2] if batched else x.shape[:1]
    mask_shape = shape + (1,) * (x.ndim - len(shape))
    keep = (get_generator().random(mask_shape) >= p).astype(x.dtype)
    if p < 1.0:
        keep *= x.dtype.type(1.0 / (1.0 - p))
    return MulFunction.apply(input, keep)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Dropout of whole channels of (N, C, L) or (C, L) input.

    Zero whole channels of (N, C, L) or (C, L) input with probability ``p``, scaling the rest by ``1
    / (1 - p)``.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    p : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _channel_dropout("dropout1d", input, p, training, (2, 3))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of (N, C, H, W) or (C, H, W) input.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    p : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _channel_dropout("dropout2d", input, p, training, (3, 4))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input.

    Parameters
    ----------
    input : Tensor of shape (N, C, D, H, W) or (C, D, H, W)
    p : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _channel_dropout("dropout3d", input, p, training, (4, 5))


def _alpha_dropout(input, p, training, feature):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = _data(input)
    if p == 1.0:
        return _tensor(input) * 0.0
    sat = -_SELU_ALPHA * _SELU_SCALE
    a = (1.0 / np.sqrt((sat * sat * p + 1) * (1 - p)))
    b = -a * sat * p
    shape = (x.shape[:2] + (1,) * (x.ndim - 2)) if feature else x.shape
    keep = (get_generator().random(shape) >= p).astype(x.dtype)
    scale = (keep * a).astype(x.dtype)
    shift = ((1 - keep) * (a * sat) + b).astype(x.dtype)
    return MulFunction.apply(input, scale) + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's zero mean and unit variance.

    Dropout that keeps SELU's zero mean and unit variance (dropped values set to SELU's saturation,
    then an affine correction).

    Parameters
    ----------
    input : Tensor of any shape
    p : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _alpha_dropout(input, p, training, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels.

    Parameters
    ----------
    input : Tensor of shape (N, C, *)
    p : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    return _alpha_dropout(input, p, training, True)


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


# ---------------------------------------------------------------------------------------------
# Bilinear, Gumbel-softmax

__all__ += ["bilinear", "gumbel_softmax"]


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``.

    Parameters
    ----------
    input1 : Tensor of shape (*, in1)
    input2 : Tensor of shape (*, in2)
    weight : Tensor of shape (out, in1, in2)
    bias : Tensor of shape (out,), optional

    Returns
    -------
    Tensor of shape (*, out)
    """
    x1, x2, w = _data(input1), _data(input2), _data(weight)
    if w.ndim != 3 or x1.shape[-1] != w.shape[1] or x2.shape[-1] != w.shape[2] \
            or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: inputs of shapes {x1.shape} and {x2.shape} do not match "
                         f"weight of shape {w.shape} (out, in1, in2)")
    out, in1, in2 = w.shape
    lead = x1.shape[:-1]
    a = _tensor(input1).reshape(-1, in1)
    # (B, in1) @ (in1, out * in2) -> (B, out, in2), then contract in2 with input2
    t = a @ _tensor(weight).permute(1, 0, 2).reshape(in1, out * in2)
    y = (t.reshape(-1, out, in2) * _tensor(input2).reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Sample from the Gumbel-softmax distribution.

    ``softmax((logits + g) / tau)`` with Gumbel noise g; ``hard`` returns one-hot samples whose
    gradient is the soft sample's.

    Parameters
    ----------
    logits : Tensor of shape (*, C)
    tau : float
    hard : bool
    eps : float
        Unused (PyTorch's deprecated argument).
    dim : int

    Returns
    -------
    Tensor of the shape of ``logits``
    """
    x = _data(logits)
    noise = -np.log(get_generator().exponential(size=x.shape)).astype(x.dtype)
    soft = softmax((_tensor(logits) + noise) / tau, dim)
    if not hard:
        return soft
    s = _data(soft)
    index = s.argmax(axis=dim)
    onehot = np.zeros_like(s)
    np.put_along_axis(onehot, np.expand_dims(index, dim), 1.0, axis=dim)
    return soft - soft.detach() + onehot


__all__ += ["embedding_bag"]


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embeddings.

    Sums, means or maxima of bags of embeddings, without materialising each bag's rows separately
    for "sum" and "mean" (one matrix product with the bag-membership matrix).

    Parameters
    ----------
    input : integer Tensor of shape (B, N) (B bags of N indices) or (L,) with ``offsets``
    weight : Tensor of shape (num_embeddings, D)
    offsets : integer Tensor of shape (B,) (or (B + 1,) with ``include_last_offset``)
        Where each bag starts in a 1-D ``input``.
    max_norm : float, optional
    norm_type : float
    scale_grad_by_freq : bool
        As :func:`embedding`.
    mode : {"mean", "sum", "max"}
        How each bag is reduced.
    sparse : bool
        As :func:`embedding`.
    per_sample_weights : Tensor shaped like ``input``, optional
        ``mode="sum"`` only: each row is scaled by its weight.
    include_last_offset : bool
        Whether ``offsets`` has one more entry, the end of the last bag.
    padding_idx : int, optional
        As :func:`embedding`; entries equal to ``padding_idx`` are left out of their bag.

    Returns
    -------
    Tensor of shape (B, D)
    """
    if mode not in ("mean", "sum", "max"):
        raise ValueError(f"embedding_bag: mode must be 'mean', 'sum' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights is only supported for "
                                  "mode='sum'")
    idx = np.asarray(_data(input))
    w = _data(weight)
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets has to be None if input is 2D")
        n_bags, per = idx.shape
        starts = np.arange(n_bags) * per
        idx = idx.reshape(-1)
        ends = starts + per
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        starts = np.asarray(_data(offsets)).astype(np.int64).reshape(-1)
        if include_last_offset:
            starts, ends = starts[:-1], starts[1:]
        else:
            ends = np.append(starts[1:], idx.size)
        n_bags = starts.size
    else:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {idx.ndim}")
    rows = embedding(_wrap(idx, None), weight, None, max_norm, norm_type, scale_grad_by_freq,
                     sparse)
    pad = _padding_idx("embedding_bag", padding_idx, w.shape[0])
    keep = np.ones(idx.size, bool) if pad is None else idx != pad
    position = np.arange(idx.size)
    member = (position >= starts[:, None]) & (position < ends[:, None]) & keep
    if mode == "max":
        out = []
        for b in range(n_bags):
            sel = np.flatnonzero(member[b])
            out.append(rows[sel.tolist()].amax(0) if sel.size
                       else _wrap(np.zeros(w.shape[1], w.dtype), None))
        return _stack(out, 0)
    mat = member.astype(w.dtype)
    if per_sample_weights is not None:
        mat = _wrap(mat, None) * _tensor(per_sample_weights).reshape(1, -1)
    elif mode == "mean":
        mat = mat / np.maximum(mat.sum(1, keepdims=True), 1)
    return _tensor(mat) @ rows


# ---------------------------------------------------------------------------------------------
# Randomised leaky ReLU; the in-place spellings

__all__ += [
    "celu_",
    "elu_",
    "hardtanh_",
    "leaky_relu_",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu_",
    "threshold_",
]


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU.

    Negative inputs are scaled by a slope drawn from U(lower, upper) per element in training, by
    ``(lower + upper) / 2`` otherwise.

    Parameters
    ----------
    input : Tensor of any shape
    lower, upper : float
    training, inplace : bool

    Returns
    -------
    Tensor of the shape of ``input``
    """
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = _data(input)
    slope = get_generator().uniform(lower, upper, x.shape)
    factor = np.where(x >= 0, 1.0, slope).astype(x.dtype)
    return _maybe_inplace(input, MulFunction.apply(input, factor), inplace)


def relu_(input):
    """:func:`relu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return relu(input, inplace=True)


def elu_(input, alpha=1.0):
    """:func:`elu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
        The scale of the negative part.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    """:func:`celu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    alpha : float
        The scale of the negative part.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return celu(input, alpha, inplace=True)


def selu_(input):
    """:func:`selu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    """:func:`leaky_relu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    negative_slope : float

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """:func:`hardtanh` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    min_val : float
    max_val : float

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold, value):
    """:func:`threshold` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    threshold : float
        The threshold.
    value : float
        The output where ``input`` is not above ``threshold``.

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return globals()["threshold"](input, threshold, value, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """:func:`rrelu` with ``inplace=True``.

    Parameters
    ----------
    input : Tensor of any shape
    lower : float
    upper : float
    training : bool

    Returns
    -------
    Tensor
        ``input`` itself, overwritten.
    """
    return rrelu(input, lower, upper, training, inplace=True)


__all__ += ["max_unpool1d", "max_unpool2d", "rms_norm"]


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


def _max_unpool(op, input, indices, kernel_size, stride, padding, output_size, n):
    x, idx = _data(input), _data(indices)
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected a {n + 1}-D or {n + 2}-D input, got shape {x.shape}")
    if idx.shape != x.shape or idx.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be integers of the input's shape {x.shape}, got "
                         f"{idx.dtype} of shape {idx.shape}")
    k = _tuple(kernel_size, n, "kernel_size", op)
    s = k if stride is None else _tuple(stride, n, "stride", op)
    p = _tuple(padding, n, "padding", op)
    default = tuple((x.shape[-n + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(n))
    if output_size is None:
        size = default
    else:
        size = tuple(int(v) for v in tuple(output_size)[-n:])
        if any(abs(a - b) >= st for a, b, st in zip(size, default, s)):
            raise ValueError(f"{op}: output_size {size} is not within a stride of the "
                             f"default {default}")
    plane = int(np.prod(size))
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output "
                           f"volumes are of size {'x'.join(map(str, size))})")
    lead = x.shape[:-n]
    flat_in, flat_idx = input.reshape(lead + (-1,)), _wrap(idx.reshape(lead + (-1,)), None)
    out = _wrap(np.zeros(lead + (plane,), x.dtype), None)
    # each input value lands at its index; the gradient gathers it back
    return out.scatter(-1, flat_idx, flat_in).reshape(lead + size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool1d` given its indices: maxima in place, zeros elsewhere.

    Parameters
    ----------
    input : Tensor of shape (N, C, L) or (C, L)
    indices : Tensor of int64, the input's shape
        From ``max_pool1d(..., return_indices=True)``.
    kernel_size, stride, padding : int or tuple of int
        The pooling's (stride defaults to kernel_size).
    output_size : sequence of int, optional
        The output length (to undo a pooling that dropped a remainder).

    Returns
    -------
    Tensor of shape (N, C, L_out)
    """
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding,
                       output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of :func:`max_pool2d` given its indices: maxima in place, zeros elsewhere.

    As in SegNet's decoder.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    indices : Tensor of int64, the input's shape
        From ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding : int or tuple of int
        The pooling's (stride defaults to kernel_size).
    output_size : sequence of int, optional
        The output height and width (to undo a pooling that dropped a remainder).

    Returns
    -------
    Tensor of shape (N, C, H_out, W_out)
    """
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding,
                       output_size, 2)


__all__ += ["affine_grid", "grid_sample"]  # the spatial transformer's ops, in ops/grid.py
__all__ += ["ctc_loss"]  # in ops/ctc.py


__all__ += ["pdist"]


def pdist(input, p=2.0):
    """The ``p``-norm distances between every pair of rows, ``i < j`` in row-major order.

    Parameters
    ----------
    input : Tensor of shape (N, M)
    p : float
        The norm's order.

    Returns
    -------
    Tensor of shape (N * (N - 1) / 2,)
        Differentiable.
    """
    x = _data(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    i, j = np.triu_indices(x.shape[0], 1)
    diff = input[_wrap(i, None)] - input[_wrap(j, None)]
    return diff.norm(p=p, dim=1)
