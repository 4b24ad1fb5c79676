"""``pynn.linalg``: PyTorch's ``torch.linalg`` on the CPU, through NumPy's LAPACK.

Inverses, determinants, solves, Cholesky and the symmetric eigendecomposition are
differentiable; the SVD is differentiable through its singular values (a gradient reaching U
or Vh raises NotImplementedError); ``pinv``, ``qr``, ``eig`` and ``eigvals`` are not
differentiable and say so when a gradient reaches them.
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
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh",
    "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm",
    "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
    "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander",
    "vecdot", "vector_norm",
]

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
eigh_result = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("svd", ["U", "S", "Vh"])
svd_uv_result = namedtuple("svd", ["U", "S", "V"])
qr_result = namedtuple("qr", ["Q", "R"])
lstsq_result = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
eig_result = namedtuple("eig", ["eigenvalues", "eigenvectors"])
inv_ex_result = namedtuple("inv_ex", ["inverse", "info"])
cholesky_ex_result = namedtuple("cholesky_ex", ["L", "info"])
solve_ex_result = namedtuple("solve_ex", ["result", "info"])

#: The error of a failed factorisation or solve (a singular matrix, one not positive
#: definite): PyTorch's ``torch.linalg.LinAlgError``, a RuntimeError and NumPy's LinAlgError.
LinAlgError = _la.LinAlgError


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
        Solve ``A X = B`` (True) or ``X A = B`` (False: ``B`` of shape ``(*, k, n)``).

    Returns
    -------
    Tensor of the shape of ``B``
    """
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if not left:  # X A = B is A^T X^T = B^T
        if vector:  # as PyTorch: a vector is a column, which X A = B cannot take
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"XA = B ({tuple(A.shape)} and {tuple(B.shape)}): B must be "
                               f"(*, k, n)")
        return _la.SolveFunction.apply(A.mT, B.mT, False).mT
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


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """``X`` with ``A X = B`` (or ``X A = B``) for triangular ``A``.

    Only the triangle ``upper`` names is read (with ones on the diagonal when
    ``unitriangular``), so the gradient of ``A`` is triangular too.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
    B : Tensor of shape (*, n, k) (``left``) or (*, k, n)
    upper : bool
        Read the upper triangle (else the lower).
    left : bool
        Solve ``A X = B`` (True) or ``X A = B``.
    unitriangular : bool
        Take the diagonal as ones.

    Returns
    -------
    Tensor of the shape of ``B``
    """
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must have at least 2 dimensions, got "
                           f"shape {tuple(B.shape)}")
    tri = _m.triu(A) if upper else _m.tril(A)
    if unitriangular:
        n = A.shape[-1]
        eye = np.eye(n, dtype=A._data.dtype)
        tri = tri * _wrap(1 - eye, None) + _wrap(eye, None)
    return solve(tri, B, left=left)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of ``A X = B``.

    The least ``||A X - B||``, and of those the least ``||X||``. The solution is LAPACK's
    (NumPy's ``gelsd``); its gradient is that of the normal equations' solution (the same
    function where ``A`` has full rank). What else is returned follows PyTorch's ``driver``.

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    B : Tensor of shape (*, m, k), or (*, m) for one right-hand side
    rcond : float, optional
        Singular values below ``rcond`` times the largest count as zero (default: the
        dtype's epsilon times ``max(m, n)``).
    driver : {None, "gels", "gelsy", "gelsd", "gelss"}
        PyTorch's LAPACK driver (None: ``"gelsy"``), which decides the fields below.

    Returns
    -------
    solution : Tensor of shape (*, n, k)
    residuals : Tensor of shape (*, k), or empty
        The squared residual of each column, for ``gels``, ``gelsd`` and ``gelss`` when
        ``m > n`` and every matrix has full rank.
    rank : int64 Tensor of shape (*), or empty for ``gels``
    singular_values : Tensor of shape (*, min(m, n)), or empty
        For ``gelsd`` and ``gelss``.
    """
    driver = "gelsy" if driver is None else driver
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"linalg.lstsq: parameter `driver` should be one of (gels, gelsy, "
                           f"gelsd, gelss), got {driver!r}")
    a, b = A._data, B._data
    if b.ndim == a.ndim - 1 and a.ndim >= 2 and b.shape[-1:] == a.shape[-2:-1]:
        # a vector B (*, m): solved as one column, returned as a vector (as PyTorch)
        solution, residuals, rank, singular = lstsq(A, B.unsqueeze(-1), rcond, driver=driver)
        return lstsq_result(solution.squeeze(-1), residuals, rank, singular)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-2] != b.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: A (*, m, n) and B (*, m, k) must share m, got "
                           f"shapes {tuple(a.shape)} and {tuple(b.shape)}")
    m, n = a.shape[-2:]
    k = b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a2 = np.broadcast_to(a, batch + a.shape[-2:]).reshape((-1, m, n))
    b2 = np.broadcast_to(b, batch + b.shape[-2:]).reshape((-1, m, k))
    cond_ = rcond if rcond is not None else np.finfo(a.dtype).eps * max(m, n)
    solved = [np.linalg.lstsq(ai, bi, rcond=cond_) for ai, bi in zip(a2, b2)]
    x = np.stack([r[0] for r in solved]).reshape(batch + (n, k)).astype(a.dtype)
    ranks = np.array([r[2] for r in solved], np.int64).reshape(batch)
    solution = _wrap(x, None)
    if (A.requires_grad or B.requires_grad) and np.all(ranks == min(m, n)):
        ah = A.mT.conj() if A.is_complex() else A.mT
        smooth = solve(ah @ A, ah @ B) if m >= n else ah @ solve(A @ ah, B)
        solution = smooth + (solution - smooth.detach())
    empty = _wrap(np.zeros(0, a.dtype), None)
    residuals = empty
    if driver != "gelsy" and m > n and np.all(ranks == n):
        fit = a2 @ x.reshape(-1, n, k) - b2
        residuals = _wrap(np.sum(np.abs(fit) ** 2, axis=-2).reshape(batch + (k,))
                          .astype(a.dtype), None)
    singular = empty
    if driver in ("gelsd", "gelss"):
        singular = _wrap(np.stack([r[3] for r in solved]).reshape(batch + (min(m, n),))
                         .astype(a.dtype), None)
    rank = _wrap(np.zeros(0, np.int64) if driver == "gels" else ranks, None)
    return lstsq_result(solution, residuals, rank, singular)


def matrix_exp(A):
    """The matrix exponential ``sum_k A^k / k!``, differentiable.

    Scaling and squaring: ``exp(A) = exp(A / 2^s)^(2^s)`` with ``A / 2^s`` of norm below
    one half, whose exponential an 18-term Taylor sum gives to the dtype's precision.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    Tensor of shape (*, n, n)
    """
    a = A._data
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: A must be a batch of square matrices, got "
                           f"shape {tuple(a.shape)}")
    norm1 = float(np.abs(a).sum(-2).max()) if a.size else 0.0
    squarings = max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    x = A / float(2 ** squarings) if squarings else A
    eye = _wrap(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy(), None)
    term, total = eye, eye
    for k in range(1, 19):
        term = (term @ x) / float(k)
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def cond(A, p=None):
    """The condition number of ``A`` in the norm ``p``.

    Parameters
    ----------
    A : Tensor of shape (*, m, n)
    p : {None, 2, -2, "fro", "nuc", inf, -inf, 1, -1}, optional
        None and 2: the ratio of the largest to the smallest singular value (any ``m, n``);
        -2 its inverse; the others ``norm(A, p) * norm(inv(A), p)`` (square ``A``).

    Returns
    -------
    Tensor of shape (*)
    """
    if p is None or p in (2, -2):
        sv = svdvals(A)
        ratio = sv[..., 0] / sv[..., -1]
        return 1 / ratio if p == -2 else ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def tensorinv(A, ind=2):
    """The inverse of ``A`` for :func:`pynn.tensordot` over its first ``ind`` dimensions.

    Parameters
    ----------
    A : Tensor of shape (*left, *right), prod(left) == prod(right)
    ind : int
        How many leading dimensions form ``left``.

    Returns
    -------
    Tensor of shape (*right, *left)
    """
    left, right = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    rows, cols = math.prod(left), math.prod(right)
    if ind <= 0 or rows != cols:
        raise RuntimeError(f"linalg.tensorinv: expected the product of the first {ind} "
                           f"dimensions to equal that of the rest, got shape {tuple(A.shape)}")
    return inv(A.reshape(rows, cols)).reshape(*right, *left)


def tensorsolve(A, B, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``.

    Parameters
    ----------
    A : Tensor of shape (*B.shape, *X.shape)
    B : Tensor of any shape
    dims : tuple of int, optional
        Dimensions of ``A`` moved to the end first.

    Returns
    -------
    Tensor of shape ``A.shape[B.ndim:]``
    """
    if dims is not None:
        rest = [d for d in range(A.ndim) if d not in [d % A.ndim for d in dims]]
        A = A.permute(*rest, *[d % A.ndim for d in dims])
    x_shape = tuple(A.shape[B.ndim:])
    rows, cols = math.prod(tuple(A.shape[:B.ndim])), math.prod(x_shape)
    if rows != cols:
        raise RuntimeError(f"linalg.tensorsolve: expected a square system, got A of shape "
                           f"{tuple(A.shape)} and B of shape {tuple(B.shape)}")
    return solve(A.reshape(rows, cols), B.reshape(rows)).reshape(*x_shape)


def vander(x, *, N=None):
    """The Vandermonde matrix of the last dimension: powers 0 to ``N - 1`` (increasing).

    Parameters
    ----------
    x : Tensor of shape (*, n)
    N : int, optional
        Number of powers (default n).

    Returns
    -------
    Tensor of shape (*, n, N)
    """
    cols = x.shape[-1] if N is None else int(N)
    if N is not None and cols <= 1:
        raise RuntimeError("linalg.vander: N must be greater than 1.")
    unit = _wrap(np.ones_like(x._data), None)
    powers = [unit if k == 0 else x ** k for k in range(cols)]
    return _m.stack(powers, -1)


def _with_info(fn, result_type, A, *args, check_errors=False):
    """``fn(A, *args)`` and an int32 ``info`` per matrix, 0 where it succeeded: when one
    matrix of the batch fails, each is done alone and a failed one's result is NaN."""
    try:
        return result_type(fn(A, *args), _wrap(np.zeros(A.shape[:-2], np.int32), None))
    except LinAlgError:
        if check_errors:
            raise
    batch = tuple(A.shape[:-2])
    arrays = [A._data] + [b._data for b in args]
    if args:  # B broadcast over the batch (a vector B has one dimension fewer)
        b = args[0]._data
        vector = b.ndim == 1 or (b.ndim == A.ndim - 1 and b.shape == tuple(A.shape[:-1]))
        arrays[1] = np.broadcast_to(b, batch + b.shape[-1 if vector else -2:])
    flat = [x.reshape((-1,) + x.shape[len(batch):]) for x in arrays]
    values, info = [], []
    for i in range(flat[0].shape[0]):
        try:
            out = fn(*[_wrap(x[i], None) for x in flat])._data
            info.append(0)
        except LinAlgError:
            out = None
            info.append(1)
        values.append(out)
    shape = next(v.shape for v in values if v is not None) if any(
        v is not None for v in values) else flat[-1].shape[1:]
    full = np.stack([np.full(shape, np.nan, A._data.dtype) if v is None else v
                     for v in values]).reshape(batch + shape)
    return result_type(_wrap(full, None), _wrap(np.array(info, np.int32).reshape(batch), None))


def inv_ex(A, *, check_errors=False):
    """:func:`inv` with an error code instead of an exception.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
    check_errors : bool
        Raise on a singular matrix rather than return a nonzero ``info``.

    Returns
    -------
    inverse : Tensor of shape (*, n, n)
        NaN when the batch holds a singular matrix.
    info : int32 Tensor of shape (*)
        0 when it succeeded.
    """
    return _with_info(inv, inv_ex_result, A, check_errors=check_errors)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """:func:`cholesky` with an error code instead of an exception.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
    upper : bool
    check_errors : bool
        Raise on a matrix that is not positive definite rather than return a nonzero
        ``info``.

    Returns
    -------
    L : Tensor of shape (*, n, n)
        NaN when the batch holds a matrix that is not positive definite.
    info : int32 Tensor of shape (*)
        0 when it succeeded.
    """
    return _with_info(lambda a: cholesky(a, upper=upper), cholesky_ex_result, A,
                      check_errors=check_errors)


def solve_ex(A, B, *, left=True, check_errors=False):
    """:func:`solve` with an error code instead of an exception.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)
    B : Tensor of shape (*, n, k) or (n,)
    left : bool
    check_errors : bool
        Raise on a singular matrix rather than return a nonzero ``info``.

    Returns
    -------
    result : Tensor of the shape of ``B``
        NaN when the batch holds a singular matrix.
    info : int32 Tensor of shape (*)
        0 when it succeeded.
    """
    return _with_info(lambda a, b: solve(a, b, left=left), solve_ex_result, A, B,
                      check_errors=check_errors)


def eig(A):
    """Eigenvalues and eigenvectors of general square matrices, complex.

    Not differentiable in pynn.

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    eigenvalues : complex Tensor of shape (*, n)
    eigenvectors : complex Tensor of shape (*, n, n)
        Unit columns, ``A v = w v``.
    """
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.eig: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim >= 2 else A.shape} by "
                           f"{A.shape[-1] if A.ndim else ''} matrices")

    def both(a):
        if not np.all(np.isfinite(a)):  # LAPACK refuses them; PyTorch answers NaN
            kind = np.complex128 if a.dtype in (np.float64, np.complex128) else np.complex64
            return (np.full(a.shape[:-1], np.nan, kind), np.full(a.shape, np.nan, kind))
        w, v = np.linalg.eig(a)
        kind = np.complex128 if a.dtype in (np.float64, np.complex128) else np.complex64
        return w.astype(kind), v.astype(kind)

    w, v = _la.ConstantFunction.apply(A, both, "linalg.eig")
    return eig_result(w, v)


