"""Softmax family and classification losses through the backend kernels (which work on the
last axis: other dimensions are moved there and back)."""

import numpy as np

from ..autograd import ArrayFunction
from ..backend import active as K
from . import normalize_dim, refuse_complex


def _to_last(x, dim):
    return x if dim == x.ndim - 1 else np.moveaxis(x, dim, -1)


def _from_last(y, dim):
    return y if dim == y.ndim - 1 else np.moveaxis(y, -1, dim)


class _LastAxisFunction(ArrayFunction):
    """Softmax-family op over ``dim``: the kernels work on the last axis, so ``dim`` is moved
    there and back. Subclasses name the kernels and the value for a 0-d input."""

    forward_kernel = backward_kernel = op = None  # op, not name: name() is the grad_fn's
    scalar_value = 0

    @classmethod
    def forward(cls, ctx, x, dim):
        refuse_complex(cls.op, x)
        if x.ndim == 0:
            return np.full_like(x, cls.scalar_value)
        dim = normalize_dim(dim, x.ndim, cls.op)
        y = getattr(K, cls.forward_kernel)(_to_last(x, dim))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return _from_last(y, dim)

    @classmethod
    def backward(cls, ctx, grad):
        if grad.ndim == 0:
            return np.zeros_like(grad), None
        (y,) = ctx.saved_tensors
        dim = ctx.dim
        return _from_last(getattr(K, cls.backward_kernel)(y, _to_last(grad, dim)), dim), None


class SoftmaxFunction(_LastAxisFunction):
    forward_kernel, backward_kernel, op, scalar_value = (
        "softmax_forward", "softmax_backward", "softmax", 1)


class LogSoftmaxFunction(_LastAxisFunction):
    forward_kernel, backward_kernel, op, scalar_value = (
        "log_softmax_forward", "log_softmax_backward", "log_softmax", 0)


class CrossEntropyFunction(ArrayFunction):
    """Fused softmax + cross-entropy on logits (N, C) and integer labels (N,)."""

    def name(self):
        # PyTorch's grad_fn: the NLL of its log_softmax; with smoothing, the sum of two terms
        return "AddBackward0" if self.label_smoothing else "NllLossBackward0"

    @staticmethod
    def forward(ctx, logits, labels, ignore_index, label_smoothing, reduction):
        loss, probs = K.softmax_cross_entropy_forward(logits, labels, ignore_index,
                                                      label_smoothing, reduction)
        ctx.save_for_backward(probs, labels)
        ctx.ignore_index, ctx.label_smoothing, ctx.reduction = (ignore_index, label_smoothing,
                                                                reduction)
        return loss

    @staticmethod
    def backward(ctx, grad):
        probs, labels = ctx.saved_tensors
        ignore_index, label_smoothing, reduction = (ctx.ignore_index, ctx.label_smoothing,
                                                    ctx.reduction)
        g = grad if reduction == "none" else float(grad)
        return (K.softmax_cross_entropy_backward(probs, labels, g, ignore_index,
                                                 label_smoothing, reduction),
                None, None, None, None)


class NLLLossFunction(ArrayFunction):
    """Negative log-likelihood of log-probabilities (N, C) at integer labels (N,), with
    optional class weights (C,) (PyTorch's ``nll_loss``; the weighted mean divides by the
    summed weights of the samples not ignored)."""

    def name(self):
        return "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, labels, weight, ignore_index, reduction):
        n = logp.shape[0]
        valid = labels != ignore_index
        safe = np.where(valid, labels, 0)
        rows = np.arange(n)
        w = (weight[safe] if weight is not None else np.ones(n, logp.dtype)) * valid
        w = w.astype(logp.dtype, copy=False)
        per = -logp[rows, safe] * w
        ctx.save_for_backward(safe, w)
        ctx.logp_shape, ctx.reduction = logp.shape, reduction
        if reduction == "none":
            return per
        if reduction == "sum":
            return np.asarray(per.sum(), logp.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(per.sum() / w.sum(), logp.dtype)

    @staticmethod
    def backward(ctx, grad):
        safe, w = ctx.saved_tensors
        shape, reduction = ctx.logp_shape, ctx.reduction
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = grad / w.sum()
        else:
            scale = grad
        dlogp = np.zeros(shape, grad.dtype)
        dlogp[np.arange(shape[0]), safe] = -(w * scale)
        return dlogp, None, None, None, None
