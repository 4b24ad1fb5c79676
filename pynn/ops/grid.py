"""Sampling grids: ``affine_grid`` and ``grid_sample`` (the Spatial Transformer's two ops).

NumPy nodes with no kernel of their own, vectorised over every output location: 2-D
(``(N, C, H, W)`` input, ``(N, H_out, W_out, 2)`` grid) and 3-D (``(N, C, D, H, W)`` input,
``(N, D_out, H_out, W_out, 3)`` grid). Interpolation is written once for any number of
spatial dimensions: a location's value is the sum over the ``2 ** d`` corners of the cell
around it of the corner's value times the product of its per-dimension weights. A grid's
last axis lists coordinates fastest dimension first (``x`` indexes width), as in PyTorch.
"""

import itertools
import warnings

import numpy as np

from ..autograd import ArrayFunction
from ..tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")


def _align_default(align_corners, op):
    if align_corners is None:
        warnings.warn(
            "Default grid_sample and affine_grid behavior has changed to align_corners=False "
            "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
            f"See the documentation of {op} for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


# ---------------------------------------------------------------------------------------------
# affine_grid


def _base_coords(n, align_corners, dtype):
    """The normalised centres of ``n`` pixels along one dimension (0 for a single pixel)."""
    if n <= 1:
        return np.zeros(max(n, 0), dtype)
    c = np.linspace(-1.0, 1.0, n, dtype=np.float64)
    if not align_corners:
        c = c * (n - 1) / n
    return c.astype(dtype)


def _base_grid(spatial, align_corners, dtype):
    """``(prod(spatial), d + 1)``: each output location's ``(x, y[, z], 1)``."""
    axes = [_base_coords(n, align_corners, dtype) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # ordered (D,) H, W
    cols = [m.reshape(-1) for m in reversed(mesh)]  # x first
    cols.append(np.ones(cols[0].shape, dtype))
    return np.stack(cols, axis=1)


class AffineGridFunction(ArrayFunction):
    """``grid[n, p] = theta[n] @ base[p]`` for the base coordinates of every output location."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, theta, spatial, align_corners):
        base = _base_grid(spatial, align_corners, theta.dtype)
        ctx.save_for_backward(base)
        grid = np.matmul(base, theta.transpose(0, 2, 1))  # (N, P, d)
        return grid.reshape((theta.shape[0],) + tuple(spatial) + (len(spatial),))

    @staticmethod
    def backward(ctx, grad):
        (base,) = ctx.saved_tensors
        g = grad.reshape(grad.shape[0], -1, grad.shape[-1])
        return np.matmul(g.transpose(0, 2, 1), base), None, None


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine transforms, for :func:`grid_sample`.

    Parameters
    ----------
    theta : Tensor of shape (N, 2, 3) or (N, 3, 4)
        Affine matrices mapping output coordinates (normalised to ``[-1, 1]``) to input
        coordinates; float32 or float64. Differentiable.
    size : sequence of int
        The output's size, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
    align_corners : bool, optional
        True: -1 and 1 are the centres of the corner pixels; False (the default, with
        PyTorch's warning when not given): their outer edges.

    Returns
    -------
    Tensor of shape (N, H, W, 2) or (N, D, H, W, 3)
        The coordinates ``(x, y[, z])`` at each output location.
    """
    align_corners = _align_default(align_corners, "affine_grid")
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid: theta must be a Tensor, got {type(theta).__name__}")
    if theta._data.dtype not in (np.float32, np.float64):
        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        want = (size[0], 2, 3)
        kind = "2D affine matrices of shape Nx2x3"
    elif len(size) == 5:
        want = (size[0], 3, 4)
        kind = "3D affine matrices of shape Nx3x4"
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {list(size)}.")
    if theta._data.ndim != 3 or tuple(theta.shape[1:]) != want[1:]:
        raise ValueError(f"Expected a batch of {kind} for size {list(size)}. "
                         f"Got {list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {theta.shape[0]} matrices but size asks "
                           f"for a batch of {size[0]}")
    return AffineGridFunction.apply(theta, size[2:], align_corners)


# ---------------------------------------------------------------------------------------------
# grid_sample


def _reflect(c, twice_low, twice_high):
    """Reflect coordinates into ``[twice_low / 2, twice_high / 2]``; also d(out)/d(in)."""
    if twice_low == twice_high:
        return np.zeros_like(c), np.zeros_like(c)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = c - low
    sign = np.where(c < 0, -1.0, 1.0).astype(c.dtype)
    c = np.abs(c)
    extra = np.fmod(c, span)
    flips = np.floor(c / span)
    even = np.fmod(flips, 2) == 0
    out = np.where(even, extra + low, span - extra + low)
    return out.astype(c.dtype), np.where(even, sign, -sign)


def _clip(c, n):
    """Clip to ``[0, n - 1]``; the derivative is 0 at and beyond the limits (as PyTorch)."""
    hi = n - 1
    d = ((c > 0) & (c < hi)).astype(c.dtype)
    return np.clip(c, 0, hi), d


def _source_coords(g, n, padding_mode, align_corners):
    """Pixel coordinates of normalised coordinates ``g`` along a dimension of ``n`` pixels,
    after padding; and their derivative with respect to ``g``."""
    if align_corners:
        c = (g + 1) * ((n - 1) / 2)
        d = np.full(g.shape, (n - 1) / 2, g.dtype)
    else:
        c = ((g + 1) * n - 1) / 2
        d = np.full(g.shape, n / 2, g.dtype)
    if padding_mode == "border":
        c, dc = _clip(c, n)
        d = d * dc
    elif padding_mode == "reflection":
        if align_corners:
            c, dr = _reflect(c, 0, 2 * (n - 1))
        else:
            c, dr = _reflect(c, -1, 2 * n - 1)
        c, dc = _clip(c, n)
        d = d * dr * dc
    return c, d


def _corners(coords, spatial, mode):
    """Per corner of the cell around each location: the flat index into the spatial
    dimensions (0 where out of bounds), the weight (0 where out of bounds) and, for
    bilinear, the weight's derivative along each dimension.

    ``coords`` is a list (dimension order of ``spatial``) of ``(N, P)`` pixel coordinates.
    """
    strides = [int(np.prod(spatial[k + 1:])) for k in range(len(spatial))]
    if mode == "nearest":
        idx = 0
        valid = True
        for c, n, s in zip(coords, spatial, strides):
            r = np.rint(c)  # round half to even, as PyTorch's nearbyint
            ok = (r >= 0) & (r <= n - 1)
            valid = valid & ok
            idx = idx + np.where(ok, r, 0).astype(np.int64) * s
        return [(np.where(valid, idx, 0), valid.astype(coords[0].dtype), None)]
    lows = [np.floor(c) for c in coords]
    fracs = [c - f for c, f in zip(coords, lows)]
    out = []
    for bits in itertools.product((0, 1), repeat=len(spatial)):
        idx = 0
        valid = True
        ws = []
        for b, f, fr, n, s in zip(bits, lows, fracs, spatial, strides):
            i = f + b
            ok = (i >= 0) & (i <= n - 1)
            valid = valid & ok
            idx = idx + np.where(ok, i, 0).astype(np.int64) * s
            ws.append(fr if b else 1 - fr)
        v = valid.astype(coords[0].dtype)
        weight = v * np.prod(ws, axis=0)
        dws = []
        for k, b in enumerate(bits):
            others = [w for j, w in enumerate(ws) if j != k]
            dw = np.prod(others, axis=0) if others else np.ones_like(ws[0])
            dws.append(v * (dw if b else -dw))
        out.append((np.where(valid, idx, 0), weight, dws))
    return out


def _gather(flat, idx):
    """``flat[n, c, idx[n, p]]``: (N, C, S) and (N, P) -> (N, C, P)."""
    return np.take_along_axis(flat, idx[:, None, :], axis=2)


class GridSampleFunction(ArrayFunction):
    """Sample ``input`` at the locations of ``grid`` (bilinear or nearest)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        n, ch = x.shape[:2]
        spatial = x.shape[2:]
        out_spatial = grid.shape[1:-1]
        d = len(spatial)
        g = grid.reshape(n, -1, d)
        coords, dcoords = [], []
        for k in range(d):  # grid component k indexes spatial dimension d - 1 - k
            c, dc = _source_coords(g[:, :, k], spatial[d - 1 - k], padding_mode, align_corners)
            coords.append(c)
            dcoords.append(dc)
        coords.reverse()
        dcoords.reverse()
        corners = _corners(coords, spatial, mode)
        flat = x.reshape(n, ch, -1)
        out = np.zeros((n, ch, g.shape[1]), x.dtype)
        for idx, w, _ in corners:
            vals = _gather(flat, idx)
            out += np.where(w[:, None, :] != 0, vals * w[:, None, :], 0)
        ctx.save_for_backward(flat, corners, dcoords, x.shape, grid.shape)
        return out.reshape((n, ch) + tuple(out_spatial))

    @staticmethod
    def backward(ctx, grad):
        flat, corners, dcoords, x_shape, grid_shape = ctx.saved_tensors
        n, ch, size = flat.shape
        go = grad.reshape(n, ch, -1)
        gx = ggrid = None
        if ctx.needs_input_grad[0]:
            total = np.zeros(n * ch * size, np.float64)
            base = (np.arange(n * ch, dtype=np.int64) * size).reshape(n, ch, 1)
            for idx, w, _ in corners:
                pos = (base + idx[:, None, :]).reshape(-1)
                total += np.bincount(pos, weights=(go * w[:, None, :]).reshape(-1),
                                     minlength=total.size)
            gx = total.astype(flat.dtype).reshape(x_shape)
        if ctx.needs_input_grad[1]:
            d = len(dcoords)
            gcoord = [np.zeros(go.shape[::2], go.dtype) for _ in range(d)]
            if corners[0][2] is not None:  # nearest: piecewise constant, zero gradient
                for idx, _, dws in corners:
                    vals = _gather(flat, idx)
                    dot = np.einsum("ncp,ncp->np", go, np.where(np.isfinite(vals), vals, 0))
                    for k in range(d):
                        gcoord[k] += dot * dws[k]
            comps = [gcoord[d - 1 - k] * dcoords[d - 1 - k] for k in range(d)]
            ggrid = np.stack(comps, axis=-1).reshape(grid_shape)
        return gx, ggrid, None, None, None


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` at the normalised locations of ``grid`` (PyTorch's ``grid_sample``).

    Location ``(-1, -1)`` is the top-left of the input and ``(1, 1)`` its bottom-right
    (pixel centres or outer edges, as ``align_corners`` says).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (N, C, D, H, W)
        float32 or float64. Differentiable.
    grid : Tensor of shape (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3)
        ``(x, y[, z])`` per output location, normally in ``[-1, 1]``; same dtype as
        ``input``. Differentiable (the gradient is zero for ``mode="nearest"``).
    mode : {"bilinear", "nearest"}
        Interpolation (on 5-D input "bilinear" is trilinear). "bicubic" is not implemented.
    padding_mode : {"zeros", "border", "reflection"}
        The value of locations outside the input: zero, the nearest border pixel, or the
        input reflected at its border.
    align_corners : bool, optional
        True: -1 and 1 are the centres of the corner pixels; False (the default, with
        PyTorch's warning when not given): their outer edges.

    Returns
    -------
    Tensor of shape (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out)
    """
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _align_default(align_corners, "grid_sample")
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sample: {name} must be a Tensor, got {type(t).__name__}")
    x, g = input._data, grid._data
    if x.ndim not in (4, 5):
        raise RuntimeError(f"grid_sample(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(x.shape)} and grid "
                           f"with sizes {list(g.shape)}")
    if g.ndim != x.ndim:
        raise RuntimeError(f"grid_sample(): expected grid to have the same number of dimensions "
                           f"as input ({x.ndim}), but got grid with sizes {list(g.shape)}")
    if x.dtype not in (np.float32, np.float64) or g.dtype != x.dtype:
        raise RuntimeError(f"grid_sample(): expected input and grid to have the same float32 "
                           f"or float64 dtype, but input has {input.dtype} and grid has "
                           f"{grid.dtype}")
    if g.shape[0] != x.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(x.shape)} and grid with sizes "
                           f"{list(g.shape)}")
    d = x.ndim - 2
    if g.shape[-1] != d:
        raise RuntimeError(f"grid_sample(): expected grid to have size {d} in last dimension, "
                           f"but got grid with sizes {list(g.shape)}")
    if min(x.shape[2:]) <= 0:
        raise RuntimeError(f"grid_sample(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {list(x.shape)}")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not implemented in pynn "
                                  "(use 'bilinear' or 'nearest')")
    return GridSampleFunction.apply(input, grid, mode, padding_mode, align_corners)
