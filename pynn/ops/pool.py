"""Pooling: 2-D max and average through the backend kernels; adaptive pooling and
resampling in NumPy."""

import numpy as np

from ..autograd import ArrayFunction, _record, _sole_parent
from ..backend import active as K
from ..tensor import _wrap
from .activation import ReluFunction
from .conv import PendingConv


class MaxPool2dFunction(ArrayFunction):
    """2-D max pooling (arguments checked by :func:`pynn.functional.max_pool2d`).

    Its backward joins that of a convolution it pools, with or without a ReLU in between or
    after it (``max_pool2d(relu(conv2d(x)))``, ``relu(max_pool2d(conv2d(x)))``), when
    nothing else consumes the intermediate results: the pooled convolution's backward
    kernel routes the gradient to the maxima a chunk of images at a time, in cache, and the
    full-size gradients of the convolution's and the ReLU's outputs are never stored.
    """

    def name(self):
        return "MaxPool2DWithIndicesBackward0"  # PyTorch's

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding):
        y, indices = K.max_pool2d_forward(x, kernel_size, stride, padding)
        # y: the ReLU mask of a fused backward (max-pool commutes with ReLU)
        ctx.save_for_backward(indices, y)
        ctx.x_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.max_pool2d_backward(grad, ctx.saved_tensors[0], ctx.x_shape), None, None, None

    def _fuse(self, grad, deps, grads):
        """``max_pool2d(relu?(conv2d(...)))``: the backward of the three in one kernel call
        (see :func:`pynn.autograd._fused_backward`)."""
        parent = _sole_parent(self._inputs[0], deps, grads)
        if parent is None:
            return None
        relu = type(parent) is ReluFunction
        conv = _sole_parent(parent._inputs[0], deps, grads) if relu else parent
        fuse_pool = getattr(conv, "_fuse_pool", None)
        if fuse_pool is None:
            return None
        indices, y = self.saved_tensors
        in_grads = fuse_pool(grad, indices, y, relu)
        if in_grads is None:
            return None
        return conv, (parent, conv) if relu else (conv,), in_grads

    def _fuse_relu(self, relu_y, grad, deps, grads):
        """``relu(max_pool2d(conv2d(...)))`` (the ReLU's output ``relu_y``), as :meth:`_fuse`."""
        conv = _sole_parent(self._inputs[0], deps, grads)
        fuse_pool = getattr(conv, "_fuse_pool", None)
        if fuse_pool is None:
            return None
        in_grads = fuse_pool(grad, self.saved_tensors[0], relu_y, True)
        if in_grads is None:
            return None
        return conv, (self, conv), in_grads


def deferred_max_pool2d(r, kernel_size, stride, padding):
    """``max_pool2d(r)`` of a pending ``r`` that nothing else refers to. A
    :class:`~pynn.ops.conv.PendingConv` (a convolution, maybe with its ReLU) runs as the
    pooled convolution kernel, which never stores the full-size output. A
    :class:`~pynn.ops.activation.PendingRelu` of ``x`` runs as ``relu(max_pool2d(x))``: the
    ReLU then touches the pooled values only and ``relu(x)`` is never stored.

    The graph records the max-pool of ``r`` as usual. For a PendingRelu, the argmax is taken
    on ``x``, so it differs from ``relu(x)``'s only in windows where ``x <= 0`` everywhere
    (there ``relu(x)`` ties at 0 and PyTorch takes the first): the ReLU's backward zeroes the
    gradient there either way, and ``r``, whose own gradient would show the difference, has
    no other reference to register a hook or be asked for in ``autograd.grad`` with.
    """
    if type(r) is PendingConv:
        # a convolution (and ReLU) not computed yet: the pooled convolution kernel, whose
        # argmax follows the ReLU, as the ops one by one would
        call = r.pending_call()
        y, indices = call.pooled(kernel_size, stride, padding)
        x_shape = call.shape
    else:
        y, indices = K.max_pool2d_forward(r.pending_input(), kernel_size, stride, padding)
        y = K.relu_forward(y)
        x_shape = r.pending_input().shape
    node = _record(MaxPool2dFunction(), (r, kernel_size, stride, padding))
    if node is not None:
        node.save_for_backward(indices, y)
        node.x_shape = x_shape
    return _wrap(y, node)


class AvgPool2dFunction(ArrayFunction):
    def name(self):
        return "AvgPool2DBackward0"  # PyTorch's

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad):
        ctx.x_shape = x.shape
        ctx.pooling = (kernel_size, stride, padding, count_include_pad)
        return K.avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        return K.avg_pool2d_backward(grad, ctx.x_shape, *ctx.pooling), None, None, None, None


