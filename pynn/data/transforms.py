"""Batch transforms (augmentation) on image batches.

Every transform takes a batch ``x`` of shape (N, C, H, W) (a single image (C, H, W) is
treated as a batch of one) and returns a new array of the same shape (``RandomCrop``: of
its ``size``) and, for float batches, the same dtype (``Normalize`` turns integer batches
into float64); the input is never modified. The work is vectorised over the batch: no Python
loop over images.

Random transforms draw one set of parameters per image from their ``rng`` (an int seed or a
``np.random.Generator``, given at construction), or, without one, from pynn.data's module
generator at call time (reseeded by ``pynn.manual_seed``).
"""

import numpy as np

from .. import random as _random

__all__ = [
    "Compose",
    "GaussianNoise",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomTranslate",
    "Transform",
]


def _as_batch(x):
    """(x as (N, C, H, W), whether it was a single (C, H, W) image)."""
    x = np.asarray(x)
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x[None], True
    raise ValueError(f"expected a batch of shape (N, C, H, W) or an image (C, H, W), "
                     f"got shape {x.shape}")


class Transform:
    """Base class: ``t(x)`` maps a batch to a batch of the same shape and dtype.

    Subclasses implement :meth:`apply` on (N, C, H, W) batches; calling the transform also
    accepts a single (C, H, W) image.

    Parameters
    ----------
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, rng=None):
        self._rng = _random.as_generator(rng)

    @property
    def rng(self):
        """The generator to draw from now: the transform's own, else pynn's global generator."""
        return self._rng if self._rng is not None else _random.get_generator()

    def __call__(self, x):
        x, single = _as_batch(x)
        out = self.apply(x)
        return out[0] if single else out

    def apply(self, x):
        """Transform a batch (N, C, H, W); subclasses implement this."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        return ""


class Compose:
    """Apply ``transforms`` in order.

    Parameters
    ----------
    transforms : iterable of callable
        Each maps a batch to a batch.
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel.

    Parameters
    ----------
    mean, std : float or sequence of C floats
        A scalar applies to every channel. ``std`` must be non-zero.
    """

    def __init__(self, mean, std):
        super().__init__()
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be scalars or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError("Normalize: std must be non-zero")

    def apply(self, x):
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.shape[0] not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.shape[0]} values for {c} channels")
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        mean = self.mean.astype(dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(dtype).reshape(1, -1, 1, 1)
        return ((x - mean) / std).astype(dtype, copy=False)

    def extra_repr(self):
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}"


def _pad(x, pad, fill):
    if pad == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)


def _crop_at(padded, top, left, height, width):
    """``out[n] = padded[n, :, top[n]:top[n]+height, left[n]:left[n]+width]`` for every n,
    gathered in one fancy-indexing of a (copy-free) sliding-window view."""
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(2, 3))
    n = np.arange(padded.shape[0])
    # Advanced indices at axes 0, 2, 3 around a slice: the result is (N, C, height, width).
    return windows[n, :, top, left]


