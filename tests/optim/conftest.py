"""Fixtures of the optimiser tests: a stand-in parameter class and both kernel backends."""

import numpy as np
import pytest

import pynn
from pynn.backend import BACKENDS


class FakeParameter:
    """A stand-in for :class:`pynn.nn.Parameter` with just the interface optimisers use:
    ``.data`` (a C-contiguous float ndarray, updated in place), ``.grad`` (an ndarray of the
    same shape, or None) and ``.requires_grad``. Like a tensor, it defines an elementwise
    ``==`` and is therefore unhashable, so optimisers must not key state by hashing it."""

    def __init__(self, data, grad=None, requires_grad=True):
        self.data = np.ascontiguousarray(data)
        self.grad = grad
        self.requires_grad = requires_grad

    def __eq__(self, other):  # elementwise, as tensors do
        return self.data == (other.data if isinstance(other, FakeParameter) else other)

    __hash__ = None

    def __repr__(self):
        return f"FakeParameter({self.data!r})"


@pytest.fixture
def Param():
    """The stand-in parameter class (see :class:`FakeParameter`)."""
    return FakeParameter


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run a test once per kernel backend; the previous backend is restored afterwards."""
    before = pynn.get_backend()
    pynn.set_backend(request.param)
    yield request.param
    pynn.set_backend(before)
