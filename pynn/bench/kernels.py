"""Kernel and layer cases: GEMM, convolution, pooling, softmax-cross-entropy, and the
sequence layers, each forward + backward, in pynn, PyTorch and pynn's NumPy reference.

Every row is ``{"case": label, "pynn": sample, "torch": sample or None, "reference": sample
or None}`` with samples from :func:`pynn.bench.timing.measure_together`, which times the
libraries of a row in alternating rounds (GEMM rows add ``"numpy"`` and ``"flops"``)."""

import functools

import numpy as np

import pynn
from pynn.backend import compiled, reference

from .timing import measure, measure_together, on_backend, rng_arrays

SQUARE_SIZES = (64, 128, 256, 512, 1024, 2048)
QUICK_SQUARE_SIZES = (64, 256, 512, 1024)
# (label, m, k, n) for C(m x n) = A(m x k) B(k x n): the MNIST models' GEMMs, and the per-image
# im2col GEMMs (out_channels x C*kh*kw times C*kh*kw x oh*ow) of the convolutions below.
MNIST_GEMMS = (
    ("MLP fc1 100x784 . 784x100", 100, 784, 100),
    ("fc 128x784 . 784x256", 128, 784, 256),
    ("head 128x256 . 256x10", 128, 256, 10),
    ("conv1 im2col 30x25 . 25x576", 30, 25, 576),
    ("conv2 im2col 16x150 . 150x64", 16, 150, 64),
    ("conv3 im2col 64x288 . 288x784", 64, 288, 784),
)
# (label, x shape, w shape, padding, needs_input_grad): the MNIST-sized layers
# and two of a ResNet's.
CONV_LAYERS = (
    ("conv 1->30 5x5, 28x28, batch 128", (128, 1, 28, 28), (30, 1, 5, 5), 0, False),
    ("conv 6->16 5x5, 12x12, batch 128", (128, 6, 12, 12), (16, 6, 5, 5), 0, True),
    ("conv 32->64 3x3 pad 1, 28x28, batch 64", (64, 32, 28, 28), (64, 32, 3, 3), 1, True),
    # a ResNet's later stages: deep filters on small planes (even: Winograd; odd: direct)
    ("conv 128->128 3x3 pad 1, 8x8, batch 64", (64, 128, 8, 8), (128, 128, 3, 3), 1, True),
    ("conv 64->128 3x3 pad 1, 7x7, batch 64", (64, 64, 7, 7), (128, 64, 3, 3), 1, True),
)
# (label, x shape, w shape): convolution -> ReLU -> 2x2 max-pool, the first block of the CNN,
# which pynn's Sequential runs as one fused call (conv2d_maxpool_*) and PyTorch as three.
CONV_POOL_LAYERS = (
    ("conv+ReLU+max-pool 1->30 5x5, 28x28, batch 128", (128, 1, 28, 28), (30, 1, 5, 5)),
)
POOL_INPUT = (128, 30, 24, 24)
XENT_SHAPE = (128, 10)
# (label, layer, input shape): the recurrent and attention cases, batch first.
SEQUENCE_LAYERS = (
    ("LSTM 28->128, 28 steps, batch 100", "lstm", (100, 28, 28)),
    ("GRU 28->128, 28 steps, batch 100", "gru", (100, 28, 28)),
    ("self-attention d128 h4, batch 64 x 64 tokens", "attention", (64, 64, 128)),
    ("Transformer encoder layer d128 h4 ff512, batch 64 x 64 tokens", "encoder", (64, 64, 128)),
)


