"""pynn.onnx.export op by op: one row per operation (a function of the input, or a layer),
exported with a dynamic batch axis and compared with pynn in onnxruntime at two batch
sizes."""

import io
import warnings

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# nan_to_num's row makes NaNs on purpose (log of negative numbers)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _pos(*shape):
    return lambda n: pynn.rand(n, *shape) + 0.5


def _randn(*shape):
    return lambda n: pynn.randn(n, *shape)


def _unit(*shape):
    return lambda n: pynn.rand(n, *shape) * 1.8 - 0.9


def _tokens(n):
    return pynn.randint(0, 20, (n, 5))


X = _randn(3, 4)
IMG = _randn(3, 8, 8)

# name: (function of x or a Module, input maker taking the batch size)
OPS = {
    # activations
    "relu": (F.relu, X),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), X),
    "sigmoid": (pynn.sigmoid, X),
    "tanh": (pynn.tanh, X),
    "gelu": (F.gelu, X),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), X),
    "elu": (lambda x: F.elu(x, 0.7), X),
    "selu": (F.selu, X),
    "celu": (lambda x: F.celu(x, 1.5), X),
    "softplus": (lambda x: F.softplus(x, beta=2, threshold=1), X),
    "softsign": (F.softsign, X),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.7), X),
    "relu6": (lambda x: F.relu6(x * 5), X),
    "hardsigmoid": (lambda x: F.hardsigmoid(x * 4), X),
    "hardswish": (lambda x: F.hardswish(x * 4), X),
    "silu": (F.silu, X),
    "mish": (F.mish, X),
    "logsigmoid": (F.logsigmoid, X),
    "tanhshrink": (F.tanhshrink, X),
    "softshrink": (lambda x: F.softshrink(x, 0.3), X),
    "hardshrink": (lambda x: F.hardshrink(x, 0.3), X),
    "threshold": (lambda x: F.threshold(x, 0.1, -2.0), X),
    "softmax": (lambda x: F.softmax(x, dim=1), X),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), X),
    "softmin": (lambda x: F.softmin(x, dim=2), X),
    "glu": (lambda x: F.glu(x, dim=-1), X),
    "prelu": (nn.PReLU(3, 0.1), X),
    # elementwise arithmetic
    "add_scalar": (lambda x: x + 1.5, X),
    "radd_sub": (lambda x: 2 - x * 3, X),
    "mul": (lambda x: x * x, X),
    "div": (lambda x: x / 3, X),
    "rdiv": (lambda x: 2 / x, _pos(3, 4)),
    "pow": (lambda x: x ** 3, X),
    "pow_tensor": (lambda x: pynn.pow(x, x), _pos(3, 4)),
    "neg": (lambda x: -x, X),
    "maximum": (lambda x: pynn.maximum(x, x * 0.5), X),
    "minimum": (lambda x: pynn.minimum(x, pynn.tensor(0.25)), X),
    "clamp": (lambda x: pynn.clamp(x, -0.5, 0.5), X),
    "clamp_min": (lambda x: x.clamp(min=0.1), X),
    "fmod": (lambda x: pynn.fmod(x * 5, 1.5), X),
    "remainder": (lambda x: pynn.remainder(x * 5, 1.5), X),
    "exp": (pynn.exp, X),
    "exp2": (pynn.exp2, X),
    "log": (pynn.log, _pos(3, 4)),
    "log2": (pynn.log2, _pos(3, 4)),
    "log10": (pynn.log10, _pos(3, 4)),
    "log1p": (pynn.log1p, _pos(3, 4)),
    "expm1": (pynn.expm1, X),
    "sqrt": (pynn.sqrt, _pos(3, 4)),
    "rsqrt": (pynn.rsqrt, _pos(3, 4)),
    "reciprocal": (pynn.reciprocal, _pos(3, 4)),
    "square": (pynn.square, X),
    "abs": (pynn.abs, X),
    "sin": (pynn.sin, X),
    "cos": (pynn.cos, X),
    "tan": (pynn.tan, _unit(3, 4)),
    "asin": (pynn.asin, _unit(3, 4)),
    "acos": (pynn.acos, _unit(3, 4)),
    "atan": (pynn.atan, X),
    "atan2": (lambda x: pynn.atan2(x, x.flip(2) * pynn.tensor([1.0, 0.0, -1.0, 2.0])), X),
    "sinh": (pynn.sinh, X),
    "cosh": (pynn.cosh, X),
    "asinh": (pynn.asinh, X),
    "acosh": (pynn.acosh, lambda n: pynn.rand(n, 3, 4) + 1.5),
    "atanh": (pynn.atanh, _unit(3, 4)),
    "erf": (pynn.erf, X),
    "deg2rad": (pynn.deg2rad, X),
    "floor": (lambda x: pynn.floor(x * 3), X),
    "ceil": (lambda x: pynn.ceil(x * 3), X),
    "sign": (pynn.sign, X),
    "nan_to_num": (lambda x: pynn.nan_to_num(pynn.log(x), nan=0.5, neginf=-7.0), X),
    "double": (lambda x: x.double() * 2, X),
    "clone": (lambda x: x.clone() + 0, X),
    # comparisons and logic (recorded during the export), argmax
    "where_gt": (lambda x: pynn.where(x > 0, x, pynn.zeros(())), X),
    "masked_fill_eq": (lambda x: x.masked_fill(pynn.floor(x * 2) == 0, -1.0), X),
    "compare_ops": (lambda x: (x < 0.2).float() + (x <= 0.1).float() + x.ge(-0.3).float() +
                    (x != x * 2).float() + pynn.gt(x, -0.5).float(), X),
    "logical_ops": (lambda x: ((x > 0) & (x < 1) | ~(x > -1)).float()
                    + pynn.logical_not(x > 0.5).float() + ((x > 0) ^ (x > 0.3)).float(), X),
    "argmax": (lambda x: x.argmax(dim=-1), X),
    "argmin_keepdim": (lambda x: pynn.argmin(x, dim=1, keepdim=True), X),
    "argmax_all": (lambda x: x.sum(dim=(1, 2)).argmax(), X),
    # reductions
    "sum_all": (lambda x: x.sum(), X),
    "sum_dim": (lambda x: x.sum(dim=1), X),
    "sum_dims_keepdim": (lambda x: x.sum(dim=(1, 2), keepdim=True), X),
    "mean": (lambda x: x.mean(dim=-1), X),
    "prod": (lambda x: x.prod(dim=2), X),
    "amax": (lambda x: x.amax(dim=1), X),
    "amin": (lambda x: pynn.amin(x, dim=2, keepdim=True), X),
    "max_dim": (lambda x: x.max(dim=1)[0], X),
    "min_dim": (lambda x: x.min(dim=2, keepdim=True).values, X),
    "topk": (lambda x: x.topk(2, dim=2).values, X),
    "topk_smallest": (lambda x: pynn.topk(x, 3, dim=1, largest=False)[0], X),
    "sort": (lambda x: x.sort(dim=-1, descending=True)[0], X),
    "cumsum": (lambda x: x.cumsum(dim=2), X),
    "norm": (lambda x: x.norm(dim=2), X),
    "var": (lambda x: x.var(dim=2), X),
    "std": (lambda x: x.std(dim=1), X),
    # shapes and indexing
    "view": (lambda x: x.view(x.size(0), -1), X),
    "reshape_merge": (lambda x: x.reshape(-1, 4), X),
    "flatten": (lambda x: pynn.flatten(x, 1), X),
    "unsqueeze_squeeze": (lambda x: x.unsqueeze(1).squeeze(1) + x.unsqueeze(-1)[..., 0], X),
    "transpose": (lambda x: x.transpose(1, 2), X),
    "permute": (lambda x: x.permute(2, 0, 1), X),
    "expand": (lambda x: x[:, :1, :].expand(-1, 5, 4), X),
    "cat": (lambda x: pynn.cat([x, x * 2], dim=1), X),
    "stack": (lambda x: pynn.stack([x, x + 1], dim=-1), X),
    "slice": (lambda x: x[:, 1:, ::2], X),
    "index_int": (lambda x: x[:, -1], X),
    "index_ellipsis_none": (lambda x: x[..., 1, None], X),
    "index_array": (lambda x: x[:, [2, 0, 2]], X),
    "narrow": (lambda x: x.narrow(2, 1, 2), X),
    "chunk": (lambda x: x.chunk(2, dim=2)[1], X),
    "split": (lambda x: x.split([1, 2], dim=1)[1], X),
    "unbind": (lambda x: x.unbind(1)[2], X),
    "flip": (lambda x: x.flip(2), X),
    "roll": (lambda x: x.roll(1, 1), X),
    "repeat": (lambda x: x.repeat(1, 2, 1), X),
    "tril": (lambda x: pynn.tril(x), X),
    "index_select": (lambda x: x.index_select(2, pynn.tensor([3, 1])), X),
    "triu_diagonal": (lambda x: pynn.triu(x, diagonal=1), X),
    "xlogy": (lambda x: pynn.xlogy(x * 0, x) + pynn.xlogy(x, x), _pos(3, 4)),
    "matmul": (lambda x: x @ x.transpose(1, 2), X),
    "bmm_einsum": (lambda x: pynn.einsum("bij,bkj->bik", x, x), X),
    # layers
    "linear_3d": (nn.Linear(4, 6), X),
    "bilinear_free_linear_no_bias": (nn.Linear(4, 2, bias=False), X),
    "conv2d_stride_dilation": (nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2), IMG),
    "conv2d_grouped": (nn.Conv2d(3, 6, 3, groups=3), IMG),
    "conv1d": (nn.Conv1d(3, 5, 3, padding=1), _randn(3, 10)),
    "conv_transpose2d": (nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                         IMG),
    "max_pool2d_padding": (nn.MaxPool2d(3, stride=2, padding=1), IMG),
    "avg_pool2d": (nn.AvgPool2d(2), IMG),
    "avg_pool2d_pad_exclude": (nn.AvgPool2d(3, 2, 1, count_include_pad=False), IMG),
    "adaptive_avg_pool2d": (nn.AdaptiveAvgPool2d((3, 2)), IMG),
    "adaptive_max_pool2d": (nn.AdaptiveMaxPool2d(4), IMG),
    "max_pool1d": (nn.MaxPool1d(2), _randn(3, 10)),
    "upsample_nearest": (nn.Upsample(scale_factor=2), IMG),
    "upsample_bilinear": (nn.Upsample(scale_factor=2, mode="bilinear"), IMG),
    "pad_constant": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), IMG),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), IMG),
    "pad_replicate": (lambda x: F.pad(x, (1, 1, 2, 0), mode="replicate"), IMG),
    "batch_norm_no_affine": (nn.BatchNorm2d(3, affine=False), IMG),
    "batch_norm_batch_stats": (nn.BatchNorm2d(3, track_running_stats=False), IMG),
    "layer_norm": (nn.LayerNorm(4), X),
    "layer_norm_2d_no_affine": (nn.LayerNorm((3, 4), elementwise_affine=False), X),
    "group_norm": (nn.GroupNorm(1, 3), IMG),
    "instance_norm": (nn.InstanceNorm2d(3), IMG),
    "lstm_cell": (lambda x: LSTM_CELL(x)[1], _randn(4)),
    "gru_cell": (nn.GRUCell(4, 5), _randn(4)),
    "rnn_cell_relu": (nn.RNNCell(4, 5, nonlinearity="relu"), _randn(4)),
    "unsqueeze_front": (lambda x: x.unsqueeze(0).transpose(0, 1), X),
    "embedding": (nn.Embedding(20, 3), _tokens),
    "multihead_attention": (
        Lambda(lambda x: MHA(x, x, x, need_weights=False)[0]), _randn(5, 8)),
    "sdpa_causal": (lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True), X),
}

