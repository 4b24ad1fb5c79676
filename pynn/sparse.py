"""``torch.sparse`` for code that uses it: pynn stores sparse tensors dense.

:func:`pynn.sparse_coo_tensor` and :meth:`pynn.Tensor.to_sparse` give ordinary (dense) tensors,
so the products here are the dense ones; results and gradients are those of the sparse
maths, the memory is not.
"""

from ._math import addmm as _addmm
from ._math import mm as _mm

__all__ = ["addmm", "mm"]


def mm(mat1, mat2):
    """``mat1 @ mat2`` for a sparse ``mat1`` (n, m) and a dense ``mat2`` (m, p).

    Parameters
    ----------
    mat1 : Tensor of shape (n, m)
    mat2 : Tensor of shape (m, p)

    Returns
    -------
    Tensor of shape (n, p)
    """
    return _mm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1``.

    Parameters
    ----------
    mat : Tensor broadcastable to (n, p)
    mat1 : Tensor of shape (n, m)
    mat2 : Tensor of shape (m, p)
    beta : float
    alpha : float

    Returns
    -------
    Tensor of shape (n, p)
    """
    return _addmm(mat, mat1, mat2, beta=beta, alpha=alpha)
