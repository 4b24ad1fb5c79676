"""pynn.utils.summary: parameter counts, output shapes and multiply-adds of MLP, CNN and LSTM
models against their real values and hand counts; the model is left as it was."""

import numpy as np
import pytest

import pynn
from pynn import nn
from pynn.utils.summary import ModelStatistics, summary


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))


def cnn():
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
        nn.MaxPool2d(2),
        nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, groups=2), nn.ReLU()),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    )


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(24, 5)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


def rows(stats):
    return {info.name: info for info in stats.summary_list}


def real_shapes(model, x):
    """Output shape of each named module, recorded by calling them one at a time."""
    shapes = {}

    def run(module, prefix, value):
        if isinstance(module, nn.Sequential):
            for name, child in module.named_children():
                value = run(child, prefix + name + ".", value)
        else:
            value = module(value)
        shapes[prefix[:-1]] = list(value.shape)  # "0.1." -> "0.1", "" -> ""
        return value

    with pynn.no_grad():
        run(model.eval(), "", x)
    return shapes


def test_mlp_counts_shapes_and_macs(capsys):
    model = mlp()
    stats = summary(model, (4, 20))
    printed = capsys.readouterr().out
    assert printed.strip() == str(stats)
    assert isinstance(stats, ModelStatistics)
    assert stats.total_params == sum(p.numel() for p in model.parameters()) == 20 * 32 + 32 + 330
    assert stats.trainable_params == stats.total_params and stats.non_trainable_params == 0
    r = rows(stats)
    assert [r[k].output_size for k in ("", "0", "1", "2", "3")] == [
        [4, 10], [4, 32], [4, 32], [4, 32], [4, 10]]
    assert r["0"].macs == 4 * 20 * 32 and r["3"].macs == 4 * 32 * 10
    assert stats.total_mult_adds == 4 * 20 * 32 + 4 * 32 * 10
    assert stats.total_param_bytes == 4 * stats.total_params
    assert stats.total_input == 4 * 20 * 4
    assert "├─Linear: 1-1" in printed and "└─Linear: 1-4" in printed
    assert "Total params: 1,002" in printed


