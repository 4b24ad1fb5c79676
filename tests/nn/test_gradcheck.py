"""Finite-difference gradient checks (float64) of every layer with parameters, and of the
functional ops this package added, in both backends."""

import numpy as np
import pytest

import pynn
import pynn.functional as F
from pynn import nn


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


LAYERS = {
    "linear": (lambda: nn.Linear(3, 4), (2, 3)),
    "linear_3d_input": (lambda: nn.Linear(3, 2), (2, 2, 3)),
    "linear_no_bias": (lambda: nn.Linear(3, 2, bias=False), (2, 3)),
    "conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
    "conv2d_no_bias_dilated": (lambda: nn.Conv2d(2, 2, 2, dilation=2, bias=False), (1, 2, 5, 5)),
    "conv2d_unbatched": (lambda: nn.Conv2d(1, 2, 3, padding="same"), (1, 4, 4)),
    "batchnorm1d_2d": (lambda: nn.BatchNorm1d(3), (5, 3)),
    "batchnorm1d_3d": (lambda: nn.BatchNorm1d(3), (3, 3, 4)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(2), (3, 2, 3, 3)),
    "batchnorm1d_no_bias": (lambda: nn.BatchNorm1d(3, bias=False), (4, 3)),
    "batchnorm2d_no_affine": (lambda: nn.BatchNorm2d(2, affine=False), (3, 2, 2, 3)),
    "batchnorm2d_no_running_stats": (lambda: nn.BatchNorm2d(2, track_running_stats=False),
                                     (2, 2, 2, 3)),
    "layernorm": (lambda: nn.LayerNorm(4), (3, 4)),
    "layernorm_2d_shape": (lambda: nn.LayerNorm((2, 3)), (2, 2, 2, 3)),
    "layernorm_no_affine": (lambda: nn.LayerNorm(5, elementwise_affine=False), (3, 5)),
    "layernorm_no_bias": (lambda: nn.LayerNorm(5, bias=False), (3, 5)),
    "sequential_fused_relu": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(),
                                                    nn.Linear(4, 2)), (3, 3)),
    "sequential_conv_relu_pool": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8, 2), nn.Tanh()), (2, 1, 4, 4)),
    "sequential_conv_pool_relu": (lambda: nn.Sequential(
        nn.Conv2d(2, 3, (3, 2), padding=1), nn.MaxPool2d(3, 2, 1), nn.ReLU()), (2, 2, 5, 6)),
    "sequential_conv_pool_no_bias": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, bias=False), nn.MaxPool2d(2)), (1, 1, 6, 7)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck(name, each_backend, gradcheck_module):
    pynn.manual_seed(0)
    make, shape = LAYERS[name]
    module = make()
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        # affine parameters away from their ones/zeros init, so dx depends on them
        for p in module.parameters():
            p.data[...] = np.random.default_rng(3).uniform(0.5, 1.5, p.shape)
    gradcheck_module(module, _x(*shape))


@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d])
def test_batchnorm_eval_gradcheck(cls, each_backend, gradcheck_module):
    shape = (3, 2) if cls is nn.BatchNorm1d else (2, 2, 2, 2)
    bn = cls(2)
    bn.running_mean[...] = [0.3, -0.2]
    bn.running_var[...] = [1.5, 0.4]
    bn.weight.data[...] = [1.2, -0.7]
    bn.eval()
    gradcheck_module(bn, _x(*shape))


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multi_margin_loss_gradcheck(p, weighted, reduction):
    x = pynn.tensor(_x(4, 5), requires_grad=True)
    target = np.array([0, 3, 4, 1])
    weight = np.array([1.0, 2.0, 0.5, 1.5, 3.0]) if weighted else None
    out = F.multi_margin_loss(x, target, p=p, margin=0.7, weight=weight, reduction=reduction)
    dy = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(dy)

    def f(a):
        return np.sum(F.multi_margin_loss(pynn.tensor(a), target, p=p, margin=0.7,
                                          weight=weight, reduction=reduction).detach().numpy() * dy)

    _numeric_check(f, x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hinge_loss_gradcheck(reduction):
    x = pynn.tensor(_x(3, 4), requires_grad=True)
    y = np.where(_x(3, 4, seed=5) > 0, 1.0, -1.0)
    out = F.hinge_loss(x, y, margin=0.5, reduction=reduction)
    dy = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(dy)
    _numeric_check(lambda a: np.sum(F.hinge_loss(pynn.tensor(a), y, 0.5, reduction).numpy() * dy),
                   x)


def _numeric_check(f, leaf, eps=1e-6):
    a = leaf.detach().numpy().copy()
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        orig = a[idx]
        a[idx] = orig + eps
        plus = f(a)
        a[idx] = orig - eps
        minus = f(a)
        a[idx] = orig
        numeric[idx] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(leaf.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)
