"""Normalisation layers as single autograd nodes: batch norm (a NumPy forward that keeps the
normalised input) and layer norm (the backend's row kernels, ``layer_norm_forward`` /
``layer_norm_backward``, which keep each row's mean and 1/std), each with a closed-form
backward (no chain of small tensor ops, so the Python overhead is one node). Arguments are
checked by :func:`pynn.functional.batch_norm` / :func:`pynn.functional.layer_norm`.

With ``xhat = (x - mean) * invstd`` and ``y = w * xhat + b``, reducing over the M elements
that share one mean:

    dx = w * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
    dw = sum(dy * xhat),  db = sum(dy)
"""

import numpy as np

from ..autograd import ArrayFunction
from ..backend import active as K


def _channel_shape(ndim):
    """Shape that broadcasts a (C,) vector over (N, C, *)."""
    return (1, -1) + (1,) * (ndim - 2)


class BatchNormFunction(ArrayFunction):
    """Batch norm over (N, C, *): statistics per channel over N and the trailing dims.

    ``training=True`` normalises with the batch's mean and biased variance and, when
    running stats are given, updates them in place: ``r = (1 - momentum) r + momentum s``
    with the unbiased variance (PyTorch's rule). ``training=False`` uses the running stats
    (not differentiated).
    """

    def name(self):
        return "NativeBatchNormBackward0"  # PyTorch's grad_fn name

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        cshape = _channel_shape(x.ndim)
        axes = (0,) + tuple(range(2, x.ndim))
        if training:
            m = x.size // x.shape[1]
            mean = x.mean(axis=axes, keepdims=True)
            xhat = x - mean
            sq = np.square(xhat)
            var = sq.mean(axis=axes, keepdims=True)
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean.reshape(-1)
            if running_var is not None:
                running_var *= 1.0 - momentum
                running_var += (momentum * m / max(m - 1, 1)) * var.reshape(-1)
        else:
            mean = running_mean.reshape(cshape)
            var = running_var.reshape(cshape)
            xhat = x - mean
            sq = None
        invstd = 1.0 / np.sqrt(var + eps)
        xhat *= invstd
        if weight is not None:
            y = np.multiply(xhat, weight.reshape(cshape), out=sq)
        else:
            y = xhat.copy()
        if bias is not None:
            y += bias.reshape(cshape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.training, ctx.axes, ctx.cshape, ctx.has_bias = training, axes, cshape, bias is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        training, axes, cshape, has_bias = ctx.training, ctx.axes, ctx.cshape, ctx.has_bias
        nx, nw, nb = ctx.needs_input_grad[:3]
        need_sums = training and nx
        db = grad.sum(axis=axes, keepdims=True) if (nb or need_sums) else None
        dw = (grad * xhat).sum(axis=axes, keepdims=True) if (nw or need_sums) else None
        dx = None
        if nx:
            scale = invstd if weight is None else invstd * weight.reshape(cshape)
            if training:
                m = xhat.size // xhat.shape[1]
                dx = np.multiply(xhat, dw * (-1.0 / m))
                dx += grad
                dx -= db * (1.0 / m)
                dx *= scale
            else:
                dx = grad * scale
        return (dx,
                dw.reshape(-1) if nw else None,
                db.reshape(-1) if nb and has_bias else None,
                None, None, None, None, None)


class LayerNormFunction(ArrayFunction):
    """Layer norm over the trailing ``len(normalized_shape)`` dims of x, with an
    elementwise affine ``weight`` / ``bias`` of ``normalized_shape`` (or None)."""

    def name(self):
        return "NativeLayerNormBackward0"  # PyTorch's grad_fn name

    @staticmethod
    def forward(ctx, x, weight, bias, ndim_norm, eps):
        k = 1
        for n in x.shape[x.ndim - ndim_norm:]:
            k *= n
        x2 = x.reshape(-1, k)
        w = None if weight is None else weight.reshape(-1)
        y, mean, rstd = K.layer_norm_forward(x2, w, None if bias is None else bias.reshape(-1),
                                             eps)
        ctx.save_for_backward(x2, mean, rstd, w)
        ctx.x_shape, ctx.weight_shape = x.shape, None if weight is None else weight.shape
        ctx.bias_shape = None if bias is None else bias.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x2, mean, rstd, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        dx, dw, db = K.layer_norm_backward(
            x2, np.ascontiguousarray(grad, x2.dtype).reshape(x2.shape), mean, rstd, w,
            input_grad=bool(nx), weight_grad=bool(nw) and w is not None,
            bias_grad=bool(nb) and ctx.bias_shape is not None)
        return (None if dx is None else dx.reshape(ctx.x_shape),
                None if dw is None else dw.reshape(ctx.weight_shape),
                None if db is None else db.reshape(ctx.bias_shape), None, None)
