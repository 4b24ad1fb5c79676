"""pynn.fft against torch.fft: values, dtypes and shapes, gradients (against PyTorch's and
against float64 finite differences), the frequencies and shifts, and the errors; and the
complex parts (real, imag, angle, view_as_real, complex, polar) the transforms' users need."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
REAL = RNG.standard_normal((3, 5, 6))
CPLX = RNG.standard_normal((3, 5, 6)) + 1j * RNG.standard_normal((3, 5, 6))

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
       "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]
ONE_D_ARGS = [{}, {"n": 4}, {"n": 9, "dim": 1}, {"n": 1}, {"norm": "ortho"},
              {"norm": "forward", "dim": 0}, {"norm": "backward", "dim": -2, "n": 7}]
N_D_ARGS = [{}, {"s": (4, 7)}, {"s": (4, 7), "dim": (0, 2)}, {"norm": "ortho"},
            {"norm": "forward", "dim": (2, 0)}, {"s": (-1, 3)}, {"dim": (1,)},
            {"s": (2, 3, 5), "norm": "ortho"}]


def real_only(name):
    """The transforms PyTorch defines only for real inputs."""
    return name.startswith(("rfft", "ihfft"))


def cases():
    for names, grid in ((ONE_D, ONE_D_ARGS), (N_D, N_D_ARGS)):
        for name in names:
            for kwargs in grid:
                if name.endswith("2") and ("s" in kwargs and len(kwargs["s"]) != 2
                                           or "dim" in kwargs and len(kwargs["dim"]) != 2):
                    continue
                yield name, kwargs


def torch_dtype_name(t):
    return str(t.dtype).split(".")[1]


def inputs(name, dtype):
    real = REAL.astype(dtype)
    if real_only(name):
        return [real]
    return [real, CPLX.astype(np.complex64 if dtype == np.float32 else np.complex128)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kwargs", list(cases()))
def test_transform_matches_torch(name, kwargs, dtype):
    for x in inputs(name, dtype):
        theirs = getattr(torch.fft, name)(torch.tensor(x), **kwargs).resolve_conj()
        ours = getattr(pynn.fft, name)(pynn.tensor(x), **kwargs)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype).split(".")[1] == torch_dtype_name(theirs)
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name, kwargs", list(cases()))
def test_gradient_matches_torch(name, kwargs):
    rng = np.random.default_rng(3)
    for x in inputs(name, np.float64):
        t = torch.tensor(x, requires_grad=True)
        theirs = getattr(torch.fft, name)(t, **kwargs)
        dy = rng.standard_normal(tuple(theirs.shape))
        if theirs.is_complex():
            dy = dy + 1j * rng.standard_normal(dy.shape)
        theirs.backward(torch.tensor(dy))
        p = pynn.tensor(x, requires_grad=True)
        ours = getattr(pynn.fft, name)(p, **kwargs)
        assert ours.requires_grad and ours.grad_fn is not None
        ours.backward(pynn.tensor(dy))
        assert p.grad.dtype == p.dtype
        np.testing.assert_allclose(p.grad.numpy(), t.grad.resolve_conj().numpy(),
                                   rtol=1e-9, atol=1e-11)


def as_pairs(z):
    """A real or complex array as real numbers: complex values as (real, imag) pairs."""
    return np.stack([z.real, z.imag], -1) if np.iscomplexobj(z) else z


@pytest.mark.parametrize("name, kwargs", [
    ("fft", {"n": 7}), ("ifft", {"norm": "ortho"}), ("rfft", {"n": 9}),
    ("irfft", {"n": 8}), ("irfft", {"n": 7, "norm": "forward"}), ("hfft", {}),
    ("ihfft", {"dim": 1}), ("fft2", {"s": (4, 3)}), ("rfftn", {"norm": "forward"}),
    ("irfftn", {"s": (3, 4, 9)}), ("hfftn", {"dim": (0, 2)}), ("ihfft2", {"s": (6, 5)}),
])
def test_gradient_finite_differences(name, kwargs):
    """The gradient of ``Re(sum(conj(dy) * y))`` against central differences along random
    directions, in the real and imaginary parts of the input separately (PyTorch's complex
    gradient is ``dL/dRe + i dL/dIm``)."""
    rng = np.random.default_rng(11)
    fn = getattr(pynn.fft, name)
    for x in inputs(name, np.float64):
        y = fn(pynn.tensor(x), **kwargs).numpy()
        dy = rng.standard_normal(y.shape) + (1j * rng.standard_normal(y.shape)
                                             if np.iscomplexobj(y) else 0)

        def loss(v, dy=dy):
            out = fn(pynn.tensor(v), **kwargs).numpy()
            return np.sum(as_pairs(out) * as_pairs(dy))

        p = pynn.tensor(x, requires_grad=True)
        fn(p, **kwargs).backward(pynn.tensor(dy))
        for _ in range(3):
            v = rng.standard_normal(x.shape) + (1j * rng.standard_normal(x.shape)
                                                if np.iscomplexobj(x) else 0)
            eps = 1e-6
            numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
            analytic = np.sum(as_pairs(p.grad.numpy()) * as_pairs(v))
            assert np.isclose(analytic, numeric, rtol=1e-6, atol=1e-7), (analytic, numeric)


def test_layouts_batch_one_and_integers():
    base = RNG.standard_normal((1, 6, 10))
    for x in (base, base[..., ::2], np.asfortranarray(base[0]).T):
        np.testing.assert_allclose(pynn.fft.rfft(pynn.tensor(x)).numpy(),
                                   torch.fft.rfft(torch.tensor(x.copy())).numpy(), atol=1e-12)
    ints = np.arange(12).reshape(3, 4)
    ours, theirs = pynn.fft.fft(pynn.tensor(ints)), torch.fft.fft(torch.tensor(ints))
    assert ours.dtype == pynn.complex64 and theirs.dtype == torch.complex64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    transposed = pynn.tensor(REAL).transpose(0, 2)
    np.testing.assert_allclose(pynn.fft.fftn(transposed).numpy(),
                               np.fft.fftn(REAL.transpose(2, 1, 0)), atol=1e-10)


def test_round_trips_and_spectral_loss():
    x = pynn.tensor(REAL, requires_grad=True)
    back = pynn.fft.irfft(pynn.fft.rfft(x), n=6)
    np.testing.assert_allclose(back.detach().numpy(), REAL, atol=1e-12)
    back2 = pynn.fft.ifftn(pynn.fft.fftn(x)).real
    np.testing.assert_allclose(back2.detach().numpy(), REAL, atol=1e-12)
    # a spectral loss as training scripts write it, against PyTorch's gradient
    loss = pynn.fft.rfft2(x).abs().mean() + (pynn.fft.fft(x, norm="ortho").real ** 2).sum()
    loss.backward()
    t = torch.tensor(REAL, requires_grad=True)
    tl = torch.fft.rfft2(t).abs().mean() + (torch.fft.fft(t, norm="ortho").real ** 2).sum()
    tl.backward()
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_fft_convolution_gradients():
    """Convolution through the spectrum (a product of two transforms) differentiates both."""
    a, b = RNG.standard_normal(8), RNG.standard_normal(8)
    pa, pb = pynn.tensor(a, requires_grad=True), pynn.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = pynn.fft.irfft(pynn.fft.rfft(pa) * pynn.fft.rfft(pb), n=8)
    tout = torch.fft.irfft(torch.fft.rfft(ta) * torch.fft.rfft(tb), n=8)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    w = RNG.standard_normal(8)
    (out * pynn.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(pa.grad.numpy(), ta.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(pb.grad.numpy(), tb.grad.numpy(), atol=1e-12)


def test_complex_arithmetic_gradients_match_torch():
    """The holomorphic ops' gradients carry the conjugate derivative, as PyTorch's do."""
    z = CPLX[0, :3, :4]
    w = CPLX[1, :3, :4]
    dy = CPLX[2, :3, :4]
    programs = [lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a.exp() * b,
                lambda a, b: a ** 2 + b.sqrt(), lambda a, b: a.abs() * b,
                lambda a, b: a.sin() - b.log()]
    for fn in programs:
        pa, pb = pynn.tensor(z, requires_grad=True), pynn.tensor(w, requires_grad=True)
        ta, tb = torch.tensor(z, requires_grad=True), torch.tensor(w, requires_grad=True)
        fn(pa, pb).backward(pynn.tensor(dy))
        fn(ta, tb).backward(torch.tensor(dy))
        np.testing.assert_allclose(pa.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(pb.grad.numpy(), tb.grad.numpy(), rtol=1e-10)
    # a real tensor times a complex one: its gradient is the real part, no warning
    r = pynn.tensor(REAL[0, 0, :4], requires_grad=True)
    tr = torch.tensor(REAL[0, 0, :4], requires_grad=True)
    (r * pynn.tensor(z[0])).backward(pynn.tensor(dy[0]))
    (tr * torch.tensor(z[0])).backward(torch.tensor(dy[0]))
    np.testing.assert_allclose(r.grad.numpy(), tr.grad.numpy(), rtol=1e-12)
    assert r.grad.dtype == pynn.float64


def test_complex_parts_match_torch():
    z = CPLX[0, :2, :3].copy()
    z[0, 0] = 0
    dy = RNG.standard_normal((2, 3))
    for name in ("real", "imag", "angle", "abs", "conj"):
        p, t = pynn.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        ours = getattr(p, name) if name in ("real", "imag") else getattr(p, name)()
        theirs = getattr(t, name) if name in ("real", "imag") else getattr(t, name)()
        theirs = theirs.resolve_conj()
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
        grad = dy if not ours.is_complex() else dy + 1j * dy[::-1]
        ours.backward(pynn.tensor(grad))
        theirs.backward(torch.tensor(grad))
        np.testing.assert_allclose(p.grad.numpy(), t.grad.resolve_conj().numpy(), rtol=1e-12,
                                   err_msg=name)
    g4 = RNG.standard_normal((2, 3, 2))
    p, t = pynn.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    pynn.view_as_real(p).backward(pynn.tensor(g4))
    torch.view_as_real(t).backward(torch.tensor(g4))
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy())
    pairs = pynn.tensor(g4, requires_grad=True)
    c = pynn.view_as_complex(pairs)
    np.testing.assert_allclose(c.detach().numpy(), torch.view_as_complex(torch.tensor(g4)))
    c.backward(pynn.tensor(z))
    np.testing.assert_allclose(pairs.grad.numpy(), np.stack([z.real, z.imag], -1))
    r, a = RNG.uniform(0.5, 2, (2, 3)), RNG.uniform(-3, 3, (2, 3))
    for name in ("polar", "complex"):
        pr, pa = pynn.tensor(r, requires_grad=True), pynn.tensor(a, requires_grad=True)
        tr, ta = torch.tensor(r, requires_grad=True), torch.tensor(a, requires_grad=True)
        ours, theirs = getattr(pynn, name)(pr, pa), getattr(torch, name)(tr, ta)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy())
        ours.backward(pynn.tensor(z))
        theirs.backward(torch.tensor(z))
        np.testing.assert_allclose(pr.grad.numpy(), tr.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(pa.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="non-complex"):
        _ = pynn.tensor(REAL).imag
    assert pynn.tensor(REAL).real.shape == REAL.shape
    assert pynn.tensor(z, dtype=pynn.complex64).real.dtype == pynn.float32


@pytest.mark.parametrize("n, d", [(1, 1.0), (6, 1.0), (7, 0.25), (10, 3.0)])
def test_frequencies_and_shifts_match_torch(n, d):
    for name in ("fftfreq", "rfftfreq"):
        ours = getattr(pynn.fft, name)(n, d)
        theirs = getattr(torch.fft, name)(n, d)
        assert ours.dtype == pynn.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    f64 = pynn.fft.fftfreq(n, d, dtype=pynn.float64)
    assert f64.dtype == pynn.float64
    x = RNG.standard_normal((n, n + 1, 3))
    for dim in (None, 0, (1, 2), -1):
        for name in ("fftshift", "ifftshift"):
            ours = getattr(pynn.fft, name)(pynn.tensor(x), dim=dim)
            theirs = getattr(torch.fft, name)(torch.tensor(x), dim=dim)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    p = pynn.tensor(x, requires_grad=True)
    pynn.fft.fftshift(p).backward(pynn.tensor(x))
    np.testing.assert_array_equal(p.grad.numpy(), pynn.fft.ifftshift(pynn.tensor(x)).numpy())


@pytest.mark.parametrize("call, exc, message", [
    (lambda: pynn.fft.fft(pynn.tensor(REAL), norm="bogus"), ValueError,
     'Invalid normalization mode: "bogus"'),
    (lambda: pynn.fft.fft(pynn.tensor(REAL), n=0), RuntimeError,
     r"Invalid number of data points \(0\)"),
    (lambda: pynn.fft.fftn(pynn.tensor(REAL), dim=(1, 1)), RuntimeError, "unique"),
    (lambda: pynn.fft.rfft(pynn.tensor(CPLX)), RuntimeError, "expects a real input"),
    (lambda: pynn.fft.fft(None), TypeError, "must be Tensor, not NoneType"),
    (lambda: pynn.fft.fft(pynn.tensor(REAL), dim=3), IndexError, "out of range"),
    (lambda: pynn.fft.fftn(pynn.tensor(REAL), s=(2, 2), dim=(0,)), RuntimeError,
     "same length"),
    (lambda: pynn.fft.irfft(pynn.tensor(CPLX[..., :1])), RuntimeError,
     r"Invalid number of data points \(0\)"),
])
def test_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_namespace():
    assert pynn.fft is __import__("pynn.fft").fft
    assert set(pynn.fft.__all__) <= set(dir(torch.fft))


def test_complex_randn_and_a_filtering_script():
    z = pynn.randn(4000, 50, dtype=pynn.complex64)
    assert z.dtype == pynn.complex64 and tuple(z.shape) == (4000, 50)
    # PyTorch's: real and imaginary parts each N(0, 1/2)
    assert abs(z.real.var().item() - 0.5) < 0.02 and abs(z.imag.var().item() - 0.5) < 0.02
    assert pynn.randn(3, dtype=pynn.cdouble, requires_grad=True).requires_grad

    def run(lib):
        signal = np.sin(np.linspace(0, 20, 64)) + 0.1 * np.cos(np.linspace(0, 300, 64))
        x = lib.tensor(signal, dtype=lib.float32, requires_grad=True)
        spectrum = lib.fft.rfft(x)
        mask = (lib.fft.rfftfreq(64, d=0.1) < 2.0).float()
        y = lib.fft.irfft(spectrum * mask, n=64)
        power = (spectrum.abs() ** 2).sum()
        loss = ((y - x.detach()) ** 2).mean() + 1e-4 * power + lib.angle(spectrum[:5]).sum()
        loss.backward()
        return loss.item(), x.grad.numpy()

    (ours, ga), (theirs, gb) = run(pynn), run(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((2, 3, 4), (4,)),
                                    ((5, 3, 4), (4, 2))])
def test_complex_matmul_gradients_match_torch(sa, sb):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(sa) + 1j * rng.standard_normal(sa)
    b = rng.standard_normal(sb) + 1j * rng.standard_normal(sb)
    grads = []
    for lib in (pynn, torch):
        pa, pb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = pa @ pb
        dy = np.full(tuple(out.shape), 1 - 2j) * np.arange(1, out.numel() + 1).reshape(
            tuple(out.shape))
        out.backward(lib.tensor(dy))
        grads.append((pa.grad.numpy(), pb.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def _loss_of(lib, out, kind):
    if not out.is_complex():
        return (out ** 3).sum()
    if kind == "abs2":
        return (out.abs() ** 2).sum()
    if kind == "conjmul":
        return (out * out.conj()).real.sum()
    if kind == "parts":
        return (out.real ** 3).sum() + (out.imag ** 2 * out.real).sum()
    if kind == "angle":
        return (out.angle() * out.abs()).sum()
    pairs = lib.view_as_real(out.resolve_conj() if lib is torch else out)
    return pairs.pow(3).sum()


@pytest.mark.parametrize("kind", ["abs2", "conjmul", "parts", "angle", "pairs"])
@pytest.mark.parametrize("name, kwargs", [
    ("fft", {}), ("fft", {"n": 4, "norm": "ortho"}), ("ifft", {"n": 8}), ("rfft", {"n": 7}),
    ("irfft", {"n": 9}), ("irfft", {"norm": "forward"}), ("rfftn", {}),
    ("irfftn", {"s": (4, 5)}), ("hfft", {}), ("ihfft", {"norm": "ortho"}),
    ("fft2", {"s": (2, 9)}),
])
def test_second_derivatives_match_torch(name, kwargs, kind):
    """create_graph=True through the transforms and the complex ops after them."""
    x = REAL[0]
    z = x + 1j * REAL[1]
    source = x if real_only(name) or name.startswith("fft") else z
    if kind == "angle" and not real_only(name):
        source = z  # a real signal's spectrum has real bins, where angle jumps by 2 pi
    results = []
    for lib in (pynn, torch):
        t = lib.tensor(source, requires_grad=True)
        out = getattr(lib.fft, name)(t, **kwargs)
        (g,) = lib.autograd.grad(_loss_of(lib, out, kind), t, create_graph=True)
        gg = (g.abs() ** 2).sum() if g.is_complex() else (g ** 2).sum()
        (h,) = lib.autograd.grad(gg, t)
        results.append((g.detach().resolve_conj().numpy(), h.resolve_conj().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["polar", "complex"])
def test_second_derivatives_of_polar_and_complex(name):
    results = []
    for lib in (pynn, torch):
        r = lib.tensor([1.0, 2.0, 0.5], dtype=lib.float64, requires_grad=True)
        theta = lib.tensor([0.3, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        out = getattr(lib, name)(r, theta)
        g1, g2 = lib.autograd.grad((out * out * out).real.sum(), (r, theta), create_graph=True)
        results.append([h.numpy() for h in lib.autograd.grad((g1 ** 2).sum() + (g2 ** 3).sum(),
                                                             (r, theta))])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_complex_python_scalars_promote_as_torch():
    for dtype in ("float32", "float64", "int64"):
        ours = pynn.tensor([1, 2], dtype=getattr(pynn, dtype)) * (1 + 2j)
        theirs = torch.tensor([1, 2], dtype=getattr(torch, dtype)) * (1 + 2j)
        assert str(ours.dtype).split(".")[1] == torch_dtype_name(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_real_imag_and_view_as_real_share_storage_as_torch():
    values = np.array([1 + 2j, 3 - 1j, -2 + 0.5j])
    results = []
    for lib in (pynn, torch):
        z = lib.tensor(values)
        z.real.zero_()
        z.imag[0] = 5
        lib.view_as_real(z)[1, 0] = 9
        results.append(z.numpy())
    np.testing.assert_array_equal(results[0], results[1])
    # in the graph pynn refuses the write (PyTorch writes through): never a silent copy
    z = pynn.tensor(values, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="one to one"):
        z.real.mul_(3)


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_frequencies_of_no_samples_match_torch(dtype):
    """fftfreq(0) is empty; rfftfreq(0) is PyTorch's one NaN (0 / (d * 0))."""
    for name in ("fftfreq", "rfftfreq"):
        kw = [{} if dtype is None else {"dtype": getattr(lib, dtype)} for lib in (pynn, torch)]
        ours = getattr(pynn.fft, name)(0, 0.5, **kw[0])
        theirs = getattr(torch.fft, name)(0, 0.5, **kw[1])
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
