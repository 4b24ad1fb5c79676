"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

import numpy as np

from ..backend import active as K
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    With ``g = grad (+ weight_decay * param)`` (``-grad`` when ``maximize``): without momentum
    ``param -= lr * g``; with momentum the buffer starts as ``g`` and then follows
    ``buf = momentum * buf + (1 - dampening) * g``, and the update uses ``buf`` (or
    ``g + momentum * buf`` with ``nesterov``). One fused kernel per parameter.

    State per parameter (only with momentum): ``momentum_buffer``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups (dicts with ``"params"`` and
        hyper-parameters that override the defaults).
    lr : float
    momentum : float
        0 (the default) disables momentum.
    dampening : float
    weight_decay : float
        L2 penalty, added to the gradient.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool, keyword-only
        Ascend the objective instead.
    foreach, differentiable, fused : optional, keyword-only
        Accepted for compatibility; no effect (the update is always one fused kernel).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        momentum = group.get("momentum", 0)
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        weight_decay = group.get("weight_decay", 0)
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if group.get("nesterov", False) and (momentum <= 0 or group.get("dampening", 0) != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        kernel = K.sgd_step
        states = self._states
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                buf = None
                first = False
                if momentum != 0:
                    st = states.get(id(p))
                    if st is None:
                        st = states[id(p)] = {}
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = np.zeros_like(p._data)
                        first = True
                kernel(p._data, grad, buf, lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                       first_step=first)
        return loss
