"""Loss modules: each holds its options and forwards to the function of the same name in
:mod:`pynn.functional`. ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"``
everywhere. Class weights (``weight``, ``pos_weight``) are buffers, as in PyTorch, so they
appear in ``state_dict``."""

from . import functional as F
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HingeLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]


class _Loss(Module):
    """Base of the loss modules: holds ``reduction`` (PyTorch's deprecated ``size_average`` /
    ``reduce`` are turned into it, with PyTorch's warning)."""

    _reductions = ("mean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        reduction = F._legacy(type(self).__name__, size_average, reduce, reduction)
        if reduction not in self._reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{self._reductions}, got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: ``(input - target)^2``, reduced.

    Parameters
    ----------
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape (shapes that broadcast are accepted).
    - Output: a scalar, or the broadcast shape with ``reduction="none"``.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of ``softmax(input)`` (over dim 1) at the target classes, fused.

    Parameters
    ----------
    weight : ndarray of shape (C,), optional
        Class weights (a buffer; not combinable with ``label_smoothing`` for index targets).
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    ignore_index : int
        Targets equal to it contribute nothing, and are not counted by the mean.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]

    Shape
    -----
    - Input: (N, C) logits, or (C,), or (N, C, d1, ...).
    - Target: class indices of shape (N,), () or (N, d1, ...); or class probabilities shaped
      like the input.
    - Output: a scalar, or the target's shape (indices) / (N, d1, ...) (probabilities) with
      ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. from :class:`LogSoftmax`).

    Parameters
    ----------
    weight : ndarray of shape (C,), optional
        Class weights (a buffer); the mean divides by the summed weights of the targets.
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    ignore_index : int
        Targets equal to it contribute nothing, and are not counted by the mean.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (N, C) log-probabilities, or (C,), or (N, C, d1, ...).
    - Target: class indices of shape (N,), () or (N, d1, ...).
    - Output: a scalar, or the target's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1].

    Parameters
    ----------
    weight : ndarray broadcastable to the input, optional
        Per-element weights (a buffer).
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape, probabilities.
    - Target: the input's shape, in [0, 1].
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    Parameters
    ----------
    weight : ndarray broadcastable to the input, optional
        Per-element weights (a buffer).
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}
    pos_weight : ndarray broadcastable to the input, optional
        Weight of the positive term, typically one per class (last dimension); a buffer.

    Shape
    -----
    - Input: (*), any shape, logits.
    - Target: the input's shape, in [0, 1].
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge (SVM) loss, as ``torch.nn.MultiMarginLoss``.

    Per sample ``sum_{j != y} weight[y] * max(0, margin - x[y] + x[j])^p / C``.

    Parameters
    ----------
    p : {1, 2}
    margin : float
    weight : ndarray of shape (C,), optional
        Class weights, indexed by the target class (a buffer).
    size_average, reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction`` (with its warning).
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (N, C) or (C,) class scores.
    - Target: class indices of shape (N,) or ().
    - Output: a scalar, or (N,) (() for unbatched input) with ``reduction="none"``.
    """

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p!r}")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class HingeLoss(_Loss):
    """Binary hinge loss of a linear SVM, ``max(0, margin - target * input)``, reduced.

    pynn-specific: scores ``input`` and labels ``target`` in {-1, +1} (for {0, 1} labels pass
    ``2 * y - 1``). Not PyTorch's ``HingeEmbeddingLoss``, which is a loss on distances.

    Parameters
    ----------
    margin : float
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape, scores.
    - Target: the input's shape, -1 or +1.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_loss(input, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}"


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced.

    Parameters
    ----------
    size_average : bool, optional
    reduce : bool, optional
        Deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above.

    With ``d = input - target``: ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    Parameters
    ----------
    size_average : bool, optional
    reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}
    beta : float
        Where the loss turns from quadratic to linear.

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}
    delta : float

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``.

    Parameters
    ----------
    size_average : bool, optional
    reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "batchmean", "sum", "none"}
        ``"batchmean"`` (the sum over the batch size) is the true KL divergence.
    log_target : bool
        ``target`` holds log-probabilities too.

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-target input))``, targets in {1, -1}.

    Parameters
    ----------
    size_average : bool, optional
    reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood of ``target``.

    Poisson negative log-likelihood of ``target`` with rate ``exp(input)`` (``log_input``) or
    ``input``.

    Parameters
    ----------
    log_input : bool
        Whether ``input`` is the log of the rate (else the rate).
    full : bool
        Whether to add Stirling's approximation term.
    size_average : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    eps : float
    reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of ``target`` with mean ``input`` and variance ``var``.

    Parameters
    ----------
    full : bool
        Add the constant ``0.5 log(2 pi)``.
    eps : float
        Lower clamp of the variance.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: ``(N, *)``; target: the same; var: the same, or with the last dimension 1 or gone.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    Parameters
    ----------
    margin : float
    size_average : bool, optional
    reduce : bool, optional
        PyTorch's deprecated spelling of ``reduction``.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (*), any shape.
    - Target: the input's shape.
    - Output: a scalar, or the input's shape with ``reduction="none"``.
    """

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``max(0, -target (input1 - input2) + margin)``.

    Parameters
    ----------
    margin : float
    size_average, reduce : bool, optional
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input1, Input2, Target: (N,) or ().
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``1 - cos(x1, x2)`` for ``target == 1``, ``max(0, cos(x1, x2) - margin)`` for -1.

    Parameters
    ----------
    margin : float
    size_average, reduce : bool, optional
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input1, Input2: (N, D) or (D,); Target: (N,) or ().
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with the p-norm distance.

    Parameters
    ----------
    margin, p, eps : float
    swap : bool
    size_average, reduce : bool, optional
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Anchor, Positive, Negative: (N, D) or (D,).
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss averaged over the classes (multi-label classification).

    Parameters
    ----------
    weight : ndarray of shape (C,), optional
    size_average, reduce : bool, optional
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input, Target: (N, C).
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with a distance of the caller's.

    Parameters
    ----------
    distance_function : callable, optional
        ``d(x, y)``, one distance per row (default the Euclidean pairwise distance).
    margin : float
    swap : bool
        Use ``min(d(a, n), d(p, n))`` as the negative distance.
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Anchor, Positive, Negative: (N, D) or (D,).
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        if margin < 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be "
                             f"non-negative, got {margin}")
        self.distance_function = distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss: every target class scored a margin of 1 above every other.

    Parameters
    ----------
    size_average, reduce : bool, optional
    reduction : {"mean", "sum", "none"}

    Shape
    -----
    - Input: (N, C) or (C,); Target: the same, class indices padded with -1.
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)
