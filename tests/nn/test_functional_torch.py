"""``pynn.nn.functional`` against ``torch.nn.functional``: one row per call (the same
arguments to both), comparing the output and the gradient of every float input, in float32
and float64."""

import warnings

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _r(*shape):
    """A float input of ``shape`` (standard normal)."""
    return ("randn", shape)


def _pos(*shape):
    """A float input in (0.1, 1.1)."""
    return ("pos", shape)


def _prob(*shape):
    """Probabilities along the last dimension."""
    return ("prob", shape)


def _cpos(*shape):
    """A constant input in (0.1, 1.1) (no gradient: class weights)."""
    return ("cpos", shape)


def _const(array):
    """A constant array given as is (no gradient)."""
    return ("const", np.asarray(array))


def _make(spec, rng, dtype):
    kind, arg = spec
    if kind == "randn":
        return rng.standard_normal(arg).astype(dtype), True
    if kind == "pos":
        return (rng.random(arg) + 0.1).astype(dtype), True
    if kind == "prob":
        e = np.exp(rng.standard_normal(arg))
        return (e / e.sum(-1, keepdims=True)).astype(dtype), True
    if kind == "cpos":
        return (rng.random(arg) + 0.1).astype(dtype), False
    a = arg.astype(dtype) if arg.dtype.kind == "f" else arg
    return a, False


