"""Image transforms with torchvision's names: ``from pynn.vision import transforms``.

A transform maps one image to one image. Images come in two forms, as in torchvision:

- before :class:`ToTensor`, a *picture*: an ndarray of shape (H, W) or (H, W, C), usually
  uint8 (what pynn's datasets return), or a PIL image when Pillow is installed (it is read
  through NumPy; geometric transforms give one back);
- after it, a Tensor of shape (C, H, W) (or (..., H, W)), float in [0, 1].

The geometric transforms (crops, flips, rotation, resizing, padding) take either form and
return the same form. The randomness comes from pynn's global generator (``pynn.manual_seed``
reseeds it) unless a transform is given its own ``rng``.

Deterministic transforms and the random ones of :mod:`pynn.data.transforms` also work on a
whole batch (N, C, H, W) at once (:meth:`Compose.batch`): datasets use that to build a batch
without a Python loop over images when their transform allows it.
"""

import math
import numbers
import sys

import numpy as np

from .. import random as _random
from ..data import transforms as _batch
from ..nn.functional._resampling import _antialias_map, _resample_map
from ..tensor import Tensor, _wrap

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "ConvertImageDtype",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomAffine",
    "RandomApply",
    "RandomCrop",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToPILImage",
    "ToTensor",
]


class InterpolationMode:
    """The interpolation names torchvision uses (plain strings here)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


# -- image forms ------------------------------------------------------------------------------

def _is_pil(img):
    return type(img).__module__.startswith("PIL.")


def _to_nchw(img, name):
    """``img`` as an (N, C, H, W) ndarray, and a function turning such an array back into
    ``img``'s form (picture layout, Tensor or PIL image)."""
    if isinstance(img, Tensor):
        arr = img.detach().numpy()
        if arr.ndim < 2:
            raise ValueError(f"{name}: expected a tensor image (..., H, W), got shape "
                             f"{tuple(arr.shape)}")
        if arr.ndim == 2:
            return arr[None, None], lambda out: _wrap(np.ascontiguousarray(out[0, 0]), None)
        lead = arr.shape[:-3]
        x = arr.reshape((-1,) + arr.shape[-3:])
        return x, lambda out: _wrap(np.ascontiguousarray(out).reshape(lead + out.shape[1:]), None)
    pil = _is_pil(img)
    arr = np.asarray(img)
    if arr.ndim == 2:
        x = arr[None, None]

        def back(out):
            return _restore_picture(out[0, 0], img if pil else None)
    elif arr.ndim == 3:
        x = arr.transpose(2, 0, 1)[None]

        def back(out):
            # One channel is a grey picture (H, W), as a PIL "L" image is.
            hwc = out[0, 0] if out.shape[1] == 1 else out[0].transpose(1, 2, 0)
            return _restore_picture(hwc, img if pil else None)
    else:
        raise ValueError(f"{name}: expected a picture of shape (H, W) or (H, W, C) or a "
                         f"Tensor (C, H, W), got {type(img).__name__} of shape {arr.shape}")
    return x, back


def _restore_picture(arr, pil_like):
    arr = np.ascontiguousarray(arr)
    if pil_like is None:
        return arr
    return sys.modules[type(pil_like).__module__].fromarray(arr)


def _pair(size, name):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: size must be an int or (height, width), got {size!r}")
    return size


class _ImageTransform:
    """One image in, one image out; subclasses implement ``_apply(x)`` on (N, C, H, W)."""

    def __call__(self, img):
        x, back = _to_nchw(img, type(self).__name__)
        return back(self._apply(x))

    def batch(self, x):
        """The transform of every image of an (N, C, H, W) ndarray."""
        return self._apply(x)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""


# -- conversion -------------------------------------------------------------------------------

