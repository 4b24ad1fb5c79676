"""LSTM, GRU, self-attention and a Transformer encoder layer, forward + backward: pynn against
PyTorch (when installed), on the cases of ``pynn.bench.SEQUENCE_LAYERS``."""

import pytest

from pynn import bench


@pytest.mark.parametrize("library", ["pynn", "torch"])
@pytest.mark.parametrize("case", bench.SEQUENCE_LAYERS, ids=lambda c: c[1])
def test_sequence_forward_backward(benchmark, peers, threads, case, library):
    if library == "torch" and peers.torch is None:
        pytest.skip("PyTorch is not installed")
    _, name, shape = case
    benchmark(bench.sequence_step(library, name, shape, peers.torch))
