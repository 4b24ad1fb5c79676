"""RAdam."""

import math

import numpy as np

from ._numpy_steps import check_betas, check_nonnegative, gradient, lerp_, zeros_like
from .optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, rectified Adam (``torch.optim.RAdam``).

    RAdam, as ``torch.optim.RAdam``: Adam whose adaptive term is switched on (and
    rectified) once the variance estimate is tractable.

    With ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``: while ``rho_t <= 5`` the update is
    ``lr * m_hat`` (momentum SGD); after it,
    ``lr * m_hat * r_t * sqrt(1 - beta2^t) / (sqrt(v) + eps)`` with the rectification
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.

    State per parameter: ``step``, ``exp_avg`` and ``exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
    betas : (float, float)
    eps : float
    weight_decay : float
        L2 penalty added to the gradient, or with ``decoupled_weight_decay``
        ``param *= 1 - lr * weight_decay``.
    decoupled_weight_decay : bool
    foreach, capturable, differentiable : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        check_nonnegative(group, "eps", "weight_decay")
        check_betas(group)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            decoupled = group["decoupled_weight_decay"]
            rho_inf = 2 / (1 - beta2) - 1
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], 0 if decoupled else wd)
                if decoupled and wd != 0:
                    p._data *= 1 - lr * wd
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = zeros_like(p)
                    st["exp_avg_sq"] = zeros_like(p)
                t = st["step"] = st["step"] + 1
                m, v = st["exp_avg"], st["exp_avg_sq"]
                lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                correction2 = 1 - beta2 ** t
                m_hat = m / (1 - beta1 ** t)
                rho_t = rho_inf - 2 * t * beta2 ** t / correction2
                if rho_t > 5.0:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                     / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    adaptive = math.sqrt(correction2) / (np.sqrt(v) + eps)
                    p._data -= m_hat * lr * adaptive * rect
                else:
                    p._data -= m_hat * lr
        return loss
