"""The common math on complex tensors, against PyTorch: values, first and second derivatives
(PyTorch's convention, the gradient of a real loss is dL/dRe + i dL/dIm) and, where PyTorch
refuses complex input (orderings, clamps, piecewise activations), an error, never a value
NumPy would compute from the real part."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)


def _cplx(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


A, B, C = _cplx(3, 3), _cplx(3, 3), _cplx(3, 4)
V, W = _cplx(5), _cplx(5)
BA, BB = _cplx(2, 3, 4), _cplx(2, 4, 3)
WITH_ZERO = A.copy()
WITH_ZERO[1, 2] = 0

GRADIENT_CASES = {
    "prod": (lambda L, x: L.prod(x), [A]),
    "prod_dim": (lambda L, x: x.prod(1, keepdim=True), [A]),
    "prod_zero": (lambda L, x: x.prod(0), [WITH_ZERO]),
    "cumprod": (lambda L, x: x.cumprod(1), [A]),
    "cumprod_zero": (lambda L, x: x.cumprod(1), [WITH_ZERO]),
    "einsum": (lambda L, x, y: L.einsum("ij,jk->ik", x, y), [A, C]),
    "einsum_batch": (lambda L, x, y: L.einsum("bij,bjk->bik", x, y), [BA, BB]),
    "tensordot": (lambda L, x, y: L.tensordot(x, y, dims=1), [A, C]),
    "inner": (lambda L, x, y: L.inner(x, y), [A, B]),
    "inner_1d": (lambda L, x, y: L.inner(x, y), [V, W]),
    "dot": (lambda L, x, y: L.dot(x, y), [V, W]),
    "vdot": (lambda L, x, y: L.vdot(x, y), [V, W]),
    "mm": (lambda L, x, y: L.mm(x, y), [A, C]),
    "bmm": (lambda L, x, y: L.bmm(x, y), [BA, BB]),
    "mv": (lambda L, x, y: L.mv(x, y), [C.T.copy(), V[:3]]),
    "addmm": (lambda L, x, y, z: L.addmm(x, y, z, beta=0.5, alpha=2.0), [C, A, C]),
    "sgn": (lambda L, x: x.sgn(), [A]),
    "sgn_zero": (lambda L, x: x.sgn(), [WITH_ZERO]),
    "softsign": (lambda L, x: L.nn.functional.softsign(x), [WITH_ZERO]),
    "tanh": (lambda L, x: L.tanh(x), [A]),
    "sigmoid": (lambda L, x: L.sigmoid(x), [A]),
    "tanh_method": (lambda L, x: x.tanh(), [A]),
    "F.tanh": (lambda L, x: L.nn.functional.tanh(x), [A]),
    "nn.Sigmoid": (lambda L, x: L.nn.Sigmoid()(x), [A]),
    "tanhshrink": (lambda L, x: L.nn.functional.tanhshrink(x), [A]),
    "norm": (lambda L, x: x.norm(), [A]),
    "norm_dim": (lambda L, x: x.norm(dim=1), [WITH_ZERO]),
    "linalg.norm": (lambda L, x: L.linalg.norm(x), [A]),
    "vector_norm_1": (lambda L, x: L.linalg.vector_norm(x, 1, dim=0), [A]),
    "vector_norm_3": (lambda L, x: L.linalg.vector_norm(x, 3), [A]),
    "vector_norm_inf": (lambda L, x: L.linalg.vector_norm(x, float("inf"), dim=1), [A]),
    "dist": (lambda L, x, y: L.dist(x, y), [A, B]),
    "var": (lambda L, x: x.var(0), [A]),
    "std": (lambda L, x: x.std(1, correction=0), [A]),
    "normalize": (lambda L, x: L.nn.functional.normalize(x, dim=1), [A]),
    "abs": (lambda L, x: x.abs(), [A]),
    "exp_log_sqrt": (lambda L, x: x.exp() * x.log() + x.sqrt(), [A]),
    "sin_cos": (lambda L, x: x.sin() * x.cos(), [A]),
    "sum_mean": (lambda L, x: x.sum(0) + x.mean(1), [A]),
    "logsumexp": (lambda L, x: L.logsumexp(x * 3, 1), [A]),
    "acosh": (lambda L, x: x.acosh(), [A]),
    "mH": (lambda L, x: x.mH, [C]),
    "H": (lambda L, x: x.H, [C]),
    "adjoint": (lambda L, x: L.adjoint(x) @ x, [BA]),
}


def _loss(out):
    if not out.is_complex():
        return (out ** 3).sum()
    return (out.real ** 3 + out.imag * out.real).sum()


def _run(lib, fn, arrays, order):
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *ts)
    grads = lib.autograd.grad(_loss(out), ts, create_graph=order == 2)
    if order == 2:
        grads = lib.autograd.grad(sum((g.abs() ** 2).sum() for g in grads), ts)
    return out.detach().resolve_conj().numpy(), [g.detach().resolve_conj().numpy() for g in grads]


# the recorded (second-order) backwards of prod and cumprod refuse zeros; sgn has no second
# derivative at 0 (PyTorch's is NaN in places, pynn's 0)
FIRST_ORDER_ONLY = ("prod_zero", "cumprod_zero", "sgn_zero")


@pytest.mark.parametrize("name, order", [(n, k) for k in (1, 2) for n in GRADIENT_CASES
                                         if k == 1 or n not in FIRST_ORDER_ONLY])
def test_values_and_gradients_match_torch(name, order):
    fn, arrays = GRADIENT_CASES[name]
    (ours, ga), (theirs, gb) = (_run(lib, fn, arrays, order) for lib in (pynn, torch))
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    for x, y in zip(ga, gb):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-10)


def test_the_review_s_repro():
    grads = []
    for lib in (pynn, torch):
        x = lib.tensor([[1 + 2j, 0.3 - 1j], [2j, 1.5 + 0.5j]], requires_grad=True)
        (x @ x).real.sum().backward()
        y = lib.tensor([[1 + 2j, 0.3 - 1j], [2j, 1.5 + 0.5j]], requires_grad=True)
        y.prod().real.backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # complex64


def test_single_precision_values_and_real_norms():
    z = _cplx(4, 3).astype(np.complex64)
    for name in ("tanh", "sigmoid"):
        ours = getattr(pynn, name)(pynn.tensor(z))
        theirs = getattr(torch, name)(torch.tensor(z))
        assert ours.dtype == pynn.complex64
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    for fn in (lambda L, t: L.linalg.norm(t), lambda L, t: t.norm(dim=0),
               lambda L, t: t.var(), lambda L, t: t.std(1)):
        ours, theirs = fn(pynn, pynn.tensor(z)), fn(torch, torch.tensor(z))
        assert ours.dtype == pynn.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
    silu = pynn.nn.functional.silu(pynn.tensor(z)).numpy()
    np.testing.assert_allclose(silu, torch.nn.functional.silu(torch.tensor(z)).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_gradients_torch_refuses_are_refused():
    for lib in (pynn, torch):
        x = lib.tensor(A, requires_grad=True)
        with pytest.raises(RuntimeError, match="does not support automatic differentiation"):
            lib.nn.functional.silu(x).abs().sum().backward()


REFUSED = {
    "gt": lambda L, x: x > 0, "lt": lambda L, x: x < 1j, "ge": lambda L, x: L.ge(x, 0),
    "le": lambda L, x: x <= x * 2, "max": lambda L, x: x.max(), "max_dim": lambda L, x: x.max(0),
    "min": lambda L, x: L.min(x), "amax": lambda L, x: x.amax(), "amin": lambda L, x: x.amin(0),
    "aminmax": lambda L, x: L.aminmax(x), "argmax": lambda L, x: x.argmax(),
    "argmin": lambda L, x: x.argmin(0), "sort": lambda L, x: x.sort(),
    "argsort": lambda L, x: L.argsort(x), "msort": lambda L, x: L.msort(x),
    "topk": lambda L, x: x.topk(1), "kthvalue": lambda L, x: x.kthvalue(1),
    "median": lambda L, x: x.median(), "cummax": lambda L, x: x.cummax(0),
    "cummin": lambda L, x: x.cummin(0), "maximum": lambda L, x: L.maximum(x, x),
    "minimum": lambda L, x: L.minimum(x, x), "fmax": lambda L, x: L.fmax(x, x),
    "max_other": lambda L, x: L.max(x, x), "clamp": lambda L, x: x.clamp(0, 1),
    "clamp_min": lambda L, x: x.clamp(min=0), "clip": lambda L, x: L.clip(x, max=1),
    "relu": lambda L, x: L.relu(x), "F.relu": lambda L, x: L.nn.functional.relu(x),
    "nn.ReLU": lambda L, x: L.nn.ReLU()(x), "relu6": lambda L, x: L.nn.functional.relu6(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
    "elu": lambda L, x: L.nn.functional.elu(x), "selu": lambda L, x: L.nn.functional.selu(x),
    "celu": lambda L, x: L.nn.functional.celu(x), "mish": lambda L, x: L.nn.functional.mish(x),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "softshrink": lambda L, x: L.nn.functional.softshrink(x),
    "hardshrink": lambda L, x: L.nn.functional.hardshrink(x),
    "threshold": lambda L, x: L.nn.functional.threshold(x, 0.1, 0.0),
    "glu": lambda L, x: L.nn.functional.glu(L.cat([x, x], 1)),
    "prelu": lambda L, x: L.nn.functional.prelu(x, L.tensor([0.25 + 0j], dtype=x.dtype)),
    "sign": lambda L, x: x.sign(), "floor": lambda L, x: x.floor(),
    "ceil": lambda L, x: L.ceil(x), "trunc": lambda L, x: x.trunc(),
    "round": lambda L, x: x.round(), "nansum": lambda L, x: x.nansum(),
    "hypot": lambda L, x: L.hypot(x, x), "xlogy": lambda L, x: L.xlogy(x, x),
    "unique": lambda L, x: L.unique(x), "cdist": lambda L, x: L.cdist(x, x),
    "mse_loss": lambda L, x: L.nn.functional.mse_loss(x, x),
    "gelu": lambda L, x: L.nn.functional.gelu(x),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "softmax": lambda L, x: x.softmax(0), "log_softmax": lambda L, x: x.log_softmax(1),
    "softmin": lambda L, x: L.nn.functional.softmin(x, 0),
    "logit": lambda L, x: x.logit(),
}


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", list(REFUSED))
def test_what_torch_refuses_raises(name, dtype):
    for lib in (torch, pynn):
        x = lib.tensor(B, dtype=getattr(lib, dtype))
        with pytest.raises(RuntimeError):  # NotImplementedError is one, as PyTorch raises
            REFUSED[name](lib, x)
    with pytest.raises(NotImplementedError, match="complex"):
        REFUSED[name](pynn, pynn.tensor(B, dtype=getattr(pynn, dtype)))


def test_what_torch_computes_on_complex_still_works():
    x = _cplx(6)
    for fn in (lambda L, t: t == t * 1, lambda L, t: t != 1j, lambda L, t: L.isclose(t, t),
               lambda L, t: t.isinf(), lambda L, t: L.where(t.real > 0, t, 0),
               lambda L, t: L.logaddexp(t, t), lambda L, t: t.nan_to_num(),
               lambda L, t: L.nn.functional.softsign(t), lambda L, t: L.sum(t * 2)):
        ours, theirs = fn(pynn, pynn.tensor(x)), fn(torch, torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
