"""Resampling: ``interpolate``/``upsample`` and the spatial transformer's ``affine_grid``
and ``grid_sample``."""

import numpy as np

from ...ops.grid import affine_grid, grid_sample
from ...ops.pool import SeparableMapFunction
from ._utils import _data, _float_operands, _tensor, _tuple

__all__ = [
    "affine_grid",
    "grid_sample",
    "interpolate",
    "upsample",
]


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


_INTERP_DIMS = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2,
                "trilinear": 3}


def _separable(input, maps):
    """``maps``, one (out, size) matrix per axis, applied to the last ``len(maps)`` (1-3)
    axes of ``input`` (N, C, ...): a map that acts on each axis alone, such as resampling
    or average pooling. The third axis from the end goes through the matrix product as the
    last one, moved there and back."""
    if len(maps) == 1:
        return SeparableMapFunction.apply(input, None, maps[0])
    if len(maps) == 2:
        return SeparableMapFunction.apply(input, maps[0], maps[1])
    x = _tensor(input)
    n, c, depth, h, w = x.shape
    oh, ow = maps[1].shape[0], maps[2].shape[0]
    y = SeparableMapFunction.apply(x.reshape(n, c * depth, h, w), maps[1], maps[2])
    cols = y.reshape(n, c, depth, oh * ow).transpose(-1, -2)
    y = SeparableMapFunction.apply(cols, None, maps[0])
    return y.transpose(-1, -2).reshape(n, c, maps[0].shape[0], oh, ow)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions (the last one, two or three): nearest or (bi/tri)linear.

    Parameters
    ----------
    input : Tensor of shape (N, C, L), (N, C, H, W) or (N, C, D, H, W)
    size : int or tuple of int, optional
    scale_factor : float or tuple of float, optional
        Exactly one of ``size`` and ``scale_factor`` is given.
    mode : {"nearest", "nearest-exact", "linear", "bilinear", "trilinear"}
    align_corners : bool, optional
        (Bi/tri)linear only: map the corner pixels' centres onto each other.
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
                                  f"nearest-exact, linear, bilinear, trilinear)")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    n = x.ndim - 2
    if n not in (1, 2, 3) or (_INTERP_DIMS[mode] not in (None, n)):
        raise ValueError(f"interpolate: mode {mode!r} does not take input of shape {x.shape} "
                         f"(linear: 3-D, bilinear: 4-D, trilinear: 5-D, nearest: 3-D to 5-D)")
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
    return _separable(input, maps)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The older name of :func:`interpolate`.

    Parameters
    ----------
    input : Tensor of shape (N, C, L), (N, C, H, W) or (N, C, D, H, W)
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