# (id, function name, input specs, keyword arguments)
ROWS = [
    ("elu", "elu", [_r(3, 7)], {"alpha": 0.7}),
    ("selu", "selu", [_r(3, 7)], {}),
    ("celu", "celu", [_r(3, 7)], {"alpha": 1.3}),
    ("silu", "silu", [_r(5, 3)], {}),
    ("mish", "mish", [_r(5, 3)], {}),
    ("softplus", "softplus", [_r(4, 5)], {"beta": 2.0, "threshold": 3.0}),
    ("softsign", "softsign", [_r(4, 5)], {}),
    ("hardtanh", "hardtanh", [_r(4, 5)], {"min_val": -0.5, "max_val": 0.8}),
    ("relu6", "relu6", [("const", np.linspace(-8, 8, 33))], {}),
    ("hardswish", "hardswish", [_r(4, 9)], {}),
    ("hardsigmoid", "hardsigmoid", [_r(4, 9)], {}),
    ("logsigmoid", "logsigmoid", [_r(4, 9)], {}),
    ("tanhshrink", "tanhshrink", [_r(4, 9)], {}),
    ("softshrink", "softshrink", [_r(4, 9)], {"lambd": 0.3}),
    ("hardshrink", "hardshrink", [_r(4, 9)], {"lambd": 0.3}),
    ("threshold", "threshold", [_r(4, 9)], {"threshold": 0.1, "value": -2.0}),
    ("prelu-channels", "prelu", [_r(2, 3, 4), _pos(3)], {}),
    ("prelu-single", "prelu", [_r(2, 3, 4), _pos(1)], {}),
    ("glu", "glu", [_r(3, 8)], {"dim": -1}),
    ("glu-dim0", "glu", [_r(4, 5)], {"dim": 0}),
    ("softmin", "softmin", [_r(3, 5)], {"dim": 1}),
    ("conv1d", "conv1d", [_r(2, 3, 11), _r(4, 3, 3), _r(4)], {"stride": 2, "padding": 1}),
    ("conv1d-dilated", "conv1d", [_r(2, 3, 13), _r(5, 3, 3)], {"dilation": 2}),
    ("conv1d-groups", "conv1d", [_r(2, 4, 9), _r(6, 2, 3), _r(6)], {"groups": 2}),
    ("conv1d-same", "conv1d", [_r(1, 2, 7), _r(3, 2, 5)], {"padding": "same"}),
    ("conv2d-groups", "conv2d", [_r(2, 6, 5, 5), _r(6, 2, 3, 3), _r(6)],
     {"groups": 3, "padding": 1}),
    ("conv2d-depthwise", "conv2d", [_r(1, 3, 6, 5), _r(3, 1, 3, 3)], {"groups": 3}),
    ("conv_transpose2d", "conv_transpose2d", [_r(2, 3, 4, 5), _r(3, 2, 3, 3), _r(2)],
     {"stride": 2, "padding": 1, "output_padding": 1}),
    ("conv_transpose2d-plain", "conv_transpose2d", [_r(1, 2, 3, 3), _r(2, 4, 2, 2)], {}),
    ("conv_transpose2d-dilated", "conv_transpose2d", [_r(2, 2, 4, 3), _r(2, 3, 3, 2)],
     {"dilation": 2, "stride": (1, 2)}),
    ("conv_transpose2d-groups", "conv_transpose2d", [_r(2, 4, 3, 3), _r(4, 3, 3, 3), _r(6)],
     {"groups": 2, "stride": 2}),
    ("conv_transpose1d", "conv_transpose1d", [_r(2, 3, 7), _r(3, 2, 4), _r(2)],
     {"stride": 3, "padding": 1, "output_padding": 2}),
    ("unfold", "unfold", [_r(2, 3, 6, 5)], {"kernel_size": (2, 3), "padding": 1,
                                              "stride": 2}),
    ("fold", "fold", [_r(2, 12, 12)], {"output_size": (4, 5), "kernel_size": 2}),
    ("pad-constant", "pad", [_r(2, 3, 4)], {"pad": (1, 2, 0, 1), "value": 0.5}),
    ("pad-crop", "pad", [_r(2, 3, 4)], {"pad": (-1, 2)}),
    ("pad-reflect", "pad", [_r(2, 3, 5, 4)], {"pad": (2, 1, 3, 0), "mode": "reflect"}),
    ("pad-replicate", "pad", [_r(2, 3, 5, 4)], {"pad": (2, 3, 1, 2), "mode": "replicate"}),
    ("pad-circular", "pad", [_r(1, 2, 5, 4)], {"pad": (2, 1, 3, 2), "mode": "circular"}),
    ("pad-reflect1d", "pad", [_r(2, 3, 6)], {"pad": (3, 2), "mode": "reflect"}),
    ("max_pool1d", "max_pool1d", [_r(2, 3, 11)], {"kernel_size": 3, "stride": 2,
                                                  "padding": 1}),
    ("max_pool2d-ceil", "max_pool2d", [_r(2, 3, 7, 6)], {"kernel_size": 2, "ceil_mode": True}),
    ("max_pool2d-ceil-stride", "max_pool2d", [_r(1, 2, 8, 9)],
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_pool1d", "avg_pool1d", [_r(2, 3, 11)], {"kernel_size": 3, "stride": 2}),
    ("adaptive_avg_pool2d", "adaptive_avg_pool2d", [_r(2, 3, 7, 5)], {"output_size": (3, 2)}),
    ("adaptive_avg_pool2d-1", "adaptive_avg_pool2d", [_r(2, 3, 7, 5)], {"output_size": 1}),
    ("adaptive_avg_pool2d-none", "adaptive_avg_pool2d", [_r(2, 3, 7, 5)],
     {"output_size": (None, 4)}),
    ("adaptive_avg_pool1d", "adaptive_avg_pool1d", [_r(2, 3, 10)], {"output_size": 4}),
    ("adaptive_max_pool2d", "adaptive_max_pool2d", [_r(2, 3, 7, 5)], {"output_size": (3, 2)}),
    ("adaptive_max_pool1d", "adaptive_max_pool1d", [_r(2, 3, 10)], {"output_size": 3}),
    ("interp-nearest", "interpolate", [_r(2, 3, 4, 5)], {"scale_factor": 2}),
    ("interp-nearest-size", "interpolate", [_r(2, 3, 4, 5)], {"size": (7, 3)}),
    ("interp-bilinear", "interpolate", [_r(2, 3, 4, 5)],
     {"size": (7, 9), "mode": "bilinear", "align_corners": False}),
    ("interp-bilinear-ac", "interpolate", [_r(2, 3, 4, 5)],
     {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ("interp-linear", "interpolate", [_r(2, 3, 6)], {"size": 13, "mode": "linear"}),
    ("pixel_shuffle", "pixel_shuffle", [_r(2, 8, 3, 4)], {"upscale_factor": 2}),
    ("pixel_unshuffle", "pixel_unshuffle", [_r(2, 2, 6, 4)], {"downscale_factor": 2}),
    ("l1_loss", "l1_loss", [_r(3, 4), _r(3, 4)], {}),
    ("l1_loss-sum", "l1_loss", [_r(3, 4), _r(3, 4)], {"reduction": "sum"}),
    ("smooth_l1_loss", "smooth_l1_loss", [_r(3, 4), _r(3, 4)], {"beta": 0.5}),
    ("smooth_l1_loss-none", "smooth_l1_loss", [_r(3, 4), _r(3, 4)], {"reduction": "none"}),
    ("huber_loss", "huber_loss", [_r(5, 4), _r(5, 4)], {"delta": 0.7}),
    ("kl_div-batchmean", "kl_div", [_r(3, 5), _prob(3, 5)], {"reduction": "batchmean"}),
    ("kl_div-log_target", "kl_div", [_r(3, 5), _r(3, 5)],
     {"reduction": "sum", "log_target": True}),
    ("soft_margin_loss", "soft_margin_loss", [_r(4, 3), _const(np.sign(np.arange(12) - 5.5)
                                                                .reshape(4, 3))], {}),
    ("poisson_nll_loss", "poisson_nll_loss", [_r(4, 3), _pos(4, 3)], {}),
    ("poisson_nll_loss-full", "poisson_nll_loss", [_pos(4, 3), _const(np.arange(12.0)
                                                                      .reshape(4, 3))],
     {"log_input": False, "full": True}),
    ("hinge_embedding_loss", "hinge_embedding_loss",
     [_r(6), _const([1.0, -1, 1, -1, -1, 1])], {"margin": 0.5}),
    ("gaussian_nll_loss", "gaussian_nll_loss", [_r(4, 3), _r(4, 3), _pos(4, 3)], {}),
    ("gaussian_nll_loss-full", "gaussian_nll_loss", [_r(4, 3), _r(4, 3), _pos(4)],
     {"full": True, "reduction": "sum"}),
    ("margin_ranking_loss", "margin_ranking_loss", [_r(6), _r(6), _const([1.0, -1, 1, -1, -1, 1])],
     {"margin": 0.2}),
    ("cosine_embedding_loss", "cosine_embedding_loss",
     [_r(4, 5), _r(4, 5), _const([1.0, -1, -1, 1])], {"margin": -0.3}),
    ("triplet_margin_loss", "triplet_margin_loss", [_r(4, 5), _r(4, 5), _r(4, 5)], {}),
    ("triplet_margin_loss-swap", "triplet_margin_loss", [_r(4, 5), _r(4, 5), _r(4, 5)],
     {"swap": True, "p": 1.0}),
    ("multilabel_soft_margin_loss", "multilabel_soft_margin_loss",
     [_r(3, 4), _const(np.eye(3, 4))], {}),
    ("cosine_similarity", "cosine_similarity", [_r(3, 5), _r(3, 5)], {"dim": 1}),
    ("cosine_similarity-bcast", "cosine_similarity", [_r(3, 1, 5), _r(1, 4, 5)], {"dim": -1}),
    ("pairwise_distance", "pairwise_distance", [_r(3, 5), _r(3, 5)], {}),
    ("pdist", "pdist", [_r(5, 3)], {}),
    ("pdist-p1", "pdist", [_r(4, 6)], {"p": 1.0}),
    ("rms_norm", "rms_norm", [_r(2, 3, 4), _r(4)], {"normalized_shape": (4,)}),
    ("rms_norm-eps", "rms_norm", [_r(2, 3, 4)], {"normalized_shape": (3, 4), "eps": 1e-3}),
    ("pairwise_distance-p1", "pairwise_distance", [_r(3, 5), _r(3, 5)],
     {"p": 1.0, "keepdim": True}),
    ("normalize", "normalize", [_r(3, 5)], {}),
    ("normalize-p1", "normalize", [_r(3, 5, 2)], {"p": 1.0, "dim": -1}),
    ("group_norm", "group_norm", [_r(2, 6, 3, 2), _r(6), _r(6)], {"num_groups": 3}),
    ("instance_norm", "instance_norm", [_r(2, 3, 5)], {}),
    ("local_response_norm", "local_response_norm", [_r(2, 5, 3, 3)], {"size": 3}),
    ("bce-weight", "binary_cross_entropy", [_prob(3, 4), _const(np.eye(3, 4)), _cpos(3, 4)], {}),
    ("cross_entropy-kdim-weight", "cross_entropy",
     [_r(2, 4, 3, 2), _const(np.arange(12).reshape(2, 3, 2) % 4), _cpos(4)], {}),
    ("cross_entropy-weight-smooth", "cross_entropy",
     [_r(5, 4), _const(np.array([0, 3, 1, 1, 2])), _cpos(4)], {"label_smoothing": 0.2}),
    ("cross_entropy-weight-smooth-kdim-ignore", "cross_entropy",
     [_r(2, 4, 3), _const(np.array([[0, 3, 1], [1, 2, 0]])), _cpos(4)],
     {"label_smoothing": 0.1, "ignore_index": 1}),
    ("cross_entropy-weight-smooth-none", "cross_entropy",
     [_r(5, 4), _const(np.array([0, 3, 1, 1, 2])), _cpos(4)],
     {"label_smoothing": 0.3, "reduction": "none"}),
    ("cross_entropy-weight-smooth-sum", "cross_entropy",
     [_r(5, 4), _const(np.array([0, 3, 1, 1, 2])), _cpos(4)],
     {"label_smoothing": 0.3, "reduction": "sum"}),
    ("cross_entropy-probs-smooth", "cross_entropy", [_r(3, 4), _prob(3, 4)],
     {"label_smoothing": 0.1}),
    ("nll_loss-kdim", "nll_loss", [_r(2, 4, 3), _const(np.arange(6).reshape(2, 3) % 4)],
     {"ignore_index": 1}),
]

_KWARG_TO_POS = {"pad": ("pad",), "prelu": ()}


def _call(lib_f, name, inputs, kwargs):
    if name == "group_norm":
        x, w, b = inputs
        return getattr(lib_f, name)(x, kwargs["num_groups"], w, b)
    if name == "bce-weight" or (name == "binary_cross_entropy" and len(inputs) == 3):
        return getattr(lib_f, name)(inputs[0], inputs[1], weight=inputs[2], **kwargs)
    if name == "rms_norm":
        kwargs = dict(kwargs)
        return getattr(lib_f, name)(inputs[0], kwargs.pop("normalized_shape"), *inputs[1:],
                                    **kwargs)
    if name in ("cross_entropy", "nll_loss") and len(inputs) == 3:
        return getattr(lib_f, name)(inputs[0], inputs[1], weight=inputs[2], **kwargs)
    return getattr(lib_f, name)(*inputs, **kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_functional_matches_torch(row, dtype):
    _, name, specs, kwargs = row
    rng = np.random.default_rng(len(row[0]))
    arrays = [_make(s, rng, dtype) for s in specs]
    ours = [pynn.tensor(a.copy(), requires_grad=g) for a, g in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=g) for a, g in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _call(F, name, ours, kwargs)
        expected = _call(TF, name, theirs, kwargs)
    assert tuple(out.shape) == tuple(expected.shape)
    assert out.dtype == expected.detach().numpy().dtype
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-7, "atol": 1e-9}
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    if not any(g for _, g in arrays):
        return
    dy = np.random.default_rng(1).standard_normal(tuple(expected.shape)).astype(dtype)
    out.backward(pynn.tensor(dy))
    expected.backward(torch.tensor(dy))
    for i, ((_, g), o, t) in enumerate(zip(arrays, ours, theirs)):
        if g:
            assert o.grad is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **tol,
                                       err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("name,kwargs", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                         ("elu", {}), ("hardtanh", {}), ("relu6", {}),
                                         ("silu", {}), ("threshold", {"threshold": 0.5,
                                                                      "value": 3.0})])
def test_inplace_writes_into_a_tensor_outside_the_graph_as_torch(name, kwargs):
    data = np.linspace(-2, 2, 9)
    ours, theirs = pynn.tensor(data.copy()), torch.tensor(data.copy())
    out = getattr(F, name)(ours, inplace=True, **kwargs)
    expected = getattr(TF, name)(theirs, inplace=True, **kwargs)
    assert out is ours
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    # in the graph: the same values, out of place, and the gradient flows
    leaf = pynn.tensor(data.copy(), requires_grad=True)
    y = getattr(F, name)(leaf * 1.0, inplace=True, **kwargs)
    y.sum().backward()
    assert leaf.grad is not None


@pytest.mark.parametrize("dims, shape, args", [
    (2, (2, 3, 6, 6), (2,)), (2, (2, 3, 7, 6), ((2, 3),)), (2, (1, 2, 7, 7), (3, 2, 1)),
    (2, (3, 5, 4), (2,)), (1, (2, 3, 9), (3, 2)), (1, (2, 3, 8), (2,)),
])
def test_max_unpool_matches_torch(dims, shape, args):
    """max_pool -> max_unpool: values, the padded output size and the gradient."""
    x = np.random.default_rng(3).standard_normal(shape)
    pool, unpool = f"max_pool{dims}d", f"max_unpool{dims}d"
    xp, xt = pynn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yp, ip = getattr(F, pool)(xp, *args, return_indices=True)
    yt, it = getattr(TF, pool)(xt, *args, return_indices=True)
    up, ut = getattr(F, unpool)(yp, ip, *args), getattr(TF, unpool)(yt, it, *args)
    assert up.shape == tuple(ut.shape)
    np.testing.assert_allclose(up.detach().numpy(), ut.detach().numpy())
    w = np.random.default_rng(4).standard_normal(tuple(ut.shape))
    (up * pynn.tensor(w)).sum().backward()
    (ut * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy())
    size = x.shape[-dims:]
    np.testing.assert_allclose(
        getattr(F, unpool)(yp, ip, *args, output_size=size).detach().numpy(),
        getattr(TF, unpool)(yt, it, *args, output_size=size).detach().numpy())
    module = getattr(pynn.nn, f"MaxUnpool{dims}d")(*args)
    assert repr(module) == repr(getattr(torch.nn, f"MaxUnpool{dims}d")(*args))
    np.testing.assert_allclose(module(yp, ip).detach().numpy(), ut.detach().numpy())


def test_max_unpool_refuses_an_index_outside_the_output():
    x = np.random.default_rng(5).standard_normal((1, 1, 7, 6))
    y, i = F.max_pool2d(pynn.tensor(x), 3, 2, 1, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(y, i, 3, 2, 1)  # torch raises too: the default size drops a column


def test_convert_sync_batchnorm_keeps_the_state():
    model = pynn.nn.Sequential(pynn.nn.Conv2d(3, 4, 1), pynn.nn.BatchNorm2d(4),
                               pynn.nn.Sequential(pynn.nn.BatchNorm1d(4)))
    model[1].running_mean.fill_(0.5)
    model.eval()
    converted = pynn.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert [type(m).__name__ for m in model.modules()].count("SyncBatchNorm") == 2
    assert model[1].running_mean.tolist() == [0.5] * 4 and not model[1].training
    assert sorted(model.state_dict()) == sorted(
        torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4),
            torch.nn.Sequential(torch.nn.BatchNorm1d(4)))).state_dict())


