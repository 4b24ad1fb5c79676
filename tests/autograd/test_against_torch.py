"""The same small computations in pynn and PyTorch give the same values and gradients,
and both backends agree through the functional API."""

import numpy as np
import pytest

import pynn
import pynn.functional as F
from pynn import backend

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(arr):
    """The same float64 values as a pynn leaf and a torch leaf."""
    return (pynn.tensor(arr.copy(), requires_grad=True),
            torch.tensor(arr.copy(), requires_grad=True))


def _close(ours, theirs, tol=1e-10):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


@pytest.mark.usefixtures("each_backend")
def test_linear_relu_cross_entropy_matches_torch():
    r = np.random.default_rng(0)
    labels = np.array([1, 0, 3, 2, 3])
    (x, xt), (w1, w1t), (b1, b1t) = (_pair(r.normal(size=s)) for s in [(5, 6), (8, 6), (8,)])
    (w2, w2t), (b2, b2t) = (_pair(r.normal(size=s)) for s in [(4, 8), (4,)])
    ours = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels,
                           label_smoothing=0.1)
    theirs = TF.cross_entropy(TF.linear(TF.relu(TF.linear(xt, w1t, b1t)), w2t, b2t),
                              torch.tensor(labels), label_smoothing=0.1)
    ours.backward()
    theirs.backward()
    _close(ours.data, theirs)
    for a, b in [(x, xt), (w1, w1t), (b1, b1t), (w2, w2t), (b2, b2t)]:
        _close(a.grad, b.grad)


@pytest.mark.usefixtures("each_backend")
def test_conv_pool_linear_matches_torch():
    r = np.random.default_rng(1)
    labels = np.array([2, 0])
    (x, xt), (w, wt), (b, bt) = (_pair(r.normal(size=s)) for s in
                                 [(2, 3, 9, 9), (4, 3, 3, 3), (4,)])
    (fw, fwt), (fb, fbt) = (_pair(r.normal(size=s)) for s in [(5, 64), (5,)])
    h = F.max_pool2d(F.relu(F.conv2d(x, w, b, stride=1, padding=1)), 2, padding=1)
    ht = TF.max_pool2d(TF.relu(TF.conv2d(xt, wt, bt, stride=1, padding=1)), 2, padding=1)
    h = F.avg_pool2d(h, 2, stride=1)
    ht = TF.avg_pool2d(ht, 2, stride=1)
    ours = F.cross_entropy(F.linear(h.flatten(1), fw, fb), labels)
    theirs = TF.cross_entropy(TF.linear(ht.flatten(1), fwt, fbt), torch.tensor(labels))
    ours.backward()
    theirs.backward()
    _close(ours.data, theirs)
    for ours_leaf, torch_leaf in [(x, xt), (w, wt), (b, bt), (fw, fwt), (fb, fbt)]:
        _close(ours_leaf.grad, torch_leaf.grad)


@pytest.mark.usefixtures("each_backend")
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "leaky_relu", "sigmoid", "tanh",
                                  "log_softmax0", "softmax1", "bce_logits", "bce", "mse", "nll",
                                  "ce_weight", "ce_probs", "ce_spatial", "matmul", "reductions"])
