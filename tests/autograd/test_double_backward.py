"""Second-order gradients (``create_graph=True``) through the built-in ops, against PyTorch in
float64: each op's first gradients are taken with ``create_graph=True`` (with respect to its
inputs and to the incoming gradient ``v``, which requires grad, so that the backward of a
linear op is checked too), then a scalar function of them is differentiated again. Plus
finite differences of second derivatives, and the programs that need them: a WGAN-GP
gradient penalty (MLP and convolutional critics), a PINN's d2u/dx2, Hessian-vector products.
"""

import numpy as np
import pytest
from helpers import numeric_gradient

import pynn
import pynn.nn as pnn
import pynn.nn.functional as PF

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

RNG = np.random.default_rng(1234)


def _arr(shape, low=None):
    a = RNG.standard_normal(shape)
    if low is not None:  # a domain bounded below (log, sqrt, pow's base)
        a = np.abs(a) + low
    return a


def _fn(lib):
    return PF if lib is pynn else TF


def _ce(lib, x):
    labels = lib.tensor(np.array([0, 2, 1, 2]))
    return _fn(lib).cross_entropy(x, labels)


def _ce_smooth(lib, x):
    labels = lib.tensor(np.array([0, 2, -100, 1]))
    return _fn(lib).cross_entropy(x, labels, label_smoothing=0.1, reduction="sum")


def _nll(lib, x):
    labels = lib.tensor(np.array([0, 2, 1, 2]))
    w = lib.tensor(np.array([1.0, 2.0, 0.5]))
    return _fn(lib).nll_loss(x.log_softmax(1), labels, weight=w)


_MASK = RNG.standard_normal((3, 4)) > 0
_IDX = np.array([2, 0, 2, 1])

