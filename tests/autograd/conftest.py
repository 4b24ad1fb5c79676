"""Fixtures for the autograd tests: run a test once per backend, and a finite-difference
``gradcheck``."""

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