class ToTensor:
    """A picture (H, W[, C]) to a float32 Tensor (C, H, W); uint8 values are divided by 255.

    Float pictures keep their values (as torchvision does). PIL images are read with
    ``np.asarray``; Tensors are refused, as in torchvision.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: pic should be a picture (ndarray (H, W[, C]) or PIL "
                            "image), got a Tensor; it is already one")
        arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"ToTensor: pic should be 2- or 3-dimensional (H, W[, C]), got "
                             f"shape {arr.shape}")
        return _wrap(self._convert(arr.transpose(2, 0, 1)), None)

    def batch(self, x):
        """(N, C, H, W) pictures to float32 (the values as ``__call__`` gives them)."""
        return self._convert(x)

    @staticmethod
    def _convert(chw):
        if chw.dtype == np.uint8:
            return np.multiply(chw, np.float32(1 / 255), dtype=np.float32)
        if chw.dtype == np.bool_:
            return chw.astype(np.float32)
        if np.issubdtype(chw.dtype, np.floating):
            return np.ascontiguousarray(chw)
        return chw.astype(np.float32)

    def __repr__(self):
        return "ToTensor()"


class PILToTensor:
    """A picture (H, W[, C]) to a Tensor (C, H, W) of the same dtype, values unchanged."""

    def __call__(self, pic):
        arr = np.asarray(pic)
        arr = arr[:, :, None] if arr.ndim == 2 else arr
        return _wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)), None)

    def __repr__(self):
        return "PILToTensor()"


class ConvertImageDtype:
    """A tensor image to ``dtype``, rescaling the values (uint8 0..255 <-> float 0..1).

    Parameters
    ----------
    dtype : pynn dtype
    """

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        if not isinstance(image, Tensor):
            raise TypeError(f"ConvertImageDtype: expected a Tensor, got {type(image).__name__}")
        src, dst = image.is_floating_point(), self.dtype.is_floating_point
        if src and not dst:
            top = float(np.iinfo(self.dtype.dtype).max)
            return (image * (top + 1.0 - 1e-3)).floor().to(self.dtype)
        if dst and not src:
            top = float(np.iinfo(image.numpy().dtype).max)
            return image.to(self.dtype) / top
        return image.to(self.dtype)

    def __repr__(self):
        return f"ConvertImageDtype({self.dtype})"


class Normalize:
    """``(x - mean[c]) / std[c]`` on a float Tensor (C, H, W) (or (N, C, H, W)).

    Parameters
    ----------
    mean, std : sequence of C floats (or one float for every channel)
    inplace : bool
        Write the result into the input tensor.
    """

    def __init__(self, mean, std, inplace=False):
        self._op = _batch.Normalize(mean, std)
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: expected a Tensor image (C, H, W), got "
                            f"{type(tensor).__name__}; apply ToTensor first")
        if not tensor.is_floating_point():
            raise TypeError(f"Normalize: expected a float tensor, got {tensor.dtype}")
        x = tensor.detach().numpy()
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image (C, H, W), got shape "
                             f"{tuple(x.shape)}")
        out = self._op(x if x.ndim <= 4 else x.reshape((-1,) + x.shape[-3:])).reshape(x.shape)
        if self.inplace:
            x[...] = out
            return tensor
        return _wrap(out, None)

    def batch(self, x):
        """Every image of an (N, C, H, W) float ndarray."""
        return self._op.apply(x)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """A user function as a transform.

    Parameters
    ----------
    lambd : callable
    """

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


class Compose:
    """Apply ``transforms`` in order.

    Parameters
    ----------
    transforms : list of callable
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def batchable(self):
        """True when every transform can run on a whole batch (:meth:`batch`)."""
        return all(callable(getattr(t, "batch", None)) and getattr(t, "batchable", True)
                   for t in self.transforms)

    def batch(self, x):
        """Apply every transform to a batch (N, C, H, W) at once.

        Pictures (uint8) before :class:`ToTensor`, float images after it.
        """
        for t in self.transforms:
            x = t.batch(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class RandomApply:
    """Apply the list ``transforms`` with probability ``p``.

    Parameters
    ----------
    transforms : list of callable
    p : float
    """

    def __init__(self, transforms, p=0.5):
        self.transforms = list(transforms)
        self.p = float(p)

    def __call__(self, img):
        if _random.get_generator().random() >= self.p:
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return f"RandomApply(p={self.p}, {self.transforms!r})"


# -- geometry ---------------------------------------------------------------------------------

class _Wrapped(_ImageTransform):
    """A transform of :mod:`pynn.data.transforms` (batches, per-image randomness)."""

    def _apply(self, x):
        return self._op.apply(x)


class RandomHorizontalFlip(_Wrapped):
    """Mirror left-right with probability ``p``.

    Parameters
    ----------
    p : float
    """

    def __init__(self, p=0.5):
        self.p = p
        self._op = _batch.RandomHorizontalFlip(p)

    def extra_repr(self):
        return f"p={self.p}"


class RandomVerticalFlip(_ImageTransform):
    """Mirror top-bottom with probability ``p``.

    Parameters
    ----------
    p : float
    """

    def __init__(self, p=0.5):
        self.p = float(p)

    def _apply(self, x):
        flip = _random.get_generator().random(x.shape[0]) < self.p
        return np.where(flip[:, None, None, None], x[:, :, ::-1], x)

    def extra_repr(self):
        return f"p={self.p}"


def _padding4(padding, name):
    """(left, top, right, bottom) from torchvision's int, (lr, tb) or 4-tuple."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return padding * 2
    if len(padding) == 4:
        return padding
    raise ValueError(f"{name}: padding must be an int or a sequence of 2 or 4 ints, "
                     f"got {padding!r}")


_NP_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
                 "symmetric": "symmetric"}


def _pad_nchw(x, left, top, right, bottom, fill=0, mode="constant"):
    if mode not in _NP_PAD_MODES:
        raise ValueError(f"padding_mode must be one of {sorted(_NP_PAD_MODES)}, got {mode!r}")
    widths = ((0, 0), (0, 0), (top, bottom), (left, right))
    if mode == "constant":
        return np.pad(x, widths, constant_values=fill)
    return np.pad(x, widths, mode=_NP_PAD_MODES[mode])


class Pad(_ImageTransform):
    """Pad the borders.

    Parameters
    ----------
    padding : int or (int, int) or (int, int, int, int)
        All sides; (left/right, top/bottom); or (left, top, right, bottom).
    fill : number
    padding_mode : {"constant", "edge", "reflect", "symmetric"}
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = _padding4(padding, "Pad")
        self.fill, self.padding_mode = fill, padding_mode

    def _apply(self, x):
        return _pad_nchw(x, *self.padding, fill=self.fill, mode=self.padding_mode)

    def extra_repr(self):
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode}"


