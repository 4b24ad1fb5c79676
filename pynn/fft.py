"""Discrete Fourier transforms, as ``torch.fft``.

NumPy's ``np.fft`` computes them; each transform is one differentiable node. A real input
gives a complex result of matching precision (float32 -> complex64, float64 -> complex128;
integer and bool inputs are taken in the default float dtype), as PyTorch's do.

``norm`` chooses the scaling of the forward transforms (``fft``, ``rfft``, ``ihfft`` and
their n-dimensional forms), and the inverse ones take the opposite: ``"backward"`` (the
default) leaves the forward transform unscaled and divides the inverse by ``n``,
``"ortho"`` divides both by ``sqrt(n)``, ``"forward"`` divides the forward transform by
``n``.

Gradients follow PyTorch's convention for complex tensors (the gradient of a real loss
``L`` with respect to ``z`` is ``dL/dRe(z) + i dL/dIm(z)``): the gradient of a transform is
the adjoint transform of the gradient, with the dual scaling.
"""

import numpy as np

from . import _dtype
from ._complex import conj, real
from ._math import cat, narrow, roll
from .autograd import ArrayFunction
from .ops import normalize_dim
from .tensor import Tensor, _as_array, _wrap

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "hfft2",
    "hfftn",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "ihfft2",
    "ihfftn",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_NORMS = ("backward", "ortho", "forward")
# the adjoint of a transform scaled one way is the opposite transform scaled the dual way
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ---------------------------------------------------------------------------------------------
# Argument handling


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'Invalid normalization mode: "{norm}"')
    return norm


def _input(x, op):
    """``x`` as a Tensor whose data is floating or complex (integers in the default float)."""
    if not isinstance(x, Tensor):
        if x is None or isinstance(x, (str, bytes, dict, set)):
            raise TypeError(f"fft.{op}(): argument 'input' must be Tensor, not "
                            f"{type(x).__name__}")
        x = _wrap(_as_array(x), None)
    kind = x._data.dtype.kind
    if kind not in "fc":
        if kind not in "biu":
            raise TypeError(f"fft.{op}(): unsupported dtype {x._data.dtype}")
        x = _wrap(x._data.astype(_dtype.get_default_dtype()._np), None)
    elif x._data.dtype == np.float16:
        raise RuntimeError(f"fft.{op}(): float16 input is not supported (use float32)")
    return x


def _complex_of(dt):
    """The complex dtype whose parts are ``dt`` (a real or complex NumPy dtype)."""
    return np.dtype(np.complex64) if dt in (np.float32, np.complex64) else \
        np.dtype(np.complex128)


def _real_of(dt):
    return np.dtype(np.float32) if dt in (np.float32, np.complex64) else np.dtype(np.float64)


def _dims_sizes(x, s, dim, op, default_all):
    """The transformed dimensions (non-negative, in the given order) and their sizes (None
    where the input's is kept), from PyTorch's ``s`` and ``dim`` rules."""
    ndim = x._data.ndim
    if dim is None:
        if s is not None:
            s = _seq(s, "s", op)
            dims = list(range(ndim - len(s), ndim))
            if len(s) > ndim:
                raise RuntimeError(f"fft.{op}(): got shape with {len(s)} values but input "
                                   f"tensor only has {ndim} dimensions.")
        else:
            dims = list(range(ndim)) if default_all else [ndim - 2, ndim - 1]
    else:
        dims = [normalize_dim(int(d), ndim, f"fft.{op}()") for d in _seq(dim, "dim", op)]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"fft.{op}(): FFT dims must be unique")
    if s is None:
        sizes = [None] * len(dims)
    else:
        sizes = [None if int(n) == -1 else int(n) for n in _seq(s, "s", op)]
        if len(sizes) != len(dims):
            raise RuntimeError(f"fft.{op}(): when given, dim and shape arguments must have "
                               f"the same length (got {len(dims)} and {len(sizes)})")
    for n in sizes:
        if n is not None and n < 1:
            raise RuntimeError(f"fft.{op}(): Invalid number of data points ({n}) specified")
    if not dims and ndim == 0 and not default_all:
        raise IndexError(f"fft.{op}(): expected a tensor of at least 1 dimension")
    return dims, sizes


