"""``pynn.linalg``: PyTorch's ``torch.linalg`` on the CPU, through NumPy's LAPACK.

Inverses, determinants, solves, Cholesky and the symmetric eigendecomposition are
differentiable; the SVD is differentiable through its singular values (a gradient reaching U
or Vh raises NotImplementedError); ``pinv``, ``qr`` and ``eig`` are not differentiable and say
so when a gradient reaches them.
"""

import math
import numbers
import types
from collections import namedtuple

import numpy as np

from . import _math as _m
from .ops import linalg as _la
from .ops import reduce as _red
from .tensor import Tensor, _wrap

__all__ = [
    "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
    "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm",
]

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
svd_uv_result = namedtuple("svd", ["U", "S", "V"])
qr_result = namedtuple("qr", ["Q", "R"])


def inv(A):
    """The inverse of square matrices.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    Tensor of shape (*, n, n)
    """
    return _la.InvFunction.apply(A)


def det(A):
    """Determinants of square matrices (*, n, n): shape (*).

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    Tensor of shape (*)
        One determinant per matrix.
    """
    return _la.DetFunction.apply(A)


def slogdet(A):
    """``(sign, logabsdet)`` of the determinants of (*, n, n), each of shape (*).

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    (sign, logabsdet) : Tensors of shape (*)
        The sign and the log of the absolute value of each determinant.
    """
    return slogdet_result(*_la.SlogdetFunction.apply(A))


def solve(A, B, *, left=True):
    """``X`` with ``A @ X = B`` (A of shape (*, n, n); B (*, n, k), or (n,) as a vector).

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
    B : Tensor of shape (*, n, k) or (n,)
    left : bool
        Only True (``A X = B``) is implemented.

    Returns
    -------
    Tensor of the shape of ``B``
    """
    if not left:
        raise NotImplementedError("linalg.solve: left=False is not implemented in pynn; "
                                  "solve the transposed system")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    return _la.SolveFunction.apply(A, B, vector)


