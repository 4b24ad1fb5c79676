"""The special functions added to pynn.special (and the namespace: i0, polygamma, mvlgamma,
igamma/igammac) against torch.special: values over the ranges where each changes method
(series, asymptotic expansion, tails), float32 and float64, gradients where PyTorch has them,
and the errors PyTorch raises."""

import numpy as np
import pytest

import pynn
import pynn.special as S

torch = pytest.importorskip("torch")
TS = torch.special

X_WIDE = np.array([-40.0, -31.0, -30.0, -5.0, -0.5, 0.0, 1e-3, 0.7, 3.0, 29.9, 30.1, 50.0, 300.0])


def _check(ours, theirs, x, rtol=1e-13, grad=True, atol=0.0):
    xp = pynn.tensor(x, requires_grad=grad)
    xt = torch.tensor(x, requires_grad=grad)
    yp, yt = ours(xp), theirs(xt)
    assert yp.dtype == pynn.float64 and tuple(yp.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    if grad:
        yp.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    low = ours(pynn.tensor(x.astype(np.float32)))
    assert low.dtype == pynn.float32


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e"])
def test_bessel_i_matches_torch(name):
    x = X_WIDE if name.endswith("e") else X_WIDE[np.abs(X_WIDE) < 700]
    _check(getattr(S, name), getattr(TS, name), x, rtol=1e-14)


def test_normal_tails_and_erfcx_match_torch():
    x = np.array([-40.0, -20.5, -19.5, -3.0, -0.5, 0.0, 0.3, 2.0, 5.9, 6.1, 12.0])
    _check(S.log_ndtr, TS.log_ndtr, x, rtol=1e-13)
    p = np.array([1e-300, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-12])
    _check(S.ndtri, TS.ndtri, p, rtol=1e-12)
    edges = S.ndtri(pynn.tensor([0.0, 1.0, -0.5, 1.5])).numpy()
    assert edges[0] == -np.inf and edges[1] == np.inf and np.isnan(edges[2:]).all()
    _check(S.erfcx, TS.erfcx, np.array([-5.0, -0.5, 0.0, 1.0, 9.9, 10.1, 24.9, 100.0, 1e5]),
           rtol=1e-13)


def test_incomplete_gamma_matches_torch():
    a = np.array([0.1, 0.5, 1.0, 3.0, 10.0, 50.0, 100.0, 2.0])
    x = np.array([0.01, 0.4, 1.2, 2.0, 15.0, 45.0, 130.0, 0.0])
    for ours, theirs in ((S.gammainc, TS.gammainc), (S.gammaincc, TS.gammaincc),
                         (pynn.igamma, torch.igamma), (pynn.igammac, torch.igammac)):
        xp, xt = pynn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yp, yt = ours(pynn.tensor(a), xp), theirs(torch.tensor(a), xt)
        # PyTorch's own series stops near 1e-10 on P(50, 45); ours is within 1e-14 there
        np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), atol=1e-9)
        yp.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="first argument"):
        S.gammainc(pynn.tensor(a, requires_grad=True), pynn.tensor(x)).sum().backward()
    assert pynn.tensor(a).igamma(pynn.tensor(x)).shape == (8,)


