"""The smaller torch.nn.utils, nn.init, autograd and testing names against PyTorch:
get_total_norm and clip_grads_with_norm_, the batch-norm fusions, skip_init, the memory-format
converters, unpad/unpack_sequence, invert_permutation, gradgradcheck, make_tensor and
assert_allclose, and nn.init's eye_, dirac_, sparse_ with their older names."""

import math
import warnings

import numpy as np
import pytest

import pynn
import pynn.nn.utils as U
import pynn.nn.utils.rnn as R

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)


def grads_of(lib, arrays):
    params = []
    for a in arrays:
        p = lib.nn.Parameter(lib.tensor(a))
        p.grad = lib.tensor(a * 2)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, -math.inf, 0.0])
def test_get_total_norm_and_clip_grads_with_norm_match_torch(norm_type):
    arrays = [RNG.standard_normal((3, 4)).astype(np.float32),
              RNG.standard_normal(5).astype(np.float32)]
    ours, theirs = grads_of(pynn, arrays), grads_of(torch, arrays)
    total = U.get_total_norm([p.grad for p in ours], norm_type)
    ttotal = torch.nn.utils.get_total_norm([p.grad for p in theirs], norm_type)
    assert total.dtype == pynn.float32 and total.shape == ()
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
    U.clip_grads_with_norm_(ours, 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, ttotal)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_is_the_two_halves():
    arrays = [RNG.standard_normal((4, 2)).astype(np.float32)]
    ours, theirs = grads_of(pynn, arrays), grads_of(torch, arrays)
    total = U.clip_grad_norm_(ours, 0.1, foreach=True)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.1, foreach=None)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-5)
    assert U.get_total_norm([]).item() == 0.0
    bad = grads_of(pynn, [np.array([np.inf, 1.0], np.float32)])
    with pytest.raises(RuntimeError, match="non-finite"):
        U.get_total_norm([p.grad for p in bad], error_if_nonfinite=True)
    with pytest.raises(ValueError, match="NaN"):
        U.get_total_norm([p.grad for p in bad], norm_type=math.nan)
    # below the limit nothing changes
    small = grads_of(pynn, [np.array([0.1, 0.1], np.float32)])
    U.clip_grads_with_norm_(small, 10.0, 0.2828)
    np.testing.assert_array_equal(small[0].grad.numpy(), np.array([0.2, 0.2], np.float32))


def _trained_bn(lib, bn):
    """Put non-trivial running statistics and affine parameters into ``bn``."""
    n = bn.num_features
    with lib.no_grad():
        bn.running_mean.copy_(lib.tensor(np.linspace(-1, 1, n).astype(np.float32)))
        bn.running_var.copy_(lib.tensor(np.linspace(0.5, 2, n).astype(np.float32)))
        bn.weight.copy_(lib.tensor(np.linspace(0.5, 1.5, n).astype(np.float32)))
        bn.bias.copy_(lib.tensor(np.linspace(-0.3, 0.3, n).astype(np.float32)))
    return bn.eval()


@pytest.mark.parametrize("kind", ["conv1d", "conv2d", "conv2d_nobias", "convT2d"])
def test_fuse_conv_bn_eval_matches_torch_and_the_unfused_pair(kind):
    def build(lib):
        lib.manual_seed(0)
        if kind == "conv1d":
            conv, bn = lib.nn.Conv1d(3, 4, 3), lib.nn.BatchNorm1d(4)
        elif kind == "convT2d":
            conv, bn = lib.nn.ConvTranspose2d(3, 4, 3), lib.nn.BatchNorm2d(4)
        else:
            conv, bn = lib.nn.Conv2d(3, 4, 3, bias=kind == "conv2d"), lib.nn.BatchNorm2d(4)
        return conv.eval(), _trained_bn(lib, bn)

    conv, bn = build(pynn)
    tconv, tbn = build(torch)
    tconv.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    transpose = kind == "convT2d"
    fused = U.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose=transpose)
    np.testing.assert_allclose(fused.weight.detach().numpy(), tfused.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.bias.detach().numpy(), tfused.bias.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert isinstance(fused.weight, pynn.nn.Parameter) and fused is not conv
    shape = (2, 3, 6) if kind == "conv1d" else (2, 3, 6, 5)
    x = pynn.tensor(RNG.standard_normal(shape).astype(np.float32))
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError, match="eval"):
        U.fuse_conv_bn_eval(conv.train(), bn)