class RandomCrop(_ImageTransform):
    """Crop ``size`` at a random place (per image), after optional padding.

    Parameters
    ----------
    size : int or (int, int)
    padding : int or sequence, optional
        As :class:`Pad`.
    pad_if_needed : bool
        Pad images smaller than ``size`` up to it.
    fill : number
    padding_mode : {"constant", "edge", "reflect", "symmetric"}
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant"):
        self.size = _pair(size, "RandomCrop")
        self.padding = None if padding is None else _padding4(padding, "RandomCrop")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def _apply(self, x):
        if self.padding is not None:
            x = _pad_nchw(x, *self.padding, fill=self.fill, mode=self.padding_mode)
        th, tw = self.size
        if self.pad_if_needed and (x.shape[2] < th or x.shape[3] < tw):
            dh, dw = max(th - x.shape[2], 0), max(tw - x.shape[3], 0)
            x = _pad_nchw(x, dw, dh, dw, dh, fill=self.fill, mode=self.padding_mode)
        h, w = x.shape[2:]
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the image "
                             f"({h}, {w})")
        rng = _random.get_generator()
        top = rng.integers(0, h - th + 1, size=x.shape[0])
        left = rng.integers(0, w - tw + 1, size=x.shape[0])
        return _batch._crop_at(x, top, left, th, tw)

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}"


class CenterCrop(_ImageTransform):
    """Crop ``size`` at the centre (padding with zeros where the image is smaller).

    Parameters
    ----------
    size : int or (int, int)
    """

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def _apply(self, x):
        th, tw = self.size
        h, w = x.shape[2:]
        if th > h or tw > w:
            dh, dw = max(th - h, 0), max(tw - w, 0)
            x = _pad_nchw(x, dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2)
            h, w = x.shape[2:]
        top = round((h - th) / 2.0)
        left = round((w - tw) / 2.0)
        return x[:, :, top:top + th, left:left + tw]

    def extra_repr(self):
        return f"size={self.size}"


def _resample_matrix(n_in, n_out, mode, antialias):
    """(n_out, n_in) weights: output sample i is ``sum_j W[i, j] * input[j]``, the map
    ``F.interpolate`` applies along one axis (half-pixel centres; the filter widened by the
    scale when shrinking with ``antialias``)."""
    if antialias and mode in ("bilinear", "bicubic"):
        return _antialias_map(n_in, n_out, mode, None)
    return _resample_map(n_in, n_out, mode, False, None, np.float64)


def _resize_nchw(x, size, mode="bilinear", antialias=True):
    th, tw = size
    h, w = x.shape[2:]
    if (th, tw) == (h, w):
        return x
    wy = _resample_matrix(h, th, mode, antialias)
    wx = _resample_matrix(w, tw, mode, antialias)
    if mode == "nearest":
        rows = wy.argmax(axis=1)
        cols = wx.argmax(axis=1)
        return x[:, :, rows][:, :, :, cols]
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    out = np.einsum("ij,ncjk,lk->ncil", wy.astype(dtype), x.astype(dtype, copy=False),
                    wx.astype(dtype), optimize=True)
    if not np.issubdtype(x.dtype, np.floating):
        info = np.iinfo(x.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(x.dtype)
    return out


def _resized_shape(h, w, size, max_size):
    if isinstance(size, numbers.Number) or len(size) == 1:
        s = int(size if isinstance(size, numbers.Number) else size[0])
        short, long_ = (h, w) if h <= w else (w, h)
        new_short, new_long = s, int(s * long_ / short)
        if max_size is not None and new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)
    return _pair(size, "Resize")


class Resize(_ImageTransform):
    """Resize to ``size``: (h, w), or an int matched by the shorter side (aspect kept).

    Parameters
    ----------
    size : int or (int, int)
    interpolation : {"bilinear", "nearest", "nearest-exact", "bicubic"}
    max_size : int, optional
        With an int ``size``: the longer side's cap.
    antialias : bool
        Widen the filter when shrinking (as PIL and torchvision do).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _interp(interpolation, "Resize", _RESIZE_MODES)

    def _apply(self, x):
        shape = _resized_shape(x.shape[2], x.shape[3], self.size, self.max_size)
        return _resize_nchw(x, shape, self.interpolation, self.antialias)

    def extra_repr(self):
        return f"size={self.size}, interpolation={self.interpolation}"