class RandomTranslate(Transform):
    """Shift each image by its own integer offset, filling the uncovered border.

    Image ``n`` is moved down by ``dy[n]`` and right by ``dx[n]``, each drawn uniformly
    from ``[-max_shift, max_shift]``: ``out[n, :, i, j] = x[n, :, i - dy[n], j - dx[n]]``
    where that pixel exists, else ``fill``. The offsets of the last call are kept in
    ``last_shifts`` (an (N, 2) array of (dy, dx)).

    Parameters
    ----------
    max_shift : int
        Non-negative.
    fill : float
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, max_shift, fill=0.0, rng=None):
        super().__init__(rng)
        if int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"max_shift must be a non-negative integer, got {max_shift!r}")
        self.max_shift = int(max_shift)
        self.fill = fill
        self.last_shifts = None

    def apply(self, x):
        m = self.max_shift
        shifts = self.rng.integers(-m, m + 1, size=(x.shape[0], 2))
        self.last_shifts = shifts
        # Shifting by d is cropping the m-padded image at offset m - d.
        return _crop_at(_pad(x, m, self.fill), m - shifts[:, 0], m - shifts[:, 1],
                        x.shape[2], x.shape[3])

    def extra_repr(self):
        return f"max_shift={self.max_shift}, fill={self.fill}"


class RandomCrop(Transform):
    """Pad each side by ``padding`` (with ``fill``), then crop ``size`` at a random place per image.

    The offsets are uniform over every position that fits; those of the last call, into the
    padded image, are kept in ``last_offsets`` (an (N, 2) array of (top, left)).

    Parameters
    ----------
    size : int or (int, int)
        Output (height, width).
    padding : int
    fill : float
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, size, padding=0, fill=0.0, rng=None):
        super().__init__(rng)
        self.size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
        if int(padding) != padding or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        self.fill = fill
        self.last_offsets = None

    def apply(self, x):
        h, w = self.size
        hp, wp = x.shape[2] + 2 * self.padding, x.shape[3] + 2 * self.padding
        if h > hp or w > wp:
            raise ValueError(f"RandomCrop: crop {self.size} larger than the padded image "
                             f"{(hp, wp)}")
        n = x.shape[0]
        top = self.rng.integers(0, hp - h + 1, size=n)
        left = self.rng.integers(0, wp - w + 1, size=n)
        self.last_offsets = np.stack([top, left], axis=1)
        return _crop_at(_pad(x, self.padding, self.fill), top, left, h, w)

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}, fill={self.fill}"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p`` (drawn per image).

    Which images were flipped in the last call: ``last_flipped``, a bool array of shape (N,).

    Parameters
    ----------
    p : float in [0, 1]
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__(rng)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        self.p = float(p)
        self.last_flipped = None

    def apply(self, x):
        flip = self.rng.random(x.shape[0]) < self.p
        self.last_flipped = flip
        return np.where(flip[:, None, None, None], x[..., ::-1], x)

    def extra_repr(self):
        return f"p={self.p}"


def warp_affine(x, inverse, offset, interpolation="bilinear", fill=0.0):
    """Resample each image at affine positions about its centre.

    Output pixel at column/row offsets ``(u, v)`` from the centre ``((W - 1) / 2,
    (H - 1) / 2)`` of image ``n`` takes the input at offsets
    ``inverse[n] @ (u, v) + offset[n]`` (x then y); bilinear sampling blends with ``fill``
    where a neighbour lies outside.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    inverse : ndarray of shape (N, 2, 2)
        Output offsets to source offsets.
    offset : ndarray of shape (N, 2)
        Source offset (x, y) added.
    interpolation : {"bilinear", "nearest"}
    fill : float

    Returns
    -------
    ndarray of shape (N, C, H, W), x's dtype (integer images rounded back)
    """
    n, c, h, w = x.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    v = (np.arange(h) - cy)[None, :, None]  # output row offsets from the centre
    u = (np.arange(w) - cx)[None, None, :]
    a = inverse.reshape(n, 2, 2, 1, 1)
    src_x = cx + a[:, 0, 0] * u + a[:, 0, 1] * v + offset[:, 0, None, None]  # (N, H, W)
    src_y = cy + a[:, 1, 0] * u + a[:, 1, 1] * v + offset[:, 1, None, None]
    # Sample the image framed by two pixels of `fill`. Source positions are clipped to
    # [-1, H] x [-1, W], which keeps every neighbour read inside the frame and gives an
    # out-of-image position the value `fill`. Flat indices into the raveled frame make
    # each gather a single np.take.
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    framed = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=fill)
    flat = framed.reshape(-1)
    row = w + 4
    base = (np.arange(n * c) * ((h + 4) * row)).reshape(n, c, 1)  # each (image, channel)
    src_y = np.clip(src_y, -1, h).reshape(n, 1, h * w)
    src_x = np.clip(src_x, -1, w).reshape(n, 1, h * w)
    if interpolation == "nearest":
        iy, ix = np.rint(src_y).astype(np.intp), np.rint(src_x).astype(np.intp)
        out = np.take(flat, base + ((iy + 2) * row + ix + 2))
    else:
        y0, x0 = np.floor(src_y), np.floor(src_x)
        wy, wx = (src_y - y0).astype(dtype), (src_x - x0).astype(dtype)
        i00 = base + ((y0.astype(np.intp) + 2) * row + x0.astype(np.intp) + 2)
        v00, v01 = np.take(flat, i00), np.take(flat, i00 + 1)
        v10, v11 = np.take(flat, i00 + row), np.take(flat, i00 + row + 1)
        top = v00 + wx * (v01 - v00)
        out = top + wy * (v10 + wx * (v11 - v10) - top)
        if out.dtype != x.dtype:  # integer images: round back to their dtype
            out = np.rint(out).astype(x.dtype)
    return out.reshape(n, c, h, w)


