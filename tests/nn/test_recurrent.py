"""Recurrent layers (RNN, LSTM, GRU and their cells) and Embedding: finite-difference gradient
checks in both backends, outputs and every gradient against PyTorch, state_dict
compatibility, initialisation, dropout between layers, the graph shape, error messages."""

import math
import warnings

import numpy as np
import pytest

import pynn
import pynn.functional as F
from pynn import nn
from pynn.ops.recurrent import GRUFunction, LSTMFunction, RNNFunction

torch = pytest.importorskip("torch")
tnn = torch.nn

# (class name in both libraries, extra constructor kwargs) per recurrent kind
KINDS = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "gru": ("GRU", {}),
    "lstm": ("LSTM", {}),
}
CELLS = {
    "rnn_tanh": ("RNNCell", {}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "gru": ("GRUCell", {}),
    "lstm": ("LSTMCell", {}),
}


def _layer(lib, kind, *args, **kwargs):
    name, extra = KINDS[kind]
    return getattr(lib, name)(*args, **extra, **kwargs)


def _cell(lib, kind, *args, **kwargs):
    name, extra = CELLS[kind]
    return getattr(lib, name)(*args, **extra, **kwargs)


def _from_torch(tmodel):
    return {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}


def _flat(result):
    """The tensors of a layer's result ``(out, h)``, ``(out, (h, c))``, ``h`` or ``(h, c)``."""
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _flat(r)]
    return [result]


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# Finite-difference gradient checks (float64, both backends)


class _Probe(nn.Module):
    """A recurrent layer or cell seen by ``gradcheck_module`` as one module with one output:
    the initial states are Parameters of the probe (so they are checked too) and the output
    is every result tensor flattened and concatenated."""

    def __init__(self, layer, states=(), lstm=False):
        super().__init__()
        self.layer = layer
        self.n_states = len(states)
        self.lstm = lstm
        for i, s in enumerate(states):
            setattr(self, f"state{i}", nn.Parameter(np.array(s)))

    def forward(self, x):
        states = [getattr(self, f"state{i}") for i in range(self.n_states)]
        hx = None if not states else (tuple(states) if self.lstm else states[0])
        return pynn.cat([t.reshape(-1) for t in _flat(self.layer(x, hx))])


# Each feature is covered once, combined so that the checks stay few (every element of every
# parameter is perturbed, twice); two layers that are also bidirectional are compared with
# PyTorch below. (num_layers, bidirectional, bias, batch_first, unbatched, with_states, N, H);
# L = 3, input size 2.
SEQ_CONFIGS = {
    "one_layer_h0": (1, False, True, False, False, True, 2, 3),
    "two_layers_batch_first_h0": (2, False, True, True, False, True, 2, 2),
    "unbatched_bidirectional_no_bias_no_state": (1, True, False, False, True, False, 1, 3),
}