def _map_non_finite(x, a):
    """``x @ a.T`` where only the inputs an output weighs reach it: an inf or NaN input makes
    inf or NaN of the outputs whose row of ``a`` holds it with a nonzero weight, not of every
    output (the product's 0 * inf would), with the signs and NaNs of IEEE sums."""
    finite = np.isfinite(x)
    y = np.matmul(np.where(finite, x, 0), a.T)
    up, down = (a > 0).T.astype(x.dtype), (a < 0).T.astype(x.dtype)
    plus, minus = (x == np.inf).astype(x.dtype), (x == -np.inf).astype(x.dtype)
    to_plus = np.matmul(plus, up) + np.matmul(minus, down)
    to_minus = np.matmul(minus, up) + np.matmul(plus, down)
    to_nan = np.matmul(np.isnan(x).astype(x.dtype), (a != 0).T.astype(x.dtype))
    y = np.where(to_plus > 0, np.inf, np.where(to_minus > 0, -np.inf, y))
    return np.where((to_nan > 0) | ((to_plus > 0) & (to_minus > 0)), np.nan, y).astype(x.dtype)


class SeparableMapFunction(ArrayFunction):
    """``y = a_h @ x @ a_w.T`` over the last two dimensions (``a_h`` None: the last one only).

    Resampling that acts on height and width separately is such a map: adaptive average
    pooling (averaging matrices) and nearest / (bi)linear interpolation (one or two nonzero
    weights per row). ``a_h`` (oH, H) and ``a_w`` (oW, W) are constants in ``x``'s dtype.
    """

    @staticmethod
    def forward(ctx, x, a_h, a_w):
        ctx.maps = (a_h, a_w)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            y = _map_non_finite(x, a_w)
            return y if a_h is None else np.swapaxes(_map_non_finite(np.swapaxes(y, -1, -2),
                                                                     a_h), -1, -2)
        y = np.matmul(x, a_w.T)
        return y if a_h is None else np.matmul(a_h, y)

    @staticmethod
    def backward(ctx, grad):
        a_h, a_w = ctx.maps
        g = grad if a_h is None else np.matmul(a_h.T, grad)
        return np.matmul(g, a_w), None, None


def adaptive_bins(size, out):
    """PyTorch's adaptive pooling windows: bin ``i`` covers ``[floor(i size / out),
    ceil((i + 1) size / out))``; returns the starts and ends."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def average_map(size, out, dtype):
    """The (out, size) map of adaptive average pooling along one axis: row ``i`` averages the
    inputs of bin ``i`` (:func:`adaptive_bins`)."""
    start, end = adaptive_bins(size, out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveMaxPoolFunction(ArrayFunction):
    """Adaptive max pooling over the last ``len(out_size)`` (1 or 2) dimensions."""

    @staticmethod
    def forward(ctx, x, out_size):
        lead = x.shape[: x.ndim - len(out_size)]
        spatial = x.shape[x.ndim - len(out_size):]
        bins = [adaptive_bins(s, o) for s, o in zip(spatial, out_size)]
        if len(out_size) == 1:
            bins.insert(0, (np.array([0]), np.array([1])))
            x = x[..., None, :]
        oh, ow = len(bins[0][0]), len(bins[1][0])
        w_in = x.shape[-1]
        y = np.empty(lead + (oh, ow), x.dtype)
        arg = np.empty(lead + (oh, ow), np.int64)
        for i, (h0, h1) in enumerate(zip(*bins[0])):
            for j, (w0, w1) in enumerate(zip(*bins[1])):
                win = x[..., h0:h1, w0:w1].reshape(lead + (-1,))
                k = win.argmax(axis=-1)
                y[..., i, j] = np.take_along_axis(win, k[..., None], -1)[..., 0]
                arg[..., i, j] = (h0 + k // (w1 - w0)) * w_in + w0 + k % (w1 - w0)
        if len(out_size) == 1:
            y, arg = y[..., 0, :], arg[..., 0, :]
        ctx.save_for_backward(arg)
        ctx.x_shape = lead + spatial
        ctx.pooled_dims = len(out_size)
        return y

    @staticmethod
    def backward(ctx, grad):
        (arg,) = ctx.saved_tensors
        shape = ctx.x_shape
        n_out = int(np.prod(arg.shape[len(shape) - ctx.pooled_dims:]))
        n_in = int(np.prod(shape[len(shape) - ctx.pooled_dims:]))
        rows = arg.size // max(n_out, 1)
        flat = arg.reshape(rows, n_out) + (np.arange(rows) * n_in)[:, None]
        dx = np.bincount(flat.ravel(), weights=grad.reshape(-1), minlength=rows * n_in)
        return dx.reshape(shape).astype(grad.dtype, copy=False), None
