"""Scaled dot-product attention, multi-head attention and positional encodings:
finite-difference gradient checks (float64, both backends), agreement with PyTorch (outputs,
attention weights, every gradient, state_dict keys), masking (padded keys get no weight and no
gradient), causality, dropout only in train mode, and error messages."""

import math

import numpy as np
import pytest
from helpers import numeric_gradient

import pynn
import pynn.functional as F
from pynn import nn

# PyTorch's own warnings about the inputs we give it on purpose (a bool key padding mask
# with a float attn_mask; nested tensors off for a layer that could not use them anyway)
pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check_grads(fn, inputs, module=None, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Gradients of ``sum(fn(*inputs) * dy)`` with respect to every input (float64 arrays,
    all differentiated) and every parameter of ``module``, against central differences."""
    leaves = [pynn.tensor(a.copy(), requires_grad=True) for a in inputs]
    if module is not None:
        module.zero_grad()
    out = fn(*leaves)
    assert out.dtype == np.float64
    dy = np.random.default_rng(99).standard_normal(out.shape)
    out.backward(dy)
    arrays = [a.copy() for a in inputs]

    def objective():
        with pynn.no_grad():
            return float(np.sum(fn(*[pynn.tensor(a) for a in arrays]).numpy() * dy))

    targets = [(f"input {i}", arr, leaf) for i, (arr, leaf) in enumerate(zip(arrays, leaves))]
    if module is not None:
        targets += [(name, p.detach().numpy(), p) for name, p in module.named_parameters()]
    for name, arr, owner in targets:
        assert owner.grad is not None, f"{name} got no gradient"
        numeric = numeric_gradient(objective, arr, eps)
        np.testing.assert_allclose(owner.grad.numpy(), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    return out


def _torch_state(tmodule):
    return {k: v.detach().numpy().copy() for k, v in tmodule.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention

SDPA_CASES = {
    "plain": {"shapes": ((2, 3, 4), (2, 5, 4), (2, 5, 3))},
    "unbatched": {"shapes": ((3, 4), (5, 4), (5, 2))},
    "heads_bool_mask_per_batch": {"shapes": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)),
                                      "mask": ("bool", (2, 1, 3, 5))},
    "float_mask_2d": {"shapes": ((2, 3, 4), (2, 5, 4), (2, 5, 3)), "mask": ("float", (3, 5))},
    "float_mask_key_bias": {"shapes": ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)),
                                "mask": ("float", (2, 1, 1, 5))},
    "causal_square": {"shapes": ((2, 4, 3), (2, 4, 3), (2, 4, 2)), "causal": True},
    "causal_rectangular": {"shapes": ((2, 3, 3), (2, 5, 3), (2, 5, 2)), "causal": True},
    "scale": {"shapes": ((2, 3, 4), (2, 5, 4), (2, 5, 3)), "scale": 0.3},
    "broadcast_batch": {"shapes": ((2, 3, 3, 4), (2, 1, 5, 4), (5, 3))},
}


def _sdpa_mask(spec, seed=5):
    if spec is None:
        return None
    kind, shape = spec
    m = np.random.default_rng(seed).standard_normal(shape)
    if kind == "bool":
        m = m > -0.5
        m[..., 0] = True  # every query sees a key (PyTorch gives NaN otherwise)
    return m


@pytest.mark.parametrize("case", sorted(SDPA_CASES))
def test_sdpa_gradcheck(case, each_backend, threads):
    threads(1)
    c = SDPA_CASES[case]
    mask = _sdpa_mask(c.get("mask"))
    arrays = [_rand(*s, seed=i) for i, s in enumerate(c["shapes"])]
    kw = {"is_causal": c.get("causal", False), "scale": c.get("scale")}
    if mask is not None and mask.dtype != bool:  # a float mask is differentiated too
        _check_grads(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, **kw),
                     arrays + [mask])
    else:
        _check_grads(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask, **kw),
                     arrays)


def test_sdpa_dropout_gradcheck(each_backend, threads):
    threads(1)

    def fn(q, k, v):
        pynn.manual_seed(7)  # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    out = _check_grads(fn, [_rand(2, 3, 4, seed=1), _rand(2, 5, 4, seed=2),
                            _rand(2, 5, 3, seed=3)])
    plain = F.scaled_dot_product_attention(*(pynn.tensor(_rand(*s, seed=i)) for i, s in
                                             ((1, (2, 3, 4)), (2, (2, 5, 4)), (3, (2, 5, 3)))))
    assert not np.allclose(out.detach().numpy(), plain.detach().numpy())


@pytest.mark.parametrize("case", sorted(SDPA_CASES))
def test_sdpa_matches_torch(case, each_backend, torch):
    c = SDPA_CASES[case]
    mask = _sdpa_mask(c.get("mask"))
    arrays = [_rand(*s, seed=i) for i, s in enumerate(c["shapes"])]
    grad_mask = mask is not None and mask.dtype != bool
    leaves = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    tleaves = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    m = tm = None
    if mask is not None:
        m = pynn.tensor(mask.copy(), requires_grad=grad_mask)
        tm = torch.from_numpy(mask.copy()).requires_grad_(grad_mask)
    kw = {"is_causal": c.get("causal", False), "scale": c.get("scale")}
    out = F.scaled_dot_product_attention(*leaves, m, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(*tleaves, tm, **kw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-13)
    dy = _rand(*out.shape, seed=9)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    for name, a, b in zip("qkv", leaves, tleaves):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=name)
    if grad_mask:
        np.testing.assert_allclose(m.grad.numpy(), tm.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_sdpa_grouped_query_attention_matches_torch(torch):
    q, k, v = _rand(2, 4, 3, 5, seed=1), _rand(2, 2, 6, 5, seed=2), _rand(2, 2, 6, 3, seed=3)
    leaves = [pynn.tensor(a, requires_grad=True) for a in (q, k, v)]
    tleaves = [torch.from_numpy(a).requires_grad_(True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*leaves, enable_gqa=True)
    tout = torch.nn.functional.scaled_dot_product_attention(*tleaves, enable_gqa=True)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for a, b in zip(leaves, tleaves):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_sdpa_query_that_sees_no_key_gets_zeros(each_backend):
    q, k, v = _rand(1, 3, 4), _rand(1, 5, 4, seed=1), _rand(1, 5, 2, seed=2)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    qt = pynn.tensor(q, requires_grad=True)
    out = F.scaled_dot_product_attention(qt, pynn.tensor(k), pynn.tensor(v), mask)
    assert np.all(out.detach().numpy()[:, 1] == 0) and np.all(np.isfinite(out.detach().numpy()))
    out.sum().backward()
    assert np.all(qt.grad.numpy()[:, 1] == 0) and np.all(np.isfinite(qt.grad.numpy()))


def test_sdpa_masked_key_has_no_influence_and_no_gradient(each_backend):
    q, k, v = _rand(2, 3, 4), _rand(2, 5, 4, seed=1), _rand(2, 5, 2, seed=2)
    keep = np.ones((2, 1, 5), bool)
    keep[0, :, 3:] = False
    kt, vt = pynn.tensor(k, requires_grad=True), pynn.tensor(v, requires_grad=True)
    out = F.scaled_dot_product_attention(pynn.tensor(q), kt, vt, keep)
    out.backward(_rand(*out.shape, seed=3))
    assert np.all(kt.grad.numpy()[0, 3:] == 0) and np.all(vt.grad.numpy()[0, 3:] == 0)
    assert np.all(kt.grad.numpy()[0, :3] != 0) and np.all(vt.grad.numpy()[1] != 0)
    k2, v2 = k.copy(), v.copy()
    k2[0, 3:] = 100.0
    v2[0, 3:] = -100.0
    out2 = F.scaled_dot_product_attention(pynn.tensor(q), pynn.tensor(k2), pynn.tensor(v2), keep)
    np.testing.assert_array_equal(out.detach().numpy(), out2.detach().numpy())


def test_sdpa_errors():
    q, k, v = (pynn.tensor(_rand(2, 3, 4)), pynn.tensor(_rand(2, 5, 4)),
               pynn.tensor(_rand(2, 5, 3)))
    with pytest.raises(ValueError, match=r"key must have E = 4 .* got \(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match=r"value must have S = 5 rows"):
        F.scaled_dot_product_attention(q, k, pynn.tensor(_rand(2, 4, 3)))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) does not broadcast to "
                                         r"\(\*, L, S\) = \(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, np.ones((3, 4), bool))
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(TypeError, match="key has dtype float32 but query has float64"):
        F.scaled_dot_product_attention(q, k.to(np.float32), v)
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        F.scaled_dot_product_attention(q, k, v, np.ones((3, 5), np.int64))


# ---------------------------------------------------------------------------------------------
# MultiheadAttention

E, H = 4, 2
L, S, N = 3, 4, 2


def _tokens(length, dim, batch_first, unbatched=False, seed=0):
    shape = (length, dim) if unbatched else ((N, length, dim) if batch_first else (length, N, dim))
    return _rand(*shape, seed=seed)


def _kpm(kind="bool", s=S):
    pad = np.zeros((N, s), bool)
    pad[0, s - 2:] = True
    pad[1, s - 1] = True  # the last keys: with a causal mask, every query still sees one
    if kind == "bool":
        return pad
    return np.where(pad, -np.inf, _rand(N, s, seed=4) * 0.3)


# name: (constructor kwargs, attention kind, forward kwargs)
#   kind: "self" (query is key is value), "cross" (key is value), "separate" (three tensors)
MHA_CASES = {
    "self": ({}, "self", {}),
    "self_batch_first_kpm_float_mask": ({"batch_first": True}, "self",
                                        {"key_padding_mask": ("kpm", "bool"),
                                         "attn_mask": ("float2d", L)}),
    "self_causal_kpm": ({}, "self", {"is_causal": True, "key_padding_mask": ("kpm", "bool")}),
    "cross": ({}, "cross", {"key_padding_mask": ("kpm", "float")}),
    "cross_batch_first_3d_bool_mask": ({"batch_first": True}, "cross",
                                       {"attn_mask": ("bool3d", S)}),
    "separate": ({}, "separate", {"attn_mask": ("bool2d", S)}),
    "kdim_vdim": ({"kdim": 3, "vdim": 5, "batch_first": True}, "separate",
                  {"key_padding_mask": ("kpm", "bool")}),
    "no_bias": ({"bias": False}, "cross", {}),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, "cross",
                          {"key_padding_mask": ("kpm", "bool"), "attn_mask": ("float2d", S)}),
    "unbatched": ({"kdim": 3, "vdim": 5}, "separate", {"unbatched": True}),
}


def _mha_call(case):
    """(module kwargs, query, key, value arrays (None: same as the previous), forward kwargs,
    unbatched)."""
    kwargs, kind, fwd = MHA_CASES[case]
    fwd = dict(fwd)
    unbatched = fwd.pop("unbatched", False)
    bf = kwargs.get("batch_first", False)
    s = L if kind == "self" else S
    q = _tokens(L, E, bf, unbatched, seed=1)
    k = None if kind == "self" else _tokens(S, kwargs.get("kdim", E), bf, unbatched, seed=2)
    v = _tokens(S, kwargs.get("vdim", E), bf, unbatched, seed=3) if kind == "separate" else None
    for name, spec in list(fwd.items()):
        if not isinstance(spec, tuple):
            continue
        what, arg = spec
        if what == "kpm":
            fwd[name] = _kpm(arg, s)
        elif what == "float2d":
            fwd[name] = _rand(L, arg, seed=6)
        elif what == "bool2d":
            m = _rand(L, arg, seed=6) > 0.3
            m[:, 1] = False
            fwd[name] = m
        elif what == "bool3d":
            m = _rand(N * H, L, arg, seed=6) > 0.3
            m[..., 1] = False
            fwd[name] = m
    return kwargs, q, k, v, fwd, unbatched


def _attend(module, q, k, v, **fwd):
    key = q if k is None else k
    value = key if v is None else v
    return module(q, key, value, **fwd)


@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_gradcheck(case, each_backend, threads):
    threads(1)
    pynn.manual_seed(0)
    kwargs, q, k, v, fwd, _ = _mha_call(case)
    mha = nn.MultiheadAttention(E, H, **kwargs).double()
    for p in mha.parameters():  # biases away from their zero init
        p.data[...] = np.random.default_rng(3).uniform(-0.6, 0.6, p.shape)
    inputs = [a for a in (q, k, v) if a is not None]
    _check_grads(lambda *t: _attend(mha, *t, *(None,) * (3 - len(t)), **fwd,
                                    need_weights=False)[0], inputs, mha)


@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(case, average, each_backend, torch):
    kwargs, q, k, v, fwd, _ = _mha_call(case)
    theirs = torch.nn.MultiheadAttention(E, H, **kwargs).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.2 * torch.randn(p.shape, dtype=p.dtype))
    ours = nn.MultiheadAttention(E, H, **kwargs).double()
    result = ours.load_state_dict(_torch_state(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []

    arrays = [a for a in (q, k, v) if a is not None]
    leaves = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    tleaves = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    tfwd = {name: torch.from_numpy(val) if isinstance(val, np.ndarray) else val
            for name, val in fwd.items()}
    if fwd.get("is_causal"):  # PyTorch wants the mask with the hint
        tfwd["attn_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(
            L, dtype=torch.float64)
    pad = (None,) * (3 - len(arrays))
    out, w = _attend(ours, *leaves, *pad, **fwd, average_attn_weights=average)
    tout, tw = _attend(theirs, *tleaves, *pad, **tfwd, average_attn_weights=average)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    dy = _rand(*out.shape, seed=8)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    for i, (a, b) in enumerate(zip(leaves, tleaves)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=f"input {i}")
    tparams = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(tparams)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=name)
    # need_weights=False (PyTorch's SDPA path) gives the same output
    out2, w2 = _attend(ours, *leaves, *pad, **fwd, need_weights=False)
    assert w2 is None
    np.testing.assert_allclose(out2.detach().numpy(), out.detach().numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kwargs", [{}, {"kdim": 3, "vdim": 5}, {"bias": False},
                                    {"add_bias_kv": True}])
def test_multihead_attention_state_dict_and_init_match_torch(kwargs, torch):
    pynn.manual_seed(0)
    ours, theirs = nn.MultiheadAttention(16, 4, **kwargs), torch.nn.MultiheadAttention(16, 4,
                                                                                      **kwargs)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for key in sd:
        assert sd[key].shape == tuple(tsd[key].shape) and sd[key].dtype == np.float32, key
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    # PyTorch's initialisation: Xavier-uniform projections, zero biases
    w = sd.get("in_proj_weight", sd.get("q_proj_weight")).numpy()
    bound = math.sqrt(6 / (w.shape[0] + w.shape[1]))  # fan_out + fan_in
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    tw = tsd.get("in_proj_weight", tsd.get("q_proj_weight")).numpy()
    assert np.abs(tw).max() <= bound and np.abs(tw).max() > 0.8 * bound
    if "in_proj_bias" in sd:
        assert not sd["in_proj_bias"].any() and not sd["out_proj.bias"].any()


def test_padded_key_gets_zero_weight_and_its_rows_zero_gradient(each_backend):
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    q = pynn.tensor(_rand(2, 3, 8), requires_grad=True)
    k = pynn.tensor(_rand(2, 5, 8, seed=1), requires_grad=True)
    v = pynn.tensor(_rand(2, 5, 8, seed=2), requires_grad=True)
    pad = np.zeros((2, 5), bool)
    pad[0, 3:] = True
    pad[1, 0] = True
    out, w = mha(q, k, v, key_padding_mask=pad, average_attn_weights=False)
    assert w.shape == (2, 2, 3, 5)
    weights = w.detach().numpy()
    assert np.all(weights[0, ..., 3:] == 0) and np.all(weights[1, ..., 0] == 0)
    assert np.all(weights[0, ..., :3] > 0) and np.all(weights[1, ..., 1:] > 0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)
    out.backward(_rand(*out.shape, seed=3))
    for t in (k, v):
        assert np.all(t.grad.numpy()[0, 3:] == 0) and np.all(t.grad.numpy()[1, 0] == 0)
        assert np.all(t.grad.numpy()[0, :3] != 0) and np.all(t.grad.numpy()[1, 1:] != 0)
    # and what a padded key or value holds does not matter
    k2, v2 = k.detach().numpy().copy(), v.detach().numpy().copy()
    k2[0, 3:], v2[1, 0] = 50.0, -50.0
    with pynn.no_grad():
        out2 = mha(q, pynn.tensor(k2), pynn.tensor(v2), key_padding_mask=pad)[0]
    np.testing.assert_array_equal(out2.detach().numpy(), out.detach().numpy())


@pytest.mark.parametrize("how", ["is_causal", "bool_mask", "float_mask", "sdpa"])
def test_causal_attention_hides_the_future(how, each_backend):
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()

    def run(x):
        if how == "sdpa":
            t = x.reshape(2, 6, 2, 4).transpose(1, 2)
            return F.scaled_dot_product_attention(t, t, t, is_causal=True).transpose(1, 2)
        kw = {"is_causal": True} if how == "is_causal" else {
            "attn_mask": np.triu(np.ones((6, 6), bool), 1) if how == "bool_mask"
            else nn.generate_square_subsequent_mask(6, dtype=np.float64)}
        return mha(x, x, x, need_weights=False, **kw)[0]

    x = _rand(2, 6, 8)
    y = run(pynn.tensor(x)).detach().numpy()
    x2 = x.copy()
    x2[:, 4:] = _rand(2, 2, 8, seed=5)
    y2 = run(pynn.tensor(x2)).detach().numpy()
    np.testing.assert_array_equal(y2[:, :4], y[:, :4])
    assert not np.allclose(y2[:, 4:], y[:, 4:])
    # no gradient flows from an output to later inputs
    xt = pynn.tensor(x, requires_grad=True)
    dy = np.zeros(y.shape)
    dy[:, 2] = 1.0
    run(xt).backward(dy)
    assert np.all(xt.grad.numpy()[:, 3:] == 0) and np.all(xt.grad.numpy()[:, :3] != 0)


def test_multihead_attention_dropout_only_in_train_mode(each_backend):
    pynn.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5).double()
    x = pynn.tensor(_rand(5, 3, 8))
    mha.eval()
    out_eval, w_eval = mha(x, x, x, average_attn_weights=False)
    np.testing.assert_array_equal(mha(x, x, x)[0].detach().numpy(), out_eval.detach().numpy())
    np.testing.assert_allclose(w_eval.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    mha.train()
    pynn.manual_seed(1)
    out_a, w_a = mha(x, x, x, average_attn_weights=False)
    pynn.manual_seed(1)
    out_b, _ = mha(x, x, x)
    np.testing.assert_array_equal(out_a.data, out_b.data)  # reproducible with the seed
    assert not np.allclose(out_a.detach().numpy(), out_eval.detach().numpy())
    # the weights are the eval weights, each dropped or scaled by 1 / (1 - p)
    w_a, w_eval = w_a.detach().numpy(), w_eval.detach().numpy()
    dropped = w_a == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(w_a[~dropped], 2 * w_eval[~dropped], rtol=1e-12)
    pynn.manual_seed(2)
    assert not np.allclose(mha(x, x, x)[0].detach().numpy(), out_a.detach().numpy())


def test_multihead_attention_float32_and_unbatched_shapes():
    mha = nn.MultiheadAttention(8, 4, kdim=6, vdim=5)
    out, w = mha(pynn.tensor(_rand(3, 8).astype(np.float32)),
                 pynn.tensor(_rand(7, 6).astype(np.float32)),
                 pynn.tensor(_rand(7, 5).astype(np.float32)), average_attn_weights=False)
    assert out.shape == (3, 8) and out.dtype == np.float32
    assert w.shape == (4, 3, 7) and w.dtype == np.float32


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)
    mha = nn.MultiheadAttention(8, 2).double()
    x = pynn.tensor(_rand(3, 2, 8))
    name = r"MultiheadAttention\(embed_dim=8, num_heads=2\)"
    with pytest.raises(ValueError, match=name + r": expected query with embed_dim=8 features "
                                                r"\(last dimension\), got shape \(3, 2, 6\)"):
        y = pynn.tensor(_rand(3, 2, 6))
        mha(y, y, y)
    with pytest.raises(ValueError, match=r"the shape of the 2D attn_mask is \(3, 4\), but "
                                         r"should be \(3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"the shape of the 3D attn_mask is \(2, 3, 3\), but "
                                         r"should be \(4, 3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\)"):
        mha(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(TypeError, match="only bool and floating types of key_padding_mask"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"key has batch size 3 but query has 2"):
        k = pynn.tensor(_rand(4, 3, 8))
        mha(x, k, k)
    with pytest.raises(TypeError, match="float32"):
        y = x.to(np.float32)
        mha(y, y, y)
    with pytest.raises(ValueError, match=r"query must have shape \(L, N, E\) or, unbatched"):
        y = pynn.tensor(_rand(1, 3, 2, 8))
        mha(y, y, y)
    sep = nn.MultiheadAttention(8, 2, kdim=4, vdim=4).double()
    with pytest.raises(ValueError, match=r"kdim=4, vdim=4\): expected key with kdim=4"):
        sep(x, x, x)


# ---------------------------------------------------------------------------------------------
# Positional encodings


def _tutorial_pe(torch, max_len, d_model):
    """PyTorch's Transformer tutorial (``PositionalEncoding``), even d_model."""
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64)
                         * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.numpy()