@pytest.mark.parametrize("config", sorted(SEQ_CONFIGS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rnn_layer_gradcheck(kind, config, each_backend, gradcheck_module):
    layers, bidir, bias, batch_first, unbatched, with_states, N, H = SEQ_CONFIGS[config]
    L, H_in = 3, 2
    pynn.manual_seed(0)
    layer = _layer(nn, kind, H_in, H, num_layers=layers, bias=bias, batch_first=batch_first,
                   bidirectional=bidir)
    rng = _rng(1)
    shape = (L, H_in) if unbatched else ((N, L, H_in) if batch_first else (L, N, H_in))
    state_shape = (layers * (2 if bidir else 1),) + (() if unbatched else (N,)) + (H,)
    n_states = (2 if kind == "lstm" else 1) if with_states else 0
    states = [rng.standard_normal(state_shape) for _ in range(n_states)]
    probe = _Probe(layer, states, lstm=kind == "lstm")
    gradcheck_module(probe, rng.standard_normal(shape))


@pytest.mark.parametrize("variant", ["batched_hx", "unbatched_hx", "no_bias_no_hx"])
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_rnn_cell_gradcheck(kind, variant, each_backend, gradcheck_module):
    N, H_in, H = 2, 2, 3
    pynn.manual_seed(0)
    cell = _cell(nn, kind, H_in, H, bias=variant != "no_bias_no_hx")
    rng = _rng(2)
    unbatched = variant == "unbatched_hx"
    n_states = 0 if variant == "no_bias_no_hx" else (2 if kind == "lstm" else 1)
    states = [rng.standard_normal((H,) if unbatched else (N, H)) for _ in range(n_states)]
    x = rng.standard_normal((H_in,) if unbatched else (N, H_in))
    gradcheck_module(_Probe(cell, states, lstm=kind == "lstm"), x)


class _EmbeddingProbe(nn.Module):
    """Embedding of fixed indices, plus the (float) input so gradcheck_module has one."""

    def __init__(self, emb, indices):
        super().__init__()
        self.emb = emb
        self.indices = indices

    def forward(self, x):
        return self.emb(self.indices) * x


def test_embedding_gradcheck(each_backend, gradcheck_module):
    pynn.manual_seed(0)
    idx = np.array([[1, 4, 1], [0, 4, 4]])  # repeated indices accumulate; row 2, 3 unused
    probe = _EmbeddingProbe(nn.Embedding(5, 3), idx)
    gradcheck_module(probe, _rng(3).standard_normal((2, 3, 3)))


@pytest.mark.parametrize("padding_idx", [4, -1, 0])
def test_embedding_padding_row_gets_no_gradient(padding_idx, each_backend):
    pynn.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=padding_idx).double()
    row = padding_idx % 5
    assert emb.padding_idx == row
    np.testing.assert_array_equal(emb.weight.detach().numpy()[row], 0)
    idx = np.array([[1, 4, 1, 0], [0, 4, 2, 4]])
    dy = _rng(4).standard_normal((2, 4, 3))
    emb(idx).backward(dy)
    expected = np.zeros((5, 3))
    np.add.at(expected, idx.reshape(-1), dy.reshape(-1, 3))
    expected[row] = 0
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# Against PyTorch: outputs and every gradient, same weights, float64


def _pair_states(kind, shape, rng):
    n = 2 if kind == "lstm" else 1
    arrays = [rng.standard_normal(shape) for _ in range(n)]
    ours = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    if kind == "lstm":
        return ours, theirs, tuple(ours), tuple(theirs)
    return ours, theirs, ours[0], theirs[0]


def _compare_backward(ours_out, theirs_out, rng):
    """Backpropagate the same random cotangents through both results; compare outputs."""
    ours_flat, theirs_flat = _flat(ours_out), _flat(theirs_out)
    assert len(ours_flat) == len(theirs_flat)
    ours_loss, theirs_loss = 0, 0
    for o, t in zip(ours_flat, theirs_flat):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        dy = rng.standard_normal(o.shape)
        ours_loss = ours_loss + (o * pynn.tensor(dy)).sum()
        theirs_loss = theirs_loss + (t * torch.from_numpy(dy)).sum()
    ours_loss.backward()
    theirs_loss.backward()


def _compare_grads(ours_leaves, theirs_leaves, model, tmodel):
    for o, t in zip(ours_leaves, theirs_leaves):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rnn_layer_matches_torch(kind, layout, each_backend):
    L, N, H_in, H, layers = 5, 3, 4, 6, 2
    batch_first = layout == "batch_first"
    torch.manual_seed(0)
    tmodel = _layer(tnn, kind, H_in, H, num_layers=layers, bidirectional=True,
                    batch_first=batch_first).double()
    model = _layer(nn, kind, H_in, H, num_layers=layers, bidirectional=True,
                   batch_first=batch_first).double()
    result = model.load_state_dict(_from_torch(tmodel))
    assert result.missing_keys == [] and result.unexpected_keys == []
    rng = _rng(5)
    shape = {"seq_first": (L, N, H_in), "batch_first": (N, L, H_in), "unbatched": (L, H_in)}
    x = rng.standard_normal(shape[layout])
    state_shape = (2 * layers, H) if layout == "unbatched" else (2 * layers, N, H)
    ours_states, theirs_states, hx, thx = _pair_states(kind, state_shape, rng)
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    _compare_backward(model(xp, hx), tmodel(xt, thx), rng)
    _compare_grads([xp] + ours_states, [xt] + theirs_states, model, tmodel)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rnn_layer_without_states_matches_torch(kind, each_backend):
    torch.manual_seed(1)
    tmodel = _layer(tnn, kind, 3, 4, bias=False).double()
    model = _layer(nn, kind, 3, 4, bias=False).double()
    model.load_state_dict(_from_torch(tmodel))
    x = _rng(6).standard_normal((4, 2, 3))
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    _compare_backward(model(xp), tmodel(xt), _rng(7))
    _compare_grads([xp], [xt], model, tmodel)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_rnn_cell_matches_torch(kind, batched, each_backend):
    torch.manual_seed(2)
    tcell = _cell(tnn, kind, 4, 5).double()
    cell = _cell(nn, kind, 4, 5).double()
    cell.load_state_dict(_from_torch(tcell))
    rng = _rng(8)
    x = rng.standard_normal((3, 4) if batched else (4,))
    ours_states, theirs_states, hx, thx = _pair_states(kind, (3, 5) if batched else (5,), rng)
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    _compare_backward(cell(xp, hx), tcell(xt, thx), rng)
    _compare_grads([xp] + ours_states, [xt] + theirs_states, cell, tcell)


@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
def test_lstm_with_projections_matches_torch(layout, each_backend):
    """proj_size: h (and the outputs, and the next layer's input) of P = 3 values, c of H."""
    L, N, H_in, H, P, layers = 5, 3, 4, 6, 3, 2
    torch.manual_seed(4)
    kwargs = {"num_layers": layers, "bidirectional": True,
              "batch_first": layout == "batch_first", "proj_size": P}
    tmodel = tnn.LSTM(H_in, H, **kwargs).double()
    model = nn.LSTM(H_in, H, **kwargs).double()
    result = model.load_state_dict(_from_torch(tmodel))
    assert result.missing_keys == [] and result.unexpected_keys == []
    rng = _rng(10)
    shape = {"seq_first": (L, N, H_in), "batch_first": (N, L, H_in), "unbatched": (L, H_in)}
    x = rng.standard_normal(shape[layout])
    batch = () if layout == "unbatched" else (N,)
    arrays = [rng.standard_normal((2 * layers,) + batch + (size,)) for size in (P, H)]
    ours = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    _compare_backward(model(xp, tuple(ours)), tmodel(xt, tuple(theirs)), rng)
    _compare_grads([xp] + ours, [xt] + theirs, model, tmodel)
    # without states, and the shape error naming proj_size
    _compare_backward(model(xp), tmodel(xt), rng)
    with pytest.raises(ValueError, match=r"expected h0 of shape \(4, (3, )?3\) "
                                         r"\(num_layers \* num_directions, (N, )?proj_size\)"):
        model(xp, (ours[1], ours[1]))


def test_lstm_with_projections_gradcheck(each_backend, gradcheck_module):
    pynn.manual_seed(0)
    layer = nn.LSTM(2, 4, proj_size=2, bias=True).double()
    rng = _rng(11)
    probe = _Probe(layer, [rng.standard_normal((1, 2, 2)), rng.standard_normal((1, 2, 4))],
                   lstm=True)
    gradcheck_module(probe, rng.standard_normal((3, 2, 2)))


def test_lstm_float32_matches_torch():
    torch.manual_seed(3)
    tmodel = tnn.LSTM(5, 8, num_layers=2)
    model = nn.LSTM(5, 8, num_layers=2)
    model.load_state_dict(_from_torch(tmodel))
    x = _rng(9).standard_normal((6, 4, 5)).astype(np.float32)
    out, (h, c) = model(pynn.tensor(x))
    tout, (th, tc) = tmodel(torch.from_numpy(x))
    assert out.dtype == h.dtype == c.dtype == np.float32
    for o, t in ((out, tout), (h, th), (c, tc)):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_cell_loop_matches_sequence_layer():
    """An LSTMCell stepped by hand over a sequence gives the LSTM layer's outputs and
    gradients (the same weights)."""
    pynn.manual_seed(4)
    layer = nn.LSTM(3, 4).double()
    cell = nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = _rng(10).standard_normal((5, 2, 3))
    out, _ = layer(pynn.tensor(x))
    h = c = pynn.tensor(np.zeros((2, 4)))
    steps = []
    for t in range(5):
        h, c = cell(pynn.tensor(x[t]), (h, c))
        steps.append(h)
    np.testing.assert_allclose(pynn.stack(steps).detach().numpy(), out.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    pynn.stack(steps).sum().backward()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        np.testing.assert_allclose(getattr(cell, name).grad, getattr(layer, name + "_l0").grad,
                                   rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Dropout between layers


def test_dropout_between_layers_only_in_training():
    pynn.manual_seed(5)
    model = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = pynn.tensor(_rng(11).standard_normal((4, 2, 3)))
    model.eval()
    out_eval, h_eval = model(x)
    out_eval2, _ = model(x)
    np.testing.assert_array_equal(out_eval.detach().numpy(), out_eval2.detach().numpy())
    model.train()
    out_a, h_a = model(x)
    out_b, _ = model(x)
    assert not np.allclose(out_a.detach().numpy(), out_eval.detach().numpy())
    assert not np.allclose(out_a.detach().numpy(), out_b.detach().numpy())  # a fresh mask each call
    # the first layer runs before any dropout: its final state is the same
    np.testing.assert_allclose(h_a.detach().numpy()[0], h_eval.detach().numpy()[0], rtol=1e-12)


def test_dropout_one_matches_torch_in_training():
    """p = 1 makes the masks deterministic (all zero), so training mode compares exactly."""
    torch.manual_seed(6)
    tmodel = tnn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    model = nn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    model.load_state_dict(_from_torch(tmodel))
    x = _rng(12).standard_normal((4, 2, 3))
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    _compare_backward(model(xp), tmodel(xt), _rng(13))
    _compare_grads([xp], [xt], model, tmodel)


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4, num_layers=2, dropout=0.2)


# ---------------------------------------------------------------------------------------------
# State dict, initialisation, repr


STRUCTURES = [
    lambda lib: lib.LSTM(3, 4, num_layers=2, bidirectional=True),
    lambda lib: lib.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, bias=False),
    lambda lib: lib.GRU(3, 4, num_layers=3, bias=False, batch_first=True),
    lambda lib: lib.RNN(3, 4, num_layers=2, nonlinearity="relu", dropout=0.3,
                        bidirectional=True),
    lambda lib: lib.RNN(3, 4, 1, "tanh", False),
    lambda lib: lib.LSTMCell(3, 4),
    lambda lib: lib.GRUCell(3, 4, bias=False),
    lambda lib: lib.RNNCell(3, 4, nonlinearity="relu"),
    lambda lib: lib.Embedding(10, 3),
    lambda lib: lib.Embedding(10, 3, padding_idx=-2, max_norm=1.5, scale_grad_by_freq=True),
]


@pytest.mark.parametrize("make", STRUCTURES)
def test_state_dict_and_repr_match_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = make(nn), make(tnn)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert sd[k].shape == tuple(tsd[k].shape), k
        assert sd[k].dtype == tsd[k].numpy().dtype, k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    result = ours.load_state_dict(_from_torch(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v, tsd[k].numpy())
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("make", [
    lambda lib: lib.LSTM(20, 50, num_layers=2, bidirectional=True),
    lambda lib: lib.GRUCell(30, 40),
    lambda lib: lib.RNN(10, 64),
])
def test_recurrent_init_is_uniform_in_one_over_sqrt_hidden(make):
    pynn.manual_seed(0)
    ours, theirs = make(nn), make(tnn)
    bound = 1 / math.sqrt(ours.hidden_size)
    values = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
    tvalues = np.concatenate([p.detach().numpy().ravel() for p in theirs.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    np.testing.assert_allclose(values.std(), bound / math.sqrt(3), rtol=0.1)
    np.testing.assert_allclose(values.std(), tvalues.std(), rtol=0.1)
    assert abs(values.mean()) < 0.1 * bound


def test_embedding_init_is_standard_normal_with_zero_padding_row():
    pynn.manual_seed(0)
    emb = nn.Embedding(1000, 50, padding_idx=7)
    w = emb.weight.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (1000, 50)
    np.testing.assert_array_equal(w[7], 0)
    np.testing.assert_allclose(w.std(), 1.0, rtol=0.02)
    assert abs(w.mean()) < 0.02
    assert tnn.Embedding(1000, 50, padding_idx=-3).padding_idx == \
        nn.Embedding(1000, 50, padding_idx=-3).padding_idx == 997


# ---------------------------------------------------------------------------------------------
# Embedding against PyTorch


@pytest.mark.parametrize("kwargs", [
    {}, {"padding_idx": 2}, {"padding_idx": -1, "scale_grad_by_freq": True},
    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0, "padding_idx": 0},
])
@pytest.mark.parametrize("index_shape", [(), (6,), (2, 3, 4)])
def test_embedding_matches_torch(kwargs, index_shape, each_backend):
    torch.manual_seed(7)
    temb = tnn.Embedding(7, 4, **kwargs).double()
    emb = nn.Embedding(7, 4, **kwargs).double()
    emb.load_state_dict(_from_torch(temb))
    rng = _rng(14)
    idx = rng.integers(0, 7, index_shape)
    out = emb(pynn.tensor(idx.astype(np.int32)))
    tout = temb(torch.from_numpy(idx))
    assert out.shape == tuple(tout.shape) == index_shape + (4,)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    dy = rng.standard_normal(out.shape)
    out.backward(dy)
    tout.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-14)
    # max_norm renormalised the same rows in place
    np.testing.assert_allclose(emb.weight.data, temb.weight.detach().numpy(), rtol=1e-12)


def test_embedding_functional_and_from_pretrained():
    w = _rng(15).standard_normal((5, 2))
    idx = np.array([[0, 4], [4, 1]])
    np.testing.assert_array_equal(F.embedding(idx, pynn.tensor(w)).detach().numpy(), w[idx])
    emb = nn.Embedding.from_pretrained(w)
    assert emb.weight.dtype == np.float64 and not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(idx).detach().numpy(), w[idx])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    # A weight given to the constructor keeps its dtype unless one is asked for (as torch).
    assert nn.Embedding(5, 2, _weight=w).weight.dtype == np.float64
    assert nn.Embedding(5, 2, _weight=w, dtype=np.float32).weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        nn.Embedding(5, 2, _weight=np.ones((5, 2), np.int64))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_from_pretrained_matches_torch(mode):
    w = _rng(16).standard_normal((6, 3))
    idx, offsets = np.array([1, 2, 5, 0, 4]), np.array([0, 2])
    bag = nn.EmbeddingBag.from_pretrained(pynn.tensor(w), mode=mode)
    ref = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode=mode)
    assert bag.weight.dtype == pynn.float64 and not bag.weight.requires_grad
    np.testing.assert_allclose(bag(pynn.tensor(idx), pynn.tensor(offsets)).numpy(),
                               ref(torch.tensor(idx), torch.tensor(offsets)).numpy())
    assert nn.EmbeddingBag.from_pretrained(w, freeze=False).weight.requires_grad


