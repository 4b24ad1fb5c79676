"""Normalisation layers as single autograd nodes: batch norm and layer norm on the backend's
kernels (``batch_norm_forward`` / ``_backward`` in training, per channel; ``layer_norm_forward``
/ ``_backward``, per row; both keep the statistics' mean and 1/std), batch norm with running
statistics a NumPy scale and shift; each with a closed-form backward (no chain of small tensor
ops, so the Python overhead is one node). Arguments are checked by
:func:`pynn.functional.batch_norm` / :func:`pynn.functional.layer_norm`.

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
        ctx.training, ctx.cshape, ctx.has_bias = training, cshape, bias is not None
        if training:
            y, mean, var, rstd = K.batch_norm_forward(x, weight, bias, eps)
            m = x.size // x.shape[1]
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1.0 - momentum
                running_var += (momentum * m / max(m - 1, 1)) * var
            ctx.save_for_backward(x, mean, rstd, weight)
            return y
        # With the running statistics y is x times a scale plus a shift, per channel.
        invstd = 1.0 / np.sqrt(running_var + eps)
        scale = invstd if weight is None else invstd * weight
        shift = -running_mean * scale if bias is None else bias - running_mean * scale
        y = x * scale.reshape(cshape).astype(x.dtype, copy=False)
        y += shift.reshape(cshape).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, running_mean.copy(), invstd.astype(x.dtype, copy=False),
                              weight)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, mean, rstd, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        nw, nb = bool(nw) and weight is not None, bool(nb) and ctx.has_bias
        grad = np.ascontiguousarray(grad, x.dtype)
        if ctx.training:
            dx, dw, db = K.batch_norm_backward(x, grad, mean, rstd, weight, input_grad=bool(nx),
                                               weight_grad=nw, bias_grad=nb)
        else:  # the running statistics are constants: dx is grad times the scale
            cshape = ctx.cshape
            dx = dw = db = None
            if nx:
                scale = rstd if weight is None else rstd * weight
                dx = grad * scale.reshape(cshape)
            if nw or nb:
                axes = (0,) + tuple(range(2, x.ndim))
                if nw:
                    xhat = (x - mean.reshape(cshape)) * rstd.reshape(cshape)
                    dw = (grad * xhat).sum(axis=axes)
                if nb:
                    db = grad.sum(axis=axes)
        return dx, dw, db, None, None, None, None, None


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
