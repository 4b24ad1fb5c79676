"""Complex tensors' parts: ``real``, ``imag``, ``conj``, ``angle``, ``view_as_real``,
``view_as_complex``, ``complex`` and ``polar``, as PyTorch's namespace and Tensor methods.

Gradients follow PyTorch's convention: the gradient of a real loss ``L`` with respect to a
complex ``z`` is ``dL/dRe(z) + i dL/dIm(z)``. ``real``, ``imag`` and ``view_as_real`` share
the complex tensor's storage, as PyTorch's do: writing into them outside the graph changes
it; an in-place write into them in the graph is refused with an error (their elements are
not the complex tensor's elements), where PyTorch would write through.
"""

import numpy as np

from ._math import _method_doc
from .autograd import ArrayFunction
from .tensor import Tensor, _wrap

__all__ = ["angle", "complex", "conj", "conj_physical", "imag", "is_conj", "polar", "real",
           "resolve_conj", "resolve_neg", "view_as_complex", "view_as_real"]


def _tensor(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _complex_dtype(real_dtype):
    return np.complex64 if real_dtype == np.float32 else np.complex128


class _RealFunction(ArrayFunction):
    def name(self):
        return "RealBackward0"

    @staticmethod
    def forward(ctx, z):
        return z.real

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(_complex_dtype(grad.dtype))

    def _backward_graph(self, grad):
        return (complex(grad, grad * 0),)


class _ImagFunction(ArrayFunction):
    def name(self):
        return "ImagBackward0"

    @staticmethod
    def forward(ctx, z):
        return z.imag

    @staticmethod
    def backward(ctx, grad):
        return (1j * grad).astype(_complex_dtype(grad.dtype))

    def _backward_graph(self, grad):
        return (complex(grad * 0, grad),)


class _AngleFunction(ArrayFunction):
    def name(self):
        return "AngleBackward0"

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        out = np.angle(z)
        return out if z.dtype.kind in "fc" else out.astype(np.float32)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        if z.dtype.kind != "c":
            return np.zeros_like(z)
        r2 = (z * np.conj(z)).real
        # d angle = (x dy - y dx) / |z|^2; 0 where z is 0, as PyTorch takes it
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(r2 == 0, 0, grad * 1j * z / r2)
        return g.astype(z.dtype)

    def _backward_graph(self, grad):
        (z,) = self._inputs
        if z._data.dtype.kind != "c":
            return (grad * 0,)
        zero = z._data == 0
        safe = z + _wrap(zero.astype(z._data.dtype), None)  # 1 where z is 0: no 0 / 0
        g = grad * 1j * z / (safe * conj(safe)).real  # 0 where z is 0: z is
        return (g,)


class _ConjFunction(ArrayFunction):
    def name(self):
        return "ConjBackward0"

    @staticmethod
    def forward(ctx, z):
        return np.conj(z)

    @staticmethod
    def backward(ctx, grad):
        return np.conj(grad)

    def _backward_graph(self, grad):
        return (conj(grad),)


class _ViewAsRealFunction(ArrayFunction):
    def name(self):
        return "ViewAsRealBackward0"

    @staticmethod
    def forward(ctx, z):
        if z.ndim and z.strides[-1] == z.itemsize or z.size <= 1:
            return z.view(z.real.dtype).reshape(z.shape + (2,))  # a view, as PyTorch's
        return np.stack([z.real, z.imag], axis=-1)

    @staticmethod
    def backward(ctx, grad):
        return (grad[..., 0] + 1j * grad[..., 1]).astype(_complex_dtype(grad.dtype))

    def _backward_graph(self, grad):
        return (view_as_complex(grad),)


class _ViewAsComplexFunction(ArrayFunction):
    def name(self):
        return "ViewAsComplexBackward0"

    @staticmethod
    def forward(ctx, x):
        return (x[..., 0] + 1j * x[..., 1]).astype(_complex_dtype(x.dtype))

    @staticmethod
    def backward(ctx, grad):
        return np.stack([grad.real, grad.imag], axis=-1)

    def _backward_graph(self, grad):
        return (view_as_real(grad),)


class _ComplexFunction(ArrayFunction):
    def name(self):
        return "ComplexBackward0"

    @staticmethod
    def forward(ctx, re, im):
        ctx.shapes = re.shape, im.shape
        return (re + 1j * im).astype(_complex_dtype(re.dtype))

    @staticmethod
    def backward(ctx, grad):
        return _sum_to(grad.real, ctx.shapes[0]), _sum_to(grad.imag, ctx.shapes[1])

    def _backward_graph(self, grad):
        return real(grad), imag(grad)


class _PolarFunction(ArrayFunction):
    def name(self):
        return "PolarBackward0"

    @staticmethod
    def forward(ctx, r, theta):
        unit = np.exp(1j * theta).astype(_complex_dtype(r.dtype))
        out = r * unit
        ctx.save_for_backward(unit, out)
        ctx.shapes = r.shape, theta.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        unit, out = ctx.saved_tensors
        # dz/dr = e^{i theta}, dz/dtheta = i z: each real gradient is Re(conj(grad) dz)
        gr = (np.conj(grad) * unit).real
        gt = (np.conj(grad) * 1j * out).real
        return _sum_to(gr, ctx.shapes[0]), _sum_to(gt, ctx.shapes[1])

    def _backward_graph(self, grad):
        r, theta = self._inputs
        unit = complex(theta.cos(), theta.sin())
        return real(conj(grad) * unit), real(conj(grad) * 1j * r * unit)


def _sum_to(g, shape):
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def real(input):
    """The real part of a tensor (the tensor itself when it is real).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
        Real (float32 for complex64, float64 for complex128), sharing the storage of a
        complex ``input``.
    """
    input = _tensor(input, "real")
    if input._data.dtype.kind != "c":
        return input
    return _RealFunction.apply(input)


def imag(input):
    """The imaginary part of a complex tensor.

    Parameters
    ----------
    input : Tensor of any shape
        Complex.

    Returns
    -------
    Tensor of the input's shape
        Real, sharing the input's storage.
    """
    input = _tensor(input, "imag")
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _ImagFunction.apply(input)


def conj(input):
    """The complex conjugate (a real tensor as it is).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    input = _tensor(input, "conj")
    if input._data.dtype.kind != "c":
        return input
    return _ConjFunction.apply(input)


def conj_physical(input):
    """The complex conjugate, always a new tensor (a real tensor copied).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
    """
    input = _tensor(input, "conj_physical")
    if input._data.dtype.kind != "c":
        return input.clone()
    return _ConjFunction.apply(input)


def resolve_conj(input):
    """The tensor itself: pynn conjugates eagerly, so there is no lazy conjugation to resolve.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input``.
    """
    return _tensor(input, "resolve_conj")


def resolve_neg(input):
    """The tensor itself: pynn negates eagerly, so there is no lazy negation to resolve.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        ``input``.
    """
    return _tensor(input, "resolve_neg")


def is_conj(input):
    """False: pynn has no lazily conjugated tensors.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    bool
    """
    _tensor(input, "is_conj")
    return False


def angle(input):
    """The argument of each value in radians: ``atan2(imag, real)``, 0 or pi for real ones.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the input's shape
        Real (integers give float32).
    """
    return _AngleFunction.apply(_tensor(input, "angle"))


def view_as_real(input):
    """A complex tensor as real pairs: a last dimension of 2 (real, imaginary).

    Parameters
    ----------
    input : Tensor of any shape
        Complex.

    Returns
    -------
    Tensor of shape (\\*input.shape, 2)
        Sharing the input's storage when its last dimension is contiguous.
    """
    input = _tensor(input, "view_as_real")
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _ViewAsRealFunction.apply(input)


def view_as_complex(input):
    """Real pairs as a complex tensor: the inverse of :func:`view_as_real`.

    Parameters
    ----------
    input : Tensor of shape (..., 2)
        float32 or float64: the last dimension holds the real and imaginary parts.

    Returns
    -------
    Tensor of shape input.shape[:-1]
        complex64 or complex128; a copy, not a view.
    """
    input = _tensor(input, "view_as_complex")
    dt = input._data.dtype
    if dt not in (np.float32, np.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors, "
                           f"but got a tensor of scalar type: {dt}")
    if input._data.ndim == 0 or input._data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    return _ViewAsComplexFunction.apply(input)


def _real_pair(a, b, op, names):
    a, b = _tensor(a, op, names[0]), _tensor(b, op, names[1])
    da, db = a._data.dtype, b._data.dtype
    if da != db or da not in (np.float32, np.float64):
        raise RuntimeError(f"{op}(): expected both inputs to be float or double tensors of "
                           f"one dtype, but got {da} and {db}")
    return a, b


def complex(real, imag, *, out=None):
    """A complex tensor from its real and imaginary parts (broadcast together).

    Parameters
    ----------
    real, imag : Tensor of broadcastable shapes
        float32 or float64, of one dtype.
    out : Tensor of the broadcast shape, optional
        Where to write the result.

    Returns
    -------
    Tensor of the broadcast shape
        complex64 or complex128.
    """
    result = _ComplexFunction.apply(*_real_pair(real, imag, "complex", ("real", "imag")))
    return _into(result, out)


def polar(abs, angle, *, out=None):
    """A complex tensor from magnitudes and angles: ``abs * (cos(angle) + i sin(angle))``.

    Parameters
    ----------
    abs, angle : Tensor of broadcastable shapes
        float32 or float64, of one dtype.
    out : Tensor of the broadcast shape, optional
        Where to write the result.

    Returns
    -------
    Tensor of the broadcast shape
        complex64 or complex128.
    """
    result = _PolarFunction.apply(*_real_pair(abs, angle, "polar", ("abs", "angle")))
    return _into(result, out)


def _into(result, out):
    if out is None:
        return result
    if tuple(out.shape) != tuple(result.shape) or out._data.dtype != result._data.dtype:
        raise RuntimeError(f"out must have shape {tuple(result.shape)} and dtype "
                           f"{result._data.dtype}, got {tuple(out.shape)} and "
                           f"{out._data.dtype}")
    out._data[...] = result._data
    return out


def _method(fn):
    """``fn`` as a Tensor method, documented without the argument it binds to self."""
    def method(self):
        return fn(self)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = _method_doc(fn.__doc__, "input")
    return method


def _install():
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "angle"):
        setattr(Tensor, name, _method(globals()[name]))
    for name in ("real", "imag"):
        fget = _method(globals()[name])
        setattr(Tensor, name, property(fget, doc=fget.__doc__))


_install()
