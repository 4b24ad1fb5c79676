"""F.affine_grid and F.grid_sample against PyTorch: values, gradients, finite differences,
errors."""

import warnings

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn.autograd import gradcheck

torch = pytest.importorskip("torch")

MODES = ["bilinear", "nearest"]
PADDINGS = ["zeros", "border", "reflection"]


def _pair(rng, shape, grid_shape, dtype, spread=1.4):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.uniform(-spread, spread, grid_shape).astype(dtype)
    return x, g


def _run_both(x, g, **kw):
    rng = np.random.default_rng(1)
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    tg = torch.tensor(np.ascontiguousarray(g), requires_grad=True)
    to = torch.nn.functional.grid_sample(tx, tg, **kw)
    w = rng.standard_normal(tuple(to.shape)).astype(x.dtype)
    (to * torch.tensor(w)).sum().backward()
    px = pynn.from_numpy(x).requires_grad_()  # shares x, keeping its strides
    pg = pynn.from_numpy(g).requires_grad_()
    po = F.grid_sample(px, pg, **kw)
    (po * pynn.tensor(w)).sum().backward()
    return (po, px.grad, pg.grad), (to, tx.grad, tg.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,grid_shape", [
    ((2, 3, 5, 7), (2, 4, 3, 2)),        # odd sizes
    ((1, 1, 1, 4), (1, 2, 5, 2)),        # batch 1, a single row (degenerate reflection)
    ((2, 2, 3, 4, 5), (2, 2, 3, 4, 3)),  # 5-D (trilinear)
])
def test_grid_sample_matches_torch(shape, grid_shape, mode, padding_mode, align_corners, dtype):
    rng = np.random.default_rng(0)
    x, g = _pair(rng, shape, grid_shape, dtype)
    ours, theirs = _run_both(x, g, mode=mode, padding_mode=padding_mode,
                             align_corners=align_corners)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(ours, theirs):
        assert a.dtype == pynn.float32 if dtype == np.float32 else a.dtype == pynn.float64
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_grid_sample_non_contiguous_inputs():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 6, 2)).transpose(3, 0, 2, 1)  # (2, 3, 6, 5), strided
    g = rng.uniform(-1.2, 1.2, (2, 2, 4, 3))[..., ::-1][..., 1:]  # last axis reversed
    assert not x.flags.c_contiguous and not g.flags.c_contiguous
    assert not pynn.from_numpy(x).is_contiguous()
    ours, theirs = _run_both(x, g, align_corners=False)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_grid_sample_identity_grid_reproduces_input():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    theta = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    for ac in (True, False):
        grid = F.affine_grid(pynn.tensor(theta), (2, 3, 4, 5), align_corners=ac)
        out = F.grid_sample(pynn.tensor(x), grid, align_corners=ac)
        np.testing.assert_allclose(out.numpy(), x, atol=1e-12)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("ndim", [4, 5])
def test_grid_sample_gradcheck(ndim, padding_mode, align_corners):
    rng = np.random.default_rng(3)
    if ndim == 4:
        x, g = _pair(rng, (2, 2, 4, 5), (2, 3, 2, 2), np.float64, spread=1.2)
    else:
        x, g = _pair(rng, (1, 2, 3, 3, 4), (1, 2, 2, 2, 3), np.float64, spread=1.2)
    px = pynn.tensor(x, requires_grad=True)
    pg = pynn.tensor(g, requires_grad=True)
    assert gradcheck(lambda a, b: F.grid_sample(a, b, padding_mode=padding_mode,
                                                align_corners=align_corners), (px, pg))


