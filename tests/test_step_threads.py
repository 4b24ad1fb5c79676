"""Training steps at the thread count timed fastest (pynn.backend._runtime.mark_training_step):
simulated steps whose duration depends on the count kernel_threads() gives them, on a fake
clock, and the real optimisers' steps marking them."""

import threading

import numpy as np
import pytest

import pynn
from pynn.backend import _runtime


class Clock:
    def __init__(self):
        self.now = 1000.0


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(_runtime.time, "monotonic", lambda: c.now)
    # The default count of an 8-core machine, no contention readings, the trials on.
    for name, value in (("_adaptive", False), ("_chosen", False), ("_num_threads", 8),
                        ("_cap", None), ("_tune_steps", True), ("_fixed_count", False),
                        ("_try_fewer", True)):
        monkeypatch.setattr(_runtime, name, value)
    _runtime._reset_step_threads()
    yield c
    _runtime._reset_step_threads()


OPTIMISER = object()


def train(clock, seconds, step_seconds, optimisers=(OPTIMISER,), noise=0.0, seed=0):
    """Run iterations for `seconds` of fake time; in each, every optimiser steps once, the
    i-th step lasting step_seconds[count] * share[i] at the count the kernels are given (the
    shares sum to 1: the iteration's cost is step_seconds[count]). The counts, one per
    iteration (that of its first step)."""
    rng = np.random.default_rng(seed)
    shares = np.linspace(2, 1, len(optimisers))
    shares /= shares.sum()
    counts = []
    end = clock.now + seconds
    while clock.now < end:
        counts.append(_runtime.kernel_threads())
        for owner, share in zip(optimisers, shares):
            n = _runtime.kernel_threads()
            clock.now += step_seconds[n] * share * float(np.exp(noise * rng.standard_normal()))
            _runtime.mark_training_step(owner)
    return counts


