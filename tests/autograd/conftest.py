"""Fixtures for the autograd tests: run a test once per backend, a finite-difference
``gradcheck``, and ``same_in_both``: run one check with PyTorch and with pynn and compare.

A check is a function of the library module (``torch`` or ``pynn``) that builds tensors with
``lib.tensor(ndarray, requires_grad=...)`` and returns a structure (dict, list, tuple) of
tensors, arrays, numbers, strings and None; the two structures must be equal (tensors and
arrays in value, shape and dtype, to 1e-12).
"""

import numpy as np
import pytest
from helpers import numeric_gradient

import pynn
from pynn import backend


@pytest.fixture(params=backend.BACKENDS)
def each_backend(request):
    """Make each backend active in turn for one test; restore the previous one after."""
    before = pynn.get_backend()
    pynn.set_backend(request.param)
    yield request.param
    pynn.set_backend(before)


def _gradcheck(fn, *inputs, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0):
    """Check the autograd gradients of ``fn`` against central differences, in float64.

    ``fn(*tensors)`` returns a Tensor; every input (an array) becomes a float64 leaf that
    requires grad. The scalar checked is ``sum(fn(...) * dy)`` for a random ``dy``, so
    non-scalar outputs are checked through ``backward(dy)``. Every element of every input is
    perturbed (keep the shapes small). Returns the output Tensor.
    """
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    leaves = [pynn.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    assert out.dtype == np.float64, f"output dtype {out.dtype}"
    dy = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(dy)

    def objective():
        with pynn.no_grad():
            return float(np.sum(fn(*[pynn.tensor(a.copy()) for a in arrays]).numpy() * dy))

    for i, (a, leaf) in enumerate(zip(arrays, leaves)):
        numeric = numeric_gradient(objective, a, eps)
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert isinstance(leaf.grad, pynn.Tensor) and leaf.grad.dtype == np.float64
        assert leaf.grad.shape == a.shape, (i, leaf.grad.shape, a.shape)
        np.testing.assert_allclose(leaf.grad.numpy(), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return out


@pytest.fixture
def gradcheck():
    return _gradcheck


# ---------------------------------------------------------------------------------------------
# The same check in PyTorch and pynn


def _plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "detach"):
        v = v.detach()
    if hasattr(v, "numpy"):
        return np.array(v.numpy())
    return np.asarray(v)


def _compare(a, b, where):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, a, b)
        for k in a:
            _compare(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), (where, a, b)
        assert a.shape == b.shape, (where, a.shape, b.shape)
        assert a.dtype == b.dtype, (where, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=where)
    else:
        assert a == b, (where, a, b)


def _same_in_both(check, torch):
    ours = _plain(check(pynn))
    theirs = _plain(check(torch))
    _compare(ours, theirs, check.__name__)
    return ours


@pytest.fixture
def same_in_both():
    """``same_in_both(check)``: ``check(pynn)`` and ``check(torch)`` return the same
    structure (skipped without PyTorch); returns pynn's, made plain."""
    torch = pytest.importorskip("torch")
    return lambda check: _same_in_both(check, torch)
