"""Linear algebra on (batches of) matrices with NumPy's LAPACK: inverse, determinants, solve,
Cholesky, the symmetric eigendecomposition and the SVD, with their gradients (the SVD's for
the singular values only)."""

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast


class LinAlgError(RuntimeError, np.linalg.LinAlgError):
    """A factorisation or solve that failed on its matrix (singular, not positive definite).

    PyTorch's ``torch.linalg.LinAlgError`` (a RuntimeError), and NumPy's, so that a handler
    written for either catches it."""


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _check_square(a, op):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim > 1 else ''} by {a.shape[-1]} matrices")
    if a.dtype.kind != "f":
        raise RuntimeError(f"linalg.{op}: Expected a floating point tensor as input. Got "
                           f"{a.dtype}")


class InvFunction(ArrayFunction):
    """``inv(A)``; d(A^-1) = -A^-1 dA A^-1."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "inv")
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion "
                              "could not be completed because the input matrix is "
                              "singular.") from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        yt = _mT(y)
        return -(yt @ grad @ yt)


class SlogdetFunction(ArrayFunction):
    """``(sign, log|det A|)``; the gradient of the log goes through ``inv(A)^T``."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "slogdet")
        sign, logabs = np.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return np.asarray(sign, a.dtype), np.asarray(logabs, a.dtype)

    @staticmethod
    def backward(ctx, g_sign, g_log):
        (a,) = ctx.saved_tensors
        if g_log is None:
            return np.zeros_like(a)
        return g_log[..., None, None] * _mT(np.linalg.inv(a))


class DetFunction(ArrayFunction):
    """``det(A)``; d det = det * tr(A^-1 dA), through the adjugate so singular A works."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "det")
        d = np.asarray(np.linalg.det(a), a.dtype)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        a, d = ctx.saved_tensors
        return grad[..., None, None] * _adjugate_t(a, d)


def _adjugate_t(a, d):
    """The transposed adjugate ``det(A) inv(A)^T``, from the SVD where A is singular."""
    with np.errstate(all="ignore"):
        ok = np.isfinite(1.0 / d) & (d != 0)
    if np.all(ok):
        return d[..., None, None] * _mT(np.linalg.inv(a))
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    # prod of all singular values but the k-th, for each k
    others = np.stack([np.prod(np.delete(s, k, axis=-1), axis=-1) for k in range(n)], -1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    adj = (u * others[..., None, :]) @ vt  # = det(U V^T) adj(A)^T up to the sign
    return sign[..., None, None] * adj


class SolveFunction(ArrayFunction):
    """``X = A^-1 B`` for B of shape (*, n, k) (``vector``: (*, n))."""

    @staticmethod
    def forward(ctx, a, b, vector):
        _check_square(a, "solve")
        b2 = b[..., None] if vector else b
        try:
            x = np.linalg.solve(a, b2)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.solve: The solver failed because the input matrix is "
                              "singular.") from None
        ctx.save_for_backward(a, x)
        ctx.vector = vector
        ctx.b_shape = b.shape
        return x[..., 0] if vector else x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        na, nb, _ = ctx.needs_input_grad
        g = grad[..., None] if ctx.vector else grad
        gb = np.linalg.solve(_mT(a), g)
        ga = unbroadcast(-(gb @ _mT(x)), a.shape) if na else None
        if nb:
            gb = unbroadcast(gb[..., 0] if ctx.vector else gb, ctx.b_shape)
        return ga, (gb if nb else None), None


class CholeskyFunction(ArrayFunction):
    """Lower Cholesky factor ``L`` of a symmetric positive-definite A (``upper``: ``L^T``)."""

    @staticmethod
    def forward(ctx, a, upper):
        _check_square(a, "cholesky")
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.cholesky: The factorization could not be completed "
                              "because the input is not positive-definite.") from None
        ctx.save_for_backward(low)
        ctx.upper = upper
        return _mT(low).copy() if upper else low

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        g = _mT(grad) if ctx.upper else grad
        # dA = L^-T Phi(L^T dL) L^-1, symmetrised; Phi keeps the lower triangle, halving the
        # diagonal
        p = _mT(low) @ g
        p = np.tril(p) - 0.5 * np.eye(p.shape[-1], dtype=p.dtype) * p
        inv_l = np.linalg.inv(low)
        x = _mT(inv_l) @ p @ inv_l
        return 0.5 * (x + _mT(x)), None


class EighFunction(ArrayFunction):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix."""

    @staticmethod
    def forward(ctx, a, uplo):
        _check_square(a, "eigh")
        w, v = np.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        vt = _mT(v)
        inner = np.zeros(v.shape, v.dtype)
        if gv is not None:
            with np.errstate(divide="ignore"):
                f = 1.0 / (w[..., None, :] - w[..., :, None])
            n = w.shape[-1]
            f[..., np.arange(n), np.arange(n)] = 0
            inner = f * (vt @ gv)
        if gw is not None:
            inner = inner + gw[..., :, None] * np.eye(w.shape[-1], dtype=w.dtype)
        ga = v @ inner @ vt
        return 0.5 * (ga + _mT(ga)), None


class SvdFunction(ArrayFunction):
    """``(U, S, Vh)`` of the reduced SVD; the gradient flows through S only (through U or Vh
    it raises NotImplementedError rather than being wrong)."""

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vt = np.linalg.svd(a, full_matrices=full_matrices)
        k = s.shape[-1]
        ctx.save_for_backward(u[..., :k], vt[..., :k, :])
        return u, s.astype(a.dtype, copy=False), vt

    @staticmethod
    def backward(ctx, gu, gs, gvt):
        if gu is not None or gvt is not None:
            raise NotImplementedError("svd: pynn differentiates the singular values only "
                                      "(use linalg.svdvals), not U or Vh")
        u, vt = ctx.saved_tensors
        return (u * gs[..., None, :]) @ vt, None


class ConstantFunction(ArrayFunction):
    """``fn(x, *args)`` recorded in the graph with a backward that refuses (pinv, qr ...):
    pynn does not differentiate it and says so instead of returning a wrong zero."""

    @staticmethod
    def forward(ctx, x, fn, name, *args):
        ctx.op = name  # not ctx.name: that is the grad_fn's name() method
        return fn(x, *args)

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(f"{ctx.op}: the gradient is not implemented in pynn")


class SvdvalsFunction(ArrayFunction):
    """Singular values (descending); dS = U^T dA V on the diagonal."""

    @staticmethod
    def forward(ctx, a):
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, vt)
        return s.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        u, vt = ctx.saved_tensors
        return (u * grad[..., None, :]) @ vt