def _seq(v, name, op):
    if isinstance(v, (int, np.integer)):
        return [int(v)]
    try:
        return [int(n) for n in v]
    except TypeError:
        raise TypeError(f"fft.{op}(): {name} must be an int or a sequence of ints, not "
                        f"{type(v).__name__}") from None


def _resize(a, dims, sizes):
    """``a`` zero-padded or cropped at the end of each of ``dims`` to ``sizes`` (None keeps
    one); ``a`` itself when nothing changes."""
    shape = list(a.shape)
    if all(n is None or shape[d] == n for d, n in zip(dims, sizes)):
        return a
    crop = [slice(None)] * a.ndim
    for d, n in zip(dims, sizes):
        if n is not None:
            crop[d] = slice(0, min(n, shape[d]))
            shape[d] = n
    out = np.zeros(shape, a.dtype)
    out[tuple(crop)] = a[tuple(crop)]
    return out


def _n_checked(n, op):
    if n is not None and n < 1:
        raise RuntimeError(f"fft.{op}(): Invalid number of data points ({n}) specified")


def _resize_t(t, dims, sizes):
    """:func:`_resize` as recorded Tensor operations (for ``create_graph=True``)."""
    for d, n in zip(dims, sizes):
        have = t._data.shape[d]
        if n is None or n == have:
            continue
        if n < have:
            t = narrow(t, d, 0, n)
        else:
            shape = list(t._data.shape)
            shape[d] = n - have
            t = cat([t, _wrap(np.zeros(shape, t._data.dtype), None)], d)
    return t


def _input_like(g, ctx):
    """A gradient Tensor fitted to the node's input: resized, real for a real input."""
    g = _resize_t(g, ctx.dims, [ctx.shape[d] for d in ctx.dims])
    if ctx.dtype.kind != "c":
        g = real(g)
    return g


# ---------------------------------------------------------------------------------------------
# The nodes: complex-to-complex, real-to-complex (one-sided) and complex-to-real
# (each backward also written with these nodes, ``_backward_graph``, for create_graph=True)