# name, f(lib, *tensors) -> tensor, input arrays
CASES = [
    ("add_broadcast", lambda L, a, b: (a + b) * a, [_arr((3, 4)), _arr((4,))]),
    ("sub_broadcast", lambda L, a, b: (a - b) * b, [_arr((3, 4)), _arr((3, 1))]),
    ("mul", lambda L, a, b: a * b * a, [_arr((3, 4)), _arr((1, 4))]),
    ("mul_scalar", lambda L, a: a * 2.5 * a, [_arr((5,))]),
    ("div", lambda L, a, b: a / b, [_arr((3, 4)), _arr((4,), 0.5)]),
    ("rdiv_scalar", lambda L, a: 2.0 / a, [_arr((5,), 0.5)]),
    ("neg", lambda L, a: -a * a, [_arr((2, 3))]),
    ("pow_scalar", lambda L, a: a ** 3, [_arr((2, 3))]),
    ("pow_half", lambda L, a: a ** 0.5, [_arr((2, 3), 0.5)]),
    ("pow_tensor", lambda L, a, b: a ** b, [_arr((2, 3), 0.5), _arr((2, 3))]),
    ("rpow", lambda L, b: 2.0 ** b, [_arr((4,))]),
    ("exp", lambda L, a: a.exp(), [_arr((3, 2))]),
    ("log", lambda L, a: a.log(), [_arr((3, 2), 0.5)]),
    ("log1p", lambda L, a: a.log1p(), [_arr((3, 2), 0.5)]),
    ("sqrt", lambda L, a: a.sqrt(), [_arr((3, 2), 0.5)]),
    ("rsqrt", lambda L, a: a.rsqrt(), [_arr((3, 2), 0.5)]),
    ("abs", lambda L, a: a.abs() * a, [_arr((3, 2))]),
    ("sin", lambda L, a: a.sin(), [_arr((3, 2))]),
    ("cos", lambda L, a: a.cos(), [_arr((3, 2))]),
    ("tanh", lambda L, a: a.tanh(), [_arr((3, 2))]),
    ("sigmoid", lambda L, a: a.sigmoid(), [_arr((3, 2))]),
    ("square", lambda L, a: a.square(), [_arr((3, 2))]),
    ("erf", lambda L, a: a.erf(), [_arr((3, 2))]),
    ("atan", lambda L, a: a.atan(), [_arr((3, 2))]),
    ("erfinv", lambda L, a: (a.tanh() * 0.9).erfinv(), [_arr((3, 2))]),
    ("sinc", lambda L, a: a.sinc(), [_arr((3, 2))]),
    ("relu", lambda L, a: a.relu() * a, [_arr((3, 4))]),
    ("leaky_relu", lambda L, a: _fn(L).leaky_relu(a, 0.2) * a, [_arr((3, 4))]),
    ("elu", lambda L, a: _fn(L).elu(a, 1.3), [_arr((3, 4))]),
    ("gelu", lambda L, a: _fn(L).gelu(a), [_arr((3, 4))]),
    ("gelu_tanh", lambda L, a: _fn(L).gelu(a, approximate="tanh"), [_arr((3, 4))]),
    ("silu", lambda L, a: _fn(L).silu(a), [_arr((3, 4))]),
    ("softplus", lambda L, a: _fn(L).softplus(a, beta=2.0), [_arr((3, 4))]),
    ("logsigmoid", lambda L, a: _fn(L).logsigmoid(a), [_arr((3, 4))]),
    ("mish", lambda L, a: _fn(L).mish(a), [_arr((3, 4))]),
    ("sum_all", lambda L, a: a.sum() * a, [_arr((3, 4))]),
    ("sum_dim", lambda L, a: a.sum(dim=1) ** 2, [_arr((3, 4))]),
    ("sum_dims_keep", lambda L, a: a.sum(dim=(0, 2), keepdim=True) * a,
     [_arr((2, 3, 4))]),
    ("mean_all", lambda L, a: a.mean() * a, [_arr((3, 4))]),
    ("mean_dim", lambda L, a: a.mean(dim=0) ** 2, [_arr((3, 4))]),
    ("norm_all", lambda L, a: a.norm(), [_arr((3, 4))]),
    ("norm_dim", lambda L, a: a.norm(2, dim=1), [_arr((3, 4))]),
    ("norm_p3", lambda L, a: a.norm(3, dim=0), [_arr((3, 4))]),
    ("vector_norm", lambda L, a: L.linalg.vector_norm(a, dim=-1, keepdim=True) * a,
     [_arr((3, 4))]),
    ("amax", lambda L, a: a.amax(dim=1) * a.sum(), [_arr((3, 4))]),
    ("max_all", lambda L, a: a.max() * a, [_arr((3, 4))]),
    ("max_dim", lambda L, a: a.max(dim=1)[0] ** 2, [_arr((3, 4))]),
    ("min_dim", lambda L, a: a.min(dim=0).values ** 2, [_arr((3, 4))]),
    ("matmul_2d", lambda L, a, b: (a @ b) ** 2, [_arr((3, 4)), _arr((4, 2))]),
    ("mm", lambda L, a, b: a.mm(b).tanh(), [_arr((3, 4)), _arr((4, 2))]),
    ("bmm", lambda L, a, b: a.bmm(b) ** 2, [_arr((2, 3, 4)), _arr((2, 4, 2))]),
    ("matmul_bcast", lambda L, a, b: (a @ b) ** 2, [_arr((2, 3, 4)), _arr((4, 2))]),
    ("matvec", lambda L, a, b: (a @ b) ** 2, [_arr((3, 4)), _arr((4,))]),
    ("linear", lambda L, x, w, b: _fn(L).linear(x, w, b).tanh(),
     [_arr((3, 4)), _arr((5, 4)), _arr((5,))]),
    ("linear_3d", lambda L, x, w: _fn(L).linear(x, w) ** 2, [_arr((2, 3, 4)), _arr((5, 4))]),
    ("reshape", lambda L, a: a.reshape(4, 3) ** 2, [_arr((3, 4))]),
    ("view_flatten", lambda L, a: a.view(2, -1).flatten() ** 2, [_arr((2, 3, 2))]),
    ("transpose", lambda L, a: a.transpose(0, 1) ** 2 * a.t(), [_arr((3, 4))]),
    ("permute", lambda L, a: a.permute(2, 0, 1) ** 2, [_arr((2, 3, 4))]),
    ("expand", lambda L, a: a.expand(3, 4) ** 2, [_arr((1, 4))]),
    ("squeeze_unsqueeze", lambda L, a: a.squeeze(1).unsqueeze(0) ** 2, [_arr((3, 1, 4))]),
    ("getitem_basic", lambda L, a: a[1:, ::2] ** 2, [_arr((3, 4))]),
    ("getitem_int", lambda L, a: a[1] ** 3, [_arr((3, 4))]),
    ("getitem_adv", lambda L, a: a[L.tensor(_IDX)] ** 2, [_arr((3, 4))]),
    ("getitem_mask", lambda L, a: a[L.tensor(_MASK)] ** 2, [_arr((3, 4))]),
    ("index_select", lambda L, a: a.index_select(1, L.tensor(_IDX)) ** 2, [_arr((3, 4))]),
    ("gather", lambda L, a: a.gather(1, L.tensor(np.array([[0, 0], [3, 1], [2, 2]]))) ** 2,
     [_arr((3, 4))]),
    ("cat", lambda L, a, b: L.cat([a, b * b], dim=1) ** 2, [_arr((2, 3)), _arr((2, 2))]),
    ("stack", lambda L, a, b: L.stack([a, b * a], dim=1) ** 2, [_arr((2, 3)), _arr((2, 3))]),
    ("split", lambda L, a: a.split(2, dim=1)[1] ** 2 + a.split(2, dim=1)[0] * 3,
     [_arr((3, 4))]),
    ("unbind", lambda L, a: a.unbind(0)[1] ** 2 * a.unbind(0)[0], [_arr((3, 4))]),
    ("chunk", lambda L, a: a.chunk(2, dim=0)[0] ** 3, [_arr((4, 3))]),
    ("narrow", lambda L, a: a.narrow(1, 1, 2) ** 3, [_arr((4, 3))]),
    ("flip", lambda L, a: a.flip(0) * a, [_arr((4, 3))]),
    ("clamp", lambda L, a: a.clamp(-0.5, 0.7) * a, [_arr((3, 4))]),
    ("clamp_min", lambda L, a: a.clamp(min=0.1) ** 2, [_arr((3, 4))]),
    ("where", lambda L, a, b: L.where(L.tensor(_MASK), a * a, b ** 3),
     [_arr((3, 4)), _arr((3, 4))]),
    ("maximum", lambda L, a, b: L.maximum(a, b) ** 2, [_arr((3, 4)), _arr((3, 4))]),
    ("softmax", lambda L, a: a.softmax(dim=1) ** 2, [_arr((3, 4))]),
    ("softmax_dim0", lambda L, a: _fn(L).softmax(a, dim=0) * a, [_arr((3, 4))]),
    ("log_softmax", lambda L, a: a.log_softmax(dim=-1) ** 2, [_arr((3, 4))]),
    ("mse_loss", lambda L, a, b: _fn(L).mse_loss(a, b), [_arr((3, 4)), _arr((3, 4))]),
    ("mse_loss_sum", lambda L, a, b: _fn(L).mse_loss(a.tanh(), b, reduction="sum"),
     [_arr((3, 4)), _arr((3, 4))]),
    ("cross_entropy", _ce, [_arr((4, 3))]),
    ("cross_entropy_smooth", _ce_smooth, [_arr((4, 3))]),
    ("nll_weighted", _nll, [_arr((4, 3))]),
    ("bce_logits", lambda L, a, b: _fn(L).binary_cross_entropy_with_logits(a, b.sigmoid()),
     [_arr((3, 4)), _arr((3, 4))]),
    ("layer_norm", lambda L, x, w, b: _fn(L).layer_norm(x, (4,), w, b) ** 2,
     [_arr((3, 4)), _arr((4,)), _arr((4,))]),
    ("cumsum", lambda L, a: a.cumsum(1) ** 2, [_arr((3, 4))]),
    ("prod", lambda L, a: a.prod(1), [_arr((3, 4))]),
    ("einsum", lambda L, a, b: L.einsum("ij,jk->ik", a, b) ** 2,
     [_arr((3, 4)), _arr((4, 2))]),
    ("conv2d", lambda L, x, w, b: _fn(L).conv2d(x, w, b, stride=2, padding=1) ** 2,
     [_arr((2, 2, 5, 5)), _arr((3, 2, 3, 3)), _arr((3,))]),
    ("conv2d_dilated", lambda L, x, w: _fn(L).conv2d(x, w, dilation=2).tanh(),
     [_arr((1, 2, 6, 6)), _arr((2, 2, 2, 2))]),
    ("conv2d_groups", lambda L, x, w: _fn(L).conv2d(x, w, padding=1, groups=2) ** 2,
     [_arr((1, 4, 4, 4)), _arr((2, 2, 3, 3))]),
    ("conv_transpose2d", lambda L, x, w: _fn(L).conv_transpose2d(x, w, stride=2) ** 2,
     [_arr((1, 2, 3, 3)), _arr((2, 3, 3, 3))]),
    ("pad", lambda L, a: _fn(L).pad(a, (1, 2)) ** 2 * 1.5, [_arr((2, 3))]),
    ("pad_reflect", lambda L, a: _fn(L).pad(a, (2, 1), mode="reflect") ** 3,
     [_arr((1, 2, 4))]),
    ("unfold", lambda L, a: _fn(L).unfold(a, 2) ** 2, [_arr((1, 2, 3, 3))]),
    ("max_pool2d", lambda L, a: _fn(L).max_pool2d(a, 2, stride=1, padding=1) ** 2,
     [_arr((2, 2, 3, 3))]),
    ("avg_pool2d", lambda L, a: _fn(L).avg_pool2d(a * a, 2, padding=1) ** 2,
     [_arr((1, 2, 5, 5))]),
    ("adaptive_avg_pool2d", lambda L, a: _fn(L).adaptive_avg_pool2d(a, (2, 3)) ** 2,
     [_arr((1, 2, 5, 4))]),
    ("adaptive_max_pool2d", lambda L, a: _fn(L).adaptive_max_pool2d(a, 2) ** 2,
     [_arr((1, 2, 5, 4))]),
    ("interpolate_bilinear", lambda L, a: _fn(L).interpolate(
        a, scale_factor=2, mode="bilinear", align_corners=False) ** 2, [_arr((1, 1, 3, 2))]),
    ("interpolate_nearest", lambda L, a: _fn(L).interpolate(a, size=5) ** 3,
     [_arr((1, 2, 3))]),
    ("embedding", lambda L, w: _fn(L).embedding(L.tensor(np.array([[0, 2], [2, 3]])), w,
                                                padding_idx=3) ** 2, [_arr((4, 3))]),
    ("embedding_freq", lambda L, w: _fn(L).embedding(
        L.tensor(np.array([0, 2, 2])), w, scale_grad_by_freq=True).tanh(), [_arr((4, 3))]),
    ("xlogy", lambda L, a, b: L.xlogy(a, b), [_arr((3, 4)), _arr((3, 4), 0.5)]),
    ("glu", lambda L, a: _fn(L).glu(a, dim=1) ** 2, [_arr((2, 4))]),
    ("cumprod", lambda L, a: a.cumprod(1), [_arr((2, 4), 0.5)]),
    ("l1_loss", lambda L, a, b: _fn(L).l1_loss(a * a, b), [_arr((3, 4)), _arr((3, 4))]),
    ("smooth_l1_loss", lambda L, a, b: _fn(L).smooth_l1_loss(a, b * 2, beta=0.8),
     [_arr((3, 4)), _arr((3, 4))]),
    ("huber_loss", lambda L, a, b: _fn(L).huber_loss(a * a, b, delta=0.7, reduction="sum"),
     [_arr((3, 4)), _arr((3, 4))]),
    ("kl_div", lambda L, a, b: _fn(L).kl_div(a.log_softmax(1), b.softmax(1),
                                             reduction="batchmean"),
     [_arr((3, 4)), _arr((3, 4))]),
    ("bce", lambda L, a, b: _fn(L).binary_cross_entropy(a.sigmoid(), b.sigmoid()),
     [_arr((3, 4)), _arr((3, 4))]),
    ("bce_logits_pos_weight", lambda L, a, b: _fn(L).binary_cross_entropy_with_logits(
        a, b.sigmoid(), pos_weight=L.tensor(np.array([1.0, 2.0, 0.5, 3.0]))),
     [_arr((3, 4)), _arr((3, 4))]),
    ("cross_entropy_soft", lambda L, a, b: _fn(L).cross_entropy(a, b.softmax(1)),
     [_arr((4, 3)), _arr((4, 3))]),
    ("cross_entropy_2d", lambda L, a: _fn(L).cross_entropy(
        a, L.tensor(np.array([[[0, 1], [2, 1]], [[1, 1], [0, 2]]]))), [_arr((2, 3, 2, 2))]),
    ("batch_norm_train", lambda L, x, w, b: _fn(L).batch_norm(
        x, None, None, w, b, training=True) ** 2, [_arr((4, 3, 2)), _arr((3,)), _arr((3,))]),
    ("batch_norm_eval", lambda L, x, w: _fn(L).batch_norm(
        x, L.tensor(np.array([0.1, -0.2, 0.3])), L.tensor(np.array([1.5, 0.5, 2.0])), w,
        training=False) ** 2, [_arr((4, 3)), _arr((3,))]),
    ("group_norm", lambda L, x, w, b: _fn(L).group_norm(x, 2, w, b) ** 2,
     [_arr((2, 4, 3)), _arr((4,)), _arr((4,))]),
    ("instance_norm", lambda L, x: _fn(L).instance_norm(x) ** 2, [_arr((2, 3, 4, 4))]),
    ("std", lambda L, a: a.std(dim=1) * a.var(), [_arr((3, 4))]),
    ("logsumexp", lambda L, a: a.logsumexp(1) ** 2, [_arr((3, 4))]),
    ("cosine_similarity", lambda L, a, b: _fn(L).cosine_similarity(a, b) ** 2,
     [_arr((3, 4)), _arr((3, 4))]),
    ("normalize", lambda L, a: _fn(L).normalize(a, dim=1) ** 3, [_arr((3, 4))]),
    ("sdpa", lambda L, q, k, v: _fn(L).scaled_dot_product_attention(q, k, v) ** 2,
     [_arr((2, 3, 4)), _arr((2, 5, 4)), _arr((2, 5, 3))]),
    ("sdpa_causal_scale", lambda L, q, k, v: _fn(L).scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.3).tanh(),
     [_arr((1, 2, 4, 3)), _arr((1, 2, 4, 3)), _arr((1, 2, 4, 2))]),
    ("sdpa_bool_mask", lambda L, q, k, v: _fn(L).scaled_dot_product_attention(
        q, k, v, attn_mask=L.tensor(_MASK[:, :3] | np.eye(3, dtype=bool))) ** 2,
     [_arr((3, 4)), _arr((3, 4)), _arr((3, 2))]),
    ("sdpa_float_mask", lambda L, q, k, v, m: _fn(L).scaled_dot_product_attention(
        q, k, v, attn_mask=m) ** 2,
     [_arr((2, 3, 4)), _arr((2, 3, 4)), _arr((2, 3, 2)), _arr((3, 3))]),
    ("sdpa_self", lambda L, x: _fn(L).scaled_dot_product_attention(x, x, x) ** 2,
     [_arr((2, 3, 4))]),
    ("sdpa_derived", lambda L, q, k: _fn(L).scaled_dot_product_attention(
        q, k, (q * k).tanh()) ** 2, [_arr((3, 4)), _arr((3, 4))]),
    ("layer_norm_shared", lambda L, x: _fn(L).layer_norm(x, (3,), x[0], x[1] * 2) ** 2,
     [_arr((2, 3))]),
    ("inv", lambda L, a: L.linalg.inv(a) ** 2, [_arr((3, 3)) + 3 * np.eye(3)]),
    ("det", lambda L, a: L.linalg.det(a) ** 2, [_arr((2, 3, 3)) + 2 * np.eye(3)]),
    ("slogdet", lambda L, a: L.linalg.slogdet(a)[1] ** 2, [_arr((3, 3)) + 3 * np.eye(3)]),
    ("solve", lambda L, a, b: L.linalg.solve(a, b) ** 2,
     [_arr((3, 3)) + 3 * np.eye(3), _arr((3, 2))]),
    ("solve_vector", lambda L, a, b: L.linalg.solve(a, b) ** 2,
     [_arr((2, 3, 3)) + 3 * np.eye(3), _arr((2, 3))]),
    ("soft_margin", lambda L, a: _fn(L).soft_margin_loss(
        a * a, L.tensor(np.where(_MASK, 1.0, -1.0))), [_arr((3, 4))]),
    ("poisson_nll", lambda L, a, b: _fn(L).poisson_nll_loss(a, b.abs()),
     [_arr((3, 4)), _arr((3, 4))]),
    ("poisson_nll_full", lambda L, a, b: _fn(L).poisson_nll_loss(
        a, b * 3, log_input=False, full=True), [_arr((3, 4), 0.5), _arr((3, 4), 0.5)]),
    ("hinge_embedding", lambda L, a: _fn(L).hinge_embedding_loss(
        a * a, L.tensor(np.where(_MASK, 1.0, -1.0)), margin=1.5), [_arr((3, 4))]),
    ("kl_div_log_target", lambda L, a, b: _fn(L).kl_div(a, b, reduction="sum",
                                                        log_target=True),
     [_arr((3, 4)), _arr((3, 4))]),
]