def test_grid_sample_nearest_grid_gradient_is_zero():
    rng = np.random.default_rng(4)
    x, g = _pair(rng, (1, 2, 4, 4), (1, 3, 3, 2), np.float64)
    pg = pynn.tensor(g, requires_grad=True)
    F.grid_sample(pynn.tensor(x), pg, mode="nearest", align_corners=True).sum().backward()
    assert np.all(pg.grad.numpy() == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("size", [(2, 3, 5, 7), (1, 1, 1, 4), (2, 1, 3, 4, 5), (1, 2, 1, 1, 2)])
def test_affine_grid_matches_torch(size, align_corners, dtype):
    rng = np.random.default_rng(5)
    d = len(size) - 2
    theta = rng.standard_normal((size[0], d, d + 1)).astype(dtype)
    tt = torch.tensor(theta, requires_grad=True)
    tgrid = torch.nn.functional.affine_grid(tt, size, align_corners=align_corners)
    w = rng.standard_normal(tuple(tgrid.shape)).astype(dtype)
    (tgrid * torch.tensor(w)).sum().backward()
    pt = pynn.tensor(theta, requires_grad=True)
    pgrid = F.affine_grid(pt, size, align_corners=align_corners)
    (pgrid * pynn.tensor(w)).sum().backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert tuple(pgrid.shape) == tuple(tgrid.shape)
    assert pgrid.dtype == (pynn.float32 if dtype == np.float32 else pynn.float64)
    np.testing.assert_allclose(pgrid.detach().numpy(), tgrid.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(pt.grad.numpy(), tt.grad.numpy(), rtol=tol, atol=tol * 10)


def test_affine_grid_gradcheck():
    rng = np.random.default_rng(6)
    theta = pynn.tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False), (theta,))


def test_spatial_transformer_composition_gradcheck():
    """theta -> affine_grid -> grid_sample, as the STN tutorial chains them."""
    rng = np.random.default_rng(7)
    x = pynn.tensor(rng.standard_normal((2, 1, 5, 5)), requires_grad=True)
    theta = pynn.tensor(rng.standard_normal((2, 2, 3)) * 0.5, requires_grad=True)

    def stn(a, t):
        return F.grid_sample(a, F.affine_grid(t, a.size(), align_corners=False),
                             align_corners=False)

    assert gradcheck(stn, (x, theta))


def test_align_corners_default_warns_like_torch():
    x = pynn.zeros(1, 1, 2, 2)
    g = pynn.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.affine_grid(pynn.zeros(1, 2, 3), (1, 1, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, g, align_corners=False)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"mode": "cubic"}, ValueError, "expected mode"),
    ({"padding_mode": "wrap"}, ValueError, "expected padding_mode"),
    ({"mode": "bicubic"}, NotImplementedError, "bicubic"),
])
def test_grid_sample_bad_modes(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        F.grid_sample(pynn.zeros(1, 1, 2, 2), pynn.zeros(1, 1, 1, 2), align_corners=False,
                      **kwargs)


@pytest.mark.parametrize("x_shape,g_shape,g_dtype,match", [
    ((1, 1, 2, 2), (2, 1, 1, 2), "float32", "same batch size"),
    ((1, 1, 2, 2), (1, 1, 1, 3), "float32", "size 2 in last dimension"),
    ((1, 1, 2, 2), (1, 1, 1, 1, 3), "float32", "same number of dimensions"),
    ((1, 2, 2), (1, 2, 2), "float32", "4D or 5D"),
    ((1, 1, 2, 2), (1, 1, 1, 2), "float64", "dtype"),
])
def test_grid_sample_bad_shapes(x_shape, g_shape, g_dtype, match):
    tx, tg = torch.zeros(x_shape), torch.zeros(g_shape, dtype=getattr(torch, g_dtype))
    with pytest.raises(RuntimeError):
        torch.nn.functional.grid_sample(tx, tg, align_corners=False)
    with pytest.raises(RuntimeError, match=match):
        F.grid_sample(pynn.zeros(*x_shape), pynn.zeros(*g_shape, dtype=getattr(pynn, g_dtype)),
                      align_corners=False)


@pytest.mark.parametrize("theta_shape,size,exc", [
    ((1, 2, 3), (1, 1, 2), NotImplementedError),
    ((1, 3, 4), (1, 1, 2, 2), ValueError),
    ((2, 2, 3), (1, 1, 2, 2), RuntimeError),
    ((1, 2, 3), (1, 1, 0, 2), ValueError),
])
def test_affine_grid_errors_match_torch(theta_shape, size, exc):
    with pytest.raises(exc):
        torch.nn.functional.affine_grid(torch.zeros(theta_shape), size, align_corners=False)
    with pytest.raises(exc):
        F.affine_grid(pynn.zeros(*theta_shape), size, align_corners=False)


def test_affine_grid_rejects_integer_theta():
    with pytest.raises(ValueError, match="floating point"):
        F.affine_grid(pynn.zeros(1, 2, 3, dtype=pynn.int64), (1, 1, 2, 2), align_corners=False)
