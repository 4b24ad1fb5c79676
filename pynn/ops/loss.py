"""Regression, binary-classification and margin losses (plain NumPy: elementwise, one pass)."""

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast


def _reduce(per, reduction):
    if reduction == "none":
        return per
    total = per.sum()
    return np.asarray(total / per.size if reduction == "mean" else total, per.dtype)


def _reduced_grad(grad, shape, reduction):
    """The gradient of ``_reduce`` with respect to the per-element losses (shape ``shape``)."""
    if reduction == "none":
        return grad
    size = 1
    for n in shape:
        size *= n
    return np.broadcast_to(grad / size if reduction == "mean" else grad, shape)


class MSELossFunction(ArrayFunction):
    def name(self):
        return "MseLossBackward0"  # PyTorch's grad_fn name, as printed with the loss

    @staticmethod
    def forward(ctx, x, y, reduction):
        diff = np.subtract(x, y)
        ctx.save_for_backward(diff)
        ctx.shapes = (np.shape(x), np.shape(y))
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        sx, sy = ctx.shapes
        nx, ny, _ = ctx.needs_input_grad
        g = 2 * diff * _reduced_grad(grad, diff.shape, ctx.reduction)
        return (unbroadcast(g, sx) if nx else None, unbroadcast(-g, sy) if ny else None, None)


class BCEFunction(ArrayFunction):
    """``-w (y log x + (1 - y) log(1 - x))`` with the logs clamped at -100 (PyTorch's rule,
    so x = 0 or 1 gives a finite loss)."""

    def name(self):
        return "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, y, weight, reduction):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        per = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, weight, log_x, log_1mx)
        ctx.reduction = reduction
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, log_x, log_1mx = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad[:2]
        g = _reduced_grad(grad, x.shape, ctx.reduction)
        if weight is not None:
            g = g * weight
        gx = g * (x - y) / np.maximum(x * (1 - x), 1e-12) if nx else None
        gy = g * (log_1mx - log_x) if ny else None
        return gx, gy, None, None


class BCEWithLogitsFunction(ArrayFunction):
    """``w ((1 - y) x + l (log1p(exp(-|x|)) + max(-x, 0)))``, ``l = 1 + (pos_weight - 1) y``:
    binary cross-entropy of sigmoid(x), never exponentiating a large positive number."""

    def name(self):
        return "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, y, weight, pos_weight, reduction):
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + e^-x)
        if pos_weight is None:
            per = (1 - y) * x + softplus_neg
        else:
            per = (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg
        if weight is not None:
            per = per * weight
        ctx.save_for_backward(x, y, weight, pos_weight, softplus_neg)
        ctx.reduction = reduction
        return _reduce(per.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, weight, pos_weight, softplus_neg = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad[:2]
        g = _reduced_grad(grad, x.shape, ctx.reduction)
        if weight is not None:
            g = g * weight
        sig = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                       np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
        gx = gy = None
        if pos_weight is None:
            if nx:
                gx = g * (sig - y)
            if ny:
                gy = g * -x
        else:
            if nx:
                gx = g * ((1 - y) - (1 + (pos_weight - 1) * y) * (1 - sig))
            if ny:
                gy = g * (-x + (pos_weight - 1) * softplus_neg)
        return gx, gy, None, None, None


# ---------------------------------------------------------------------------------------------
# Elementwise losses of (input, target), one row per loss: ``(loss, d/dinput, d/dtarget)``,
# each a function of ``(x, y, *args)`` (``d/dtarget`` None: the target gets no gradient).


def _sign(d):
    return np.sign(d).astype(d.dtype, copy=False)


def _smooth_l1(x, y, beta):
    d = x - y
    ad = np.abs(d)
    if beta == 0:
        return ad
    return np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta)


def _smooth_l1_dx(x, y, beta):
    d = x - y
    if beta == 0:
        return _sign(d)
    return np.where(np.abs(d) < beta, d / beta, _sign(d))


def _huber(x, y, delta):
    d = x - y
    ad = np.abs(d)
    return np.where(ad <= delta, 0.5 * d * d, delta * (ad - 0.5 * delta))


def _huber_dx(x, y, delta):
    d = x - y
    return np.where(np.abs(d) <= delta, d, delta * _sign(d))


def _kl_div(x, y, log_target):
    if log_target:
        return np.exp(y) * (y - x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, y * (np.log(np.where(y > 0, y, 1)) - x), 0)


def _kl_div_dy(x, y, log_target):
    if log_target:
        return np.exp(y) * (y - x + 1)
    return np.where(y > 0, np.log(np.where(y > 0, y, 1)) + 1 - x, 0)


def _softplus_neg(z):
    """``log(1 + exp(-z))`` without overflow."""
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _poisson_nll(x, y, log_input, full, eps):
    per = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(y > 1, y, 1)
            stirling = safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe)
        per = per + np.where(y > 1, stirling, 0)
    return per


def _poisson_nll_dy(x, y, log_input, full, eps):
    g = -x if log_input else -np.log(x + eps)
    if full:
        safe = np.where(y > 1, y, 1)
        g = g + np.where(y > 1, np.log(safe) + 0.5 / safe, 0)
    return g


