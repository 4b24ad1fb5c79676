"""Adam and AdamW."""

import numpy as np

from ..backend import active as K
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``, with optional AMSGrad and decoupled (AdamW) weight decay.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2`` (AMSGrad: the running
    maximum of ``v``), ``param -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)``.
    One fused kernel per parameter.

    State per parameter: ``step`` (an int, 1 after the first update), ``exp_avg``,
    ``exp_avg_sq`` and, with ``amsgrad``, ``max_exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups (dicts with ``"params"`` and
        hyper-parameters that override the defaults).
    lr : float
    betas : (float, float)
        ``beta1`` and ``beta2``, the decay rates of ``m`` and ``v``, in [0, 1).
    eps : float
        Added to the denominator.
    weight_decay : float
        L2 penalty added to the gradient, or, with ``decoupled_weight_decay``,
        ``param *= 1 - lr * weight_decay`` before the update.
    amsgrad : bool
    maximize : bool, keyword-only
        Ascend the objective instead.
    decoupled_weight_decay : bool, keyword-only
        AdamW's decay (see :class:`AdamW`).
    foreach, capturable, differentiable, fused : optional, keyword-only
        Accepted for compatibility; no effect (the update is always one fused kernel).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        eps = group.get("eps", 0.0)
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = group.get("betas", (0.0, 0.0))
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        weight_decay = group.get("weight_decay", 0)
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        kernel = K.adam_step
        states = self._states
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                st = states.get(id(p))
                if not st:
                    st = _init_state(states, p)
                t = st["step"] = st["step"] + 1
                max_sq = None
                if amsgrad:
                    max_sq = st.get("max_exp_avg_sq")
                    if max_sq is None:
                        max_sq = st["max_exp_avg_sq"] = np.zeros_like(p._data)
                kernel(p._data, grad, st["exp_avg"], st["exp_avg_sq"], step=t, lr=lr,
                       beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled, max_exp_avg_sq=max_sq,
                       maximize=maximize)
        return loss


def _init_state(states, p):
    st = states.get(id(p))
    if st is None:
        st = states[id(p)] = {}
    st["step"] = 0
    st["exp_avg"] = np.zeros_like(p._data)
    st["exp_avg_sq"] = np.zeros_like(p._data)
    return st


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    ``param *= 1 - lr * weight_decay`` before the Adam update; the default ``weight_decay`` is
    1e-2.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups (dicts with ``"params"`` and
        hyper-parameters that override the defaults).
    lr : float
    betas : (float, float)
        ``beta1`` and ``beta2``, the decay rates of ``m`` and ``v``, in [0, 1).
    eps : float
        Added to the denominator.
    weight_decay : float
    amsgrad : bool
    maximize : bool, keyword-only
        Ascend the objective instead.
    foreach, capturable, differentiable, fused : optional, keyword-only
        Accepted for compatibility; no effect.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
