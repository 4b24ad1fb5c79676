"""Module mechanics: registration, traversal, state_dict / load_state_dict, modes, freezing,
dtype conversion, containers, repr and error messages."""

from collections import OrderedDict

import numpy as np
import pytest
from helpers import assert_close

import pynn
from pynn import backend, nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.fc = nn.Linear(3, 3)
        self.register_buffer("steps", np.zeros((), np.int64))
        self.register_buffer("cache", np.zeros(2, np.float32), persistent=False)

    def forward(self, x):
        return self.fc(x * self.scale)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
        self.tied = self.block.fc  # the same module under a second name

    def forward(self, x):
        return self.head(self.block(x))


def test_parameter_is_a_leaf_tensor_with_torch_like_repr():
    p = nn.Parameter(np.array([1.0, 2.0], np.float32))
    assert isinstance(p, pynn.Tensor) and p.is_leaf and p.requires_grad
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert str(p) == repr(p)  # print(p) too
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    frozen = np.zeros(3, np.float32)
    frozen.flags.writeable = False
    assert nn.Parameter(frozen).detach().numpy().flags.writeable  # copied into writeable storage


def test_registration_and_named_members():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # preorder, registration order, the tied module's parameters only once
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.1.weight",
                     "head.1.bias"]
    assert len(list(net.parameters())) == 5
    assert next(n for n, _ in net.named_parameters(prefix="model")) == "model.block.scale"
    assert [n for n, _ in net.block.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "head", "head.0",
                                                   "head.1"]
    assert [n for n, _ in net.named_children()] == ["block", "head", "tied"]
    assert net.get_submodule("head.1") is net.head[1]
    # state_dict: persistent buffers only; the tied module appears under both names
    assert list(net.state_dict()) == [
        "block.scale", "block.steps", "block.fc.weight", "block.fc.bias", "head.1.weight",
        "head.1.bias", "tied.weight", "tied.bias"]


def test_setattr_rules():
    m = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = np.ones(3)
    m.scale = None  # allowed, as in PyTorch
    assert "scale" not in dict(m.named_parameters())
    m.steps = np.ones((), np.int64)  # a buffer name takes a new array
    assert m.state_dict()["steps"] == 1
    del m.fc
    assert not hasattr(m, "fc")

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_state_dict_returns_copies_and_keep_vars_live_objects():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    sd["weight"][...] = 7
    assert not np.any(lin.weight.detach().numpy() == 7)
    live = lin.state_dict(keep_vars=True)
    assert live["weight"] is lin.weight


def test_load_state_dict_copies_in_place_and_casts():
    lin = nn.Linear(2, 3)
    w_array = lin.weight.detach().numpy()
    new = {"weight": np.arange(6, dtype=np.float64).reshape(3, 2), "bias": np.ones(3)}
    result = lin.load_state_dict(new)
    assert lin.weight.detach().numpy() is w_array and w_array.dtype == np.float32
    np.testing.assert_array_equal(w_array, new["weight"])
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    lin.load_state_dict({"weight": pynn.tensor(np.zeros((3, 2))), "bias": np.zeros(3)})
    assert not lin.weight.detach().numpy().any()


def test_load_state_dict_errors_list_every_problem_and_load_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    before = model.state_dict()
    bad = model.state_dict()
    del bad["2.bias"]
    bad["extra.weight"] = np.zeros(1)
    bad["0.weight"] = np.zeros((3, 5))
    bad["1.running_mean"] = bad["1.running_mean"] + 1
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    assert "Sequential" in msg
    assert 'Missing key(s) in state_dict: "2.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "0.weight" in msg and "[3, 5]" in msg and "[3, 2]" in msg
    for k, v in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(v, before[k])

    # strict=False: the namedtuple, and the matching keys are loaded
    del bad["0.weight"]
    result = model.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["0.weight", "2.bias"]
    assert result.unexpected_keys == ["extra.weight"]
    assert result == (["0.weight", "2.bias"], ["extra.weight"])
    np.testing.assert_array_equal(model[1].running_mean, before["1.running_mean"] + 1)
    # shape mismatches are errors even when not strict, as in PyTorch
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"2.weight": np.zeros((2, 3))}, strict=False)


def test_load_state_dict_keeps_optimizer_working():
    lin = nn.Linear(2, 1)
    opt = pynn.optim.SGD(lin.parameters(), lr=0.1)
    lin.load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1)})
    loss = lin(pynn.tensor(np.ones((1, 2), np.float32))).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(lin.weight.detach().numpy(), [[0.9, 0.9]])


def test_freezing_leaves_grads_none():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    x = pynn.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    model(x).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert not model[2].weight.grad.numpy().any()
    model.zero_grad()
    assert model[2].weight.grad is None


