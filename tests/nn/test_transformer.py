"""Transformer layers and stacks: finite-difference gradient checks (float64, both backends,
pre- and post-norm, ReLU and GELU), agreement with PyTorch for the same weights (outputs and
every gradient in train mode with dropout 0; outputs in eval mode, where PyTorch takes its
fused fast path), state_dict keys, causal language modelling, dropout only in train mode,
and error messages."""

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
    pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning"),
]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _load_from_torch(ours, theirs, torch, jitter=0.2):
    """Perturb PyTorch's weights (so biases and norms are not at their init) and load them
    into ours, key for key."""
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        for p in theirs.parameters():
            p.add_(jitter * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    result = ours.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []


def _compare_grads(ours, theirs, leaves, tleaves, rtol=1e-10, atol=1e-12):
    for i, (a, b) in enumerate(zip(leaves, tleaves)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"input {i}")
    tparams = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(tparams)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


D, NHEAD, FF = 8, 2, 12
L, S, N = 5, 4, 2


def _masks(length, batch_first):
    """A causal float mask and a key padding mask (trailing pads) for ``length`` tokens."""
    causal = np.triu(np.full((length, length), -np.inf), 1)
    pad = np.zeros((N, length), bool)
    pad[1, length - 2:] = True
    return causal, pad


def _x(length, batch_first, seed=1):
    return _rand(*((N, length, D) if batch_first else (length, N, D)), seed=seed)


# ---------------------------------------------------------------------------------------------
# Against PyTorch


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, each_backend, torch):
    kw = {"dropout": 0.0, "activation": activation, "batch_first": batch_first,
          "norm_first": norm_first}
    theirs = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, **kw).double()
    ours = nn.TransformerEncoderLayer(D, NHEAD, FF, **kw).double()
    _load_from_torch(ours, theirs, torch)
    x = _x(L, batch_first)
    causal, pad = _masks(L, batch_first)
    xp, xt = pynn.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_(True)
    out = ours(xp, src_mask=causal, src_key_padding_mask=pad, is_causal=True)
    tout = theirs(xt, src_mask=torch.from_numpy(causal),
                  src_key_padding_mask=torch.from_numpy(pad), is_causal=True)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = _rand(*out.shape, seed=5)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    _compare_grads(ours, theirs, [xp], [xt])


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, activation, each_backend, torch):
    kw = {"dropout": 0.0, "activation": activation, "batch_first": True, "norm_first": norm_first}
    theirs = torch.nn.TransformerDecoderLayer(D, NHEAD, FF, **kw).double()
    ours = nn.TransformerDecoderLayer(D, NHEAD, FF, **kw).double()
    _load_from_torch(ours, theirs, torch)
    tgt, mem = _x(L, True), _x(S, True, seed=2)
    causal, tgt_pad = _masks(L, True)
    mem_pad = np.zeros((N, S), bool)
    mem_pad[0, 2:] = True
    mem_mask = _rand(L, S, seed=3)
    leaves = [pynn.tensor(a, requires_grad=True) for a in (tgt, mem)]
    tleaves = [torch.from_numpy(a).requires_grad_(True) for a in (tgt, mem)]
    masks = {"tgt_mask": causal, "memory_mask": mem_mask, "tgt_key_padding_mask": tgt_pad,
                 "memory_key_padding_mask": mem_pad}
    out = ours(*leaves, **masks, tgt_is_causal=True)
    tout = theirs(*tleaves, **{k: torch.from_numpy(v) for k, v in masks.items()},
                  tgt_is_causal=True)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = _rand(*out.shape, seed=5)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    _compare_grads(ours, theirs, leaves, tleaves)


