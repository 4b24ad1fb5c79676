"""The autograd nodes (:class:`pynn.autograd.ArrayFunction` subclasses), one module per family:
``elementwise``, ``activation``, ``reduce``, ``shape``, ``matmul`` (matmul, linear), ``conv``,
``pool``, ``softmax`` (softmax family and the classification losses), ``loss`` (regression
and binary losses), ``rnn`` (RNN/LSTM/GRU over a sequence), ``sparse`` (embedding). Users
reach them through :class:`pynn.Tensor` methods, :mod:`pynn.functional` and the layers.
"""


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting ``shape`` up to
    ``grad.shape`` (leading axes added, size-1 axes stretched).

    Parameters
    ----------
    grad : ndarray of a shape that ``shape`` broadcasts to
    shape : tuple of int

    Returns
    -------
    ndarray of shape ``shape`` (``grad`` itself when no reduction is needed)
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def normalize_dim(dim, ndim, op):
    """A dimension index in ``[0, ndim)``; negative counts from the end, as in PyTorch."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of "
            f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {dim})"
        )
    return dim % ndim if ndim else 0
