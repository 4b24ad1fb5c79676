"""The 3-D layers (convolution, pooling, padding, instance norm, trilinear resampling), area,
bicubic and antialiased resampling, the lazy convolutions and norms, LP pooling, channel
shuffle, the pooling options added for them in 1-D and 2-D (ceil_mode, divisor_override,
padding="same" with an even kernel) and the multi-label margin and distance triplet losses,
all against PyTorch: values, gradients, indices, state dicts and errors."""

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import nn

from .conftest import module_gradcheck

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional


def _compare(ours, theirs, arrays, args=(), *, tol=1e-9, indices=False, seed=0):
    """Run ``ours`` on pynn tensors and ``theirs`` on torch tensors made from ``arrays``
    (then ``args``): the same outputs (and indices, exactly), and the same gradients for a
    random output gradient."""
    ps = [pynn.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    yp, yt = ours(*ps, *args), theirs(*ts, *args)
    if indices:
        np.testing.assert_array_equal(yp[1].numpy(), yt[1].numpy())
        assert yp[1].dtype == pynn.int64
        yp, yt = yp[0], yt[0]
    assert tuple(yp.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    yp.backward(pynn.tensor(g))
    yt.backward(torch.tensor(g))
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --- convolution --------------------------------------------------------------------------

CONV3D_CASES = [
    # N, C, O, (D, H, W), kernel, stride, padding, dilation, groups
    (2, 4, 6, (5, 6, 7), (3, 2, 3), 1, 0, 1, 1),
    (1, 4, 6, (7, 5, 6), 3, (2, 1, 2), (1, 0, 2), 1, 2),
    (2, 3, 3, (6, 6, 6), (2, 3, 1), 2, 1, (2, 1, 1), 3),
    (1, 2, 5, (9, 4, 4), 3, 3, 2, 2, 1),
    (3, 1, 2, (1, 3, 3), (1, 3, 3), 1, (0, 1, 1), 1, 1),
]


@pytest.mark.parametrize("n,c,o,dhw,k,s,p,d,g", CONV3D_CASES)
def test_conv3d_and_its_transpose_match_torch(n, c, o, dhw, k, s, p, d, g, each_backend):
    kernel = k if isinstance(k, tuple) else (k,) * 3
    x, w, b = _rand(n, c, *dhw), _rand(o, c // g, *kernel, seed=1), _rand(o, seed=2)
    _compare(lambda x, w, b: F.conv3d(x, w, b, s, p, d, g),
             lambda x, w, b: TF.conv3d(x, w, b, s, p, d, g), [x, w, b])
    wt = _rand(c, o // g, *kernel, seed=3)
    strides = s if isinstance(s, tuple) else (s,) * 3
    dils = d if isinstance(d, tuple) else (d,) * 3
    op = tuple(max(si, di) - 1 for si, di in zip(strides, dils))
    _compare(lambda x, w, b: F.conv_transpose3d(x, w, b, s, p, op, g, d),
             lambda x, w, b: TF.conv_transpose3d(x, w, b, s, p, op, g, d), [x, wt, b])


def test_conv3d_float32_unbatched_and_namespace():
    x, w = _rand(3, 5, 6, 7).astype(np.float32), _rand(4, 3, 3, 3, 3, seed=1).astype(np.float32)
    ours = pynn.conv3d(pynn.tensor(x), pynn.tensor(w), None, 1, 1)
    theirs = torch.conv3d(torch.tensor(x), torch.tensor(w), None, 1, 1)
    assert ours.dtype == pynn.float32 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)
    assert ours.is_contiguous()


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's, about its copy
@pytest.mark.parametrize("n,kernel,dilation", [
    (1, (4,), 2), (2, (4, 2), 1), (2, (3, 5), (2, 1)), (3, (2, 3, 4), 1), (3, (4, 1, 2), 1)])
def test_padding_same_with_even_kernels_matches_torch(n, kernel, dilation):
    x, w = _rand(2, 3, *([7, 6, 5][:n])), _rand(4, 3, *kernel, seed=1)
    ours, theirs = getattr(F, f"conv{n}d"), getattr(TF, f"conv{n}d")
    _compare(lambda x, w: ours(x, w, None, 1, "same", dilation),
             lambda x, w: theirs(x, w, None, 1, "same", dilation), [x, w])
    layer = getattr(nn, f"Conv{n}d")(3, 4, kernel, padding="same", dilation=dilation)
    assert tuple(layer(pynn.tensor(x, dtype=pynn.float32)).shape) == x.shape[:1] + (4,) + \
        x.shape[2:]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_loaded_from_torch(mode):
    torch.manual_seed(0)
    theirs = tnn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2,
                        padding_mode=mode).double()
    ours = nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2,
                     padding_mode=mode).double()
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _rand(2, 4, 5, 6, 7)
    _compare(ours, theirs, [x])
    module_gradcheck(nn.Conv3d(2, 3, 2, padding=1), _rand(1, 2, 3, 3, 3))


def test_conv_transpose3d_module_output_size_and_default_init():
    torch.manual_seed(0)
    theirs = tnn.ConvTranspose3d(3, 4, 3, stride=2, padding=1).double()
    ours = nn.ConvTranspose3d(3, 4, 3, stride=2, padding=1).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _rand(2, 3, 4, 5, 3)
    _compare(lambda x: ours(x, output_size=(8, 10, 6)),
             lambda x: theirs(x, output_size=(8, 10, 6)), [x])
    fresh = nn.ConvTranspose3d(3, 4, 3)
    bound = 1 / np.sqrt(4 * 27)  # PyTorch's fan-in of a transposed weight is dim 1 x kernel
    assert np.abs(fresh.weight.detach().numpy()).max() <= bound + 1e-7


def test_conv3d_errors_name_the_op_and_the_shapes():
    w = pynn.zeros(4, 3, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv3d: input has 2 channels but weight expects 3"):
        F.conv3d(pynn.zeros(1, 2, 5, 5, 5), w)
    with pytest.raises(ValueError, match=r"conv3d: input must have shape \(N, C, D, H, W\)"):
        F.conv3d(pynn.zeros(3, 5, 5), w)
    with pytest.raises(ValueError, match=r"conv3d: the kernel"):
        F.conv3d(pynn.zeros(1, 3, 2, 5, 5), w)
    with pytest.raises(ValueError, match=r"Conv3d"):
        nn.Conv3d(3, 4, 3)(pynn.zeros(1, 2, 5, 5, 5))
    with pytest.raises(ValueError, match=r"output_padding"):
        F.conv_transpose3d(pynn.zeros(1, 3, 2, 2, 2), pynn.zeros(3, 2, 2, 2, 2), stride=2,
                           output_padding=2)


# --- pooling ------------------------------------------------------------------------------

POOL3D_CASES = [
    # kernel, stride, padding, ceil_mode
    (2, None, 0, False), (3, 2, 1, False), ((3, 2, 3), (2, 1, 2), (1, 1, 0), True),
    (3, 2, 1, True), ((2, 3, 2), (3, 2, 2), 0, True), ((1, 2, 2), (1, 2, 2), 0, False),
]


def _inputs():
    x = _rand(2, 3, 7, 8, 9)
    return [x, np.maximum(x, 0)]  # the second has ties (zeros) inside windows


@pytest.mark.parametrize("k,s,p,ceil", POOL3D_CASES)
def test_avg_and_max_pool3d_match_torch(k, s, p, ceil, each_backend):
    for x in _inputs():
        for cip in (True, False):
            _compare(F.avg_pool3d, TF.avg_pool3d, [x], (k, s, p, ceil, cip))
        _compare(lambda a: F.avg_pool3d(a, k, s, p, ceil, True, 5),
                 lambda a: TF.avg_pool3d(a, k, s, p, ceil, True, 5), [x])
        _compare(lambda a: F.max_pool3d(a, k, s, p, 1, ceil, True),
                 lambda a: TF.max_pool3d(a, k, s, p, 1, ceil, True), [x], indices=True)


@pytest.mark.parametrize("k,s,p,ceil", POOL3D_CASES)
def test_avg_pool_1d_2d_ceil_mode_and_divisor_match_torch(k, s, p, ceil, each_backend):
    kernel = k if isinstance(k, tuple) else (k,) * 3
    stride = s if isinstance(s, tuple) else ((s,) * 3 if s else kernel)
    pad = p if isinstance(p, tuple) else (p,) * 3
    x = _rand(2, 3, 8, 9)
    for cip in (True, False):
        args = (kernel[1:], stride[1:], pad[1:], ceil, cip)
        _compare(F.avg_pool2d, TF.avg_pool2d, [x], args)
        _compare(F.avg_pool2d, TF.avg_pool2d, [x], (*args, 3))
        _compare(F.avg_pool1d, TF.avg_pool1d, [x[:, :, 0]],
                 (kernel[2], stride[2], pad[2], ceil, cip))
    ours = nn.AvgPool2d(kernel[1:], stride[1:], pad[1:], ceil, divisor_override=2)
    theirs = tnn.AvgPool2d(kernel[1:], stride[1:], pad[1:], ceil, divisor_override=2)
    _compare(ours, theirs, [x])
    _compare(nn.AvgPool1d(3, 2, 1, ceil_mode=True), tnn.AvgPool1d(3, 2, 1, ceil_mode=True),
             [x[:, :, 0]])


def test_max_pool3d_depth_dilation_unbatched_and_module():
    x = _rand(2, 3, 7, 8, 9)
    _compare(lambda a: F.max_pool3d(a, (3, 2, 2), (1, 2, 2), (1, 0, 0), (2, 1, 1), False, True),
             lambda a: TF.max_pool3d(a, (3, 2, 2), (1, 2, 2), (1, 0, 0), (2, 1, 1), False, True),
             [x], indices=True)
    _compare(lambda a: F.max_pool3d(a, 2, return_indices=True),
             lambda a: TF.max_pool3d(a, 2, return_indices=True), [x[0]], indices=True)
    _compare(nn.MaxPool3d(3, 2, 1, ceil_mode=True), tnn.MaxPool3d(3, 2, 1, ceil_mode=True), [x])
    _compare(nn.AvgPool3d(2, 1, count_include_pad=False),
             tnn.AvgPool3d(2, 1, count_include_pad=False), [x[0]])
    with pytest.raises(NotImplementedError, match="max_pool3d: dilation"):
        F.max_pool3d(pynn.tensor(x), 2, dilation=(1, 2, 1))
    with pytest.raises(ValueError, match=r"max_pool3d: padding .* at most half"):
        F.max_pool3d(pynn.tensor(x), 2, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool3d: expected a 4-D or 5-D input"):
        F.avg_pool3d(pynn.tensor(x[0, 0]), 2)


@pytest.mark.parametrize("size", [(1, 1, 1), (3, 4, 5), (7, 8, 9), (2, None, 3), 4])
def test_adaptive_pool3d_matches_torch(size, each_backend):
    for x in _inputs():
        _compare(lambda a: F.adaptive_avg_pool3d(a, size),
                 lambda a: TF.adaptive_avg_pool3d(a, size), [x])
        _compare(lambda a: F.adaptive_max_pool3d(a, size, True),
                 lambda a: TF.adaptive_max_pool3d(a, size, True), [x], indices=True)
    _compare(nn.AdaptiveAvgPool3d(size), tnn.AdaptiveAvgPool3d(size), [_rand(3, 5, 6, 7)])
    _compare(nn.AdaptiveMaxPool3d(size), tnn.AdaptiveMaxPool3d(size), [_rand(3, 5, 6, 7)])


def test_max_unpool3d_inverts_max_pool3d_like_torch():
    x = _rand(2, 3, 6, 8, 8)
    y, i = F.max_pool3d(pynn.tensor(x), 2, return_indices=True)
    it = TF.max_pool3d(torch.tensor(x), 2, return_indices=True)[1]
    _compare(lambda a: F.max_unpool3d(a, i, 2), lambda a: TF.max_unpool3d(a, it, 2),
             [y.numpy()])
    _compare(lambda a: nn.MaxUnpool3d(2)(a, i, output_size=(7, 9, 8)),
             lambda a: tnn.MaxUnpool3d(2)(a, it, output_size=(7, 9, 8)), [y.numpy()])


@pytest.mark.parametrize("n,kernel", [(1, 3), (2, (2, 3)), (3, 2)])
@pytest.mark.parametrize("power", [1, 2, 3.5, float("inf")])
@pytest.mark.parametrize("ceil", [False, True])
def test_lp_pool_matches_torch(n, kernel, power, ceil):
    x = np.abs(_rand(2, 3, 7, 8, 9)[(slice(None),) * (n + 2) + (0,) * (3 - n)]) + 0.1
    ours, theirs = getattr(F, f"lp_pool{n}d"), getattr(TF, f"lp_pool{n}d")
    _compare(lambda a: ours(a, power, kernel, None, ceil),
             lambda a: theirs(a, power, kernel, None, ceil), [x], tol=1e-8)
    layer, tlayer = getattr(nn, f"LPPool{n}d"), getattr(tnn, f"LPPool{n}d")
    _compare(layer(power, kernel, ceil_mode=ceil), tlayer(power, kernel, ceil_mode=ceil), [x],
             tol=1e-8)
    assert repr(layer(power, kernel)) == repr(tlayer(power, kernel))


def test_pooling_with_indices_names_and_torch_namespace():
    x = _rand(2, 3, 9)
    _compare(lambda a: F.max_pool1d_with_indices(a, 2), lambda a: TF.max_pool1d_with_indices(a, 2),
             [x], indices=True)
    _compare(lambda a: pynn.adaptive_max_pool1d(a, 4), lambda a: torch.adaptive_max_pool1d(a, 4),
             [x], indices=True)
    _compare(lambda a: F.adaptive_max_pool2d_with_indices(a, 2),
             lambda a: TF.adaptive_max_pool2d_with_indices(a, 2), [_rand(2, 3, 5, 5)],
             indices=True)
    _compare(lambda a: pynn.max_pool3d(a, 2), lambda a: torch.max_pool3d(a, 2),
             [_rand(1, 2, 4, 4, 4)])


# --- padding, normalisation, resampling, shuffling -----------------------------------------

@pytest.mark.parametrize("name,args", [
    ("ZeroPad3d", ((1, 2, 0, 1, 2, 1),)), ("ConstantPad3d", (2, 3.5)),
    ("ReflectionPad3d", ((1, 2, 2, 1, 1, 0),)), ("ReplicationPad3d", (2,)),
    ("CircularPad3d", ((1, 1, 2, 0, 1, 2),))])
def test_padding_3d_layers_match_torch(name, args):
    _compare(getattr(nn, name)(*args), getattr(tnn, name)(*args), [_rand(2, 3, 4, 5, 6)])
    _compare(getattr(nn, name)(*args), getattr(tnn, name)(*args), [_rand(3, 4, 5, 6)])


@pytest.mark.parametrize("affine,track", [(False, False), (True, True), (True, False)])
def test_instance_norm3d_matches_torch(affine, track):
    ours, theirs = nn.InstanceNorm3d(3, affine=affine, track_running_stats=track).double(), \
        tnn.InstanceNorm3d(3, affine=affine, track_running_stats=track).double()
    x = _rand(2, 3, 4, 5, 6)
    _compare(ours, theirs, [x])
    _compare(ours, theirs, [x[0]])
    ours.eval(), theirs.eval()
    _compare(ours, theirs, [x])
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode,align", [("trilinear", False), ("trilinear", True),
                                        ("nearest", None), ("nearest-exact", None)])
def test_interpolate_5d_matches_torch(mode, align):
    x = _rand(2, 3, 4, 5, 6)
    for size, scale in [((7, 3, 9), None), (None, 2), (None, (1.5, 0.5, 2.0))]:
        _compare(F.interpolate, TF.interpolate, [x], (size, scale, mode, align))
    _compare(nn.Upsample(scale_factor=2, mode=mode, align_corners=align),
             tnn.Upsample(scale_factor=2, mode=mode, align_corners=align), [x])
    with pytest.raises(ValueError, match="trilinear"):
        F.interpolate(pynn.tensor(x[0]), scale_factor=2, mode="trilinear")


@pytest.mark.parametrize("size,scale", [((17, 20), None), ((4, 5), None), (None, 2),
                                        (None, (0.5, 0.37)), ((3, 30), None), (None, 1.7)])
@pytest.mark.parametrize("mode", ["area", "bicubic", "bilinear"])
def test_interpolate_area_bicubic_and_antialias_match_torch(size, scale, mode):
    x = _rand(2, 3, 9, 13)
    _compare(F.interpolate, TF.interpolate, [x], (size, scale, mode))
    if mode != "area":
        _compare(F.interpolate, TF.interpolate, [x], (size, scale, mode, True))
        for recompute in (None, True) if scale else (None,):
            _compare(F.interpolate, TF.interpolate, [x], (size, scale, mode, False, recompute,
                                                          True))


def test_interpolate_area_1d_3d_and_old_names_match_torch():
    _compare(F.interpolate, TF.interpolate, [_rand(2, 3, 11)], (4, None, "area"))
    _compare(F.interpolate, TF.interpolate, [_rand(2, 3, 11)], (None, 0.5, "area"))
    _compare(F.interpolate, TF.interpolate, [_rand(2, 3, 5, 6, 7)], ((2, 3, 4), None, "area"))
    x = _rand(2, 3, 5, 6)
    _compare(F.upsample_bilinear, TF.upsample_bilinear, [x], ((9, 4),))
    _compare(F.upsample_nearest, TF.upsample_nearest, [x], (None, 2))
    with pytest.raises(ValueError, match="anti-alias"):
        F.interpolate(pynn.tensor(x), scale_factor=2, mode="nearest", antialias=True)


@pytest.mark.parametrize("shape,groups", [((2, 6, 4, 4), 3), ((1, 8, 5), 2), ((3, 4, 2, 2, 2), 4)])
def test_channel_shuffle_matches_torch(shape, groups):
    x = _rand(*shape)
    _compare(nn.ChannelShuffle(groups), tnn.ChannelShuffle(groups), [x])
    _compare(lambda a: F.channel_shuffle(a, groups), lambda a: torch.channel_shuffle(a, groups),
             [x])
    with pytest.raises(ValueError, match="divisible by groups"):
        F.channel_shuffle(pynn.tensor(x), 5)


# --- lazy layers --------------------------------------------------------------------------

LAZY_CONVS = [
    ("LazyConv1d", "Conv1d", (5, 3), {"padding": 1}, (2, 4, 9)),
    ("LazyConv2d", "Conv2d", (6, 3), {"stride": 2, "groups": 2}, (2, 4, 7, 8)),
    ("LazyConv3d", "Conv3d", (6, 2), {"bias": False}, (2, 3, 4, 5, 6)),
    ("LazyConvTranspose1d", "ConvTranspose1d", (5, 3), {"stride": 2}, (2, 4, 9)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (4, 3), {"output_padding": 1, "stride": 2},
     (2, 3, 5, 6)),
    ("LazyConvTranspose3d", "ConvTranspose3d", (4, 2), {"groups": 2}, (1, 4, 3, 4, 5)),
]


@pytest.mark.parametrize("lazy,eager,args,kwargs,shape", LAZY_CONVS)
def test_lazy_convolutions_become_their_eager_layer(lazy, eager, args, kwargs, shape):
    ours, theirs = getattr(nn, lazy)(*args, **kwargs), getattr(tnn, lazy)(*args, **kwargs)
    assert isinstance(ours.weight, nn.UninitializedParameter)
    assert isinstance(theirs.weight, tnn.UninitializedParameter)
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    x = _rand(*shape).astype(np.float32)
    out = ours(pynn.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours) is getattr(nn, eager) and type(theirs) is getattr(tnn, eager)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours(pynn.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert tuple(out.shape) == tuple(theirs(torch.tensor(x)).shape)
    # the fan-in bound of PyTorch's initialisation, now that in_channels is known
    fan_in = int(np.prod(ours.weight.shape[1:]))
    assert np.abs(ours.weight.detach().numpy()).max() <= 1 / np.sqrt(fan_in) + 1e-6


@pytest.mark.parametrize("lazy,shape", [
    ("LazyBatchNorm1d", (4, 3)), ("LazyBatchNorm2d", (4, 3, 5, 5)),
    ("LazyBatchNorm3d", (2, 3, 3, 4, 4)), ("LazyInstanceNorm1d", (2, 3, 6)),
    ("LazyInstanceNorm2d", (2, 3, 4, 4)), ("LazyInstanceNorm3d", (2, 3, 3, 4, 4))])
def test_lazy_norms_become_their_eager_layer(lazy, shape):
    ours, theirs = getattr(nn, lazy)().double(), getattr(tnn, lazy)().double()
    x = _rand(*shape)
    _compare(ours, theirs, [x])
    assert type(ours).__name__ == type(theirs).__name__ == lazy[4:]
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12)


def test_lazy_model_trains_after_a_dry_run():
    model = nn.Sequential(nn.LazyConv3d(4, 3, padding=1), nn.LazyBatchNorm3d(), nn.ReLU(),
                          nn.MaxPool3d(2), nn.Flatten(), nn.LazyLinear(2))
    x = pynn.randn(3, 2, 4, 4, 4)
    model(x)
    opt = pynn.optim.SGD(model.parameters(), lr=0.1)
    assert len(list(model.parameters())) == 6
    loss0 = None
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), pynn.tensor([0, 1, 0]))
        loss.backward()
        opt.step()
        loss0 = loss0 if loss0 is not None else float(loss)
    assert float(loss) < loss0


