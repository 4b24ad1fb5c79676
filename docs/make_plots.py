"""Draw the guide's figures into ``docs/img/`` (committed, so the pages render anywhere).

Each module in ``docs/plots/`` has ``make(outdir)``, which writes its PNG files and returns
their paths. Needs matplotlib (``pip install .[bench]``).

    python docs/make_plots.py                # every figure
    python docs/make_plots.py activations    # one module's
"""

import importlib.util
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PLOTS = DOCS / "plots"


def plot_modules():
    return sorted(p for p in PLOTS.glob("*.py") if not p.name.startswith("_"))


def load(path):
    spec = importlib.util.spec_from_file_location(f"docs_plot_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_all(outdir, names=()):
    import matplotlib

    matplotlib.use("Agg")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in plot_modules():
        if names and path.stem not in names:
            continue
        written += [Path(p) for p in load(path).make(outdir)]
    return written


if __name__ == "__main__":
    for png in make_all(DOCS / "img", sys.argv[1:]):
        print(png.relative_to(DOCS))