def test_encoder_stack_state_dict_and_training_pass_match_torch(each_backend, torch):
    layer_kw = {"dropout": 0.0, "activation": "gelu"}
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NHEAD, FF,
                                                                          **layer_kw),
                                         3, norm=torch.nn.LayerNorm(D),
                                         enable_nested_tensor=False).double()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF, **layer_kw), 3,
                                 norm=nn.LayerNorm(D)).double()
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert "layers.2.self_attn.in_proj_weight" in ours.state_dict()
    # deep copies: equal at first, separate parameters
    p0, p1 = ours.layers[0].linear1.weight, ours.layers[1].linear1.weight
    assert p0 is not p1
    np.testing.assert_array_equal(p0.detach().numpy(), p1.detach().numpy())
    _load_from_torch(ours, theirs, torch)
    x = _x(L, False)
    causal, pad = _masks(L, False)
    xp, xt = pynn.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_(True)
    out = ours(xp, mask=causal, src_key_padding_mask=pad)  # causal detected from the mask
    tout = theirs(xt, mask=torch.from_numpy(causal), src_key_padding_mask=torch.from_numpy(pad))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = _rand(*out.shape, seed=5)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    _compare_grads(ours, theirs, [xp], [xt])


def test_eval_mode_matches_torch_fast_path(torch):
    """In eval mode under no_grad PyTorch runs its fused encoder kernels (batch_first, even
    nhead); the numbers agree. With a key padding mask, PyTorch's TransformerEncoder then
    returns zeros at the padded positions: compare the others."""
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True), 2).double().eval()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True),
                                 2).double().eval()
    _load_from_torch(ours, theirs, torch)
    x = _x(L, True)
    _, pad = _masks(L, True)
    with torch.no_grad():
        tout = theirs(torch.from_numpy(x)).numpy()
        tout_pad = theirs(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(pad)).numpy()
        tlayer = theirs.layers[0](torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(pad))
    with pynn.no_grad():
        out = ours(pynn.tensor(x)).detach().numpy()
        out_pad = ours(pynn.tensor(x), src_key_padding_mask=pad).detach().numpy()
        layer = ours.layers[0](pynn.tensor(x), src_key_padding_mask=pad).detach().numpy()
    np.testing.assert_allclose(out, tout, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out_pad[~pad], tout_pad[~pad], rtol=1e-10, atol=1e-12)
    assert np.all(tout_pad[pad] == 0)
    np.testing.assert_allclose(layer, tlayer.numpy(), rtol=1e-10, atol=1e-12)


def test_transformer_and_decoder_stack_match_torch(each_backend, torch):
    kw = {"d_model": D, "nhead": NHEAD, "num_encoder_layers": 2, "num_decoder_layers": 2,
              "dim_feedforward": FF, "dropout": 0.0}
    theirs = torch.nn.Transformer(**kw).double()
    ours = nn.Transformer(**kw).double()
    _load_from_torch(ours, theirs, torch)
    src, tgt = _x(S, False, seed=1), _x(L, False, seed=2)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64)
    src_pad = np.zeros((N, S), bool)
    src_pad[0, -1] = True
    leaves = [pynn.tensor(a, requires_grad=True) for a in (src, tgt)]
    tleaves = [torch.from_numpy(a).requires_grad_(True) for a in (src, tgt)]
    out = ours(*leaves, tgt_mask=tgt_mask, src_key_padding_mask=src_pad,
               memory_key_padding_mask=src_pad)
    tout = theirs(*tleaves, tgt_mask=torch.from_numpy(tgt_mask.numpy()),
                  src_key_padding_mask=torch.from_numpy(src_pad),
                  memory_key_padding_mask=torch.from_numpy(src_pad))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    dy = _rand(*out.shape, seed=5)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    _compare_grads(ours, theirs, leaves, tleaves, rtol=1e-9, atol=1e-11)


