"""Adagrad."""

import numpy as np

from ._numpy_steps import check_nonnegative, gradient
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    ``sum += g^2``, ``param -= clr * g / (sqrt(sum) + eps)`` with
    ``clr = lr / (1 + (step - 1) * lr_decay)``.

    State per parameter (created with the optimiser, as PyTorch's): ``step`` and ``sum``
    (starting at ``initial_accumulator_value``).

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
    lr_decay : float
    weight_decay : float
        L2 penalty, added to the gradient.
    initial_accumulator_value : float
    eps : float
    foreach, differentiable, fused : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self._init_group_state(self.param_groups[-1])  # PyTorch creates the state eagerly

    def _init_group_state(self, group):
        for p in group["params"]:
            st = self.state[p]
            if not st:
                st["step"] = 0
                st["sum"] = np.full_like(p._data, group["initial_accumulator_value"],
                                         order="C")

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        check_nonnegative(group, "lr_decay", "weight_decay", "initial_accumulator_value",
                          "eps")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], group["weight_decay"])
                st = self.state[p]
                if not st:
                    self._init_group_state({**group, "params": [p]})
                st["step"] += 1
                clr = lr / (1 + (st["step"] - 1) * lr_decay)
                total = st["sum"]
                total += g * g
                p._data -= clr * g / (np.sqrt(total) + eps)
        return loss
