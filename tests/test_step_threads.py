"""Training steps at the thread count timed fastest (pynn.backend._runtime.mark_training_step):
simulated steps whose duration depends on the count kernel_threads() gives them, on a fake
clock, and the real optimisers' steps marking them."""

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
    # Contention readings off (a quiet machine), the step trials on, fresh.
    for name, value in (("_adaptive", False), ("_chosen", True), ("_num_threads", 8),
                        ("_cap", None), ("_tune_steps", True), ("_fixed_count", False),
                        ("_last_step", None), ("_try_fewer", True)):
        monkeypatch.setattr(_runtime, name, value)
    _runtime._reset_step_threads()
    yield c
    _runtime._reset_step_threads()


def train(clock, seconds, step_seconds):
    """Run steps for `seconds` of fake time, each lasting step_seconds[count] at the count
    the kernels are given; the counts, one per step."""
    counts = []
    end = clock.now + seconds
    while clock.now < end:
        n = _runtime.kernel_threads()
        counts.append(n)
        clock.now += step_seconds[n]
        _runtime.mark_training_step()
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


def test_trials_take_a_small_share_of_long_steps(clock):
    """With 0.5 s steps a trial lasts seconds: the next comes after twenty times as long."""
    times = {8: 0.5, 4: 0.6, 2: 0.7, 1: 0.8}
    counts = train(clock, 600.0, times)
    slower = sum(times[c] for c in counts if c != 8)
    assert slower / (600.0) < 2 * _runtime._STEP_TRIAL_SHARE


def test_never_above_the_count_asked_for(clock, monkeypatch):
    monkeypatch.setattr(_runtime, "_num_threads", 3)
    counts = train(clock, 20.0, {3: 1.0e-3, 2: 1.0e-3, 1: 1.0e-3, 4: 1e-4, 8: 1e-4})
    assert max(counts) == 3 and min(counts) >= 1


@pytest.mark.parametrize("off", ["env", "deterministic"])
def test_off(clock, monkeypatch, off):
    before = pynn.are_deterministic_algorithms_enabled()
    pynn.use_deterministic_algorithms(off == "deterministic")
    if off == "env":
        monkeypatch.setattr(_runtime, "_tune_steps", False)
    try:
        assert pynn.are_deterministic_algorithms_enabled() == (off == "deterministic")
        assert set(train(clock, 20.0, {8: 1.0, 4: 1e-4, 2: 1e-4, 1: 1e-4})) == {8}
    finally:
        pynn.use_deterministic_algorithms(before)


def test_setting_the_count_restarts_the_trials(clock):
    train(clock, 20.0, {8: 1.0e-3, 4: 0.5e-3, 2: 0.4e-3, 1: 0.3e-3})
    assert _runtime._step_threads == 1
    pynn.set_num_threads(8)
    assert _runtime._step_threads is None and _runtime.kernel_threads() == 8


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS"])
def test_every_optimiser_step_marks_a_training_step(monkeypatch, name):
    marks = []
    monkeypatch.setattr(_runtime, "mark_training_step", lambda: marks.append(1))
    w = pynn.nn.Parameter(pynn.tensor(np.ones(3, np.float32)))
    opt = getattr(pynn.optim, name)([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert len(marks) == 3