def test_steps_move_to_the_fastest_count(clock):
    times = {8: 1.0e-3, 4: 0.8e-3, 2: 0.6e-3, 1: 0.9e-3}
    counts = train(clock, 40.0, times)
    last = counts[len(counts) * 3 // 4:]
    assert counts[0] == 8
    assert last.count(2) / len(last) > 0.97
    assert set(counts) <= {1, 2, 4, 8}


def test_the_count_asked_for_stays_while_fastest(clock):
    times = {8: 0.5e-3, 4: 0.8e-3, 2: 1.0e-3, 1: 2.0e-3}
    counts = train(clock, 40.0, times)
    assert counts.count(8) / len(counts) > 0.99
    assert _runtime._step_threads is None
    assert _runtime._step_hold == _runtime._STEP_HOLD_MAX


def test_follows_a_change_of_the_fastest_count(clock):
    """The cores' placement can change while a program runs (a VM's vCPUs moved by the host)."""
    train(clock, 20.0, {8: 1.0e-3, 4: 1.2e-3, 2: 1.5e-3, 1: 2.0e-3})
    assert _runtime._step_threads is None
    counts = train(clock, 40.0, {8: 2.0e-3, 4: 1.5e-3, 2: 1.2e-3, 1: 1.0e-3})
    assert counts[-1] == 1
    assert sum(c == 1 for c in counts[-1000:]) > 950


@pytest.mark.parametrize("optimisers", [2, 3, 4])
def test_several_optimisers_an_iteration(clock, optimisers):
    """Unequal steps of several optimisers (a GAN's, or one per part of a model): the trials
    time whole iterations, so the mix of short and long steps does not decide."""
    owners = [object() for _ in range(optimisers)]
    counts = train(clock, 60.0, {8: 1.0e-3, 4: 1.5e-3, 2: 2.0e-3, 1: 3.0e-3}, owners)
    assert counts.count(8) / len(counts) > 0.97


@pytest.mark.parametrize("slower", [0.0, 0.1])
def test_noise_rarely_moves_the_count(clock, slower):
    """Step times scattered by 20% (log-normal), every count as fast or the others 10%
    slower: noise does not move the count; only the trials' steps run at another."""
    times = {8: 1.0e-3, 4: 1.0e-3 * (1 + slower), 2: 1.0e-3 * (1 + slower),
             1: 1.0e-3 * (1 + slower)}
    counts = train(clock, 120.0, times, noise=0.2, seed=7)
    assert counts.count(8) / len(counts) > 0.99


def test_trials_take_a_small_share_of_long_steps(clock):
    """With 0.5 s steps a trial lasts many seconds: the next comes after twenty times as long."""
    times = {8: 0.5, 4: 0.6, 2: 0.7, 1: 0.8}
    counts = train(clock, 1200.0, times)
    slower = sum(times[c] for c in counts if c != 8)
    assert slower / 1200.0 < _runtime._STEP_TRIAL_SHARE


def test_a_pause_runs_the_kernels_at_the_count_asked_for(clock):
    """Evaluation or inference after training is not timed and not run at the steps' count."""
    train(clock, 20.0, {8: 2.0e-3, 4: 1.5e-3, 2: 1.2e-3, 1: 1.0e-3})
    assert _runtime._step_threads is not None and _runtime.kernel_threads() < 8
    clock.now += 0.5
    assert _runtime.kernel_threads() == 8
    counts = train(clock, 0.05, {8: 2.0e-3, 4: 1.5e-3, 2: 1.2e-3, 1: 1.0e-3})
    assert counts[-1] < 8  # the steps resumed at their count


def test_trials_between_evaluations(clock):
    """Evaluation every 150 steps (a pause of many steps, as the benchmark's MNIST runs and
    train.fit make) still leaves room for the trials."""
    times = {8: 2.0e-3, 4: 1.5e-3, 2: 1.2e-3, 1: 1.0e-3}
    counts = []
    for _ in range(200):
        counts += train(clock, 150 * 1.0e-3, times)
        clock.now += 0.05
    assert counts[-1] == 1
    assert counts[len(counts) // 2:].count(1) / (len(counts) - len(counts) // 2) > 0.9


def test_first_trial_waits(clock):
    """A short program (a test, a few steps) never runs a trial."""
    counts = train(clock, 0.5, {8: 1.0e-3, 4: 1.0e-4, 2: 1.0e-4, 1: 1.0e-4})
    assert set(counts) == {8}


def test_never_above_the_count_asked_for(clock, monkeypatch):
    monkeypatch.setattr(_runtime, "_num_threads", 3)
    counts = train(clock, 20.0, {3: 1.0e-3, 2: 1.0e-3, 1: 1.0e-3, 4: 1e-4, 8: 1e-4})
    assert max(counts) == 3 and min(counts) >= 1


def test_no_trial_under_contention(clock, monkeypatch):
    monkeypatch.setattr(_runtime, "_cap", 4)
    assert set(train(clock, 20.0, {8: 1.0, 4: 1e-4, 2: 1e-4, 1: 1e-4})) == {8}


@pytest.mark.parametrize("off", ["env", "deterministic", "chosen"])
def test_off(clock, monkeypatch, off):
    before = pynn.are_deterministic_algorithms_enabled()
    pynn.use_deterministic_algorithms(off == "deterministic")
    if off == "env":
        monkeypatch.setattr(_runtime, "_tune_steps", False)
    if off == "chosen":
        monkeypatch.setattr(_runtime, "_chosen", True)
    try:
        assert pynn.are_deterministic_algorithms_enabled() == (off == "deterministic")
        assert set(train(clock, 20.0, {8: 1.0, 4: 1e-4, 2: 1e-4, 1: 1e-4})) == {8}
    finally:
        pynn.use_deterministic_algorithms(before)


def test_steps_from_several_threads(clock):
    """Optimisers stepping in several Python threads at once: no error, a count in range."""
    errors = []

    def run(owner):
        try:
            for _ in range(3000):
                clock.now += 1e-4
                _runtime.mark_training_step(owner)
                assert 1 <= _runtime.kernel_threads() <= 8
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(object(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS"])
def test_every_optimiser_step_marks_a_training_step(monkeypatch, name):
    marks = []
    monkeypatch.setattr(_runtime, "mark_training_step", marks.append)
    w = pynn.nn.Parameter(pynn.tensor(np.ones(3, np.float32)))
    opt = getattr(pynn.optim, name)([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert marks == [opt] * 3
