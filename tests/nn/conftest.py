"""Fixtures of the layer tests: each backend in turn, and a finite-difference gradient check
of a whole module (input and parameter gradients, in float64)."""

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


def module_gradcheck(module, x, *, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, input_grad=True):
    """Check the gradients of ``module`` (converted to float64 with ``.double()``) with
    respect to its input and to every parameter against central differences.

    The scalar checked is ``sum(module(x) * dy)`` for a random ``dy``. Every element of the
    input and of each parameter is perturbed in place, so keep the shapes small. The module
    must be deterministic (no Dropout in train mode); batch norm in train mode is fine (its
    output does not depend on the running statistics it updates).
    """
    module.double()
    xa = np.array(x, dtype=np.float64)
    leaf = pynn.tensor(xa.copy(), requires_grad=input_grad)
    module.zero_grad()
    out = module(leaf)
    assert out.dtype == np.float64, f"output dtype {out.dtype}"
    dy = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(dy)

    def objective():
        with pynn.no_grad():
            return float(np.sum(module(pynn.tensor(xa)).numpy() * dy))

    targets = [("input", xa, leaf)] if input_grad else []
    targets += [(name, p._data, p) for name, p in module.named_parameters()]
    for name, arr, owner in targets:
        numeric = numeric_gradient(objective, arr, eps)
        assert owner.grad is not None, f"{name} got no gradient"
        assert owner.grad.dtype == np.float64 and owner.grad.shape == arr.shape, name
        np.testing.assert_allclose(owner.grad.numpy(), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    return out


@pytest.fixture
def gradcheck_module(threads):
    # One thread: a finite-difference check makes hundreds of calls on tiny arrays, where
    # waking a thread team costs more than the arithmetic.
    threads(1)
    return module_gradcheck
