"""Regression and binary-classification losses (plain NumPy: elementwise, one pass)."""

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast


def _reduce(per, reduction):
    if reduction == "none":
        return per
    total = per.sum()
    return np.asarray(total / per.size if reduction == "mean" else total, per.dtype)


def _reduced_grad(grad, shape, reduction):
    """The gradient of ``_reduce`` with respect to the per-element losses (shape ``shape``)."""
    if reduction == "none":
        return grad
    size = 1
    for n in shape:
        size *= n
    return np.broadcast_to(grad / size if reduction == "mean" else grad, shape)


class MSELossFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, y, reduction):
        diff = np.subtract(x, y)
        ctx.save_for_backward(diff)
        ctx.shapes = (np.shape(x), np.shape(y))
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        sx, sy = ctx.shapes
        nx, ny, _ = ctx.needs_input_grad
        g = 2 * diff * _reduced_grad(grad, diff.shape, ctx.reduction)
        return (unbroadcast(g, sx) if nx else None, unbroadcast(-g, sy) if ny else None, None)


class BCEFunction(ArrayFunction):
    """``-w (y log x + (1 - y) log(1 - x))`` with the logs clamped at -100 (PyTorch's rule,
    so x = 0 or 1 gives a finite loss)."""

    @staticmethod
    def forward(ctx, x, y, weight, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        per = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, weight, log_x, log_1mx)
        ctx.reduction = reduction
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, log_x, log_1mx = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad[:2]
        g = _reduced_grad(grad, x.shape, ctx.reduction)
        if weight is not None:
            g = g * weight
        gx = g * (x - y) / np.maximum(x * (1 - x), 1e-12) if nx else None
        gy = g * (log_1mx - log_x) if ny else None
        return gx, gy, None, None


class BCEWithLogitsFunction(ArrayFunction):
    """``w ((1 - y) x + l (log1p(exp(-|x|)) + max(-x, 0)))``, ``l = 1 + (pos_weight - 1) y``:
    binary cross-entropy of sigmoid(x), never exponentiating a large positive number."""

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + e^-x)
        if pos_weight is None:
            per = (1 - y) * x + softplus_neg
        else:
            per = (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, weight, pos_weight, softplus_neg)
        ctx.reduction = reduction
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, pos_weight, softplus_neg = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad[:2]
        g = _reduced_grad(grad, x.shape, ctx.reduction)
        if weight is not None:
            g = g * weight
        sig = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                       np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
        gx = gy = None
        if pos_weight is None:
            if nx:
                gx = g * (sig - y)
            if ny:
                gy = g * -x
        else:
            if nx:
                gx = g * ((1 - y) - (1 + (pos_weight - 1) * y) * (1 - sig))
            if ny:
                gy = g * (-x + (pos_weight - 1) * softplus_neg)
        return gx, gy, None, None, None