# Ops whose export fixes the traced shape (a constant computed from the input's shape or
# values outside the graph): checked at the traced batch size only.
STATIC_OPS = {
    "logsumexp": (lambda x: pynn.logsumexp(x, dim=2), X),
    "flip_batch": (lambda x: x.flip(0), X),
    "setitem": (lambda x: _setitem(x), X),
    "index_put_accumulate": (lambda x: _index_put(x), X),
    "scatter_add": (lambda x: x.scatter_add(2, pynn.tensor([[[0, 0, 1, 3]] * 3] * 2), x), X),
    "mse_loss": (lambda x: F.mse_loss(x, pynn.ones(2, 3, 4)), X),
    "bce": (lambda x: F.binary_cross_entropy(pynn.sigmoid(x), pynn.ones(2, 3, 4) * 0.3), X),
    "bce_with_logits": (lambda x: F.binary_cross_entropy_with_logits(
        x, pynn.ones(2, 3, 4) * 0.7, pos_weight=pynn.tensor([1.0, 2.0, 0.5, 3.0]),
        reduction="sum"), X),
    "cross_entropy": (lambda x: F.cross_entropy(x[:, 0], pynn.tensor([1, 3])), X),
}


def _setitem(x):
    y = x * 1
    y[:, 0, 1:3] = 5.0
    return y

pynn.manual_seed(0)
MHA = nn.MultiheadAttention(8, 2, batch_first=True)
LSTM_CELL = nn.LSTMCell(4, 5)


def _module(op):
    return op if isinstance(op, nn.Module) else Lambda(op)


@pytest.mark.parametrize("name", sorted(OPS) + sorted(STATIC_OPS))
def test_op_matches_onnxruntime(name):
    pynn.manual_seed(1)
    static = name in STATIC_OPS
    op, make_input = (STATIC_OPS if static else OPS)[name]
    model = _module(op)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # the file follows its inputs (no warning that it might not) unless it is static
        warnings.simplefilter("ignore" if static else "error", pynn.onnx.OnnxExporterWarning)
        pynn.onnx.export(model, make_input(2), buf, input_names=["input"],
                         dynamic_axes=None if static else {"input": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    model.eval()
    for batch in (2,) if static else (2, 3):
        x = make_input(batch)
        with pynn.no_grad():
            expected = model(x).numpy()
        (got,) = sess.run(None, {"input": x.numpy()})
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def _index_put(x):
    y = x * 1
    y.index_put_((pynn.tensor([0, 0, 1]),), pynn.ones(3, 4) * 2, accumulate=True)
    return y
