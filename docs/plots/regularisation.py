"""Figure for docs/06-regularisation.md: the weights a linear model learns on the page's
sparse problem (40 inputs, 20 samples, 3 true non-zero weights) without a penalty, with
L2 (SGD's weight_decay) and with L1 (nn.utils.l1_penalty), trained with pynn as on the
page."""

from pathlib import Path

import numpy as np

import pynn
from pynn import nn, optim

D, N_TRAIN, N_TEST = 40, 20, 500


def _problems():
    """The page's two problems, drawn in the page's order from the same generator."""
    rng = np.random.default_rng(0)

    def problem(true_w):
        def sample(n):
            X = rng.normal(size=(n, D)).astype(np.float32)
            y = X @ true_w + 0.5 * rng.normal(size=n).astype(np.float32)
            return pynn.tensor(X), pynn.tensor(y.reshape(-1, 1))
        return sample(N_TRAIN), sample(N_TEST)

    dense_w = (0.4 * rng.normal(size=D)).astype(np.float32)
    sparse_w = np.zeros(D, np.float32)
    sparse_w[:3] = [2.0, -1.5, 1.0]
    dense = problem(dense_w)
    sparse = problem(sparse_w)
    return {"dense": (dense_w, dense), "sparse": (sparse_w, sparse)}


def _fit(train, test, weight_decay=0.0, l1=0.0, steps=300):
    pynn.manual_seed(0)
    model, mse = nn.Linear(D, 1), nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=0.05, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        loss = mse(model(train[0]), train[1])
        if l1:
            loss = loss + l1 * nn.utils.l1_penalty(model.weight)
        loss.backward()
        opt.step()
    with pynn.no_grad():
        test_mse = mse(model(test[0]), test[1]).item()
    return model.weight.detach().numpy()[0].copy(), test_mse


def make(outdir):
    import matplotlib.pyplot as plt

    true_w, (train, test) = _problems()["sparse"]
    settings = [("no penalty", {}, "tab:gray"),
                ("L2 (weight_decay=0.3)", {"weight_decay": 0.3}, "tab:blue"),
                ("L1 (0.1 * l1_penalty)", {"l1": 0.1}, "tab:orange")]
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True, sharey=True)
    idx = np.arange(D)
    for ax, (label, kwargs, colour) in zip(axes, settings):
        w, test_mse = _fit(train, test, **kwargs)
        ax.bar(idx, w, color=colour, width=0.7, label="learned weight")
        ax.plot(idx, true_w, "k_", ms=12, mew=2, label="true weight")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(f"{label}: test MSE {test_mse:.2f}", fontsize=11)
        ax.set_ylabel("weight")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("input feature (only the first 3 matter)")
    fig.suptitle("Weights learned from 20 samples with 40 inputs, with pynn", fontsize=13)
    fig.tight_layout()
    out = Path(outdir) / "regularisation.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return [out]
