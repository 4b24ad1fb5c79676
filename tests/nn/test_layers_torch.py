"""Layers against ``torch.nn``: each row builds the same layer in both libraries, copies
PyTorch's ``state_dict`` into pynn's (so names and shapes must match key for key), and compares
the repr, the output and the gradients of the input and of every parameter, in float32 and
float64."""

import warnings

import numpy as np
import pytest

import pynn
from pynn import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

# (id, constructor name, args, kwargs, input shapes (one per forward argument), train mode)
ROWS = [
    ("Conv1d", "Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, [(2, 3, 9)]),
    ("Conv1d-groups", "Conv1d", (4, 6, 3), {"groups": 2, "bias": False}, [(2, 4, 8)]),
    ("Conv1d-reflect", "Conv1d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"},
     [(2, 2, 7)]),
    ("Conv2d-groups", "Conv2d", (4, 4, 3), {"groups": 4, "padding": 1}, [(2, 4, 5, 5)]),
    ("Conv2d-circular", "Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "circular"},
     [(1, 2, 5, 4)]),
    ("Conv2d-replicate", "Conv2d", (2, 3, 3), {"padding": (1, 2),
                                               "padding_mode": "replicate"}, [(1, 2, 5, 4)]),
    ("ConvTranspose2d", "ConvTranspose2d", (3, 2, 3), {"stride": 2, "padding": 1,
                                                       "output_padding": 1}, [(2, 3, 4, 4)]),
    ("ConvTranspose2d-groups", "ConvTranspose2d", (4, 6, 2), {"stride": 2, "groups": 2},
     [(1, 4, 3, 3)]),
    ("ConvTranspose1d", "ConvTranspose1d", (3, 5, 4), {"stride": 2}, [(2, 3, 6)]),
    ("MaxPool1d", "MaxPool1d", (3,), {"stride": 2}, [(2, 3, 9)]),
    ("MaxPool2d-ceil", "MaxPool2d", (2,), {"ceil_mode": True}, [(2, 3, 5, 5)]),
    ("AvgPool1d", "AvgPool1d", (2,), {}, [(2, 3, 9)]),
    ("AdaptiveAvgPool1d", "AdaptiveAvgPool1d", (4,), {}, [(2, 3, 9)]),
    ("AdaptiveAvgPool2d", "AdaptiveAvgPool2d", ((2, 3),), {}, [(2, 3, 7, 8)]),
    ("AdaptiveAvgPool2d-1", "AdaptiveAvgPool2d", (1,), {}, [(2, 3, 7, 8)]),
    ("AdaptiveMaxPool2d", "AdaptiveMaxPool2d", ((3, 2),), {}, [(2, 3, 7, 8)]),
    ("BatchNorm1d-3d", "BatchNorm1d", (3,), {}, [(4, 3, 5)]),
    ("BatchNorm3d", "BatchNorm3d", (2,), {}, [(3, 2, 2, 3, 2)]),
    ("GroupNorm", "GroupNorm", (2, 4), {}, [(3, 4, 5)]),
    ("InstanceNorm1d", "InstanceNorm1d", (3,), {"affine": True}, [(2, 3, 6)]),
    ("InstanceNorm2d", "InstanceNorm2d", (3,), {"track_running_stats": True}, [(2, 3, 4, 4)]),
    ("LayerNorm-nobias", "LayerNorm", ((3, 4),), {"bias": False}, [(2, 3, 4)]),
    ("RMSNorm", "RMSNorm", (4,), {}, [(2, 3, 4)]),
    ("RMSNorm-2d-eps", "RMSNorm", ((3, 4),), {"eps": 1e-3, "elementwise_affine": False},
     [(2, 3, 4)]),
    ("SyncBatchNorm", "SyncBatchNorm", (3,), {}, [(4, 3, 5)]),
    ("SyncBatchNorm-4d", "SyncBatchNorm", (2,), {"momentum": None}, [(3, 2, 4, 3)]),
    ("LocalResponseNorm", "LocalResponseNorm", (2,), {}, [(2, 5, 3, 3)]),
    ("ELU", "ELU", (0.5,), {}, [(3, 4)]),
    ("SELU", "SELU", (), {}, [(3, 4)]),
    ("CELU", "CELU", (), {"alpha": 2.0}, [(3, 4)]),
    ("GELU-tanh", "GELU", (), {"approximate": "tanh"}, [(3, 4)]),
    ("SiLU", "SiLU", (), {}, [(3, 4)]),
    ("Mish", "Mish", (), {}, [(3, 4)]),
    ("Softplus", "Softplus", (), {"beta": 0.5}, [(3, 4)]),
    ("Softsign", "Softsign", (), {}, [(3, 4)]),
    ("Hardtanh", "Hardtanh", (-0.5, 0.5), {}, [(3, 4)]),
    ("ReLU6", "ReLU6", (), {}, [(3, 4)]),
    ("Hardswish", "Hardswish", (), {}, [(3, 4)]),
    ("Hardsigmoid", "Hardsigmoid", (), {}, [(3, 4)]),
    ("PReLU", "PReLU", (3,), {}, [(2, 3, 4)]),
    ("LogSigmoid", "LogSigmoid", (), {}, [(3, 4)]),
    ("Tanhshrink", "Tanhshrink", (), {}, [(3, 4)]),
    ("Softmin", "Softmin", (1,), {}, [(3, 4)]),
    ("Softmax2d", "Softmax2d", (), {}, [(2, 3, 2, 2)]),
    ("Threshold", "Threshold", (0.2, -1.0), {}, [(3, 4)]),
    ("GLU", "GLU", (), {}, [(3, 4)]),
    ("Identity", "Identity", (), {}, [(3, 4)]),
    ("RReLU-eval-slope", "RReLU", (0.1, 0.3), {}, [(3, 4)]),
    ("Upsample-nearest", "Upsample", (), {"scale_factor": 2}, [(1, 2, 3, 3)]),
    ("Upsample-bilinear", "Upsample", (), {"size": (5, 4), "mode": "bilinear",
                                           "align_corners": True}, [(1, 2, 3, 3)]),
    ("UpsamplingBilinear2d", "UpsamplingBilinear2d", (), {"scale_factor": 2}, [(1, 2, 3, 3)]),
    ("PixelShuffle", "PixelShuffle", (2,), {}, [(1, 8, 2, 3)]),
    ("PixelUnshuffle", "PixelUnshuffle", (2,), {}, [(1, 2, 4, 6)]),
    ("Flatten", "Flatten", (), {}, [(2, 3, 4)]),
    ("Unflatten", "Unflatten", (1, (3, 4)), {}, [(2, 12)]),
    ("ZeroPad2d", "ZeroPad2d", ((1, 0, 2, 1),), {}, [(1, 2, 3, 3)]),
    ("ConstantPad1d", "ConstantPad1d", (2, 0.5), {}, [(1, 2, 3)]),
    ("ReflectionPad2d", "ReflectionPad2d", (2,), {}, [(1, 2, 3, 4)]),
    ("ReplicationPad1d", "ReplicationPad1d", ((1, 3),), {}, [(1, 2, 3)]),
    ("CircularPad2d", "CircularPad2d", (1,), {}, [(1, 2, 3, 4)]),
    ("Unfold", "Unfold", (2,), {"stride": 1}, [(1, 2, 4, 4)]),
    ("Fold", "Fold", ((3, 3), 2), {}, [(1, 8, 4)]),
    ("CosineSimilarity", "CosineSimilarity", (), {}, [(3, 5), (3, 5)]),
    ("PairwiseDistance", "PairwiseDistance", (), {}, [(3, 5), (3, 5)]),
    ("L1Loss", "L1Loss", (), {}, [(3, 4), (3, 4)]),
    ("SmoothL1Loss", "SmoothL1Loss", (), {"beta": 0.5}, [(3, 4), (3, 4)]),
    ("HuberLoss", "HuberLoss", (), {"delta": 0.5}, [(3, 4), (3, 4)]),
    ("KLDivLoss", "KLDivLoss", (), {"reduction": "batchmean", "log_target": True},
     [(3, 4), (3, 4)]),
    ("GaussianNLLLoss", "GaussianNLLLoss", (), {}, [(3, 4), (3, 4), (3, 4)]),
    ("TripletMarginLoss", "TripletMarginLoss", (), {"margin": 2.0}, [(3, 4)] * 3),
    ("Bilinear", "Bilinear", (3, 4, 5), {}, [(2, 3), (2, 4)]),
    ("Bilinear-3d-nobias", "Bilinear", (3, 2, 4), {"bias": False}, [(2, 5, 3), (2, 5, 2)]),
    ("Bilinear-free Sequential", "Sequential", (), {}, [(2, 4)]),
]