class RandomRotation(Transform):
    """Rotate each image about its centre by its own angle, counter-clockwise in degrees.

    Output pixel (i, j) samples the input at the inverse rotation of its position about the
    centre ``((H - 1) / 2, (W - 1) / 2)``; a 90° rotation of a square image is
    ``np.rot90(x, 1, axes=(2, 3))``. Angles of the last call: ``last_angles``.
    Bilinear sampling blends with ``fill`` where a neighbour lies outside.

    Parameters
    ----------
    degrees : float or (float, float)
        Angles are drawn uniformly from ``[-degrees, degrees]`` or ``[lo, hi]``.
    interpolation : {"bilinear", "nearest"}
    fill : float
        Value of output pixels whose source lies outside the image.
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, degrees, interpolation="bilinear", fill=0.0, rng=None):
        super().__init__(rng)
        if np.isscalar(degrees):
            if degrees < 0:
                raise ValueError(f"degrees must be non-negative, got {degrees!r}")
            degrees = (-float(degrees), float(degrees))
        self.degrees = tuple(float(d) for d in degrees)
        if len(self.degrees) != 2 or self.degrees[0] > self.degrees[1]:
            raise ValueError(f"degrees must be a number or (lo, hi), got {degrees!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"interpolation must be 'bilinear' or 'nearest', "
                             f"got {interpolation!r}")
        self.interpolation = interpolation
        self.fill = fill
        self.last_angles = None

    def apply(self, x):
        n = x.shape[0]
        angles = self.rng.uniform(self.degrees[0], self.degrees[1], size=n)
        self.last_angles = angles
        theta = np.deg2rad(angles)
        cos, sin = np.cos(theta), np.sin(theta)
        # Snap the rounding noise of multiples of 90 degrees (cos(pi/2) = 6e-17).
        cos[np.abs(cos) < 1e-12] = 0.0
        sin[np.abs(sin) < 1e-12] = 0.0
        # Inverse rotation: where output pixel (u, v) (column, row offsets from the centre)
        # comes from. Rows grow downwards, so a counter-clockwise turn on screen maps source
        # (x, y) -> (x cos + y sin, -x sin + y cos) about the centre.
        inverse = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
        return warp_affine(x, inverse, np.zeros((n, 2)), self.interpolation, self.fill)

    def extra_repr(self):
        return f"degrees={self.degrees}, interpolation={self.interpolation!r}, fill={self.fill}"


class GaussianNoise(Transform):
    """Add independent ``N(mean, std**2)`` noise to every element (float batches).

    Parameters
    ----------
    std : float
        Non-negative.
    mean : float
    rng : int or numpy.random.Generator, optional
        Own generator (a seed makes one); None: draw from pynn's global generator at call time.
    """

    def __init__(self, std, mean=0.0, rng=None):
        super().__init__(rng)
        if std < 0:
            raise ValueError(f"std must be non-negative, got {std!r}")
        self.std = float(std)
        self.mean = float(mean)

    def apply(self, x):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"GaussianNoise needs a float batch, got {x.dtype}")
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        noise = self.rng.standard_normal(size=x.shape, dtype=dtype)
        return (x + (noise * self.std + self.mean)).astype(x.dtype, copy=False)

    def extra_repr(self):
        return f"std={self.std}, mean={self.mean}"
