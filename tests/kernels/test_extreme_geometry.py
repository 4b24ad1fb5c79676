"""Geometries far outside the usual (strides and paddings of 2**31, windows of 2**40): the
compiled kernels must neither crash nor hang, and must give the answer the small cases
imply. The NumPy reference cannot run them (it materialises the padding), so the
expectations are worked out by hand, and against PyTorch where it can run them."""

import numpy as np
import pytest

import pynn
from pynn import nn


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
