"""Module's API against PyTorch's: the same code runs on ``torch.nn`` and ``pynn.nn`` and must
give the same answers (names, order, return values, hook calls, errors)."""

import warnings

import numpy as np
import pytest

import pynn
from pynn import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def _net(lib):
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.Conv2d(2, 3, 3, padding=1)
            self.bn = lib.BatchNorm2d(3)
            self.register_buffer("scale", (torch if lib is tnn else pynn).ones(3))
            self.register_buffer("tmp", (torch if lib is tnn else pynn).zeros(2),
                                 persistent=False)

        def forward(self, x):
            return lib.functional.relu(self.bn(self.conv(x)))

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(Block(), lib.MaxPool2d(2))
            self.heads = lib.ModuleDict({"a": lib.Linear(12, 4), "b": lib.Linear(12, 2)})
            self.extra = lib.ParameterList([lib.Parameter((torch if lib is tnn else pynn)
                                                          .zeros(2))])
            self.blocks = lib.ModuleList([lib.Identity(), lib.Tanh()])

        def forward(self, x):
            h = self.features(x).flatten(1)
            return self.heads["a"](h), self.heads["b"](h)

    return Net()


def _names(pairs):
    return [n for n, _ in pairs]


def test_traversal_names_and_order_match_torch():
    ours, theirs = _net(nn), _net(tnn)
    assert _names(ours.named_modules()) == _names(theirs.named_modules())
    assert _names(ours.named_children()) == _names(theirs.named_children())
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters())
    assert _names(ours.named_parameters(prefix="m", recurse=True)) == \
        _names(theirs.named_parameters(prefix="m", recurse=True))
    assert _names(ours.features[0].named_parameters(recurse=False)) == \
        _names(theirs.features[0].named_parameters(recurse=False))
    assert _names(ours.named_buffers()) == _names(theirs.named_buffers())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    assert type(ours.get_submodule("features.0.bn")).__name__ == "BatchNorm2d"
    assert repr(ours) == repr(theirs).replace("torch.float32", "pynn.float32")


def test_state_dict_round_trip_from_torch_and_incompatible_keys():
    ours, theirs = _net(nn), _net(tnn)
    tsd = theirs.state_dict()
    res = ours.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    assert tuple(res) == ([], [])
    for k, v in ours.state_dict().items():
        assert isinstance(v, pynn.Tensor)
        np.testing.assert_array_equal(v.numpy(), tsd[k].numpy())
    partial = {k: v for k, v in theirs.state_dict().items() if "heads" not in k}
    partial["bogus"] = torch.zeros(1)
    t_res = theirs.load_state_dict(partial, strict=False)
    res = ours.load_state_dict({k: v.numpy() for k, v in partial.items()}, strict=False)
    assert res.missing_keys == t_res.missing_keys
    assert res.unexpected_keys == t_res.unexpected_keys
    with pytest.raises(RuntimeError, match="bogus"):
        ours.load_state_dict({k: v.numpy() for k, v in partial.items()})


def test_buffers_are_tensors_and_follow_to_double():
    m = _net(nn)
    assert isinstance(m.features[0].scale, pynn.Tensor)
    assert not m.features[0].scale.requires_grad
    m.to(pynn.float64)
    assert m.features[0].bn.running_mean.dtype == pynn.float64
    assert m.features[0].bn.num_batches_tracked.dtype == pynn.int64
    w = m.heads["a"].weight
    m.to("cpu", dtype=pynn.float32)
    assert m.heads["a"].weight is w and w.dtype == pynn.float32
    m.to(pynn.zeros(1, dtype=pynn.float64))
    assert w.dtype == pynn.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        m.cuda()
    assert m.cpu() is m


def test_apply_train_eval_requires_grad_zero_grad_match_torch():
    for lib, mod in ((nn, pynn), (tnn, torch)):
        net = _net(lib)
        seen = []
        net.apply(lambda m, seen=seen: seen.append(type(m).__name__))
        assert seen[-1] == "Net" and seen[0] == "Conv2d"
        net.eval()
        assert not any(m.training for m in net.modules())
        net.train()
        out = net(mod.ones(2, 2, 4, 4))
        (out[0].sum() + out[1].sum()).backward()
        assert net.heads["a"].weight.grad is not None
        net.zero_grad()
        assert net.heads["a"].weight.grad is None
        net.requires_grad_(False)
        assert not any(p.requires_grad for p in net.parameters())


def test_attribute_semantics_match_torch():
    for lib, mod in ((nn, pynn), (tnn, torch)):
        m = lib.Linear(2, 3)
        m.weight = lib.Parameter(mod.zeros(3, 2))
        assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
        m.bias = None
        assert [n for n, _ in m.named_parameters()] == ["weight"]
        with pytest.raises(TypeError):
            m.weight = mod.zeros(3, 2)
        m.sub = lib.ReLU()
        assert "sub" in dict(m.named_children())
        del m.sub
        assert "sub" not in dict(m.named_children())
        with pytest.raises(AttributeError):
            _ = m.missing


def _hook_trace(lib, mod):
    calls = []
    net = lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.Linear(4, 2))

    def pre(m, args):
        calls.append(("pre", type(m).__name__, tuple(args[0].shape)))

    def post(m, args, out):
        calls.append(("post", type(m).__name__, tuple(out.shape)))
        return out * 2

    def back(m, grad_in, grad_out):
        calls.append(("back", type(m).__name__, [None if g is None else tuple(g.shape)
                                                 for g in grad_in],
                      [tuple(g.shape) for g in grad_out]))

    h1 = net[0].register_forward_pre_hook(pre)
    h2 = net[1].register_forward_hook(post)
    h3 = net[2].register_full_backward_hook(back)
    h4 = net[0].register_full_backward_hook(back)
    torch.manual_seed(0)
    x = mod.ones(5, 3)
    out = net(x)
    out.sum().backward()
    first = (list(calls), out.detach().numpy().copy())
    for h in (h1, h2, h3, h4):
        h.remove()
    calls.clear()
    net(x)
    return first, calls


