"""RMSprop."""

import numpy as np

from ..backend import active as K
from .optimizer import Optimizer

__all__ = ["RMSProp", "RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (``RMSProp`` is an alias).

    ``square_avg = alpha square_avg + (1 - alpha) g^2``; the denominator is
    ``sqrt(square_avg) + eps``, or with ``centered`` ``sqrt(square_avg - grad_avg^2) + eps``
    where ``grad_avg`` is the running mean of ``g``; with momentum
    ``buf = momentum buf + g / denom`` and ``param -= lr buf``, else
    ``param -= lr g / denom``. One fused kernel per parameter.

    State per parameter: ``step`` (an int), ``square_avg``, and ``momentum_buffer`` (with
    momentum) and ``grad_avg`` (centred).

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups (dicts with ``"params"`` and
        hyper-parameters that override the defaults).
    lr : float
    alpha : float
        Decay rate of ``square_avg``.
    eps : float
        Added to the denominator.
    weight_decay : float
        L2 penalty, added to the gradient.
    momentum : float
    centered : bool
        Normalise by the variance of the gradient rather than its second moment.
    maximize : bool
        Ascend the objective instead.
    capturable, foreach, differentiable : optional
        Accepted for compatibility; no effect (the update is always one fused kernel).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        for key, label in (("eps", "epsilon"), ("momentum", "momentum"),
                           ("weight_decay", "weight_decay"), ("alpha", "alpha")):
            value = group.get(key, 0.0)
            if not value >= 0.0:
                raise ValueError(f"Invalid {label} value: {value}")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        kernel = K.rmsprop_step
        states = self._states
        for group in self.param_groups:
            lr = group["lr"]
            alpha = group["alpha"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            centered = group["centered"]
            maximize = group["maximize"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                st = states.get(id(p))
                if not st:
                    if st is None:
                        st = states[id(p)] = {}
                    st["step"] = 0
                    st["square_avg"] = np.zeros_like(p._data)
                st["step"] += 1
                buf = grad_avg = None
                if momentum != 0:
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = np.zeros_like(p._data)
                if centered:
                    grad_avg = st.get("grad_avg")
                    if grad_avg is None:
                        grad_avg = st["grad_avg"] = np.zeros_like(p._data)
                kernel(p._data, grad, st["square_avg"], lr=lr, alpha=alpha, eps=eps,
                       weight_decay=weight_decay, momentum=momentum, momentum_buffer=buf,
                       centered=centered, grad_avg=grad_avg, maximize=maximize)
        return loss


RMSProp = RMSprop
