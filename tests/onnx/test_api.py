"""pynn.onnx.export's interface: outputs to paths and file objects, names, dynamic axes,
several inputs and outputs, keyword arguments, the errors, is_in_onnx_export."""

import io

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import nn
from pynn.autograd import ArrayFunction

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _mlp():
    pynn.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


def _session(data):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _expected(model, *xs):
    model.eval()
    with pynn.no_grad():
        return model(*xs)


def test_writes_to_a_path(tmp_path):
    model, x = _mlp(), pynn.randn(2, 5)
    path = tmp_path / "model.onnx"
    pynn.onnx.export(model, (x,), str(path))
    onnx.checker.check_model(str(path))
    (got,) = _session(str(path)).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, _expected(model, x).numpy(), rtol=1e-5, atol=1e-6)


def test_writes_to_a_pathlike_and_a_file_object(tmp_path):
    model, x = _mlp(), pynn.randn(2, 5)
    path = tmp_path / "model.onnx"
    pynn.onnx.export(model, x, path)
    with open(tmp_path / "other.onnx", "wb") as fh:
        pynn.onnx.export(model, x, fh)
    assert path.read_bytes() == (tmp_path / "other.onnx").read_bytes()
    buf = io.BytesIO()
    proto = pynn.onnx.export(model, x, buf)
    assert buf.getvalue() == path.read_bytes() == proto.SerializeToString()


def test_text_file_is_refused(tmp_path):
    with open(tmp_path / "m.onnx", "w") as fh, \
            pytest.raises(pynn.onnx.OnnxExporterError, match="binary"):
        pynn.onnx.export(_mlp(), pynn.randn(2, 5), fh)


def test_unsupported_operation_is_named():
    class MysteryFunction(ArrayFunction):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    model = nn.Sequential(nn.Linear(5, 4))
    wrapped = _Wrap(model, lambda y: MysteryFunction.apply(y))
    with pytest.raises(pynn.onnx.UnsupportedOperatorError, match="MysteryFunction"):
        pynn.onnx.export(wrapped, pynn.randn(2, 5), io.BytesIO())
    with pytest.raises(pynn.onnx.errors.UnsupportedOperatorError, match="Cumprod"):
        pynn.onnx.export(_Wrap(model, lambda y: pynn.cumprod(y, 1)), pynn.randn(2, 5), None)
    assert issubclass(pynn.onnx.UnsupportedOperatorError, RuntimeError)


class _Wrap(nn.Module):
    def __init__(self, inner, fn):
        super().__init__()
        self.inner = inner
        self.fn = fn

    def forward(self, x):
        return self.fn(self.inner(x))


class TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(6, 3)

    def forward(self, x, y, scale=1.0):
        s = self.a(x) + self.b(y)
        return s * scale, F.softmax(s, dim=-1)


def test_several_inputs_outputs_names_and_kwargs():
    model = TwoInTwoOut()
    x, y = pynn.randn(2, 4), pynn.randn(2, 6)
    buf = io.BytesIO()
    pynn.onnx.export(model, (x, y, {"scale": 3.0}), buf, input_names=["x", "y"],
                     output_names=["scaled", "probs"],
                     dynamic_axes={"x": [0], "y": [0], "scaled": {0: "n"}})
    graph = onnx.load_from_string(buf.getvalue()).graph
    assert [i.name for i in graph.input] == ["x", "y"]
    assert [o.name for o in graph.output] == ["scaled", "probs"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    # "probs" has no dynamic axes of its own: its batch axis follows the input's
    probs_dims = graph.output[1].type.tensor_type.shape.dim
    assert probs_dims[0].dim_param == "x_dynamic_axes_1" and probs_dims[1].dim_value == 3
    x, y = pynn.randn(5, 4), pynn.randn(5, 6)
    got = _session(buf.getvalue()).run(None, {"x": x.numpy(), "y": y.numpy()})
    model.eval()
    with pynn.no_grad():
        expected = model(x, y, scale=3.0)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-5, atol=1e-6)
    default = pynn.onnx.export(model, (x, y), None, kwargs={"scale": 2.0}).graph
    assert [i.name for i in default.input] == ["input_0", "input_1"]
    assert [o.name for o in default.output] == ["output_0", "output_1"]


def test_export_params_false_makes_parameters_inputs():
    model, x = _mlp(), pynn.randn(2, 5)
    proto = pynn.onnx.export(model, x, None, export_params=False)
    names = [i.name for i in proto.graph.input]
    assert names[0] == "input" and set(names[1:]) == {n for n, _ in model.named_parameters()}
    assert not proto.graph.initializer
    feeds = {"input": x.numpy(), **{n: p.detach().numpy() for n, p in model.named_parameters()}}
    (got,) = _session(proto.SerializeToString()).run(None, feeds)
    np.testing.assert_allclose(got, _expected(model, x).numpy(), rtol=1e-5, atol=1e-6)


def test_bad_arguments():
    model, x = _mlp(), pynn.randn(2, 5)
    with pytest.raises(pynn.onnx.OnnxExporterError, match="dynamic_axes"):
        pynn.onnx.export(model, x, None, dynamic_axes={"nope": {0: "b"}})
    with pytest.raises(pynn.onnx.OnnxExporterError, match="input_names"):
        pynn.onnx.export(model, x, None, input_names=["a", "b"])
    with pytest.raises(pynn.onnx.OnnxExporterError, match="opset"):
        pynn.onnx.export(model, x, None, opset_version=9)
    with pytest.raises(pynn.onnx.OnnxExporterError, match="eval"):
        pynn.onnx.export(model, x, None, training=pynn.onnx.TrainingMode.TRAINING)
    with pytest.raises(TypeError, match="bogus"):
        pynn.onnx.export(model, x, None, bogus=1)