# ---------------------------------------------------------------------------------------------
# Graph shape: one node per layer and direction, only the needed gradients


def _nodes(t):
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(i.grad_fn for i, n in zip(node.inputs, node.needs_input_grad) if n)
    return seen


@pytest.mark.parametrize("cls,fn", [(nn.LSTM, LSTMFunction), (nn.GRU, GRUFunction),
                                    (nn.RNN, RNNFunction)])
def test_one_graph_node_per_layer_and_direction(cls, fn):
    model = cls(3, 4, num_layers=2, bidirectional=True)
    out, _ = model(pynn.tensor(np.zeros((7, 2, 3), np.float32)))
    assert sum(type(n) is fn for n in _nodes(out)) == 4
    with pynn.no_grad():
        out, _ = model(pynn.tensor(np.zeros((7, 2, 3), np.float32)))
    assert out.grad_fn is None and not out.requires_grad


def test_frozen_weights_still_give_the_input_gradient():
    pynn.manual_seed(8)
    model = nn.LSTM(3, 4).double()
    x = _rng(16).standard_normal((4, 2, 3))
    xp = pynn.tensor(x.copy(), requires_grad=True)
    model(xp)[0].sum().backward()
    expected = xp.grad.numpy().copy()
    model.zero_grad()
    model.requires_grad_(False)
    xp2 = pynn.tensor(x.copy(), requires_grad=True)
    model(xp2)[0].sum().backward()
    np.testing.assert_allclose(xp2.grad.numpy(), expected, rtol=1e-12)
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Errors


