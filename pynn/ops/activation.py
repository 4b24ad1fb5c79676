"""Activations: through the backend kernels (``relu_forward`` / ``relu_backward`` ...) where
one exists, else NumPy inside the node (:class:`PointwiseFunction`'s table, PReLU, GLU)."""

import sys

import numpy as np

from ..autograd import ArrayFunction, _record, _sole_parent
from ..backend import active as K
from ..tensor import Tensor
from . import refuse_complex
from .conv import _DEFERRED_DTYPES, PendingConv, PendingTensor, pending_tensor


class ReluFunction(ArrayFunction):
    """``max(x, 0)``. Its backward joins that of the linear layer, convolution or max-pooled
    convolution that made ``x`` when nothing else consumes ``x``: their kernels mask the
    gradient by the ReLU's output (``_fuse_relu`` on those nodes)."""

    @staticmethod
    def forward(ctx, x):
        refuse_complex("relu", x)
        y = K.relu_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return K.relu_backward(ctx._mask(), grad)

    def _mask(self):
        """The array whose entries ``<= 0`` stop the gradient: the output, or (recorded by
        :func:`deferred_relu`) the input, computed now if the output never was."""
        y = self.saved_tensors[0]
        return self._inputs[0]._data if y is None else y

    def _fuse(self, grad, deps, grads):
        parent = _sole_parent(self._inputs[0], deps, grads)
        fuse_relu = getattr(parent, "_fuse_relu", None)
        if fuse_relu is None:
            return None
        return fuse_relu(self._mask(), grad, deps, grads)


# ---------------------------------------------------------------------------------------------
# A ReLU applied later: relu(x) of an x that nothing else refers to, computed when its values
# are first read, or never when a max-pool takes it (the pool runs on x and the ReLU on the
# pooled values, which commutes; see pynn.ops.pool.deferred_max_pool2d).


class PendingRelu(PendingTensor):
    """The Tensor ``relu(x)`` whose values are not computed yet (see :func:`deferred_relu` and
    :class:`~pynn.ops.conv.PendingTensor`).

    Its storage slot holds ``x``'s array, which nothing else can write (``x`` had no other
    reference when the ReLU was applied, and the graph never writes what it keeps).
    """

    __slots__ = ()

    @staticmethod
    def _compute(x):
        return K.relu_forward(x)

    def pending_input(self):
        """The array the ReLU is to be applied to."""
        return self.pending_value()


def _array_probe(x):
    arr = x._data
    return sys.getrefcount(arr)


def _array_alone():
    """The count :func:`deferred_relu` sees for an array held by its Tensor alone (None when
    this interpreter does not tell it apart from one held elsewhere too)."""
    t = Tensor(np.zeros(1))
    alone = _array_probe(t)
    held = t._data  # noqa: F841 - the second reference
    return alone if _array_probe(t) == alone + 1 else None


def sole_reference_count(probe):
    """What ``sys.getrefcount`` reports, as the first statement of a function called like
    ``probe``, for an argument that nothing but the call refers to (a temporary); None when
    this interpreter does not tell that apart from an argument also held by the caller (then
    nothing is deferred). ``probe(x)`` must return ``sys.getrefcount(x)`` from the same kind
    of function the count is taken in."""
    alone = probe(object())
    held = object()
    if probe(held) != alone + 1:
        return None
    # other ways of passing an argument that its caller holds must not look alone either
    del held
    in_tuple = (object(),)
    in_list = [object()]
    in_dict = {"input": object()}
    if alone in (probe(*in_tuple), probe(*in_list), probe(**in_dict)):
        return None
    return alone


