"""Reshaping and padding: ``flatten``, ``pad``, pixel shuffle and unshuffle, channel shuffle."""

from ...ops.conv import PadFunction, pad_index
from ._utils import _data, _tensor

__all__ = [
    "channel_shuffle",
    "flatten",
    "native_channel_shuffle",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
]


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one (``torch.flatten``).

    Parameters
    ----------
    input : Tensor of any shape
    start_dim, end_dim : int

    Returns
    -------
    Tensor
        The input's shape with dimensions ``start_dim`` to ``end_dim`` replaced by their
        product.
    """
    return _tensor(input).flatten(start_dim, end_dim)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative sizes, crop) the trailing dimensions.

    Parameters
    ----------
    input : Tensor of any shape
    pad : tuple of 2 m ints
        ``(left, right)`` of the last dimension, then of the one before, ...
    mode : {"constant", "reflect", "replicate", "circular"}
    value : float, optional
        The fill of ``"constant"`` (default 0).

    Returns
    -------
    Tensor whose padded dimensions grow by ``left + right``
    """
    x = _data(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding length must be even and at most twice the input's "
                         f"dimensions ({x.ndim}), got {len(pad)}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use one of "
                                  f"{_PAD_MODES}")
    if mode != "constant" and value:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    index = []
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if left == 0 and right == 0:
            continue
        n = x.shape[axis]
        if mode == "reflect" and (left >= n or right >= n):
            raise ValueError(f"pad: padding size should be less than the corresponding input "
                             f"dimension, but got: padding ({left}, {right}) at dimension "
                             f"{axis} of input {x.shape}")
        if mode == "circular" and (left > n or right > n):
            raise ValueError(f"pad: padding value ({left}, {right}) is larger than the input "
                             f"dimension {axis} of size {n} (circular)")
        if n + left + right < 0:
            raise ValueError(f"pad: the padded size of dimension {axis} is negative")
        idx, valid = pad_index(n, left, right, mode)
        index.append((axis, idx, valid))
    if not index:
        return _tensor(input)
    return PadFunction.apply(input, tuple(index), 0.0 if value is None else float(value))


def pixel_shuffle(input, upscale_factor):
    """(N, C r^2, H, W) to (N, C, H r, W r): channel blocks become spatial blocks.

    Parameters
    ----------
    input : Tensor of shape (*, C r^2, H, W)
    upscale_factor : int

    Returns
    -------
    Tensor of shape (*, C, H r, W r)
    """
    x = _tensor(input)
    r = int(upscale_factor)
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                         f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                         f"is not divisible by {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(N, C, H r, W r) to (N, C r^2, H, W): the inverse of :func:`pixel_shuffle`.

    Parameters
    ----------
    input : Tensor of shape (*, C, H r, W r)
    downscale_factor : int

    Returns
    -------
    Tensor of shape (*, C r^2, H, W)
    """
    x = _tensor(input)
    r = int(downscale_factor)
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle expects height and width to be divisible by "
                         f"downscale_factor {r}, got {h} x {w}")
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """Interleave the channels of ``groups`` groups (ShuffleNet's channel shuffle).

    ``(N, g C', *)`` is read as ``(N, g, C', *)`` and written as ``(N, C', g, *)``.

    Parameters
    ----------
    input : Tensor of shape ``(N, C, *)``, C divisible by ``groups``
    groups : int

    Returns
    -------
    Tensor of the input's shape
    """
    x = _tensor(input)
    g = int(groups)
    if x.ndim < 3:
        raise ValueError(f"channel_shuffle: expected an input of at least 3 dimensions, got "
                         f"shape {tuple(x.shape)}")
    if g < 1 or x.shape[1] % g:
        raise ValueError(f"channel_shuffle: the number of channels ({x.shape[1]}) must be "
                         f"divisible by groups ({groups})")
    n, c, *rest = x.shape
    return x.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)


def native_channel_shuffle(input, groups):
    """:func:`channel_shuffle` (PyTorch's second name for it).

    Parameters
    ----------
    input : Tensor of shape ``(N, C, *)``
    groups : int

    Returns
    -------
    Tensor of the input's shape
    """
    return channel_shuffle(input, groups)
