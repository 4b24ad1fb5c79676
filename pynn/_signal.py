"""Short-time Fourier transforms and window functions, as PyTorch's namespace has them
(``torch.stft``, ``torch.istft``, ``torch.hann_window`` ...).

Both transforms are compositions of recorded ops (padding, framing, :mod:`pynn.fft`,
``fold`` for the overlap-add), so they differentiate, twice if need be.
"""

import warnings

import numpy as np

from . import _dtype
from . import fft as _fft
from ._complex import view_as_real
from .tensor import Tensor, _wrap

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "istft",
           "kaiser_window", "stft"]


# ---------------------------------------------------------------------------------------------
# Windows


def _window(name, length, periodic, dtype, requires_grad, values):
    """A window Tensor from ``values(n, N)``: ``n`` the sample indices, ``N`` the period."""
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise RuntimeError(f"{name} requires non-negative window length, got "
                           f"window_length={length}")
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got {dt}")
    if length <= 1:
        arr = np.ones(length)
    else:
        period = length if periodic else length - 1
        arr = values(np.arange(length, dtype=np.float64), period)
    t = _wrap(arr.astype(dt._np), None)
    t.requires_grad = bool(requires_grad)
    return t


_WINDOW_PARAMS = """
    Parameters
    ----------
    window_length : int
        The number of samples.
    periodic : bool
        For spectral analysis (the first ``window_length`` samples of a window one longer,
        the default) rather than a symmetric filter.{extra}
    dtype : pynn.dtype, optional
        A floating dtype; the default one if not given.
    layout : pynn.layout, optional
        Only ``pynn.strided``.
    device : str or pynn.device, optional
        Only the CPU.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (window_length,)
"""


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False):
    return _window("hann_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 0.5 - 0.5 * np.cos(2 * np.pi * n / N))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False):
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * np.pi * n / N))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    return _window("blackman_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: (0.42 - 0.5 * np.cos(2 * np.pi * n / N)
                                 + 0.08 * np.cos(4 * np.pi * n / N)))


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / N - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False):
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: np.i0(beta * np.sqrt(np.clip(1 - (2 * n / N - 1) ** 2, 0, None)))
                   / np.i0(beta))


hann_window.__doc__ = "The Hann window ``0.5 - 0.5 cos(2 pi n / N)`` (``torch.hann_window``).\n" \
    + _WINDOW_PARAMS.format(extra="")
hamming_window.__doc__ = ("The Hamming window ``alpha - beta cos(2 pi n / N)`` "
                          "(``torch.hamming_window``).\n" + _WINDOW_PARAMS.format(extra="""
    alpha, beta : float
        The coefficients."""))
blackman_window.__doc__ = ("The Blackman window ``0.42 - 0.5 cos(2 pi n / N) + "
                           "0.08 cos(4 pi n / N)`` (``torch.blackman_window``).\n"
                           + _WINDOW_PARAMS.format(extra=""))
bartlett_window.__doc__ = ("The triangular Bartlett window ``1 - |2 n / N - 1|`` "
                           "(``torch.bartlett_window``).\n" + _WINDOW_PARAMS.format(extra=""))
kaiser_window.__doc__ = ("The Kaiser window ``I0(beta sqrt(1 - (2 n / N - 1)^2)) / I0(beta)`` "
                         "(``torch.kaiser_window``).\n" + _WINDOW_PARAMS.format(extra="""
    beta : float
        The shape parameter."""))


# ---------------------------------------------------------------------------------------------
# Short-time Fourier transforms