def test_train_eval_switch_dropout_and_batchnorm():
    pynn.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.5))
    assert model.training and model[1].training
    x = pynn.tensor(np.random.default_rng(0).normal(3.0, 2.0, (64, 4)))
    model.double()
    y = model(x).detach().numpy()
    assert np.mean(y == 0) > 0.3  # dropout active
    assert int(model[0].num_batches_tracked) == 1
    assert model.eval() is model and not model[0].training and not model[1].training
    y = model(x).detach().numpy()
    assert int(model[0].num_batches_tracked) == 1  # eval does not touch the running stats
    rm, rv = model[0].running_mean.numpy(), model[0].running_var.numpy()
    np.testing.assert_allclose(y, (x.numpy() - rm) / np.sqrt(rv + 1e-5))  # running stats, no drop
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")


def test_dropout_validates_p_and_scales():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    pynn.manual_seed(1)
    y = nn.Dropout(0.25)(pynn.tensor(np.ones(10000, np.float32))).detach().numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs(np.mean(y == 0) - 0.25) < 0.02


def test_to_double_converts_in_place():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    w = model[0].weight
    assert model.double() is model
    assert model[0].weight is w and w.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    model.to("float32")
    assert w.dtype == np.float32 and model[1].running_var.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int32)


def test_apply_visits_children_first():
    seen = []
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_zero(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(init_zero)
    assert not model[0].weight.detach().numpy().any()


def test_sequential_container_protocol():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and list(seq) == [a, b] and seq[-1] is b
    seq.append(c)
    assert seq[2] is c and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert [n for n, _ in head.named_children()] == ["1", "2"]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and list(named.state_dict()) == ["fc.weight", "fc.bias"]
    del seq[1]
    assert list(seq) == [a, c]
    with pytest.raises(IndexError):
        seq[5]
    x = pynn.tensor(np.ones((4, 2), np.float32))
    assert seq(x).shape == (4, 1)


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and isinstance(layers[1:3], nn.ModuleList)
    assert len(list(layers.parameters())) == 6
    layers += [nn.Tanh()]
    assert isinstance(layers[-1], nn.Tanh)


def test_repr_of_a_small_model():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Sequential(nn.Flatten(), nn.Linear(8, 2, bias=False)),
                          nn.Dropout(0.1), nn.Softmax(dim=1))
    assert repr(model) == """\
Sequential(
  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (2): ReLU()
  (3): Sequential(
    (0): Flatten(start_dim=1, end_dim=-1)
    (1): Linear(in_features=8, out_features=2, bias=False)
  )
  (4): Dropout(p=0.1, inplace=False)
  (5): Softmax(dim=1)
)"""
    assert repr(nn.LayerNorm(4)) == (
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)")


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda lib: lib.Linear(3, 2), lambda lib: lib.Conv2d(3, 4, (3, 5), 2, 1),
                 lambda lib: lib.Conv2d(3, 4, 3, bias=False),
                 lambda lib: lib.BatchNorm1d(3, momentum=None), lambda lib: lib.LayerNorm((2, 3)),
                 lambda lib: lib.BatchNorm2d(3, affine=False),
                 lambda lib: lib.BatchNorm2d(3, bias=False),
                 lambda lib: lib.LayerNorm(3, bias=False),
                 lambda lib: lib.LayerNorm(3, elementwise_affine=False),
                 lambda lib: lib.MultiMarginLoss(), lambda lib: lib.CrossEntropyLoss(),
                 lambda lib: lib.Softmax(), lambda lib: lib.GELU()):
        assert repr(make(nn)) == repr(make(torch.nn))


# -- errors naming the layer -------------------------------------------------------------------


def test_linear_wrong_width_names_the_layer():
    with pytest.raises(ValueError) as info:
        nn.Linear(784, 100)(pynn.tensor(np.zeros((32, 783), np.float32)))
    assert str(info.value) == ("Linear(in_features=784, out_features=100): expected input with "
                               "784 features (last dimension), got shape (32, 783)")


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_dtype_mismatch_names_layer_and_dtypes(dtype):
    for layer, shape in ((nn.Linear(4, 2), (3, 4)), (nn.Conv2d(2, 2, 3), (1, 2, 4, 4)),
                         (nn.BatchNorm2d(2), (2, 2, 3, 3)), (nn.LayerNorm(4), (2, 4))):
        with pytest.raises(TypeError) as info:
            layer(pynn.tensor(np.zeros(shape, dtype)))
        msg = str(info.value)
        assert type(layer).__name__ in msg and np.dtype(dtype).name in msg and "float32" in msg