@pytest.mark.parametrize("batch_first", [False, True])
def test_sinusoidal_positional_encoding(batch_first, torch):
    pe = nn.SinusoidalPositionalEncoding(6, max_len=50, batch_first=batch_first,
                                         dtype=np.float64)
    np.testing.assert_allclose(pe.pe, _tutorial_pe(torch, 50, 6), rtol=1e-14, atol=1e-15)
    assert pe.state_dict() == {} and pe.pe.dtype == np.float64  # a computed buffer
    x = _rand(4, 7, 6) if batch_first else _rand(7, 4, 6)
    table = pe.pe[:7][None] if batch_first else pe.pe[:7][:, None]
    np.testing.assert_array_equal(pe(pynn.tensor(x)).detach().numpy(), x + table)
    np.testing.assert_array_equal(pe(pynn.tensor(x[0] if batch_first else x[:, 0])).data,
                                  (x[0] if batch_first else x[:, 0]) + pe.pe[:7])
    odd = nn.SinusoidalPositionalEncoding(5, max_len=10)
    np.testing.assert_allclose(odd.pe[:, 4], np.sin(np.arange(10) * 1e4 ** (-4 / 5)), rtol=1e-6)
    np.testing.assert_allclose(odd.pe[:, 3], np.cos(np.arange(10) * 1e4 ** (-2 / 5)), rtol=1e-6,
                               atol=1e-7)
    assert odd.pe.dtype == np.float32


