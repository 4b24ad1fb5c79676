"""Fixtures of the optimiser tests: a stand-in parameter class and both kernel backends."""

import numpy as np
import pytest

import pynn
from pynn.backend import BACKENDS


class FakeParameter(pynn.nn.Parameter):
    """A :class:`pynn.nn.Parameter` that is unhashable, as a tensor type with an elementwise
    ``==`` usually is, so optimisers must not key state by hashing it. ``grad`` (an ndarray
    or Tensor of the same shape) may be given at construction, and any dtype is accepted so
    that the optimisers' own dtype check is what rejects a non-float parameter."""

    __hash__ = None

    def __init__(self, data, grad=None, requires_grad=True):
        super().__init__(np.ascontiguousarray(data), requires_grad=False)
        self.requires_grad = requires_grad  # set directly: Parameter refuses integer dtypes
        self.grad = grad

    def __repr__(self):
        return f"FakeParameter({self._data!r})"


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