# --- losses -------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_margin_loss_matches_torch(reduction):
    x = _rand(4, 5)
    target = np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [-1, 0, 0, 0, 0], [0, 1, 2, 3, 4]])
    _compare(lambda a: F.multilabel_margin_loss(a, pynn.tensor(target), reduction=reduction),
             lambda a: TF.multilabel_margin_loss(a, torch.tensor(target), reduction=reduction),
             [x])
    ours = nn.MultiLabelMarginLoss(reduction=reduction)(pynn.tensor(x[0]), pynn.tensor(target[0]))
    theirs = tnn.MultiLabelMarginLoss(reduction=reduction)(torch.tensor(x[0]),
                                                           torch.tensor(target[0]))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triplet_margin_with_distance_loss_matches_torch(swap, reduction):
    a, p, n = _rand(6, 4), _rand(6, 4, seed=1), _rand(6, 4, seed=2)
    _compare(lambda *t: F.triplet_margin_with_distance_loss(*t, swap=swap, reduction=reduction),
             lambda *t: TF.triplet_margin_with_distance_loss(*t, swap=swap, reduction=reduction),
             [a, p, n])
    _compare(nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1 - F.cosine_similarity(x, y), margin=0.5, swap=swap,
        reduction=reduction),
        tnn.TripletMarginWithDistanceLoss(
            distance_function=lambda x, y: 1 - TF.cosine_similarity(x, y), margin=0.5,
            swap=swap, reduction=reduction), [a, p, n])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_take_pytorchs_weight(name, reduction):
    x, y, w = _rand(4, 3), _rand(4, 3, seed=1), np.abs(_rand(4, 3, seed=2))
    _compare(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
             lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c), [x, y, w])
    with pytest.raises(ValueError, match="same size"):
        getattr(F, name)(pynn.tensor(x), pynn.tensor(y), weight=pynn.tensor(w[:, :1]))


