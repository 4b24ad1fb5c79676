"""Image grids and PNG files, torchvision's ``make_grid`` and ``save_image`` (no Pillow)."""

import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..data.mnist import _write_atomic
from ..tensor import Tensor, _wrap

__all__ = ["make_grid", "save_image", "write_png"]


def _as_array(tensor):
    if isinstance(tensor, (list, tuple)):
        return np.stack([_as_array(t) for t in tensor])
    if isinstance(tensor, Tensor):
        return tensor.detach().numpy()
    return np.asarray(tensor)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a batch of images into one image, ``nrow`` per row.

    Parameters
    ----------
    tensor : Tensor of shape (B, C, H, W) or (C, H, W) or (H, W), or a list of (C, H, W)
        One-channel images are repeated to three channels; a single image is returned
        without padding.
    nrow : int
        Images per row.
    padding : int
        Pixels between images and around the grid.
    normalize : bool
        Shift and scale to [0, 1] using ``value_range`` (default: the min and max).
    value_range : (float, float), optional
    scale_each : bool
        Normalise each image by its own range.
    pad_value : float

    Returns
    -------
    Tensor of shape (3, rows * (H + padding) + padding, cols * (W + padding) + padding)
        (C channels when C is not 1).
    """
    x = _as_array(tensor)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), got shape {x.shape}")
    x = x.astype(np.float32 if x.dtype != np.float64 else np.float64)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if normalize:
        def scale(img, lo, hi):
            return np.clip(img, lo, hi) - lo if hi == lo else (np.clip(img, lo, hi) - lo) / (
                hi - lo)
        if scale_each:
            x = np.stack([scale(img, *(value_range or (img.min(), img.max()))) for img in x])
        else:
            x = scale(x, *(value_range or (x.min(), x.max())))
    b, c, h, w = x.shape
    if b == 1:  # one image: no frame (as torchvision)
        return _wrap(x[0], None)
    cols = min(nrow, b)
    rows = math.ceil(b / cols)
    ch, cw = h + padding, w + padding
    grid = np.full((c, rows * ch + padding, cols * cw + padding), pad_value, dtype=x.dtype)
    for k in range(b):
        r, q = divmod(k, cols)
        grid[:, r * ch + padding:r * ch + padding + h, q * cw + padding:q * cw + padding + w] = x[k]
    return _wrap(grid, None)


def write_png(path, pixels):
    """Write an 8-bit PNG (grey, or RGB) with zlib only; the file appears whole or not at all.

    Parameters
    ----------
    path : str or Path or binary file object
    pixels : ndarray of shape (H, W) or (H, W, 1) or (H, W, 3), uint8
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"write_png: pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        colour = 0
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        colour = 2
    else:
        raise ValueError(f"write_png: expected (H, W) or (H, W, 3) pixels, got {pixels.shape}")
    h, w = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(h, -1)
    # Each scanline starts with its filter type: 0 (none).
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    payload = (b"\x89PNG\r\n\x1a\n"
               + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    if hasattr(path, "write"):
        path.write(payload)
    else:
        _write_atomic(Path(path), payload)


def save_image(tensor, fp, format=None, **kwargs):
    """Save a Tensor (or a batch as a grid, see :func:`make_grid`) as a PNG file.

    Values are taken in [0, 1] (clipped) and written as 8-bit.

    Parameters
    ----------
    tensor : Tensor of shape (B, C, H, W) or (C, H, W), or a list of (C, H, W)
    fp : str or Path or binary file object
    format : {None, "png"}
        Only PNG is written (without Pillow); None: PNG whatever the file name says.
    **kwargs : dict
        :func:`make_grid`'s arguments (``nrow``, ``padding``, ``normalize`` ...).
    """
    if format is not None and str(format).lower() != "png":
        raise ValueError(f"save_image writes PNG only (no Pillow), got format={format!r}")
    grid = make_grid(tensor, **kwargs).numpy()
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    write_png(fp, pixels)