def test_functional_matches_torch(name):
    r = np.random.default_rng(2)
    (x, xt) = _pair(r.normal(size=(3, 4)))
    y = r.uniform(0, 1, (3, 4))
    yt = torch.tensor(y)
    cases = {
        "gelu": (lambda: F.gelu(x), lambda: TF.gelu(xt)),
        "gelu_tanh": (lambda: F.gelu(x, "tanh"), lambda: TF.gelu(xt, approximate="tanh")),
        "leaky_relu": (lambda: F.leaky_relu(x, 0.2), lambda: TF.leaky_relu(xt, 0.2)),
        "sigmoid": (lambda: F.sigmoid(x), lambda: torch.sigmoid(xt)),
        "tanh": (lambda: F.tanh(x), lambda: torch.tanh(xt)),
        "log_softmax0": (lambda: F.log_softmax(x, 0), lambda: TF.log_softmax(xt, 0)),
        "softmax1": (lambda: F.softmax(x, 1), lambda: TF.softmax(xt, 1)),
        "bce_logits": (lambda: F.binary_cross_entropy_with_logits(
            x * 10, pynn.tensor(y), pos_weight=np.array([1.0, 2.0, 3.0, 0.5])),
            lambda: TF.binary_cross_entropy_with_logits(
                xt * 10, yt, pos_weight=torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=torch.float64))),
        "bce": (lambda: F.binary_cross_entropy(x.sigmoid(), pynn.tensor(y), reduction="sum"),
                lambda: TF.binary_cross_entropy(torch.sigmoid(xt), yt, reduction="sum")),
        "mse": (lambda: F.mse_loss(x, pynn.tensor(y)), lambda: TF.mse_loss(xt, yt)),
        "nll": (lambda: F.nll_loss(x, np.array([0, 3, 1]), weight=np.array([1.0, 2, 3, 4])),
                lambda: TF.nll_loss(xt, torch.tensor([0, 3, 1]),
                                    weight=torch.tensor([1.0, 2, 3, 4], dtype=torch.float64))),
        "ce_weight": (lambda: F.cross_entropy(x, np.array([0, 3, 1]),
                                              weight=np.array([1.0, 2, 3, 4])),
                      lambda: TF.cross_entropy(xt, torch.tensor([0, 3, 1]), weight=torch.tensor(
                          [1.0, 2, 3, 4], dtype=torch.float64))),
        "ce_probs": (lambda: F.cross_entropy(x, pynn.tensor(y), label_smoothing=0.2),
                     lambda: TF.cross_entropy(xt, yt, label_smoothing=0.2)),
        "ce_spatial": (lambda: F.cross_entropy(x.reshape(1, 3, 2, 2), np.array([[[0, 2], [1, 1]]]),
                                               reduction="none"),
                       lambda: TF.cross_entropy(xt.reshape(1, 3, 2, 2),
                                                torch.tensor([[[0, 2], [1, 1]]]),
                                                reduction="none")),
        "matmul": (lambda: (x.reshape(3, 1, 4) @ x.T.reshape(1, 4, 3)).sum(0),
                   lambda: (xt.reshape(3, 1, 4) @ xt.T.reshape(1, 4, 3)).sum(0)),
        "reductions": (lambda: x.max(1).values + x.amin(0).sum() + x.mean(1) + x.sum(),
                       lambda: xt.max(1).values + xt.amin(0).sum() + xt.mean(1) + xt.sum()),
    }
    ours_fn, theirs_fn = cases[name]
    ours, theirs = ours_fn(), theirs_fn()
    _close(ours.data, theirs)
    dy = r.normal(size=ours.shape)
    ours.backward(dy)
    theirs.backward(torch.tensor(dy))
    _close(x.grad, xt.grad)


def _small_cnn(x, params, labels):
    w1, b1, w2, b2, fw, fb = params
    h = F.max_pool2d(F._conv2d_relu(x, w1, b1, padding=1), 2)
    h = F.avg_pool2d(F.gelu(F.conv2d(h, w2, b2, stride=1)), 2, padding=1)
    h = F._linear_relu(h.flatten(1), fw, fb)
    return F.cross_entropy(h, labels, label_smoothing=0.05)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backends_agree_on_a_small_cnn(dtype):
    r = np.random.default_rng(3)
    shapes = [(6, 2, 3, 3), (6,), (4, 6, 3, 3), (4,), (10, 36), (10,)]
    values = [r.normal(scale=0.5, size=s).astype(dtype) for s in shapes]
    x = r.normal(size=(3, 2, 12, 12)).astype(dtype)
    labels = np.array([1, 7, 3])
    results = {}
    before = pynn.get_backend()
    try:
        for name in backend.BACKENDS:
            pynn.set_backend(name)
            params = [pynn.tensor(v.copy(), requires_grad=True) for v in values]
            xin = pynn.tensor(x.copy(), requires_grad=True)
            loss = _small_cnn(xin, params, labels)
            loss.backward()
            results[name] = [loss.data, xin.grad] + [p.grad for p in params]
    finally:
        pynn.set_backend(before)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for a, b in zip(*results.values()):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