def _second_order(L, f, arrays):
    """First gradients (create_graph) of ``f`` wrt its inputs and the incoming gradient
    ``v``; then the gradients of a scalar of those first gradients."""
    xs = [L.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = f(L, *xs)
    rng = np.random.default_rng(7)
    v = L.tensor(rng.standard_normal(tuple(out.shape)), requires_grad=True)
    firsts = L.autograd.grad(out, xs, v, create_graph=True)
    s = 0
    for k, g in enumerate(firsts):
        c = L.tensor(rng.standard_normal(tuple(g.shape)))
        s = s + (g * c).sum() + 0.5 * (g * g).sum() * (k + 1)
    seconds = L.autograd.grad(s, xs + [v], materialize_grads=True)
    return ([out.detach().numpy()] + [g.detach().numpy() for g in firsts]
            + [g.detach().numpy() for g in seconds])


@pytest.mark.parametrize("name,f,arrays", CASES, ids=[c[0] for c in CASES])
def test_second_order_matches_torch(name, f, arrays, each_backend):
    ours = _second_order(pynn, f, arrays)
    theirs = _second_order(torch, f, arrays)
    labels = (["output"] + [f"grad {i}" for i in range(len(arrays))]
              + [f"second grad {i}" for i in range(len(arrays))] + ["second grad v"])
    for label, a, b in zip(labels, ours, theirs):
        assert a.shape == b.shape, (label, a.shape, b.shape)
        assert a.dtype == b.dtype == np.float64, (label, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=f"{name}: {label}")


@pytest.mark.parametrize("name", ["tanh", "pow_tensor", "softmax", "linear", "layer_norm",
                                  "conv2d", "norm_dim", "gelu"])
def test_second_derivatives_match_finite_differences(name):
    """d/dx of a scalar of the first gradients, against central differences of that scalar
    computed from first gradients taken without create_graph."""
    f, arrays = next((c[1], c[2]) for c in CASES if c[0] == name)
    arrays = [a.copy() for a in arrays]
    rng = np.random.default_rng(3)
    cs = None

    def scalar(create_graph):
        xs = [pynn.tensor(a, requires_grad=True) for a in arrays]
        out = f(pynn, *xs)
        firsts = pynn.autograd.grad(out.sum(), xs, create_graph=create_graph)
        nonlocal cs
        if cs is None:
            cs = [pynn.tensor(rng.standard_normal(tuple(g.shape))) for g in firsts]
        s = sum(((g * c).sum() + (g * g).sum()) for g, c in zip(firsts, cs))
        return s, xs

    s, xs = scalar(True)
    analytic = pynn.autograd.grad(s, xs, materialize_grads=True)

    def objective():
        return float(scalar(False)[0].item())

    for a, g in zip(arrays, analytic):
        numeric = numeric_gradient(objective, a, 1e-5)
        np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-5, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Programs


def _copy_params(ours, theirs):
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


def _mlp_critic(nn):
    return nn.Sequential(nn.Linear(6, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 1))


def _conv_critic(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(8 * 2 * 2, 1))


def _wgan_gp_step(L, critic, real, fake, alpha):
    real, fake, alpha = (L.tensor(a) for a in (real, fake, alpha))
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = critic(interp)
    (g,) = L.autograd.grad(score, interp, grad_outputs=L.ones_like(score), create_graph=True,
                           retain_graph=True)
    gp = ((g.reshape(g.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10.0 * gp
    critic.zero_grad()
    loss.backward()
    return loss.item(), gp.item(), [p.grad.numpy().copy() for p in critic.parameters()]


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_wgan_gp_penalty_step_matches_torch(kind):
    make, shape = {"mlp": (_mlp_critic, (5, 6)), "conv": (_conv_critic, (3, 1, 8, 8))}[kind]
    pynn.manual_seed(0)
    ours = make(pnn).double()
    theirs = make(torch.nn).double()
    _copy_params(ours, theirs)
    rng = np.random.default_rng(5)
    real, fake = rng.standard_normal(shape), rng.standard_normal(shape)
    alpha = rng.uniform(size=(shape[0],) + (1,) * (len(shape) - 1))
    loss, gp, grads = _wgan_gp_step(pynn, ours, real, fake, alpha)
    t_loss, t_gp, t_grads = _wgan_gp_step(torch, theirs, real, fake, alpha)
    assert gp > 1e-3  # the penalty is not trivially zero
    np.testing.assert_allclose(loss, t_loss, rtol=1e-10)
    np.testing.assert_allclose(gp, t_gp, rtol=1e-10)
    for a, b in zip(grads, t_grads):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-11)


def _pinn(L, net, x_arr):
    x = L.tensor(x_arr, requires_grad=True)
    u = net(x)
    (du,) = L.autograd.grad(u, x, L.ones_like(u), create_graph=True)
    (d2u,) = L.autograd.grad(du, x, L.ones_like(du), create_graph=True)
    residual = d2u + x.sin()
    loss = (residual ** 2).mean() + (u[0] ** 2).sum()
    net.zero_grad()
    loss.backward()
    return (du.detach().numpy(), d2u.detach().numpy(), loss.item(),
            [p.grad.numpy().copy() for p in net.parameters()])


def test_pinn_second_derivative_of_tanh_mlp_matches_torch():
    def make(nn):
        return nn.Sequential(nn.Linear(1, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(),
                             nn.Linear(12, 1))

    ours = make(pnn).double()
    theirs = make(torch.nn).double()
    _copy_params(ours, theirs)
    x = np.linspace(-1, 1, 9).reshape(-1, 1)
    a = _pinn(pynn, ours, x)
    b = _pinn(torch, theirs, x)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-10)
    for p, q in zip(a[3], b[3]):
        np.testing.assert_allclose(p, q, rtol=1e-8, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_hessian_vector_product_and_backward_create_graph():
    a = _arr((4, 4))
    x0 = _arr((4,))
    v0 = _arr((4,))

    def run(L):
        A = L.tensor(a)
        x = L.tensor(x0, requires_grad=True)
        f = (x @ A @ x).tanh() + (x ** 3).sum()
        (g,) = L.autograd.grad(f, x, create_graph=True)
        (hv,) = L.autograd.grad(g, x, L.tensor(v0))
        # backward(create_graph=True) leaves a .grad with history
        y = L.tensor(x0, requires_grad=True)
        (y.sin() * y).sum().backward(create_graph=True)
        gy = y.grad
        y.grad = None
        (gy ** 2).sum().backward()
        return hv.numpy(), gy.detach().numpy(), y.grad.numpy()

    for p, q in zip(run(pynn), run(torch)):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_maml_inner_step_matches_torch():
    """A MAML-style inner step: weights updated by a gradient taken with create_graph, the
    outer loss differentiated through the update back to the initial weights."""
    rng = np.random.default_rng(11)
    w0, b0 = rng.standard_normal((1, 3)), rng.standard_normal(1)
    xs, ys = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    xq, yq = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))

    def run(L):
        F = _fn(L)
        w = L.tensor(w0, requires_grad=True)
        b = L.tensor(b0, requires_grad=True)
        inner = F.mse_loss(F.linear(L.tensor(xs), w, b).tanh(), L.tensor(ys))
        gw, gb = L.autograd.grad(inner, (w, b), create_graph=True)
        w1, b1 = w - 0.1 * gw, b - 0.1 * gb
        outer = F.mse_loss(F.linear(L.tensor(xq), w1, b1).tanh(), L.tensor(yq))
        outer.backward()
        return outer.item(), w.grad.numpy(), b.grad.numpy()

    for p, q in zip(run(pynn), run(torch)):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_op_without_recorded_backward_names_itself():
    a = _arr((3, 3))
    x = pynn.tensor(a + a.T, requires_grad=True)
    y = pynn.linalg.eigh(x)[0].sum()
    with pytest.raises(NotImplementedError, match="EighBackward0"):
        pynn.autograd.grad(y, x, create_graph=True)


def test_create_graph_false_gives_plain_gradients():
    x = pynn.tensor(_arr((3, 4)), requires_grad=True)
    (g,) = pynn.autograd.grad((x.tanh() * x).sum(), x)
    assert g.grad_fn is None and not g.requires_grad
    (g2,) = pynn.autograd.grad((x.tanh() * x).sum(), x, create_graph=True)
    assert g2.requires_grad and g2.grad_fn is not None
    np.testing.assert_allclose(g.numpy(), g2.detach().numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# torch.autograd.functional


def _f_two(L, x, y):
    return (x.tanh().unsqueeze(1) * y).sum() + (x.unsqueeze(1) ** 2 * y.sin()).sum()


def _f_vec(L, x, y):
    return (x.unsqueeze(1) * y).tanh()


def _functional_results(L):
    AF = L.autograd.functional
    x0, y0 = np.array([0.3, -1.2, 0.7]), np.array([[0.5, -0.4], [1.1, 0.2], [-0.3, 0.9]])
    x, y = L.tensor(x0), L.tensor(y0)
    vx, vy = L.tensor(np.array([1.0, -2.0, 0.5])), L.tensor(np.array([[1.0, 0.5]] * 3))
    vo = L.tensor(np.arange(6.0).reshape(3, 2))
    res = {
        "hessian_single": AF.hessian(lambda a: _f_two(L, a, y), x),
        "hessian_pair": AF.hessian(lambda a, b: _f_two(L, a, b), (x, y)),
        "jacobian_single": AF.jacobian(lambda a: _f_vec(L, a, y), x),
        "jacobian_pair": AF.jacobian(lambda a, b: _f_vec(L, a, b), (x, y)),
        "jacobian_outs": AF.jacobian(lambda a: (a.exp(), a.sum() * a), x),
        "vjp": AF.vjp(lambda a, b: _f_vec(L, a, b), (x, y), vo),
        "jvp": AF.jvp(lambda a, b: _f_vec(L, a, b), (x, y), (vx, vy)),
        "hvp": AF.hvp(lambda a, b: _f_two(L, a, b), (x, y), (vx, vy)),
        "vhp": AF.vhp(lambda a: _f_two(L, a, y), x, vx),
        "unused": AF.jacobian(lambda a, b: a * 2, (x, y)),
    }
    # create_graph=True: the Hessian-vector product differentiated again
    xg = L.tensor(x0, requires_grad=True)
    _, hv = AF.hvp(lambda a: (a.sin() * a).sum(), xg, vx, create_graph=True)
    (res["hvp_graph"],) = L.autograd.grad(hv.pow(2).sum(), xg)
    return res


def _flatten(v):
    if isinstance(v, (tuple, list)):
        return [x for item in v for x in _flatten(item)]
    return [v]


def test_autograd_functional_matches_torch():
    ours, theirs = _functional_results(pynn), _functional_results(torch)
    for key in theirs:
        a, b = _flatten(ours[key]), _flatten(theirs[key])
        assert len(a) == len(b), key
        for p, q in zip(a, b):
            assert isinstance(p, pynn.Tensor), key
            assert not p.requires_grad or key == "hvp_graph", key
            assert tuple(p.shape) == tuple(q.shape), (key, p.shape, q.shape)
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=key)


def test_autograd_functional_errors():
    AF = pynn.autograd.functional
    x = pynn.tensor(np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="single element"):
        AF.hessian(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.vjp(lambda a, b: (a * a).sum(), (x, x.clone()), strict=True)
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        AF.jacobian(lambda a: a, [1.0, 2.0])
    from pynn.autograd.functional import jacobian  # the import path PyTorch scripts use

    assert jacobian is AF.jacobian


def test_tensor_reached_only_through_masks_gets_zero_gradient():
    """PyTorch's backward formulas depend on the input through masks with a zero derivative,
    so such a Tensor gets zeros (not None), and an optimiser with momentum or weight decay
    then updates it: pynn gives the same."""

    def run(L):
        x = L.tensor(np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, -2.0]]), requires_grad=True)
        b = L.tensor(np.array([0.1, 0.2, -0.1]), requires_grad=True)
        c = L.tensor(np.array([0.4, -0.2, 0.3]), requires_grad=True)
        h = _fn(L).leaky_relu(x + b, 0.2) + (x + c).relu() + (x * c).abs() + (x - b).clamp(-1, 1)
        (g,) = L.autograd.grad((h * h.detach()).sum(), x, create_graph=True)
        (g ** 2).sum().backward()
        return b.grad.numpy(), c.grad.numpy()

    for p, q in zip(run(pynn), run(torch)):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("cross", [False, True])
