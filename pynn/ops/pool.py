"""2-D pooling through the backend kernels."""

from ..autograd import ArrayFunction
from ..backend import active as K


class MaxPool2dFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding):
        y, indices = K.max_pool2d_forward(x, kernel_size, stride, padding)
        ctx.save_for_backward(indices)
        ctx.x_shape = x.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.max_pool2d_backward(grad, ctx.saved_tensors[0], ctx.x_shape), None, None, None


class AvgPool2dFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad):
        ctx.args = (x.shape, kernel_size, stride, padding, count_include_pad)
        return K.avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        return K.avg_pool2d_backward(grad, *ctx.args), None, None, None, None
