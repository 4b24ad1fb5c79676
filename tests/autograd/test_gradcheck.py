"""Finite-difference gradient checks (float64) of every op and functional, in both backends."""

import numpy as np
import pytest

import pynn
import pynn.functional as F

pytestmark = pytest.mark.usefixtures("each_backend")


@pytest.fixture
def r():
    return np.random.default_rng(7)


def away_from_zero(r, shape, low=0.2, high=1.5):
    """Values with |x| in [low, high] and random signs: no kinks of relu/abs/clamp nearby."""
    return r.uniform(low, high, shape) * r.choice([-1.0, 1.0], shape)


def distinct(r, shape):
    """A random permutation of well-separated values: max/min/pooling have no near-ties."""
    n = int(np.prod(shape))
    return (r.permutation(n) * 0.1 - n * 0.05).reshape(shape)


# -- arithmetic with broadcasting -------------------------------------------------------------

def test_add_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a + b, r.normal(size=(3, 1)), r.normal(size=(1, 4)))
    gradcheck(lambda a: 2.0 + a + 1.5, r.normal(size=(2, 3)))


def test_sub_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a - b, r.normal(size=(2, 3)), r.normal(size=(3,)))
    gradcheck(lambda a: 1.0 - a, r.normal(size=(2, 3)))


def test_mul_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a * b, r.normal(size=(2, 1, 3)), r.normal(size=(4, 1)))
    gradcheck(lambda a: 3.0 * a * a, r.normal(size=(3,)))


def test_div_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a / b, r.normal(size=(2, 3)), away_from_zero(r, (2, 1)))
    gradcheck(lambda a: 2.0 / a, away_from_zero(r, (4,)))


def test_pow_gradcheck(gradcheck, r):
    gradcheck(lambda a: a ** 3, r.normal(size=(2, 3)))
    gradcheck(lambda a, b: a ** b, r.uniform(0.5, 2.0, (2, 3)), r.normal(size=(3,)))
    gradcheck(lambda b: 2.0 ** b, r.normal(size=(3,)))


def test_neg_gradcheck(gradcheck, r):
    gradcheck(lambda a: -a, r.normal(size=(2, 3)))


def test_abs_gradcheck(gradcheck, r):
    gradcheck(lambda a: abs(a).abs(), away_from_zero(r, (2, 3)))


def test_exp_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.exp(), r.normal(size=(2, 3)))


def test_log_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.log(), r.uniform(0.5, 2.0, (2, 3)))


def test_sqrt_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.sqrt(), r.uniform(0.5, 2.0, (2, 3)))


def test_clamp_gradcheck(gradcheck, r):
    x = away_from_zero(r, (3, 4))
    gradcheck(lambda a: a.clamp(-0.5, 0.7), x)
    gradcheck(lambda a: a.clip(min=0.0), x)
    gradcheck(lambda a: a.clamp(max=0.1), x)


def test_tanh_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.tanh(), r.normal(size=(2, 3)))
    gradcheck(F.tanh, r.normal(size=(2, 3)))


def test_sigmoid_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.sigmoid(), r.normal(size=(2, 3)))
    gradcheck(F.sigmoid, r.normal(size=(2, 3)))


def test_relu_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.relu(), away_from_zero(r, (3, 4)))
    gradcheck(F.relu, away_from_zero(r, (3, 4)))


def test_leaky_relu_gradcheck(gradcheck, r):
    gradcheck(lambda a: F.leaky_relu(a, 0.1), away_from_zero(r, (3, 4)))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck(gradcheck, r, approximate):
    gradcheck(lambda a: F.gelu(a, approximate=approximate), r.normal(size=(3, 4)))


def test_cast_gradcheck(gradcheck, r):
    # through float32 and back: finite differences need a step well above float32 rounding
    gradcheck(lambda a: a.float().double() * 2.0 + a.to(np.float64), r.normal(size=(3,)),
              eps=1e-2, rtol=1e-4, atol=1e-4)


