"""Matrix products: ``matmul`` (2-D through the backend ``gemm``, batched N-D through
``np.matmul``) and ``linear`` (one ``gemm`` with the bias, and optionally the ReLU, fused)."""

import numpy as np

from ..autograd import ArrayFunction
from ..backend import active as K
from . import unbroadcast

_GEMM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_matmul(a, b):
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or not a.ndim \
            or not b.ndim:
        raise RuntimeError(
            f"matmul: both arguments need to be at least 1-D, got shapes {np.shape(a)} and "
            f"{np.shape(b)}"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"matmul: expected both operands to have the same dtype, got "
                        f"{a.dtype} and {b.dtype} (convert one with .to(dtype))")
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                         f"({a.shape[-1]} != {k_b})")


_MATMUL_NODES = {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0",
                 (1, 2): "SqueezeBackward4"}


class MatmulFunction(ArrayFunction):
    def name(self):
        # PyTorch's grad_fn by the operands' ranks (torch.bmm's own BmmBackward0 aside)
        ranks = tuple(getattr(t, "ndim", 0) for t in self._inputs[:2])
        return _MATMUL_NODES.get(ranks, "UnsafeViewBackward0")

    @staticmethod
    def forward(ctx, a, b):
        _check_matmul(a, b)
        ctx.save_for_backward(a, b)
        if a.ndim == 2 and b.ndim == 2 and a.dtype in _GEMM_DTYPES:
            return K.gemm(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2 and a.dtype in _GEMM_DTYPES:
            return (K.gemm(grad, b, trans_b=True) if na else None,
                    K.gemm(a, grad, trans_a=True) if nb else None)
        # Promote 1-D operands as matmul does, then undo it on the gradients.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2 if b.ndim > 1 else -1)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.dtype.kind == "c" or b.dtype.kind == "c":  # PyTorch's complex gradients
            a2, b2 = np.conj(a2), np.conj(b2)
        ga = gb = None
        if na:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if nb:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


class LinearFunction(ArrayFunction):
    """``y = relu?(x @ w.T + b)`` for x of shape (*, in), w (out, in), b (out,) or None:
    one ``gemm(x2d, w, trans_b=True, bias=b, relu=relu)``. Arguments are checked by
    :func:`pynn.functional.linear`."""

    fresh_grads = True  # each gradient is a new GEMM or bias_grad result

    def name(self):
        # PyTorch's grad_fn for linear: its last node for the input's rank
        x_shape, has_bias = self.x_shape, self.has_bias
        if self.relu:
            return "ReluBackward0"
        if len(x_shape) == 2:
            return "AddmmBackward0" if has_bias else "MmBackward0"
        return "SqueezeBackward4" if len(x_shape) == 1 and not has_bias else "ViewBackward0"

    @staticmethod
    def forward(ctx, x, w, b, relu):
        lead = x.shape[:-1]
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        y = K.gemm(x2, w, trans_b=True, bias=b, relu=relu)
        ctx.save_for_backward(x2, w, y if relu else None)
        ctx.x_shape, ctx.has_bias, ctx.relu = x.shape, b is not None, relu
        return y if x.ndim == 2 else y.reshape(lead + (w.shape[0],))

    @staticmethod
    def backward(ctx, grad):
        return ctx._grads(grad, ctx.saved_tensors[2])

    def _fuse_relu(self, relu_y, grad, deps, grads):
        """The backward of ``relu(this output)`` joined to this node's (see
        :func:`pynn.autograd._fused_backward`)."""
        return self, (self,), self._grads(grad, relu_y)

    def _grads(self, grad, relu_y):
        """The gradients of the inputs, ``grad`` masked where ``relu_y`` (the output of a ReLU
        applied to this node's; None: no ReLU) is ``<= 0``."""
        x2, w, _ = self.saved_tensors
        x_shape, has_bias = self.x_shape, self.has_bias
        nx, nw, nb, _ = self.needs_input_grad
        g = grad if grad.ndim == 2 else grad.reshape(-1, w.shape[0])
        if relu_y is not None:
            g = K.relu_backward(relu_y if relu_y.ndim == 2 else relu_y.reshape(g.shape), g)
        dx = dw = db = None
        if nx:
            dx = K.gemm(g, w)
            if len(x_shape) != 2:
                dx = dx.reshape(x_shape)
        if nw:
            dw = K.gemm(g, x2, trans_a=True)
        if nb and has_bias:
            db = K.bias_grad(g, 1)
        return dx, dw, db, None


def _einsum_parse(equation, shapes):
    """Explicit subscripts of an einsum: ``(inputs, output)`` as strings of letters, with any
    ellipsis replaced by upper-case letters (the broadcast dimensions)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(ins)} operands but "
                         f"{len(shapes)} were given")
    n_ell = max((len(s) - len(sub.replace("...", "")) for sub, s in zip(ins, shapes)
                 if "..." in sub), default=0)
    ell = "".join(chr(ord("A") + i) for i in range(n_ell))
    fixed = []
    for sub, s in zip(ins, shapes):
        if "..." in sub:
            k = len(s) - len(sub.replace("...", ""))
            sub = sub.replace("...", ell[n_ell - k:])
        if len(sub) != len(s):
            raise ValueError(f"einsum: subscripts {sub!r} do not match an operand of shape {s}")
        fixed.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = "".join(fixed)
        out = ell + "".join(sorted(c for c in set(letters) if c.islower()
                                   and letters.count(c) == 1))
    return fixed, out


class EinsumFunction(ArrayFunction):
    """``np.einsum`` over explicit subscripts; the gradient of each operand is another einsum
    of the output gradient with the other operands (summed-out letters broadcast back)."""

    @staticmethod
    def forward(ctx, equation, *arrays):
        ins, out = _einsum_parse(equation, [a.shape for a in arrays])
        ctx.save_for_backward(*arrays)
        ctx.subs = (ins, out)
        return np.einsum(",".join(ins) + "->" + out, *arrays, optimize=len(arrays) > 2)

    @staticmethod
    def backward(ctx, grad):
        arrays = ctx.saved_tensors
        ins, out = ctx.subs
        grads = [None]
        for i, (sub, a) in enumerate(zip(ins, arrays)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            if len(set(sub)) != len(sub):
                raise NotImplementedError(
                    f"einsum: the gradient of an operand with a repeated subscript ({sub!r}) "
                    "is not implemented")
            others = [(s, b) for j, (s, b) in enumerate(zip(ins, arrays)) if j != i]
            present = set(out).union(*(set(s) for s, _ in others))
            kept = "".join(c for c in sub if c in present)
            sizes = dict(zip(sub, a.shape))
            # PyTorch's complex gradients take the other operands conjugated
            g = np.einsum(",".join([out] + [s for s, _ in others]) + "->" + kept, grad,
                          *[np.conj(b) if b.dtype.kind == "c" else b for _, b in others],
                          optimize=len(others) > 1)
            if kept != sub:
                g = np.expand_dims(g, tuple(k for k, c in enumerate(sub) if c not in present))
                g = np.broadcast_to(g, tuple(sizes[c] for c in sub))
            # broadcast dimensions of size 1 in this operand collect the sum
            grads.append(unbroadcast_to(g, a.shape))
        return tuple(grads)


def unbroadcast_to(g, shape):
    """Sum ``g`` over the axes where ``shape`` has 1 and ``g`` does not."""
    axes = tuple(k for k, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g
