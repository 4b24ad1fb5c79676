"""Dropout: elementwise, whole channels (1-D, 2-D, 3-D) and alpha dropout for SELU networks."""

import warnings

import numpy as np

from ...ops.elementwise import MulFunction
from ...random import get_generator
from ._activation import _SELU_ALPHA, _SELU_SCALE
from ._utils import _FLOATS, _data, _tensor

__all__ = [
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]


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
