"""``Dropout``: inverted dropout in train mode, the identity in eval mode."""

from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: while training, zero each element with probability ``p``.

    The others are scaled by ``1 / (1 - p)``; in eval mode the input passes through unchanged.
    The mask comes from pynn's generator (:func:`pynn.manual_seed`).

    Parameters
    ----------
    p : float in [0, 1]
    inplace : bool
        Accepted for PyTorch compatibility; pynn never overwrites the input.

    Shape
    -----
    - Input: (*), any shape.
    - Output: (*), the shape of the input.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
