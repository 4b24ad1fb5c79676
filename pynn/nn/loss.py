"""Loss modules: each holds its options and forwards to the function of the same name in
:mod:`pynn.functional`. ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"``
everywhere. Class weights (``weight``, ``pos_weight``) are buffers, as in PyTorch, so they
appear in ``state_dict``."""

from .. import functional as F
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HingeLoss",
    "MSELoss",
    "MultiMarginLoss",
    "NLLLoss",
]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            raise NotImplementedError(f"{type(self).__name__}: size_average and reduce are "
                                      "deprecated in PyTorch and not supported; use reduction=")
        F._reduction(type(self).__name__, reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: ``(input - target)^2``, reduced."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of ``softmax(input)`` (over dim 1) at the target classes, fused.

    Parameters
    ----------
    weight : array of shape (C,), optional
        Class weights (a buffer).
    ignore_index : int
        Targets equal to it contribute nothing, and are not counted by the mean.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]

    Shapes: input (N, C) logits, target (N,) class indices (or (N, C) probabilities).
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
    """Negative log-likelihood of log-probabilities (e.g. from :class:`LogSoftmax`)."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1]; ``weight`` broadcasts to the input."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    Parameters
    ----------
    weight : array broadcastable to the input, optional (a buffer)
    pos_weight : array of shape (classes,), optional (a buffer): weight of positives
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
    """Multi-class hinge (SVM) loss, as ``torch.nn.MultiMarginLoss``: per sample
    ``sum_{j != y} weight[y] * max(0, margin - x[y] + x[j])^p / C``.

    Parameters
    ----------
    p : 1 or 2
    margin : float
    weight : array of shape (C,), optional (a buffer)
    reduction : {"mean", "sum", "none"}
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
    """Binary hinge loss of a linear SVM (pynn-specific, not in PyTorch):
    ``max(0, margin - target * input)``, reduced, for scores ``input`` and labels
    ``target`` in {-1, +1} (for {0, 1} labels pass ``2 * y - 1``). Not PyTorch's
    ``HingeEmbeddingLoss``, which is a loss on distances.

    Parameters
    ----------
    margin : float, default 1.0
    reduction : {"mean", "sum", "none"}
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_loss(input, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}"
