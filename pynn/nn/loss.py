"""Loss modules: each holds its options and forwards to the function of the same name in
:mod:`pynn.functional`. ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"``
everywhere. Class weights (``weight``, ``pos_weight``) are buffers, as in PyTorch, so they
appear in ``state_dict``."""

from . import functional as F
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
    """Mean squared error: ``(input - target)^2``, reduced.

    Parameters
    ----------
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
    size_average, reduce : None
        PyTorch's deprecated arguments; anything but None raises NotImplementedError.
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