def test_cnn_shapes_equal_the_real_ones_and_conv_macs_by_hand():
    model = cnn()
    x = pynn.randn(2, 3, 12, 12)
    stats = summary(model, input_data=x, verbose=0)
    r = rows(stats)
    shapes = real_shapes(model, x)
    assert sorted(shapes) == sorted(r)
    for name, shape in shapes.items():
        assert r[name].output_size == shape, name
    conv1 = 2 * 8 * 12 * 12 * (3 * 3 * 3)            # out elements * (in * kh * kw)
    conv2 = 2 * 16 * 2 * 2 * ((8 // 2) * 3 * 3)      # grouped: in/groups per output
    linear = 2 * 64 * 10
    assert r["0.0"].macs == conv1 and r["2.0"].macs == conv2 and r["4"].macs == linear
    assert r["0"].macs == conv1 and stats.total_mult_adds == conv1 + conv2 + linear
    assert stats.total_params == sum(p.numel() for p in model.parameters())
    assert r["0"].num_params == sum(p.numel() for p in model[0].parameters())


def test_depth_folds_deeper_layers_into_their_parent():
    stats = summary(cnn(), (1, 3, 12, 12), depth=1, verbose=0)
    assert [info.name for info in stats.summary_list] == ["", "0", "1", "2", "3", "4"]
    text = str(stats)
    row = next(line for line in text.splitlines() if "Sequential: 1-1" in line)
    # the folded row shows everything below it: conv + batch norm parameters, conv MACs
    assert f"{8 * 27 + 8 + 16:,}" in row and f"{8 * 12 * 12 * 27:,}" in row


def test_lstm_counts_and_macs_by_hand():
    model = Tagger()
    stats = summary(model, (3, 7), dtypes=[pynn.long], verbose=0)
    r = rows(stats)
    assert r[""].output_size == [3, 7, 5]
    assert r["embed"].output_size == [3, 7, 8] and r["lstm"].output_size == [3, 7, 24]
    steps = 3 * 7
    # per direction and step: 4 gates of 12 units over (input + hidden) features
    layer0 = 2 * 4 * 12 * (8 + 12)
    layer1 = 2 * 4 * 12 * (24 + 12)
    assert r["lstm"].macs == steps * (layer0 + layer1)
    assert r["embed"].macs == 0 and r["head"].macs == steps * 24 * 5
    assert stats.total_params == sum(p.numel() for p in model.parameters())


def test_frozen_and_shared_parameters():
    shared = nn.Linear(8, 8)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(8, 2))
    model[3].requires_grad_(False)
    stats = summary(model, (5, 8), verbose=0)
    assert stats.total_params == 72 + 18 == sum(p.numel() for p in model.parameters())
    assert stats.trainable_params == 72 and stats.non_trainable_params == 18
    r = rows(stats)
    assert r["0"].calls == 2 and r["0"].macs == 2 * 5 * 8 * 8  # called twice
    assert "2" not in r  # the same module is one row


def test_several_inputs_and_attention():
    attention = nn.MultiheadAttention(16, 4, batch_first=True)
    q, kv = pynn.randn(2, 5, 16), pynn.randn(2, 9, 16)
    stats = summary(attention, input_data=[q, kv, kv], verbose=0)
    n, lq, s, e = 2, 5, 9, 16
    projections = n * (lq * e * e + 2 * s * e * e + lq * e * e)
    assert stats.total_mult_adds == projections + 2 * n * lq * s * e
    assert rows(stats)[""].output_size == [2, 5, 16]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = attention

        def forward(self, x, memory):
            return self.attn(query=x, key=memory, value=memory)[0]

    by_keyword = summary(Block(), input_data=[q, kv], verbose=0)
    assert by_keyword.total_mult_adds == stats.total_mult_adds

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(4, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    two = summary(Pair(), [(6, 3), (6, 4)], verbose=0)
    assert two.total_mult_adds == 6 * 2 * (3 + 4) and two.total_input == 6 * 7 * 4
    assert rows(two)["b"].output_size == [6, 2]


def test_the_model_is_left_as_it_was():
    model = cnn()
    model.train()
    model[0][1].eval()  # mixed modes survive
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    summary(model, (2, 3, 12, 12), verbose=0)
    assert model.training and not model[0][1].training and model[0][0].training
    for k, v in model.state_dict().items():  # eval mode: batch-norm statistics untouched
        np.testing.assert_array_equal(v._data, before[k], err_msg=k)
    assert all(not m._forward_hooks for m in model.modules())


def test_a_failing_forward_raises_and_removes_the_hooks():
    model = mlp()
    model.train()
    with pytest.raises(RuntimeError, match=r"forward pass of Sequential failed on inputs of "
                                           r"shape \[\[4, 7\]\]") as info:
        summary(model, (4, 7), verbose=0)
    assert info.value.__cause__ is not None
    assert all(not m._forward_hooks for m in model.modules()) and model.training


def test_keyword_arguments_reach_forward_and_devices_are_checked():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x, scale=1.0):
            return self.fc(x) * scale

    stats = summary(Scaled(), (4, 3), device="cpu", verbose=0, scale=2.0)
    assert rows(stats)[""].output_size == [4, 2]
    with pytest.raises(RuntimeError, match="unexpected keyword"):
        summary(mlp(), (4, 20), verbose=0, nonsense=1)
    with pytest.raises(RuntimeError, match="CUDA|cuda"):
        summary(mlp(), (4, 20), device="cuda", verbose=0)


def test_bad_arguments():
    with pytest.raises(TypeError, match="input_size"):
        summary(mlp(), verbose=0)
    with pytest.raises(ValueError, match="2 input shapes but 1 dtypes"):
        summary(mlp(), [(1, 20), (1, 20)], dtypes=[pynn.float32], verbose=0)
