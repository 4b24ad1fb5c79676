"""Figure of page 8: the norm of the gradient of the last output with respect to each input
step, for freshly initialised recurrent layers, computed with pynn's autograd."""

from pathlib import Path

import numpy as np

import pynn
from pynn import nn

LENGTH, INPUT, HIDDEN = 60, 8, 32


def _grad_norms(layer, xs):
    x = pynn.tensor(xs, requires_grad=True)
    out, _ = layer(x)
    out[-1].sum().backward()
    return np.linalg.norm(x.grad[:, 0], axis=1)


def make(outdir):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    xs = rng.standard_normal((LENGTH, 1, INPUT)).astype(np.float32)
    pynn.manual_seed(0)
    layers = [("RNN (tanh)", nn.RNN(INPUT, HIDDEN)),
              ("GRU", nn.GRU(INPUT, HIDDEN)),
              ("LSTM", nn.LSTM(INPUT, HIDDEN))]
    lstm_open = nn.LSTM(INPUT, HIDDEN)
    lstm_open.bias_ih_l0.data[HIDDEN:2 * HIDDEN] = 3.0
    layers.append(("LSTM, forget-gate bias 3", lstm_open))

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    back = np.arange(LENGTH)[::-1]  # steps between the input and the last output
    for name, layer in layers:
        ax.semilogy(back, _grad_norms(layer, xs), label=name, linewidth=2)
    ax.set_xlabel("steps between the input and the last output")
    ax.set_ylabel("|| d out[-1].sum() / d x_t ||")
    ax.set_title(f"Gradient reaching each input step ({HIDDEN} units, fresh weights)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(outdir) / "recurrent.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
