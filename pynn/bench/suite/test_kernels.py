"""Convolution, convolution -> ReLU -> max-pool, max-pool and softmax-cross-entropy,
forward + backward: pynn against PyTorch (when installed) and against pynn's NumPy
reference, on the MNIST-sized cases of ``pynn.bench`` (``python -m pynn.bench`` prints the
same comparison as a table)."""

import numpy as np
import pytest

from pynn import bench
from pynn.backend import compiled, reference

LIBRARIES = ["pynn", "torch", "reference"]


def _library(name, peers):
    if name == "torch" and peers.torch is None:
        pytest.skip("PyTorch is not installed")
    return name


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("layer", bench.CONV_LAYERS, ids=lambda c: c[0])
def test_conv2d_forward_backward(benchmark, peers, threads, layer, library):
    _library(library, peers)
    _, x_shape, w_shape, padding, needs_dx = layer
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape,
                                                                    (w_shape[0],)))
    if library == "torch":
        step = bench.torch_conv_step(peers.torch, x, w, b, padding, needs_dx)
    else:
        kernels = compiled if library == "pynn" else reference
        step = bench.conv_step(kernels, x, w, b, padding, needs_dx)
    benchmark(step)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("layer", bench.CONV_POOL_LAYERS, ids=lambda c: c[0])
def test_conv_relu_maxpool_forward_backward(benchmark, peers, threads, layer, library):
    _library(library, peers)
    _, x_shape, w_shape = layer
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape,
                                                                    (w_shape[0],)))
    if library == "torch":
        benchmark(bench.torch_conv_pool_step(peers.torch, x, w, b))
    else:
        benchmark(bench.conv_pool_step(compiled if library == "pynn" else reference, x, w, b))


@pytest.mark.parametrize("library", LIBRARIES)
def test_max_pool2d_forward_backward(benchmark, peers, threads, library):
    _library(library, peers)
    x = np.random.default_rng(0).standard_normal(bench.POOL_INPUT).astype(np.float32)
    if library == "torch":
        benchmark(bench.torch_pool_step(peers.torch, x))
    else:
        benchmark(bench.pool_step(compiled if library == "pynn" else reference, x))


@pytest.mark.parametrize("library", LIBRARIES)
def test_softmax_cross_entropy_forward_backward(benchmark, peers, threads, library):
    _library(library, peers)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(bench.XENT_SHAPE).astype(np.float32)
    labels = rng.integers(0, bench.XENT_SHAPE[1], bench.XENT_SHAPE[0])
    if library == "torch":
        benchmark(bench.torch_xent_step(peers.torch, logits, labels))
    else:
        benchmark(bench.xent_step(compiled if library == "pynn" else reference, logits, labels))
