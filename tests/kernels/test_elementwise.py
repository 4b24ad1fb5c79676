"""bias_grad and the fused optimiser updates (SGD, Adam/AdamW, RMSProp): compiled against the
NumPy reference over several steps and every flag, in-place state, torch.optim, errors."""

import itertools

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, layouts, random

from pynn import backend

LAYOUTS = ("contiguous", "strided", "fortran", "readonly")
N_STEPS = 5
# Every flag combination on a small param with 1 and 2 threads; a few (no flags, all flags,
# one mixed) on a param of > 65536 elements, where the update goes parallel.
SIZES = [((7, 13), 1), ((7, 13), 2)]
BIG = ((5, 13121), 2)


def _cases(flags):
    return [size + f for size in SIZES for f in flags] + [BIG + f for f in
                                                          (flags[0], flags[-1], flags[5])]


def _in_layout(arr, name):
    return dict(layouts(arr)).get(name, arr)


# ---------------------------------------------------------------------------------------------
# bias_grad

BIAS_CASES = [
    ((7, 13), 1),
    ((1, 5), 1),
    ((5, 3), 0),
    ((2, 5, 7, 3), 1),
    ((1, 3, 11, 13), 1),
    ((3, 11, 5), -1),
    ((1, 1, 7), -1),
    ((17,), 0),
    ((17,), -1),
    ((64, 1031), 1),  # parallel, (N, C): column sums
    ((8, 16, 23, 23), 1),  # parallel, (N, C, H, W)
    ((4, 129, 131), -1),  # parallel, (B, L, C)
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", BIAS_CASES)
def test_bias_grad_matches_reference(shape, axis, dtype, layout, compiled, reference, rng,
                                     threads, isa):
    dy = _in_layout(random(rng, shape, dtype), layout)
    expected = reference.bias_grad(dy, axis)
    assert expected.shape == (shape[axis],)
    # Direct check of the oracle, too: sum over every other axis.
    others = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    assert_close(expected, dy.sum(axis=others, dtype=np.float64).astype(dtype), dtype)
    for n_threads in (1, 2):
        threads(n_threads)
        assert_close(compiled.bias_grad(dy, axis), expected, dtype, dy.size // shape[axis])


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("shape, axis", [((0, 5), 1), ((0, 3, 4, 4), 1), ((2, 0, 3), -1)])
def test_bias_grad_of_empty_batch_is_zero(name, shape, axis):
    db = backend.get(name).bias_grad(np.zeros(shape), axis)
    np.testing.assert_array_equal(db, np.zeros(shape[axis]))


# ---------------------------------------------------------------------------------------------
# Optimisers: N_STEPS consecutive steps, compiled against reference, every flag combination


def _compare_steps(compiled, reference, step, arrays, grads, dtype):
    """Run ``step(backend, t, grad, **arrays)`` for t = 1..len(grads) on two copies of
    ``arrays``; after each step every array must agree, and each must have moved (the
    kernels update the very arrays passed in)."""
    got = {k: v.copy() for k, v in arrays.items()}
    ref = {k: v.copy() for k, v in arrays.items()}
    for t, grad in enumerate(grads, 1):
        assert step(compiled, t, grad, **got) is None
        step(reference, t, grad, **ref)
        for k in arrays:
            assert_close(got[k], ref[k], dtype, t)
    for k in arrays:
        assert not np.array_equal(got[k], arrays[k]), f"{k} was not updated in place"


def _start(rng, shape, dtype, *names):
    arrays = {"param": random(rng, shape, dtype)}
    arrays.update({k: np.zeros(shape, dtype) for k in names})
    return arrays


def _grads(rng, shape, dtype):
    return [random(rng, shape, dtype) for _ in range(N_STEPS)]


SGD_FLAGS = list(itertools.product([0.0, 0.9], [0.0, 0.1], [False, True], [0.0, 0.01],
                                   [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, n_threads, momentum, dampening, nesterov, weight_decay, maximize", _cases(SGD_FLAGS))
def test_sgd_step_matches_reference(shape, n_threads, dtype, momentum, dampening, nesterov,
                                    weight_decay, maximize, compiled, reference, rng, threads,
                                    isa):
    threads(n_threads)

    def step(m, t, grad, param, momentum_buffer=None):
        return m.sgd_step(param, grad, momentum_buffer, lr=0.1, momentum=momentum,
                          dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                          maximize=maximize, first_step=t == 1)

    arrays = _start(rng, shape, dtype, *(["momentum_buffer"] if momentum else []))
    _compare_steps(compiled, reference, step, arrays, _grads(rng, shape, dtype), dtype)


ADAM_FLAGS = list(itertools.product([0.0, 0.05], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, n_threads, weight_decay, decoupled, amsgrad, maximize", _cases(ADAM_FLAGS))
def test_adam_step_matches_reference(shape, n_threads, dtype, weight_decay, decoupled, amsgrad,
                                     maximize, compiled, reference, rng, threads, isa):
    threads(n_threads)

    def step(m, t, grad, param, exp_avg, exp_avg_sq, max_exp_avg_sq=None):
        return m.adam_step(param, grad, exp_avg, exp_avg_sq, step=t, lr=0.01, beta1=0.8,
                           beta2=0.99, eps=1e-6, weight_decay=weight_decay,
                           decoupled_weight_decay=decoupled, max_exp_avg_sq=max_exp_avg_sq,
                           maximize=maximize)

    names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad else [])
    arrays = _start(rng, shape, dtype, *names)
    _compare_steps(compiled, reference, step, arrays, _grads(rng, shape, dtype), dtype)


RMSPROP_FLAGS = list(itertools.product([False, True], [0.0, 0.9], [0.0, 0.01], [False, True]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, n_threads, centered, momentum, weight_decay, maximize", _cases(RMSPROP_FLAGS))
def test_rmsprop_step_matches_reference(shape, n_threads, dtype, centered, momentum,
                                        weight_decay, maximize, compiled, reference, rng,
                                        threads, isa):
    threads(n_threads)

    def step(m, t, grad, param, square_avg, momentum_buffer=None, grad_avg=None):
        return m.rmsprop_step(param, grad, square_avg, lr=0.01, alpha=0.9, eps=1e-6,
                              weight_decay=weight_decay, momentum=momentum,
                              momentum_buffer=momentum_buffer, centered=centered,
                              grad_avg=grad_avg, maximize=maximize)

    names = (["square_avg"] + (["momentum_buffer"] if momentum else [])
             + (["grad_avg"] if centered else []))
    arrays = _start(rng, shape, dtype, *names)
    _compare_steps(compiled, reference, step, arrays, _grads(rng, shape, dtype), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_optimisers_accept_any_grad_layout(layout, dtype, compiled, reference, rng, isa):
    """Only param and state are updated in place; grad may be strided or read-only."""
    shape = (5, 7)
    grads = [_in_layout(g, layout) for g in _grads(rng, shape, dtype)]

    def sgd(m, t, grad, param, momentum_buffer):
        m.sgd_step(param, grad, momentum_buffer, lr=0.1, momentum=0.9, first_step=t == 1)

    def adam(m, t, grad, param, exp_avg, exp_avg_sq):
        m.adam_step(param, grad, exp_avg, exp_avg_sq, step=t, lr=0.01)

    def rmsprop(m, t, grad, param, square_avg):
        m.rmsprop_step(param, grad, square_avg, lr=0.01)

    for step, names in [(sgd, ["momentum_buffer"]), (adam, ["exp_avg", "exp_avg_sq"]),
                        (rmsprop, ["square_avg"])]:
        _compare_steps(compiled, reference, step, _start(rng, shape, dtype, *names), grads,
                       dtype)


# ---------------------------------------------------------------------------------------------
# Against torch.optim (float64)

TORCH_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True,
              "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "eps": 1e-6}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "maximize": True}),
]


def _pynn_step(m, optimiser, kw, t, param, grad, state):
    """One step of torch.optim.<optimiser>(**kw) with pynn's kernel; ``state`` is lazy."""

    def zeros():
        return np.zeros_like(param)

    common = {"lr": kw["lr"], "weight_decay": kw.get("weight_decay", 0.0),
              "maximize": kw.get("maximize", False)}
    if optimiser == "SGD":
        m.sgd_step(param, grad, state.setdefault("buf", zeros()),
                   momentum=kw.get("momentum", 0.0), dampening=kw.get("dampening", 0.0),
                   nesterov=kw.get("nesterov", False), first_step=t == 1, **common)
    elif optimiser in ("Adam", "AdamW"):
        beta1, beta2 = kw.get("betas", (0.9, 0.999))
        m.adam_step(param, grad, state.setdefault("m", zeros()), state.setdefault("v", zeros()),
                    step=t, beta1=beta1, beta2=beta2, eps=kw.get("eps", 1e-8),
                    decoupled_weight_decay=optimiser == "AdamW",
                    max_exp_avg_sq=state.setdefault("vmax", zeros()) if kw.get("amsgrad")
                    else None, **common)
    else:
        m.rmsprop_step(param, grad, state.setdefault("sq", zeros()),
                       alpha=kw.get("alpha", 0.99), eps=kw.get("eps", 1e-8),
                       momentum=kw.get("momentum", 0.0),
                       momentum_buffer=state.setdefault("buf", zeros()),
                       centered=kw.get("centered", False),
                       grad_avg=state.setdefault("ga", zeros()), **common)


@pytest.mark.parametrize("name", backend.BACKENDS)
@pytest.mark.parametrize("optimiser, kw", TORCH_CASES,
                         ids=[f"{o}-{i}" for i, (o, _) in enumerate(TORCH_CASES)])
def test_optimiser_matches_torch(name, optimiser, kw, rng):
    torch = pytest.importorskip("torch")
    m = backend.get(name)
    param = random(rng, (4, 9), np.float64)
    p_t = torch.nn.Parameter(torch.from_numpy(param.copy()))
    opt = getattr(torch.optim, optimiser)([p_t], **kw)
    state = {}
    for t in range(1, N_STEPS + 1):
        grad = random(rng, param.shape, np.float64)
        p_t.grad = torch.from_numpy(grad.copy())
        opt.step()
        _pynn_step(m, optimiser, kw, t, param, grad, state)
        assert_close(param, p_t.detach().numpy(), np.float64, t)


# ---------------------------------------------------------------------------------------------
# Argument errors: same exception and message in both backends

P = np.zeros((3, 4))
P32 = P.astype(np.float32)
STRIDED = np.zeros((3, 8))[:, ::2]
FORTRAN = np.asfortranarray(np.zeros((3, 4)))
READONLY = np.zeros((3, 4))
READONLY.flags.writeable = False

ERRORS = [
    ("bias_grad", (P.astype(np.int64),), {}, TypeError,
     "bias_grad: dy must be float32 or float64, got int64"),
    ("bias_grad", (P.astype(np.float16),), {}, TypeError,
     "bias_grad: dy must be float32 or float64, got float16"),
    ("bias_grad", (P, 2), {}, ValueError, "bias_grad: axis 2 is out of range for shape (3, 4)"),
    ("bias_grad", (P, -3), {}, ValueError,
     "bias_grad: axis -3 is out of range for shape (3, 4)"),
    ("bias_grad", (np.zeros(()), 0), {}, ValueError,
     "bias_grad: axis 0 is out of range for shape ()"),
    ("sgd_step", (P, P32), {"lr": 0.1}, TypeError,
     "sgd_step: grad has dtype float32 but param has float64; mixed dtypes are not converted"),
    ("sgd_step", (P.astype(np.int32), P), {"lr": 0.1}, TypeError,
     "sgd_step: param must be float32 or float64, got int32"),
    ("sgd_step", (P, P.T), {"lr": 0.1}, ValueError,
     "sgd_step: grad must have the shape of param (3, 4), got (4, 3)"),
    ("sgd_step", (P, P), {"lr": 0.1, "momentum": 0.9}, ValueError,
     "sgd_step: momentum != 0 needs a momentum_buffer"),
    ("sgd_step", (STRIDED.copy(), P, STRIDED), {"lr": 0.1, "momentum": 0.9}, ValueError,
     "sgd_step: momentum_buffer is updated in place and must be C-contiguous"),
    ("sgd_step", (STRIDED, P), {"lr": 0.1}, ValueError,
     "sgd_step: param is updated in place and must be C-contiguous"),
    ("sgd_step", (READONLY, P), {"lr": 0.1}, ValueError,
     "sgd_step: param is updated in place and must be writeable"),
    ("sgd_step", (P, P, P32), {"lr": 0.1, "momentum": 0.9}, TypeError,
     "sgd_step: momentum_buffer has dtype float32 but param has float64"),
    ("adam_step", (P, P, FORTRAN, P.copy()), {"step": 1, "lr": 0.1}, ValueError,
     "adam_step: exp_avg is updated in place and must be C-contiguous"),
    ("adam_step", (P, P, P.copy(), P.copy()), {"step": 1, "lr": 0.1,
                                               "max_exp_avg_sq": STRIDED}, ValueError,
     "adam_step: max_exp_avg_sq is updated in place and must be C-contiguous"),
    ("adam_step", (P, P, P.copy(), READONLY), {"step": 1, "lr": 0.1}, ValueError,
     "adam_step: exp_avg_sq is updated in place and must be writeable"),
    ("adam_step", (P, P, P.copy(), P.copy()[:2]), {"step": 1, "lr": 0.1}, ValueError,
     "adam_step: exp_avg_sq must have the shape of param (3, 4), got (2, 4)"),
    ("adam_step", (P, P, P.copy(), P.copy()), {"step": 0, "lr": 0.1}, ValueError,
     "adam_step: step must be >= 1, got 0"),
    ("adam_step", (P32, P32, P32.copy(), P.copy()), {"step": 1, "lr": 0.1}, TypeError,
     "adam_step: exp_avg_sq has dtype float64 but param has float32"),
    ("rmsprop_step", (P, P, STRIDED), {"lr": 0.1}, ValueError,
     "rmsprop_step: square_avg is updated in place and must be C-contiguous"),
    ("rmsprop_step", (P, P, P.copy()), {"lr": 0.1, "centered": True, "grad_avg": FORTRAN},
     ValueError, "rmsprop_step: grad_avg is updated in place and must be C-contiguous"),
    ("rmsprop_step", (P, P, P.copy()), {"lr": 0.1, "centered": True}, ValueError,
     "rmsprop_step: centered=True needs grad_avg"),
    ("rmsprop_step", (P, P, P.copy()), {"lr": 0.1, "momentum": 0.5}, ValueError,
     "rmsprop_step: momentum != 0 needs a momentum_buffer"),
    ("rmsprop_step", (P, P.astype(np.float16), P.copy()), {"lr": 0.1}, TypeError,
     "rmsprop_step: grad must be float32 or float64, got float16"),
]


@pytest.mark.parametrize("kernel, args, kwargs, exc, message", ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_elementwise_rejects_bad_arguments(kernel, args, kwargs, exc, message):
    assert_same_error(kernel, args, exc, message, **kwargs)
    np.testing.assert_array_equal(P, 0)  # nothing was written before the error
