"""Resampling: ``interpolate``/``upsample`` and the spatial transformer's ``affine_grid``
and ``grid_sample``."""

import numpy as np

from ...ops.grid import affine_grid, grid_sample
from ...ops.pool import SeparableMapFunction, average_map
from ...tensor import _wrap
from ._utils import _data, _float_operands, _tensor, _tuple

__all__ = [
    "affine_grid",
    "grid_sample",
    "interpolate",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
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
    if mode == "area":
        return average_map(size, out, dtype)
    if mode == "bicubic":
        return _cubic_map(size, out, align_corners, scale).astype(dtype)
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


def _cubic(x, a):
    """The cubic convolution kernel (Keys) with parameter ``a`` at distances ``x``."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _cubic_map(size, out, align_corners, scale):
    """Bicubic resampling along one axis, as PyTorch: the four taps around each source
    position with ``a = -0.75``, reads beyond the edge clamped to it (their weights add up
    there)."""
    rows = np.arange(out)
    if align_corners:
        src = rows * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        src = (rows + 0.5) * (scale if scale else size / out) - 0.5
    base = np.floor(src).astype(np.int64)
    t = src - base
    m = np.zeros((out, size), np.float64)
    for k in range(4):
        np.add.at(m, (rows, np.clip(base - 1 + k, 0, size - 1)), _cubic(t + 1 - k, -0.75))
    return m


def _antialias_map(size, out, mode, scale):
    """Downsampling with the interpolation filter widened by the scale, as PyTorch's
    ``antialias=True``: every output averages the inputs under its filter (triangle for
    bilinear, cubic with ``a = -0.5`` for bicubic), weights normalised to sum to one."""
    step = scale if scale else size / out
    half = 1.0 if mode == "bilinear" else 2.0
    support = half * max(step, 1.0)
    inv = 1.0 / step if step >= 1.0 else 1.0
    m = np.zeros((out, size), np.float64)
    for i in range(out):
        center = step * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), size)
        x = (np.arange(lo, hi) - center + 0.5) * inv
        w = np.maximum(1.0 - np.abs(x), 0.0) if mode == "bilinear" else _cubic(x, -0.5)
        total = w.sum()
        m[i, lo:hi] = w / total if total else 0.0
    return m


# the modes PyTorch also runs on uint8 input
_UINT8_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")

_INTERP_DIMS = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1,
                "bilinear": 2, "bicubic": 2, "trilinear": 3}


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
    """Resize the spatial dimensions (the last one, two or three).

    Nearest, area, (bi/tri)linear or bicubic resampling, each a separable map.

    Parameters
    ----------
    input : Tensor of shape (N, C, L), (N, C, H, W) or (N, C, D, H, W)
        Floating point, or uint8 for the nearest, bilinear and bicubic modes.
    size : int or tuple of int, optional
    scale_factor : float or tuple of float, optional
        Exactly one of ``size`` and ``scale_factor`` is given.
    mode : {"nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"}
        ``"area"`` is adaptive average pooling to the output size.
    align_corners : bool, optional
        (Bi/tri)linear and bicubic only: map the corner pixels' centres onto each other.
    recompute_scale_factor : bool, optional
        True: sample at ``size / input size`` rather than ``1 / scale_factor``.
    antialias : bool
        Bilinear and bicubic only: when shrinking, widen the filter by the scale so that
        every input contributes (as PIL and torchvision's Resize do).

    Returns
    -------
    Tensor of shape (N, C, *size)
    """
    x = _data(input)
    as_bytes = x.dtype == np.uint8 and mode in _UINT8_MODES
    if as_bytes:
        x = x.astype(np.float64)
    _float_operands("interpolate", input=x)
    if mode not in _INTERP_DIMS:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, "
                                  f"nearest-exact, area, linear, bilinear, bicubic, "
                                  f"trilinear)")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError("interpolate: anti-alias option is only supported for bilinear and "
                         "bicubic modes")
    if antialias and align_corners:
        raise NotImplementedError("interpolate: antialias=True with align_corners=True is not "
                                  "supported")
    n = x.ndim - 2
    if n not in (1, 2, 3) or (_INTERP_DIMS[mode] not in (None, n)):
        raise ValueError(f"interpolate: mode {mode!r} does not take input of shape {x.shape} "
                         f"(linear: 3-D, bilinear and bicubic: 4-D, trilinear: 5-D, nearest "
                         f"and area: 3-D to 5-D)")
    if align_corners is not None and (mode.startswith("nearest") or mode == "area"):
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
    if mode == "area":  # adaptive average pooling: the bins depend on the sizes only
        scales = (None,) * n
    maps = [_antialias_map(s, o, mode, sc).astype(x.dtype) if antialias
            else _resample_map(s, o, mode, bool(align_corners), sc, x.dtype)
            for s, o, sc in zip(spatial, out, scales)]
    if as_bytes:
        # bytes (images, masks) as PyTorch resamples them: one axis at a time from the last,
        # each pass rounded back to bytes (a cubic's overshoot clipped in between)
        for axis in range(x.ndim - 1, 1, -1):
            moved = np.swapaxes(x, axis, -1) @ maps[axis - 2].T
            x = np.clip(np.round(np.swapaxes(moved, axis, -1)), 0, 255)
        return _wrap(x.astype(np.uint8), None)
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


def upsample_nearest(input, size=None, scale_factor=None):
    """Nearest-neighbour resizing (PyTorch's older name): ``interpolate(mode="nearest")``.

    Parameters
    ----------
    input : Tensor of shape (N, C, L), (N, C, H, W) or (N, C, D, H, W)
    size : int or tuple of int, optional
    scale_factor : float or tuple of float, optional

    Returns
    -------
    Tensor of shape (N, C, *size)
    """
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Bilinear resizing with the corners aligned (PyTorch's older name).

    The same as ``interpolate(mode="bilinear", align_corners=True)``.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W)
    size : int or (int, int), optional
    scale_factor : float or (float, float), optional

    Returns
    -------
    Tensor of shape (N, C, *size)
    """
    return interpolate(input, size, scale_factor, "bilinear", True)