def cholesky(A, *, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices (lower unless ``upper``).

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
        Symmetric positive-definite.
    upper : bool
        Return the upper factor ``U`` (``A = U^T U``) instead of the lower ``L`` (``A = L L^T``).

    Returns
    -------
    Tensor of shape (*, n, n)
    """
    return _la.CholeskyFunction.apply(A, upper)


def eigh(A, UPLO="L"):
    """Eigenvalues and eigenvectors of symmetric matrices.

    Eigenvalues (ascending, shape (*, n)) and eigenvectors (columns, (*, n, n)) of
    symmetric matrices.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
        Symmetric; only the triangle ``UPLO`` is read.
    UPLO : {"L", "U"}

    Returns
    -------
    eigenvalues : Tensor of shape (*, n)
    eigenvectors : Tensor of shape (*, n, n)
    """
    return eigh_result(*_la.EighFunction.apply(A, UPLO))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric matrices, ascending.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
        Symmetric; only the triangle ``UPLO`` is read.
    UPLO : {"L", "U"}

    Returns
    -------
    Tensor of shape (*, n)
    """
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``; S descending, of shape ``(*, min(m, n))``.

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    full_matrices : bool
        U of shape (*, m, m) and Vh of shape (*, n, n) instead of the reduced factors.

    Returns
    -------
    U : Tensor of shape (*, m, k)
    S : Tensor of shape (*, k)
    Vh : Tensor of shape (*, k, n)
        ``k = min(m, n)`` (full: U (*, m, m), Vh (*, n, n)).
    """
    return svd_result(*_la.SvdFunction.apply(A, full_matrices))


def svdvals(A):
    """The singular values of (*, m, n), descending: shape (*, min(m, n)).

    Parameters
    ----------
    A : Tensor of shape (*, m, n)

    Returns
    -------
    Tensor of shape (*, min(m, n))
    """
    return _la.SvdvalsFunction.apply(A)


def pinv(A, *, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse (not differentiable in pynn).

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    rtol : float, or Tensor of the batch shape, optional
        Singular values below ``rtol`` times the largest count as zero.
    hermitian : bool
        ``A`` is symmetric.

    Returns
    -------
    Tensor of shape (*, n, m)
    """
    rcond = 1e-15 if rtol is None else rtol
    return _la.ConstantFunction.apply(A, np.linalg.pinv, "linalg.pinv", rcond, hermitian)


def qr(A, mode="reduced"):
    """``(Q, R)`` with ``A = Q R`` (not differentiable in pynn).

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    mode : {"reduced", "complete", "r"}

    Returns
    -------
    Q : Tensor of shape (*, m, k)
    R : Tensor of shape (*, k, n)
        ``k = min(m, n)`` (``m`` with ``"complete"``).
    """
    q, r = _la.ConstantFunction.apply(A, lambda a: np.linalg.qr(a, mode=mode), "linalg.qr")
    return qr_result(q, r)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above the tolerance (int64, shape (*)).

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    atol, rtol : float, or Tensor of the batch shape, optional
        The absolute and relative tolerances (default: ``rtol`` the dtype's epsilon times
        ``max(m, n)``).
    hermitian : bool
        ``A`` is symmetric (its eigenvalues are used).

    Returns
    -------
    int64 Tensor of shape (*)
    """
    s = np.linalg.svd(A._data, compute_uv=False, hermitian=hermitian)
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    if atol is None and rtol is None:
        rtol = np.finfo(s.dtype).eps * max(A.shape[-2:])
    tol = np.maximum(0.0 if atol is None else atol, (rtol or 0.0) * smax)
    return _wrap(np.asarray(np.sum(s > tol, axis=-1), np.int64), None)


def matrix_power(A, n):
    """The ``n``-th matrix power of ``A``.

    ``A`` multiplied by itself ``n`` times (the inverse's powers for negative n, the identity for
    0).

    Parameters
    ----------
    A : Tensor of shape (*, m, m)
        Square matrices (batched over the leading dimensions).
    n : int
        The power, possibly negative.

    Returns
    -------
    Tensor of shape (*, m, m)
    """
    if not isinstance(n, numbers.Integral):
        raise TypeError(f"matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A.shape)
        # through where, so the result stays in the graph with a zero gradient (PyTorch's)
        return _m.where(_wrap(np.ones(A.shape, bool), None), _wrap(eye.copy(), None), A)
    base = inv(A) if n < 0 else A
    result = None
    square = base
    k = abs(n)
    while k:  # binary powering
        if k & 1:
            result = square if result is None else _m.matmul(result, square)
        k >>= 1
        if k:
            square = _m.matmul(square, square)
    return result


def multi_dot(tensors):
    """The product of a chain of matrices (the first and last may be vectors).

    Parameters
    ----------
    tensors : sequence of Tensor
        Matrices of chained shapes (the first may be of shape (n,), the last of shape (m,)).

    Returns
    -------
    Tensor
    """
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got "
                           f"{len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = _m.matmul(out, t)
    return out


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when None).

    Parameters
    ----------
    x : Tensor of any shape
    ord : float, inf or -inf
    dim : int or tuple of int, optional
    keepdim : bool
    dtype : dtype, optional

    Returns
    -------
    Tensor
        ``input``'s shape without the reduced dimensions (kept with size 1 by ``keepdim``).
    """
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x._data.dtype}")
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None
    return _red.NormFunction.apply(x, float(ord), dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two dimensions ``dim``: "fro", "nuc", 2, -2, 1, -1, inf, -inf.

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    ord : {"fro", "nuc", 2, -2, 1, -1, inf, -inf}
    dim : pair of int
        The dimensions of the matrices.
    keepdim : bool
        Keep them with size 1.
    dtype : dtype, optional
        Cast ``A`` to it first.

    Returns
    -------
    Tensor of shape (*)
    """
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = _m.movedim(A, (d0, d1), (-2, -1))
        s = svdvals(moved)
        out = _m.sum(s, -1) if ord == "nuc" else (
            _m.amax(s, -1) if ord == 2 else _m.amin(s, -1))
        if keepdim:
            out = _m.unsqueeze(_m.unsqueeze(out, min(d0, d1)), max(d0, d1))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |A|; inf: the largest row sum
        red, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = _m.sum(_m.abs(A), red, keepdim=True)
        pick = _m.amax if ord > 0 else _m.amin
        out = pick(sums, other, keepdim=True)
        return out if keepdim else _m.squeeze(out, (d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector or matrix norm, as ``torch.linalg.norm``.

    A vector norm (1-D input, an int ``dim``, or ``ord=None`` over everything) or a matrix
    norm (2-D input or a pair of dims with ``ord`` given).

    Parameters
    ----------
    A : Tensor of any shape
    ord : float, inf, -inf, "fro" or "nuc", optional
    dim : int or pair of int, optional
    keepdim : bool
    dtype : dtype, optional
        Cast ``A`` to it first.

    Returns
    -------
    Tensor
        ``A``'s shape without the reduced dimensions.
    """
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(  # noqa: TRY004  (PyTorch's error type)
            f"linalg.norm: ord={ord!r} needs a 2-D input or a pair of dims")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim`` (default the last).

    Parameters
    ----------
    input, other : Tensor of broadcastable shapes, 3 along ``dim``
    dim : int

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _m.cross(input, other, dim=dim)


def vecdot(x, y, *, dim=-1):
    """``sum(x * y, dim)`` (real tensors).

    Parameters
    ----------
    x, y : Tensor of broadcastable shapes
    dim : int

    Returns
    -------
    Tensor
        The broadcast shape without ``dim``.
    """
    return _m.sum(_m.mul(x, y), dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices of the last two dimensions.

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    offset : int
        Above the main diagonal when positive, below when negative.
    dim1, dim2 : int
        The dimensions of the matrices.

    Returns
    -------
    Tensor
        The other dimensions, then the diagonal.
    """
    return _m.diagonal(A, offset, dim1, dim2)


matmul = _m.matmul

# Namespace and method forms PyTorch keeps outside torch.linalg.


def _inverse(input):
    """The inverse of square matrices (``torch.inverse``).

    Parameters
    ----------
    input : Tensor of shape (*, n, n)

    Returns
    -------
    Tensor of shape (*, n, n)
    """
    return inv(input)


def _logdet(input):
    """``log(det(input))``: NaN for a negative determinant, -inf for a singular matrix.

    Parameters
    ----------
    input : Tensor of shape (*, n, n)

    Returns
    -------
    Tensor of shape (*)
        NaN where the determinant is negative.
    """
    sign, logabs = slogdet(input)
    nan = _wrap(np.where(sign._data < 0, np.nan, 0).astype(logabs._data.dtype), None)
    return _m.add(logabs, nan)


def _pinverse(input, rcond=1e-15):
    """The pseudo-inverse (``torch.pinverse``; not differentiable in pynn).

    Parameters
    ----------
    input : Tensor of shape (*, m, n)
    rcond : float
        Singular values below ``rcond`` times the largest count as zero.

    Returns
    -------
    Tensor of shape (*, n, m)
    """
    return pinv(input, rtol=rcond)


def _svd(input, some=True, compute_uv=True):
    """``(U, S, V)`` (V, not Vh: ``torch.svd``'s old convention).

    Parameters
    ----------
    input : Tensor of shape (*, m, n)
    some : bool
        The reduced decomposition (else the full one).
    compute_uv : bool
        Accepted for PyTorch compatibility; U and V are always computed.

    Returns
    -------
    (U, S, V) : Tensors
        ``input = U diag(S) V^T``; V, not its transpose.
    """
    u, s, vh = svd(input, full_matrices=not some)
    return svd_uv_result(u, s, _m.transpose(vh, -2, -1))


def _cholesky(input, upper=False):
    """The Cholesky factor (``torch.cholesky``).

    Parameters
    ----------
    input : Tensor of shape (*, n, n)
        Symmetric positive-definite matrices.
    upper : bool
        Return the upper-triangular factor instead of the lower one.

    Returns
    -------
    Tensor of shape (*, n, n)
        The triangular factor.
    """
    return cholesky(input, upper=upper)


def _method_copy(fn):
    """``fn`` as a function object of its own, for the Tensor method: pynn._math rewrites a
    method's docstring (without the argument it binds), which must not reach this module's
    function."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__, copy.__doc__, copy.__qualname__ = (fn.__kwdefaults__, fn.__doc__,
                                                            fn.__qualname__)
    return copy


NAMESPACE = {
    "inverse": _inverse, "det": _method_copy(det), "logdet": _logdet,
    "slogdet": _method_copy(slogdet), "pinverse": _pinverse,
    "matrix_power": _method_copy(matrix_power), "svd": _svd, "cholesky": _cholesky,
}

for _name, _fn in NAMESPACE.items():
    setattr(Tensor, _name, _fn)
del _name, _fn