def test_multihead_attention_gradient_penalty_matches_torch(batch_first, cross):
    def make(nn):
        return nn.MultiheadAttention(4, 2, batch_first=batch_first).double()

    ours, theirs = make(pnn), make(torch.nn)
    _copy_params(ours, theirs)
    rng = np.random.default_rng(21)
    shape = (2, 3, 4)  # (L, N, E), or (N, L, E) with batch_first
    x0, kv0 = rng.standard_normal(shape), rng.standard_normal(shape)

    def run(L, m):
        x = L.tensor(x0, requires_grad=True)
        kv = L.tensor(kv0, requires_grad=True) if cross else x
        out, _ = m(x, kv, kv)
        (g,) = L.autograd.grad((out * out).sum(), x, create_graph=True)
        penalty = (g ** 2).sum()
        m.zero_grad()
        penalty.backward()
        return penalty.item(), [p.grad.numpy().copy() for p in m.parameters()]

    a, b = run(pynn, ours), run(torch, theirs)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-10)
    for p, q in zip(a[1], b[1]):
        np.testing.assert_allclose(p, q, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind,bidirectional,batch_first", [
    ("LSTM", False, False), ("LSTM", True, True), ("GRU", False, True), ("GRU", True, False),
    ("RNN", True, False), ("RNN_relu", False, True)])
def test_recurrent_layers_second_order_match_torch(kind, bidirectional, batch_first):
    def make(nn):
        cls = getattr(nn, kind.split("_")[0])
        kw = {"nonlinearity": "relu"} if kind == "RNN_relu" else {}
        return cls(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=batch_first,
                   **kw).double()

    ours, theirs = make(pnn), make(torch.nn)
    _copy_params(ours, theirs)
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    d = 2 if bidirectional else 1
    h0 = rng.standard_normal((2 * d, 2, 4))

    def run(L, m):
        x = L.tensor(x0, requires_grad=True)
        h = L.tensor(h0, requires_grad=True)
        state = (h, h * 0.5) if kind == "LSTM" else h
        out, _ = m(x, state)
        gx, gh = L.autograd.grad((out ** 2).sum(), (x, h), create_graph=True)
        penalty = (gx ** 2).sum() + (gh ** 2).sum()
        m.zero_grad()
        penalty.backward()
        return [penalty.item()] + [p.grad.numpy().copy() for p in m.parameters()]

    for p, q in zip(run(pynn, ours), run(torch, theirs)):
        np.testing.assert_allclose(p, q, rtol=1e-8, atol=1e-12)
