"""Benchmark report: ``python -m pynn.bench [--quick] [--threads 1 2] [--output FILE]``.

Times pynn against peers measured in the same run, at each thread count: NumPy/OpenBLAS for
GEMM, PyTorch CPU (when installed) for everything, and pynn's own NumPy reference backend.
Every time is the median of repeated runs after warm-up, quoted with its spread; comparisons
are ratios of medians. The run writes ``bench/RESULTS.md`` (keeping the text above its
generated part), the raw figures as JSON, and PNG plots when matplotlib is installed. The
pytest-benchmark files in ``bench/`` time the same cases.

Modules: ``timing`` (medians, peers pinned to our threads), ``kernels`` (GEMM, layers,
sequence layers), ``training`` (training steps, batch scaling, peak memory, MNIST runs),
``report`` (Markdown) and ``plots`` (PNG).
"""

from . import plots, report, run
from .kernels import (
    CONV_LAYERS,
    CONV_POOL_LAYERS,
    MNIST_GEMMS,
    POOL_INPUT,
    QUICK_SQUARE_SIZES,
    SEQUENCE_LAYERS,
    SQUARE_SIZES,
    XENT_SHAPE,
    conv_pool_step,
    conv_step,
    pool_step,
    sequence_step,
    torch_conv_pool_step,
    torch_conv_step,
    torch_pool_step,
    torch_xent_step,
    xent_step,
)
from .report import render, write_report
from .timing import Peers, measure, median, spread
from .training import (
    CONVERGENCE_CASES,
    MEMORY_CASE,
    TRAINING_CASES,
    Trainer,
    load_mnist_arrays,
    model_layers,
    peak_training_memory,
    train_and_evaluate,
    training_step,
)

__all__ = [
    "CONVERGENCE_CASES",
    "CONV_LAYERS",
    "CONV_POOL_LAYERS",
    "MEMORY_CASE",
    "MNIST_GEMMS",
    "POOL_INPUT",
    "QUICK_SQUARE_SIZES",
    "SEQUENCE_LAYERS",
    "SQUARE_SIZES",
    "TRAINING_CASES",
    "XENT_SHAPE",
    "Peers",
    "Trainer",
    "conv_pool_step",
    "conv_step",
    "load_mnist_arrays",
    "measure",
    "median",
    "model_layers",
    "peak_training_memory",
    "plots",
    "pool_step",
    "render",
    "report",
    "run",
    "sequence_step",
    "spread",
    "torch_conv_pool_step",
    "torch_conv_step",
    "torch_pool_step",
    "torch_xent_step",
    "train_and_evaluate",
    "training_step",
    "write_report",
    "xent_step",
]