_RESIZE_MODES = ("bilinear", "nearest", "nearest-exact", "bicubic")


def _interp(mode, name, modes=("bilinear", "nearest")):
    mode = getattr(mode, "value", mode)
    mode = str(mode).lower()
    if mode not in modes:
        raise ValueError(f"{name}: interpolation must be one of {list(modes)}, got {mode!r}")
    return mode


class RandomResizedCrop(_ImageTransform):
    """Crop a random area and aspect ratio, then resize it to ``size``.

    Parameters
    ----------
    size : int or (int, int)
    scale : (float, float)
        Range of the crop's area as a fraction of the image's.
    ratio : (float, float)
        Range of the crop's aspect ratio (width / height), drawn log-uniformly.
    interpolation : {"bilinear", "nearest", "nearest-exact", "bicubic"}
    antialias : bool
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _pair(size, "RandomResizedCrop")
        self.scale, self.ratio, self.antialias = tuple(scale), tuple(ratio), antialias
        self.interpolation = _interp(interpolation, "RandomResizedCrop", _RESIZE_MODES)

    def _params(self, h, w, rng):
        area = h * w
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            cw = round(math.sqrt(target * aspect))
            ch = round(math.sqrt(target / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
        # Fall back to the centre crop of the nearest allowed aspect ratio.
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, round(w / min(self.ratio))
        elif in_ratio > max(self.ratio):
            ch, cw = h, round(h * max(self.ratio))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def _apply(self, x):
        rng = _random.get_generator()
        out = []
        for img in x:
            top, left, ch, cw = self._params(x.shape[2], x.shape[3], rng)
            crop = img[None, :, top:top + ch, left:left + cw]
            out.append(_resize_nchw(crop, self.size, self.interpolation, self.antialias))
        return np.concatenate(out)

    def extra_repr(self):
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}"


class RandomRotation(_Wrapped):
    """Rotate by a random angle, counter-clockwise about the centre, keeping the size.

    The angle is drawn from ``[-degrees, degrees]`` (or ``degrees`` = (lo, hi)).

    Parameters
    ----------
    degrees : float or (float, float)
    interpolation : {"nearest", "bilinear"}
    expand : bool
        Must be False (the output keeps the input's size).
    center : None
        The image centre (others are not supported).
    fill : number
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        if expand or center is not None:
            raise NotImplementedError("RandomRotation: expand=True and a custom center are "
                                      "not supported; the rotation is about the image centre")
        self.degrees = degrees
        self._op = _batch.RandomRotation(degrees, _interp(interpolation, "RandomRotation"),
                                         fill)

    def extra_repr(self):
        return f"degrees={self._op.degrees}, interpolation={self._op.interpolation}"


def _range(value, name, centred=True):
    """(lo, hi) from a number (``[-v, v]``) or a pair."""
    if value is None:
        return None
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}")
        return (-float(value), float(value)) if centred else (float(value), float(value))
    value = tuple(float(v) for v in value)
    if len(value) != 2 or value[0] > value[1]:
        raise ValueError(f"{name} must be a number or (min, max), got {value!r}")
    return value


