"""The benchmark report's training cases: the same models in pynn and PyTorch, steps that run,
the peak-memory probe and the report table. (Speeds are measured by ``python -m pynn.bench``,
never asserted in tests.)"""

import importlib.util
import os

import numpy as np
import pytest

import pynn
from pynn import bench, nn

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("case", bench.TRAINING_CASES, ids=lambda c: c[1])
def test_training_step_changes_every_parameter(case):
    _, model, batch, optimiser, _ = case
    step = bench.training_step("pynn", model, batch, optimiser)
    before = {k: v.copy() for k, v in step.model.state_dict().items()}
    step()
    after = step.model.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        assert not np.array_equal(before[key], after[key]), key


@pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
@pytest.mark.parametrize("case", bench.TRAINING_CASES, ids=lambda c: c[1])
def test_training_models_match_pytorch(case):
    import torch

    model = case[1]
    ours = nn.Sequential(*bench._layers(nn, model)).state_dict()
    theirs = torch.nn.Sequential(*bench._layers(torch.nn, model)).state_dict()
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


def test_report_has_the_training_table():
    class Args:
        quick, threads = True, [1]

    res = {"gemm": [], "conv": [], "other": [],
           "training": [{"case": c[0], "pynn": 0.001, "torch": 0.003}
                        for c in bench.TRAINING_CASES],
           "memory": {"pynn": 30 * 2**20, "torch": 70 * 2**20}}
    text = bench.render({1: res}, Args(), [], 40.0)
    assert "| MLP 784-100-10, SGD | 0.6 s | 1.8 s |  | 3.00x |  |" in text
    assert "| tiny MLP 10-10-10, batch 1, SGD | 1000.0 us | 3000.0 us |" in text
    assert "pynn 30 MiB, PyTorch 70 MiB" in text


@pytest.mark.parametrize("case", bench.SEQUENCE_LAYERS, ids=lambda c: c[1])
def test_sequence_step_fills_every_gradient(case):
    _, name, shape = case
    step = bench.sequence_step("pynn", name, (2,) + shape[1:])
    step()
    for key, param in step.layer.named_parameters():
        assert param.grad is not None and np.any(param.grad != 0), key
