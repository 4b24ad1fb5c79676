"""The benchmark report's training cases: the same models in pynn and PyTorch, steps that run,
the peak-memory probe and the report table. (Speeds are measured by ``python -m pynn.bench``,
never asserted in tests.)"""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA_DIR, needs_mnist

from pynn import bench, nn
from pynn.backend import compiled, reference
from pynn.bench.timing import MIN_SAMPLE_SECONDS

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("case", bench.TRAINING_CASES, ids=lambda c: c[1])
def test_training_step_changes_every_parameter(case):
    _, model, batch, optimiser, _ = case
    step = bench.training_step("pynn", model, batch, optimiser)
    before = {k: v.clone() for k, v in step.model.state_dict().items()}
    step()
    after = step.model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert not np.array_equal(value, after[key]), key


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
@pytest.mark.parametrize("case", bench.TRAINING_CASES, ids=lambda c: c[1])
def test_training_models_match_pytorch(case):
    import torch

    model = case[1]
    ours = nn.Sequential(*bench.model_layers(nn, model)).state_dict()
    theirs = torch.nn.Sequential(*bench.model_layers(torch.nn, model)).state_dict()
    assert {k: v.shape for k, v in ours.items()} == \
        {k: tuple(v.shape) for k, v in theirs.items()}


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"),
                    reason="no /proc/self/clear_refs on this system")