def _raises(exc, match, fn, *args):
    with pytest.raises(exc, match=match):
        fn(*args)


def test_recurrent_layer_errors_name_the_layer():
    lstm = nn.LSTM(28, 128)
    x = pynn.tensor(np.zeros((5, 2, 28), np.float32))
    _raises(ValueError, r"LSTM\(28, 128\): expected input with 28 features \(last "
            r"dimension\), got shape \(5, 2, 27\)", lstm, pynn.tensor(np.zeros((5, 2, 27),
                                                                             np.float32)))
    _raises(ValueError, r"LSTM\(28, 128\): expected a 3-D input \(L, N, H_in\) .*got shape "
            r"\(28,\)", lstm, pynn.tensor(np.zeros(28, np.float32)))
    _raises(TypeError, r"LSTM\(28, 128\): input has dtype float64 but the layer's parameters "
            r"are float32", lstm, pynn.tensor(np.zeros((5, 2, 28))))
    _raises(TypeError, r"LSTM\(28, 128\): input has dtype int64", lstm,
            pynn.tensor(np.zeros((5, 2, 28), np.int64)))
    h = pynn.tensor(np.zeros((1, 2, 128), np.float32))
    _raises(ValueError, r"LSTM\(28, 128\): expected c0 of shape \(1, 2, 128\).*got shape "
            r"\(2, 2, 128\)", lstm, x, (h, pynn.tensor(np.zeros((2, 2, 128), np.float32))))
    _raises(TypeError, r"LSTM\(28, 128\): hx must be a tuple \(h0, c0\)", lstm, x, h)
    _raises(TypeError, r"LSTM\(28, 128\): h0 has dtype float64 but the layer's parameters "
            r"are float32", lstm, x, (pynn.tensor(np.zeros((1, 2, 128))), h))
    gru = nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    _raises(ValueError, r"GRU\(3, 4, num_layers=2, batch_first=True, bidirectional=True\): "
            r"expected h0 of shape \(4, 5, 4\)", gru,
            pynn.tensor(np.zeros((5, 7, 3), np.float32)),
            pynn.tensor(np.zeros((4, 7, 4), np.float32)))
    # unbatched input wants unbatched states
    _raises(ValueError, r"expected h0 of shape \(1, 4\)", nn.RNN(3, 4),
            pynn.tensor(np.zeros((5, 3), np.float32)),
            pynn.tensor(np.zeros((1, 1, 4), np.float32)))
    _raises(ValueError, r"expected a sequence of length > 0", nn.RNN(3, 4),
            pynn.tensor(np.zeros((0, 2, 3), np.float32)))


