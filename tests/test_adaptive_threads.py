"""The kernels' thread count under contention (pynn.backend._runtime.kernel_threads): fewer
threads while the calling thread waits for a core, the default count again after a hold, and
never a change to a count the user chose."""

import pytest

from pynn.backend import _runtime


class Clock:
    """A fake monotonic clock and run delay: ``step(seconds, waited)`` advances both."""

    def __init__(self):
        self.now, self.delay = 1000.0, 0.0

    def step(self, seconds, waited=0.0):
        self.now += seconds
        self.delay += seconds * waited


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(_runtime.time, "monotonic", lambda: c.now)
    monkeypatch.setattr(_runtime, "_run_delay", lambda: c.delay)
    for name, value in (("_adaptive", True), ("_chosen", False), ("_num_threads", 8),
                        ("_fixed_count", False), ("_step_threads", None),
                        ("_cap", None), ("_next_reading", 0.0), ("_last_reading", None),
                        ("_hold", _runtime._HOLD_MIN), ("_raise_at", 0.0), ("_raised", False)):
        monkeypatch.setattr(_runtime, name, value)
    return c


def run(clock, seconds, waited):
    """Call kernel_threads every 10 ms for `seconds` with the thread waiting `waited` of the
    time; the counts it returned."""
    counts = []
    for _ in range(round(seconds / 0.01)):
        clock.step(0.01, waited)
        counts.append(_runtime.kernel_threads())
    return counts


def test_quiet_machine_keeps_the_count(clock):
    assert set(run(clock, 5.0, 0.02)) == {8}


def test_contention_halves_the_count_down_to_one(clock):
    counts = run(clock, 0.5, 0.6)
    assert counts[0] == 8 and counts[-1] == 1
    assert [c for i, c in enumerate(counts) if i == 0 or c != counts[i - 1]] == [8, 4, 2, 1]


def test_count_returns_after_contention_ends(clock):
    run(clock, 0.5, 0.6)
    counts = run(clock, 10.0, 0.0)
    assert counts[-1] == 8
    assert min(counts) == 1


def test_hold_grows_while_contention_lasts(clock):
    """Each raise that meets contention at once doubles the wait before the next one, so a
    busy machine is probed ever more rarely (and the hold starts short again later)."""
    run(clock, 0.5, 0.6)
    assert _runtime._cap == 1
    counts = run(clock, 30.0, 0.6)
    raises = sum(1 for a, b in zip(counts, counts[1:]) if b > a)
    assert 2 <= raises <= 6
    assert _runtime._hold == _runtime._HOLD_MAX
    run(clock, 40.0, 0.0)  # quiet: back to the full count
    assert _runtime._cap is None
    run(clock, 0.3, 0.6)
    assert _runtime._hold == _runtime._HOLD_MIN


def test_a_chosen_count_is_kept(clock, monkeypatch):
    monkeypatch.setattr(_runtime, "_chosen", True)
    assert set(run(clock, 1.0, 0.9)) == {8}


def test_turned_off_where_the_run_delay_is_unknown(clock, monkeypatch):
    monkeypatch.setattr(_runtime, "_run_delay", lambda: None)
    assert set(run(clock, 1.0, 0.9)) == {8}
    assert _runtime._adaptive is False


def test_run_delay_is_read_on_linux():
    import sys

    delay = _runtime._run_delay()
    if sys.platform.startswith("linux"):
        assert delay is not None and delay >= 0
    else:
        assert delay is None