class FftC2CFunction(ArrayFunction):
    """``fftn`` (or ``ifftn``, ``inverse``) over ``dims``, the input resized to ``sizes``."""

    def name(self):
        # PyTorch transforms a real input with its one-sided kernel, then fills the rest in
        one_sided = self.dtype.kind != "c" and not self.inverse and len(self.dims) == 1
        return "FftR2CBackward0" if one_sided else "FftC2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes, norm, inverse):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        ctx.dims, ctx.norm, ctx.inverse = dims, norm, inverse
        x = _resize(x, dims, sizes)
        ctx.sizes = [x.shape[d] for d in dims]
        if not dims or x.size == 0:
            return x.astype(_complex_of(x.dtype))
        transform = np.fft.ifftn if inverse else np.fft.fftn
        return transform(x, axes=dims, norm=norm).astype(_complex_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        adjoint = np.fft.fftn if ctx.inverse else np.fft.ifftn
        g = adjoint(grad, axes=ctx.dims, norm=_DUAL[ctx.norm]) if ctx.dims and grad.size \
            else grad
        g = _resize(g, ctx.dims, [ctx.shape[d] for d in ctx.dims])
        if ctx.dtype.kind != "c":
            g = g.real
        return g.astype(ctx.dtype, copy=False), None, None, None, None

    def _backward_graph(self, grad):
        g = FftC2CFunction.apply(grad, self.dims, [None] * len(self.dims),
                                 _DUAL[self.norm], not self.inverse) if self.dims else grad
        return _input_like(g, self), None, None, None, None


class FftR2CFunction(ArrayFunction):
    """``rfftn`` of a real input over ``dims`` (the last one halved), resized to ``sizes``."""

    def name(self):
        return "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes, norm):
        ctx.shape, ctx.dtype, ctx.dims, ctx.norm = x.shape, x.dtype, dims, norm
        x = _resize(x, dims, sizes)
        ctx.full = x.shape[dims[-1]]
        return np.fft.rfftn(x, axes=dims, norm=norm).astype(_complex_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        # the one-sided result is the full transform cropped: its adjoint pads with zeros
        last = ctx.dims[-1]
        g = _resize(grad, [last], [ctx.full])
        g = np.fft.ifftn(g, axes=ctx.dims, norm=_DUAL[ctx.norm]).real
        g = _resize(g, ctx.dims, [ctx.shape[d] for d in ctx.dims])
        return g.astype(ctx.dtype, copy=False), None, None, None

    def _backward_graph(self, grad):
        g = _resize_t(grad, [self.dims[-1]], [self.full])
        g = FftC2CFunction.apply(g, self.dims, [None] * len(self.dims), _DUAL[self.norm], True)
        return _input_like(g, self), None, None, None


class FftC2RFunction(ArrayFunction):
    """``irfftn`` over ``dims``: a one-sided (Hermitian) input, a real output of ``sizes``
    (the last, ``n``, taken from ``n // 2 + 1`` input values)."""

    def name(self):
        return "FftC2RBackward0"

    @staticmethod
    def forward(ctx, x, dims, sizes, norm):
        ctx.shape, ctx.dtype, ctx.dims, ctx.norm = x.shape, x.dtype, dims, norm
        n = sizes[-1]
        ctx.n = n
        x = _resize(x, dims, sizes[:-1] + [n // 2 + 1])
        out = np.fft.irfftn(x, s=sizes, axes=dims, norm=norm)
        return out.astype(_real_of(x.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad):
        # each value between the first and the Nyquist one stands for itself and its
        # conjugate mirror in the output: twice the weight
        g = np.fft.rfftn(grad, axes=ctx.dims, norm=_DUAL[ctx.norm])
        last, n = ctx.dims[-1], ctx.n
        middle = [slice(None)] * g.ndim
        middle[last] = slice(1, (n + 1) // 2)
        g[tuple(middle)] *= 2
        g = _resize(g, ctx.dims, [ctx.shape[d] for d in ctx.dims])
        if ctx.dtype.kind != "c":
            g = g.real
        return g.astype(ctx.dtype, copy=False), None, None, None

    def _backward_graph(self, grad):
        g = FftR2CFunction.apply(grad, self.dims, [None] * len(self.dims), _DUAL[self.norm])
        weight = np.ones(g._data.shape[self.dims[-1]], g._data.real.dtype)
        weight[1:(self.n + 1) // 2] = 2
        shape = [1] * g._data.ndim
        shape[self.dims[-1]] = weight.size
        g = g * _wrap(weight.reshape(shape), None)
        return _input_like(g, self), None, None, None


# ---------------------------------------------------------------------------------------------
# The transforms


def _c2c(input, s, dim, norm, op, inverse, default_all=True):
    x = _input(input, op)
    dims, sizes = _dims_sizes(x, s, dim, op, default_all)
    return FftC2CFunction.apply(x, dims, sizes, _norm(norm), inverse)


def _r2c(input, s, dim, norm, op, default_all=True):
    x = _input(input, op)
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"fft.{op}() expects a real input tensor, but got "
                           f"{_dtype.to_dtype(x._data.dtype)}")
    dims, sizes = _dims_sizes(x, s, dim, op, default_all)
    if not dims:
        raise RuntimeError(f"fft.{op}() must transform at least one axis")
    return FftR2CFunction.apply(x, dims, sizes, _norm(norm))


def _c2r(input, s, dim, norm, op, default_all=True):
    x = _input(input, op)
    dims, sizes = _dims_sizes(x, s, dim, op, default_all)
    if not dims:
        raise RuntimeError(f"fft.{op}() must transform at least one axis")
    sizes = [x._data.shape[d] if n is None else n for d, n in zip(dims, sizes)]
    if s is None or _seq(s, "s", op)[-1] == -1:
        sizes[-1] = 2 * (x._data.shape[dims[-1]] - 1)
    if sizes[-1] < 1:
        raise RuntimeError(f"fft.{op}(): Invalid number of data points ({sizes[-1]}) "
                           "specified")
    return FftC2RFunction.apply(x, dims, sizes, _norm(norm))


def _one(n, dim, op):
    _n_checked(n, op)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"fft.{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    return None if n is None else [n], [dim]


_PARAMS_1D = """
    Parameters
    ----------
    input : Tensor of any shape
        The signal{kind}.
    n : int, optional
        The signal's length along ``dim``{nnote}: the input is cut or zero-padded to it.
    dim : int
        The dimension transformed.
    norm : {{"backward", "ortho", "forward"}}, optional
        The scaling (see the module's description); ``"backward"`` by default.

    Returns
    -------
    Tensor
        {ret}
"""

_PARAMS_ND = """
    Parameters
    ----------
    input : Tensor of any shape
        The signal{kind}.
    s : sequence of int, optional
        The signal's size along each transformed dimension{nnote} (-1 keeps the input's):
        the input is cut or zero-padded to it.
    dim : {dimtype}
        The dimensions transformed{dimnote}.
    norm : {{"backward", "ortho", "forward"}}, optional
        The scaling (see the module's description); ``"backward"`` by default.

    Returns
    -------
    Tensor
        {ret}
"""

_C_RET = "Complex, the input's shape with the transformed sizes."
_R_RET = "Complex, the input's shape with the last transformed size ``n // 2 + 1``."
_H_RET = "Real, the input's shape with the last transformed size ``n``."
_REAL = ", real (integers in the default float dtype)"
_ANY = ", real or complex"
_HALF = (", one half of a Hermitian signal: the last transformed dimension holds its first "
         "``n // 2 + 1`` values")
_HNOTE = " (for the last, the output's length: by default ``2 * (m - 1)`` for ``m`` values)"
_ALL_DIMS = ("sequence of int, optional", "; by default the last ``len(s)``, or all of them")
_TWO_DIMS = ("sequence of int", "")


def _doc(summary, template, kind, ret, nnote="", dims=_ALL_DIMS):
    fields = {"kind": kind, "ret": ret, "nnote": nnote, "dimtype": dims[0],
              "dimnote": dims[1]}
    return summary + "\n" + template.format(**fields)


def fft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "fft")
    return _c2c(input, s, d, norm, "fft", False)


def ifft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "ifft")
    return _c2c(input, s, d, norm, "ifft", True)


def rfft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "rfft")
    return _r2c(input, s, d, norm, "rfft")


def irfft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "irfft")
    return _c2r(input, s, d, norm, "irfft")


def hfft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "hfft")
    x = _input(input, "hfft")
    return _c2r(conj(x), s, d, _DUAL[_norm(norm)], "hfft")


def ihfft(input, n=None, dim=-1, norm=None):
    s, d = _one(n, dim, "ihfft")
    return conj(_r2c(input, s, d, _DUAL[_norm(norm)], "ihfft"))


def fft2(input, s=None, dim=(-2, -1), norm=None):
    return _c2c(input, s, dim, norm, "fft2", False, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    return _c2c(input, s, dim, norm, "ifft2", True, False)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    return _r2c(input, s, dim, norm, "rfft2", False)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    return _c2r(input, s, dim, norm, "irfft2", False)


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    x = _input(input, "hfft2")
    return _c2r(conj(x), s, dim, _DUAL[_norm(norm)], "hfft2", False)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    return conj(_r2c(input, s, dim, _DUAL[_norm(norm)], "ihfft2", False))


def fftn(input, s=None, dim=None, norm=None):
    return _c2c(input, s, dim, norm, "fftn", False)


def ifftn(input, s=None, dim=None, norm=None):
    return _c2c(input, s, dim, norm, "ifftn", True)


def rfftn(input, s=None, dim=None, norm=None):
    return _r2c(input, s, dim, norm, "rfftn")


def irfftn(input, s=None, dim=None, norm=None):
    return _c2r(input, s, dim, norm, "irfftn")


def hfftn(input, s=None, dim=None, norm=None):
    x = _input(input, "hfftn")
    return _c2r(conj(x), s, dim, _DUAL[_norm(norm)], "hfftn")


def ihfftn(input, s=None, dim=None, norm=None):
    return conj(_r2c(input, s, dim, _DUAL[_norm(norm)], "ihfftn"))


_1D, _ND = _PARAMS_1D, _PARAMS_ND
fft.__doc__ = _doc("The one-dimensional discrete Fourier transform (``torch.fft.fft``).",
                   _1D, _ANY, _C_RET)
ifft.__doc__ = _doc("The inverse of :func:`fft` (``torch.fft.ifft``).", _1D, _ANY, _C_RET)
rfft.__doc__ = _doc("The Fourier transform of a real signal, its ``n // 2 + 1`` non-redundant "
                    "values (``torch.fft.rfft``).", _1D, _REAL, _R_RET)
irfft.__doc__ = _doc("The inverse of :func:`rfft`: a real signal from half its spectrum "
                     "(``torch.fft.irfft``).", _1D, _HALF, _H_RET, _HNOTE.replace(
                         " (for the last, the output's length:", " (the output's length:"))
hfft.__doc__ = _doc("The transform of a Hermitian signal given by its first half, a real "
                    "spectrum (``torch.fft.hfft``).", _1D, _HALF, _H_RET, _HNOTE.replace(
                        " (for the last, the output's length:", " (the output's length:"))
ihfft.__doc__ = _doc("The inverse of :func:`hfft`: half the spectrum of a real signal, "
                     "conjugated (``torch.fft.ihfft``).", _1D, _REAL, _R_RET)
fft2.__doc__ = _doc("The two-dimensional Fourier transform (``torch.fft.fft2``).",
                    _ND, _ANY, _C_RET, dims=_TWO_DIMS)
ifft2.__doc__ = _doc("The inverse of :func:`fft2` (``torch.fft.ifft2``).", _ND, _ANY, _C_RET,
                     dims=_TWO_DIMS)
rfft2.__doc__ = _doc("The two-dimensional :func:`rfftn` (``torch.fft.rfft2``).", _ND, _REAL,
                     _R_RET, dims=_TWO_DIMS)
irfft2.__doc__ = _doc("The inverse of :func:`rfft2` (``torch.fft.irfft2``).", _ND, _HALF,
                      _H_RET, _HNOTE, dims=_TWO_DIMS)
hfft2.__doc__ = _doc("The two-dimensional :func:`hfftn` (``torch.fft.hfft2``).", _ND, _HALF,
                     _H_RET, _HNOTE, dims=_TWO_DIMS)
ihfft2.__doc__ = _doc("The inverse of :func:`hfft2` (``torch.fft.ihfft2``).", _ND, _REAL,
                      _R_RET, dims=_TWO_DIMS)
fftn.__doc__ = _doc("The n-dimensional Fourier transform (``torch.fft.fftn``).", _ND, _ANY,
                    _C_RET)
ifftn.__doc__ = _doc("The inverse of :func:`fftn` (``torch.fft.ifftn``).", _ND, _ANY, _C_RET)
rfftn.__doc__ = _doc("The n-dimensional Fourier transform of a real signal, the last "
                     "dimension halved (``torch.fft.rfftn``).", _ND, _REAL, _R_RET)
irfftn.__doc__ = _doc("The inverse of :func:`rfftn` (``torch.fft.irfftn``).", _ND, _HALF,
                      _H_RET, _HNOTE)
hfftn.__doc__ = _doc("The n-dimensional transform of a Hermitian signal given by its first "
                     "half along the last dimension (``torch.fft.hfftn``).", _ND, _HALF,
                     _H_RET, _HNOTE)
ihfftn.__doc__ = _doc("The inverse of :func:`hfftn` (``torch.fft.ihfftn``).", _ND, _REAL,
                      _R_RET)


# ---------------------------------------------------------------------------------------------
# Frequencies and shifts


def _freqs(values, dtype, requires_grad):
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"fftfreq: expected a floating point or complex dtype, got {dt}")
    t = _wrap(values.astype(dt._np), None)
    t.requires_grad = bool(requires_grad)
    return t


def _check_n(n, op):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}(): n must be non-negative, got {n}")


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The frequencies of :func:`fft`'s values, in cycles per unit of ``d``.

    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)``, as ``torch.fft.fftfreq``.

    Parameters
    ----------
    n : int
        The signal's length.
    d : float
        The sample spacing.
    out : Tensor of shape (n,), optional
        Where to write the result.
    dtype : pynn.dtype, optional
        Floating or complex; the default float dtype if not given.
    layout : pynn.layout, optional
        Only ``pynn.strided``.
    device : str or pynn.device, optional
        Only the CPU.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (n,)
    """
    _check_n(n, "fftfreq")
    values = np.fft.fftfreq(n, d) if n else np.zeros(0)  # NumPy divides by n
    result = _freqs(values, dtype, requires_grad)
    return _into(result, out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """The frequencies of :func:`rfft`'s values: ``[0, 1, ..., n // 2] / (d * n)``.

    Parameters
    ----------
    n : int
        The signal's length.
    d : float
        The sample spacing.
    out : Tensor of shape (n // 2 + 1,), optional
        Where to write the result.
    dtype : pynn.dtype, optional
        Floating or complex; the default float dtype if not given.
    layout : pynn.layout, optional
        Only ``pynn.strided``.
    device : str or pynn.device, optional
        Only the CPU.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (n // 2 + 1,)
    """
    _check_n(n, "rfftfreq")
    # n = 0 gives PyTorch's one NaN (0 / (d * 0)), where NumPy divides by zero
    values = np.fft.rfftfreq(n, d) if n else np.full(1, np.nan)
    result = _freqs(values, dtype, requires_grad)
    return _into(result, out)


def _into(result, out):
    if out is None:
        return result
    if tuple(out.shape) != tuple(result.shape):
        raise RuntimeError(f"fftfreq: out has shape {tuple(out.shape)}, expected "
                           f"{tuple(result.shape)}")
    out._data[...] = result._data
    return out


def _shift_dims(input, dim):
    if not isinstance(input, Tensor):
        raise TypeError(f"fftshift(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    ndim = input._data.ndim
    if dim is None:
        return list(range(ndim))
    return [normalize_dim(int(d), ndim, "fftshift()") for d in _seq(dim, "dim", "fftshift")]


def _shift(input, dim, sign):
    """``input`` with each of ``dim`` (all by default) rolled by ``sign`` times half its
    size: fftshift's and ifftshift's one body."""
    dims = _shift_dims(input, dim)
    if not dims:
        return roll(input, 0, 0) if input._data.ndim else input.clone()
    shape = input._data.shape
    return roll(input, [sign * (shape[d] // 2) for d in dims], dims)


def fftshift(input, dim=None):
    """The zero frequency moved to the middle: each of ``dim`` rolled by half its size.

    Parameters
    ----------
    input : Tensor of any shape
        A spectrum in :func:`fft`'s order.
    dim : int or sequence of int, optional
        The dimensions shifted; all of them by default.

    Returns
    -------
    Tensor of the input's shape
    """
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of :func:`fftshift`: each of ``dim`` rolled back by half its size.

    Parameters
    ----------
    input : Tensor of any shape
        A spectrum in :func:`fftshift`'s order.
    dim : int or sequence of int, optional
        The dimensions shifted; all of them by default.

    Returns
    -------
    Tensor of the input's shape
    """
    return _shift(input, dim, -1)
