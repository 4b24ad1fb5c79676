"""Fixtures shared by every test: both backends, thread control, tolerance and input
variants (non-contiguous, read-only) for the compiled-vs-reference checks."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, directional_check, layouts, random, tolerance  # noqa: F401

import pynn
from pynn import backend

# Tests compare runs bit for bit; the thread count that training steps would otherwise take
# from timing them (tests/test_step_threads.py) can round some reductions differently.
pynn.use_deterministic_algorithms(True)


@pytest.fixture(scope="session")
def compiled():
    return backend.get("compiled")


@pytest.fixture(scope="session")
def reference():
    return backend.get("reference")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def threads():
    """Call ``threads(n)`` to set pynn's thread count for one test; restored afterwards."""
    before = pynn.get_num_threads()
    yield pynn.set_num_threads
    pynn.set_num_threads(before)


@pytest.fixture(params=["generic", "avx2", "avx512"])
def isa(request, compiled):
    """Run a test once per instruction set this build and CPU can run; skip the others."""
    if request.param not in compiled.available_isas():
        pytest.skip(f"{request.param} kernels cannot run on this CPU")
    before = compiled.get_isa()
    compiled.set_isa(request.param)
    yield request.param
    compiled.set_isa(before)


@pytest.fixture
def restore_threads():
    """For tests that run code setting pynn's thread count itself (the examples' --threads):
    the count is restored afterwards."""
    before = pynn.get_num_threads()
    yield
    pynn.set_num_threads(before)