def test_recurrent_cell_errors_name_the_cell():
    cell = nn.GRUCell(3, 4)
    _raises(ValueError, r"GRUCell\(3, 4\): expected input with 3 features \(last dimension\), "
            r"got shape \(2, 5\)", cell, pynn.tensor(np.zeros((2, 5), np.float32)))
    _raises(ValueError, r"GRUCell\(3, 4\): expected an input \(N, input_size\)", cell,
            pynn.tensor(np.zeros((1, 2, 3), np.float32)))
    _raises(ValueError, r"GRUCell\(3, 4\): expected hx of shape \(2, 4\)", cell,
            pynn.tensor(np.zeros((2, 3), np.float32)), pynn.tensor(np.zeros((3, 4), np.float32)))
    _raises(ValueError, r"LSTMCell\(3, 4\): expected c of shape \(4,\)", nn.LSTMCell(3, 4),
            pynn.tensor(np.zeros(3, np.float32)),
            (pynn.tensor(np.zeros(4, np.float32)), pynn.tensor(np.zeros(5, np.float32))))


def test_constructor_errors_as_torch():
    _raises(ValueError, "Unknown nonlinearity 'gelu'", nn.RNN, 3, 4, 1, "gelu")
    _raises(ValueError, "Unknown nonlinearity 'gelu'", nn.RNNCell, 3, 4, True, "gelu")
    _raises(ValueError, "dropout should be a number in range", nn.GRU, 3, 4, 2, True, False, 1.5)
    _raises(ValueError, "hidden_size must be greater than zero", nn.LSTM, 3, 0)
    _raises(TypeError, "hidden_size should be of type int", nn.LSTM, 3, 4.0)
    _raises(TypeError, "bias should be of type bool", nn.LSTM, 3, 4, 1, 1)
    projected = (3, 4, 1, True, False, 0.0, False)  # then proj_size
    _raises(ValueError, "proj_size has to be smaller than hidden_size", nn.LSTM, *projected, 4)
    _raises(ValueError, "proj_size should be a positive integer or zero", nn.LSTM, *projected,
            -1)
    _raises(TypeError, "proj_size should be of type int", nn.LSTM, *projected, 2.0)