@pytest.mark.parametrize("fn", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("stride", [0, (0, 1), (), [], None])
def test_pool_stride_zero_is_refused_and_empty_means_the_kernel(fn, stride):
    """As PyTorch: a zero stride is an error (not the default), None or an empty sequence
    is the kernel size; through the functional, the module, and Sequential's fused step."""
    x = np.random.default_rng(3).standard_normal((2, 1, 8, 8)).astype(np.float32)
    kind = fn.split("_")[0].capitalize()
    nets = [
        (lambda lib: lambda t: getattr(lib.nn.functional, fn)(t, 2, stride=stride)),
        (lambda lib: getattr(lib.nn, f"{kind}Pool2d")(2, stride=stride)),
        (lambda lib: lib.nn.Sequential(lib.nn.Conv2d(1, 3, 3), lib.nn.ReLU(),
                                       getattr(lib.nn, f"{kind}Pool2d")(2, stride=stride))),
    ]
    for make in nets:
        outs = []
        for lib, t in ((torch, torch.from_numpy(x)), (pynn, pynn.tensor(x))):
            lib.manual_seed(0)
            try:
                outs.append(tuple(make(lib)(t).shape))
            except (RuntimeError, ValueError) as e:
                outs.append(type(e))
        if outs[0] is RuntimeError:
            assert outs[1] is ValueError
        else:
            assert outs[0] == outs[1]
