"""NAdam."""

import numpy as np

from ._numpy_steps import check_betas, check_nonnegative, gradient, lerp_, zeros_like
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``: Adam with Nesterov momentum and momentum decay.

    With ``mu_t = beta1 (1 - 0.96^(t psi) / 2)`` (``psi = momentum_decay``) and their running
    product ``P_t``: ``m`` and ``v`` as in Adam, then
    ``param -= lr (1 - mu_t) / (1 - P_t) g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d``,
    ``d = sqrt(v / (1 - beta2^t)) + eps``.

    State per parameter: ``step``, ``mu_product``, ``exp_avg`` and ``exp_avg_sq``.

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
    momentum_decay : float
    decoupled_weight_decay : bool
    foreach, capturable, differentiable : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        check_nonnegative(group, "eps", "weight_decay", "momentum_decay")
        check_betas(group)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            decoupled = group["decoupled_weight_decay"]
            psi = group["momentum_decay"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], 0 if decoupled else wd)
                if decoupled and wd != 0:
                    p._data *= 1 - lr * wd
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["mu_product"] = 1.0
                    st["exp_avg"] = zeros_like(p)
                    st["exp_avg_sq"] = zeros_like(p)
                t = st["step"] = st["step"] + 1
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                # PyTorch keeps this product in a float32 scalar tensor: round it the same way.
                mu_product = float(np.float32(st["mu_product"]) * np.float32(mu))
                st["mu_product"] = mu_product
                m, v = st["exp_avg"], st["exp_avg_sq"]
                lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / (1 - beta2 ** t)) + eps
                p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
                p._data += (-lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
        return loss
