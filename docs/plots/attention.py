"""Figure of page 9: the sinusoidal positional encoding table of
``nn.SinusoidalPositionalEncoding``, and the causal attention weights obtained when those
encodings are used as queries and keys (pynn's softmax and causal mask)."""

from pathlib import Path

import numpy as np

import pynn
from pynn import functional as F
from pynn import nn

D_MODEL, LENGTH = 64, 40


def make(outdir):
    import matplotlib.pyplot as plt

    pe = nn.SinusoidalPositionalEncoding(D_MODEL, max_len=LENGTH).pe
    q = pynn.tensor(pe)
    scores = (q @ q.transpose(0, 1)) / np.sqrt(D_MODEL)
    mask = nn.generate_square_subsequent_mask(LENGTH)       # 0 below, -inf above
    weights = F.softmax(scores + mask, dim=-1).detach().numpy()

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8),
                             gridspec_kw={"width_ratios": [1.25, 1]})
    im = axes[0].imshow(pe, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    axes[0].set_title(f"Sinusoidal positional encoding (d_model = {D_MODEL})")
    axes[0].set_xlabel("dimension (even: sin, odd: cos; frequency falls to the right)")
    axes[0].set_ylabel("position")
    fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.03)

    im = axes[1].imshow(weights, cmap="viridis", vmin=0, vmax=float(weights[1:].max()))
    axes[1].set_title("softmax(pe pe^T / sqrt(d) + causal mask)")
    axes[1].set_xlabel("key position")
    axes[1].set_ylabel("query position")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.03, label="attention weight")
    fig.tight_layout()
    path = Path(outdir) / "attention.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
