"""Benchmark report: ``python -m pynn.bench [--quick] [--threads 1 2] [--output FILE]``.

Times pynn against peers measured in the same run, at each thread count: NumPy/OpenBLAS for
GEMM, PyTorch CPU (when installed) for everything, and pynn's own NumPy reference backend.
Every time is the median of repeated runs after warm-up (the libraries of a case timed in
alternating rounds), quoted with its spread; comparisons are ratios of medians. The run writes
the report (keeping the text above its generated part), the raw figures as ``results.json``
and PNG plots (when matplotlib is installed) where ``--output`` says: by default the
committed ``bench/RESULTS.md`` of the source checkout pynn runs from, else
``pynn-bench/RESULTS.md`` in the current directory.

Modules: ``timing`` (medians, peers pinned to our threads), ``kernels`` (GEMM, layers,
sequence layers), ``training`` (training steps, batch scaling, peak memory, MNIST runs),
``report`` (Markdown), ``plots`` (PNG) and ``run`` (the command line). Beside the report:
``python -m pynn.bench.distributed`` (data-parallel training), the A/B tools that compare two
builds in alternating processes (``python -m pynn.bench.gemm_ab``, ``isa_ab``,
``gemm_cpu_time``) and ``suite``, the same cases under pytest-benchmark
(``pytest --pyargs pynn.bench.suite --benchmark-only``).
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
from .timing import Peers, measure, measure_together, median, spread
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
    "measure_together",
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