def test_hardtanh_old_names_and_sync_batchnorm_bias_match_torch():
    with pytest.warns(FutureWarning):
        ours = nn.Hardtanh(min_value=-0.5, max_value=2.0)
    with pytest.warns(FutureWarning):
        theirs = tnn.Hardtanh(min_value=-0.5, max_value=2.0)
    assert (ours.min_val, ours.max_val) == (theirs.min_val, theirs.max_val)
    _compare(ours, theirs, [_rand(3, 4) * 2])
    ours, theirs = nn.SyncBatchNorm(3, bias=False), tnn.SyncBatchNorm(3, bias=False)
    assert ours.bias is None and theirs.bias is None
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_lazy_layers_train_under_an_optimiser_built_before_the_first_call():
    def build(lib):
        # ReLU before the norm: a bias right before a batch norm gets no gradient
        return lib.Sequential(lib.LazyConv2d(4, 3), lib.ReLU(), lib.LazyBatchNorm2d(),
                              lib.Flatten(), lib.LazyLinear(3))

    ours, theirs = build(nn), build(tnn)
    opt = pynn.optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == len(topt.param_groups[0]["params"]) == 6
    x = _rand(2, 3, 6, 6).astype(np.float32)
    ours(pynn.tensor(x)), theirs(torch.tensor(x))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    before = [p.detach().numpy().copy() for p in ours.parameters()]
    for model, optimiser, lib in ((ours, opt, pynn), (theirs, topt, torch)):
        model(lib.tensor(x)).square().sum().backward()
        optimiser.step()
    for p, t, b in zip(ours.parameters(), theirs.parameters(), before):
        assert not np.allclose(p.detach().numpy(), b)  # trained, every one
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_a_never_run_lazy_model_loads_a_checkpoint():
    trained = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                            nn.Linear(64, 3), nn.ConvTranspose1d(2, 2, 3))
    state = trained.state_dict()
    fresh = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.Flatten(),
                          nn.LazyLinear(3), nn.LazyConvTranspose1d(2, 3))
    fresh.load_state_dict(state)
    assert [type(m).__name__ for m in fresh] == [type(m).__name__ for m in trained]
    for key, value in state.items():
        np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy())


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("n,kernel", [(1, 4), (2, 3), (2, (4, 3)), (3, (2, 3, 3))])
def test_same_padding_follows_padding_mode_like_torch(mode, n, kernel):
    theirs = getattr(tnn, f"Conv{n}d")(2, 3, kernel, padding="same", padding_mode=mode).double()
    ours = getattr(nn, f"Conv{n}d")(2, 3, kernel, padding="same", padding_mode=mode).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    _compare(ours, theirs, [_rand(2, 2, *([7, 6, 5][:n]))])


