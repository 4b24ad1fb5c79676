"""Activations through the backend kernels (``relu_forward`` / ``relu_backward`` ...)."""

from ..autograd import ArrayFunction
from ..backend import active as K


class ReluFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        y = K.relu_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.relu_backward(ctx.saved_tensors[0], grad)


class LeakyReluFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return K.leaky_relu_forward(x, negative_slope)

    @staticmethod
    def backward(ctx, grad):
        return K.leaky_relu_backward(ctx.saved_tensors[0], grad, ctx.negative_slope), None


class SigmoidFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        y = K.sigmoid_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.sigmoid_backward(ctx.saved_tensors[0], grad)


class TanhFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        y = K.tanh_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.tanh_backward(ctx.saved_tensors[0], grad)


class GeluFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return K.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, grad):
        return K.gelu_backward(ctx.saved_tensors[0], grad, ctx.approximate), None
