"""Linear maps: ``linear`` (one fused ``gemm``, also with a fused ReLU) and ``bilinear``."""

import numpy as np

from ...ops.matmul import LinearFunction
from ._utils import _FLOATS, _data, _float_operands, _tensor

__all__ = [
    "bilinear",
    "linear",
]


def _check_linear(x, w, b):
    if not isinstance(x, np.ndarray) or not isinstance(w, np.ndarray):
        raise TypeError(f"linear: input and weight must be Tensors, got {type(x).__name__} and "
                        f"{type(w).__name__}")
    if w.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got "
                         f"{w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1] if x.ndim else 0} features but "
                         f"weight expects {w.shape[1]} (input shape {x.shape}, weight shape "
                         f"{w.shape})")
    if x.dtype != w.dtype or x.dtype not in _FLOATS:
        _float_operands("linear", input=x, weight=w)
    if b is not None:
        if not isinstance(b, np.ndarray) or b.shape != (w.shape[0],):
            raise ValueError(f"linear: bias must have shape ({w.shape[0]},) to match weight "
                             f"{w.shape}, got {np.shape(b)}")
        if b.dtype != w.dtype:
            _float_operands("linear", weight=w, bias=b)


def linear(input, weight, bias=None):
    """``y = input @ weight.T + bias``, one fused ``gemm``.

    Parameters
    ----------
    input : Tensor of shape (*, in_features)
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,), optional

    Returns
    -------
    Tensor of shape (*, out_features)
    """
    _check_linear(_data(input), _data(weight), _data(bias))
    return LinearFunction.apply(input, weight, bias, False)


def _linear_relu(input, weight, bias=None):
    """``relu(linear(input, weight, bias))`` in one ``gemm`` with the ReLU fused (internal:
    for layers that know a ReLU follows)."""
    _check_linear(_data(input), _data(weight), _data(bias))
    return LinearFunction.apply(input, weight, bias, True)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``.

    Parameters
    ----------
    input1 : Tensor of shape (*, in1)
    input2 : Tensor of shape (*, in2)
    weight : Tensor of shape (out, in1, in2)
    bias : Tensor of shape (out,), optional

    Returns
    -------
    Tensor of shape (*, out)
    """
    x1, x2, w = _data(input1), _data(input2), _data(weight)
    if w.ndim != 3 or x1.shape[-1] != w.shape[1] or x2.shape[-1] != w.shape[2] \
            or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: inputs of shapes {x1.shape} and {x2.shape} do not match "
                         f"weight of shape {w.shape} (out, in1, in2)")
    out, in1, in2 = w.shape
    lead = x1.shape[:-1]
    a = _tensor(input1).reshape(-1, in1)
    # (B, in1) @ (in1, out * in2) -> (B, out, in2), then contract in2 with input2
    t = a @ _tensor(weight).permute(1, 0, 2).reshape(in1, out * in2)
    y = (t.reshape(-1, out, in2) * _tensor(input2).reshape(-1, 1, in2)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)