def bench_gemm(peers, sizes):
    rows = []
    cases = [(f"square {n}", n, n, n) for n in sizes] + list(MNIST_GEMMS)
    for label, m, k, n in cases:
        a, b = rng_arrays((m, k), (k, n))
        out = np.empty((m, n), np.float32)
        fns = {"pynn": functools.partial(compiled.gemm, a, b, out),
               "numpy": functools.partial(np.matmul, a, b, out=out), "torch": None}
        if peers.torch is not None:
            ta, tb, tc = (peers.torch.from_numpy(v) for v in (a, b, out))
            fns["torch"] = functools.partial(peers.torch.matmul, ta, tb, out=tc)
        rows.append({"case": label, "size": n if label.startswith("square") else None,
                     "flops": 2.0 * m * n * k, **measure_together(fns)})
    return rows


def conv_step(kernels, x, w, b, padding, needs_input_grad):
    """Forward and backward of one convolution with a backend's kernels."""
    def step():
        y = kernels.conv2d_forward(x, w, b, 1, padding)
        kernels.conv2d_backward(x, w, y, 1, padding, needs_input_grad=needs_input_grad)

    return step


def conv_pool_step(kernels, x, w, b):
    """Forward and backward of convolution -> ReLU -> 2x2 max-pool with a backend's fused
    kernels, as Sequential runs them (a first layer: no input gradient). The step returns the
    weight and bias gradients of the output's sum of squares / 2."""
    def step():
        y, idx = kernels.conv2d_maxpool_forward(x, w, b, 1, 0, 1, True)
        dy = kernels.relu_backward(y, y)
        _, dw, db = kernels.conv2d_maxpool_backward(x, w, dy, idx, 1, 0, 1,
                                                    needs_input_grad=False)
        return dw, db

    return step


def _torch_conv_operands(torch, x, w, b, needs_input_grad, channels_last):
    """x, w and b as PyTorch leaves, x and w in NCHW or, with ``channels_last``, NHWC."""
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def tensor(a):
        t = torch.from_numpy(a)
        return torch.empty_like(t, memory_format=layout).copy_(t)

    return (tensor(x).requires_grad_(needs_input_grad), tensor(w).requires_grad_(True),
            torch.from_numpy(b).requires_grad_(True))


def torch_conv_step(torch, x, w, b, padding, needs_input_grad, channels_last=False):
    """PyTorch's forward and backward of the convolution, in its default layout (NCHW) or,
    with ``channels_last``, in NHWC (input, weight and output)."""
    tx, tw, tb = _torch_conv_operands(torch, x, w, b, needs_input_grad, channels_last)

    def step():
        tw.grad = tb.grad = tx.grad = None
        y = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
        y.backward(y.detach())

    return step


def torch_conv_pool_step(torch, x, w, b, channels_last=False):
    """PyTorch's convolution -> ReLU -> 2x2 max-pool, forward and backward, returning the
    same gradients as :func:`conv_pool_step`."""
    tx, tw, tb = _torch_conv_operands(torch, x, w, b, False, channels_last)
    functional = torch.nn.functional

    def step():
        tw.grad = tb.grad = None
        y = functional.max_pool2d(functional.relu(functional.conv2d(tx, tw, tb)), 2)
        y.backward(y.detach())
        return tw.grad, tb.grad

    return step


def pool_step(kernels, x):
    def step():
        y, idx = kernels.max_pool2d_forward(x, 2)
        kernels.max_pool2d_backward(y, idx, x.shape)
    return step


def xent_step(kernels, logits, labels):
    def step():
        _loss, probs = kernels.softmax_cross_entropy_forward(logits, labels)
        kernels.softmax_cross_entropy_backward(probs, labels, 1.0)
    return step


def torch_pool_step(torch, x):
    tx = torch.from_numpy(x).requires_grad_(True)

    def step():
        tx.grad = None
        y = torch.nn.functional.max_pool2d(tx, 2)
        y.backward(y.detach())
    return step


def torch_xent_step(torch, logits, labels):
    tl = torch.from_numpy(logits).requires_grad_(True)
    tlab = torch.from_numpy(labels)

    def step():
        tl.grad = None
        torch.nn.functional.cross_entropy(tl, tlab).backward()
    return step


