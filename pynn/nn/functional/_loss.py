"""Losses: classification (cross-entropy, NLL, binary, margin), regression, ranking and
embedding losses, and ``ctc_loss``."""

import warnings

import numpy as np

from ...ops import refuse_complex
from ...ops.ctc import ctc_loss
from ...ops.loss import (
    BCEFunction,
    BCEWithLogitsFunction,
    HingeLossFunction,
    MSELossFunction,
    MultiMarginLossFunction,
    PairwiseLossFunction,
)
from ...ops.softmax import CrossEntropyFunction, NLLLossFunction
from ...tensor import _wrap
from ._activation import log_softmax
from ._distance import cosine_similarity, pairwise_distance
from ._utils import _data, _float_operands, _legacy, _reduction, _tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


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


def _weighted(op, unreduced, weight, reduction, weighted_mean):
    """An elementwise loss times ``weight`` (PyTorch 2.13's ``weight`` of mse, l1 and huber
    losses: of the broadcast input's shape), reduced: the mean is the weighted mean
    ``sum(w l) / sum(w)`` for mse and l1, the plain mean of ``w l`` for huber, as PyTorch."""
    loss = unreduced
    w = _tensor(weight)
    if tuple(w.shape) != tuple(loss.shape):
        raise ValueError(f"{op}: Weights and input must have the same size, got weight of "
                         f"shape {tuple(w.shape)} for input of shape {tuple(loss.shape)}")
    loss = loss * w
    if reduction == "mean" and weighted_mean:
        return loss.sum() / w.sum()
    return _reduce_tensor(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2``, reduced.

    Both arguments may require grad.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape (shapes that broadcast are accepted)
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}
    weight : Tensor of the broadcast shape, optional
        Each element's weight; the mean is then ``sum(w l) / sum(w)``.

    Returns
    -------
    Tensor
        0-d, or of the broadcast shape with ``reduction="none"``.
    """
    reduction = _legacy("mse_loss", size_average, reduce, reduction)
    _reduction("mse_loss", reduction)
    refuse_complex("mse_loss", input, target)
    if np.shape(_data(input)) != np.shape(_data(target)):
        _check_target_size("mse_loss", input, target)
    if weight is not None:
        return _weighted("mse_loss", MSELossFunction.apply(input, target, "none"), weight,
                         reduction, True)
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


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``, reduced.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape (broadcast, with a warning, otherwise)
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}
    weight : Tensor of the broadcast shape, optional
        Each element's weight; the mean is then ``sum(w l) / sum(w)``.

    Returns
    -------
    Tensor: 0-d, or of the broadcast shape with ``reduction="none"``
    """
    reduction = _legacy("l1_loss", size_average, reduce, reduction)
    if weight is not None:
        _reduction("l1_loss", reduction)
        return _weighted("l1_loss", _pairwise("l1_loss", input, target, (), "none"), weight,
                         reduction, True)
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


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``.

    Parameters
    ----------
    input : Tensor of any shape
    target : Tensor of the input's shape
    reduction : {"mean", "sum", "none"}
    delta : float > 0
    weight : Tensor of the broadcast shape, optional
        Each element's weight (the mean stays the mean of ``w l``, as PyTorch's).

    Returns
    -------
    Tensor: 0-d, or of the broadcast shape with ``reduction="none"``
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    if weight is not None:
        _reduction("huber_loss", reduction)
        return _weighted("huber_loss", _pairwise("huber_loss", input, target, (float(delta),),
                                                 "none"), weight, reduction, False)
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


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with a distance of the caller's.

    Parameters
    ----------
    anchor, positive, negative : Tensor of shape (N, D) or (D,)
    distance_function : callable, optional
        ``d(x, y)`` of two batches, one distance per row (default :func:`pairwise_distance`).
    margin : float
        Non-negative.
    swap : bool
        Use ``min(d(a, n), d(p, n))`` as the negative distance.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) with ``reduction="none"``
    """
    _reduction("triplet_margin_with_distance_loss", reduction)
    if margin < 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be "
                         f"non-negative, got {margin}")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _tensor(d_neg).minimum(_tensor(dist(positive, negative)))
    per = (d_pos - d_neg + margin).clamp(min=0)
    return _reduce_tensor(per, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: every target class scored a margin of 1 above every other.

    Per sample ``sum_{j in targets} sum_{i not in targets} max(0, 1 - (x[j] - x[i])) / C``,
    the targets being the class indices of ``target`` before its first -1.

    Parameters
    ----------
    input : Tensor of shape (N, C) or (C,)
    target : integer Tensor of the input's shape
        Class indices, padded with -1 after the last.
    size_average, reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: 0-d, or of shape (N,) (``()`` unbatched) with ``reduction="none"``
    """
    reduction = _legacy("multilabel_margin_loss", size_average, reduce, reduction)
    _reduction("multilabel_margin_loss", reduction)
    x, t = _data(input), np.asarray(_data(target))
    _float_operands("multilabel_margin_loss", input=x)
    if x.ndim not in (1, 2) or t.shape != x.shape:
        raise ValueError(f"multilabel_margin_loss: input must have shape (N, C) or (C,) and "
                         f"target the same, got {x.shape} and {t.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"multilabel_margin_loss: target must hold integer class indices, got "
                        f"dtype {t.dtype}")
    c = x.shape[-1]
    t2 = t.reshape(-1, c)
    valid = np.cumprod(t2 >= 0, axis=1).astype(bool)  # up to the first -1
    if np.any((t2 >= c) & valid):
        raise IndexError(f"multilabel_margin_loss: target holds a class index >= {c}")
    counts = np.zeros(t2.shape, x.dtype)  # how often each class is listed
    rows = np.repeat(np.arange(t2.shape[0]), c)
    np.add.at(counts, (rows[valid.ravel()], t2[valid]), 1)
    others = (counts == 0).astype(x.dtype)
    scores = _tensor(input).reshape(-1, c)
    hinge = (1 - scores.unsqueeze(2) + scores.unsqueeze(1)).clamp(min=0)
    weights = _wrap(counts[:, :, None] * others[:, None, :], None)
    per = (hinge * weights).sum((1, 2)) / c
    if x.ndim == 1:
        per = per.reshape(())
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
