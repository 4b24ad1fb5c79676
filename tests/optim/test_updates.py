"""Each optimiser's updates against the formulas written out by hand, element by element in
Python floats (not through the kernels), for three steps on a 3-element parameter, in
float32 and float64, for every option, on both kernel backends."""

import itertools
import math

import numpy as np
import pytest

from pynn.optim import SGD, Adam, AdamW, RMSProp, RMSprop

P0 = [1.0, -2.0, 0.5]
# Decreasing magnitudes so that AMSGrad's running maximum differs from exp_avg_sq.
GRADS = [[0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [-0.4, 0.05, 0.01]]
DTYPES = (np.float32, np.float64)


def tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-15}


# ---------------------------------------------------------------------------------------------
# The formulas, one element at a time


def sgd_by_hand(lr, momentum, dampening, weight_decay, nesterov, maximize):
    p, buf, history = list(P0), [None] * 3, []
    for grads in GRADS:
        for i, g in enumerate(grads):
            d = -g if maximize else g
            d += weight_decay * p[i]
            if momentum:
                buf[i] = d if buf[i] is None else momentum * buf[i] + (1 - dampening) * d
                d = d + momentum * buf[i] if nesterov else buf[i]
            p[i] -= lr * d
        history.append(list(p))
    return history


def adam_by_hand(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled):
    p, m, v, vmax, history = list(P0), [0.0] * 3, [0.0] * 3, [0.0] * 3, []
    for t, grads in enumerate(GRADS, 1):
        for i, g in enumerate(grads):
            d = -g if maximize else g
            if decoupled:
                p[i] *= 1 - lr * weight_decay
            else:
                d += weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * d
            v[i] = beta2 * v[i] + (1 - beta2) * d * d
            vmax[i] = max(vmax[i], v[i])
            m_hat = m[i] / (1 - beta1 ** t)
            v_hat = (vmax[i] if amsgrad else v[i]) / (1 - beta2 ** t)
            p[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        history.append(list(p))
    return history


def rmsprop_by_hand(lr, alpha, eps, weight_decay, momentum, centered, maximize):
    p, sq, avg, buf, history = list(P0), [0.0] * 3, [0.0] * 3, [0.0] * 3, []
    for grads in GRADS:
        for i, g in enumerate(grads):
            d = -g if maximize else g
            d += weight_decay * p[i]
            sq[i] = alpha * sq[i] + (1 - alpha) * d * d
            avg[i] = alpha * avg[i] + (1 - alpha) * d
            var = sq[i] - avg[i] ** 2 if centered else sq[i]
            denom = math.sqrt(var) + eps
            if momentum:
                buf[i] = momentum * buf[i] + d / denom
                p[i] -= lr * buf[i]
            else:
                p[i] -= lr * d / denom
        history.append(list(p))
    return history


def run(make_optimizer, dtype, Param):
    p = Param(np.array(P0, dtype=dtype))
    opt = make_optimizer([p])
    history = []
    for grads in GRADS:
        p.grad = np.array(grads, dtype=dtype)
        storage = p.detach().numpy()
        opt.step()
        assert p.detach().numpy() is storage, "the optimiser must update the storage in place"
        assert p.dtype == dtype
        history.append(p.detach().numpy().copy())
    return history


def check(history, expected, dtype):
    for step, (got, want) in enumerate(zip(history, expected), 1):
        np.testing.assert_allclose(got, want, **tol(dtype), err_msg=f"step {step}")


# ---------------------------------------------------------------------------------------------
# SGD

SGD_OPTIONS = [
    {"momentum": m, "dampening": d, "weight_decay": wd, "nesterov": n, "maximize": mx}
    for m, d, wd, n, mx in itertools.product((0.0, 0.9), (0.0, 0.3), (0.0, 0.1),
                                             (False, True), (False, True))
    if not (n and (m == 0 or d != 0)) and not (m == 0 and d != 0)
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()))
def test_sgd(backend, Param, dtype, options):
    history = run(lambda ps: SGD(ps, lr=0.1, **options), dtype, Param)
    check(history, sgd_by_hand(0.1, **options), dtype)


