"""pynn.onnx.export on whole models: each file passes the ONNX checker and onnxruntime gives
pynn's outputs, at the traced batch size and at another one (the dynamic batch axis)."""

import io
import warnings

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class MnistCnn(nn.Module):
    """conv30 5x5 - relu - pool - 100 - 10 with F.relu / F.max_pool2d and a view."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 30, 5)
        self.fc1 = nn.Linear(30 * 12 * 12, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch_tanh(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), kernel_size=2, stride=2)
        x = pynn.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.sigmoid(self.fc2(x))
        return self.fc3(x)


def torch_tanh(x):
    return pynn.tanh(x)


class RecurrentClassifier(nn.Module):
    """Embedding - recurrent layer - last step - linear (the LSTM text classifier)."""

    def __init__(self, kind="LSTM", **kwargs):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.rnn = getattr(nn, kind)(16, 24, batch_first=True, **kwargs)
        width = 48 if kwargs.get("bidirectional") else 24
        self.fc = nn.Linear(width, 3)

    def forward(self, x):
        out, _ = self.rnn(self.emb(x))
        return self.fc(out[:, -1, :])


class LstmStates(nn.Module):
    """A time-major LSTM over float input whose final states are used."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 10, num_layers=2)
        self.fc = nn.Linear(20, 2)

    def forward(self, x):
        x = x.transpose(0, 1)  # (N, L, F) -> (L, N, F)
        _, (h, c) = self.lstm(x)
        return self.fc(pynn.cat([h[-1], c[-1]], dim=1))


class LstmZeroStates(nn.Module):
    """The tutorial LSTM classifier: zero initial states sized from x.size(0)."""

    def __init__(self):
        super().__init__()
        self.num_layers, self.hidden_size = 2, 12
        self.lstm = nn.LSTM(5, 12, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        h0 = pynn.zeros(self.num_layers, x.size(0), self.hidden_size)
        c0 = pynn.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


class SequencePredictor(nn.Module):
    """PyTorch's time-sequence-prediction example: LSTM cells stepped over the sequence."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 16)
        self.lstm2 = nn.LSTMCell(16, 16)
        self.linear = nn.Linear(16, 1)

    def forward(self, input):
        outputs = []
        h_t = pynn.zeros(input.size(0), 16)
        c_t = pynn.zeros(input.size(0), 16)
        h_t2 = pynn.zeros(input.size(0), 16)
        c_t2 = pynn.zeros(input.size(0), 16)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            outputs.append(self.linear(h_t2))
        return pynn.cat(outputs, dim=1)


class Encoder(nn.Module):
    """A small Transformer encoder classifier (mean over the tokens)."""

    def __init__(self, batch_first=True, **layer_kwargs):
        super().__init__()
        self.batch_first = batch_first
        self.proj = nn.Linear(8, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=batch_first,
                                           **layer_kwargs)
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        h = self.proj(x)
        if not self.batch_first:
            h = h.transpose(0, 1)
        h = self.encoder(h)
        return self.head(h.mean(dim=1 if self.batch_first else 0))


def _mnist_sequential():
    return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))


def _bn_cnn():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 10),
        nn.BatchNorm1d(10))
    model.train()
    with pynn.no_grad():
        for _ in range(3):  # running statistics that are not the initial 0 / 1
            model(pynn.randn(8, 3, 16, 16) * 2 + 1)
    return model


def _mlp():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 32),
                         nn.Tanh(), nn.Linear(32, 10), nn.LogSoftmax(dim=1))


def _tokens(n):
    return pynn.randint(0, 50, (n, 9))


MODELS = {
    # name: (factory, input maker taking the batch size)
    "mlp": (_mlp, lambda n: pynn.randn(n, 20)),
    "mnist_sequential": (_mnist_sequential, lambda n: pynn.randn(n, 1, 28, 28)),
    "mnist_functional": (MnistCnn, lambda n: pynn.randn(n, 1, 28, 28)),
    "lenet5": (LeNet5, lambda n: pynn.randn(n, 1, 28, 28)),
    "bn_cnn": (_bn_cnn, lambda n: pynn.randn(n, 3, 16, 16)),
    "lstm": (RecurrentClassifier, _tokens),
    "lstm_2layer_bidirectional": (lambda: RecurrentClassifier("LSTM", num_layers=2,
                                                              bidirectional=True), _tokens),
    "lstm_states": (LstmStates, lambda n: pynn.randn(n, 7, 6)),
    "gru": (lambda: RecurrentClassifier("GRU", num_layers=2), _tokens),
    "gru_bidirectional": (lambda: RecurrentClassifier("GRU", bidirectional=True), _tokens),
    "rnn_tanh": (lambda: RecurrentClassifier("RNN"), _tokens),
    "rnn_relu": (lambda: RecurrentClassifier("RNN", nonlinearity="relu",
                                             bidirectional=True), _tokens),
    "lstm_zero_states": (LstmZeroStates, lambda n: pynn.randn(n, 6, 5)),
    "sequence_predictor": (SequencePredictor, lambda n: pynn.randn(n, 8)),
    "transformer_encoder": (Encoder, lambda n: pynn.randn(n, 7, 8)),
    "transformer_encoder_seq_first": (
        lambda: Encoder(batch_first=False, norm_first=True, activation="gelu"),
        lambda n: pynn.randn(n, 7, 8)),
}


def export_bytes(model, x, **kwargs):
    buf = io.BytesIO()
    pynn.onnx.export(model, x, buf, input_names=["input"], output_names=["output"],
                     dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
    return buf.getvalue()


def run_onnx(data, x):
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.numpy()})[0]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_onnxruntime(name):
    pynn.manual_seed(0)
    factory, make_input = MODELS[name]
    model = factory()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pynn.onnx.OnnxExporterWarning)
        data = export_bytes(model, make_input(4))
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    model.eval()
    for batch in (4, 7, 1):  # the traced batch size, then others through the dynamic axis
        x = make_input(batch)
        with pynn.no_grad():
            expected = model(x).numpy()
        got = run_onnx(data, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_batch_axis_is_symbolic_in_the_file():
    data = export_bytes(_mlp(), pynn.randn(3, 20))
    graph = onnx.load_from_string(data).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 20
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_parameters_and_buffers_are_initializers_named_as_in_the_model():
    model = _bn_cnn()
    proto = pynn.onnx.export(model, pynn.randn(2, 3, 16, 16), None)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    for name, p in list(model.named_parameters()) + list(model.named_buffers()):
        if name.endswith("num_batches_tracked"):
            continue
        assert name in inits, name
        np.testing.assert_array_equal(inits[name], p.detach().numpy())


def test_export_restores_modes_and_requires_grad():
    model = _mlp()
    model.train()
    model[0].weight.requires_grad_(False)
    pynn.onnx.export(model, pynn.randn(2, 20), None)
    assert model.training and all(m.training for m in model.modules())
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())


class WordLanguageModel(nn.Module):
    """The word language model of PyTorch's examples: the hidden state is an input and an
    output, the decoder's weight is tied to the embedding."""

    def __init__(self, kind, ntoken=30, ninp=16, nlayers=2):
        super().__init__()
        self.kind, self.ntoken, self.nlayers, self.nhid = kind, ntoken, nlayers, ninp
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, kind)(ninp, ninp, nlayers, dropout=0.5)
        self.decoder = nn.Linear(ninp, ntoken)
        self.decoder.weight = self.encoder.weight

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(input)), hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        h = weight.new_zeros(self.nlayers, bsz, self.nhid)
        return (h, weight.new_zeros(self.nlayers, bsz, self.nhid)) if self.kind == "LSTM" else h


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_word_language_model_with_hidden_state_inputs(kind):
    pynn.manual_seed(0)
    model = WordLanguageModel(kind)
    model.eval()
    dummy = pynn.zeros(6 * 3, dtype=pynn.long).view(-1, 3)
    proto = pynn.onnx.export(model, (dummy, model.init_hidden(3)), None)
    names = [i.name for i in proto.graph.input]
    assert len(names) == (3 if kind == "LSTM" else 2)
    assert sum(i.name == "encoder.weight" for i in proto.graph.initializer) == 1
    x, hidden = pynn.randint(0, 30, (6, 3)), model.init_hidden(3)
    states = hidden if isinstance(hidden, tuple) else (hidden,)
    states = tuple(s + pynn.randn(*s.shape) for s in states)
    with pynn.no_grad():
        out, new_hidden = model(x, states if kind == "LSTM" else states[0])
    feeds = {names[0]: x.numpy(), **{n: s.numpy() for n, s in zip(names[1:], states)}}
    got = run_session(proto, feeds)
    expected = [out] + list(new_hidden if isinstance(new_hidden, tuple) else (new_hidden,))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-5, atol=1e-5)