def test_fuse_weights_functions_match_torch():
    w = RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)
    rm, rv = RNG.standard_normal(4).astype(np.float32), RNG.uniform(0.5, 2, 4).astype(np.float32)
    bw, bb = RNG.standard_normal(4).astype(np.float32), RNG.standard_normal(4).astype(np.float32)
    ours = U.fuse_conv_bn_weights(pynn.tensor(w), None, pynn.tensor(rm), pynn.tensor(rv), 1e-3,
                                  pynn.tensor(bw), None)
    theirs = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w), None, torch.tensor(rm),
                                                 torch.tensor(rv), 1e-3, torch.tensor(bw), None)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert a.requires_grad == b.requires_grad
    lw, lb = RNG.standard_normal((4, 3)).astype(np.float32), RNG.standard_normal(4)
    ours = U.fuse_linear_bn_weights(pynn.nn.Parameter(pynn.tensor(lw)),
                                    pynn.tensor(lb.astype(np.float32)), pynn.tensor(rm),
                                    pynn.tensor(rv), 1e-5, pynn.tensor(bw), pynn.tensor(bb))
    theirs = torch.nn.utils.fuse_linear_bn_weights(
        torch.nn.Parameter(torch.tensor(lw)), torch.tensor(lb.astype(np.float32)),
        torch.tensor(rm), torch.tensor(rv), 1e-5, torch.tensor(bw), torch.tensor(bb))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert a.requires_grad == b.requires_grad and a.dtype == pynn.float32


def test_fuse_linear_bn_eval_matches_the_unfused_pair():
    pynn.manual_seed(1)
    lin, bn = pynn.nn.Linear(3, 4).eval(), _trained_bn(pynn, pynn.nn.BatchNorm1d(4))
    fused = U.fuse_linear_bn_eval(lin, bn)
    x = pynn.tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(lin(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="num_features"):
        U.fuse_linear_bn_eval(lin, pynn.nn.BatchNorm1d(3).eval())


def test_skip_init_and_memory_format_converters():
    lin = U.skip_init(pynn.nn.Linear, 3, 2, bias=False)
    assert isinstance(lin, pynn.nn.Linear) and tuple(lin.weight.shape) == (2, 3)
    assert lin.bias is None
    with pytest.raises(RuntimeError, match="Module"):
        U.skip_init(int)

    class NoDevice(pynn.nn.Module):
        pass

    with pytest.raises(RuntimeError, match="device"):
        U.skip_init(NoDevice)
    model = pynn.nn.Sequential(pynn.nn.Conv2d(3, 4, 3))
    assert U.convert_conv2d_weight_memory_format(model, pynn.channels_last) is model
    assert U.convert_conv3d_weight_memory_format(model, pynn.channels_last_3d) is model
    with pytest.raises(TypeError, match="memory format"):
        U.convert_conv2d_weight_memory_format(model, "channels_last")


def test_unpad_unpack_and_invert_permutation_match_torch():
    lengths = [3, 1, 4]
    seqs = [RNG.standard_normal((n, 2)) for n in lengths]
    ours = [pynn.tensor(s) for s in seqs]
    theirs = [torch.tensor(s) for s in seqs]
    for batch_first in (False, True):
        got = R.unpad_sequence(R.pad_sequence(ours, batch_first=batch_first),
                               pynn.tensor(lengths), batch_first=batch_first)
        want = torch.nn.utils.rnn.unpad_sequence(
            torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first),
            torch.tensor(lengths), batch_first=batch_first)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    got = R.unpack_sequence(R.pack_sequence(ours, enforce_sorted=False))
    want = torch.nn.utils.rnn.unpack_sequence(
        torch.nn.utils.rnn.pack_sequence(theirs, enforce_sorted=False))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    perm = [2, 0, 3, 1]
    inv = R.invert_permutation(pynn.tensor(perm))
    np.testing.assert_array_equal(
        inv.numpy(), torch.nn.utils.rnn.invert_permutation(torch.tensor(perm)).numpy())
    assert inv.dtype == pynn.int64
    assert R.invert_permutation(None) is None
    # the slices stay in the graph
    x = pynn.tensor(RNG.standard_normal((4, 2, 1)), requires_grad=True)
    sum(t.sum() for t in R.unpad_sequence(x, [4, 2])).backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, :, 0], [[1, 1], [1, 1], [1, 0], [1, 0]])