class RandomAffine(_ImageTransform):
    """Rotate, translate, scale and shear about the centre, keeping the size.

    Parameters
    ----------
    degrees : float or (float, float)
        Rotation (counter-clockwise) drawn from ``[-degrees, degrees]`` or the range.
    translate : (float, float), optional
        Largest shifts as fractions of the width and height.
    scale : (float, float), optional
        Range of the scale factor.
    shear : float or (float, float) or (float, float, float, float), optional
        x-shear angle range in degrees (and y-shear range, with four values).
    interpolation : {"nearest", "bilinear"}
    fill : number
    center : None
        The image centre (others are not supported).
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        if center is not None:
            raise NotImplementedError("RandomAffine: a custom center is not supported")
        self.degrees = _range(degrees, "RandomAffine: degrees")
        if translate is not None and not all(0.0 <= t <= 1.0 for t in translate):
            raise ValueError(f"RandomAffine: translate values must be in [0, 1], got "
                             f"{translate!r}")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        self.scale = None if scale is None else _range(scale, "RandomAffine: scale", False)
        if shear is not None and not isinstance(shear, numbers.Number) and len(shear) == 4:
            self.shear = (tuple(shear[:2]), tuple(shear[2:]))
        else:
            self.shear = (_range(shear, "RandomAffine: shear"), None) if shear is not None \
                else None
        self.interpolation = _interp(interpolation, "RandomAffine")
        self.fill = fill

    def _apply(self, x):
        n, _, h, w = x.shape
        rng = _random.get_generator()
        theta = np.deg2rad(rng.uniform(*self.degrees, size=n))
        tx = ty = np.zeros(n)
        if self.translate is not None:
            tx = np.round(rng.uniform(-1, 1, n) * self.translate[0] * w)
            ty = np.round(rng.uniform(-1, 1, n) * self.translate[1] * h)
        scale = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        sx = sy = np.zeros(n)
        if self.shear is not None:
            sx = np.deg2rad(rng.uniform(*self.shear[0], size=n))
            if self.shear[1] is not None:
                sy = np.deg2rad(rng.uniform(*self.shear[1], size=n))
        cos, sin = np.cos(theta), np.sin(theta)
        # The forward map (source offsets from the centre to output offsets, x then y, rows
        # growing downwards): rotate counter-clockwise on screen, shear, scale, translate.
        rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
        shear = np.stack([np.stack([np.ones(n), np.tan(sx)], -1),
                          np.stack([np.tan(sy), np.ones(n)], -1)], -2)
        forward = rot @ shear * scale[:, None, None]
        inverse = np.linalg.inv(forward)
        offset = -(inverse @ np.stack([tx, ty], -1)[:, :, None])[:, :, 0]
        return _batch.warp_affine(x, inverse, offset, self.interpolation, self.fill)

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}")


class Grayscale(_ImageTransform):
    """RGB to grey (ITU-R 601-2 luma: 0.299 R + 0.587 G + 0.114 B).

    Parameters
    ----------
    num_output_channels : {1, 3}
    """

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError("Grayscale: num_output_channels must be 1 or 3")
        self.num_output_channels = num_output_channels

    def _apply(self, x):
        if x.shape[1] == 1:
            grey = x
        else:
            if x.shape[1] != 3:
                raise ValueError(f"Grayscale: expected 1 or 3 channels, got {x.shape[1]}")
            dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
            grey = np.tensordot(np.array([0.299, 0.587, 0.114], dtype=dtype),
                                x.astype(dtype, copy=False), axes=([0], [1]))[:, None]
            if grey.dtype != x.dtype:
                grey = np.clip(np.rint(grey), 0, np.iinfo(x.dtype).max).astype(x.dtype)
        return np.repeat(grey, self.num_output_channels, axis=1)

    def extra_repr(self):
        return f"num_output_channels={self.num_output_channels}"


# -- colour and noise -------------------------------------------------------------------------

def _float_image(x):
    """(float array, bound, restore): pictures of integers are worked on as floats in
    [0, 255] and rounded back; float images are in [0, 1]."""
    if np.issubdtype(x.dtype, np.floating):
        return x, 1.0, lambda y: y.astype(x.dtype, copy=False)
    bound = float(np.iinfo(x.dtype).max)
    return x.astype(np.float32), bound, lambda y: np.rint(y).astype(x.dtype)


def _grey(x):
    """ITU-R 601-2 luma of (N, 3, H, W) floats, shape (N, 1, H, W)."""
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None].astype(x.dtype)


def _blend(a, b, factor, bound):
    return np.clip(factor * a + (1.0 - factor) * b, 0.0, bound)


def _rgb_to_hsv(x):
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc, minc = x.max(1), x.min(1)
    delta = maxc - minc
    s = np.where(maxc > 0, delta / np.where(maxc > 0, maxc, 1), 0)
    safe = np.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], 1)


def _jitter_range(value, name, center=1.0, bound=(0, float("inf"))):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be non-negative, got {value}")
        lo, hi = center - float(value), center + float(value)
        lo = max(lo, bound[0])
    else:
        lo, hi = (float(v) for v in value)
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got "
                         f"({lo}, {hi})")
    return None if lo == hi == center else (lo, hi)


class ColorJitter(_ImageTransform):
    """Randomly change the brightness, contrast, saturation and hue, as torchvision's.

    Each factor is drawn per image, uniformly in ``[max(0, 1 - v), 1 + v]`` (hue in
    ``[-v, v]``), and the four adjustments run in a random order.

    Parameters
    ----------
    brightness, contrast, saturation : float or (float, float)
        How far the factor may go from 1 (or its range).
    hue : float or (float, float)
        How far the hue may turn, at most 0.5 (or its range in [-0.5, 0.5]).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", 0.0, (-0.5, 0.5))

    def _apply(self, x):
        rng = _random.get_generator()
        f, bound, back = _float_image(x)
        out = np.empty_like(f)
        for n in range(f.shape[0]):
            img = f[n:n + 1]
            for k in rng.permutation(4):
                rnge = (self.brightness, self.contrast, self.saturation, self.hue)[k]
                if rnge is None:
                    continue
                factor = rng.uniform(*rnge)
                if k == 0:
                    img = np.clip(img * factor, 0.0, bound)
                elif k == 1:
                    grey = _grey(img) if img.shape[1] == 3 else img
                    img = _blend(img, grey.mean(), factor, bound)
                elif k == 2 and img.shape[1] == 3:
                    img = _blend(img, _grey(img), factor, bound)
                elif k == 3 and img.shape[1] == 3:
                    h, s, v = _rgb_to_hsv(img / bound)
                    img = _hsv_to_rgb((h + factor) % 1.0, s, v) * bound
            out[n] = img[0]
        return back(out)

    def extra_repr(self):
        return (f"brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue}")