def run_session(proto, feeds):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


class Seq2Seq(nn.Module):
    """nn.Transformer with a causal target mask."""

    def __init__(self, batch_first):
        super().__init__()
        self.transformer = nn.Transformer(16, 2, 1, 1, 32, dropout=0.1, batch_first=batch_first)

    def forward(self, src, tgt):
        length = tgt.size(1) if self.transformer.batch_first else tgt.size(0)
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        return self.transformer(src, tgt, tgt_mask=mask)


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_seq2seq(batch_first):
    pynn.manual_seed(0)
    model = Seq2Seq(batch_first)
    axis = 0 if batch_first else 1

    def make(n, length):
        shape = [length, 16]
        shape.insert(axis, n)
        return pynn.randn(*shape)

    proto = pynn.onnx.export(model, (make(3, 5), make(3, 4)), None, input_names=["src", "tgt"],
                             dynamic_axes={"src": [axis], "tgt": [axis]})
    onnx.checker.check_model(proto, full_check=True)
    model.eval()
    src, tgt = make(2, 5), make(2, 4)
    with pynn.no_grad():
        expected = model(src, tgt).numpy()
    (got,) = run_session(proto, {"src": src.numpy(), "tgt": tgt.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


class PaddedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x, key_padding_mask):
        return self.attn(x, x, x, key_padding_mask=key_padding_mask)[0]


def test_key_padding_mask_is_an_input():
    pynn.manual_seed(0)
    model = PaddedAttention()
    mask = pynn.zeros(2, 5, dtype=pynn.bool)
    mask[0, 3:] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error", pynn.onnx.OnnxExporterWarning)
        proto = pynn.onnx.export(model, (pynn.randn(2, 5, 8), mask), None,
                                 input_names=["x", "mask"],
                                 dynamic_axes={"x": [0], "mask": [0]})
    x, mask = pynn.randn(3, 5, 8), pynn.zeros(3, 5, dtype=pynn.bool)
    mask[1, 1:] = True
    mask[2, 4] = True
    model.eval()
    with pynn.no_grad():
        expected = model(x, mask).numpy()
    (got,) = run_session(proto, {"x": x.numpy(), "mask": mask.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