def test_sgd_literal_numbers(backend, Param):
    """lr 0.1, momentum 0.9, constant gradient 1: the buffer goes 1, 1.9, 2.71."""
    p = Param(np.array([1.0, 2.0, 3.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    expected = [[0.9, 1.9, 2.9], [0.71, 1.71, 2.71], [0.439, 1.439, 2.439]]
    for want in expected:
        p.grad = np.ones(3)
        opt.step()
        np.testing.assert_allclose(p.data, want, rtol=1e-14)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad",
                                  "Adamax", "NAdam", "RAdam", "LBFGS", "Rprop", "ASGD"])
def test_signature_and_defaults_match_pytorch(Param, name):
    """Every argument of PyTorch's optimiser exists with the same default (and kind), and
    the groups get the same hyper-parameter keys."""
    import inspect

    import pynn.optim

    torch = pytest.importorskip("torch")
    ours = inspect.signature(getattr(pynn.optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    for key, p in theirs.items():
        assert key in ours, key
        if key != "params":
            assert ours[key].default == p.default, key
            assert ours[key].kind == p.kind, key
    mine = getattr(pynn.optim, name)([Param(np.zeros(2))]).param_groups[0]
    ref = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).param_groups[0]
    assert set(mine) == set(ref)


# ---------------------------------------------------------------------------------------------
# Adam, AdamW

ADAM_OPTIONS = [
    {"weight_decay": wd, "amsgrad": a, "maximize": mx}
    for wd, a, mx in itertools.product((0.0, 0.1), (False, True), (False, True))
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_adam(backend, Param, dtype, options, cls):
    history = run(lambda ps: cls(ps, lr=0.05, betas=(0.8, 0.9), eps=1e-6, **options), dtype,
                  Param)
    expected = adam_by_hand(0.05, 0.8, 0.9, 1e-6, decoupled=cls is AdamW, **options)
    check(history, expected, dtype)


def test_adam_literal_first_step(backend, Param):
    """Adam's first step moves each element by lr * sign(g) (bias correction makes
    m_hat = g and sqrt(v_hat) = |g|), up to eps."""
    p = Param(np.array([1.0, 2.0, 3.0]))
    p.grad = np.array([0.5, -3.0, 1e-3])
    opt = Adam([p], lr=0.01, eps=0.0)
    opt.step()
    np.testing.assert_allclose(p.data, [0.99, 2.01, 2.99], rtol=1e-12)
    assert opt.state[p]["step"] == 1 and type(opt.state[p]["step"]) is int


def test_adam_defaults():
    import inspect

    adam = {k: v.default for k, v in inspect.signature(Adam).parameters.items()}
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"], adam["amsgrad"],
            adam["maximize"]) == (1e-3, (0.9, 0.999), 1e-8, 0, False, False)
    assert inspect.signature(AdamW).parameters["weight_decay"].default == 1e-2


def test_adamw_is_decoupled(Param):
    opt = AdamW([Param(np.zeros(3))])
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
    assert Adam([Param(np.zeros(3))]).param_groups[0]["decoupled_weight_decay"] is False


# ---------------------------------------------------------------------------------------------
# RMSprop

RMSPROP_OPTIONS = [
    {"weight_decay": wd, "momentum": m, "centered": c, "maximize": mx}
    for wd, m, c, mx in itertools.product((0.0, 0.1), (0.0, 0.5), (False, True), (False, True))
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()))
def test_rmsprop(backend, Param, dtype, options):
    history = run(lambda ps: RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-6, **options), dtype,
                  Param)
    check(history, rmsprop_by_hand(0.01, 0.9, 1e-6, **options), dtype)


def test_rmsprop_alias_and_defaults():
    import inspect

    assert RMSProp is RMSprop
    d = {k: v.default for k, v in inspect.signature(RMSprop).parameters.items()}
    assert (d["lr"], d["alpha"], d["eps"], d["weight_decay"], d["momentum"], d["centered"],
            d["maximize"]) == (1e-2, 0.99, 1e-8, 0, 0, False, False)


# ---------------------------------------------------------------------------------------------
# Several parameters, shapes and groups in one step


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_matrix_parameters_match_flat_ones(backend, Param, cls):
    """A (2, 3) parameter is updated like the same six numbers as a flat one."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 3))
    a, b = Param(data.copy()), Param(data.reshape(-1).copy())
    opt_a, opt_b = cls([a], lr=0.01), cls([b], lr=0.01)
    for _ in range(3):
        g = rng.standard_normal((2, 3))
        a.grad, b.grad = g, g.reshape(-1).copy()
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(a.data.reshape(-1), b.data)
