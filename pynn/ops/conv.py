"""2-D convolution through the backend kernels (``conv2d_forward`` / ``conv2d_backward``, and
their max-pooled forms ``conv2d_maxpool_forward`` / ``conv2d_maxpool_backward``), transposed
convolution, ``unfold`` / ``fold`` through ``im2col`` / ``col2im``, and padding (NumPy)."""

import threading

import numpy as np

from ..autograd import ArrayFunction, _record
from ..backend import _checks as check
from ..backend import active as K
from ..tensor import Tensor


class Conv2dFunction(ArrayFunction):
    """``relu?(conv2d(x, w) + b)``, NCHW, max-pooled by ``pool = (kernel_size, stride,
    padding)`` in the same kernel call unless ``pool`` is None; arguments are checked by
    :func:`pynn.functional.conv2d`. The input gradient is computed only when asked for.

    A ReLU or a max-pool applied to its output as ops of their own (``F.relu``,
    ``F.max_pool2d``) join its backward (:meth:`_fuse_relu`, :meth:`_fuse_pool`).
    """

    fresh_grads = True  # the backward kernels allocate dx, dw and db on every call

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, relu, pool):
        if pool is None:
            y, indices = K.conv2d_forward(x, w, b, stride, padding, dilation, relu), None
        else:
            y, indices = K.conv2d_maxpool_forward(x, w, b, stride, padding, dilation, relu,
                                                  *pool)
        ctx.save_for_backward(x, w, y if relu else None, indices)
        ctx.geometry, ctx.has_bias = (stride, padding, dilation), b is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        _, _, y, indices = ctx.saved_tensors
        # y is the ReLU's output (pooled, with the pooling: the maximum commutes with ReLU),
        # which the kernels mask the gradient by.
        return ctx._grads(grad, y, indices)

    def _grads(self, grad, relu_y, indices):
        """The gradients of the inputs for ``grad``, the gradient of the convolution's output
        max-pooled with ``indices`` (None: not pooled) and masked by ReLU where ``relu_y``
        (the ReLU's output, pooled like ``grad``; None: no ReLU) is ``<= 0``."""
        x, w = self.saved_tensors[:2]
        (stride, padding, dilation), has_bias = self.geometry, self.has_bias
        nx, nw, nb = self.needs_input_grad[:3]
        if indices is None:
            dx, dw, db = K.conv2d_backward(x, w, grad, stride, padding, dilation,
                                           needs_input_grad=nx, has_bias=has_bias and nb,
                                           relu_y=relu_y)
        else:
            dx, dw, db = K.conv2d_maxpool_backward(x, w, grad, indices, stride, padding,
                                                   dilation, needs_input_grad=nx,
                                                   has_bias=has_bias and nb, relu_y=relu_y)
        return dx, dw if nw else None, db, None, None, None, None, None

    def _fuse_relu(self, relu_y, grad, deps, grads):
        """The backward of ``relu(this output)`` joined to this node's: the ReLU's output
        ``relu_y`` masks ``grad`` in the convolution's kernel (see
        :func:`pynn.autograd._fused_backward`)."""
        return self, (self,), self._grads(grad, relu_y, self.saved_tensors[3])

    def _fuse_pool(self, grad, indices, pooled, relu):
        """The gradients of the inputs for the gradient ``grad`` of ``max_pool2d(relu?(this
        output))`` (argmax ``indices``, output ``pooled``), in the pooled convolution's
        backward kernel; None when this output is already pooled."""
        _, _, y, own_indices = self.saved_tensors
        if own_indices is not None:
            return None
        # the maximum commutes with ReLU: the pooled output masks the pooled gradient
        return self._grads(grad, pooled if relu or y is not None else None, indices)


# ---------------------------------------------------------------------------------------------
# A convolution computed later: F.conv2d's output, when it is much larger than the input,
# waits until its values are read, so that F.relu and F.max_pool2d applied to it (written one
# op at a time) can run as the convolution kernel's epilogue and pooled form.