def test_memory_probe_reports_a_plausible_peak(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the child must find the same pynn from anywhere
    peak = bench.peak_training_memory("pynn", bench.MEMORY_CASE, 1)
    assert peak is not None
    # The CNN's activations and gradients for batch 100 alone take ~20 MB.
    assert 5 * 2**20 < peak < 2**30


def _sample(seconds):
    return {"median": seconds, "q1": 0.9 * seconds, "q3": 1.1 * seconds, "runs": 5}


def fake_results(with_torch=True):
    """Results shaped as ``python -m pynn.bench`` builds them, with round numbers."""
    def times(pynn_s, torch_s, reference_s=None, torch_cl_s=None):
        return {"pynn": _sample(pynn_s), "torch": _sample(torch_s) if with_torch else None,
                "torch_cl": _sample(torch_cl_s) if with_torch and torch_cl_s else None,
                "reference": None if reference_s is None else _sample(reference_s)}

    def run(threads):
        return {
            "threads": threads,
            "gemm": [{"case": f"square {n}", "size": n, "flops": 2.0 * n**3,
                      "numpy": _sample(2e-3), **times(1e-3, 2e-3)} for n in (64, 1024)],
            "layers": [{"case": "conv 1->30 5x5", **times(2e-3, 6e-3, 4e-3, 5e-3)},
                       {"case": "max-pool 2x2", **times(1e-3, 5e-3, 15e-3)}],
            "sequence": [{"case": "LSTM 28->128", **times(50e-3, 50e-3)}],
            "training": [{"case": c[0], **times(1e-3, 3e-3, None, 2e-3 if c[1] == "cnn" else None)}
                         for c in bench.TRAINING_CASES],
        }

    def mnist(seconds):
        return {"curve": [[0.0, 0.1], [seconds / 2, 0.97], [seconds, 0.985]],
                "epoch_seconds": [seconds], "accuracy": 0.985}

    return {
        "meta": {"date": "2026-11-22", "machine": "test machine", "command": "python -m "
                 "pynn.bench", "peak_gflops": 40.0, "notes": []},
        "runs": [run(1), run(2)],
        "round_trip_ns": [["start", 70], ["after 2 thread(s)", 350]],
        "batch_scaling": {"threads": 2, "rows": [
            {"batch": b, **times(1e-3 * b, 3e-3 * b, None, 2e-3 * b)} for b in (1, 32)]},
        "memory_scaling": {"threads": 2, "rows": [
            {"batch": 100, "pynn": 30 * 2**20, "torch": 70 * 2**20 if with_torch else None}]},
        "convergence": {"threads": 2, "epochs": 1, "train_size": 600, "test_size": 100,
                        "evals_per_epoch": 2, "rows": [
                            {"case": "CNN conv30-pool-100-10, Adam", "model": "cnn", "epochs": 1,
                             "pynn": mnist(10.0), "torch": mnist(30.0) if with_torch else None,
                             "torch_cl": mnist(20.0) if with_torch else None}]},
    }


def test_report_tables():
    text = bench.render(fake_results())
    assert text.startswith(bench.report.MARKER)
    assert "| MLP 784-100-10, SGD | 0.6 s | 1.8 s |  |  | 3.00x |  |  |" in text
    assert "| CNN conv30-pool-100-10, Adam | 0.6 s | 1.8 s | 1.2 s |  | 3.00x | 2.00x |  |" in text
    assert "| tiny MLP 10-10-10, batch 1, SGD | 1000.0 us | 3000.0 us |" in text
    # GEMM 1024 at 1 ms: 2147 GFLOP/s, 2x OpenBLAS; spread is half the IQR over the median.
    assert "| square 1024 | 2147.5 | 5369% | 1073.7 | 1073.7 | 2.00x | 2.00x | ±10% |" in text
    assert ("| conv 1->30 5x5 | 2.00 ±10% | 6.00 ±10% | 5.00 ±10% | 4.00 ±10% | 3.00x | 2.50x "
            "| 2.00x |") in text
    # MNIST runs: a row per library; the headline compares with PyTorch's faster layout.
    assert "| CNN conv30-pool-100-10, Adam | PyTorch | 30.00 s | 3.00x | 98.50% | 30.0 s |" in text
    assert ("| CNN conv30-pool-100-10, Adam | PyTorch channels-last | 20.00 s | 2.00x | 98.50% "
            "| 20.0 s |") in text
    assert ("| CNN conv30-pool-100-10, Adam: epoch s / test accuracy after 1 epoch(s) | 10.0 s / "
            "98.50% | 20.0 s / 98.50% (channels-last) | 2.00x |") in text
    assert "| 32 | 1000.0 | 3000.0 | 2000.0 | 3.00x | 2.00x |" in text
    assert "| 100 | 30 MiB | 70 MiB |" in text
    assert "| peak memory, CNN training, batch 100 | 30 MiB | 70 MiB | 2.33x less |" in text
    assert "round trip (tens of ns: one die; hundreds: two, where every multi-thread figure is " \
        "slower): 70 ns start, 350 ns after 2 thread(s)." in text


def test_report_without_torch_leaves_its_columns_empty():
    text = bench.render(fake_results(with_torch=False))
    assert "| MLP 784-100-10, SGD | 0.6 s |  |  |  |  |  |  |" in text
    assert "| 100 | 30 MiB | n/a |" in text


def test_report_keeps_the_hand_written_part(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nwhere the targets stand\n\n" + bench.report.MARKER + "\nold\n")
    bench.write_report(bench.render(fake_results()), path)
    text = path.read_text()
    assert text.startswith("# Results\n\nwhere the targets stand\n\n" + bench.report.MARKER)
    assert "old" not in text and "## Benchmark report" in text
    assert not (tmp_path / "RESULTS.md.tmp").exists()


@pytest.mark.parametrize("with_torch", [True, False])
def test_plots_are_drawn(tmp_path, with_torch):
    pytest.importorskip("matplotlib")
    paths, note = bench.plots.write_plots(fake_results(with_torch), tmp_path)
    assert note is None
    assert sorted(os.path.basename(p) for p in paths) == [
        "convergence.png", "gemm.png", "layers.png", "scaling.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_report_and_plots_of_a_run_without_training(tmp_path):
    results = fake_results()
    for key in ("batch_scaling", "memory_scaling", "convergence"):
        del results[key]
    for run in results["runs"]:
        del run["training"]  # --no-training
    text = bench.run.write_all(results, str(tmp_path / "RESULTS.md"))
    assert "| square 1024 | 2147.5 |" in text and "| MLP 784-100-10, SGD |" not in text
    if importlib.util.find_spec("matplotlib"):
        assert sorted(os.listdir(tmp_path / "plots")) == ["gemm.png", "layers.png"]


def test_missing_matplotlib_is_a_note_not_a_crash(tmp_path, monkeypatch):
    def no_matplotlib():
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(bench.plots, "_pyplot", no_matplotlib)
    results = fake_results()
    text = bench.run.write_all(results, str(tmp_path / "RESULTS.md"))
    assert "matplotlib not installed" in text
    assert not (tmp_path / "plots").exists()
    assert "![" not in text  # no links to figures that were not drawn


def test_report_is_redrawn_from_its_json(tmp_path):
    results = fake_results()
    bench.run.write_all(results, str(tmp_path / "first.md"))
    again = bench.run.main(["--from-json", str(tmp_path / "results.json"),
                            "--output", str(tmp_path / "second.md")])
    assert again["runs"] == results["runs"]
    if importlib.util.find_spec("matplotlib"):
        assert "![GEMM GFLOP/s against size](plots/gemm.png)" in (tmp_path / "first.md").read_text()
    assert (tmp_path / "first.md").read_text() == (tmp_path / "second.md").read_text()


def test_training_rows_are_matched_to_their_cases_by_label(tmp_path):
    # a results.json from a version with other cases, in another order
    results = fake_results()
    for run in results["runs"]:
        run["training"] = run["training"][::-1] + [
            {**run["training"][0], "case": "a case this version does not have"}]
    lines = bench.render(results).splitlines()

    def rows(label):
        return " ".join(line for line in lines if line.startswith(f"| {label} |"))

    tiny = next(c for c in bench.TRAINING_CASES if c[4] is None)
    epoch = next(c for c in bench.TRAINING_CASES if c[4])
    assert " us |" in rows(tiny[0]) and " s |" not in rows(tiny[0])
    assert " s |" in rows(epoch[0]) and " us |" not in rows(epoch[0])
    assert " us |" in rows("a case this version does not have")
    bench.plots.write_plots(results, tmp_path)  # draws (or notes matplotlib's absence)


def test_default_output_is_the_checkouts_report_or_the_current_directory(tmp_path,
                                                                         monkeypatch):
    checkout = tmp_path / "checkout"
    (checkout / "pynn").mkdir(parents=True)
    (checkout / "bench").mkdir()
    (checkout / "bench" / "RESULTS.md").write_text("# Results\n")
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setattr(bench.run.pynn, "__file__", str(checkout / "pynn" / "__init__.py"))
    assert bench.run.default_output() == str(checkout / "bench" / "RESULTS.md")
    # an installed pynn: no checkout around it
    monkeypatch.setattr(bench.run.pynn, "__file__",
                        str(tmp_path / "site-packages" / "pynn" / "__init__.py"))
    assert bench.run.default_output() == os.path.join("pynn-bench", "RESULTS.md")


def test_report_goes_where_it_is_told_from_any_directory(tmp_path, monkeypatch):
    bench.run.write_all(fake_results(), str(tmp_path / "first.md"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(bench.run.pynn, "__file__",
                        str(tmp_path / "site-packages" / "pynn" / "__init__.py"))
    bench.run.main(["--from-json", str(tmp_path / "results.json")])
    assert (elsewhere / "pynn-bench" / "RESULTS.md").read_text() == \
        (tmp_path / "first.md").read_text()
    assert (elsewhere / "pynn-bench" / "results.json").is_file()
    bench.run.main(["--from-json", str(tmp_path / "results.json"),
                    "--output", str(tmp_path / "told" / "report.md")])
    assert (tmp_path / "told" / "report.md").read_text() == (tmp_path / "first.md").read_text()
    assert (tmp_path / "told" / "results.json").is_file()


def test_pytest_benchmark_suite_runs_from_any_directory(tmp_path):
    pytest.importorskip("pytest_benchmark")
    command = [sys.executable, "-m", "pytest", "--pyargs", "pynn.bench.suite", "-q",
               "-p", "no:cacheprovider"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(bench.__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run(command + ["--collect-only"], cwd=tmp_path, env=env, check=False,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for case in ("test_gemm[", "test_conv2d_forward_backward[", "test_max_pool2d_forward_backward[",
                 "test_sequence_forward_backward[", "test_training_step["):
        assert case in listed.stdout, case
    # one case for real (timing disabled): the fixtures and the peers work outside the checkout
    one = "test_gemm and 1thr and pynn and square and 64"
    ran = subprocess.run(command + ["--benchmark-disable", "-k", one], cwd=tmp_path, env=env,
                         check=False, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout + ran.stderr


def test_gemm_cpu_time_prints_one_rate_per_shape(capsys):
    from pynn.bench import gemm_cpu_time

    for library in ("pynn", "numpy"):
        gemm_cpu_time.main([library, "1", "8x8x8", "3x5x7", "--float64", "--cpu-time"])
        rates = json.loads(capsys.readouterr().out)
        assert list(rates) == ["8x8x8", "3x5x7"] and all(r > 0 for r in rates.values())


def test_isa_ab_cases_run_on_both_backends():
    from pynn.bench import isa_ab

    for kernels in (compiled, reference):
        cases = isa_ab.cases(kernels)
        assert "softmax-CE 128x10 fwd+bwd" in cases
        for fn in cases.values():
            fn()


def test_measure_reports_median_and_quartiles():
    sample = bench.measure(lambda: None, repeat=7, warmup=1)
    assert sample["runs"] == 7
    assert 0 <= sample["q1"] <= sample["median"] <= sample["q3"]


def test_measure_batches_short_calls_and_reports_time_per_call():
    calls = []
    quick = bench.measure(lambda: calls.append(1), repeat=3, warmup=0)
    assert quick["calls"] > 1
    assert len(calls) == 1 + 3 * quick["calls"]  # one probe call, then the samples
    assert quick["median"] < MIN_SAMPLE_SECONDS
    slow = bench.measure(lambda: time.sleep(1.5 * MIN_SAMPLE_SECONDS), repeat=3, warmup=0)
    assert slow["calls"] == 1
    assert slow["median"] >= 1.5 * MIN_SAMPLE_SECONDS


def _recording(order, name):
    return lambda: order.append(name)


def test_measure_together_interleaves_the_libraries_in_rounds(monkeypatch):
    monkeypatch.setattr(bench.timing, "MIN_SAMPLE_SECONDS", 0.0)  # one call per sample
    monkeypatch.setattr(bench.timing, "_pinned_threads", 1)
    order = []
    samples = bench.measure_together({"a": _recording(order, "a"), "absent": None,
                                      "b": _recording(order, "b")}, repeat=6, warmup=1, rounds=3)
    assert list(samples) == ["a", "absent", "b"] and samples["absent"] is None
    for name in ("a", "b"):
        assert samples[name]["runs"] == 6 and samples[name]["calls"] == 1
        assert 0 <= samples[name]["q1"] <= samples[name]["median"] <= samples[name]["q3"]
    # round 1: warm-up, calibration, 2 samples; later rounds: a re-warming call, 2 samples
    assert order == ["a"] * 4 + ["b"] * 4 + (["a"] * 3 + ["b"] * 3) * 2


def test_measure_together_spreads_repeat_and_time_over_the_rounds(monkeypatch):
    monkeypatch.setattr(bench.timing, "MIN_SAMPLE_SECONDS", 0.0)
    monkeypatch.setattr(bench.timing, "_pinned_threads", 1)
    fns = {"a": lambda: None, "b": lambda: None}
    assert bench.measure_together(fns, repeat=10, rounds=3)["a"]["runs"] == 10
    # no time at all: the minimum of samples, one per round, still alternating
    order = []
    spent = bench.measure_together({"a": _recording(order, "a"), "b": _recording(order, "b")},
                                   repeat=15, warmup=0, max_seconds=0.0, rounds=3)
    assert spent["a"]["runs"] == spent["b"]["runs"] == bench.timing.MIN_SAMPLES == 3
    assert order == ["a", "a", "b", "b"] * 3


@pytest.mark.parametrize("threads, pauses", [(1, 0), (2, 6)])
def test_measure_together_settles_between_libraries_only_with_threads(monkeypatch, threads,
                                                                       pauses):
    monkeypatch.setattr(bench.timing, "MIN_SAMPLE_SECONDS", 0.0)
    monkeypatch.setattr(bench.timing, "_pinned_threads", threads)
    slept = []
    monkeypatch.setattr(bench.timing.time, "sleep", slept.append)
    bench.measure_together({"a": lambda: None, "b": lambda: None}, repeat=3, rounds=3)
    assert slept == [bench.timing.SETTLE_SECONDS] * pauses  # one per switch of library


def _tiny_mnist(n_train=2000, n_test=200):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_train + n_test, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n_train + n_test)
    x[np.arange(len(y)), 0, y, y] += 8.0  # a learnable mark: a bright pixel on the diagonal
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def test_mnist_run_learns_and_records_its_curve():
    result = bench.train_and_evaluate("pynn", "mlp", "sgd", _tiny_mnist(), epochs=2,
                                      evals_per_epoch=2)
    times = [t for t, _ in result["curve"]]
    assert len(result["curve"]) == 1 + 2 * 2
    assert times == sorted(times) and times[0] == 0.0
    assert len(result["epoch_seconds"]) == 2
    assert result["curve"][0][1] < 0.3
    assert result["accuracy"] > 0.9


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
def test_mnist_runs_start_from_the_same_weights_in_both_libraries():
    import torch

    data = _tiny_mnist()
    ours = bench.Trainer("pynn", "cnn", "adam")
    for library in ("torch", "torch_cl"):
        theirs = bench.Trainer(library, "cnn", "adam", torch)
        assert ours.accuracy(data[2], data[3]) == theirs.accuracy(data[2], data[3])
        for key, value in ours.model.state_dict().items():
            np.testing.assert_array_equal(theirs.model.state_dict()[key].numpy(), value)


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
def test_torch_inputs_have_the_layout_asked_for_whatever_numpy_strides():
    import torch

    images = np.zeros((6, 28, 28), np.float32)
    for batch in (images[:, None], images.reshape(6, 1, 28, 28), images[[0, 2, 4]][:, None]):
        nchw = bench.training.torch_input(torch, batch, "torch")
        nhwc = bench.training.torch_input(torch, batch, "torch_cl")
        assert nchw.stride() == (784, 784, 28, 1)
        assert nhwc.stride() == (784, 1, 28, 1)


@pytest.mark.parametrize("channels_last", [False, True])
def test_conv_pool_block_steps_compute_the_same_gradients(channels_last):
    """The fused block's benchmark times the same work in pynn (both backends) and PyTorch."""
    torch = pytest.importorskip("torch")
    _, x_shape, w_shape = bench.CONV_POOL_LAYERS[0]
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32)
               for s in ((2,) + x_shape[1:], w_shape, (w_shape[0],)))
    dw_t, db_t = bench.torch_conv_pool_step(torch, x, w, b, channels_last)()
    for kernels in (compiled, reference):
        dw, db = bench.conv_pool_step(kernels, x, w, b)()
        np.testing.assert_allclose(dw, dw_t.numpy(), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(db, db_t.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("case", bench.SEQUENCE_LAYERS, ids=lambda c: c[1])
def test_sequence_step_fills_every_gradient(case):
    _, name, shape = case
    step = bench.sequence_step("pynn", name, (2,) + shape[1:])
    step()
    for key, param in step.layer.named_parameters():
        assert param.grad is not None and np.any(param.grad.numpy() != 0), key


@needs_mnist
def test_mnist_arrays_are_normalised_images_and_labels():
    x_train, y_train, x_test, y_test = bench.load_mnist_arrays(DATA_DIR, 500, 200)
    assert x_train.shape == (500, 1, 28, 28) and x_test.shape == (200, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert abs(float(x_train.mean())) < 0.1 and 0.8 < float(x_train.std()) < 1.2
    assert set(np.unique(y_test)) == set(range(10))


def test_distributed_worker_and_report(capsys, monkeypatch):
    """The data-parallel bench's rank code in a world of one, then its tables from results
    of the shape run() returns (the mpiexec launches are exercised by tests/distributed)."""
    import json

    from pynn.bench import distributed

    monkeypatch.setattr(distributed, "STEPS", 3)
    monkeypatch.setattr(distributed, "WARMUP", 1)
    distributed.main(["--worker", "train", "8", "ddp"])
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["world"] == 1 and row["step"] > 0 and row["images_per_s"] == 8 / row["step"]
    assert row["grad_bytes"] == 4 * (30 * 25 + 30 + 4320 * 100 + 100 + 100 * 10 + 10)
    two = dict(row, world=2, threads=1, allreduce=0.001, local_step=row["step"] / 2)
    text = distributed.report({"batch": 8, "train": [row, row, two],
                               "allreduce": {"1024": 1e-5, "4096": 2e-5}})
    assert "| 2 x 1 | yes |" in text and "| 4,096 | 0.020 | 0.20 |" in text
    assert "hidden by backward" in text
