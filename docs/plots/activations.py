"""Figure for docs/02-activations.md: each activation and its derivative, both computed by
pynn (the derivative by autograd: the gradient of sum(f(x)) is f'(x) elementwise)."""

from pathlib import Path

import numpy as np

import pynn
import pynn.functional as F
from pynn import nn


def _curve(fn, x):
    """(f(x), f'(x)) for an elementwise ``fn`` on a float64 grid."""
    t = pynn.tensor(x, requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return y.detach().numpy().copy(), t.grad.numpy().copy()


def _softmax_first(t):
    """The first component of softmax([x, 0, 1]) for every x in the grid."""
    zeros = pynn.tensor(np.zeros(t.shape))
    ones = pynn.tensor(np.ones(t.shape))
    logits = pynn.stack([t, zeros, ones], dim=1)
    return F.softmax(logits, dim=1)[:, 0]


def make(outdir):
    import matplotlib.pyplot as plt

    x = np.linspace(-5, 5, 401)
    wide, narrow = (-1.5, 5.2), (-1.2, 1.2)
    panels = [
        ("ReLU", nn.ReLU(), wide),
        ("LeakyReLU (slope 0.1)", nn.LeakyReLU(0.1), wide),
        ("GELU", nn.GELU(), wide),
        ("Sigmoid", nn.Sigmoid(), narrow),
        ("Tanh", nn.Tanh(), narrow),
        ("Softmax: $s_0$ of $[x, 0, 1]$", _softmax_first, narrow),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.4), sharex=True)
    for ax, (title, fn, ylim) in zip(axes.flat, panels):
        y, dy = _curve(fn, x)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, lw=2, label="f(x)")
        ax.plot(x, dy, lw=2, ls="--", label=r"f'(x) (autograd)" if "Softmax" not in title
                else r"$\partial s_0/\partial x$ (autograd)")
        ax.set_ylim(*ylim)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("x")
    fig.suptitle("Activation functions and their derivatives, computed with pynn")
    fig.tight_layout()
    path = Path(outdir) / "activations.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