def test_embedding_errors_name_the_layer():
    emb = nn.Embedding(10, 3)
    _raises(TypeError, r"Embedding\(10, 3\): expected an integer index tensor.*float32", emb,
            pynn.tensor(np.zeros(4, np.float32)))
    _raises(IndexError, r"Embedding\(10, 3\): index 10 is out of range for 10 embeddings", emb,
            np.array([1, 10]))
    _raises(IndexError, r"Embedding\(10, 3\): index -1 is out of range", emb, np.array([-1, 2]))
    _raises(ValueError, "padding_idx must be within num_embeddings", nn.Embedding, 10, 3, 10)
    _raises(ValueError, "padding_idx must be within num_embeddings", nn.Embedding, 10, 3, -11)
    _raises(IndexError, r"embedding: index 5 is out of range", F.embedding, np.array([5]),
            pynn.tensor(np.zeros((5, 2))))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("used", ["output", "h_n", "c_n"])
def test_lstm_gradient_through_one_of_its_results(used, bidirectional, each_backend):
    """The LSTM node has two outputs (the sequence and c_n): a loss on one of them alone
    gives PyTorch's gradients (the other arrives as no gradient at all)."""
    torch.manual_seed(2)
    tmodel = tnn.LSTM(4, 6, num_layers=2, bidirectional=bidirectional).double()
    model = nn.LSTM(4, 6, num_layers=2, bidirectional=bidirectional).double()
    model.load_state_dict(_from_torch(tmodel))
    x = _rng(9).standard_normal((5, 3, 4))
    xp = pynn.tensor(x.copy(), requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    for m, xi in ((model, xp), (tmodel, xt)):
        out, (h_n, c_n) = m(xi)
        {"output": out, "h_n": h_n, "c_n": c_n}[used].pow(2).sum().backward()
    _compare_grads([xp], [xt], model, tmodel)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.LSTM(3, 4), (5, 2, 3)), (lambda: nn.GRU(3, 4), (5, 2, 3)),
    (lambda: nn.RNN(3, 4), (5, 2, 3)), (lambda: nn.LSTMCell(3, 4), (2, 3)),
    (lambda: nn.Linear(3, 4), (2, 3)), (lambda: nn.Conv2d(1, 2, 3), (1, 1, 5, 5))])
def test_a_half_precision_layer_is_refused_with_its_name(make, shape):
    """.half() keeps the parameters (as PyTorch does), but pynn computes in float32/float64:
    running the layer says so with the layer's name, not a kernel's."""
    layer = make().half()
    x = pynn.tensor(np.zeros(shape, np.float16))
    with pytest.raises(TypeError, match=r"dtype float16 is not supported: pynn's layers "
                                        r"compute in float32 or float64") as info:
        layer(x)
    assert str(info.value).startswith(layer._layer_name() + ":")
