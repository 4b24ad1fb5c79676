"""ASGD."""

import numpy as np

from ._numpy_steps import check_nonnegative, gradient, zeros_like
from .optimizer import Optimizer

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent, as ``torch.optim.ASGD``.

    ``param *= 1 - lambd * eta``, ``param -= eta * g``; the running average ``ax`` of the
    parameters starts after ``t0`` steps; ``eta = lr / (1 + lambd * lr * t) ** alpha`` and
    ``mu = 1 / max(1, t - t0)`` are updated after each step. The averaged parameters are in
    ``state[p]["ax"]``.

    State per parameter: ``step``, ``eta``, ``mu`` and ``ax``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
    lambd : float
        Decay term.
    alpha : float
        Power of the ``eta`` update.
    t0 : float
        The step at which averaging starts.
    weight_decay : float
        L2 penalty, added to the gradient.
    foreach, differentiable, capturable : optional
        Accepted for compatibility; no effect.
    maximize : bool
        Ascend the objective instead.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        check_nonnegative(group, "weight_decay")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = gradient(p, group["maximize"], group["weight_decay"])
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["eta"] = _f32(lr)
                    st["mu"] = 1.0
                    st["ax"] = zeros_like(p)
                t = st["step"] = st["step"] + 1
                eta = float(st["eta"])
                p._data *= 1 - lambd * eta
                p._data -= eta * g
                ax = st["ax"]
                if float(st["mu"]) != 1:
                    ax += (p._data - ax) * float(st["mu"])
                else:
                    ax[...] = p._data
                # PyTorch keeps eta and mu in float32 scalar tensors: round them the same way.
                st["eta"] = _f32(lr / ((1 + lambd * lr * t) ** alpha))
                st["mu"] = _f32(1 / max(1, t - t0))
        return loss


def _f32(value):
    return float(np.float32(value))