_SEQ = {"Bilinear-free Sequential": lambda lib: lib.Sequential(
    lib.Linear(4, 6), lib.SiLU(), lib.Dropout(0.0), lib.Linear(6, 3), lib.ELU())}


def _positive_inputs(name):
    return name in ("GaussianNLLLoss",)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_layer_matches_torch(row, dtype):
    rid, name, args, kwargs, shapes = row
    torch.manual_seed(0)
    if rid in _SEQ:
        ours, theirs = _SEQ[rid](nn), _SEQ[rid](tnn)
    else:
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    if name == "RReLU":  # random slopes in train mode: compare the deterministic eval mode
        ours.eval()
        theirs.eval()
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = theirs.to(tdtype)
    ours = ours.to(dtype)
    tsd = theirs.state_dict()
    assert list(ours.state_dict()) == list(tsd)
    ours.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if _positive_inputs(name):
        arrays[-1] = np.abs(arrays[-1]) + 0.1
    xs = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    txs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = ours(*xs), theirs(*txs)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-7, "atol": 1e-9}
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    dy = rng.standard_normal(tuple(expected.shape)).astype(dtype)
    out.backward(pynn.tensor(dy))
    expected.backward(torch.tensor(dy))
    for i, (x, tx) in enumerate(zip(xs, txs)):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol,
                                   err_msg=f"input {i} gradient")
    tparams = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[pname].grad.numpy(), **tol,
                                   err_msg=f"gradient of {pname}")
    for bname, b in theirs.named_buffers():
        got = dict(ours.named_buffers())[bname]
        got = got._data if hasattr(got, "_data") else got
        np.testing.assert_allclose(got, b.numpy(), **tol, err_msg=f"buffer {bname}")