def deferred_relu(x):
    """``relu(x)`` computed later when that can save work, else None.

    For the caller to use only when ``x`` is referenced by nothing but the call (a temporary,
    ``F.relu(self.conv(x))``). A pending convolution (:class:`~pynn.ops.conv.PendingConv`)
    gives another, whose call includes the ReLU. A computed 4-D float32/float64 ``x`` (what a
    max-pool may take next) whose array is its own gives a :class:`PendingRelu`. The graph
    records the ReLU as usual; its node keeps ``x``'s array as the mask of its backward
    (``x <= 0`` where ``relu(x) <= 0``), or the output once the convolution computes it.
    """
    if type(x) is PendingConv:  # not computed yet: the ReLU joins the convolution's call
        node = _record(ReluFunction(), (x,))
        if node is not None:
            node.save_for_backward(None)  # its output, once computed (see ConvCall)
        return pending_tensor(PendingConv, x.pending_call().with_relu(node), node)
    if type(x) is not Tensor:
        return None
    arr = x._data
    # x's array must be its own, shared with no other Tensor or ndarray (a view, .detach(),
    # from_numpy) through which it could be written before the ReLU reads it
    if (type(arr) is not np.ndarray or arr.base is not None
            or sys.getrefcount(arr) != _ARRAY_ALONE or arr.ndim != 4
            or arr.dtype not in _DEFERRED_DTYPES):
        return None
    node = _record(ReluFunction(), (x,))
    if node is not None:
        node.save_for_backward(arr)
    return pending_tensor(PendingRelu, arr, node)


class LeakyReluFunction(ArrayFunction):
    @staticmethod
    def forward(ctx, x, negative_slope):
        refuse_complex("leaky_relu", x)
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
        refuse_complex("gelu", x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return K.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, grad):
        return K.gelu_backward(ctx.saved_tensors[0], grad, ctx.approximate), None


# ---------------------------------------------------------------------------------------------
# Activations without a kernel: NumPy, one row per op. Each row is ``(forward, backward)``;
# ``forward(x, *args)`` returns y, ``backward(x, y, grad, *args)`` returns dx. Computing in
# the input's dtype keeps float32 float32 (Python scalars do not promote NumPy arrays).

def _sigmoid(x):
    # exp of a non-positive number only, so neither branch overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x, beta, threshold):
    bx = x * beta
    return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta).astype(x.dtype, copy=False)


def _elu(x, alpha, scale, input_scale):
    neg = alpha * np.expm1(np.minimum(x, 0) * input_scale)
    return (scale * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)


def _elu_grad(x, y, g, alpha, scale, input_scale):
    neg = scale * alpha * input_scale * np.exp(np.minimum(x, 0) * input_scale)
    return g * np.where(x > 0, scale, neg).astype(x.dtype, copy=False)


def _mish_grad(x, y, g):
    tsp = np.tanh(_softplus(x, 1.0, 20.0))
    return g * (tsp + x * (1 - tsp * tsp) * _sigmoid(x))


def _hardswish(x):
    return x * np.clip(x + 3, 0, 6) / 6


def _hardswish_grad(x, y, g):
    d = np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6)).astype(x.dtype, copy=False)
    return g * d


_POINTWISE = {
    "elu": (_elu, _elu_grad),
    "softplus": (
        _softplus,
        lambda x, y, g, beta, threshold: g * np.where(x * beta > threshold, 1,
                                                      _sigmoid(x * beta)).astype(x.dtype),
    ),
    "softsign": (lambda x: x / (1 + np.abs(x)), lambda x, y, g: g / (1 + np.abs(x)) ** 2),
    "hardtanh": (
        lambda x, lo, hi: np.clip(x, lo, hi),
        lambda x, y, g, lo, hi: g * ((x > lo) & (x < hi)),
    ),
    "hardsigmoid": (
        lambda x: np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False),
        lambda x, y, g: g * ((x > -3) & (x < 3)) / x.dtype.type(6),
    ),
    "hardswish": (_hardswish, _hardswish_grad),
    "silu": (lambda x: x * _sigmoid(x),
             lambda x, y, g: g * (s := _sigmoid(x)) * (1 + x * (1 - s))),
    "mish": (lambda x: x * np.tanh(_softplus(x, 1.0, 20.0)), _mish_grad),
    "logsigmoid": (lambda x: -np.logaddexp(0, -x).astype(x.dtype, copy=False),
                   lambda x, y, g: g * _sigmoid(-x)),
    "tanhshrink": (lambda x: x - np.tanh(x), lambda x, y, g: g * np.tanh(x) ** 2),
    "softshrink": (
        lambda x, lambd: np.where(x > lambd, x - lambd,
                                  np.where(x < -lambd, x + lambd, 0)).astype(x.dtype),
        lambda x, y, g, lambd: g * (np.abs(x) > lambd),
    ),
    "hardshrink": (
        lambda x, lambd: np.where(np.abs(x) > lambd, x, 0).astype(x.dtype),
        lambda x, y, g, lambd: g * (np.abs(x) > lambd),
    ),
    "threshold": (
        lambda x, threshold, value: np.where(x > threshold, x, value).astype(x.dtype),
        lambda x, y, g, threshold, value: g * (x > threshold),
    ),
}


