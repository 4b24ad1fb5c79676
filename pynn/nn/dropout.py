"""``Dropout``: inverted dropout in train mode, the identity in eval mode."""

from . import functional as F
from .module import Module

__all__ = [
    "AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout",
]


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


class Dropout1d(Dropout):
    """Dropout of whole channels of (N, C, L) input.

    Zero whole channels of (N, C, L) input with probability ``p`` (train mode), scaling the rest by
    ``1 / (1 - p)``.

    Parameters
    ----------
    p : float
    inplace : bool

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: the input's shape.
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(Dropout):
    """Zero whole channels (feature maps) of (N, C, H, W) input with probability ``p``.

    Parameters
    ----------
    p : float
    inplace : bool

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: the input's shape.
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)


class Dropout3d(Dropout):
    """Zero whole channels of (N, C, D, H, W) input with probability ``p``.

    Parameters
    ----------
    p : float
    inplace : bool

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: the input's shape.
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training)


class AlphaDropout(Dropout):
    """Dropout for SELU networks: keeps zero mean and unit variance.

    Parameters
    ----------
    p : float
    inplace : bool

    Shape
    -----
    - Input: (*), any shape.
    - Output: the input's shape.
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels.

    Parameters
    ----------
    p : float
    inplace : bool

    Shape
    -----
    - Input: ``(N, C, *)``.
    - Output: the input's shape.
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
