"""Tensor.register_post_accumulate_grad_hook, which DistributedDataParallel builds on: once per
backward, after every contribution to the leaf's gradient, as in PyTorch."""

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

# each row: how a leaf w is used, and how backward is called
CASES = [
    ("once", lambda L, w: (w * w).sum().backward()),
    ("twice", lambda L, w: ((w * w).sum() + (w * 3).sum()).backward()),
    ("two roots", lambda L, w: L.autograd.backward([(w * 2).sum(), (w * w).sum()])),
    ("gradient arg", lambda L, w: (w * w).backward(L.ones(3, dtype=L.float64))),
    ("unused branch", lambda L, w: (w.sum() + (w * 0).detach().sum()).backward()),
]


@pytest.mark.parametrize("name,run", CASES, ids=[c[0] for c in CASES])
def test_post_accumulate_grad_hook_matches_torch(name, run):
    seen = {}
    for lib in (pynn, torch):
        w = lib.tensor(np.arange(3.0), requires_grad=True)
        calls = []
        w.register_post_accumulate_grad_hook(
            lambda t, calls=calls: calls.append(t.grad.numpy().copy()))
        run(lib, w)
        run(lib, w)  # a second backward accumulates, and the hook fires again
        seen[lib.__name__] = calls
    assert len(seen["pynn"]) == len(seen["torch"]) == 2
    for a, b in zip(seen["pynn"], seen["torch"]):
        np.testing.assert_allclose(a, b)


def test_post_accumulate_grad_hook_remove_and_errors():
    w = pynn.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(calls.append)
    (w * w).sum().backward()
    h.remove()
    (w * w).sum().backward()
    assert len(calls) == 1 and calls[0] is w
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(calls.append)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        pynn.tensor([1.0]).register_post_accumulate_grad_hook(calls.append)