def test_conv_and_batchnorm_shape_errors():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*3 channels.*\(2, 4, 8, 8\)"):
        conv(pynn.tensor(np.zeros((2, 4, 8, 8), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*4-D.*\(8, 8\)"):
        conv(pynn.tensor(np.zeros((8, 8), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(4\) .*groups \(3\)"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 4D input \(got 3D"):
        nn.BatchNorm2d(3)(pynn.tensor(np.zeros((2, 3, 8), np.float32)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*2D or 3D"):
        nn.BatchNorm1d(3)(pynn.tensor(np.zeros((2, 3, 4, 4), np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(pynn.tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"LayerNorm.*\(4,\)"):
        nn.LayerNorm(4)(pynn.tensor(np.zeros((2, 5), np.float32)))


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_dim_none_takes_torchs_implicit_dim_with_its_warning(name, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        y = getattr(nn, name)()(pynn.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        expected = getattr(torch.nn, name)()(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), expected.numpy(), rtol=1e-12)


def test_forward_missing():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_deepcopy_and_save_load_round_trip(tmp_path):
    import copy

    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight
    clone[0].weight.data[...] = 0
    assert model[0].weight.detach().numpy().any()
    pynn.save(model.state_dict(), tmp_path / "m.pynn")
    assert clone.load_state_dict(pynn.load(tmp_path / "m.pynn")).missing_keys == []
    np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(5, 4), (3, 5)), (lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 4, 4))])
def test_sequential_fused_relu_equals_separate_layers(make, shape):
    layer = make()
    x = pynn.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    fused = nn.Sequential(layer, nn.ReLU())(x)
    np.testing.assert_allclose(fused.data, nn.ReLU()(layer(x)).data, rtol=1e-6, atol=1e-6)



def test_sequential_decides_its_fused_steps_again_when_modules_or_hooks_change():
    """Sequential decides once which layers it fuses; a hook registered (or removed) on a child
    after the first call, or a module replaced or appended, is honoured on the next call."""
    pynn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    x = pynn.randn(2, 4)
    before = model(x)  # Linear and ReLU run as one fused call
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append(out))
    np.testing.assert_array_equal(model(x).data, before.data)
    assert len(seen) == 1, "a hook registered after the first call must run"
    handle.remove()
    model(x)
    assert len(seen) == 1
    model[1] = nn.Tanh()
    np.testing.assert_allclose(model(x).detach().numpy(),
                               np.tanh(model[0](x).detach().numpy()), rtol=1e-6)
    model.append(nn.Linear(3, 1))
    assert model(x).shape == (2, 1)


def test_sequential_honours_a_pool_option_changed_after_the_first_call():
    pynn.manual_seed(0)
    conv, pool = nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)
    model = nn.Sequential(conv, nn.ReLU(), pool)
    x = pynn.randn(1, 1, 7, 7)
    assert model(x).shape == (1, 2, 2, 2)  # fused with the convolution
    pool.ceil_mode = True
    expected = pool(nn.ReLU()(conv(x)))
    assert expected.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(model(x).detach().numpy(), expected.detach().numpy(), rtol=1e-6)


# Sequentials that Sequential runs as fewer kernel calls, with the same layers one by one.
_CONV_POOL_ORDERS = {
    "conv_relu_pool": (lambda c, p: nn.Sequential(c, nn.ReLU(), p),
                       lambda c, p, x: p(nn.ReLU()(c(x))), True),
    "conv_pool_relu": (lambda c, p: nn.Sequential(c, p, nn.ReLU()),
                       lambda c, p, x: nn.ReLU()(p(c(x))), True),
    "conv_pool": (lambda c, p: nn.Sequential(c, p), lambda c, p, x: p(c(x)), True),
    # not fused with the convolution: the ReLU runs after the pool
    "relu_pool": (lambda c, p: nn.Sequential(c, nn.Identity(), nn.ReLU(), p),
                  lambda c, p, x: p(nn.ReLU()(c(x))), False),
}


@pytest.mark.parametrize("pool_args", [(2,), (3, 2, 1)])
@pytest.mark.parametrize("order", sorted(_CONV_POOL_ORDERS))
def test_sequential_rewrites_give_the_same_values_and_gradients(order, pool_args, each_backend,
                                                                monkeypatch):
    """Sequential fuses a convolution with the max-pool after it (and a ReLU on either side)
    or runs a ReLU after the max-pool; the layers applied one by one give the same output and
    the same gradients, also where whole windows are negative."""
    make, separately, fused_with_conv = _CONV_POOL_ORDERS[order]
    pynn.manual_seed(0)
    conv, pool = nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(*pool_args)
    x_data = np.random.default_rng(1).standard_normal((2, 2, 6, 5)).astype(np.float32)
    calls = []
    original = backend.active.conv2d_maxpool_forward
    monkeypatch.setattr(backend.active, "conv2d_maxpool_forward",
                        lambda *args: calls.append(1) or original(*args))
    grads = []
    for run in (make(conv, pool), lambda x: separately(conv, pool, x)):
        conv.zero_grad()
        x = pynn.tensor(x_data, requires_grad=True)
        y = run(x)
        (y * pynn.tensor(np.arange(y.numel(), dtype=np.float32).reshape(y.shape))).sum() \
            .backward()
        grads.append((y.detach().numpy(), x.grad.numpy().copy(), conv.weight.grad.numpy().copy(),
                      conv.bias.grad.numpy().copy()))
    assert len(calls) == fused_with_conv
    if "relu" in order:
        assert (grads[0][0] == 0).any()  # some windows were all negative
    # The fused kernel sums the weight and bias gradients over the pooled values only, in its
    # own order: float32 rounding of sums over the batch's 2 x 6 x 5 output positions.
    for fused, separate in zip(*grads):
        assert_close(fused, separate, np.float32, reduction_len=2 * 6 * 5)