# The activations PyTorch computes for complex input: ``(forward, derivative)``, derivative
# None where PyTorch refuses the gradient (softsign, not holomorphic, is composed in
# nn.functional)
_COMPLEX_POINTWISE = {
    "silu": (lambda x: x / (1 + np.exp(-x)), None),
    "tanhshrink": (lambda x: x - np.tanh(x), lambda x: np.tanh(x) ** 2),
}


# PyTorch's grad_fn names where they are not the capitalised op name
_NODE_NAMES = {"softsign": "Div", "hardsigmoid": "Hardsigmoid", "logsigmoid": "LogSigmoid",
               "tanhshrink": "Sub"}


class PointwiseFunction(ArrayFunction):
    """An activation of the ``_POINTWISE`` table, ``name``, with its scalar ``args``."""

    def name(self):
        return _NODE_NAMES.get(self.op, self.op.capitalize()) + "Backward0"  # PyTorch's

    @staticmethod
    def forward(ctx, x, name, args):
        ctx.save_for_backward(x)
        ctx.op, ctx.params = name, args  # not ctx.name: that is the grad_fn's name()
        if x.dtype.kind == "c":
            if name not in _COMPLEX_POINTWISE:
                refuse_complex(name, x)
            return _COMPLEX_POINTWISE[name][0](x)
        return _POINTWISE[name][0](x, *args)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        if x.dtype.kind == "c":
            derivative = _COMPLEX_POINTWISE[ctx.op][1]
            if derivative is None:
                raise RuntimeError(f"{ctx.op} does not support automatic differentiation for "
                                   "outputs with complex dtype.")  # PyTorch's words
            return grad * np.conj(derivative(x)), None, None
        dx = _POINTWISE[ctx.op][1](x, None, grad, *ctx.params)
        return dx.astype(x.dtype, copy=False), None, None


class PReluFunction(ArrayFunction):
    """``max(x, 0) + weight * min(x, 0)``, the weight (one per channel, dim 1, or a single
    one) learned."""

    @staticmethod
    def forward(ctx, x, weight):
        refuse_complex("prelu", x, weight)
        w = weight.reshape((-1,) + (1,) * (x.ndim - 2)) if weight.size > 1 else weight.reshape(())
        ctx.save_for_backward(x, w)
        ctx.w_shape = weight.shape
        return np.where(x > 0, x, w * x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = np.where(x > 0, grad, w * grad).astype(x.dtype, copy=False)
        gw = np.where(x > 0, 0, grad * x)
        if ctx.w_shape == (1,) or w.ndim == 0:
            dw = gw.sum().reshape(ctx.w_shape)
        else:
            axes = (0,) + tuple(range(2, x.ndim))
            dw = gw.sum(axis=axes).reshape(ctx.w_shape)
        return dx, dw.astype(x.dtype, copy=False)


class GluFunction(ArrayFunction):
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``dim``."""

    @staticmethod
    def forward(ctx, x, dim):
        refuse_complex("glu", x)
        a, b = np.split(x, 2, axis=dim)
        s = _sigmoid(b)
        ctx.save_for_backward(a, s)
        ctx.dim = dim
        return a * s

    @staticmethod
    def backward(ctx, grad):
        a, s = ctx.saved_tensors
        return np.concatenate([grad * s, grad * a * s * (1 - s)], axis=ctx.dim), None


_ARRAY_ALONE = _array_alone()
