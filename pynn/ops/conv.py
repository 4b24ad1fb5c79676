"""2-D convolution through the backend kernels (``conv2d_forward`` / ``conv2d_backward``, and
their max-pooled forms ``conv2d_maxpool_forward`` / ``conv2d_maxpool_backward``)."""

from ..autograd import ArrayFunction
from ..backend import active as K


class Conv2dFunction(ArrayFunction):
    """``relu?(conv2d(x, w) + b)``, NCHW, max-pooled by ``pool = (kernel_size, stride,
    padding)`` in the same kernel call unless ``pool`` is None; arguments are checked by
    :func:`pynn.functional.conv2d`. The input gradient is computed only when asked for."""

    fresh_grads = True  # the backward kernels allocate dx, dw and db on every call

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, relu, pool):
        if pool is None:
            y, indices = K.conv2d_forward(x, w, b, stride, padding, dilation, relu), None
        else:
            y, indices = K.conv2d_maxpool_forward(x, w, b, stride, padding, dilation, relu,
                                                  *pool)
        ctx.save_for_backward(x, w, y if relu else None, indices)
        ctx.args = (stride, padding, dilation, b is not None)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w, y, indices = ctx.saved_tensors
        stride, padding, dilation, has_bias = ctx.args
        nx, nw, nb = ctx.needs_input_grad[:3]
        # y is the ReLU's output (pooled, with the pooling: the maximum commutes with ReLU),
        # which the kernels mask the gradient by.
        if indices is None:
            dx, dw, db = K.conv2d_backward(x, w, grad, stride, padding, dilation,
                                           needs_input_grad=nx, has_bias=has_bias and nb,
                                           relu_y=y)
        else:
            dx, dw, db = K.conv2d_maxpool_backward(x, w, grad, indices, stride, padding,
                                                   dilation, needs_input_grad=nx,
                                                   has_bias=has_bias and nb, relu_y=y)
        return dx, dw if nw else None, db, None, None, None, None, None
