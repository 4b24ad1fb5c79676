"""pynn.nn.utils: gradient clipping by hand, and the L1 penalty (the PyTorch comparison of
clipping is in test_against_torch.py)."""

import math

import numpy as np
import pytest

import pynn
from pynn.nn.utils import clip_grad_norm_, clip_grad_value_, l1_penalty


def test_clip_grad_norm_by_hand(Param):
    a = Param(np.zeros(2), grad=np.array([3.0, 0.0]))
    b = Param(np.zeros(1, np.float32), grad=np.array([4.0], np.float32))
    c = Param(np.zeros(1))  # no gradient
    grad_a, storage_a = a.grad, a.grad.numpy()
    total = clip_grad_norm_([a, b, c], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    assert a.grad is grad_a and a.grad.numpy() is storage_a, "clipped in place"
    np.testing.assert_allclose(a.grad, [3.0 / (5.0 + 1e-6), 0.0])
    np.testing.assert_allclose(b.grad, [4.0 / (5.0 + 1e-6)], rtol=1e-6)
    assert b.grad.dtype == np.float32


def test_clip_grad_norm_below_max_leaves_grads(Param):
    a = Param(np.zeros(2), grad=np.array([0.3, -0.4]))
    assert clip_grad_norm_(a, 10.0).item() == pytest.approx(0.5)  # a single parameter works too
    np.testing.assert_array_equal(a.grad, [0.3, -0.4])


def test_clip_grad_norm_types(Param):
    ps = [Param(np.zeros(2), grad=np.array([1.0, -2.0])), Param(np.zeros(1), grad=np.array(
        [0.0]))]
    assert clip_grad_norm_(ps, 1e9, norm_type=1).item() == 3.0
    assert clip_grad_norm_(ps, 1e9, norm_type=math.inf).item() == 2.0
    assert clip_grad_norm_(ps, 1e9, norm_type="inf").item() == 2.0
    assert clip_grad_norm_(ps, 1e9, norm_type=-math.inf).item() == 0.0
    # as PyTorch: the 0-"norm" of the per-tensor norms counts the tensors with a nonzero entry
    assert clip_grad_norm_(ps, 1e9, norm_type=0).item() == 1.0
    assert clip_grad_norm_(ps, 1e9, norm_type=3).item() == pytest.approx(9.0 ** (1 / 3))
    assert clip_grad_norm_([], 1.0).item() == 0.0
    assert clip_grad_norm_([Param(np.zeros(1))], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite(Param):
    a = Param(np.zeros(2), grad=np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(a.grad, [np.inf, 1.0])  # untouched on error
    b = Param(np.zeros(2), grad=np.array([np.nan, 1.0]))
    assert math.isnan(clip_grad_norm_([b], 1.0))
    assert np.isnan(b.grad.numpy()).all(), "scaled by the non-finite norm, as PyTorch does"


def test_clip_grad_norm_read_only_grad_is_replaced(Param):
    g = np.array([3.0, 4.0])
    g.flags.writeable = False
    a = Param(np.zeros(2), grad=g)
    clip_grad_norm_([a], 1.0)
    assert a.grad.numpy() is not g
    np.testing.assert_allclose(np.linalg.norm(a.grad), 1.0, rtol=1e-6)


def test_clip_grad_value(Param):
    a = Param(np.zeros(3), grad=np.array([-2.0, 0.5, 3.0]))
    b = Param(np.zeros(1))
    grad, storage = a.grad, a.grad.numpy()
    assert clip_grad_value_([a, b], 1.0) is None
    assert a.grad is grad and a.grad.numpy() is storage
    np.testing.assert_array_equal(a.grad, [-1.0, 0.5, 1.0])
    assert b.grad is None


class FakeTensor:
    """The operations l1_penalty needs: abs(), sum() and +."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=float)

    def abs(self):
        return FakeTensor(np.abs(self.value))

    def sum(self):
        return FakeTensor(self.value.sum())

    def __add__(self, other):
        return FakeTensor(self.value + other.value)


def test_l1_penalty_with_a_fake_tensor():
    total = l1_penalty([FakeTensor([1.0, -2.0]), FakeTensor([[-0.5], [3.0]])])
    assert isinstance(total, FakeTensor)
    assert float(total.value) == 6.5
    assert float(l1_penalty(iter([FakeTensor([-4.0])])).value) == 4.0
    assert float(l1_penalty(FakeTensor([-1.0, 1.0])).value) == 2.0
    assert l1_penalty([]) == 0.0


def test_l1_penalty_is_differentiable():
    if not hasattr(pynn, "Tensor"):
        pytest.skip("pynn.Tensor does not exist yet")
    w = pynn.Tensor(np.array([1.5, -2.0, 0.25]), requires_grad=True)
    v = pynn.Tensor(np.array([[-1.0, 3.0]]), requires_grad=True)
    total = l1_penalty([w, v])
    assert float(np.asarray(total.data)) == pytest.approx(7.75)
    total.backward()
    np.testing.assert_array_equal(np.asarray(w.grad), [1.0, -1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(v.grad), [[-1.0, 1.0]])