def test_learned_positional_encoding_gradient_and_state_dict(each_backend, threads, torch):
    threads(1)
    pynn.manual_seed(0)
    pe = nn.LearnedPositionalEncoding(6, 3, batch_first=True).double()
    assert list(pe.state_dict()) == list(torch.nn.Embedding(6, 3).state_dict())
    assert pe.weight.shape == (6, 3)
    _check_grads(pe, [_rand(2, 4, 3)], pe)
    x = pynn.tensor(_rand(4, 2, 3))
    pe_seq = nn.LearnedPositionalEncoding(6, 3).double()
    pe_seq.load_state_dict(pe.state_dict())
    y = pe_seq(x)
    np.testing.assert_array_equal(y.detach().numpy(),
                                  x.numpy() + pe.weight.detach().numpy()[:4, None])
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(pe_seq.weight.grad.numpy()[:4], 2.0)
    np.testing.assert_array_equal(pe_seq.weight.grad.numpy()[4:], 0.0)


@pytest.mark.parametrize("make", [lambda: nn.SinusoidalPositionalEncoding(4, max_len=5),
                                  lambda: nn.LearnedPositionalEncoding(5, 4)])
def test_positional_encoding_errors_and_dropout(make):
    pe = make().double()
    with pytest.raises(ValueError, match=r"the input has 6 positions \(dim 0 of shape "
                                         r"\(6, 2, 4\)\) but max_len is 5"):
        pe(pynn.tensor(_rand(6, 2, 4)))
    with pytest.raises(ValueError, match=r"d_model=4"):
        pe(pynn.tensor(_rand(3, 2, 5)))
    with pytest.raises(TypeError, match="float32"):
        pe(pynn.tensor(_rand(3, 2, 4).astype(np.float32)))
    pe.dropout = 0.5
    x = pynn.tensor(_rand(5, 3, 4))
    pe.eval()
    y_eval = pe(x).detach().numpy()
    pe.train()
    y_train = pe(x).detach().numpy()
    dropped = y_train == 0
    assert 0.2 < dropped.mean() < 0.8
    np.testing.assert_allclose(y_train[~dropped], 2 * y_eval[~dropped], rtol=1e-12)