# -- matmul ----------------------------------------------------------------------------------

def test_matmul_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a @ b, r.normal(size=(3, 4)), r.normal(size=(4, 2)))
    gradcheck(lambda a, b: a.matmul(b.T), r.normal(size=(3, 4)), r.normal(size=(2, 4)))


def test_matmul_batched_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a @ b, r.normal(size=(2, 3, 4)), r.normal(size=(4, 2)))
    gradcheck(lambda a, b: a @ b, r.normal(size=(2, 1, 3, 4)), r.normal(size=(3, 4, 2)))


def test_matmul_vector_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: a @ b, r.normal(size=(4,)), r.normal(size=(4, 2)))
    gradcheck(lambda a, b: a @ b, r.normal(size=(2, 3, 4)), r.normal(size=(4,)))
    gradcheck(lambda a, b: a @ b, r.normal(size=(4,)), r.normal(size=(4,)))


# -- reductions ------------------------------------------------------------------------------

def test_sum_gradcheck(gradcheck, r):
    x = r.normal(size=(2, 3, 4))
    gradcheck(lambda a: a.sum(), x)
    gradcheck(lambda a: a.sum(dim=1), x)
    gradcheck(lambda a: a.sum(axis=(0, 2), keepdims=True), x)
    gradcheck(lambda a: a.sum(-1, keepdim=True), x)


def test_mean_gradcheck(gradcheck, r):
    x = r.normal(size=(2, 3, 4))
    gradcheck(lambda a: a.mean(), x)
    gradcheck(lambda a: a.mean(dim=(0, 2)), x)
    gradcheck(lambda a: a.mean(axis=1, keepdim=True), x)


def test_max_gradcheck(gradcheck, r):
    x = distinct(r, (3, 4))
    gradcheck(lambda a: a.max(), x)
    gradcheck(lambda a: a.max(dim=1).values, x)
    gradcheck(lambda a: a.max(0, keepdim=True)[0], x)
    gradcheck(lambda a: a.amax(dim=(0, 1)), x)


def test_min_gradcheck(gradcheck, r):
    x = distinct(r, (3, 4))
    gradcheck(lambda a: a.min(), x)
    gradcheck(lambda a: a.min(axis=0).values, x)
    gradcheck(lambda a: a.amin(1, keepdim=True), x)


def test_max_ties_share_gradient():
    x = pynn.tensor(np.array([1.0, 3.0, 3.0, 0.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])


# -- shape ops -------------------------------------------------------------------------------

def test_reshape_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.reshape(3, 4) * a.view(-1, 2).reshape((3, 4)), r.normal(size=(2, 6)))


def test_transpose_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.transpose(0, 2) * 2.0, r.normal(size=(2, 3, 4)))
    gradcheck(lambda a: a.T @ a, r.normal(size=(3, 2)))


def test_permute_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.permute(2, 0, 1) * np.arange(6.0).reshape(1, 2, 3),
              r.normal(size=(2, 3, 4)))


def test_flatten_gradcheck(gradcheck, r):
    x = r.normal(size=(2, 3, 2))
    gradcheck(lambda a: a.flatten(1) * np.arange(6.0), x)
    gradcheck(lambda a: F.flatten(a, 0, 1), x)


def test_unsqueeze_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.unsqueeze(1) * a.unsqueeze(-1), r.normal(size=(2, 3)))


def test_squeeze_gradcheck(gradcheck, r):
    x = r.normal(size=(2, 1, 3, 1))
    gradcheck(lambda a: a.squeeze(), x)
    gradcheck(lambda a: a.squeeze(1), x)


def test_expand_gradcheck(gradcheck, r):
    gradcheck(lambda a: a.expand(2, 3, 4) * np.arange(24.0).reshape(2, 3, 4),
              r.normal(size=(3, 1)))
    gradcheck(lambda a: a.expand(-1, 4), r.normal(size=(3, 1)))


