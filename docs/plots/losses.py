"""Figure for docs/03-losses.md: binary losses as functions of the margin ``m = y s`` (score
s, label y = +1), and their derivatives by pynn's autograd."""

from pathlib import Path

import numpy as np

import pynn
from pynn import nn


def _loss_and_grad(loss_fn, m):
    """Per-point loss at scores ``m`` (label +1) and its derivative with respect to ``m``."""
    s = pynn.tensor(m, requires_grad=True)
    per_point = loss_fn(s)
    per_point.sum().backward()
    return per_point.detach().numpy().copy(), s.grad.numpy().copy()


def make(outdir):
    import matplotlib.pyplot as plt

    m = np.linspace(-3, 3, 601)
    ones = pynn.tensor(np.ones_like(m))
    losses = [
        ("hinge  max(0, 1 − m)  (HingeLoss)",
         lambda s: nn.HingeLoss(reduction="none")(s, ones)),
        ("logistic  log(1 + $e^{-m}$)  (BCEWithLogitsLoss)",
         lambda s: nn.BCEWithLogitsLoss(reduction="none")(s, ones)),
        ("squared  (1 − m)²  (MSELoss)",
         lambda s: nn.MSELoss(reduction="none")(s, ones)),
    ]
    fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(11, 5.2))
    ax_l.plot(m, (m <= 0).astype(float), color="0.5", lw=1.5, ls=":",
              label="0-1 loss (misclassified)")
    for label, fn in losses:
        value, grad = _loss_and_grad(fn, m)
        ax_l.plot(m, value, lw=2, label=label)
        ax_g.plot(m, grad, lw=2, label=label.split("  ")[0])
    ax_l.set_ylim(-0.2, 4.2)
    ax_l.set_title("Loss of one sample with label +1")
    ax_l.set_ylabel("loss")
    ax_g.set_ylim(-4.2, 2.2)
    ax_g.set_title("Derivative with respect to the score (autograd)")
    ax_g.set_ylabel("d loss / d s")
    for ax in (ax_l, ax_g):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("margin m = y · s")
        ax.grid(alpha=0.3)
    ax_l.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax_g.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    fig.suptitle("Binary classification losses, computed with pynn")
    fig.tight_layout()
    path = Path(outdir) / "losses.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