def test_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Conv1d\(3, 4.*3 channels.*\(2, 5, 9\)"):
        nn.Conv1d(3, 4, 3)(pynn.tensor(np.zeros((2, 5, 9), np.float32)))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(3, 2.*4-D.*\(5, 5\)"):
        nn.ConvTranspose2d(3, 2, 3)(pynn.tensor(np.zeros((5, 5), np.float32)))
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4.*\(N, 4, \*\).*\(3, 5, 2\)"):
        nn.GroupNorm(2, 4)(pynn.tensor(np.zeros((3, 5, 2), np.float32)))
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


@pytest.mark.parametrize("make", [
    lambda lib: lib.MSELoss(), lambda lib: lib.L1Loss(), lambda lib: lib.SmoothL1Loss(),
    lambda lib: lib.HuberLoss()])
def test_regression_losses_warn_on_broadcast_target(make):
    x = pynn.tensor(np.zeros((4, 1), np.float32))
    y = pynn.tensor(np.zeros(4, np.float32))
    with pytest.warns(UserWarning, match=r"Using a target size \(\(4,\)\) that is different to "
                                         r"the input size \(\(4, 1\)\)"):
        make(nn)(x, y)
    with pytest.warns(UserWarning, match="Using a target size"):
        make(tnn)(torch.zeros(4, 1), torch.zeros(4))


def test_legacy_size_average_maps_to_reduction_with_a_warning():
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        ours = pynn.nn.functional.binary_cross_entropy(pynn.tensor(x), pynn.tensor(x),
                                                       size_average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(x),
                                                          size_average=False)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-5)
    assert nn.MSELoss(reduce=False).reduction == "none"


@pytest.mark.parametrize("mode", ["mean", "sum", "max"])
@pytest.mark.parametrize("offsets", [None, [0, 2, 5]])
def test_embedding_bag_matches_torch(mode, offsets):
    pad = None if mode == "max" else 2
    torch.manual_seed(0)
    theirs = tnn.EmbeddingBag(10, 3, mode=mode, padding_idx=pad).double()
    ours = nn.EmbeddingBag(10, 3, mode=mode, padding_idx=pad, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    idx = np.array([[1, 2, 4], [4, 3, 9]]) if offsets is None else np.array([1, 2, 4, 5, 4, 3,
                                                                             2, 9])
    t_off = None if offsets is None else torch.tensor(offsets)
    o_off = None if offsets is None else pynn.tensor(offsets)
    expected, out = theirs(torch.tensor(idx), t_off), ours(pynn.tensor(idx), o_off)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    dy = np.random.default_rng(0).standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(dy))
    out.backward(pynn.tensor(dy))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("lib_name", ["pynn", "torch"])
def test_channel_dropout_masks_match_torch_semantics(lib_name):
    lib, mod = (nn, pynn) if lib_name == "pynn" else (tnn, torch)
    mod.manual_seed(0)
    y = lib.Dropout2d(0.5)(mod.ones(4, 3, 5, 5)).numpy()
    # whole feature maps are kept (scaled by 2) or zeroed
    assert set(np.unique(y.reshape(4, 3, -1).std(-1))) == {0.0}
    assert set(np.unique(y)) <= {0.0, 2.0}
    with pytest.warns(UserWarning, match="2-D input"):
        y = lib.Dropout2d(0.5)(mod.ones(50, 40)).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}
    assert y.reshape(-1).std() > 0 and (y == 0).all(axis=1).sum() < 5  # elementwise, not rows
    y = lib.Dropout1d(0.5)(mod.ones(3, 6, 7)).numpy()
    assert set(np.unique(y.std(-1))) == {0.0}
    lib.Dropout2d(0.5).eval()(mod.ones(2, 2))


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_sequential_conv_pool_matches_torch_with_ceil_mode(ceil_mode):
    def make(lib):
        return lib.Sequential(lib.Conv2d(2, 3, 3), lib.ReLU(),
                              lib.MaxPool2d(2, ceil_mode=ceil_mode),
                              lib.Conv2d(3, 2, 2), lib.MaxPool2d(2, ceil_mode=ceil_mode),
                              lib.ReLU())

    torch.manual_seed(0)
    theirs, ours = make(tnn), make(nn)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 2, 10, 9)).astype(np.float32)
    expected = theirs(torch.tensor(x)).detach().numpy()
    out = ours(pynn.tensor(x)).detach().numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_rrelu_train_mode_slopes_lie_between_lower_and_upper():
    m = nn.RReLU(0.1, 0.3)
    assert repr(m) == repr(tnn.RReLU(0.1, 0.3))
    x = pynn.tensor(-np.ones((50, 40)), requires_grad=True)
    y = m(x)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)
    m.eval()
    np.testing.assert_allclose(m(pynn.tensor([-1.0, 2.0])).numpy(), [-0.2, 2.0])
    x = pynn.tensor([-1.0, 2.0])
    assert pynn.nn.functional.relu_(x) is x and x.numpy().tolist() == [0.0, 2.0]