class RandomGrayscale(_ImageTransform):
    """Turn an image grey (keeping its channel count) with probability ``p``.

    Parameters
    ----------
    p : float
    """

    def __init__(self, p=0.1):
        self.p = float(p)

    def _apply(self, x):
        if x.shape[1] != 3:
            return x
        pick = _random.get_generator().random(x.shape[0]) < self.p
        if not pick.any():
            return x
        grey = Grayscale(3)._apply(x)
        return np.where(pick[:, None, None, None], grey, x)

    def extra_repr(self):
        return f"p={self.p}"


class GaussianBlur(_ImageTransform):
    """Blur with a Gaussian kernel whose sigma is drawn per call in ``sigma``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Odd and positive (height, width).
    sigma : float or (float, float)
        The standard deviation, or the range it is drawn from.
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = _pair(kernel_size, "GaussianBlur")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError("GaussianBlur: kernel size values should be odd and positive")
        lo, hi = (float(sigma), float(sigma)) if isinstance(sigma, numbers.Number) else \
            (float(sigma[0]), float(sigma[1]))
        if not 0 < lo <= hi:
            raise ValueError("GaussianBlur: sigma values should be positive and of the form "
                             "(min, max)")
        self.sigma = (lo, hi)

    def _apply(self, x):
        s = _random.get_generator().uniform(*self.sigma)
        f, _, back = _float_image(x)
        out = f
        for axis, k in ((2, self.kernel_size[0]), (3, self.kernel_size[1])):
            half = k // 2
            taps = np.exp(-0.5 * (np.arange(-half, half + 1) / s) ** 2)
            taps = (taps / taps.sum()).astype(f.dtype)
            pad = [(0, 0)] * 4
            pad[axis] = (half, half)
            padded = np.pad(out, pad, mode="reflect")
            out = sum(taps[i] * np.take(padded, range(i, i + out.shape[axis]), axis=axis)
                      for i in range(k))
        return back(out)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


class RandomErasing:
    """Erase a random rectangle of a tensor image with probability ``p``.

    It comes after :class:`ToTensor`, as torchvision's does.

    Parameters
    ----------
    p : float
    scale : (float, float)
        The erased area's range, as a fraction of the image.
    ratio : (float, float)
        The rectangle's aspect ratio range.
    value : float, sequence of float or "random"
        What is written (one value per channel, or normal noise).
    inplace : bool
        Write into the given tensor.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not 0 <= p <= 1:
            raise ValueError("RandomErasing: probability should be between 0 and 1")
        self.p, self.scale, self.ratio = float(p), tuple(scale), tuple(ratio)
        self.value, self.inplace = value, inplace

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: expected a Tensor image (C, H, W) (use it after "
                            f"ToTensor), got {type(img).__name__}")
        rng = _random.get_generator()
        if rng.random() >= self.p:
            return img
        arr = img._data if self.inplace else img._data.copy()
        c, h, w = arr.shape[-3:]
        area = h * w
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            erase = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            eh, ew = round(math.sqrt(erase * aspect)), round(math.sqrt(erase / aspect))
            if eh < h and ew < w:
                top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
                if self.value == "random":
                    fill = rng.standard_normal((c, eh, ew)).astype(arr.dtype)
                else:
                    fill = np.asarray(self.value, arr.dtype).reshape(-1, 1, 1)
                arr[..., top:top + eh, left:left + ew] = fill
                break
        return img if self.inplace else _wrap(arr, None)

    def __repr__(self):
        return (f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")


class ToPILImage:
    """A tensor (C, H, W) or picture array as a PIL image (needs Pillow).

    Floats are taken as [0, 1] and scaled to uint8, as torchvision does.

    Parameters
    ----------
    mode : str, optional
        The PIL mode (inferred from the channel count by default).
    """

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        try:
            from PIL import Image
        except ImportError:
            raise ImportError("ToPILImage needs Pillow (pip install pillow)") from None
        if isinstance(pic, Tensor):
            arr = pic.detach().numpy()
            if arr.ndim == 3:
                arr = arr.transpose(1, 2, 0)
        else:
            arr = np.asarray(pic)
        if np.issubdtype(arr.dtype, np.floating):
            arr = (arr * 255).clip(0, 255).astype(np.uint8)  # torchvision truncates, as here
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return Image.fromarray(arr, mode=self.mode) if self.mode else Image.fromarray(arr)

    def __repr__(self):
        return f"ToPILImage(mode={self.mode!r})" if self.mode else "ToPILImage()"