def test_transformer_initialisation_and_square_subsequent_mask(torch):
    pynn.manual_seed(0)
    ours = nn.Transformer(16, 4, 1, 1, 32)
    theirs = torch.nn.Transformer(16, 4, 1, 1, 32)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname and p.shape == tuple(tp.shape) and p.dtype == np.float32
        if p.ndim > 1:  # Xavier-uniform everywhere, as PyTorch's _reset_parameters
            bound = np.sqrt(6 / (p.shape[0] + p.shape[1]))
            w = p.detach().numpy()
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.7 * bound
    for sz in (1, 4):
        mask = nn.Transformer.generate_square_subsequent_mask(sz)
        expected = torch.nn.Transformer.generate_square_subsequent_mask(sz).numpy()
        assert mask.dtype == np.float32
        np.testing.assert_array_equal(mask.detach().numpy(), expected)
        np.testing.assert_array_equal(nn.generate_square_subsequent_mask(sz).numpy(), expected)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_state_dict_keys_match_torch(bias, torch):
    for name in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        ours = getattr(nn, name)(8, 2, 16, bias=bias)
        theirs = getattr(torch.nn, name)(8, 2, 16, bias=bias)
        sd, tsd = ours.state_dict(), theirs.state_dict()
        assert list(sd) == list(tsd), name
        for key in sd:
            assert sd[key].shape == tuple(tsd[key].shape), key


