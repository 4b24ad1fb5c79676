"""The command line of ``python -m pynn.bench``: measure, then write the report and plots."""

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

import pynn
from pynn.backend import compiled

from . import kernels, training
from .plots import write_plots
from .report import render, write_report
from .timing import Peers


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return (f"{cpu}, {os.cpu_count()} logical CPUs; pynn ISA {compiled.get_isa()}, OpenMP "
            f"{'on' if pynn.openmp_enabled() else 'OFF'}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, PyTorch {torch_version or 'not installed'}")


def measured_peak_gflops():
    """One core's float32 FMA peak, measured with the GEMM micro-kernel's instructions."""
    from pynn.backend import _native

    return _native.fma_peak_gflops(_native.ISA_NAMES.index(compiled.get_isa()))


def default_output():
    """Where the report goes without ``--output``: the committed ``bench/RESULTS.md`` of the
    source checkout pynn is imported from (an in-place or editable build), wherever the command
    runs; for an installed pynn, ``pynn-bench/RESULTS.md`` under the current directory."""
    checkout = Path(pynn.__file__).resolve().parent.parent
    committed = checkout / "bench" / "RESULTS.md"
    if committed.is_file() and (checkout / "pyproject.toml").is_file():
        return str(committed)
    return os.path.join("pynn-bench", "RESULTS.md")


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def round_trip(results, when):
    """Append to ``results["round_trip_ns"]`` the kernels' team round trip now, labelled
    ``when``: how far apart two threads are (tens of nanoseconds on one die, hundreds across
    dies), which on a VM can change while the benchmark runs and moves every multi-thread
    figure (bench/RESULTS.md, "Threads far apart"). Nothing where it cannot be measured."""
    from pynn.backend import _native

    ns = _native.team_round_trip_ns() if (os.cpu_count() or 1) > 1 else None
    if ns is not None:
        results.setdefault("round_trip_ns", []).append([when, round(ns)])


def measure_all(args, peers, notes):
    """Run every benchmark the arguments ask for; returns the results without ``meta``."""
    results = {"runs": []}
    round_trip(results, "start")
    for n in args.threads:
        peers.set_threads(n)
        _progress(f"kernels and layers at {n} thread(s)...")
        run = {"threads": n,
               "gemm": kernels.bench_gemm(peers, kernels.QUICK_SQUARE_SIZES if args.quick
                                          else kernels.SQUARE_SIZES),
               "layers": kernels.bench_layers(peers, with_reference=not args.quick),
               "sequence": kernels.bench_sequence(peers, with_reference=not args.quick)}
        if not args.no_training:
            _progress(f"training steps at {n} thread(s)...")
            run["training"] = training.bench_training(peers, with_reference=not args.quick)
        results["runs"].append(run)
        round_trip(results, f"after {n} thread(s)")
    if args.no_training:
        return results
    top = max(args.threads)
    peers.set_threads(top)
    _progress(f"batch-size scaling and peak memory at {top} thread(s)...")
    results["batch_scaling"] = {"threads": top, "rows": training.bench_batch_scaling(
        peers, training.QUICK_BATCH_SIZES if args.quick else training.BATCH_SIZES)}
    round_trip(results, "after the batch sizes")
    if os.path.exists("/proc/self/clear_refs"):
        results["memory_scaling"] = {"threads": top, "rows": training.bench_memory(
            peers, top, (100,) if args.quick else training.MEMORY_BATCH_SIZES)}
    else:
        notes.append("peak memory not measured: needs Linux's /proc/self/clear_refs")
    try:
        data = training.load_mnist_arrays(args.data_dir, args.train_size, args.test_size)
    except (OSError, ValueError) as exc:
        notes.append(f"MNIST runs skipped: {exc}")
        return results
    _progress(f"MNIST runs, {args.epochs} epoch(s) of {len(data[0]):,} images, "
              f"at {top} thread(s)...")
    cases = training.QUICK_CONVERGENCE_CASES if args.quick else training.CONVERGENCE_CASES
    results["convergence"] = {
        "threads": top, "epochs": args.epochs, "train_size": len(data[0]),
        "test_size": len(data[2]), "evals_per_epoch": training.EVALS_PER_EPOCH,
        "rows": training.bench_convergence(peers, data, cases, args.epochs)}
    round_trip(results, "after the MNIST runs")
    return results


def write_all(results, output):
    """The report (into ``output``), the raw results beside it as ``results.json`` and the
    plots in ``plots/`` beside it. Returns the report's text."""
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    paths, note = write_plots(results, os.path.join(folder, "plots"))
    if note and note not in results["meta"]["notes"]:
        results["meta"]["notes"].append(note)
    text = render(results, [os.path.basename(p) for p in paths])
    write_report(text, output)
    tmp = os.path.join(folder, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, os.path.join(folder, "results.json"))
    return text


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m pynn.bench",
                                     description=sys.modules[__package__].__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes, no NumPy-reference timings, 1 epoch of 12,000 "
                             "MNIST images for the MLP and the CNN (a few minutes)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts to measure (default: 1 and the usable cores)")
    parser.add_argument("--output", "--out", default=None, metavar="FILE",
                        help="the report to write (the text above its generated part is kept); "
                             "results.json and plots/ go beside it. Default: bench/RESULTS.md "
                             "of the source checkout pynn runs from, else "
                             "pynn-bench/RESULTS.md in the current directory")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: redraw the report and plots from a results.json")
    parser.add_argument("--no-training", action="store_true",
                        help="kernels and layers only: no training steps, scaling, memory or "
                             "MNIST runs")
    parser.add_argument("--data-dir", default=None,
                        help="folder with MNIST's IDX files (default: PYNN_DATA_DIR)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of each MNIST run (default 2; --quick: 1)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="training images of the MNIST runs (default all; --quick: 12000)")
    parser.add_argument("--test-size", type=int, default=None,
                        help="test images of the MNIST runs (default all 10,000)")
    parser.add_argument("--memory-probe", nargs=4,
                        metavar=("LIBRARY", "MODEL", "THREADS", "BATCH"),
                        help=argparse.SUPPRESS)  # the child process of peak_training_memory
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 2
    if args.train_size is None and args.quick:
        args.train_size = 12000
    if args.threads is None:
        args.threads = sorted({1, pynn.get_num_threads()})
    if args.output is None:
        args.output = default_output()
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_probe:
        library, model, threads, batch = args.memory_probe
        training.memory_probe(library, model, int(threads), int(batch))
        return None
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        peers = Peers()
        notes = peers.notes()
        command = "python -m pynn.bench " + " ".join(argv if argv is not None else sys.argv[1:])
        meta = {"date": datetime.date.today().isoformat(), "machine": machine(),
                "command": command.strip(), "peak_gflops": measured_peak_gflops(),
                "notes": notes}
        results = measure_all(args, peers, notes)
        results = {"meta": meta, **results}
    text = write_all(results, args.output)
    print(text)
    _progress(f"wrote {os.path.abspath(args.output)}, with results.json and plots/ beside it")
    return results
