"""pynn.profiler: events of ops, backward and ranges, self times, tables, schedules (against
torch.profiler.schedule), traces, and that nothing stays patched after a profile."""

import json

import pytest

import pynn
from pynn import nn, profiler
from pynn.autograd import ArrayFunction, Function
from pynn.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule

torch = pytest.importorskip("torch")


def _step(model, x):
    model(x).sum().backward()


def test_profile_records_ops_backward_and_ranges():
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))
    x = pynn.randn(4, 8)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("forward_pass"):
            out = model(x)
        out.sum().backward()
    avg = {e.key: e for e in prof.key_averages()}
    assert avg["Linear"].count == 2
    assert avg["forward_pass"].count == 1 and avg["autograd::backward"].count == 1
    assert "Tanh" in avg or any("Tanh" in k for k in avg)
    # the range contains the ops: its total covers theirs, its self time excludes them
    ops = sum(e.cpu_time_total for k, e in avg.items()
              if k not in ("forward_pass", "autograd::backward", "Sum"))
    rng = avg["forward_pass"]
    assert rng.cpu_time_total >= ops
    assert rng.self_cpu_time_total == pytest.approx(rng.cpu_time_total - ops, abs=1e-6)
    for e in prof.events():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
    by_shape = prof.key_averages(group_by_input_shape=True)
    assert sorted(e.input_shapes[0] for e in by_shape if e.key == "Linear") == [[4, 8], [4, 16]]


def test_table_like_torch():
    with profile() as prof:
        for _ in range(3):
            _step(nn.Linear(3, 3), pynn.randn(2, 3))
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    lines = table.splitlines()
    assert "Name" in lines[1] and "Self CPU %" in lines[1] and "# of Calls" in lines[1]
    assert lines[-1].startswith("Self CPU time total:")
    assert len(lines) == 3 + 2 + 2  # rule, header, rule, two rows, rule, total
    rows = prof.key_averages()
    ranked = sorted(rows, key=lambda e: e.cpu_time_total, reverse=True)[:2]
    assert all(e.key in table for e in ranked)
    assert str(rows) == rows.table()
    with pytest.raises(ValueError, match="sort_by"):
        rows.table(sort_by="speed")


def test_user_functions_and_record_function_decorator():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    @record_function("my_block")
    def block(x):
        return Square.apply(x).sum()

    x = pynn.randn(5, requires_grad=True)
    with profile() as prof:
        block(x).backward()
    keys = [e.key for e in prof.key_averages()]
    assert "my_block" in keys and "Square" in keys and "autograd::backward" in keys


def _codes():
    return (ArrayFunction.__dict__["apply"].__func__.__code__,
            Function.__dict__["apply"].__func__.__code__, pynn.Tensor.__dict__["backward"])


def test_nothing_patched_or_recorded_outside_a_profile():
    before = _codes()
    with profile() as prof:
        with profile() as inner:  # nested profilers both record
            _step(nn.Linear(2, 2), pynn.randn(1, 2))
        assert _codes()[0] is not before[0]
    assert _codes() == before
    assert not [k for k in vars(pynn.autograd) if k.startswith("_pynn_profiler")]
    n = len(prof.events())
    assert n == len(inner.events()) > 0
    _step(nn.Linear(2, 2), pynn.randn(1, 2))
    with record_function("outside"):
        pass
    assert len(prof.events()) == n


def test_operators_and_methods_are_recorded():
    x = pynn.randn(4, 4, requires_grad=True)
    with profile() as prof:
        y = (x * x + 1).tanh() @ x
        y.sum().backward()
    counts = {e.key: e.count for e in prof.key_averages()}
    for op in ("Mul", "Add", "Tanh", "Matmul", "Sum", "autograd::backward"):
        assert counts.get(op) == 1, (op, counts)


def test_autograd_profiler_spelling():
    import pynn.autograd.profiler as legacy

    assert pynn.autograd.profiler is legacy
    x = pynn.randn(3, requires_grad=True)
    with legacy.profile(use_cuda=False, record_shapes=True) as prof, \
            legacy.record_function("block"):
        (x * 2).sum().backward()
    keys = {e.key for e in prof.key_averages()}
    assert {"block", "Mul", "Sum", "autograd::backward"} <= keys
    assert prof.self_cpu_time_total > 0
    assert prof.total_average().count == len(prof.function_events)
    assert "Self CPU time total" in prof.table(sort_by="self_cpu_time_total")
    with legacy.profile(enabled=False) as off:
        (x * 2).sum()
    assert len(off.function_events) == 0
    with pytest.raises(RuntimeError, match="CPU"):
        legacy.profile(use_cuda=True)


def test_without_cpu_activity_nothing_is_recorded():
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        _step(nn.Linear(2, 2), pynn.randn(1, 2))
    assert len(prof.events()) == 0


@pytest.mark.parametrize("kw", [
    {"wait": 1, "warmup": 1, "active": 2},
    {"wait": 2, "warmup": 1, "active": 3, "repeat": 2},
    {"wait": 0, "warmup": 2, "active": 1, "repeat": 1, "skip_first": 3},
    {"wait": 1, "warmup": 1, "active": 1, "skip_first_wait": 1},
])
def test_schedule_matches_torch(kw):
    ours = schedule(**kw)
    theirs = torch.profiler.schedule(**kw)
    assert [ours(i).name for i in range(25)] == [theirs(i).name for i in range(25)]


def test_scheduled_profile_saves_each_active_phase():
    model, x = nn.Linear(4, 4), pynn.randn(2, 4)
    saved = []

    def ready(p):
        saved.append((p.step_num, sum(e.count for e in p.key_averages()
                                      if e.key == "autograd::backward")))

    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=ready) as prof:
        for _ in range(10):
            _step(model, x)
            prof.step()
    # two cycles of 4 steps: each saved after its second active step, with 2 backwards
    assert saved == [(4, 2), (8, 2)]
    assert schedule(wait=0, warmup=1, active=1)(1) == ProfilerAction.RECORD_AND_SAVE


def test_export_chrome_trace_and_handler(tmp_path):
    with profile(record_shapes=True) as prof:
        _step(nn.Linear(2, 3), pynn.randn(1, 2))
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert "Linear" in names and all(e["ph"] == "X" and e["dur"] >= 0
                                     for e in trace["traceEvents"])
    handler = profiler.tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w")
    handler(prof)
    files = list((tmp_path / "tb").iterdir())
    assert len(files) == 1 and files[0].name.startswith("w.")
    assert files[0].name.endswith(".pt.trace.json")


def test_use_cuda_is_refused():
    with pytest.raises(RuntimeError, match="CPU"):
        profile(use_cuda=True)
