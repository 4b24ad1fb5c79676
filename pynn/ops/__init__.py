"""The autograd nodes (:class:`pynn.autograd.ArrayFunction` subclasses), one module per family:

- ``elementwise``: arithmetic and elementwise functions, with broadcasting and type promotion;
- ``reduce``: sums, means, maxima and the arg-reductions;
- ``shape``, ``index``: reshaping, permuting, joining; indexing and indexed assignment;
- ``matmul``: ``matmul`` and ``linear`` (one ``gemm``, bias and ReLU fused);
- ``linalg``: inverses, determinants, solves, Cholesky, eigen- and singular values;
- ``activation``: the activations, kernel-backed or NumPy;
- ``softmax``: the softmax family and the classification losses;
- ``loss``, ``ctc``: regression, binary and margin losses; the CTC loss;
- ``conv``: convolution (with the fused ReLU and max-pool), its transpose, ``unfold``/``fold``
  and padding;
- ``pool``: max and average pooling, adaptive pooling and resampling;
- ``grid``: ``affine_grid`` and ``grid_sample``;
- ``norm``: batch and layer normalisation;
- ``attention``: scaled dot-product and multi-head attention;
- ``recurrent``: RNN, LSTM and GRU layers over a whole sequence;
- ``embedding``: the embedding lookup;
- ``graph_backward``: the same backwards as recorded Tensor operations, for
  ``create_graph=True``.

Users reach them through :class:`pynn.Tensor` methods, :mod:`pynn.functional` and the layers.
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


def refuse_complex(op, *operands):
    """Raise PyTorch's error when an operand of ``op`` (an op that orders, clamps or rounds
    numbers) is complex: NumPy would answer by the real part, or drop the imaginary one.

    Parameters
    ----------
    op : str
        The op's name, for the message.
    *operands : Tensor, ndarray or number
        Those that are not arrays or tensors are ignored.
    """
    for t in operands:
        dtype = getattr(getattr(t, "_data", t), "dtype", None)
        if dtype is not None and dtype.kind == "c":
            raise NotImplementedError(f'"{op}" is not implemented for complex tensors (got '
                                      f"{dtype.name}), as in PyTorch")
