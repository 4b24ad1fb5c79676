"""Figure for docs/05-optimisers.md: the paths of pynn's SGD, SGD with momentum, RMSprop and
Adam on the Rosenbrock function f(x, y) = (1 - x)^2 + 10 (y - x^2)^2, with the settings the
page uses."""

from pathlib import Path

import numpy as np

from pynn import nn, optim

START = (-1.5, 2.0)
STEPS = 300
OPTIMISERS = {
    "SGD (lr 0.01)": lambda ps: optim.SGD(ps, lr=0.01),
    "SGD + momentum 0.9 (lr 0.003)": lambda ps: optim.SGD(ps, lr=0.003, momentum=0.9),
    "RMSprop (lr 0.03)": lambda ps: optim.RMSprop(ps, lr=0.03),
    "Adam (lr 0.1)": lambda ps: optim.Adam(ps, lr=0.1),
}


def rosenbrock(x, y):
    return (1 - x) ** 2 + 10 * (y - x * x) ** 2


def path(make_optimiser, steps=STEPS, start=START):
    p = nn.Parameter(np.array(start))
    opt = make_optimiser([p])
    points = [p.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(p[0], p[1]).backward()
        opt.step()
        points.append(p.detach().numpy().copy())
    return np.array(points)


def make(outdir):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    xs = np.linspace(-2.0, 2.0, 300)
    ys = np.linspace(-0.6, 3.0, 300)
    gx, gy = np.meshgrid(xs, ys)
    gz = rosenbrock(gx, gy)
    levels = np.logspace(-2, 2.4, 16)

    fig, axes = plt.subplots(2, 2, figsize=(11, 9), sharex=True, sharey=True)
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red")
    for ax, (label, make_opt), colour in zip(axes.flat, OPTIMISERS.items(), colours):
        ax.contourf(gx, gy, gz, levels=levels, norm=LogNorm(), cmap="Greys_r", alpha=0.5,
                    extend="both")
        ax.contour(gx, gy, gz, levels=levels, norm=LogNorm(), colors="0.5", linewidths=0.4)
        pts = path(make_opt)
        ax.plot(pts[:, 0], pts[:, 1], "-", color=colour, lw=1.8, label="path")
        ax.plot(pts[::10, 0], pts[::10, 1], "o", color=colour, ms=3.5,
                label="every 10th step")
        ax.plot(*START, "o", color="black", ms=8, label="start (-1.5, 2)")
        ax.plot(1, 1, "*", color="gold", ms=18, mec="black", label="minimum (1, 1)")
        ax.plot(*pts[-1], "s", color=colour, ms=8, mec="black", label="after 300 steps")
        x, y = pts[-1]
        ax.set_title(f"{label}: ends at ({x:.2f}, {y:.2f})")
        ax.legend(loc="upper right", fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    fig.suptitle(f"{STEPS} steps of pynn's optimisers on "
                 "$f(x, y) = (1 - x)^2 + 10\\,(y - x^2)^2$", fontsize=13)
    fig.tight_layout()
    out = Path(outdir) / "optimisers.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return [out]
