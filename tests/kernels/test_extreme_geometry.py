"""Geometries far outside the usual (strides and paddings of 2**31 to 2**63 - 1, windows of
2**40): the compiled kernels must neither crash nor hang, and must give the answer the small
cases imply, or refuse what does not fit their 64-bit indices with a clear error. The NumPy
reference cannot run most of them (it materialises the padding: numpy refuses the array), so
the expectations are worked out by hand, and against PyTorch where it can run them."""

import re

import numpy as np
import pytest
from helpers import DTYPES, assert_same_error

import pynn
import pynn.nn.functional as F
from pynn import nn

INDEX_MAX = 2**63 - 1


def test_pooled_convolution_with_huge_stride_and_padding():
    """Padding 2**31 - 2 and stride 2**31 around a 4 x 4 image: every output reads at most
    one corner of the image. The fused kernels' padded copy of the image would need 2**64
    values; they must decline it (they segfaulted) and the plain path give the gradients."""
    conv = nn.Conv2d(1, 1, 3, stride=2**31, padding=2**31 - 2)
    model = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2))
    x = pynn.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), requires_grad=True)
    y = model(x)
    y.sum().backward()
    assert y.shape == (1, 1, 1, 1)
    w, b = conv.weight.detach().numpy()[0, 0], conv.bias.detach().numpy()[0]
    xs = x.detach().numpy()[0, 0]
    # Output row and column 1 start at 2**31 - (2**31 - 2) = 2: the last output's window
    # holds x[2:4, 2:4] under w[0:2, 0:2]; the other three lie in the padding (the bias).
    corner = float((w[:2, :2] * xs[2:, 2:]).sum() + b)
    assert np.isclose(y.item(), max(corner, b, 0.0), rtol=1e-5)
    expected_grad = np.zeros((4, 4), np.float32)
    if corner > max(b, 0.0):
        expected_grad[2:, 2:] = w[:2, :2]
    np.testing.assert_allclose(x.grad.numpy()[0, 0], expected_grad, rtol=1e-5, atol=1e-6)
    torch = pytest.importorskip("torch")
    tconv = torch.nn.Conv2d(1, 1, 3, stride=2**31, padding=2**31 - 2)
    with torch.no_grad():
        tconv.weight.copy_(torch.from_numpy(conv.weight.detach().numpy()))
        tconv.bias.copy_(torch.from_numpy(conv.bias.detach().numpy()))
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()
    ty = torch.nn.MaxPool2d(2)(torch.relu(tconv(tx)))
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_window_wider_than_any_row(dtype):
    """A 2**40 window with 2**39 padding on a 1 x 1 image: two windows a side, each holding
    the one value. The interior sweep ran over the whole window width (a hang)."""
    from pynn.backend import get

    y, idx = get("compiled").max_pool2d_forward(np.full((1, 1, 1, 1), 3.0, dtype), 2**40, 1,
                                                2**39)
    assert y.shape == (1, 1, 2, 2) and (y == 3).all() and (idx == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_window_whose_area_exceeds_int64(dtype):
    """A 2**40 x 2**40 window's area, 2**80, overflowed int64: count_include_pad divided by
    the wrapped area, 0, and every output was inf. Each of the four windows holds the one
    value 3."""
    x = pynn.tensor(np.full((1, 1, 1, 1), 3.0, dtype), requires_grad=True)
    for include_pad, divisor in ((True, 2.0**80), (False, 1.0)):
        x.grad = None
        y = F.avg_pool2d(x, 2**40, stride=1, padding=2**39, count_include_pad=include_pad)
        y.sum().backward()
        assert y.shape == (1, 1, 2, 2)
        np.testing.assert_allclose(y.detach().numpy(), np.full((1, 1, 2, 2), 3 / divisor),
                                   rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), [[[[4 / divisor]]]], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:TF32 acceleration")  # torch.backends.mkldnn.flags
@pytest.mark.parametrize("backend", ["compiled", "reference"])
def test_stride_near_int64_max(backend):
    """Stride 2**63 - 1 with padding 2 on a 3 x 3 image, 5 x 5 windows: one window, over the
    whole image. The first valid output, ceil(padding / stride), was computed as
    (padding + stride - 1) / stride, which overflowed: the convolution and im2col segfaulted,
    max pooling wrote before its output row. Both backends, against PyTorch's convolution
    and the pooling worked out by hand (PyTorch's pooling takes no such stride)."""
    before = pynn.get_backend()
    pynn.set_backend(backend)
    try:
        rng = np.random.default_rng(5)
        xs = rng.standard_normal((1, 1, 3, 3))
        ws = rng.standard_normal((1, 1, 5, 5))
        x = pynn.tensor(xs, requires_grad=True)
        w = pynn.tensor(ws, requires_grad=True)
        y = F.conv2d(x, w, stride=INDEX_MAX, padding=2)
        y.sum().backward()
        # The window starts at row and column -2: the image meets w[2:, 2:].
        np.testing.assert_allclose(y.detach().numpy(), [[[[(xs[0, 0] * ws[0, 0, 2:, 2:]).sum()]]]])
        np.testing.assert_allclose(x.grad.numpy()[0, 0], ws[0, 0, 2:, 2:])
        expected_dw = np.zeros((5, 5))
        expected_dw[2:, 2:] = xs[0, 0]
        np.testing.assert_allclose(w.grad.numpy()[0, 0], expected_dw)

        x.grad = None
        y = F.max_pool2d(x, 5, stride=INDEX_MAX, padding=2)
        y.sum().backward()
        assert y.item() == xs.max()
        np.testing.assert_array_equal(x.grad.numpy(), (xs == xs.max()).astype(float))

        x.grad = None
        y = F.avg_pool2d(x, 5, stride=INDEX_MAX, padding=2)
        y.sum().backward()
        np.testing.assert_allclose(y.item(), xs.sum() / 25)
        np.testing.assert_allclose(x.grad.numpy(), np.full((1, 1, 3, 3), 1 / 25))
    finally:
        pynn.set_backend(before)
    torch = pytest.importorskip("torch")
    with torch.backends.mkldnn.flags(enabled=False):  # oneDNN refuses the stride
        ty = torch.nn.functional.conv2d(torch.from_numpy(xs), torch.from_numpy(ws),
                                        stride=INDEX_MAX, padding=2)
    np.testing.assert_allclose(ty.numpy(), [[[[(xs[0, 0] * ws[0, 0, 2:, 2:]).sum()]]]])


@pytest.mark.parametrize("pooled", [False, True])
def test_convolution_whose_padded_rows_overflow_int64_offsets(pooled):
    """Padding 2**61 and stride 2**62 around a 4 x 4 image: the padded image has 2**124
    values, and the offset of a padding row (2**61 rows of 4) overflows int64, though every
    window of the output either misses the image or lies in it. im2col and col2im form their
    offsets from rows inside the image; the pooled convolution's argmax kernels, whose padded
    copy cannot exist, decline. Against PyTorch, forward and backward (pynn's part runs
    first, so that the sanitiser runs, which leave PyTorch out, still exercise it)."""
    conv = nn.Conv2d(1, 2, 3, stride=2**62, padding=2**61)
    layers = [conv, nn.ReLU(), nn.MaxPool2d(2)] if pooled else [conv]
    model = nn.Sequential(*layers)
    xs = np.random.default_rng(7).standard_normal((1, 1, 4, 4)).astype(np.float32)
    x = pynn.tensor(xs, requires_grad=True)
    y = model(x)
    y.sum().backward()

    torch = pytest.importorskip("torch")
    tconv = torch.nn.Conv2d(1, 2, 3, stride=2**62, padding=2**61)
    with torch.no_grad():
        tconv.weight.copy_(torch.from_numpy(conv.weight.detach().numpy()))
        tconv.bias.copy_(torch.from_numpy(conv.bias.detach().numpy()))
    tlayers = [tconv, torch.nn.ReLU(), torch.nn.MaxPool2d(2)] if pooled else [tconv]
    tx = torch.from_numpy(xs.copy()).requires_grad_()
    ty = torch.nn.Sequential(*tlayers)(tx)
    ty.sum().backward()
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv.weight.grad.numpy(), tconv.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


_X = np.ones((1, 1, 4, 4), np.float32)
_W = np.ones((1, 1, 3, 3), np.float32)
_PAD = "padded input (4 + 2*4611686018427387904) exceeds the 64-bit index range (2**63 - 1)"
_STRIDE = "stride 9223372036854775808 exceeds the 64-bit index range (2**63 - 1)"


@pytest.mark.parametrize("kernel, args, message", [
    ("conv2d_forward", (_X, _W, None, 1, 2**62), _PAD),
    ("conv2d_forward", (_X, _W, None, 2**63), _STRIDE),
    ("conv2d_forward", (_X, _W, None, 1, 0, 2**62),
     "kernel (dilated extent 9223372036854775809)"),
    ("conv2d_backward", (_X, _W, np.ones((1, 1, 2, 2), np.float32), 2**63), _STRIDE),
    ("conv2d_maxpool_forward", (_X, _W, None, 1, 0, 1, False, 2, 2**63), _STRIDE),
    ("max_pool2d_forward", (_X, 2**63, None, 2**62), _PAD),
    ("avg_pool2d_forward", (_X, 3, 2**63), _STRIDE),
    ("avg_pool2d_backward", (np.ones((1, 1, 1, 1), np.float32), (1, 1, 4, 4), 3, 2**63),
     _STRIDE),
    ("im2col", (_X, 3, 1, 2**62), _PAD),
], ids=lambda v: v if isinstance(v, str) and "_" in v else "")
def test_geometry_beyond_int64_is_refused(kernel, args, message):
    """A padded input, window or stride that int64 cannot hold: both backends refuse it with
    one message (Cython raised OverflowError, or the kernels indexed with wrapped sums)."""
    assert_same_error(kernel, args, ValueError, message)


@pytest.mark.parametrize("make", [
    lambda x: F.conv2d(x, pynn.ones(1, 1, 3, 3), stride=2**63),
    lambda x: nn.Conv2d(1, 1, 3, padding=2**62)(x),
    lambda x: nn.MaxPool2d(2**63, padding=2**62)(x),
    lambda x: F.max_pool2d(x, 3, stride=2**63),
    lambda x: nn.AvgPool2d(3, stride=2**63)(x),
], ids=["F.conv2d", "Conv2d", "MaxPool2d", "F.max_pool2d", "AvgPool2d"])
def test_public_layers_refuse_geometry_beyond_int64(make):
    with pytest.raises(ValueError, match="exceeds the 64-bit index range"):
        make(pynn.ones(1, 1, 4, 4))


def test_padding_beyond_int64_is_refused_by_pytorch_too():
    """The refusal matches PyTorch's, whose limit is the same (padding at most
    (2**63 - 1) / 2)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="padding"):
        torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3),
                                   padding=2**62)


@pytest.mark.parametrize("out_hw", [(2**32, 2**32), (2**31, 2**31)],
                         ids=["plane-overflows", "columns-overflow"])
def test_convolution_kernel_checks_its_size_products(out_hw):
    """Below the checks of the Python layer, the C kernels check every size they form: given
    a geometry whose output plane (2**64 positions) or column buffer (9 * 2**62 values) does
    not fit in int64, they report it as memory that cannot be had, naming the sizes, and
    write nothing (a wrapped size allocated a buffer too small for what was then written)."""
    from pynn.backend import _native, compiled

    x, w = _X.copy(), _W.reshape(1, 9).copy()
    args = ((3, 3), (1, 1), (0, 0), (1, 1), out_hw)
    y = np.full((1, 1, 2, 2), 7.0, np.float32)
    sizes = re.escape(f"output size {out_hw}")
    with pytest.raises(MemoryError, match=r"conv2d_forward: out of memory .*" + sizes):
        _native.conv2d_forward(x, w, None, *args, False, None, y, None, compiled._isa, 1)
    assert (y == 7).all()
    dx, dw = np.full_like(x, 7.0), np.full_like(w, 7.0)
    with pytest.raises(MemoryError, match=r"conv2d_backward: out of memory .*" + sizes):
        _native.conv2d_backward(x, w, y, None, *args, None, None, dx, dw, None, compiled._isa, 1)
    assert (dx == 7).all() and (dw == 7).all()
