"""Data-parallel figures on this machine: ``python -m pynn.bench.distributed``.

It starts ``mpiexec`` itself (mpi4py and an MPI runtime are needed: the ``distributed``
extra) and prints three tables:

- the MNIST CNN's training step (conv 1->30 5x5, ReLU, max-pool, 100, 10; Adam; a global
  batch split among the ranks; random images) as images per second, for one process with
  every thread against several processes of one thread each, and 1 process without DDP;
- the time of one ``all_reduce`` (sum, float32) against its size, between 2 ranks;
- for the CNN under DDP: the step, the same step without DDP (each rank alone on its share
  of the batch), and one all_reduce of the model's gradient bytes, so that the part of the
  exchange that backward hides is ``local + allreduce - ddp`` when positive.

Every rank runs the same fixed number of steps (a collective waits for all ranks, so no
rank may stop early); medians are over those steps. Timings name no machine: run it where
you want figures, with nothing else running.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

STEPS = 40
WARMUP = 5
ALLREDUCE_SIZES = [2 ** k for k in range(8, 23, 2)]  # float32 elements: 1 KiB .. 16 MiB


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))


def _median_seconds(fn, steps=STEPS, warmup=WARMUP):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _train_worker(batch, ddp):
    """One rank's share of the CNN step; returns the median step seconds (rank 0's)."""
    import pynn
    import pynn.distributed as dist
    from pynn import nn

    dist.init_process_group("mpi")
    world, rank = dist.get_world_size(), dist.get_rank()
    pynn.manual_seed(0)
    model = _cnn(nn)
    if ddp:
        model = nn.parallel.DistributedDataParallel(model)
    opt = pynn.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(rank)
    x = pynn.tensor(rng.standard_normal((batch // world, 1, 28, 28)).astype(np.float32))
    y = pynn.tensor(rng.integers(0, 10, batch // world))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    seconds = _median_seconds(step)
    result = {"world": world, "threads": pynn.get_num_threads(), "step": seconds,
              "images_per_s": batch / seconds,
              "grad_bytes": sum(p.numel() * 4 for p in model.parameters())}
    if ddp and world > 1:
        grads = np.zeros(result["grad_bytes"] // 4, np.float32)
        result["allreduce"] = _median_seconds(lambda: dist.all_reduce(pynn.from_numpy(grads)))
        local = _cnn(nn)
        local_opt = pynn.optim.Adam(local.parameters(), lr=1e-3)

        def local_step():
            local_opt.zero_grad()
            loss_fn(local(x), y).backward()
            local_opt.step()

        result["local_step"] = _median_seconds(local_step)
    dist.destroy_process_group()
    return result if rank == 0 else None


def _allreduce_worker():
    import pynn
    import pynn.distributed as dist

    dist.init_process_group("mpi")
    out = {}
    for n in ALLREDUCE_SIZES:
        t = pynn.zeros(n)
        out[n * 4] = _median_seconds(lambda t=t: dist.all_reduce(t), steps=30, warmup=3)
    rank = dist.get_rank()
    dist.destroy_process_group()
    return out if rank == 0 else None


def _launch(n, threads, *worker_args):
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("mpiexec is not on PATH: pip install 'pynn[distributed]'")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run([mpiexec, "-n", str(n), sys.executable, "-m", "pynn.bench.distributed",
                           "--worker", *worker_args], check=True, capture_output=True,
                          text=True, env=env, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def run(batch=100, cores=None):
    """Measure and return the three tables' rows (see the module docstring)."""
    cores = cores or len(os.sched_getaffinity(0))
    train = [_launch(1, cores, "train", str(batch), "plain"),
             _launch(1, cores, "train", str(batch), "ddp")]
    if cores > 1:
        train.append(_launch(cores, 1, "train", str(batch), "ddp"))
    reduce = _launch(2, 1, "allreduce")
    return {"batch": batch, "train": train, "allreduce": reduce}


def report(results):
    """The tables as Markdown."""
    lines = [f"MNIST CNN training step, global batch {results['batch']}, Adam:", "",
             "| processes x threads | DDP | step (ms) | images/s |", "|---|---|---:|---:|"]
    for row, ddp in zip(results["train"], ("no", "yes", "yes")):
        lines.append(f"| {row['world']} x {row['threads']} | {ddp} | {row['step'] * 1e3:.2f} "
                     f"| {row['images_per_s']:,.0f} |")
    multi = [r for r in results["train"] if "allreduce" in r]
    if multi:
        r = multi[-1]
        hidden = r["local_step"] + r["allreduce"] - r["step"]
        summary = (f"Under DDP with {r['world']} ranks: step {r['step'] * 1e3:.2f} ms; the "
                   f"same step alone on a rank's share {r['local_step'] * 1e3:.2f} ms; one "
                   f"all_reduce of the {r['grad_bytes'] / 1e6:.2f} MB of gradients "
                   f"{r['allreduce'] * 1e3:.2f} ms; hidden by backward: "
                   f"{max(hidden, 0.0) * 1e3:.2f} ms.")
        lines += ["", summary]
    lines += ["", "all_reduce (sum, float32) between 2 ranks:", "",
              "| bytes | ms | GB/s |", "|---:|---:|---:|"]
    for size, seconds in sorted(results["allreduce"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {int(size):,} | {seconds * 1e3:.3f} | {int(size) / seconds / 1e9:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pynn.bench.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100, help="the global batch (default 100)")
    parser.add_argument("--json", metavar="FILE", help="also write the results there")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind = args.worker[0]
        out = (_allreduce_worker() if kind == "allreduce"
               else _train_worker(int(args.worker[1]), args.worker[2] == "ddp"))
        if out is not None:
            print(json.dumps(out), flush=True)
        return
    results = run(args.batch)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results))


if __name__ == "__main__":
    main()
