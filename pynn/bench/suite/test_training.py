"""Training steps (zero_grad, forward, loss, backward, update) of the benchmark models: pynn
against the same model, batch and optimiser in PyTorch (when installed) and against pynn's
layers on its NumPy reference backend. ``python -m pynn.bench`` reports the same cases as
per-epoch times."""

import pytest

import pynn
from pynn import bench

LIBRARIES = ["pynn", "torch", "reference"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("case", bench.TRAINING_CASES, ids=lambda c: c[1])
def test_training_step(benchmark, peers, threads, case, library):
    if library == "torch" and peers.torch is None:
        pytest.skip("PyTorch is not installed")
    _, model, batch, optimiser, _ = case
    previous = pynn.get_backend()
    pynn.set_backend("reference" if library == "reference" else "compiled")
    try:
        step = bench.training_step("torch" if library == "torch" else "pynn", model, batch,
                                   optimiser, peers.torch)
        benchmark(step)
    finally:
        pynn.set_backend(previous)