def eigvals(A):
    """Eigenvalues of general square matrices, complex (not differentiable in pynn).

    Parameters
    ----------
    A : Tensor of shape (*, n, n)

    Returns
    -------
    complex Tensor of shape (*, n)
    """
    return eig(A).eigenvalues

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


triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def _triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """``A X = b`` for triangular ``A``.

    PyTorch's deprecated form of :func:`pynn.linalg.solve_triangular`, its arguments reversed.

    Parameters
    ----------
    b : Tensor of shape (*, n, k)
    A : Tensor of shape (*, n, n)
    upper : bool
        Read the upper triangle (the default here, unlike ``solve_triangular``).
    transpose : bool
        Solve ``A^T X = b``.
    unitriangular : bool
        Take the diagonal as ones.

    Returns
    -------
    solution : Tensor of shape (*, n, k)
    cloned_coefficient : Tensor of shape (*, n, n)
        A copy of ``A``.
    """
    coefficient = A.mT if transpose else A
    solution = solve_triangular(coefficient, b, upper=upper != transpose,
                                unitriangular=unitriangular)
    return triangular_solve_result(solution, A.clone())


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
    "matrix_exp": _method_copy(matrix_exp), "triangular_solve": _triangular_solve,
}

for _name, _fn in NAMESPACE.items():
    setattr(Tensor, _name, _fn)
del _name, _fn
