"""Adamax."""

import numpy as np

from ._numpy_steps import check_betas, check_nonnegative, gradient, lerp_, zeros_like
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``: Adam with the infinity norm.

    ``m = beta1 m + (1 - beta1) g``, ``u = max(beta2 u, |g| + eps)``,
    ``param -= lr / (1 - beta1^t) * m / u``.

    State per parameter: ``step``, ``exp_avg`` (``m``) and ``exp_inf`` (``u``).

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
    betas : (float, float)
    eps : float
    weight_decay : float
        L2 penalty, added to the gradient.
    foreach, capturable, differentiable : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        check_nonnegative(group, "eps", "weight_decay")
        check_betas(group)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = group["lr"], group["eps"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], group["weight_decay"])
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = zeros_like(p)
                    st["exp_inf"] = zeros_like(p)
                st["step"] += 1
                m, u = st["exp_avg"], st["exp_inf"]
                lerp_(m, g, 1 - beta1)
                u *= beta2
                np.maximum(u, np.abs(g) + eps, out=u)
                p._data -= lr / (1 - beta1 ** st["step"]) * m / u
        return loss
