"""Rprop."""

import numpy as np

from ._numpy_steps import zeros_like
from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (``torch.optim.Rprop``).

    Resilient backpropagation, as ``torch.optim.Rprop``: per-element step sizes that grow
    while the gradient keeps its sign and shrink when it flips.

    ``step_size *= etaplus`` where ``g * prev > 0``, ``*= etaminus`` where ``< 0`` (and the
    gradient is then taken as 0 for this step), clipped to ``step_sizes``; then
    ``param -= sign(g) * step_size``.

    State per parameter: ``step``, ``prev`` (the last gradient used) and ``step_size``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The parameters to optimise, or parameter groups.
    lr : float
        The initial step size.
    etas : (float, float)
        ``(etaminus, etaplus)``, with ``0 < etaminus < 1 < etaplus``.
    step_sizes : (float, float)
        Minimum and maximum step sizes.
    capturable, foreach, differentiable : optional, keyword-only
        Accepted for compatibility; no effect.
    maximize : bool, keyword-only
        Ascend the objective instead.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes),
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        etaminus, etaplus = group.get("etas", (0.5, 1.2))
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid eta values: {etaminus}, {etaplus}")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            lo, hi = group["step_sizes"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = p._grad._data
                g = -g if group["maximize"] else g.copy()
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["prev"] = zeros_like(p)
                    st["step_size"] = np.full_like(p._data, group["lr"], order="C")
                st["step"] += 1
                trend = np.sign(g * st["prev"])
                factor = np.where(trend > 0, etaplus, np.where(trend < 0, etaminus, 1.0))
                size = st["step_size"]
                size *= factor.astype(size.dtype, copy=False)
                np.clip(size, lo, hi, out=size)
                g[trend < 0] = 0  # after a sign flip, wait a step before moving again
                p._data -= np.sign(g) * size
                st["prev"][...] = g
        return loss
