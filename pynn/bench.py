"""Kernel benchmark report: ``python -m pynn.bench [--quick] [--threads 1 2] [--output FILE]``.

Times pynn's compiled kernels against peers measured in the same run, at each thread count:
NumPy/OpenBLAS for GEMM, PyTorch CPU (when installed) for everything, and pynn's own NumPy
reference backend. Every figure is the median of repeated runs after warm-up; comparisons
are ratios of medians. The pytest-benchmark files in ``bench/`` time the same cases.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import numpy as np

import pynn
from pynn.backend import compiled, reference

# ---------------------------------------------------------------------------------------------
# Cases, shared with bench/bench_*.py

SQUARE_SIZES = (64, 128, 256, 512, 1024, 2048)
QUICK_SQUARE_SIZES = (64, 256, 512, 1024)
# (label, m, k, n) for C(m x n) = A(m x k) B(k x n): the MNIST models' GEMMs, and the per-image
# im2col GEMMs (out_channels x C*kh*kw times C*kh*kw x oh*ow) of the convolutions below.
MNIST_GEMMS = (
    ("MLP fc1 100x784 . 784x100", 100, 784, 100),
    ("fc 128x784 . 784x256", 128, 784, 256),
    ("head 128x256 . 256x10", 128, 256, 10),
    ("conv1 im2col 30x25 . 25x576", 30, 25, 576),
    ("conv2 im2col 16x150 . 150x64", 16, 150, 64),
    ("conv3 im2col 64x288 . 288x784", 64, 288, 784),
)
# (label, x shape, w shape, padding, needs_input_grad): the MNIST-sized layers.
CONV_LAYERS = (
    ("1->30 5x5, 28x28, batch 128", (128, 1, 28, 28), (30, 1, 5, 5), 0, False),
    ("6->16 5x5, 12x12, batch 128", (128, 6, 12, 12), (16, 6, 5, 5), 0, True),
    ("32->64 3x3 pad 1, 28x28, batch 64", (64, 32, 28, 28), (64, 32, 3, 3), 1, True),
)
POOL_INPUT = (128, 30, 24, 24)
XENT_SHAPE = (128, 10)


# OpenMP runtimes keep their threads spinning for a while after a parallel region (Intel's,
# inside PyTorch, for 200 ms by default). Measured without a pause, the library timed next
# shares its cores with those spinners: pynn's 2-thread 512^3 GEMM read 34 GFLOP/s right after
# PyTorch's and 65 on its own.
SETTLE_SECONDS = 0.3


def median_seconds(fn, repeat=15, warmup=2, max_seconds=3.0):
    """Median wall time of ``fn()`` over up to ``repeat`` runs after ``warmup`` runs, stopping
    early once ``max_seconds`` have been spent (at least 3 runs). Waits SETTLE_SECONDS first,
    so that threads of the previously timed library have gone to sleep."""
    time.sleep(SETTLE_SECONDS)
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - start < max_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Peers:
    """The other libraries, pinned to the same thread count as pynn."""

    def __init__(self):
        try:
            import threadpoolctl

            self._pool = threadpoolctl
        except ImportError:
            self._pool = None
        try:
            import torch

            self.torch = torch
        except ImportError:
            self.torch = None
        self._limit = None

    def set_threads(self, n):
        pynn.set_num_threads(n)
        if self._limit is not None:
            self._limit.unregister()
        if self._pool is not None:
            self._limit = self._pool.threadpool_limits(limits=n)
        if self.torch is not None:
            self.torch.set_num_threads(n)

    def notes(self):
        notes = []
        if self._pool is None:
            notes.append("threadpoolctl missing: NumPy's BLAS threads were not pinned")
        if self.torch is None:
            notes.append("PyTorch not installed: its columns are empty "
                         "(`pip install torch==2.13.0`)")
        return notes


def _rng_arrays(*shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# ---------------------------------------------------------------------------------------------
# Benchmarks


def bench_gemm(peers, sizes):
    rows = []
    cases = [(f"square {n}", n, n, n) for n in sizes] + list(MNIST_GEMMS)
    for label, m, k, n in cases:
        a, b = _rng_arrays((m, k), (k, n))
        out = np.empty((m, n), np.float32)
        flops = 2.0 * m * n * k
        row = {"case": label, "pynn": flops / median_seconds(lambda: compiled.gemm(a, b, out))}
        row["numpy"] = flops / median_seconds(lambda: np.matmul(a, b, out=out))
        if peers.torch is not None:
            ta, tb, tc = (peers.torch.from_numpy(v) for v in (a, b, out))
            row["torch"] = flops / median_seconds(lambda: peers.torch.matmul(ta, tb, out=tc))
        rows.append(row)
    return rows


def _conv_pynn(kernels, x, w, b, padding, needs_input_grad):
    def step():
        y = kernels.conv2d_forward(x, w, b, 1, padding)
        kernels.conv2d_backward(x, w, y, 1, padding, needs_input_grad=needs_input_grad)

    return step


def _conv_torch(torch, x, w, b, padding, needs_input_grad):
    tx = torch.from_numpy(x).requires_grad_(needs_input_grad)
    tw = torch.from_numpy(w).requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True)

    def step():
        tw.grad = tb.grad = tx.grad = None
        y = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
        y.backward(y.detach())

    return step


def bench_conv(peers, with_reference):
    rows = []
    for label, x_shape, w_shape, padding, needs_dx in CONV_LAYERS:
        x, w, b = _rng_arrays(x_shape, w_shape, (w_shape[0],))
        row = {"case": label,
               "pynn": median_seconds(_conv_pynn(compiled, x, w, b, padding, needs_dx))}
        if peers.torch is not None:
            row["torch"] = median_seconds(_conv_torch(peers.torch, x, w, b, padding, needs_dx))
        if with_reference:
            row["reference"] = median_seconds(
                _conv_pynn(reference, x, w, b, padding, needs_dx), repeat=3, warmup=1)
        rows.append(row)
    return rows


def bench_pool_and_loss(peers, with_reference):
    (x,) = _rng_arrays(POOL_INPUT)
    (logits,) = _rng_arrays(XENT_SHAPE)
    labels = np.random.default_rng(1).integers(0, XENT_SHAPE[1], XENT_SHAPE[0])

    def pool(kernels):
        def step():
            y, idx = kernels.max_pool2d_forward(x, 2)
            kernels.max_pool2d_backward(y, idx, x.shape)
        return step

    def xent(kernels):
        def step():
            loss, probs = kernels.softmax_cross_entropy_forward(logits, labels)
            kernels.softmax_cross_entropy_backward(probs, labels, 1.0)
        return step

    cases = [(f"max-pool 2x2 {POOL_INPUT}", pool), (f"softmax-CE {XENT_SHAPE}", xent)]
    rows = []
    for label, make in cases:
        row = {"case": label, "pynn": median_seconds(make(compiled))}
        if peers.torch is not None:
            row["torch"] = median_seconds(_torch_pool_or_xent(peers.torch, label, x, logits,
                                                              labels))
        if with_reference:
            row["reference"] = median_seconds(make(reference), repeat=5, warmup=1)
        rows.append(row)
    return rows


def _torch_pool_or_xent(torch, label, x, logits, labels):
    F = torch.nn.functional
    if label.startswith("max-pool"):
        tx = torch.from_numpy(x).requires_grad_(True)

        def step():
            tx.grad = None
            y = F.max_pool2d(tx, 2)
            y.backward(y.detach())
        return step
    tl = torch.from_numpy(logits).requires_grad_(True)
    tlab = torch.from_numpy(labels)

    def step():
        tl.grad = None
        F.cross_entropy(tl, tlab).backward()
    return step


# ---------------------------------------------------------------------------------------------
# Sequence layers, forward + backward


# (label, layer, input shape): the recurrent and Transformer cases, batch first.
SEQUENCE_LAYERS = (
    ("LSTM 28->128, 28 steps, batch 100", "lstm", (100, 28, 28)),
    ("GRU 28->128, 28 steps, batch 100", "gru", (100, 28, 28)),
    ("Transformer encoder layer d128 h4 ff512, batch 64 x 64 tokens", "encoder", (64, 64, 128)),
)


def _sequence_layer(nn, name):
    if name == "lstm":
        return nn.LSTM(28, 128, batch_first=True)
    if name == "gru":
        return nn.GRU(28, 128, batch_first=True)
    return nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0,
                                      batch_first=True)


def sequence_step(library, name, shape, torch=None):
    """A closure running forward and backward (gradient of the output's sum) of the layer,
    input gradient included, in "pynn" or "torch". The layer is ``step.layer``."""
    (x,) = _rng_arrays(shape)
    if library == "torch":
        layer = _sequence_layer(torch.nn, name)
        tx = torch.from_numpy(x).requires_grad_(True)
    else:
        from pynn import nn

        layer = _sequence_layer(nn, name)
        tx = pynn.tensor(x, requires_grad=True)

    def step():
        layer.zero_grad()
        tx.grad = None
        out = layer(tx)
        (out[0] if isinstance(out, tuple) else out).sum().backward()

    step.layer = layer
    return step


def bench_sequence(peers):
    rows = []
    for label, name, shape in SEQUENCE_LAYERS:
        row = {"case": label, "pynn": median_seconds(sequence_step("pynn", name, shape),
                                                      repeat=10, warmup=2)}
        if peers.torch is not None:
            row["torch"] = median_seconds(sequence_step("torch", name, shape, peers.torch),
                                          repeat=10, warmup=2)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Training steps: the same model, batch, optimiser and threads in every library


# (label, model, batch size, optimiser, training images per epoch)
TRAINING_CASES = (
    ("MLP 784-100-10, SGD", "mlp", 100, "sgd", 60000),
    ("LeNet-5, Adam", "lenet5", 100, "adam", 60000),
    ("CNN conv30-pool-100-10, Adam", "cnn", 100, "adam", 60000),
    ("tiny MLP 10-10-10, batch 1, SGD", "tiny", 1, "sgd", None),
)
MEMORY_CASE = "cnn"


def _layers(nn, name):
    """The benchmark models, built from ``nn`` (pynn.nn or torch.nn: same names)."""
    if name == "mlp":
        return [nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)]
    if name == "tiny":
        return [nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10)]
    if name == "lenet5":
        return [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10)]
    if name == "cnn":
        return [nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10)]
    raise ValueError(f"unknown benchmark model {name!r}")


def _training_batch(model, batch):
    rng = np.random.default_rng(0)
    shape = (batch, 10) if model == "tiny" else (batch, 1, 28, 28)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, batch)


def training_step(library, model, batch, optimiser, torch=None):
    """A closure running one training step (zero_grad, forward, loss, backward, update) of
    ``model`` on a fixed random batch, in ``library``: "pynn", "reference" (pynn's layers
    on its NumPy backend; the caller selects the backend) or "torch". The model is
    ``step.model``."""
    x, y = _training_batch(model, batch)
    if library == "torch":
        torch.manual_seed(0)
        net = torch.nn.Sequential(*_layers(torch.nn, model))
        opt_cls, x, y = torch.optim, torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        from pynn import nn, optim

        pynn.manual_seed(0)
        net = nn.Sequential(*_layers(nn, model))
        opt_cls, x, y = optim, pynn.tensor(x), pynn.tensor(y)
        loss_fn = nn.CrossEntropyLoss()
    if optimiser == "sgd":
        opt = opt_cls.SGD(net.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = opt_cls.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    step.model = net
    return step


def bench_training(peers, with_reference):
    """Median step time of each training case; per-epoch figures are that times the steps in
    an epoch (data preloaded, as in the examples' whole-dataset loader)."""
    rows = []
    for label, model, batch, optimiser, _ in TRAINING_CASES:
        repeat = 200 if model == "tiny" else 30
        row = {"case": label, "pynn": median_seconds(
            training_step("pynn", model, batch, optimiser), repeat=repeat, warmup=5)}
        if peers.torch is not None:
            row["torch"] = median_seconds(
                training_step("torch", model, batch, optimiser, peers.torch), repeat=repeat,
                warmup=5)
        if with_reference:
            previous = pynn.get_backend()
            pynn.set_backend("reference")
            try:
                row["reference"] = median_seconds(
                    training_step("reference", model, batch, optimiser), repeat=5, warmup=1)
            finally:
                pynn.set_backend(previous)
        rows.append(row)
    return rows


def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _memory_probe(library, model, threads, steps=20):
    """Run in a child process: how far resident memory peaks above what the process held
    once model and data were set up, over ``steps`` training steps of ``model``. Prints it in
    bytes. Linux only (the peak is reset through /proc/self/clear_refs)."""
    peers = Peers()
    peers.set_threads(threads)
    case = next(c for c in TRAINING_CASES if c[1] == model)
    step = training_step(library, model, case[2], case[3], peers.torch)
    base = _status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak, to the current resident size
    for _ in range(steps):
        step()
    print(max(_status_bytes("VmHWM") - base, 0))


def peak_training_memory(library, model, threads):
    """Peak memory of training ``model`` in ``library``, measured in a fresh process so
    that nothing else allocated before counts; None where it cannot be measured."""
    import subprocess

    if not os.path.exists("/proc/self/clear_refs"):
        return None
    # Run from the folder holding the pynn this process imported, so that the child imports
    # the same one (a source checkout in the working directory would shadow an installed
    # pynn whose extensions live elsewhere).
    home = os.path.dirname(os.path.dirname(os.path.abspath(pynn.__file__)))
    out = subprocess.run(
        [sys.executable, "-m", "pynn.bench", "--memory-probe", library, model, str(threads)],
        capture_output=True, text=True, check=False, cwd=home)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


# ---------------------------------------------------------------------------------------------
# Report


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
    torch_version = None
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs; pynn ISA {compiled.get_isa()}, OpenMP "
            f"{'on' if pynn.openmp_enabled() else 'OFF'}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, PyTorch {torch_version or 'not installed'}")


def _fmt_gflops(v):
    return "" if v is None else f"{v / 1e9:.1f}"


def _fmt_ms(v):
    return "" if v is None else f"{v * 1e3:.2f}"


def _ratio(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}x"


def measured_peak_gflops():
    """One core's float32 FMA peak, measured with the GEMM micro-kernel's instructions."""
    from pynn.backend import _cpu

    return _cpu.fma_peak_gflops(_cpu.ISA_NAMES.index(compiled.get_isa()))


def render(results, args, notes, peak):
    lines = [
        "## Kernel benchmarks",
        "",
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Machine: {machine()}",
        f"- Command: `python -m pynn.bench{' --quick' if args.quick else ''} --threads "
        f"{' '.join(map(str, args.threads))}`",
        "- Figures are medians of repeated runs after warm-up, all libraries pinned to the same "
        "thread count; ratios compare medians from the same run.",
        f"- Measured float32 FMA peak: {peak:.1f} GFLOP/s per core (independent FMA chains with "
        "the GEMM micro-kernel's instructions); '% peak' is pynn's GEMM rate over that times "
        "the thread count.",
    ]
    lines += [f"- Note: {n}" for n in notes]
    for threads, res in results.items():
        lines += ["", f"### {threads} thread{'s' if threads > 1 else ''}", "",
                  "GEMM, float32, GFLOP/s (higher is better):", "",
                  "| case | pynn | % peak | NumPy/OpenBLAS | PyTorch | pynn / OpenBLAS "
                  "| pynn / PyTorch |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in res["gemm"]:
            share = 100 * r["pynn"] / 1e9 / (peak * threads)
            lines.append(f"| {r['case']} | {_fmt_gflops(r['pynn'])} | {share:.0f}% "
                         f"| {_fmt_gflops(r['numpy'])} | {_fmt_gflops(r.get('torch'))} "
                         f"| {_ratio(r['pynn'], r['numpy'])} | {_ratio(r['pynn'], r.get('torch'))} |")
        lines += ["", "Forward + backward, float32, ms (lower is better; speed-up = their time "
                  "/ pynn's):", "",
                  "| case | pynn | PyTorch | NumPy reference | vs PyTorch | vs reference |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in res["conv"] + res["other"] + res.get("sequence", []):
            lines.append(f"| {r['case']} | {_fmt_ms(r['pynn'])} | {_fmt_ms(r.get('torch'))} | "
                         f"{_fmt_ms(r.get('reference'))} | {_ratio(r.get('torch'), r['pynn'])} "
                         f"| {_ratio(r.get('reference'), r['pynn'])} |")
        if res.get("training"):
            lines += ["", "Training, float32: seconds per epoch of 60,000 images (data preloaded) "
                      "from the median step, or microseconds per step (lower is better):", "",
                      "| model | pynn | PyTorch | pynn on its NumPy reference | vs PyTorch "
                      "| vs reference |", "|---|---:|---:|---:|---:|---:|"]
            for r, case in zip(res["training"], TRAINING_CASES):
                scale, unit = ((case[4] / case[2], "s") if case[4] else (1e6, "us"))

                def fmt(v):
                    return "" if v is None else f"{v * scale:.1f} {unit}"
                lines.append(f"| {r['case']} | {fmt(r['pynn'])} | {fmt(r.get('torch'))} | "
                             f"{fmt(r.get('reference'))} | {_ratio(r.get('torch'), r['pynn'])} "
                             f"| {_ratio(r.get('reference'), r['pynn'])} |")
        if res.get("memory"):
            mem = res["memory"]

            def mib(v):
                return "n/a" if v is None else f"{v / 2**20:.0f} MiB"
            lines += ["", f"Peak memory of training the CNN (batch 100), beyond the process "
                      f"with model and data set up: pynn {mib(mem.get('pynn'))}, PyTorch "
                      f"{mib(mem.get('torch'))}."]
    if len(results) > 1:
        lo, hi = min(results), max(results)
        lines += ["", f"### Thread scaling, pynn {lo} -> {hi} threads", "",
                  "| case | speed-up |", "|---|---:|"]
        for a, b in zip(results[lo]["gemm"], results[hi]["gemm"]):
            lines.append(f"| GEMM {a['case']} | {b['pynn'] / a['pynn']:.2f}x |")
        for a, b in zip(results[lo]["conv"], results[hi]["conv"]):
            lines.append(f"| conv {a['case']} | {a['pynn'] / b['pynn']:.2f}x |")
        for a, b in zip(results[lo].get("sequence", ()), results[hi].get("sequence", ())):
            lines.append(f"| {a['case']} | {a['pynn'] / b['pynn']:.2f}x |")
        for a, b in zip(results[lo].get("training", ()), results[hi].get("training", ())):
            lines.append(f"| training {a['case']} | {a['pynn'] / b['pynn']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pynn.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer GEMM sizes and no NumPy-reference timings (about a minute)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts to measure (default: 1 and the usable cores)")
    parser.add_argument("--output", help="also write the Markdown report to this file")
    parser.add_argument("--no-training", action="store_true",
                        help="kernels only: skip the training-step and memory measurements")
    parser.add_argument("--memory-probe", nargs=3, metavar=("LIBRARY", "MODEL", "THREADS"),
                        help=argparse.SUPPRESS)  # the child process of peak_training_memory
    args = parser.parse_args(argv)
    if args.memory_probe:
        library, model, threads = args.memory_probe
        _memory_probe(library, model, int(threads))
        return
    if args.threads is None:
        args.threads = sorted({1, pynn.get_num_threads()})
    peers = Peers()
    peak = measured_peak_gflops()
    results = {}
    for n in args.threads:
        peers.set_threads(n)
        print(f"measuring at {n} thread(s)...", file=sys.stderr, flush=True)
        results[n] = {
            "gemm": bench_gemm(peers, QUICK_SQUARE_SIZES if args.quick else SQUARE_SIZES),
            "conv": bench_conv(peers, with_reference=not args.quick),
            "other": bench_pool_and_loss(peers, with_reference=not args.quick),
            "sequence": bench_sequence(peers),
        }
        if not args.no_training:
            results[n]["training"] = bench_training(peers, with_reference=not args.quick)
            results[n]["memory"] = {"pynn": peak_training_memory("pynn", MEMORY_CASE, n)}
            if peers.torch is not None:
                results[n]["memory"]["torch"] = peak_training_memory("torch", MEMORY_CASE, n)
    report = render(results, args, peers.notes(), peak)
    print(report)
    if args.output:
        with open(args.output, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