@pytest.mark.parametrize("op,kwargs", [
    ("avg_pool2d", {"kernel_size": 2, "ceil_mode": True}),
    ("avg_pool2d", {"kernel_size": 3, "stride": 2, "divisor_override": 2}),
    ("adaptive_avg_pool2d", {"output_size": 3}),
    ("interpolate", {"size": (3, 4), "mode": "area"}),
    ("interpolate", {"size": (3, 3), "mode": "bilinear", "antialias": True})])
def test_an_inf_or_nan_reaches_only_the_outputs_that_weigh_it(op, kwargs):
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    x[0, 0, 0, 0], x[0, 0, 3, 4], x[0, 0, 4, 1] = np.inf, -np.inf, np.nan
    ours = getattr(F, op)(pynn.tensor(x), **kwargs).numpy()
    theirs = getattr(TF, op)(torch.tensor(x), **kwargs).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)  # equal nan and inf positions too


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("kwargs", [{"scale_factor": 1.7}, {"size": (4, 5)}])
def test_interpolate_takes_bytes_as_torch(mode, kwargs):
    x = np.random.default_rng(0).integers(0, 256, (2, 3, 7, 9), dtype=np.uint8)
    ours = F.interpolate(pynn.tensor(x), mode=mode, **kwargs)
    theirs = TF.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy()
    assert ours.dtype == pynn.uint8
    # PyTorch's byte kernels weigh in fixed point: at most one grey level apart
    assert np.abs(ours.numpy().astype(int) - theirs.astype(int)).max() <= (
        0 if mode.startswith("nearest") else 1)
    with pytest.raises(TypeError):
        F.interpolate(pynn.tensor(x.astype(np.int64)), mode=mode, **kwargs)
