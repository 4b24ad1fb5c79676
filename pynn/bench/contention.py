"""Kernel calls a second while other processes keep cores busy: pynn with its thread count
adapting to contention (the default), with the count fixed, and PyTorch, in one run.

    python -m pynn.bench.contention [busy processes, default 1] [seconds per figure, default 3]

Starts that many processes spinning in Python, then times a 128 x 784 . (256 x 784)^T GEMM
(a Linear layer's forward at batch 128) and, where it is installed, the same in PyTorch,
each at every thread count from 1 to the usable cores, alternating; prints the median of
three rounds per case. With no busy process it shows what adapting costs on a quiet
machine.
"""

import multiprocessing
import os
import sys
import time

import numpy as np


def _spin(stop):
    while not stop.is_set():
        pass


def _calls_per_second(call, seconds):
    call()
    end, count = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        call()
        count += 1
    return count / seconds


def main(busy=1, seconds=3.0):
    import pynn
    from pynn.backend import _runtime, get

    gemm = get("compiled").gemm
    rng = np.random.default_rng(0)
    a = rng.standard_normal((128, 784)).astype(np.float32)
    b = rng.standard_normal((256, 784)).astype(np.float32)
    try:
        import torch
    except ImportError:
        torch = None
    cores = _runtime._usable_cores()
    cases = []
    for threads in range(1, cores + 1):
        for adaptive in (True, False):
            cases.append((f"pynn {threads} thread(s), {'adaptive' if adaptive else 'fixed'}",
                          threads, adaptive, lambda: gemm(a, b, trans_b=True)))
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            cases.append((f"PyTorch {threads} thread(s)", threads, None,
                          lambda ta=ta, tb=tb: torch.mm(ta, tb.t())))
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
                for _ in range(busy)]
    for p in spinners:
        p.start()
    rates = {name: [] for name, *_ in cases}
    try:
        for _ in range(3):
            for name, threads, adaptive, call in cases:
                if torch is not None:
                    torch.set_num_threads(threads)
                # The default count adapts; a chosen one does not: set the state directly.
                _runtime._num_threads, _runtime._chosen = threads, not adaptive
                _runtime._cap = None
                rates[name].append(_calls_per_second(call, seconds))
                time.sleep(0.3)
    finally:
        stop.set()
        for p in spinners:
            p.join()
    print(f"{pynn.__file__}: {busy} busy process(es), {cores} usable cores, "
          f"load {os.getloadavg()[0]:.1f}; calls a second, median of 3:")
    for name, values in rates.items():
        print(f"  {name:36s} {np.median(values):8.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1,
         float(sys.argv[2]) if len(sys.argv) > 2 else 3.0)
