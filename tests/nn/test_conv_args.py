"""Convolution arguments, checked in one place (``_check_operands``) for the functional ops
and the layers: the errors name the op or the layer, and empty convolutions do what
PyTorch's do."""

import re

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import backend, nn


def _t(shape, dtype=np.float32, grad=False):
    return pynn.tensor(np.zeros(shape, dtype), requires_grad=grad)


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Conv2d(3, 8, 3), (2, 4, 8, 8), r"Conv2d\(3, 8.*3 channels.*\(2, 4, 8, 8\)"),
    (nn.Conv2d(3, 8, 3), (2, 3, 8), None),  # unbatched (C, H, W): C = 2
    (nn.Conv2d(3, 8, 3), (8, 8), r"Conv2d\(3, 8.*4-D.*\(8, 8\)"),
    (nn.Conv1d(3, 4, 3), (2, 5, 9), r"Conv1d\(3, 4.*3 channels.*\(2, 5, 9\)"),
    (nn.Conv1d(3, 4, 3), (2, 2, 3, 9), r"Conv1d\(3, 4.*3-D.*\(2, 2, 3, 9\)"),
    (nn.ConvTranspose2d(3, 2, 3), (5, 5), r"ConvTranspose2d\(3, 2.*4-D.*\(5, 5\)"),
    (nn.ConvTranspose2d(3, 2, 3), (1, 2, 5, 5), r"ConvTranspose2d\(3, 2.*3 channels"),
    (nn.ConvTranspose1d(4, 2, 3, groups=2), (1, 3, 5), r"ConvTranspose1d\(4, 2.*4 channels"),
    (nn.Conv2d(4, 6, 3, groups=2), (1, 3, 5, 5), r"Conv2d\(4, 6.*4 channels"),
])
def test_layer_errors_name_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match=message or r"Conv2d\(3, 8.*3 channels.*\(2, 3, 8\)"):
        layer(_t(shape))


def test_layer_dtype_error_names_the_layer():
    with pytest.raises(TypeError, match=r"Conv1d\(2, 2.*float64.*float32"):
        nn.Conv1d(2, 2, 3)(_t((1, 2, 5), np.float64))


def test_parametrized_layer_checks_its_input_against_its_configuration():
    conv = nn.Conv2d(3, 4, 3)
    nn.utils.parametrizations.weight_norm(conv)
    assert conv(_t((1, 3, 5, 5))).shape == (1, 4, 3, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*3 channels.*\(1, 2, 5, 5\)"):
        conv(_t((1, 2, 5, 5)))


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv1d(_t((1, 3, 8)), _t((4, 2, 3))),
     "conv1d: input has 3 channels but weight expects 2"),
    (lambda: F.conv1d(_t((1, 3, 8)), _t((4, 3, 3, 3))),
     "conv1d: weight must have shape (out_channels, in_channels / groups, k), got (4, 3, 3, 3)"),
    (lambda: F.conv1d(_t((3, 8, 1, 1)), _t((4, 3, 3))),
     "conv1d: input must have shape (N, C, L) or (C, L), got (3, 8, 1, 1)"),
    (lambda: F.conv2d(_t((1, 4, 8, 8)), _t((3, 2, 3, 3)), groups=2),
     "conv2d: groups=2 must divide the input channels (4) and the weight's first dimension (3)"),
    (lambda: F.conv2d(_t((1, 3, 8, 8)), _t((4, 3, 3, 3)), _t(3)),
     "conv2d: bias must have shape (4,), got (3,)"),
    (lambda: F.conv_transpose2d(_t((1, 3, 4, 4)), _t((3, 2, 3, 3)), _t(3)),
     "conv_transpose2d: bias must have shape (2,), got (3,)"),
    (lambda: F.conv_transpose2d(_t((1, 4, 4, 4)), _t((4, 2, 3, 3)), _t(3), groups=2),
     "conv_transpose2d: bias must have shape (4,), got (3,)"),
    (lambda: F.conv_transpose1d(_t((1, 2, 4)), _t((3, 2, 3))),
     "conv_transpose1d: input has 2 channels but weight expects 3"),
    (lambda: F.conv2d(_t((1, 3, 8, 8)), _t((4, 3, 3, 3), np.float64)),
     "conv2d: weight has dtype float64 but input has float32"),
])
def test_functional_errors_name_the_op(call, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        call()


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (3, 8, 8)])
def test_no_output_channels_is_refused_as_pytorch_refuses_it(shape):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="expected weight to be at least 1 at dimension 0"):
        torch.nn.functional.conv2d(torch.zeros(shape), torch.zeros(0, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected weight to be at least 1 at "
                                         r"dimension 0, but got weight of shape \(0, 3, 3, 3\)"):
        F.conv2d(_t(shape), _t((0, 3, 3, 3)))


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_kernel_refuses_no_output_channels(name):
    k = backend.get(name)
    with pytest.raises(ValueError, match=r"conv2d_forward: w has zero output channels"):
        k.conv2d_forward(np.zeros((1, 3, 5, 5), np.float32), np.zeros((0, 3, 3, 3), np.float32))


def _empty_cases(torch):
    tf = torch.nn.functional
    return [
        ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1),
         lambda x, w, b: tf.conv2d(x, w, b, padding=1), (0, 3, 7, 6), (4, 3, 3, 3), 4),
        ("conv2d groups", lambda x, w, b: F.conv2d(x, w, b, stride=2, groups=2),
         lambda x, w, b: tf.conv2d(x, w, b, stride=2, groups=2), (0, 4, 7, 6), (6, 2, 3, 3), 6),
        ("conv1d", lambda x, w, b: F.conv1d(x, w, b), lambda x, w, b: tf.conv1d(x, w, b),
         (0, 3, 9), (4, 3, 3), 4),
        ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2),
         lambda x, w, b: tf.conv_transpose2d(x, w, b, stride=2), (0, 3, 4, 5), (3, 2, 3, 3),
         2),
        ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b),
         lambda x, w, b: tf.conv_transpose1d(x, w, b), (0, 3, 4), (3, 2, 3), 2),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(5))
def test_empty_batch_gives_empty_outputs_and_zero_gradients_as_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    name, ours, theirs, x_shape, w_shape, out = _empty_cases(torch)[case]
    rng = np.random.default_rng(case)
    x = np.zeros(x_shape, dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(out).astype(dtype)
    px, pw, pb = (pynn.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y, ty = ours(px, pw, pb), theirs(tx, tw, tb)
    assert tuple(y.shape) == tuple(ty.shape), name
    y.sum().backward()
    ty.sum().backward()
    for mine, ref in ((px, tx), (pw, tw), (pb, tb)):
        assert mine.grad.shape == tuple(ref.grad.shape)
        np.testing.assert_array_equal(np.asarray(mine.grad), ref.grad.numpy())


@pytest.mark.parametrize("model", [
    lambda: nn.Conv2d(3, 4, 3),
    lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
    lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
])
def test_layers_take_an_empty_batch(model):
    m = model()
    y = m(_t((0, 3, 8, 8), grad=True))
    assert y.shape[0] == 0 and y.shape[1] == 4
    y.sum().backward()
    np.testing.assert_array_equal(np.asarray(next(m.parameters()).grad), 0)