@pytest.mark.parametrize("opset", [13, 17, 18, 20])
def test_opsets(opset):
    pynn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 2))
    x = pynn.randn(3, 6)
    proto = pynn.onnx.export(model, x, None, opset_version=opset)
    assert proto.opset_import[0].version == opset
    (got,) = _session(proto.SerializeToString()).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, _expected(model, x).numpy(), rtol=1e-5, atol=1e-5)


def test_is_in_onnx_export():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(pynn.onnx.is_in_onnx_export())
            return x * 2

    assert not pynn.onnx.is_in_onnx_export()
    pynn.onnx.export(Probe(), pynn.randn(2), None)
    assert seen and all(seen) and not pynn.onnx.is_in_onnx_export()


def test_output_that_is_the_input_or_a_constant():
    class Odd(nn.Module):
        def forward(self, x):
            return x, pynn.ones(3)

    x = pynn.randn(2, 3)
    proto = pynn.onnx.export(Odd(), x, None)
    got = _session(proto.SerializeToString()).run(None, {"input": x.numpy()})
    np.testing.assert_array_equal(got[0], x.numpy())
    np.testing.assert_array_equal(got[1], np.ones(3, np.float32))


def test_supported_operations_lists_the_table():
    ops = pynn.onnx.supported_operations()
    for name in ("LinearFunction", "Conv2dFunction", "LSTMFunction", "SoftmaxFunction"):
        assert name in ops
    assert ops == sorted(ops)


def test_values_computed_outside_the_graph_warn():
    def through_numpy(x):
        return x * pynn.tensor(np.sign(x.detach().numpy()))

    with pytest.warns(pynn.onnx.OnnxExporterWarning, match="MulBackward0"):
        pynn.onnx.export(_Wrap(nn.Identity(), through_numpy), pynn.randn(3, 4), None)

    def sampled(x):
        return x + pynn.randn_like(x)

    with pytest.warns(pynn.onnx.OnnxExporterWarning, match="AddBackward0"):
        pynn.onnx.export(_Wrap(nn.Identity(), sampled), pynn.randn(3, 4), None)


def test_control_flow_on_values_warns():
    def branch(x):
        return x * 2 if float(x[0]) == 1 else x.exp()

    with pytest.warns(pynn.onnx.OnnxExporterWarning, match="control flow"):
        pynn.onnx.export(_Wrap(nn.Identity(), branch), pynn.ones(3), None)


def test_comparisons_are_recorded_only_during_the_export():
    names = ("__eq__", "__gt__", "__and__", "__invert__", "gt", "argmax", "logical_not")
    before = {n: pynn.Tensor.__dict__.get(n) for n in names}
    functions = {n: getattr(pynn, n) for n in ("gt", "eq", "argmax", "logical_not")}

    def fn(x):
        return (x > 0).float() * x.argmax(dim=1, keepdim=True)

    model = _Wrap(nn.Identity(), fn)
    proto = pynn.onnx.export(model, pynn.randn(3, 4), None, dynamic_axes={"input": [0]})
    assert {n: pynn.Tensor.__dict__.get(n) for n in names} == before
    assert {n: getattr(pynn, n) for n in functions} == functions
    x = pynn.randn(5, 4, requires_grad=True)
    assert (x > 0).grad_fn is None  # outside an export, comparisons stay out of the graph
    (got,) = _session(proto.SerializeToString()).run(None, {"input": x.detach().numpy()})
    np.testing.assert_array_equal(got, fn(x.detach()).numpy())


def test_sizes_used_in_arithmetic_warn_with_dynamic_axes():
    def standardize(x):  # the divisor of std over the batch axis is the traced batch size
        return (x - x.mean(dim=0)) / x.std(dim=0)

    with pytest.warns(pynn.onnx.OnnxExporterWarning, match="DivBackward0"):
        pynn.onnx.export(_Wrap(nn.Identity(), standardize), pynn.randn(4, 3), None,
                         dynamic_axes={"input": [0]})


def test_plain_function_float64_and_inference_mode():
    def fn(x):
        return pynn.relu(x) * 2

    x = pynn.randn(3, 2, dtype=pynn.float64)
    with pynn.inference_mode():  # the export records its graph all the same
        proto = pynn.onnx.export(fn, x, None)
    (got,) = _session(proto.SerializeToString()).run(None, {"input": x.numpy()})
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, fn(x).numpy())


class InPlace(nn.Module):
    """Values read before in-place writes (a, b) and after them."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        a = y * 2
        y += 1
        y.relu_()
        y.mul_(2)
        b = y.sum(1, keepdim=True)
        y[:, 0] = 0.0
        y.masked_fill_(y > 3, 3.0)
        z = F.relu(y - 1, inplace=True)
        z.clamp_(max=2.5)
        return z + a + b


def test_in_place_writes_use_the_value_each_op_read():
    pynn.manual_seed(0)
    model = InPlace()
    proto = pynn.onnx.export(model, pynn.randn(3, 4), None)
    x = pynn.randn(3, 4) * 3
    (got,) = _session(proto.SerializeToString()).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, _expected(model, x).numpy(), rtol=1e-5, atol=1e-6)
    # the index assignment is exported for the traced shape: a dynamic axis is warned about
    with pytest.warns(pynn.onnx.OnnxExporterWarning, match="IndexPutBackward0"):
        pynn.onnx.export(model, pynn.randn(3, 4), None, dynamic_axes={"input": [0]})
