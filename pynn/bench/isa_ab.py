"""Times of the activation, softmax, optimiser and recurrent-cell kernels and of the steps
that use them, one JSON line per run, for an A/B of two builds (issue 21: those families
compiled per ISA).

Run it alternately against two builds (a worktree of the previous commit built in place, put
first on PYTHONPATH), several rounds, and compare the medians; pin 1-thread runs to one core:

    PYTHONPATH=/tmp/old taskset -c 1 python -m pynn.bench.isa_ab 1
    taskset -c 1 python -m pynn.bench.isa_ab 1
    PYTHONPATH=/tmp/old python -m pynn.bench.isa_ab 2
    python -m pynn.bench.isa_ab 2

(A build older than this module has it as ``bench/isa_ab.py``: run that file instead.)
``python -m pynn.bench.isa_ab 1 --each-isa`` times the kernels alone on one build with each
ISA this CPU has forced in turn (``compiled.set_isa``), in one process, one line per ISA.

Each case gives ``[median, best]`` in microseconds (best: the fastest sample, the least
disturbed on a shared machine). The cases are those of ``python -m pynn.bench`` that run these
kernels (softmax-CE, the recurrent layers, the MLP and CNN training steps) and the kernels
alone on arrays of the sizes the MNIST models give them.
"""

import functools
import json
import sys
import time

import numpy as np

import pynn
from pynn.backend import get
from pynn.bench.kernels import XENT_SHAPE, sequence_step, xent_step
from pynn.bench.timing import MIN_SAMPLE_SECONDS, measure
from pynn.bench.training import training_step


def cases(k):
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    act = arr(128, 30, 24, 24)  # the CNN's first ReLU
    big = arr(1 << 20)
    dy_act, dy_big = arr(*act.shape), arr(*big.shape)
    y_sig = k.sigmoid_forward(big)
    param, grad = arr(30 * 12 * 12, 100), arr(30 * 12 * 12, 100)  # the CNN's fc1 weight
    state = [np.zeros_like(param) for _ in range(3)]
    logits, labels = arr(*XENT_SHAPE), rng.integers(0, XENT_SHAPE[1], XENT_SHAPE[0])
    rows = arr(64 * 4 * 64, 64)  # attention's score rows
    gates, c_prev = arr(100, 4 * 128), arr(100, 128)
    _h, _c, acts = k.lstm_cell_forward(gates, c_prev)
    dh = arr(100, 128)
    p = functools.partial
    return {
        "relu fwd 128x30x24x24": p(k.relu_forward, act),
        "relu bwd 128x30x24x24": p(k.relu_backward, act, dy_act),
        "sigmoid fwd 2^20": p(k.sigmoid_forward, big),
        "sigmoid bwd 2^20": p(k.sigmoid_backward, y_sig, dy_big),
        "tanh fwd 2^20": p(k.tanh_forward, big),
        "gelu tanh fwd 2^20": p(k.gelu_forward, big, "tanh"),
        "sgd momentum 4320x100": p(k.sgd_step, param, grad, state[0], lr=1e-3, momentum=0.9),
        "adam 4320x100": p(k.adam_step, param, grad, state[1], state[2], step=3, lr=1e-6),
        "softmax fwd 16384x64": p(k.softmax_forward, rows),
        "softmax-CE 128x10 fwd+bwd": xent_step(k, logits, labels),
        "lstm cell fwd 100x128": p(k.lstm_cell_forward, gates, c_prev),
        "lstm cell bwd 100x128": p(k.lstm_cell_backward, acts, c_prev, dh, dh),
    }


def best(fn, seconds):
    """Seconds per call in the fastest of the samples taken during ``seconds`` (each sample
    a batch of calls lasting about MIN_SAMPLE_SECONDS): on a machine shared with other jobs,
    the sample least disturbed by them, beside measure()'s median."""
    fn()
    t0 = time.perf_counter()
    fn()
    calls = max(1, int(MIN_SAMPLE_SECONDS / max(time.perf_counter() - t0, 1e-7)))
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 3:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return min(times)


def timed(fn, seconds):
    """``[median, best]`` of ``fn()`` in microseconds."""
    return [measure(fn, repeat=9, max_seconds=seconds)["median"] * 1e6, best(fn, seconds) * 1e6]


def each_isa(threads):
    pynn.set_num_threads(threads)
    k = get("compiled")
    for isa in k.available_isas():
        k.set_isa(isa)
        out = {"build": pynn.__file__, "isa": isa, "threads": threads}
        for name, fn in cases(k).items():
            out[name] = timed(fn, 1.0)
        print(json.dumps(out))


def main(threads):
    pynn.set_num_threads(threads)
    k = get("compiled")
    out = {"build": pynn.__file__, "isa": k.get_isa(), "threads": threads}
    for name, fn in cases(k).items():
        out[name] = timed(fn, 1.0)
    for name, layer, shape in (("LSTM 28->128 x28, batch 100", "lstm", (100, 28, 28)),
                               ("GRU 28->128 x28, batch 100", "gru", (100, 28, 28))):
        out[name] = timed(sequence_step("pynn", layer, shape), 2.0)
    for name, model, opt in (("MLP step, SGD", "mlp", "sgd"), ("CNN step, Adam", "cnn", "adam")):
        out[name] = timed(training_step("pynn", model, 100, opt), 2.0)
    print(json.dumps(out))


if __name__ == "__main__":
    (each_isa if "--each-isa" in sys.argv else main)(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