def test_getitem_gradcheck(gradcheck, r):
    x = r.normal(size=(4, 5))
    gradcheck(lambda a: a[1:3, ::2], x)
    gradcheck(lambda a: a[1], x)
    gradcheck(lambda a: a[..., None, 2], x)
    gradcheck(lambda a: a[[0, 2, 2, 3]], x)  # repeated index accumulates
    gradcheck(lambda a: a[np.array([0, 1, 1]), np.array([4, 0, 0])], x)
    gradcheck(lambda a: a[pynn.tensor(np.array([3, 3]))], x)
    gradcheck(lambda a: a[np.array([True, False, True, True])], x)


def test_cat_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: pynn.cat([a, b], dim=1), r.normal(size=(2, 3)), r.normal(size=(2, 1)))
    gradcheck(lambda a, b: pynn.cat((a, b, a)), r.normal(size=(2, 3)), r.normal(size=(1, 3)))


def test_stack_gradcheck(gradcheck, r):
    gradcheck(lambda a, b: pynn.stack([a, b, a], dim=1), r.normal(size=(2, 3)),
              r.normal(size=(2, 3)))
    gradcheck(lambda a, b: pynn.stack([a, b], dim=-1), r.normal(size=(2, 3)),
              r.normal(size=(2, 3)))


# -- softmax family --------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_gradcheck(gradcheck, r, dim):
    gradcheck(lambda a: F.softmax(a, dim=dim), r.normal(size=(3, 4, 2)))
    gradcheck(lambda a: a.softmax(dim), r.normal(size=(3, 4)))


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_log_softmax_gradcheck(gradcheck, r, dim):
    gradcheck(lambda a: F.log_softmax(a, dim=dim), r.normal(size=(3, 4, 2)))


# -- layers ----------------------------------------------------------------------------------

def test_linear_gradcheck(gradcheck, r):
    x, w, b = r.normal(size=(3, 4)), r.normal(size=(2, 4)), r.normal(size=(2,))
    gradcheck(F.linear, x, w, b)
    gradcheck(lambda x, w: F.linear(x, w), x, w)
    gradcheck(F.linear, r.normal(size=(2, 3, 4)), w, b)  # leading dims
    gradcheck(F.linear, r.normal(size=(4,)), w, b)  # unbatched


def test_linear_relu_gradcheck(gradcheck, r):
    x, w, b = r.normal(size=(5, 4)), r.normal(size=(3, 4)), r.normal(size=(3,))
    with pynn.no_grad():
        y = F.linear(pynn.tensor(x), pynn.tensor(w), pynn.tensor(b))
        assert np.all(np.abs(y.numpy()) > 1e-3)
    gradcheck(F._linear_relu, x, w, b)


def test_linear_input_not_requiring_grad(r):
    x = pynn.tensor(r.normal(size=(3, 4)))
    w = pynn.tensor(r.normal(size=(2, 4)), requires_grad=True)
    F.linear(x, w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(x.detach().numpy().sum(0), (2, 4)))
    assert x.grad is None


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 1, 2),
                                                     ((1, 2), (0, 1), 1)])
def test_conv2d_gradcheck(gradcheck, r, stride, padding, dilation):
    x, w, b = r.normal(size=(2, 2, 5, 5)), r.normal(size=(3, 2, 3, 2)), r.normal(size=(3,))
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), x, w, b)


def test_conv2d_variants_gradcheck(gradcheck, r):
    x, w = r.normal(size=(2, 4, 4)), r.normal(size=(2, 2, 3, 3))
    gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), x, w)  # unbatched, no bias
    gradcheck(lambda x, w: F._conv2d_relu(x[None], w), x, w)