_STORAGE = Tensor.__dict__["_data"]  # the storage slot; holds the ConvCall while pending
# Held while a pending tensor's storage and class change together, so that a thread never sees
# the computed array with the pending class (it would compute from the array again).
_BECOMING_PLAIN = threading.Lock()


class PendingTensor(Tensor):
    """A Tensor whose values are computed when first read: its storage slot holds what
    :meth:`_compute` turns into them. The first read of ``_data`` computes and stores them
    and makes the object a plain :class:`~pynn.Tensor`; assigning ``_data`` does the latter.
    Subclasses: :class:`PendingConv`, :class:`pynn.ops.activation.PendingRelu`."""

    __slots__ = ()

    @staticmethod
    def _compute(stored):
        raise NotImplementedError

    @property
    def _data(self):
        # Storage and class are read together: a thread that looked _data up while this
        # tensor was pending may find it plain already, holding the values.
        with _BECOMING_PLAIN:
            stored = _STORAGE.__get__(self)
            pending = type(self)
            if not issubclass(pending, PendingTensor):
                return stored
        value = pending._compute(stored)
        with _BECOMING_PLAIN:
            if type(self) is pending:  # two threads may both compute; the first result stays
                _STORAGE.__set__(self, value)
                self.__class__ = Tensor
            return _STORAGE.__get__(self)

    @_data.setter
    def _data(self, value):
        with _BECOMING_PLAIN:
            _STORAGE.__set__(self, value)
            self.__class__ = Tensor

    def __reduce_ex__(self, protocol):
        self._data  # noqa: B018 - computed, so that copies and pickles hold the values
        return self.__reduce_ex__(protocol)

    def pending_value(self):
        """What the storage slot holds until the values are computed."""
        return _STORAGE.__get__(self)


class ConvCall:
    """What a pending convolution computes: ``relu?(conv2d(x, w, b))`` with copies of the
    arrays taken at the call (later writes into the originals cannot change it), the
    geometry, and the ReLU's node, whose mask is the result once computed."""

    __slots__ = ("b", "dilation", "padding", "relu", "relu_node", "shape", "stride", "w", "x")

    def __init__(self, x, w, b, stride, padding, dilation, shape):
        self.x, self.w, self.b = x, w, b
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.shape = shape
        self.relu = False
        self.relu_node = None

    def with_relu(self, node):
        """The same call followed by ReLU, recorded as ``node``."""
        out = ConvCall(self.x, self.w, self.b, self.stride, self.padding, self.dilation,
                       self.shape)
        out.relu = True
        out.relu_node = node
        return out

    def compute(self):
        y = K.conv2d_forward(self.x, self.w, self.b, self.stride, self.padding, self.dilation,
                             self.relu)
        node = self.relu_node
        if node is not None and node.saved_tensors is not None and node.saved_tensors[0] is None:
            node.saved_tensors = (y,)  # the ReLU's backward masks by its output
        return y

    def pooled(self, kernel_size, stride, padding):
        """``max_pool2d`` of the result, in the pooled convolution kernel: ``(y, indices)``."""
        return K.conv2d_maxpool_forward(self.x, self.w, self.b, self.stride, self.padding,
                                        self.dilation, self.relu, kernel_size, stride, padding)


class PendingConv(PendingTensor):
    """A :class:`ConvCall`'s result, computed when first read (see :class:`PendingTensor`)."""

    __slots__ = ()
    _compute = staticmethod(ConvCall.compute)

    def pending_call(self):
        """The :class:`ConvCall` that will compute it."""
        return self.pending_value()


def pending_tensor(cls, call, node):
    """A new ``cls`` (:class:`PendingConv`, ...) standing for ``call``'s result, made by
    ``node`` (None: not recorded)."""
    t = object.__new__(cls)
    _STORAGE.__set__(t, call)
    t._grad = None
    t._version = 0
    t.requires_grad = node is not None
    t.grad_fn = node
    return t


