"""Adadelta."""

import numpy as np

from ._numpy_steps import check_nonnegative, gradient, zeros_like
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    ``v = rho v + (1 - rho) g^2``, ``delta = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho u + (1 - rho) delta^2``, ``param -= lr * delta``.

    State per parameter: ``step``, ``square_avg`` (``v``) and ``acc_delta`` (``u``).

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
        Scales the update (1.0 is the method as published).
    rho : float in [0, 1]
        Decay rate of the running averages.
    eps : float
    weight_decay : float
        L2 penalty, added to the gradient.
    foreach, capturable, differentiable : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        rho = group.get("rho", 0.0)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative(group, "eps", "weight_decay")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], group["weight_decay"])
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["square_avg"] = zeros_like(p)
                    st["acc_delta"] = zeros_like(p)
                st["step"] += 1
                v, u = st["square_avg"], st["acc_delta"]
                v *= rho
                v += (1 - rho) * g * g
                delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * delta * delta
                p._data -= lr * delta
        return loss
