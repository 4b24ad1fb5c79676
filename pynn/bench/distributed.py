"""Data-parallel figures on this machine: ``python -m pynn.bench.distributed``.

It starts ``mpiexec`` itself (mpi4py and an MPI runtime are needed: the ``distributed``
extra) and prints three tables:

- the MNIST CNN's training step (conv 1->30 5x5, ReLU, max-pool, 100, 10; Adam; a global
  batch split among the ranks; random images) as images per second, for one process with
  every thread against several processes of one thread each, and 1 process without DDP;
- the time of one ``all_reduce`` (sum, float32) against its size, between 2 ranks;
- for the CNN under DDP: the step, the same step without DDP (each rank alone on its share
  of the batch, the two steps alternating in the same processes so that both meet the same
  machine), the time backward spent waiting for the exchange, and DDP's exchange of the
  model's gradients alone (through shared memory when the ranks share a machine; an MPI
  all_reduce of the same bytes too), so that the part of the exchange that backward hides
  is ``local + exchange - ddp`` when positive; and what the same exchange would cost
  between machines on a 10 Gb/s link.

Every rank runs the same fixed number of steps (a collective waits for all ranks, so no
rank may stop early); a figure is the median over those steps, and with ``--rounds`` the
median over rounds that run the configurations in turn (the range is printed too: timings
on a shared machine move between seconds). Timings name no machine: run it where you want
figures, with nothing else running.
"""