_DEFERRED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def deferred_conv2d(input, weight, bias, stride, padding, dilation):
    """``conv2d(input, weight, bias)`` as a :class:`PendingConv`, or None when computing it
    now is as good: the output must be at least four times the input's size (as after a
    first layer), so that copying the input costs little beside what a fused ReLU and
    max-pool save. Arguments are checked now, by the kernel's own checks."""
    x, w = input._data, weight._data
    b = None if bias is None else bias._data
    if x.ndim != 4 or w.ndim != 4 or x.size == 0 or w.size == 0:
        return None  # empty: computed now, so that what the kernel refuses raises at the call
    pad = max(padding) if isinstance(padding, (tuple, list)) else padding
    if not isinstance(pad, int) or 4 * x.size > (x.shape[0] * w.shape[0] * (x.shape[2] + 2 * pad)
                                                 * (x.shape[3] + 2 * pad)):
        return None  # not wider, whatever the stride: no need to check the arguments twice
    _, _, _, _, out_hw = check.conv_args("conv2d_forward", x, w, b, stride, padding, dilation)
    shape = (x.shape[0], w.shape[0], *out_hw)
    if x.dtype not in _DEFERRED_DTYPES or 4 * x.size > shape[0] * shape[1] * out_hw[0] * out_hw[1]:
        return None
    node = _record(Conv2dFunction(), (input, weight, bias, stride, padding, dilation, False,
                                      None))
    if node is not None:
        node.save_for_backward(x, w, None, None)
        node.geometry, node.has_bias = (stride, padding, dilation), b is not None
    call = ConvCall(np.array(x), np.array(w), None if b is None else np.array(b), stride,
                    padding, dilation, shape)
    return pending_tensor(PendingConv, call, node)


def _cols(x):
    return np.ascontiguousarray(x)