def _hinge_embedding(x, y, margin):
    return np.where(y == 1, x, 0) + np.where(y == -1, np.maximum(margin - x, 0), 0)


def _hinge_embedding_dx(x, y, margin):
    return np.where(y == 1, 1, 0) + np.where((y == -1) & (margin - x > 0), -1, 0)


PAIRWISE_LOSSES = {
    "l1_loss": (lambda x, y: np.abs(x - y), lambda x, y: _sign(x - y),
                lambda x, y: -_sign(x - y)),
    "smooth_l1_loss": (_smooth_l1, _smooth_l1_dx, lambda x, y, b: -_smooth_l1_dx(x, y, b)),
    "huber_loss": (_huber, _huber_dx, lambda x, y, d: -_huber_dx(x, y, d)),
    "kl_div": (_kl_div, lambda x, y, lt: -np.exp(y) if lt else -y, _kl_div_dy),
    "soft_margin_loss": (lambda x, y: _softplus_neg(y * x), lambda x, y: -y * _sigmoid(-y * x),
                         lambda x, y: -x * _sigmoid(-y * x)),
    "poisson_nll_loss": (
        _poisson_nll,
        lambda x, y, log_input, full, eps: np.exp(x) - y if log_input else 1 - y / (x + eps),
        _poisson_nll_dy,
    ),
    "hinge_embedding_loss": (_hinge_embedding, _hinge_embedding_dx, None),
}


# The pairwise losses that PyTorch computes in one node of their own
_OWN_NODES = {"smooth_l1_loss": "SmoothL1LossBackward0", "huber_loss": "HuberLossBackward0",
              "soft_margin_loss": "SoftMarginLossBackward0"}


class PairwiseLossFunction(ArrayFunction):
    """The loss ``name`` of ``PAIRWISE_LOSSES`` between ``x`` and ``y`` (broadcast), with its
    scalar ``args``, reduced by ``reduction`` ("mean", "sum", "none")."""

    def name(self):
        # PyTorch's grad_fn: the loss's own node, or the reduction that ends its composite
        loss, _, reduction = self.meta[:3]
        own = _OWN_NODES.get(loss)
        if own is not None:
            return own
        if reduction != "none":
            return "MeanBackward0" if reduction == "mean" else "SumBackward0"
        return "AbsBackward0" if loss == "l1_loss" else "PairwiseLossBackward0"

    @staticmethod
    def forward(ctx, x, y, name, args, reduction):
        dtype = np.result_type(x, y) if np.asarray(y).dtype.kind == "f" else x.dtype
        per = PAIRWISE_LOSSES[name][0](x, y, *args).astype(dtype, copy=False)
        ctx.save_for_backward(x, y)
        ctx.meta = (name, args, reduction, per.shape, dtype)
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        name, args, reduction, shape, _ = ctx.meta
        nx, ny = ctx.needs_input_grad[:2]
        g = _reduced_grad(grad, shape, reduction)
        _, fx, fy = PAIRWISE_LOSSES[name]
        gx = unbroadcast(g * fx(x, y, *args), np.shape(x)).astype(x.dtype, copy=False) \
            if nx else None
        gy = None
        if ny and fy is not None:
            gy = unbroadcast(g * fy(x, y, *args), np.shape(y)).astype(y.dtype, copy=False)
        return gx, gy, None, None, None


class MultiMarginLossFunction(ArrayFunction):
    """``sum_{j != y} w[y] max(0, margin - x[y] + x[j])^p / C`` per row of (N, C) scores."""

    @staticmethod
    def forward(ctx, x, labels, weight, p, margin, reduction):
        n, c = x.shape
        rows = np.arange(n)
        z = x - x[rows, labels][:, None]
        z += margin
        z[rows, labels] = 0
        active = z > 0
        h = np.where(active, z if p == 1 else z * z, 0).astype(x.dtype, copy=False)
        wy = None if weight is None else weight[labels][:, None]
        if wy is not None:
            h *= wy
        per = h.sum(axis=1) / x.dtype.type(c)
        ctx.save_for_backward(z, active, labels, wy)
        ctx.p, ctx.reduction = p, reduction
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, active, labels, wy = ctx.saved_tensors
        p, reduction = ctx.p, ctx.reduction
        n, c = z.shape
        g = _reduced_grad(grad, (n,), reduction)
        coef = active.astype(z.dtype) if p == 1 else np.where(active, 2 * z, 0)
        coef *= (g / c).reshape(-1, 1)
        if wy is not None:
            coef *= wy
        rows = np.arange(n)
        coef[rows, labels] = -coef.sum(axis=1)
        return coef, None, None, None, None, None


class HingeLossFunction(ArrayFunction):
    """``max(0, margin - y * s)`` elementwise, labels y in {-1, +1}."""

    @staticmethod
    def forward(ctx, s, y, margin, reduction):
        z = margin - y * s
        active = z > 0
        per = np.where(active, z, 0).astype(s.dtype, copy=False)
        ctx.save_for_backward(y, active)
        ctx.reduction = reduction
        return _reduce(per, reduction)

    @staticmethod
    def backward(ctx, grad):
        y, active = ctx.saved_tensors
        g = _reduced_grad(grad, active.shape, ctx.reduction)
        ds = np.where(active, -y * g, 0).astype(grad.dtype, copy=False)
        return ds, None, None, None