def test_zeta_polygamma_and_mvlgamma_match_torch():
    xz, q = np.array([1.5, 2.0, 3.0, 7.5, 20.0]), np.array([0.1, 1.0, 2.5, 10.0, 0.5])
    qp, qt = pynn.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    yp, yt = S.zeta(pynn.tensor(xz), qp), TS.zeta(torch.tensor(xz), qt)
    np.testing.assert_allclose(yp.detach().numpy(), yt.detach().numpy(), rtol=1e-14)
    yp.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(qp.grad.numpy(), qt.grad.numpy(), rtol=1e-13)
    assert S.zeta(2.0, pynn.tensor([1.0], dtype=pynn.float32)).dtype == pynn.float32
    xs = np.array([0.1, 0.5, 1.0, 4.5, 30.0])
    for n in (0, 1, 2, 3, 5):
        # PyTorch's trigamma is good to about 1e-9 (ours: zeta, to 1e-15)
        _check(lambda t, n=n: S.polygamma(n, t), lambda t, n=n: TS.polygamma(n, t), xs,
               rtol=1e-8 if n == 1 else 1e-13, grad=False)
        np.testing.assert_allclose(pynn.tensor(xs).polygamma(n).numpy(),
                                   torch.tensor(xs).polygamma(n).numpy(), rtol=1e-8)
    xp = pynn.tensor(xs, requires_grad=True)
    pynn.polygamma(2, xp).sum().backward()
    np.testing.assert_allclose(xp.grad.numpy(), TS.polygamma(3, torch.tensor(xs)).numpy(),
                               rtol=1e-12)
    with pytest.raises(RuntimeError, match="negative n"):
        pynn.polygamma(-1, xp)
    a = np.array([1.6, 2.0, 5.5])
    for p in (1, 2, 3):
        _check(lambda t, p=p: pynn.mvlgamma(t, p), lambda t, p=p: torch.mvlgamma(t, p), a,
               rtol=1e-13)


def test_xlog1py_and_spherical_bessel_j0_match_torch():
    x, y = np.array([0.0, 0.0, 1.5, -2.0]), np.array([-1.0, 3.0, 0.5, 2.0])
    xp, yp = pynn.tensor(x, requires_grad=True), pynn.tensor(y, requires_grad=True)
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    op, ot = S.xlog1py(xp, yp), TS.xlog1py(xt, yt)
    np.testing.assert_allclose(op.detach().numpy(), ot.detach().numpy(), rtol=1e-14)
    op.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(yp.grad.numpy(), yt.grad.numpy(), rtol=1e-14)
    _check(S.spherical_bessel_j0, TS.spherical_bessel_j0, np.array([-3.0, 0.0, 1e-8, 2.0, 40.0]),
           rtol=1e-14, grad=False)


@pytest.mark.parametrize("name", ["i0", "mvlgamma", "igamma"])
def test_in_place_forms_write_self(name):
    data = np.array([1.5, 2.5])
    args = {"i0": (), "mvlgamma": (2,), "igamma": (pynn.tensor([0.5, 3.0]),)}[name]
    targs = {"i0": (), "mvlgamma": (2,), "igamma": (torch.tensor([0.5, 3.0]),)}[name]
    ours, theirs = pynn.tensor(data), torch.tensor(data)
    assert getattr(ours, name + "_")(*args) is ours
    getattr(theirs, name + "_")(*targs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)


def test_polygamma_and_zeta_below_zero_match_torch():
    x = np.array([-0.5, -2.3, -7.9, 0.5])
    for n in (1, 2, 3):  # PyTorch's trigamma is good to about 1e-9
        np.testing.assert_allclose(pynn.polygamma(n, pynn.tensor(x)).numpy(),
                                   torch.polygamma(n, torch.tensor(x)).numpy(),
                                   rtol=1e-8 if n == 1 else 1e-10)
    np.testing.assert_allclose(S.zeta(pynn.tensor([3.0, 2.0], dtype=pynn.float64),
                                      pynn.tensor([-1.5, -0.3], dtype=pynn.float64)).numpy(),
                               [0.1181020258208637, 13.945160267805722], rtol=1e-12)  # mpmath
    assert np.isnan(S.zeta(pynn.tensor([2.5]), pynn.tensor([-0.3])).numpy()).all()
    np.testing.assert_allclose(S.polygamma(torch.tensor(1).item(), pynn.tensor([2.0])).numpy(),
                               pynn.polygamma(pynn.tensor(1), pynn.tensor([2.0])).numpy())
    np.testing.assert_allclose(pynn.mvlgamma(pynn.tensor([0.9]), 3).numpy(),
                               torch.mvlgamma(torch.tensor([0.9]), 3).numpy(), rtol=1e-6)
    assert S.spherical_bessel_j0(pynn.tensor([np.inf, -np.inf])).tolist() == [0.0, 0.0]
    y = pynn.tensor([1.0, 2.0])
    assert pynn.i0_(y) is y
    np.testing.assert_allclose(y.numpy(), torch.i0(torch.tensor([1.0, 2.0])).numpy(), rtol=1e-6)