def _frame_window(window, n_fft, win_length, op, like):
    """The window as a Tensor of ``n_fft`` samples: ``win_length`` ones by default, a shorter
    one zero-padded on both sides (PyTorch's centring)."""
    if win_length is None:
        win_length = n_fft
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    if window is None:
        window = _wrap(np.ones(win_length, like), None)
    elif not isinstance(window, Tensor) or window._data.ndim != 1 or \
            window._data.shape[0] != win_length:
        raise RuntimeError(f"{op}: expected a 1D window tensor of size equal to "
                           f"win_length={win_length}, but got window with size "
                           f"{tuple(getattr(window, 'shape', ()))}")
    left = (n_fft - win_length) // 2
    if left or win_length != n_fft:
        from .nn import functional as F

        window = F.pad(window, (left, n_fft - win_length - left))
    return window


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform (``torch.stft``): the spectra of windowed frames.

    Frame ``m`` holds samples ``m * hop_length ... m * hop_length + n_fft - 1`` (of the input
    padded by ``n_fft // 2`` on both sides when ``center``), times the window.

    Parameters
    ----------
    input : Tensor of shape (L,) or (B, L)
        The signal(s), real or complex.
    n_fft : int
        The frame length (and transform size).
    hop_length : int, optional
        The step between frames; ``n_fft // 4`` by default.
    win_length : int, optional
        The window's length, at most ``n_fft`` (centred and zero-padded); ``n_fft`` by
        default.
    window : Tensor of shape (win_length,), optional
        Rectangular (ones) by default.
    center : bool
        Pad the signal so that frame ``m`` is centred on sample ``m * hop_length``.
    pad_mode : str
        The padding when ``center``: ``"reflect"``, ``"replicate"``, ``"circular"`` or
        ``"constant"``.
    normalized : bool
        Scale by ``n_fft ** -0.5``.
    onesided : bool, optional
        Only the ``n_fft // 2 + 1`` non-redundant frequencies; by default for a real input
        and window.
    return_complex : bool
        A complex result (``True``); ``False`` gives real pairs (deprecated in PyTorch). A
        real input requires it, as PyTorch does.

    Returns
    -------
    Tensor of shape (B?, n_freq, n_frames) (complex) or (B?, n_freq, n_frames, 2)
        ``n_freq`` is ``n_fft // 2 + 1`` one-sided, else ``n_fft``.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"stft(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got shape "
                           f"{tuple(input.shape)}")
    complex_in = input._data.dtype.kind == "c" or (
        isinstance(window, Tensor) and window._data.dtype.kind == "c")
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    if not isinstance(n_fft, (int, np.integer)) or n_fft <= 0:
        raise RuntimeError(f"stft: expected 0 < n_fft, but got n_fft={n_fft}")
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    x = input if input._data.ndim == 2 else input.unsqueeze(0)
    if x._data.dtype.kind not in "fc":
        x = x.to(_dtype.get_default_dtype())
    if center:
        from .nn import functional as F

        half = n_fft // 2
        x = F.pad(x.unsqueeze(1), (half, half), mode=pad_mode).squeeze(1)
    length = x._data.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    w = _frame_window(window, n_fft, win_length, "stft", x._data.real.dtype)
    frames = x.unfold(-1, n_fft, hop) * w  # (B, n_frames, n_fft)
    if onesided is None:
        onesided = not complex_in
    if onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    spec = _fft.rfft(frames, norm=norm) if onesided else _fft.fft(frames, norm=norm)
    spec = spec.transpose(-1, -2)
    if input._data.ndim == 1:
        spec = spec.squeeze(0)
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated (as in PyTorch): use "
                      "return_complex=True and view_as_real", UserWarning, stacklevel=2)
        return view_as_real(spec)
    return spec


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """The inverse of :func:`stft` (``torch.istft``).

    Each frame is inverse-transformed and windowed; the frames are overlap-added and divided
    by the overlap-added squared window.

    Parameters
    ----------
    input : Tensor of shape (n_freq, n_frames) or (B, n_freq, n_frames)
        A complex spectrogram, as :func:`stft` returns it.
    n_fft : int
        The frame length.
    hop_length : int, optional
        The step between frames; ``n_fft // 4`` by default.
    win_length : int, optional
        The window's length; ``n_fft`` by default.
    window : Tensor of shape (win_length,), optional
        The window :func:`stft` used; rectangular by default.
    center : bool
        Whether :func:`stft` padded the signal (the padding is removed).
    normalized : bool
        Whether :func:`stft` scaled by ``n_fft ** -0.5``.
    onesided : bool, optional
        Whether the spectrogram is one-sided; by default when ``n_freq != n_fft``.
    length : int, optional
        The signal's length (the result is cut or zero-padded to it).
    return_complex : bool
        A complex signal (only from a two-sided spectrogram).

    Returns
    -------
    Tensor of shape (B?, length)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"istft(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor")
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex "
                           f"values, got shape {tuple(input.shape)}")
    spec = input if input._data.ndim == 3 else input.unsqueeze(0)
    n_freq, n_frames = spec._data.shape[-2:]
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if onesided is None:
        onesided = n_freq != n_fft
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"istft: one-sided implies that n_fft // 2 + 1 == n_freq, got "
                           f"n_fft={n_fft}, n_freq={n_freq}")
    if onesided and return_complex:
        raise RuntimeError("cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    frames = spec.transpose(-1, -2)  # (B, n_frames, n_freq)
    if not onesided and not return_complex:
        # a real signal's two-sided spectrum is Hermitian: PyTorch reads its first half
        frames, onesided = frames[..., :n_fft // 2 + 1], True
    frames = _fft.irfft(frames, n=n_fft, norm=norm) if onesided else \
        _fft.ifft(frames, norm=norm)
    w = _frame_window(window, n_fft, win_length, "istft", frames._data.real.dtype)
    frames = frames * w
    from .nn import functional as F

    full = n_fft + hop * (n_frames - 1)
    y = _overlap_add(F, frames, full, n_fft, hop)
    envelope = _overlap_add(F, (w * w).expand(1, n_frames, n_fft), full, n_fft, hop)
    start = n_fft // 2 if center else 0
    end = full - (n_fft // 2 if center else 0) if length is None else start + int(length)
    y = y[:, start:min(end, full)]
    env = envelope._data[0, start:min(end, full)]
    if env.size and np.abs(env).min() < 1e-11:
        raise RuntimeError(f"istft: window overlap add min: {float(np.abs(env).min()):g} "
                           f"(the window and hop_length do not overlap enough to invert)")
    y = y / _wrap(env, None)
    if end > full:
        y = F.pad(y, (0, end - full))
    return y.squeeze(0) if input._data.ndim == 2 else y


def _overlap_add(F, frames, full, n_fft, hop):
    """Frames (B, n_frames, n_fft) summed into (B, full) at steps of ``hop``."""
    if frames._data.dtype.kind == "c":
        from ._complex import complex as _complex

        re = _overlap_add(F, frames.real, full, n_fft, hop)
        im = _overlap_add(F, frames.imag, full, n_fft, hop)
        return _complex(re, im)
    cols = frames.transpose(-1, -2)  # (B, n_fft, n_frames): fold's columns
    out = F.fold(cols, output_size=(1, full), kernel_size=(1, n_fft), stride=(1, hop))
    return out.reshape(frames._data.shape[0], full)


def _stft_method(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
                 pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
    return stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                onesided, return_complex)


def _istft_method(self, n_fft, hop_length=None, win_length=None, window=None, center=True,
                  normalized=False, onesided=None, length=None, return_complex=False):
    return istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided,
                 length, return_complex)


def _install():
    from ._math import _method_doc

    for method, fn in ((_stft_method, stft), (_istft_method, istft)):
        method.__name__ = method.__qualname__ = fn.__name__
        method.__doc__ = _method_doc(fn.__doc__, "input")
        setattr(Tensor, fn.__name__, method)


_install()
