"""F.ctc_loss and nn.CTCLoss against PyTorch: values, reductions, target layouts, gradients
(through log_softmax and with respect to log_probs), finite differences, errors."""

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import nn
from pynn.autograd import gradcheck

torch = pytest.importorskip("torch")


def _case(rng, t=12, n=4, c=5, s=4):
    logits = rng.standard_normal((t, n, c))
    targets = rng.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between its copies
    il = np.array([t, t - 2, 7, t][:n])
    tl = np.array([s, 3, 0, 2][:n])
    return logits, targets, il, tl


def _both(logits, targets, il, tl, dtype=np.float64, concat=False, weights_seed=1, **kw):
    rng = np.random.default_rng(weights_seed)
    tg = targets
    if concat:
        tg = np.concatenate([targets[i, :tl[i]] for i in range(len(tl))])
    tx = torch.tensor(logits.astype(dtype), requires_grad=True)
    tlp = tx.log_softmax(-1)
    tlp.retain_grad()
    tout = torch.nn.functional.ctc_loss(tlp, torch.tensor(tg), torch.tensor(il),
                                        torch.tensor(tl), **kw)
    w = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    (tout * torch.tensor(w)).sum().backward()
    px = pynn.tensor(logits.astype(dtype), requires_grad=True)
    plp = px.log_softmax(-1)
    plp.retain_grad()
    pout = F.ctc_loss(plp, pynn.tensor(tg), pynn.tensor(il), pynn.tensor(tl), **kw)
    (pout * pynn.tensor(w)).sum().backward()
    return (pout, px.grad, plp.grad), (tout, tx.grad, tlp.grad)


def _close(ours, theirs, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-11
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert a.detach().numpy().dtype == b.detach().numpy().dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("concat", [False, True])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_matches_torch(reduction, zero_infinity, concat, dtype):
    logits, targets, il, tl = _case(np.random.default_rng(0))
    ours, theirs = _both(logits, targets, il, tl, dtype, concat, reduction=reduction,
                         zero_infinity=zero_infinity)
    _close(ours, theirs, dtype)


@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_blank_batch_one_and_unbatched(blank):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((9, 1, 6))
    targets = np.array([[1, 2, 2, 5]]) if blank == 0 else np.array([[0, 2, 2, 5]])
    ours, theirs = _both(logits, targets, np.array([9]), np.array([4]), blank=blank)
    _close(ours, theirs, np.float64)
    # unbatched: (T, C) log-probs, (S,) targets, 0-d lengths
    lp = rng.standard_normal((9, 6))
    tout = torch.nn.functional.ctc_loss(torch.tensor(lp).log_softmax(-1),
                                        torch.tensor(targets[0]), torch.tensor(9),
                                        torch.tensor(4), blank=blank, reduction="none")
    pout = F.ctc_loss(pynn.tensor(lp).log_softmax(-1), pynn.tensor(targets[0]),
                      pynn.tensor(9), pynn.tensor(4), blank=blank, reduction="none")
    assert tuple(pout.shape) == tuple(tout.shape) == ()
    np.testing.assert_allclose(pout.numpy(), tout.numpy(), rtol=1e-12)


def test_ctc_impossible_alignment_is_infinite_or_zeroed():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((3, 2, 4))
    targets = np.array([[1, 1, 2], [1, 2, 3]])  # 1,1,2 needs 4 frames
    il, tl = np.array([3, 3]), np.array([3, 3])
    for zi in (False, True):
        tout = torch.nn.functional.ctc_loss(torch.tensor(logits).log_softmax(-1),
                                            torch.tensor(targets), torch.tensor(il),
                                            torch.tensor(tl), reduction="none",
                                            zero_infinity=zi)
        pout = F.ctc_loss(pynn.tensor(logits).log_softmax(-1), pynn.tensor(targets),
                          pynn.tensor(il), pynn.tensor(tl), reduction="none",
                          zero_infinity=zi)
        np.testing.assert_allclose(pout.numpy(), tout.numpy(), rtol=1e-12)
    assert np.isinf(F.ctc_loss(pynn.tensor(logits).log_softmax(-1), pynn.tensor(targets),
                               il, tl, reduction="none").numpy()[0])
    ours, theirs = _both(logits, targets, il, tl, zero_infinity=True)
    _close(ours, theirs, np.float64)


def test_ctc_gradcheck_through_log_softmax():
    logits, targets, il, tl = _case(np.random.default_rng(4), t=6, n=3, c=4, s=2)
    il, tl = np.array([6, 4, 3]), np.array([2, 1, 0])
    x = pynn.tensor(logits, requires_grad=True)
    assert gradcheck(lambda a: F.ctc_loss(a.log_softmax(-1), pynn.tensor(targets), il, tl,
                                          reduction="none"), (x,))


def test_ctc_lengths_as_lists_and_module():
    logits, targets, il, tl = _case(np.random.default_rng(5))
    lp = pynn.tensor(logits).log_softmax(-1)
    a = F.ctc_loss(lp, pynn.tensor(targets), il.tolist(), tuple(tl.tolist()))
    b = nn.CTCLoss()(lp, pynn.tensor(targets), pynn.tensor(il), pynn.tensor(tl))
    t = torch.nn.CTCLoss()(torch.tensor(logits).log_softmax(-1), torch.tensor(targets),
                           torch.tensor(il), torch.tensor(tl))
    np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), t.numpy(), rtol=1e-12)
    m = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert (m.blank, m.reduction, m.zero_infinity) == (2, "sum", True)
    with pytest.raises(ValueError):
        nn.CTCLoss(reduction="avg")


@pytest.mark.parametrize("change,exc", [
    ({"il": [13, 5, 5, 5]}, RuntimeError),       # longer than T
    ({"tl": [5, 1, 1, 1]}, RuntimeError),        # longer than the padded targets
    ({"il": [12, 12]}, RuntimeError),            # not one per sequence
    ({"blank": 5}, RuntimeError),                # not a class
    ({"reduction": "avg"}, ValueError),
])
def test_ctc_errors(change, exc):
    logits, targets, il, tl = _case(np.random.default_rng(6))
    il = np.array(change.get("il", il))
    tl = np.array(change.get("tl", tl))
    kw = {k: v for k, v in change.items() if k in ("blank", "reduction")}
    lp = pynn.tensor(logits).log_softmax(-1)
    with pytest.raises(exc):
        torch.nn.functional.ctc_loss(torch.tensor(logits).log_softmax(-1),
                                     torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
                                     **kw)
    with pytest.raises(exc):
        F.ctc_loss(lp, pynn.tensor(targets), pynn.tensor(il), pynn.tensor(tl), **kw)
