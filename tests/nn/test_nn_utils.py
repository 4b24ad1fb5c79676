"""``pynn.nn.utils`` (clipping, parameters as one vector, ``rnn`` padding and packing) and the
``pynn.nn.modules`` / ``pynn.nn.functional`` import paths, against PyTorch."""

import numpy as np
import pytest

import pynn
from pynn import nn

torch = pytest.importorskip("torch")


def _pair():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    (ours(pynn.tensor(x)) ** 2).sum().backward()
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_returns_the_norm_as_a_tensor_and_clips_like_torch(norm_type):
    ours, theirs = _pair()
    got = nn.utils.clip_grad_norm_(ours.parameters(), 0.5, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5, norm_type)
    assert isinstance(got, pynn.Tensor) and got.shape == () and got.dtype == pynn.float32
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-5)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_deprecated_clip_grad_norm_warns_and_clips_like_torch():
    ours, theirs = _pair()
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        got = nn.utils.clip_grad_norm(ours.parameters(), 0.5)
    with pytest.warns(FutureWarning):
        expected = torch.nn.utils.clip_grad_norm(theirs.parameters(), 0.5)
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-5)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _pair()
    vec = nn.utils.parameters_to_vector(ours.parameters())
    tvec = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    w = ours[0].weight
    nn.utils.vector_to_parameters(vec * 2, ours.parameters())
    assert ours[0].weight is w
    np.testing.assert_allclose(nn.utils.parameters_to_vector(ours.parameters()).detach().numpy(),
                               2 * tvec.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_and_pack_sequences_match_torch(batch_first):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    R, TR = nn.utils.rnn, torch.nn.utils.rnn
    padded = R.pad_sequence([pynn.tensor(a) for a in arrays], batch_first, -1.0)
    tpadded = TR.pad_sequence([torch.tensor(a) for a in arrays], batch_first, -1.0)
    np.testing.assert_array_equal(padded.numpy(), tpadded.numpy())
    packed = R.pack_padded_sequence(padded, [2, 4, 1], batch_first, enforce_sorted=False)
    tpacked = TR.pack_padded_sequence(tpadded, [2, 4, 1], batch_first, enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.numpy(), tpacked.data.numpy())
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), tpacked.batch_sizes.numpy())
    np.testing.assert_array_equal(packed.sorted_indices.numpy(), tpacked.sorted_indices.numpy())
    out, lengths = R.pad_packed_sequence(packed, batch_first, total_length=5)
    tout, tlengths = TR.pad_packed_sequence(tpacked, batch_first, total_length=5)
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    np.testing.assert_array_equal(lengths.numpy(), tlengths.numpy())
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_padded_sequence(padded, [2, 4, 1], batch_first)


def test_import_paths_scripts_use():
    from pynn.nn.modules.batchnorm import _BatchNorm
    from pynn.nn.modules.loss import _Loss, _WeightedLoss
    from pynn.nn.modules.module import Module

    import pynn.functional
    import pynn.nn.functional as F
    from pynn.nn import functional as F2
    from pynn.nn.parameter import Parameter

    assert F is F2 is pynn.functional
    assert Module is nn.Module and Parameter is nn.Parameter
    assert issubclass(nn.BatchNorm2d, _BatchNorm) and issubclass(nn.NLLLoss, _WeightedLoss)

    class MyLoss(_Loss):
        def forward(self, input, target):
            return F.l1_loss(input, target, reduction=self.reduction)

    loss = MyLoss(reduction="sum")(pynn.tensor([1.0, 2.0]), pynn.tensor([0.0, 0.0]))
    assert loss.item() == 3.0


def test_init_functions_added_for_pytorch_scripts():
    from pynn.nn import init

    w = pynn.zeros(3, 5)
    assert init.orthogonal_(w, gain=2.0) is w
    a = w.numpy().astype(np.float64)
    np.testing.assert_allclose(a @ a.T, 4 * np.eye(3), atol=1e-5)
    w = pynn.zeros(6, 2, 2)
    a = init.orthogonal_(w).numpy().reshape(6, 4).astype(np.float64)
    np.testing.assert_allclose(a.T @ a, np.eye(4), atol=1e-5)
    t = init.trunc_normal_(pynn.zeros(2000), mean=0.5, std=1.0, a=0.0, b=1.0).numpy()
    assert t.min() >= 0.0 and t.max() <= 1.0 and abs(t.mean() - 0.5) < 0.05
    for shape, groups in (((4, 2, 3, 3), 1), ((4, 2, 3), 2), ((2, 3, 3, 3, 3), 1)):
        ours = init.dirac_(pynn.zeros(*shape), groups).numpy()
        np.testing.assert_array_equal(ours, torch.nn.init.dirac_(torch.zeros(*shape),
                                                                 groups).numpy())
    np.testing.assert_array_equal(init.eye_(pynn.zeros(2, 3)).numpy(), np.eye(2, 3))
    s = init.sparse_(pynn.zeros(10, 4), sparsity=0.3).numpy()
    assert ((s == 0).sum(axis=0) >= 3).all()
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(pynn.zeros(3))


def test_lazy_linear_and_gumbel_softmax():
    m = nn.LazyLinear(3)
    assert isinstance(m.weight, nn.UninitializedParameter)
    y = m(pynn.randn(2, 5))
    assert tuple(y.shape) == (2, 3) and tuple(m.weight.shape) == (3, 5)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    logits = pynn.randn(4, 6, requires_grad=True)
    hard = pynn.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    np.testing.assert_array_equal(hard.detach().numpy().sum(-1), np.ones(4))
    assert set(np.unique(hard.detach().numpy())) <= {0.0, 1.0}
    (hard * pynn.randn(4, 6)).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    soft = pynn.nn.functional.gumbel_softmax(logits, tau=2.0)
    np.testing.assert_allclose(soft.detach().numpy().sum(-1), np.ones(4), rtol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_recurrent_layers_take_packed_sequences_like_torch(kind, enforce_sorted):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True,
                                     batch_first=True).double()
    ours = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True,
                             dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(2)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = rng.standard_normal((4, 5, 3))
    R, TR = nn.utils.rnn, torch.nn.utils.rnn
    xt = torch.tensor(x, requires_grad=True)
    xo = pynn.tensor(x, requires_grad=True)
    tp = TR.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    op = R.pack_padded_sequence(xo, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    h0 = rng.standard_normal((4, 4, 4))
    t_hx = torch.tensor(h0) if kind != "LSTM" else (torch.tensor(h0), torch.tensor(h0 * 0.5))
    o_hx = pynn.tensor(h0) if kind != "LSTM" else (pynn.tensor(h0), pynn.tensor(h0 * 0.5))
    t_out, t_h = theirs(tp, t_hx)
    o_out, o_h = ours(op, o_hx)
    t_pad, _ = TR.pad_packed_sequence(t_out, batch_first=True)
    o_pad, _ = R.pad_packed_sequence(o_out, batch_first=True)
    np.testing.assert_allclose(o_pad.detach().numpy(), t_pad.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    t_h = t_h if kind != "LSTM" else t_h[0]
    o_h = o_h if kind != "LSTM" else o_h[0]
    np.testing.assert_allclose(o_h.detach().numpy(), t_h.detach().numpy(), rtol=1e-10)
    (t_pad.sum() + t_h.sum()).backward()
    (o_pad.sum() + o_h.sum()).backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