def test_unbatched_input_is_a_batch_of_one(each_backend):
    pynn.manual_seed(0)
    enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    x, m = _rand(5, 8), _rand(3, 8, seed=1)
    pad = np.array([False, False, True])
    np.testing.assert_allclose(enc(pynn.tensor(x), is_causal=True).detach().numpy(),
                               enc(pynn.tensor(x[None]), is_causal=True).detach().numpy()[0],
                               rtol=1e-13)
    out = dec(pynn.tensor(x), pynn.tensor(m), memory_key_padding_mask=pad)
    assert out.shape == (5, 8)
    np.testing.assert_allclose(out.detach().numpy(), dec(pynn.tensor(x[None]), pynn.tensor(m[None]),
                                             memory_key_padding_mask=pad[None]).detach().numpy()[0],
                               rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# Gradient checks

SMALL = {"d_model": 4, "nhead": 2, "dim_feedforward": 5, "dropout": 0.0}


def _check_module(module, inputs, fn, directions=3, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Gradient check of ``sum(fn(*inputs) * dy)``: element by element for the inputs, and
    along ``directions`` random directions for each parameter tensor (a layer has a few
    hundred parameters; a wrong gradient is caught unless it errs orthogonally to every
    direction)."""
    module.double()
    leaves = [pynn.tensor(a.copy(), requires_grad=True) for a in inputs]
    module.zero_grad()
    out = fn(*leaves)
    rng = np.random.default_rng(9)
    dy = rng.standard_normal(out.shape)
    out.backward(dy)
    arrays = [a.copy() for a in inputs]

    def objective():
        with pynn.no_grad():
            return float(np.sum(fn(*[pynn.tensor(a) for a in arrays]).numpy() * dy))

    for i, (a, t) in enumerate(zip(arrays, leaves)):
        np.testing.assert_allclose(t.grad.numpy(), numeric_gradient(objective, a, eps), rtol=rtol,
                                   atol=atol, err_msg=f"gradient of input {i}")
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        orig = p.detach().numpy().copy()
        for _ in range(directions):
            v = rng.standard_normal(orig.shape)
            p.data[...] = orig + eps * v
            plus = objective()
            p.data[...] = orig - eps * v
            minus = objective()
            p.data[...] = orig
            np.testing.assert_allclose(np.sum(p.grad.numpy() * v), (plus - minus) / (2 * eps),
                                       rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


def _jitter(module):
    rng = np.random.default_rng(3)
    for p in module.parameters():
        p.data += rng.uniform(-0.3, 0.3, p.shape)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck(norm_first, activation, each_backend, threads):
    threads(1)
    pynn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(**SMALL, activation=activation, norm_first=norm_first,
                                       batch_first=True)
    _jitter(layer)
    pad = np.array([[False, False, True], [False, False, False]])
    _check_module(layer, [_rand(2, 3, 4)],
                  lambda x: layer(x, src_key_padding_mask=pad, is_causal=norm_first))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_gradcheck(norm_first, activation, each_backend, threads):
    threads(1)
    pynn.manual_seed(0)
    layer = nn.TransformerDecoderLayer(**SMALL, activation=activation, norm_first=norm_first)
    _jitter(layer)
    mem_pad = np.array([[False, True, False, False], [False, False, False, True]])
    mem_mask = _rand(3, 4, seed=7)
    _check_module(layer, [_rand(3, 2, 4), _rand(4, 2, 4, seed=1)],
                  lambda t, m: layer(t, m, memory_mask=mem_mask,
                                     memory_key_padding_mask=mem_pad, tgt_is_causal=True))


# ---------------------------------------------------------------------------------------------
# Behaviour


def test_causal_encoder_stack_is_a_language_model(each_backend):
    """TransformerEncoder with is_causal=True (no mask needed) hides the future; the same as
    with the causal mask; an embedding-free LM head trains on it."""
    pynn.manual_seed(0)
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                             batch_first=True), 2).double()
    x = _rand(3, 6, 8)
    out = stack(pynn.tensor(x), is_causal=True).detach().numpy()
    masked = stack(pynn.tensor(x), mask=nn.generate_square_subsequent_mask(6, dtype=np.float64))
    np.testing.assert_allclose(masked.detach().numpy(), out, rtol=1e-13, atol=1e-14)
    x2 = x.copy()
    x2[:, 4:] = _rand(3, 2, 8, seed=4)
    out2 = stack(pynn.tensor(x2), is_causal=True).detach().numpy()
    np.testing.assert_array_equal(out2[:, :4], out[:, :4])
    assert not np.allclose(out2[:, 4:], out[:, 4:])

    head = nn.Linear(8, 5).double()
    targets = np.random.default_rng(0).integers(0, 5, (3, 6))
    params = list(stack.parameters()) + list(head.parameters())
    opt = pynn.optim.Adam(params, lr=1e-2)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        logits = head(stack(pynn.tensor(x), is_causal=True))
        loss = F.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_dropout_only_in_train_mode():
    pynn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3).double()
    plain = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0).double()
    plain.load_state_dict(layer.state_dict())
    x = pynn.tensor(_rand(4, 3, 8))
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), plain(x).detach().numpy())
    layer.train()
    pynn.manual_seed(1)
    a = layer(x).detach().numpy()
    pynn.manual_seed(1)
    np.testing.assert_array_equal(layer(x).detach().numpy(), a)
    assert not np.allclose(a, plain(x).detach().numpy())


def test_activation_module_and_callable(torch):
    ours = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.nn.GELU())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu == 2
    custom = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=F.tanh).double()
    gelu = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu").double()
    gelu.load_state_dict(custom.state_dict())
    x = pynn.tensor(_rand(3, 2, 8))
    assert not np.allclose(custom(x).detach().numpy(), gelu(x).detach().numpy())
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_transformer_errors():
    layer = nn.TransformerEncoderLayer(8, 2, 16).double()
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer\(d_model=8, nhead=2\): "
                                         r"expected src of shape \(L, N, d_model\) or "
                                         r"\(L, d_model\) with d_model=8, got shape \(3, 2, 6\)"):
        layer(pynn.tensor(_rand(3, 2, 6)))
    with pytest.raises(ValueError, match=r"the shape of the 2D attn_mask is \(4, 4\), but "
                                         r"should be \(3, 3\)"):
        layer(pynn.tensor(_rand(3, 2, 8)), src_mask=np.zeros((4, 4)))
    dec = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True).double()
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer\(d_model=8, nhead=2\): "
                                         r"expected memory of shape \(N, L, d_model\)"):
        dec(pynn.tensor(_rand(2, 3, 8)), pynn.tensor(_rand(2, 3, 4)))
    model = nn.Transformer(8, 2, 1, 1, 16).double()
    with pytest.raises(ValueError, match="the batch number of src and tgt must be equal"):
        model(pynn.tensor(_rand(3, 2, 8)), pynn.tensor(_rand(3, 4, 8)))
    with pytest.raises(ValueError, match="the batch number of src and tgt must be equal"):
        model(pynn.tensor(_rand(3, 8)), pynn.tensor(_rand(3, 2, 8)))  # unbatched src
    with pytest.raises(ValueError, match="feature number of src and tgt must be equal to "
                                         "d_model=8"):
        model(pynn.tensor(_rand(3, 2, 8)), pynn.tensor(_rand(3, 2, 6)))