def test_conv2d_input_grad_only_when_needed(r):
    x = pynn.tensor(r.normal(size=(1, 1, 4, 4)))
    w = pynn.tensor(r.normal(size=(2, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (2, 1, 3, 3)


@pytest.mark.parametrize("kernel_size,stride,padding",
                         [(2, None, 0), (3, 1, 1), ((2, 3), 2, (1, 1))])
def test_max_pool2d_gradcheck(gradcheck, r, kernel_size, stride, padding):
    gradcheck(lambda x: F.max_pool2d(x, kernel_size, stride, padding), distinct(r, (2, 2, 5, 6)))


def test_max_pool2d_return_indices(r):
    x = pynn.tensor(distinct(r, (1, 1, 4, 4)))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(x.detach().numpy().reshape(-1)[idx.numpy().reshape(-1)],
                                  y.detach().numpy().reshape(-1))


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_gradcheck(gradcheck, r, count_include_pad):
    gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=count_include_pad),
              r.normal(size=(2, 2, 5, 5)))
    gradcheck(lambda x: F.avg_pool2d(x, 2), r.normal(size=(2, 4, 4)))


# -- losses ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_gradcheck(gradcheck, r, reduction, label_smoothing):
    labels = np.array([0, 3, -100, 2])
    gradcheck(lambda x: F.cross_entropy(x, labels, reduction=reduction,
                                        label_smoothing=label_smoothing), r.normal(size=(4, 5)))


def test_cross_entropy_layouts_gradcheck(gradcheck, r):
    gradcheck(lambda x: F.cross_entropy(x, np.array(2)), r.normal(size=(4,)))
    labels = r.integers(0, 3, size=(2, 2, 3))
    gradcheck(lambda x: F.cross_entropy(x, labels, reduction="none"), r.normal(size=(2, 3, 2, 3)))
    gradcheck(lambda x: F.cross_entropy(x, pynn.tensor(labels)), r.normal(size=(2, 3, 2, 3)))


def test_cross_entropy_weight_gradcheck(gradcheck, r):
    labels = np.array([0, 3, 1, 3])
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.1])
    for reduction in ("mean", "sum", "none"):
        gradcheck(lambda x, red=reduction: F.cross_entropy(x, labels, weight=pynn.tensor(w),
                                                           reduction=red), r.normal(size=(4, 5)))


def test_cross_entropy_probabilities_gradcheck(gradcheck, r):
    p = r.dirichlet(np.ones(5), size=4)
    gradcheck(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), r.normal(size=(4, 5)), p)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_gradcheck(gradcheck, r, reduction):
    labels = np.array([1, 0, 2, -100])
    gradcheck(lambda x: F.nll_loss(x, labels, reduction=reduction), r.normal(size=(4, 3)))
    gradcheck(lambda x: F.nll_loss(F.log_softmax(x, 1), labels, weight=np.array([1.0, 2.0, 0.5]),
                                   reduction=reduction), r.normal(size=(4, 3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_gradcheck(gradcheck, r, reduction):
    gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), r.normal(size=(3, 4)),
              r.normal(size=(3, 4)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_gradcheck(gradcheck, r, reduction):
    x, y, w = r.uniform(0.1, 0.9, (3, 4)), r.uniform(0, 1, (3, 4)), r.uniform(0.5, 2, (4,))
    gradcheck(lambda x, y: F.binary_cross_entropy(x, y, reduction=reduction), x, y)
    gradcheck(lambda x: F.binary_cross_entropy(x, y, weight=w, reduction=reduction), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits_gradcheck(gradcheck, r, reduction):
    x, y = r.normal(scale=3, size=(3, 4)), r.uniform(0, 1, (3, 4))
    gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction), x, y)
    gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=np.array([1.0, 2.0, 0.5, 1.0]), pos_weight=np.array([3.0, 1.0, 0.5, 2.0]),
        reduction=reduction), x, y)


def test_dropout_gradcheck(gradcheck, r):
    def fn(x):
        pynn.manual_seed(3)  # the same mask at every evaluation
        return F.dropout(x, p=0.4)

    out = gradcheck(fn, r.normal(size=(4, 5)))
    kept = out.detach().numpy() != 0
    assert 0 < kept.sum() < kept.size
