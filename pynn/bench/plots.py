"""PNG figures of a benchmark run (matplotlib, an optional extra: ``pip install .[bench]``)."""

import os

from .report import epoch_time
from .timing import median
from .training import training_case

COLOURS = {"pynn": "tab:blue", "numpy": "tab:green", "torch": "tab:orange",
           "torch_cl": "tab:red", "reference": "tab:gray"}
NAMES = {"pynn": "pynn", "numpy": "NumPy/OpenBLAS", "torch": "PyTorch",
         "torch_cl": "PyTorch channels-last", "reference": "pynn's NumPy reference"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, outdir, name):
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clf()
    return path


def plot_gemm(plt, results, outdir):
    runs = results["runs"]
    peak = results["meta"]["peak_gflops"]
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.8), squeeze=False,
                             sharey=True)
    for ax, run in zip(axes[0], runs):
        squares = [r for r in run["gemm"] if r["size"]]
        sizes = [r["size"] for r in squares]
        for lib in ("pynn", "numpy", "torch"):
            if any(r[lib] is None for r in squares):
                continue
            rate = [r["flops"] / median(r[lib]) / 1e9 for r in squares]
            low = [r["flops"] / r[lib]["q3"] / 1e9 for r in squares]
            high = [r["flops"] / r[lib]["q1"] / 1e9 for r in squares]
            ax.plot(sizes, rate, "o-", color=COLOURS[lib], label=NAMES[lib])
            ax.fill_between(sizes, low, high, color=COLOURS[lib], alpha=0.2)
        ax.axhline(peak * run["threads"], color="black", ls="--", lw=1,
                   label=f"measured FMA peak ({peak * run['threads']:.0f})")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("n (square n x n times n x n)")
        ax.set_title(f"float32 GEMM, {run['threads']} thread(s)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s (median; band: interquartile)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    return _save(fig, outdir, "gemm.png")


def plot_layers(plt, results, outdir):
    runs = results["runs"]
    cases = [r["case"] for r in runs[0]["layers"] + runs[0]["sequence"]]
    peers = [p for p in ("torch", "torch_cl", "reference")
             if any(r.get(p) for run in runs for r in run["layers"] + run["sequence"])]
    if not peers:
        return None
    fig, axes = plt.subplots(1, len(peers), figsize=(6 * len(peers) + 2,
                                                     0.45 * len(cases) + 1.5),
                             sharey=True, squeeze=False)
    height = 0.8 / len(runs)
    shades = ["#9ecae1", "#3182bd", "#08519c"]
    for ax, peer in zip(axes[0], peers):
        for j, run in enumerate(runs):
            rows = run["layers"] + run["sequence"]
            ys = [i + j * height for i in range(len(rows))]
            ratios = [median(r[peer]) / median(r["pynn"]) if r.get(peer) else 0 for r in rows]
            ax.barh(ys, ratios, height=height, color=shades[j % len(shades)],
                    label=f"{run['threads']} thread(s)")
        ax.axvline(1, color="black", lw=1)
        ax.set_xscale("log")
        ticks = [0.25, 0.5, 1, 2, 5, 10, 20, 50]
        ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
        ax.minorticks_off()
        ax.set_xlim(0.2, max(2.5, 1.3 * max(
            median(r[peer]) / median(r["pynn"]) for run in runs
            for r in run["layers"] + run["sequence"] if r.get(peer))))
        ax.set_xlabel(f"speed-up over {NAMES[peer]} (their time / pynn's; > 1: pynn faster)")
        ax.set_title(f"forward + backward, float32: vs {NAMES[peer]}")
        ax.grid(alpha=0.3, axis="x")
    axes[0][0].set_yticks([i + (len(runs) - 1) * height / 2 for i in range(len(cases))],
                          cases, fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=8)
    return _save(fig, outdir, "layers.png")


def plot_convergence(plt, results, outdir):
    conv = results["convergence"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for i, row in enumerate(conv["rows"]):
        colour = f"C{i}"
        for lib, style in (("pynn", "-"), ("torch", "--"), ("torch_cl", ":")):
            if row.get(lib) is None:
                continue
            t, acc = zip(*row[lib]["curve"])
            axes[0].plot(t, [100 * a for a in acc], style, color=colour, marker=".",
                         label=f"{row['case']}, {NAMES[lib]}")
    axes[0].set_ylim(90, 100)
    axes[0].set_xlabel("training time, s (evaluation excluded)")
    axes[0].set_ylabel("test accuracy, %")
    axes[0].set_title(f"MNIST, {conv['threads']} thread(s): accuracy against time")
    axes[0].legend(fontsize=7)
    axes[0].grid(alpha=0.3)
    labels = [r["case"].split(",")[0] for r in conv["rows"]]
    xs = range(len(labels))
    for k, lib in enumerate(("pynn", "torch", "torch_cl")):
        epochs = [epoch_time(r[lib]) if r.get(lib) else 0 for r in conv["rows"]]
        bars = axes[1].bar([x + 0.27 * k for x in xs], epochs, width=0.27, color=COLOURS[lib],
                           label=NAMES[lib])
        for bar, r in zip(bars, conv["rows"]):
            if r.get(lib):
                axes[1].annotate(f"{100 * r[lib]['accuracy']:.2f}%",
                                 (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                 ha="center", va="bottom", fontsize=8)
    axes[1].set_xticks([x + 0.27 for x in xs], labels)
    axes[1].set_ylabel("seconds per epoch (label: final test accuracy)")
    axes[1].set_title("epoch time and test accuracy")
    axes[1].legend(fontsize=8)
    return _save(fig, outdir, "convergence.png")


def plot_scaling(plt, results, outdir):
    runs = results["runs"]
    compares_threads = len(runs) > 1 and all(run.get("training") for run in runs)
    panels = [p for p in ("batch_scaling", "threads", "memory_scaling")
              if (p == "threads" and compares_threads) or results.get(p)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if panel == "batch_scaling":
            rows = results[panel]["rows"]
            for lib in ("pynn", "torch", "torch_cl"):
                if any(r.get(lib) is None for r in rows):
                    continue
                ax.plot([r["batch"] for r in rows],
                        [median(r[lib]) * 1e6 / r["batch"] for r in rows], "o-",
                        color=COLOURS[lib], label=NAMES[lib])
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("batch size")
            ax.set_ylabel("us per image")
            ax.set_title(f"CNN training step, {results[panel]['threads']} thread(s)")
        elif panel == "threads":
            cases = [r["case"] for r in runs[0]["training"]]
            labels = [(training_case(c) or (c, c))[1] for c in cases]
            for k, lib in enumerate(("pynn", "torch")):
                for j, run in enumerate(runs):
                    rows = {r["case"]: r for r in run["training"]}
                    times = [median(rows[c][lib]) * 1e3 if rows.get(c, {}).get(lib) else 0
                             for c in cases]
                    ax.bar([i + 0.2 * (2 * k + j) for i in range(len(labels))], times,
                           width=0.2, color=COLOURS[lib], alpha=1.0 if j else 0.5,
                           label=f"{NAMES[lib]}, {run['threads']} thread(s)")
            ax.set_xticks([i + 0.3 for i in range(len(labels))], labels)
            ax.set_yscale("log")
            ax.set_ylabel("ms per training step")
            ax.set_title("training step against threads")
        else:
            rows = results[panel]["rows"]
            for lib in ("pynn", "torch"):
                points = [(r["batch"], r[lib] / 2**20) for r in rows if r[lib] is not None]
                if points:
                    ax.plot(*zip(*points), "o-", color=COLOURS[lib], label=NAMES[lib])
            ax.set_xlabel("batch size")
            ax.set_ylabel("peak training memory, MiB")
            ax.set_title("CNN training, peak memory")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, outdir, "scaling.png")


def write_plots(results, outdir):
    """Draw every figure the results allow into ``outdir``; returns ``(paths, note)`` where
    ``note`` says why nothing was drawn (matplotlib missing), else None."""
    try:
        plt = _pyplot()
    except ImportError:
        return [], "matplotlib not installed: no plots (`pip install .[bench]`)"
    os.makedirs(outdir, exist_ok=True)
    paths = [plot_gemm(plt, results, outdir), plot_layers(plt, results, outdir)]
    if results.get("convergence"):
        paths.append(plot_convergence(plt, results, outdir))
    paths.append(plot_scaling(plt, results, outdir))
    plt.close("all")
    return [p for p in paths if p], None