def bench_layers(peers, with_reference):
    """Convolutions, the fused convolution block, max-pooling and softmax-cross-entropy,
    forward + backward."""
    cases = []
    for label, x_shape, w_shape, padding, needs_dx in CONV_LAYERS:
        x, w, b = rng_arrays(x_shape, w_shape, (w_shape[0],))
        cases.append((label,
                      lambda k, x=x, w=w, b=b, p=padding, d=needs_dx: conv_step(k, x, w, b, p, d),
                      lambda t, cl, x=x, w=w, b=b, p=padding, d=needs_dx:
                          torch_conv_step(t, x, w, b, p, d, channels_last=cl)))
    for label, x_shape, w_shape in CONV_POOL_LAYERS:
        x, w, b = rng_arrays(x_shape, w_shape, (w_shape[0],))
        cases.append((label, lambda k, x=x, w=w, b=b: conv_pool_step(k, x, w, b),
                      lambda t, cl, x=x, w=w, b=b: torch_conv_pool_step(t, x, w, b, cl)))
    (x,) = rng_arrays(POOL_INPUT)
    (logits,) = rng_arrays(XENT_SHAPE)
    labels = np.random.default_rng(1).integers(0, XENT_SHAPE[1], XENT_SHAPE[0])
    cases.append((f"max-pool 2x2 {POOL_INPUT}", lambda k: pool_step(k, x),
                  lambda t, cl: torch_pool_step(t, x)))
    cases.append((f"softmax-CE {XENT_SHAPE}", lambda k: xent_step(k, logits, labels),
                  lambda t, cl: torch_xent_step(t, logits, labels)))
    rows = []
    for label, ours, theirs in cases:
        fns = {"pynn": ours(compiled), "torch": None, "torch_cl": None}
        if peers.torch is not None:
            fns["torch"] = theirs(peers.torch, False)
            if label.startswith("conv"):
                fns["torch_cl"] = theirs(peers.torch, True)
        row = {"case": label, **measure_together(fns), "reference": None}
        if with_reference:
            row["reference"] = measure(ours(reference), repeat=5, warmup=1)
        rows.append(row)
    return rows


def _sequence_layer(nn, name):
    if name == "lstm":
        return nn.LSTM(28, 128, batch_first=True)
    if name == "gru":
        return nn.GRU(28, 128, batch_first=True)
    if name == "attention":
        return nn.MultiheadAttention(128, 4, batch_first=True)
    return nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0,
                                      batch_first=True)


def sequence_step(library, name, shape, torch=None):
    """A closure running forward and backward (gradient of the output's sum) of the layer,
    input gradient included, in "pynn" (on the active backend) or "torch". The layer is
    ``step.layer``."""
    (x,) = rng_arrays(shape)
    if library == "torch":
        layer = _sequence_layer(torch.nn, name)
        tx = torch.from_numpy(x).requires_grad_(True)
    else:
        from pynn import nn

        layer = _sequence_layer(nn, name)
        tx = pynn.tensor(x, requires_grad=True)

    def forward():
        if name == "attention":
            return layer(tx, tx, tx, need_weights=False)[0]
        out = layer(tx)
        return out[0] if isinstance(out, tuple) else out

    def step():
        layer.zero_grad()
        tx.grad = None
        forward().sum().backward()

    step.layer = layer
    return step


def bench_sequence(peers, with_reference):
    rows = []
    for label, name, shape in SEQUENCE_LAYERS:
        fns = {"pynn": sequence_step("pynn", name, shape), "torch": None}
        if peers.torch is not None:
            fns["torch"] = sequence_step("torch", name, shape, peers.torch)
        row = {"case": label, "torch": None, "torch_cl": None, "reference": None,
               **measure_together(fns, repeat=10)}
        if with_reference:
            with on_backend("reference"):
                row["reference"] = measure(sequence_step("pynn", name, shape), repeat=3,
                                           warmup=1)
        rows.append(row)
    return rows
