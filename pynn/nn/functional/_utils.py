"""What every family's functions share: operand access, the dtype rule, reductions and
PyTorch's deprecated ``size_average``/``reduce``."""

import warnings

import numpy as np

from ...backend import _checks
from ...tensor import Tensor, _wrap

_FLOATS = _checks.FLOAT_DTYPES
# The kernels' dtype rule and message, in one place for both layers.
_float_operands = _checks.float_arrays
_REDUCTIONS = ("mean", "sum", "none")


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _tensor(x):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x), None)


def _legacy(op, size_average, reduce, reduction="mean"):
    """The reduction that PyTorch's deprecated ``size_average`` / ``reduce`` arguments ask
    for (with PyTorch's warning), or ``reduction`` when both are None."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


def _reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _tuple(v, n, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


def _given_stride(stride):
    """``stride`` as the kernels take it: None (the kernel size) for PyTorch's defaults, None
    and an empty sequence; anything else as given, so that 0 is refused, not defaulted."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return None
    return stride


def _depth_taps(x, k, s, d, out):
    """The ``k`` strided depth slices of ``x`` (N, C, D', ...) that the taps of a window of
    ``k`` (stride ``s``, dilation ``d``) read: tap ``i`` holds depths ``i d + j s`` for the
    ``out`` outputs ``j`` (3-D convolution and pooling over the 2-D kernels)."""
    return [x[:, :, i * d:i * d + s * (out - 1) + 1:s] for i in range(k)]