class ConvTranspose2dFunction(ArrayFunction):
    """Transposed 2-D convolution (the input gradient of ``conv2d``), NCHW, one group.

    ``x`` (N, Cin, H, W) and ``w`` (Cin, Cout, kh, kw): every input pixel spreads
    ``x[n, :, h, w] @ w`` over a kh x kw window of the output (a GEMM then the backend's
    ``col2im``); the backward is ``im2col`` of the output gradient and two GEMMs.
    ``out_hw`` is the output's (H, W), already including ``output_padding``.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, out_hw):
        n, cin, h, wd = x.shape
        cout, kh, kw = w.shape[1:]
        w2 = w.reshape(cin, cout * kh * kw)
        cols = _cols(np.matmul(w2.T, x.reshape(n, cin, h * wd)))
        y = K.col2im(cols, (n, cout, *out_hw), (kh, kw), stride, padding, dilation)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.geometry, ctx.has_bias = (stride, padding, dilation), b is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        (stride, padding, dilation), has_bias = ctx.geometry, ctx.has_bias
        n, cin, h, wd = x.shape
        kh, kw = w.shape[2:]
        gcols = K.im2col(_cols(grad), (kh, kw), stride, padding, dilation)
        nx, nw, nb = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if nx:
            dx = np.matmul(w.reshape(cin, -1), gcols).reshape(x.shape)
        if nw:
            dw = np.tensordot(x.reshape(n, cin, h * wd), gcols, axes=([0, 2], [0, 2]))
            dw = dw.reshape(w.shape).astype(w.dtype, copy=False)
        if has_bias and nb:
            db = grad.sum(axis=(0, 2, 3))
        return dx, dw, db, None, None, None, None


class UnfoldFunction(ArrayFunction):
    """``unfold`` (im2col): sliding windows of (N, C, H, W) as columns (N, C kh kw, L)."""

    @staticmethod
    def forward(ctx, x, kernel_size, dilation, padding, stride):
        ctx.x_shape, ctx.window = x.shape, (kernel_size, stride, padding, dilation)
        return K.im2col(_cols(x), kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return K.col2im(_cols(grad), ctx.x_shape, *ctx.window), None, None, None, None


class FoldFunction(ArrayFunction):
    """``fold`` (col2im): columns (N, C kh kw, L) summed back into (N, C, H, W)."""

    @staticmethod
    def forward(ctx, cols, out_shape, kernel_size, dilation, padding, stride):
        ctx.window = (kernel_size, stride, padding, dilation)
        return K.col2im(_cols(cols), out_shape, kernel_size, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        return K.im2col(_cols(grad), *ctx.window), None, None, None, None, None


def pad_index(length, left, right, mode):
    """Source index of each output position along one padded dimension and the mask of those
    that come from the input (the rest take the constant fill).

    Parameters
    ----------
    length : int
        The input's size along the dimension.
    left, right : int
        Padding before and after (negative crops).
    mode : {"constant", "reflect", "replicate", "circular"}

    Returns
    -------
    idx : int ndarray of shape (length + left + right,), values in [0, length)
    valid : bool ndarray of the same shape
    """
    j = np.arange(-left, length + right)
    if mode == "constant":
        valid = (j >= 0) & (j < length)
        return np.clip(j, 0, max(length - 1, 0)), valid
    if mode == "reflect":
        period = 2 * (length - 1)
        j = np.abs(j) % period if period else np.zeros_like(j)
        j = np.where(j >= length, period - j, j)
    elif mode == "replicate":
        j = np.clip(j, 0, length - 1)
    else:
        j = j % length
    return j, np.ones(j.shape, bool)


def _block(idx, valid):
    """``(out_slice, in_slice)`` when the positions taken from the input are one run of
    consecutive outputs reading consecutive inputs (constant padding and cropping), else
    None."""
    rows = np.flatnonzero(valid)
    if not len(rows):
        return slice(0, 0), slice(0, 0)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    src = idx[lo:hi]
    if hi - lo != len(rows) or not np.array_equal(src, np.arange(src[0], src[0] + hi - lo)):
        return None
    return slice(lo, hi), slice(int(src[0]), int(src[0]) + hi - lo)


class PadFunction(ArrayFunction):
    """Pad (or crop) ``x`` along the trailing dimensions: ``index`` holds one
    ``(axis, idx, valid)`` per padded axis (:func:`pad_index`); positions not ``valid`` take
    ``value``. The backward sums the gradient back onto the positions each output came from.
    Constant padding and cropping copy one block (and its gradient is that block); the other
    modes gather and scatter."""

    @staticmethod
    def forward(ctx, x, index, value):
        ctx.index = index
        ctx.x_shape = x.shape
        blocks = [_block(idx, valid) for _, idx, valid in index]
        ctx.blocks = None
        if all(b is not None for b in blocks):
            out_key, in_key = [slice(None)] * x.ndim, [slice(None)] * x.ndim
            shape = list(x.shape)
            for (axis, idx, _), (out_s, in_s) in zip(index, blocks):
                out_key[axis], in_key[axis], shape[axis] = out_s, in_s, len(idx)
            y = np.full(shape, value, x.dtype)
            y[tuple(out_key)] = x[tuple(in_key)]
            ctx.blocks = (tuple(out_key), tuple(in_key))
            return y
        y = x
        for axis, idx, valid in index:
            y = np.take(y, idx, axis=axis)
            if not valid.all():
                shape = [1] * y.ndim
                shape[axis] = -1
                y = np.where(valid.reshape(shape), y, y.dtype.type(value))
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.blocks is not None:
            out_key, in_key = ctx.blocks
            g = np.zeros(ctx.x_shape, grad.dtype)
            g[in_key] = grad[out_key]
            return g, None, None
        g = grad
        for axis, idx, valid in reversed(ctx.index):
            moved = np.moveaxis(g, axis, 0)
            out = np.zeros((ctx.x_shape[axis],) + moved.shape[1:], g.dtype)
            np.add.at(out, idx[valid], moved[valid])
            g = np.moveaxis(out, 0, axis)
        return g, None, None
