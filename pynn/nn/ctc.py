"""The CTC loss module (``torch.nn.CTCLoss``); the computation is :func:`pynn.ops.ctc.ctc_loss`."""

from ..ops.ctc import ctc_loss
from .loss import _Loss

__all__ = ["CTCLoss"]


class CTCLoss(_Loss):
    """The Connectionist Temporal Classification loss.

    Parameters
    ----------
    blank : int
        The blank class.
    reduction : {"mean", "sum", "none"}
        "mean": each sequence's loss divided by its target length, then averaged.
    zero_infinity : bool
        Give 0 loss and zero gradient to impossible alignments.

    Shape
    -----
    - Log_probs: (T, N, C) or (T, C), normally ``log_softmax`` outputs.
    - Targets: (N, S) padded, or (sum(target_lengths),) concatenated.
    - Input_lengths, Target_lengths: (N,) or ().
    - Output: a scalar, or (N,) with ``reduction="none"``.
    """

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