import argparse
import functools
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
ROUNDS = 3
LINK_BYTES_PER_S = 10e9 / 8  # the 10 Gb/s link of the estimate across machines
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
    """One rank's share of the CNN step; returns rank 0's medians (seconds)."""
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

    def step(model=model, opt=opt):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    result = {"world": world, "threads": pynn.get_num_threads(),
              "grad_bytes": sum(p.numel() * 4 for p in model.parameters())}
    if ddp and world > 1:
        local = _cnn(nn)
        local_step = functools.partial(step, local, pynn.optim.Adam(local.parameters(),
                                                                     lr=1e-3))
        waited = [0.0]
        wait = dist._wait

        def timed_wait(*args, **kwargs):  # DDP's waits for its all_reduce requests
            t0 = time.perf_counter()
            try:
                return wait(*args, **kwargs)
            finally:
                waited[0] += time.perf_counter() - t0

        dist._wait = timed_wait
        delay = dist._run_delay()
        began = time.perf_counter()
        try:
            ddp_times, local_times, waits = [], [], []
            for i in range(WARMUP + STEPS):
                waited[0] = 0.0
                t0 = time.perf_counter()
                step()
                t1 = time.perf_counter()
                local_step()
                if i >= WARMUP:
                    ddp_times.append(t1 - t0)
                    local_times.append(time.perf_counter() - t1)
                    waits.append(waited[0])
        finally:
            dist._wait = wait
        if delay is not None:  # how long this rank waited for a core other processes had
            result["core_wait_share"] = ((dist._run_delay() - delay)
                                         / (time.perf_counter() - began))
        result.update(step=statistics.median(ddp_times),
                      local_step=statistics.median(local_times), wait=statistics.median(waits))
        grads = np.zeros(result["grad_bytes"] // 4, np.float32)
        result["allreduce"] = _median_seconds(lambda: dist.all_reduce(pynn.from_numpy(grads)))
        if model._node is not None:  # DDP's exchange through shared memory, alone
            result["exchange"] = _median_seconds(model._reduce_shared)
    else:
        result["step"] = _median_seconds(step)
    result["images_per_s"] = batch / result["step"]
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


def _median_rows(rows):
    """One row from the same configuration's rows of several rounds: the medians, and the
    range of the step."""
    out = dict(rows[0])
    for key, value in rows[0].items():
        if isinstance(value, float):
            out[key] = statistics.median(r[key] for r in rows)
    out["images_per_s"] = statistics.median(r["images_per_s"] for r in rows)
    out["step_range"] = [min(r["step"] for r in rows), max(r["step"] for r in rows)]
    out["rounds"] = len(rows)
    return out


def run(batch=100, cores=None, rounds=ROUNDS):
    """Measure and return the three tables' rows (see the module docstring); each
    configuration runs once a round, in an order that turns between rounds."""
    cores = cores or len(os.sched_getaffinity(0))
    configs = [(1, cores, "plain"), (1, cores, "ddp")]
    if cores > 1:
        configs.append((cores, 1, "ddp"))
    train = [[] for _ in configs]
    reduce = []
    for r in range(rounds):
        for k in range(len(configs)):
            i = (k + r) % len(configs)
            n, threads, kind = configs[i]
            train[i].append(_launch(n, threads, "train", str(batch), kind))
        reduce.append(_launch(2, 1, "allreduce"))
    reduce = {size: statistics.median(float(rr[size]) for rr in reduce) for size in reduce[0]}
    return {"batch": batch, "rounds": rounds, "train": [_median_rows(rows) for rows in train],
            "allreduce": reduce}


def report(results):
    """The tables as Markdown."""
    rounds = results.get("rounds", 1)
    lines = [f"MNIST CNN training step, global batch {results['batch']}, Adam"
             + (f"; medians of {rounds} rounds (range of the step)" if rounds > 1 else "")
             + ":", "",
             "| processes x threads | DDP | step (ms) | images/s |", "|---|---|---:|---:|"]
    for row, ddp in zip(results["train"], ("no", "yes", "yes")):
        step = f"{row['step'] * 1e3:.2f}"
        if "step_range" in row and rounds > 1:
            lo, hi = row["step_range"]
            step += f" ({lo * 1e3:.2f}-{hi * 1e3:.2f})"
        lines.append(f"| {row['world']} x {row['threads']} | {ddp} | {step} "
                     f"| {row['images_per_s']:,.0f} |")
    multi = [r for r in results["train"] if "allreduce" in r]
    if multi:
        r = multi[-1]
        exchange = r.get("exchange", r["allreduce"])
        hidden = r["local_step"] + exchange - r["step"]
        waited = (f"; backward waited {r['wait'] * 1e3:.2f} ms for the exchange"
                  if "wait" in r else "")
        how = (f"DDP's exchange of them through shared memory {exchange * 1e3:.2f} ms, an MPI "
               f"all_reduce {r['allreduce'] * 1e3:.2f} ms" if "exchange" in r else
               f"one all_reduce of them {r['allreduce'] * 1e3:.2f} ms")
        summary = (f"Under DDP with {r['world']} ranks: step {r['step'] * 1e3:.2f} ms; the "
                   f"same step alone on a rank's share {r['local_step'] * 1e3:.2f} ms; "
                   f"{r['grad_bytes'] / 1e6:.2f} MB of gradients, {how}{waited}; hidden by "
                   f"backward: {max(hidden, 0.0) * 1e3:.2f} ms.")
        # a ring all_reduce sends and receives 2 (n - 1) / n of the bytes on each link
        two, many = (r["grad_bytes"] / LINK_BYTES_PER_S * f for f in (1.0, 2.0))
        across = (f"Across machines on a {LINK_BYTES_PER_S * 8 / 1e9:g} Gb/s link, the "
                  f"same gradients need at least {two * 1e3:.2f} ms an exchange between 2 "
                  f"machines and {many * 1e3:.2f} ms between many (a ring all_reduce moves "
                  "2 (n - 1) / n of the bytes over each link), against a step of "
                  f"{r['local_step'] * 1e3:.2f} ms on a rank's share.")
        lines += ["", summary, "", across]
        if "core_wait_share" in r:
            lines += ["", (f"Rank 0 waited for a core {r['core_wait_share']:.1%} of the time "
                           "during those steps (about 1% on a machine of its own; more: other "
                           "processes had its core, and the figures above are a busy "
                           "machine's).")]
    lines += ["", "all_reduce (sum, float32) between 2 ranks:", "",
              "| bytes | ms | GB/s |", "|---:|---:|---:|"]
    for size, seconds in sorted(results["allreduce"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {int(size):,} | {seconds * 1e3:.3f} | {int(size) / seconds / 1e9:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pynn.bench.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100, help="the global batch (default 100)")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help=f"run every configuration this many times, in turn (default "
                             f"{ROUNDS})")
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
    results = run(args.batch, rounds=args.rounds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results))


if __name__ == "__main__":
    main()