class _BadSquare(pynn.autograd.Function):
    """x**2 with a backward that is right once but not differentiable correctly (detached)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x.detach()


def test_gradgradcheck_passes_and_fails_as_torch():
    x = pynn.tensor(RNG.standard_normal(3), requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    for lib, a in ((pynn, x), (torch, tx)):
        assert lib.autograd.gradgradcheck(lambda t: (t.sin() * t ** 3).sum(), (a,))
        assert lib.autograd.gradgradcheck(lambda t, s: t.tanh() * s, (a, a.detach() + 1))
    y = pynn.tensor(RNG.standard_normal(3), requires_grad=True)
    assert pynn.autograd.gradcheck(_BadSquare.apply, (y,))
    with pytest.raises(pynn.autograd.GradcheckError):
        pynn.autograd.gradgradcheck(_BadSquare.apply, (y,))
    assert not pynn.autograd.gradgradcheck(_BadSquare.apply, (y,), raise_exception=False)
    go = pynn.tensor(RNG.standard_normal(3))
    assert pynn.autograd.gradgradcheck(lambda t: t.exp() * t, (y,), go)
    from pynn.autograd.gradcheck import gradgradcheck  # torch's import path

    assert gradgradcheck is pynn.autograd.gradgradcheck and callable(pynn.autograd.gradcheck)


@pytest.mark.parametrize("dtype, lo, hi", [
    ("float32", -9, 9), ("float64", -9, 9), ("int64", -9, 9), ("int8", -9, 9), ("uint8", 0, 9),
    ("int32", -9, 9),
])
def test_make_tensor_ranges_match_torch(dtype, lo, hi):
    pynn.manual_seed(0)
    t = pynn.testing.make_tensor(20000, dtype=getattr(pynn, dtype), device="cpu")
    tt = torch.testing.make_tensor(20000, dtype=getattr(torch, dtype), device="cpu")
    assert t.dtype == getattr(pynn, dtype) and tuple(t.shape) == (20000,)
    a, b = t.numpy().astype(np.float64), tt.numpy().astype(np.float64)
    assert lo <= a.min() and a.max() <= hi
    # uniform over the same range: the same mean and spread, within sampling error
    assert abs(a.mean() - b.mean()) < 0.3
    assert abs(a.std() - b.std()) < 0.3


def test_make_tensor_options():
    t = pynn.testing.make_tensor((2, 3), dtype=pynn.float32, device="cpu", low=0, high=1,
                                 requires_grad=True)
    assert tuple(t.shape) == (2, 3) and t.requires_grad and t.is_leaf
    assert 0 <= t.detach().numpy().min() and t.detach().numpy().max() < 1
    assert np.all(pynn.testing.make_tensor(2, 2, dtype=pynn.float32, device="cpu", low=5,
                                           high=5).numpy() == 5)
    t = pynn.testing.make_tensor(1000, dtype=pynn.int64, device="cpu", low=-1, high=1,
                                 exclude_zero=True)
    assert set(np.unique(t.numpy())) == {-1, 1}
    t = pynn.testing.make_tensor(6, dtype=pynn.bool, device="cpu")
    assert t.dtype == pynn.bool
    t = pynn.testing.make_tensor(4, 3, dtype=pynn.complex64, device="cpu")
    assert t.dtype == pynn.complex64
    t = pynn.testing.make_tensor(4, 3, dtype=pynn.float64, device="cpu", noncontiguous=True)
    assert not t.numpy().flags.c_contiguous and tuple(t.shape) == (4, 3)
    wide = pynn.testing.make_tensor(3, dtype=pynn.float32, device="cpu", low=-1e300).numpy()
    assert np.isfinite(wide).all()  # the range is clamped to float32's
    for kwargs in ({"low": 2, "high": 1}, {"low": math.nan}):
        with pytest.raises(ValueError):
            torch.testing.make_tensor(3, dtype=torch.float32, device="cpu", **kwargs)
        with pytest.raises(ValueError):
            pynn.testing.make_tensor(3, dtype=pynn.float32, device="cpu", **kwargs)
    with pytest.raises(ValueError, match="requires_grad"):
        pynn.testing.make_tensor(3, dtype=pynn.int64, device="cpu", requires_grad=True)
    with pytest.raises(TypeError):
        pynn.testing.make_tensor(3, dtype=pynn.float32)


@pytest.mark.parametrize("actual, expected, kwargs", [
    (np.ones(3, np.float32), [1.0, 1.0, 1.00001], {}),
    (np.ones(3, np.float32), np.ones(3) * 1.1, {}),
    (np.ones(3, np.float32), np.ones(3) * (1 + 5e-5), {}),
    (np.ones(3), np.ones(3) * (1 + 5e-5), {}),
    (np.ones(3), np.ones(3) * 1.1, {"rtol": 0.2, "atol": 0.0}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {"equal_nan": False}),
    (np.ones(3), np.ones(4), {}),
])
def test_assert_allclose_passes_and_fails_as_torch(actual, expected, kwargs):
    def outcome(lib):
        exp = lib.tensor(expected) if isinstance(expected, np.ndarray) else expected
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            try:
                lib.testing.assert_allclose(lib.tensor(actual), exp, **kwargs)
            except AssertionError:
                return "fails"
        return "passes"

    assert outcome(pynn) == outcome(torch)
    with pytest.warns(FutureWarning):
        pynn.testing.assert_allclose(pynn.ones(2), pynn.ones(2))


def test_init_eye_dirac_sparse_and_older_names():
    for shape in ((3, 5), (4, 2)):
        t, tt = pynn.empty(*shape), torch.empty(*shape)
        pynn.nn.init.eye_(t)
        torch.nn.init.eye_(tt)
        np.testing.assert_array_equal(t.numpy(), tt.numpy())
    for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 1, 3, 3), 2)):
        t, tt = pynn.empty(*shape), torch.empty(*shape)
        pynn.nn.init.dirac_(t, groups)
        torch.nn.init.dirac_(tt, groups)
        np.testing.assert_array_equal(t.numpy(), tt.numpy())
    with pytest.raises(ValueError):
        pynn.nn.init.eye_(pynn.empty(2, 2, 2))
    with pytest.raises(ValueError):
        pynn.nn.init.dirac_(pynn.empty(2, 2))
    pynn.manual_seed(0)
    t = pynn.nn.init.sparse_(pynn.empty(200, 30), 0.3, std=0.5)
    tt = torch.nn.init.sparse_(torch.empty(200, 30), 0.3, std=0.5)
    zeros = (t.numpy() == 0).sum(0)
    np.testing.assert_array_equal(zeros, (tt.numpy() == 0).sum(0))  # ceil(0.3 * 200) each
    nz = t.numpy()[t.numpy() != 0]
    assert abs(nz.std() - 0.5) < 0.03 and abs(nz.mean()) < 0.03
    assert pynn.nn.init.eye is pynn.nn.init.eye_
    assert pynn.nn.init.dirac is pynn.nn.init.dirac_
    assert pynn.nn.init.sparse is pynn.nn.init.sparse_
    for name in ("eye", "dirac", "sparse"):
        assert hasattr(torch.nn.init, name)