def test_hooks_match_torch():
    (ours, _), ours_after = _hook_trace(nn, pynn)
    (theirs, _), theirs_after = _hook_trace(tnn, torch)
    assert ours == theirs
    assert ours_after == theirs_after == []


def test_forward_hook_changes_output_and_backward_hook_sees_gradients():
    lin_t = tnn.Linear(3, 2)
    lin = nn.Linear(3, 2)
    lin.load_state_dict({k: v.detach().numpy() for k, v in lin_t.state_dict().items()})
    got = {}
    for m, mod, key in ((lin, pynn, "ours"), (lin_t, torch, "theirs")):
        m.register_forward_hook(lambda mm, a, o: o + 1)
        m.register_full_backward_hook(
            lambda mm, gi, go, key=key: got.__setitem__(key, (gi[0].detach().numpy().copy(),
                                                              go[0].detach().numpy().copy())))
        x = mod.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
        y = m(x)
        (y * y).sum().backward()
        got[key + "_y"] = y.detach().numpy()
    np.testing.assert_allclose(got["ours_y"], got["theirs_y"], rtol=1e-6)
    np.testing.assert_allclose(got["ours"][0], got["theirs"][0], rtol=1e-5)
    np.testing.assert_allclose(got["ours"][1], got["theirs"][1], rtol=1e-5)


def test_containers_match_torch():
    for lib in (nn, tnn):
        seq = lib.Sequential(lib.Linear(2, 2), lib.ReLU())
        seq.append(lib.Tanh())
        seq.insert(1, lib.Identity())
        seq.extend([lib.Sigmoid()])
        assert [type(m).__name__ for m in seq] == ["Linear", "Identity", "ReLU", "Tanh",
                                                  "Sigmoid"]
        assert type(seq[1:3]).__name__ == "Sequential" and len(seq[1:3]) == 2
        assert type(seq[-1]).__name__ == "Sigmoid"
        md = lib.ModuleDict({"x": lib.ReLU()})
        md["y"] = lib.Tanh()
        assert list(md.keys()) == ["x", "y"] and "y" in md and len(md) == 2
        pd = lib.ParameterDict({"w": lib.Parameter(
            (torch if lib is tnn else pynn).zeros(2))})
        assert [n for n, _ in pd.named_parameters()] == ["w"]


def test_get_parameter_and_buffer_match_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.BatchNorm1d(3)))

    ours, theirs = build(pynn), build(torch)
    for path in ("0.weight", "0.bias"):
        assert ours.get_parameter(path).shape == tuple(theirs.get_parameter(path).shape)
    assert ours.get_parameter("0.weight") is ours[0].weight
    assert ours.get_buffer("1.0.running_var") is ours[1][0].running_var
    for model in (ours, theirs):
        with pytest.raises(AttributeError):
            model.get_parameter("0.missing")
        with pytest.raises(AttributeError):
            model.get_buffer("0.weight")


# print(model) is in most scripts: the layers print as PyTorch's, key for key
REPRS = [
    lambda nn: nn.Conv2d(3, 8, 3, padding="same"),
    lambda nn: nn.MultiheadAttention(8, 2),
    lambda nn: nn.TransformerEncoderLayer(8, 2, 16),
    lambda nn: nn.ParameterList([nn.Parameter(torch_lib(nn).ones(2))]),
    lambda nn: nn.ParameterDict({"p": nn.Parameter(torch_lib(nn).ones(2, 3))}),
    lambda nn: nn.LazyLinear(4),
    lambda nn: nn.LazyLinear(4, bias=False),
    lambda nn: nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1, bias=False), nn.BatchNorm2d(4),
                             nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.1),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)),
    lambda nn: nn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1),
    lambda nn: nn.Embedding(10, 3, padding_idx=0),
    lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
]


def torch_lib(nn_module):
    return pynn if nn_module is nn else torch


@pytest.mark.parametrize("make", REPRS)
def test_module_reprs_match_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = repr(make(torch.nn))
    assert repr(make(nn)) == theirs.replace("torch.", "pynn.")


def test_lazy_linear_becomes_a_linear():
    for lib in (pynn, torch):
        layer = lib.nn.LazyLinear(4)
        layer(lib.ones(2, 3))
        assert type(layer) is lib.nn.Linear and layer.in_features == 3
        assert repr(layer) == "Linear(in_features=3, out_features=4, bias=True)"


def test_buffer_assignment_registers_a_buffer_as_torch_does():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (pynn, torch):
        m = lib.nn.Module()
        m.pe = lib.nn.Buffer(lib.ones(2))
        m.tmp = lib.nn.Buffer(lib.zeros(3), persistent=False)
        m.pe = lib.nn.Buffer(lib.full((2,), 5.0))  # reassigned: still one buffer
        lin = lib.nn.Linear(2, 2)
        with pytest.raises(TypeError, match="as parameter 'weight'"):
            lin.weight = lib.nn.Buffer(lib.ones(2, 2))  # a parameter's name stays one
        seen.append((sorted(dict(m.named_buffers())), list(m.state_dict()),
                     type(m.pe).__name__, m.pe.tolist(), m.pe.requires_grad))
    assert seen[0] == seen[1]
