"""The tensor library against PyTorch: dtypes, devices, factories, indexing with gradients,
in-place semantics, scalars and printing. Each check runs the same code on ``torch`` and on
``pynn`` (imported as a torch replacement) and compares."""

import importlib
import math
import warnings

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
           "int": "int32", "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}


def dname(dt):
    """A dtype's name, whichever library it comes from."""
    return str(dt).split(".")[-1]


def as_np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def assert_same(p, t, exact=False):
    """pynn Tensor ``p`` equals torch Tensor ``t``: shape, dtype and values."""
    assert tuple(p.shape) == tuple(t.shape)
    assert dname(p.dtype) == dname(t.dtype), (p.dtype, t.dtype)
    if exact:
        np.testing.assert_array_equal(as_np(p), as_np(t))
    else:
        np.testing.assert_allclose(as_np(p), as_np(t), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("name", DTYPES + list(ALIASES) + ["bfloat16"])
def test_dtype_objects_match_torch(name):
    d, td = getattr(pynn, name), getattr(torch, name)
    assert isinstance(d, pynn.dtype)
    assert repr(d) == repr(td).replace("torch.", "pynn.")
    assert d.is_floating_point == td.is_floating_point
    assert d.is_complex == td.is_complex
    assert d.itemsize == td.itemsize
    if name != "bfloat16":
        assert d == np.dtype(dname(td).replace("bool", "bool_") if False else d.dtype)
        assert np.dtype(d) == np.dtype(d.dtype) and hash(d) == hash(np.dtype(d))
        assert d == np.dtype(d).type  # equal to the NumPy scalar type too
        assert d.kind == np.dtype(d).kind  # NumPy's attributes are readable


def test_dtype_equality_and_errors():
    assert pynn.float32 == pynn.float and pynn.float32 != pynn.float64
    assert pynn.float32 == np.float32 and np.float32 == pynn.float32
    assert pynn.float32 == np.dtype("float32") and np.dtype("float32") == pynn.float32
    assert pynn.float32 in (np.float32, np.float64) and pynn.float32 != "float32"
    assert {pynn.float32: 1}[pynn.float] == 1
    assert np.zeros(2, pynn.float64).dtype == np.float64
    assert np.arange(3).astype(pynn.float32).dtype == np.float32
    with pytest.raises(TypeError, match="bfloat16"):
        pynn.zeros(2, dtype=pynn.bfloat16)


@pytest.mark.parametrize("name", DTYPES)
def test_tensor_dtype_and_casts(name):
    t = torch.tensor([1.5, 0.0, -2.0]).to(getattr(torch, name))
    p = pynn.tensor([1.5, 0.0, -2.0]).to(getattr(pynn, name))
    assert_same(p, t, exact=True)
    assert isinstance(p.dtype, pynn.dtype) and p.dtype == getattr(pynn, name)
    assert p.is_floating_point() == t.is_floating_point()
    assert p.element_size() == t.element_size()
    for method in ("float", "double", "half", "long", "int", "bool", "short", "char", "byte"):
        assert_same(getattr(p, method)(), getattr(t, method)(), exact=True)
    assert_same(p.type(pynn.float64), t.type(torch.float64), exact=True)


def test_default_dtype():
    assert pynn.get_default_dtype() is pynn.float32
    try:
        pynn.set_default_dtype(pynn.float64)
        assert pynn.tensor([1.5]).dtype == pynn.float64
        assert pynn.zeros(2).dtype == pynn.float64 and pynn.randn(2).dtype == pynn.float64
        assert pynn.arange(0.0, 1.0, 0.5).dtype == pynn.float64
        with pytest.raises(TypeError):
            pynn.set_default_dtype(pynn.int64)
    finally:
        pynn.set_default_dtype(pynn.float32)
    assert pynn.tensor([1.5]).dtype == pynn.float32


PROMOTION = [
    # (operand a, operand b) described as ("tensor"/"0d"/"scalar", dtype or Python value)
    (("tensor", "int64"), ("scalar", 2.5)),
    (("tensor", "int64"), ("scalar", 2)),
    (("tensor", "float32"), ("scalar", 2.5)),
    (("tensor", "float16"), ("scalar", 2.5)),
    (("tensor", "int32"), ("tensor", "float64")),
    (("tensor", "uint8"), ("tensor", "int8")),
    (("tensor", "bool"), ("scalar", 1)),
    (("tensor", "bool"), ("tensor", "bool")),
    (("tensor", "int64"), ("0d", "float64")),
    (("tensor", "float16"), ("0d", "float64")),
    (("tensor", "int32"), ("0d", "int64")),
    (("0d", "int32"), ("0d", "int64")),
    (("tensor", "float32"), ("tensor", "float64")),
]


def _operand(lib, spec):
    kind, v = spec
    if kind == "scalar":
        return v
    t = lib.tensor([1, 0] if kind == "tensor" else 1, dtype=getattr(lib, v))
    return t


@pytest.mark.parametrize("a, b", PROMOTION)
def test_result_type_matches_torch(a, b):
    got = pynn.result_type(_operand(pynn, a), _operand(pynn, b))
    want = torch.result_type(_operand(torch, a), _operand(torch, b))
    assert dname(got) == dname(want)


@pytest.mark.parametrize("a, b", [("int64", "float32"), ("uint8", "int8"), ("bool", "int32"),
                                  ("float16", "float64"), ("int8", "int16")])
def test_promote_types_and_can_cast(a, b):
    pa, pb, ta, tb = getattr(pynn, a), getattr(pynn, b), getattr(torch, a), getattr(torch, b)
    assert dname(pynn.promote_types(pa, pb)) == dname(torch.promote_types(ta, tb))
    assert pynn.can_cast(pa, pb) == torch.can_cast(ta, tb)
    assert pynn.can_cast(pb, pa) == torch.can_cast(tb, ta)


@pytest.mark.parametrize("name, fields", [
    *((d, ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"))
      for d in ("float32", "float64", "float16")),
    *((d, ("bits", "min", "max", "dtype")) for d in ("int8", "uint8", "int32", "int64")),
])
def test_finfo_iinfo_match_torch(name, fields):
    info = pynn.finfo if name.startswith("float") else pynn.iinfo
    ours = info(getattr(pynn, name))
    theirs = getattr(torch, info.__name__)(getattr(torch, name))
    # Python numbers, as PyTorch's: a NumPy float32 scalar would print other digits
    for f in fields:
        a, b = getattr(ours, f), getattr(theirs, f)
        assert a == b and type(a) is type(b), (f, a, b)
    assert repr(ours) == repr(theirs)
    assert pynn.finfo().max == torch.finfo().max


# ---------------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize("args", [("cpu",), ("cpu", 0), ("cpu:0",), ("cuda",), ("cuda:1",),
                                  ("mps",)])
def test_device_objects_match_torch(args):
    d, td = pynn.device(*args), torch.device(*args)
    assert str(d) == str(td) and repr(d) == repr(td)
    assert d.type == td.type and d.index == td.index
    assert d == pynn.device(*args) and hash(d) == hash(pynn.device(*args))
    assert (d == pynn.device("cpu")) == (td == torch.device("cpu"))
    assert (d == "cpu") == (td == "cpu")


def test_device_idiom():
    device = pynn.device("cuda" if pynn.cuda.is_available() else "cpu")
    x = pynn.randn(2, 3, device=device)
    assert x.device == pynn.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    flags = ("is_cuda", "is_mps", "is_xpu", "is_cpu", "is_sparse", "is_meta")
    t = torch.randn(2, 3)
    assert [getattr(x, f) for f in flags] == [getattr(t, f) for f in flags]
    assert x.to(device) is x and x.to("cpu", non_blocking=True) is x and x.cpu() is x
    assert x.pin_memory() is x
    assert x.to(pynn.float64).dtype == pynn.float64
    assert x.to("cpu", pynn.float64).dtype == pynn.float64
    assert x.to(device=device, dtype=pynn.float16).dtype == pynn.float16
    assert x.to(pynn.tensor([1], dtype=pynn.int32)).dtype == pynn.int32
    assert pynn.cuda.device_count() == 0 and not pynn.backends.mps.is_available()
    pynn.cuda.manual_seed(0)
    pynn.cuda.manual_seed_all(0)
    pynn.backends.cudnn.benchmark = True
    pynn.backends.cudnn.deterministic = True
    assert not pynn.accelerator.is_available() and pynn.accelerator.current_accelerator() is None


@pytest.mark.parametrize("call", [
    lambda: pynn.zeros(2, device="cuda"),
    lambda: pynn.tensor([1.0], device="cuda:0"),
    lambda: pynn.randn(2, device=pynn.device("mps")),
    lambda: pynn.ones(2).to("cuda"),
    lambda: pynn.ones(2).to(pynn.device("cuda", 0)),
    lambda: pynn.ones(2).cuda(),
    lambda: pynn.ones(2).new_zeros(3, device="cuda"),
    lambda: pynn.arange(3, device="cuda"),
])
def test_other_devices_raise_one_clear_error(call):
    with pytest.raises(RuntimeError, match="pynn runs on the CPU only"):
        call()


# ---------------------------------------------------------------------------------------------
# factories

FACTORIES = [
    ("zeros", (2, 3), {}),
    ("zeros", ((2, 3),), {"dtype": "int64"}),
    ("ones", ([4],), {}),
    ("ones", (2, 1), {"dtype": "float64"}),
    ("full", ((2, 2), 7), {}),
    ("full", ((2, 2), 1.5), {}),
    ("full", ((3,), True), {}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"dtype": "int32"}),
    ("arange", (5,), {}),
    ("arange", (1, 10, 3), {}),
    ("arange", (0, 1, 0.1), {}),
    ("arange", (0.0, 5), {}),
    ("arange", (10, 0, -2), {}),
    ("linspace", (0, 1, 7), {}),
    ("linspace", (-2, 2, 5), {"dtype": "float64"}),
    ("logspace", (0, 3, 4), {}),
    ("logspace", (0, 3, 4), {"base": 2.0}),
    ("empty", (0, 3), {}),
    ("tensor", ([[1, 2], [3, 4]],), {}),
    ("tensor", ([1.5, 2],), {}),
    ("tensor", (3.5,), {}),
    ("tensor", ([True, False],), {}),
    ("tensor", ([1, 2],), {"dtype": "float64"}),
    ("tensor", (np.arange(3, dtype=np.int32),), {}),
    ("tensor", ([],), {}),
    ("as_tensor", ([1, 2, 3],), {}),
    ("as_tensor", (np.ones(2, np.float64),), {"dtype": "float32"}),
    ("scalar_tensor", (3,), {}),
]


def _kwargs(lib, kwargs):
    return {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name, args, kwargs", FACTORIES)
def test_factories_match_torch(name, args, kwargs):
    p = getattr(pynn, name)(*args, **_kwargs(pynn, kwargs))
    t = getattr(torch, name)(*args, **_kwargs(torch, kwargs))
    if name == "empty":
        assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype)
    else:
        assert_same(p, t)
    assert not p.requires_grad and p.is_leaf


LIKE = [("zeros_like", ()), ("ones_like", ()), ("full_like", (2.5,)), ("empty_like", ()),
        ("rand_like", ()), ("randn_like", ())]


@pytest.mark.parametrize("name, args", LIKE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_like_factories(name, args, dtype):
    src_p = pynn.ones(2, 3, dtype=getattr(pynn, dtype))
    src_t = torch.ones(2, 3, dtype=getattr(torch, dtype))
    p, t = getattr(pynn, name)(src_p, *args), getattr(torch, name)(src_t, *args)
    assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype)
    if name in ("zeros_like", "ones_like", "full_like"):
        assert_same(p, t)
    q = getattr(pynn, name)(src_p, *args, dtype=pynn.float16, requires_grad=True)
    assert q.dtype == pynn.float16 and q.requires_grad


def test_randint_like_and_new_methods():
    p = pynn.randint_like(pynn.zeros(3, 4), 5, 9)
    assert p.shape == (3, 4) and p.dtype == pynn.float32
    assert ((p >= 5) & (p < 9)).all().item()
    base_p, base_t = pynn.ones(2, dtype=pynn.float64), torch.ones(2, dtype=torch.float64)
    for name, args in [("new_zeros", (2, 3)), ("new_ones", ((4,),)), ("new_full", ((2,), 3)),
                       ("new_tensor", ([1, 2],)), ("new_empty", (3,))]:
        p, t = getattr(base_p, name)(*args), getattr(base_t, name)(*args)
        assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype), name
        if name != "new_empty":
            assert_same(p, t)
    q = base_p.new_zeros(2, dtype=pynn.int64, requires_grad=False)
    assert q.dtype == pynn.int64


def test_factory_requires_grad_and_errors():
    x = pynn.zeros(2, 2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        pynn.zeros(2, dtype=pynn.int64, requires_grad=True)
    with pytest.raises(RuntimeError):
        pynn.zeros(-1)
    with pytest.raises(RuntimeError):
        torch.zeros(-1)


def test_tensor_copies_and_from_numpy_shares():
    a = np.arange(4.0)
    t = pynn.tensor(a)
    t[0] = 10.0
    assert a[0] == 0.0  # torch.tensor copies
    s = pynn.from_numpy(a)
    s[1] = 7.0
    assert a[1] == 7.0 and s.dtype == pynn.float64  # from_numpy shares
    a[2] = 5.0
    assert s[2].item() == 5.0
    v = pynn.as_tensor(a)
    assert v._data is a
    with pytest.raises(TypeError):
        pynn.from_numpy([1, 2])


def test_tensor_constructor():
    for args in [(2, 3), ((2, 3),), ([1, 2],), ([[1.5]],), ()]:
        p = pynn.Tensor(*args) if args != ((2, 3),) else pynn.Tensor(pynn.Size([2, 3]))
        t = torch.Tensor(*args) if args != ((2, 3),) else torch.Tensor(torch.Size([2, 3]))
        assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype)
    assert isinstance(pynn.tensor([1]), pynn.Tensor)
    assert pynn.FloatTensor([1, 2]).dtype == pynn.float32
    assert pynn.LongTensor(3).shape == (3,) and pynn.LongTensor(3).dtype == pynn.int64
    assert isinstance(pynn.tensor([1, 2]), pynn.LongTensor)
    assert not isinstance(pynn.tensor([1.0]), pynn.LongTensor)
    assert pynn.tensor([1.0]).type() == "pynn.FloatTensor"
    assert pynn.tensor([1.0]).type(pynn.LongTensor).dtype == pynn.int64
    assert pynn.tensor([1.0]).type("torch.DoubleTensor").dtype == pynn.float64


# random factories: shapes, dtypes, moments and seeding (not values)

RANDOM = [
    ("rand", lambda lib, **k: lib.rand(200, 300, **k), 0.5, math.sqrt(1 / 12)),
    ("randn", lambda lib, **k: lib.randn((200, 300), **k), 0.0, 1.0),
    ("randint", lambda lib, **k: lib.randint(3, 10, (200, 300), **k), 6.0, math.sqrt(48 / 12)),
    ("randint_high", lambda lib, **k: lib.randint(4, (60000,), **k), 1.5, math.sqrt(15 / 12)),
    ("randint_high_size_kw", lambda lib, **k: lib.randint(4, size=(60000,), **k), 1.5,
     math.sqrt(15 / 12)),
    ("normal", lambda lib, **k: lib.normal(2.0, 3.0, (200, 300), **k), 2.0, 3.0),
    ("normal_tensors", lambda lib, **k: lib.normal(lib.full((200, 300), -1.0),
                                                   lib.full((200, 300), 0.5), **k), -1.0, 0.5),
    ("bernoulli", lambda lib, **k: lib.bernoulli(lib.full((200, 300), 0.3), **k), 0.3,
     math.sqrt(0.21)),
    ("randperm", lambda lib, **k: lib.randperm(1000, **k), 499.5, math.sqrt((1000**2 - 1) / 12)),
]


@pytest.mark.parametrize("name, make, mean, std", RANDOM)
def test_random_factories(name, make, mean, std):
    p, t = make(pynn), make(torch)
    assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype)
    x = p._data.astype(np.float64)
    n = x.size
    assert abs(x.mean() - mean) < 6 * std / math.sqrt(n) + 1e-9
    assert abs(x.std() - std) < 0.05 * std
    pynn.manual_seed(123)
    a = make(pynn)
    pynn.manual_seed(123)
    b = make(pynn)
    np.testing.assert_array_equal(a._data, b._data)
    g1, g2 = pynn.Generator().manual_seed(7), pynn.Generator().manual_seed(7)
    np.testing.assert_array_equal(make(pynn, generator=g1)._data,
                                  make(pynn, generator=g2)._data)
    assert not np.array_equal(make(pynn)._data, make(pynn)._data)


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("args", [(3, 3), (4, 3, 1), (3, 5, -1), (0, 2), (2, 4, 9)])
def test_triangle_indices_match_torch(name, args):
    ours, theirs = getattr(pynn, name)(*args), getattr(torch, name)(*args)
    assert ours.dtype == pynn.int64 and ours.tolist() == theirs.tolist()
    assert getattr(pynn, name)(3, 3, dtype=pynn.int32).dtype == pynn.int32


def test_random_draws_as_methods():
    probs = pynn.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert probs.multinomial(2, replacement=True).tolist() == [[1, 1], [0, 0]]
    assert probs.bernoulli().tolist() == probs.tolist()


def test_randperm_and_multinomial():
    p = pynn.randperm(50)
    assert sorted(p.tolist()) == list(range(50)) and p.dtype == pynn.int64
    w = pynn.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    s = pynn.multinomial(w, 2000, replacement=True)
    assert s.shape == (2, 2000) and s.dtype == pynn.int64
    counts = np.bincount(s._data[0], minlength=3) / 2000
    assert counts[0] == 0 and abs(counts[2] - 0.75) < 0.05
    assert (s._data[1] == 0).all()
    u = pynn.multinomial(pynn.ones(10), 10)
    assert sorted(u.tolist()) == list(range(10))
    with pytest.raises(RuntimeError):
        pynn.multinomial(pynn.ones(3), 4)
    one = pynn.multinomial(pynn.tensor([0.2, 0.8]), 1)
    assert tuple(one.shape) == tuple(torch.multinomial(torch.tensor([0.2, 0.8]), 1).shape)


def test_rng_state_seed_and_initial_seed():
    pynn.manual_seed(5)
    assert pynn.initial_seed() == 5
    state = pynn.get_rng_state()
    a = pynn.randn(4)
    pynn.set_rng_state(state)
    np.testing.assert_array_equal(a._data, pynn.randn(4)._data)
    s = pynn.seed()
    assert pynn.initial_seed() == s
    assert pynn.manual_seed(3) is pynn.default_generator


# ---------------------------------------------------------------------------------------------
# indexing with gradients

INDEX_KEYS = [
    lambda lib: 1,
    lambda lib: -1,
    lambda lib: (slice(None), 2),
    lambda lib: (slice(1, None, 2), slice(None, None, -1) if lib is np else slice(None)),
    lambda lib: (Ellipsis, 0),
    lambda lib: (None, 1),
    lambda lib: (slice(None), None, slice(0, 3)),
    lambda lib: lib.tensor([0, 2, 2]),
    lambda lib: (lib.tensor([0, 1]), lib.tensor([3, 0])),
    lambda lib: (slice(None), lib.tensor([1, 1, 4])),
    lambda lib: lib.tensor([True, False, True, True]),
    lambda lib: "mask",
    lambda lib: (lib.tensor([[0], [3]]), lib.tensor([[1, 2]])),
    lambda lib: (1, lib.tensor([0, 4]), ),
    lambda lib: [0, 3],
    lambda lib: (Ellipsis, lib.tensor([4, 0])),
    lambda lib: lib.tensor(2),
]


def _key(lib, make, x):
    key = make(lib)
    return x > 0 if isinstance(key, str) else key


@pytest.mark.parametrize("make", INDEX_KEYS)
def test_getitem_values_and_gradients(make):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 5))
    xp = pynn.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    yp, yt = xp[_key(pynn, make, xp)], xt[_key(torch, make, xt)]
    assert_same(yp, yt, exact=True)
    w = rng.standard_normal(tuple(yt.shape))
    (yp * pynn.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy())


def test_getitem_errors_and_iteration():
    x = pynn.arange(6).reshape(2, 3)
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(IndexError):
        x[pynn.tensor([0.5])]
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3, 4, 5]
    with pytest.raises(TypeError):
        iter(pynn.tensor(1.0)).__next__()


SETITEM = [
    (lambda lib: 1, lambda lib: 5.0),
    (lambda lib: (slice(None), 0), lambda lib: "value_col"),
    (lambda lib: (slice(0, 2), slice(1, 3)), lambda lib: "value_block"),
    (lambda lib: lib.tensor([0, 2]), lambda lib: "value_row"),
    (lambda lib: "mask", lambda lib: 0.0),
    (lambda lib: (Ellipsis, lib.tensor([1, 3])), lambda lib: "value_scalar_t"),
]


def _value(lib, spec, rng_values):
    if not isinstance(spec, str):
        return spec
    return lib.tensor(rng_values[spec], requires_grad=True)


@pytest.mark.parametrize("make_key, make_value", SETITEM)
def test_setitem_in_the_graph_matches_torch(make_key, make_value):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((3, 4))
    values = {"value_col": rng.standard_normal(3), "value_block": rng.standard_normal((2, 2)),
              "value_row": rng.standard_normal(4), "value_scalar_t": np.array(1.5)}
    results = {}
    for lib in (pynn, torch):
        x = lib.tensor(data, requires_grad=True)
        y = x * 2  # a non-leaf: the assignment is recorded
        v = _value(lib, make_value(lib), values)
        y[_key(lib, make_key, y)] = v
        (y * lib.tensor(data)).sum().backward()
        vgrad = v.grad.numpy().copy() if isinstance(v, lib.Tensor) else None
        results[lib] = (y.detach().numpy().copy(), x.grad.numpy().copy(), vgrad)
    (yp, gp, vp), (yt, gt, vt) = results[pynn], results[torch]
    np.testing.assert_allclose(yp, yt)
    np.testing.assert_allclose(gp, gt)
    if vt is not None:
        np.testing.assert_allclose(vp, vt)


def test_setitem_outside_graph_and_leaf_error():
    x = pynn.zeros(3, 4)
    view = x[0]
    x[0, 1] = 2.0
    assert view[1].item() == 2.0 and x._version == 1
    x[:, 2] = pynn.tensor([1.0, 2.0, 3.0])
    assert x[:, 2].tolist() == [1.0, 2.0, 3.0]
    w = pynn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 1.0
    with pynn.no_grad():
        w[0] = 1.0
    assert w[0].item() == 1.0 and w.requires_grad and w.is_leaf
    # writing a tensor that requires grad into a plain buffer puts the buffer in the graph
    h = pynn.zeros(2, 3)
    a = pynn.ones(3, requires_grad=True)
    h[1] = a * 3
    assert h.requires_grad and not h.is_leaf
    h.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0, 3.0]


# ---------------------------------------------------------------------------------------------
# in place

INPLACE = [
    ("add_", lambda lib: (lib.tensor([1.0, 2.0, 3.0]),), {}),
    ("add_", lambda lib: (lib.tensor([1.0, 2.0, 3.0]),), {"alpha": -0.5}),
    ("add_", lambda lib: (2,), {}),
    ("sub_", lambda lib: (lib.tensor([[1.0], [2.0]]),), {"alpha": 2}),
    ("mul_", lambda lib: (lib.tensor([3.0, -1.0, 0.5]),), {}),
    ("div_", lambda lib: (4.0,), {}),
    ("pow_", lambda lib: (2,), {}),
    ("zero_", lambda lib: (), {}),
    ("fill_", lambda lib: (3.5,), {}),
    ("copy_", lambda lib: (lib.tensor([7.0, 8.0, 9.0]),), {}),
    ("copy_", lambda lib: (lib.tensor([1, 2, 3]),), {}),
    ("clamp_", lambda lib: (-0.5, 0.5), {}),
    ("clamp_", lambda lib: (), {"min": 0.0}),
    ("clip_", lambda lib: (), {"max": 0.1}),
    ("clamp_min_", lambda lib: (0.2,), {}),
    ("neg_", lambda lib: (), {}),
    ("abs_", lambda lib: (), {}),
    ("exp_", lambda lib: (), {}),
    ("relu_", lambda lib: (), {}),
    ("sigmoid_", lambda lib: (), {}),
    ("tanh_", lambda lib: (), {}),
    ("floor_", lambda lib: (), {}),
    ("round_", lambda lib: (), {}),
    ("masked_fill_", lambda lib: (lib.tensor([[True, False, True], [False, False, True]]), -1.0),
     {}),
    ("index_fill_", lambda lib: (1, lib.tensor([0, 2]), 9.0), {}),
    ("scatter_", lambda lib: (1, lib.tensor([[2, 0], [1, 1]]), f64(lib, [[5, 6], [7, 8]])), {}),
    ("scatter_add_", lambda lib: (1, lib.tensor([[2, 2], [0, 1]]), f64(lib, [[5, 6], [7, 8]])),
     {}),
    ("index_add_", lambda lib: (0, lib.tensor([1, 1]), f64(lib, np.ones((2, 3)))), {}),
    ("index_add_", lambda lib: (0, lib.tensor([0]), f64(lib, np.ones((1, 3)))), {"alpha": 3}),
    ("addcmul_", lambda lib: (lib.tensor([1.0, 2.0, 3.0]), lib.tensor([2.0, 2.0, 2.0])),
     {"value": 0.5}),
    ("addcdiv_", lambda lib: (lib.tensor([1.0, 2.0, 3.0]), lib.tensor([2.0, 4.0, 8.0])),
     {"value": 2}),
    ("lerp_", lambda lib: (f64(lib, np.ones((2, 3))), 0.25), {}),
    ("fill_diagonal_", lambda lib: (5.0,), {}),
    ("index_copy_", lambda lib: (1, lib.tensor([0, 2]), f64(lib, [[1, 2], [3, 4]])), {}),
    ("sqrt_", "abs", {}),
    ("log_", "abs", {}),
]


def f64(lib, data):
    return lib.tensor(np.asarray(data, np.float64))


def _base(lib):
    return lib.tensor([[0.3, -1.2, 2.5], [1.7, -0.4, 0.9]], dtype=lib.float64)


@pytest.mark.parametrize("name, make_args, kwargs", INPLACE)
def test_inplace_outside_graph_matches_torch(name, make_args, kwargs):
    out = {}
    for lib in (pynn, torch):
        x = _base(lib)
        args = () if isinstance(make_args, str) else make_args(lib)
        if make_args == "abs":
            x = x.abs()
        view = x[0]
        r = getattr(x, name)(*args, **kwargs)
        assert r is x
        out[lib] = (x.numpy().copy(), view.numpy().copy(), x._version)
    np.testing.assert_allclose(out[pynn][0], out[torch][0])
    np.testing.assert_allclose(out[pynn][1], out[torch][1])  # views share the storage
    assert out[pynn][2] >= 1


GRAPH_INPLACE = [name for name, *_ in INPLACE if name not in ("floor_", "round_")]


@pytest.mark.parametrize("row", [r for r in INPLACE if r[0] not in ("floor_", "round_")],
                         ids=lambda r: r[0] if isinstance(r, tuple) else None)
def test_inplace_on_a_graph_tensor_gradients_match_torch(row):
    name, make_args, kwargs = row
    rng = np.random.default_rng(2)
    weights = rng.standard_normal((2, 3))
    res = {}
    for lib in (pynn, torch):
        x = _base(lib).requires_grad_(True)
        y = x * 1.5 + 0.25  # a non-leaf in the graph
        if make_args == "abs":
            y = y.abs() + 0.1
            args = ()
        else:
            args = make_args(lib)
        r = getattr(y, name)(*args, **kwargs)
        assert r is y and y.grad_fn is not None and not y.is_leaf
        (y * lib.tensor(weights)).sum().backward()
        res[lib] = (y.detach().numpy().copy(), x.grad.numpy().copy())
    np.testing.assert_allclose(res[pynn][0], res[torch][0])
    np.testing.assert_allclose(res[pynn][1], res[torch][1], rtol=1e-10, atol=1e-12)


def test_inplace_gradient_flows_to_the_other_operand():
    for lib in (pynn, torch):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        buf = lib.zeros(2, dtype=lib.float64)
        buf.add_(a * a)
        buf.mul_(3.0)
        buf.sum().backward()
        if lib is pynn:
            got = a.grad.numpy().copy()
        else:
            np.testing.assert_allclose(got, a.grad.numpy())


def test_inplace_leaf_error_no_grad_and_version():
    w = pynn.ones(3, requires_grad=True)
    for call in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.uniform_(),
                 lambda: w.__iadd__(1)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            call()
    storage = w._data
    with pynn.no_grad():
        w.add_(1.0)
        w -= 0.5
        w.mul_(pynn.tensor([1.0, 2.0, 3.0]))
    assert w._data is storage and w.tolist() == [1.5, 3.0, 4.5] and w.is_leaf
    assert w._version == 3
    w.data.add_(1.0)  # .data writes through, unrecorded
    assert w.tolist() == [2.5, 4.0, 5.5]
    w.grad = pynn.ones(3)
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0, 0.0]


def test_inplace_dtype_and_shape_errors_match_torch():
    for lib in (pynn, torch):
        i = lib.tensor([1, 2])
        with pytest.raises(RuntimeError, match="can't be cast"):
            i.add_(1.5)
        with pytest.raises(RuntimeError):
            lib.zeros(3).add_(lib.ones(2, 3))
        f = lib.zeros(2)
        f.add_(lib.tensor([1, 2]))  # int into float: fine
        assert f.tolist() == [1.0, 2.0]


def test_augmented_operators_keep_identity():
    for lib in (pynn, torch):
        x = lib.ones(3)
        ident = id(x)
        x += 1
        x *= lib.tensor([1.0, 2.0, 3.0])
        x -= 1
        x /= 2
        assert id(x) == ident and x.tolist() == [0.5, 1.5, 2.5]
    a = pynn.tensor([1.0, 2.0], requires_grad=True)
    y = a * 2
    ident = id(y)
    y += a
    assert id(y) == ident
    y.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


def test_inplace_keeps_saved_values_for_backward():
    # pynn copies on write: a node that saved the old value still computes its gradient
    a = pynn.tensor([1.0, 2.0], dtype=pynn.float64, requires_grad=True)
    y = a * 3
    z = (y * y).sum()  # saves y
    y2 = y.clone()
    y2.add_(100.0)
    z.backward()
    np.testing.assert_allclose(a.grad.numpy(), 18 * a.detach().numpy())


def test_random_inplace_fills():
    pynn.manual_seed(0)
    x = pynn.empty(100000)
    x.uniform_(-2, 2)
    assert -2 <= x.min().item() and x.max().item() < 2 and abs(x.mean().item()) < 0.03
    x.normal_(1.0, 0.5)
    assert abs(x.mean().item() - 1.0) < 0.01 and abs(x.std().item() - 0.5) < 0.01
    x.bernoulli_(0.25)
    assert set(np.unique(x._data)) <= {0.0, 1.0} and abs(x.mean().item() - 0.25) < 0.01
    x.exponential_(2.0)
    assert abs(x.mean().item() - 0.5) < 0.01
    i = pynn.zeros(1000, dtype=pynn.int64).random_(3, 7)
    assert set(np.unique(i._data)) == {3, 4, 5, 6}
    pynn.manual_seed(9)
    a = pynn.empty(5).normal_()
    pynn.manual_seed(9)
    assert a.tolist() == pynn.empty(5).normal_().tolist()


def test_shape_inplace_methods():
    for lib in (pynn, torch):
        x = lib.arange(6.0).reshape(2, 3)
        x.t_()
        assert tuple(x.shape) == (3, 2)
        x.unsqueeze_(0)
        assert tuple(x.shape) == (1, 3, 2)
        x.squeeze_()
        x.transpose_(0, 1)
        assert tuple(x.shape) == (2, 3) and x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        y = lib.arange(6.0)
        y.resize_(2, 2)
        assert y.tolist() == [[0.0, 1.0], [2.0, 3.0]]


# ---------------------------------------------------------------------------------------------
# scalars, sizes and printing


def test_scalars_and_sizes():
    for lib in (pynn, torch):
        t = lib.tensor([2.5])
        assert t.item() == 2.5 and float(t) == 2.5 and int(t) == 2 and bool(t)
        assert format(lib.tensor(3.14159), ".2f") == "3.14"
        assert lib.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
        x = lib.zeros(2, 3, 4)
        assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
        assert x.shape.numel() == 24 and x.dim() == 3 and x.ndimension() == 3
        assert x.nelement() == 24 and x.numel() == 24 and len(x) == 2
        assert x.element_size() == 4 and x.is_contiguous()
        assert x.contiguous() is x and x.shape[1:] == (3, 4)
        assert isinstance(x.shape[1:], type(x.shape))
        assert lib.numel(x) == 24 and lib.is_tensor(x) and not lib.is_tensor(1)
        with pytest.raises(RuntimeError):
            lib.ones(2).item()
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(lib.ones(2))
    assert repr(pynn.Size([2, 3])) == repr(torch.Size([2, 3])).replace("torch", "pynn")
    assert pynn.Size([2, 3]) + (4,) == (2, 3, 4)


def test_numpy_refuses_tensors_that_require_grad():
    for lib in (pynn, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="Can't call numpy"):
            x.numpy()
        assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_clone_and_contiguous():
    x = pynn.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c._data is not x._data and c.grad_fn is not None
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    t = pynn.arange(6.0).reshape(2, 3).t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()


PRINT = [
    lambda lib: lib.tensor([1.0, 2.0]),
    lambda lib: lib.tensor(3.5),
    lambda lib: lib.tensor([1.5, 2e-5]),
    lambda lib: lib.tensor([1e10, 1.0]),
    lambda lib: lib.tensor([[1, 2], [3, 4]]),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.zeros(0, 3),
    lambda lib: lib.tensor([]),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64),
    lambda lib: lib.tensor([1, 2], dtype=lib.int32),
    lambda lib: lib.tensor([float("nan"), float("inf"), 1.5]),
    lambda lib: lib.tensor([123.456, -7.0]),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) + 1,
    lambda lib: lib.arange(24.0).reshape(2, 3, 4) / 7,
    lambda lib: lib.arange(2000),
    lambda lib: lib.tensor(-0.25, dtype=lib.float64),
    lambda lib: lib.tensor(np.random.default_rng(0).standard_normal((50, 40))),
    lambda lib: lib.tensor(np.random.default_rng(1).standard_normal(2000)),
    lambda lib: lib.tensor(np.random.default_rng(2).standard_normal((4, 300)),
                           requires_grad=True),
    lambda lib: lib.tensor([[1e5, 2e5], [3.0, 4.0]]),
    lambda lib: lib.tensor([float("nan"), 1.0, float("-inf")]),
    lambda lib: lib.tensor(np.random.default_rng(3).standard_normal((10, 10, 10)) * 1e-5),
    lambda lib: lib.tensor(np.random.default_rng(4).standard_normal(12), dtype=lib.float64),
    # rows wrapped at PyTorch's count a line (a one-hot row, long integer ranges)
    lambda lib: lib.zeros(1, 57),
    lambda lib: lib.zeros(57),
    lambda lib: lib.arange(100),
    lambda lib: lib.arange(3000).reshape(10, 10, 30),
    lambda lib: lib.tensor(np.random.default_rng(5).standard_normal((3, 30)).astype(np.float32)),
    lambda lib: lib.tensor([True, False] * 20),
    # the width comes from the nonzero values: -0. is not padded for
    lambda lib: lib.tensor([2.0, 2.0, -0.0]),
    lambda lib: lib.zeros(2, 2),
    lambda lib: lib.nn.Parameter(lib.ones(2)),
    lambda lib: lib.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1),
    lambda lib: lib.sort(lib.tensor([3.0, 1.0, 2.0])),
    lambda lib: lib.tensor([[1.0, 5.0], [3.0, 2.0]]).aminmax(),
]


@pytest.mark.parametrize("make", PRINT)
def test_repr_matches_torch(make):
    assert repr(make(pynn)) == repr(make(torch)).replace("torch.", "pynn.")
    assert str(make(pynn)) == str(make(torch)).replace("torch.", "pynn.")


# grad_fn names show when a script prints a loss or an output: PyTorch's, op by op
GRAD_FN = {
    "linear": lambda lib, x: lib.nn.Linear(3, 4)(x),
    "linear_no_bias": lambda lib, x: lib.nn.functional.linear(x, lib.ones(4, 3)),
    "linear_3d": lambda lib, x: lib.nn.Linear(3, 4)(x.view(1, 2, 3)),
    "cross_entropy": lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 2])),
    "cross_entropy_smoothing": lambda lib, x: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 2]), label_smoothing=0.1),
    "nll_loss": lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor([0, 2])),
    "mse_loss": lambda lib, x: lib.nn.functional.mse_loss(x, lib.zeros(2, 3)),
    "bce": lambda lib, x: lib.nn.functional.binary_cross_entropy(x.sigmoid(), lib.ones(2, 3)),
    "bce_logits": lambda lib, x: lib.nn.functional.binary_cross_entropy_with_logits(
        x, lib.ones(2, 3)),
    "l1_loss": lambda lib, x: lib.nn.functional.l1_loss(x, lib.zeros(2, 3)),
    "l1_loss_sum": lambda lib, x: lib.nn.functional.l1_loss(x, lib.zeros(2, 3),
                                                            reduction="sum"),
    "smooth_l1_loss": lambda lib, x: lib.nn.functional.smooth_l1_loss(x, lib.zeros(2, 3)),
    "huber_loss": lambda lib, x: lib.nn.functional.huber_loss(x, lib.zeros(2, 3)),
    "sum": lambda lib, x: x.sum(), "sum_dim": lambda lib, x: x.sum(1),
    "mean": lambda lib, x: x.mean(), "mean_dim": lambda lib, x: x.mean(0, keepdim=True),
    "softmax": lambda lib, x: lib.nn.functional.softmax(x, 1),
    "log_softmax": lambda lib, x: lib.nn.functional.log_softmax(x, 1),
    "elu": lambda lib, x: lib.nn.functional.elu(x),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "softplus": lambda lib, x: lib.nn.functional.softplus(x),
    "logsigmoid": lambda lib, x: lib.nn.functional.logsigmoid(x),
    "view": lambda lib, x: x.view(3, 2), "flatten": lambda lib, x: x.flatten(),
    "select": lambda lib, x: x[0], "select_last": lambda lib, x: x[1:, 0],
    "slice": lambda lib, x: x[:, 1:], "index": lambda lib, x: x[[0, 1], [2, 0]],
    "mask": lambda lib, x: x[x > 0], "unsqueeze_key": lambda lib, x: x[:, None],
    "matmul": lambda lib, x: x @ x.t().detach(), "clamp": lambda lib, x: x.clamp(min=0),
    "mv": lambda lib, x: x @ lib.ones(3), "dot": lambda lib, x: x[0] @ x[1],
    "max_all": lambda lib, x: x.max(), "min_all": lambda lib, x: x.min(),
    "rsub": lambda lib, x: 1 - x, "sub": lambda lib, x: x - x.detach(),
    "rdiv": lambda lib, x: 1 / x, "div": lambda lib, x: x / 2,
    "pow_scalar": lambda lib, x: x ** 2, "pow_tensor": lambda lib, x: x ** x.detach(),
    "rpow": lambda lib, x: 2 ** x,
    "amax": lambda lib, x: x.amax(1), "amin": lambda lib, x: x.amin(0),
    "matmul_3d": lambda lib, x: x.view(1, 2, 3) @ lib.ones(3, 2),
    "vector_matrix": lambda lib, x: x[0] @ lib.ones(3, 2),
    "cast": lambda lib, x: x.double(),
    "batch_norm": lambda lib, x: lib.nn.BatchNorm1d(3)(x),
    "layer_norm": lambda lib, x: lib.nn.LayerNorm(3)(x),
    "max_pool2d": lambda lib, x: lib.nn.functional.max_pool2d(x.view(1, 1, 2, 3), 2),
    "avg_pool2d": lambda lib, x: lib.nn.functional.avg_pool2d(x.view(1, 1, 2, 3), 2),
}


@pytest.mark.parametrize("case", GRAD_FN)
def test_grad_fn_names_match_torch(case):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], np.float32)
    ours = GRAD_FN[case](pynn, pynn.tensor(x, requires_grad=True))
    theirs = GRAD_FN[case](torch, torch.tensor(x, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    # the name is what the tensor prints (a node keeping another ``name`` broke repr)
    assert f"grad_fn=<{theirs.grad_fn.name()}>" in repr(ours)


def test_set_printoptions_linewidth():
    x = np.random.default_rng(6).standard_normal((3, 30)).astype(np.float32)
    try:
        pynn.set_printoptions(linewidth=120, precision=2)
        torch.set_printoptions(linewidth=120, precision=2)
        assert repr(pynn.tensor(x)) == repr(torch.tensor(x))
    finally:
        pynn.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


NUMPY_UFUNCS = [
    lambda lib: np.sqrt(lib.tensor([4.0, 9.0])),
    lambda lib: np.exp(lib.tensor(1.0, dtype=lib.float64)),
    lambda lib: np.maximum(lib.tensor([1.0, -2.0]), 0.5),
    lambda lib: np.maximum(np.array([0.0, 3.0]), lib.tensor([1.0, -2.0])),
    lambda lib: np.abs(lib.arange(-2, 2)),
    lambda lib: np.float32(2) * lib.ones(2),
    lambda lib: np.float64(2) * lib.ones(2),
    lambda lib: lib.ones(2) / np.float64(2),
    lambda lib: np.int64(3) - lib.ones(2, dtype=lib.int64),
    lambda lib: np.float64(0.5) < lib.tensor([0.0, 1.0]),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's __array_wrap__
@pytest.mark.parametrize("make", NUMPY_UFUNCS)
def test_numpy_ufuncs_on_tensors_match_torch(make):
    ours, theirs = make(pynn), make(torch)
    assert isinstance(ours, pynn.Tensor) and isinstance(theirs, torch.Tensor)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch", "pynn")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_numpy_ufuncs_and_autograd():
    x = pynn.tensor([1.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Can't call numpy"):
        np.sqrt(x)
    # an ndarray operand goes to the Tensor's reflected operator: recorded
    y = np.array([2.0, 3.0], dtype=np.float32) * x
    y.sum().backward()
    assert y.dtype == pynn.float32 and x.grad.tolist() == [2.0, 3.0]
    out = pynn.zeros(2)
    assert np.add(np.ones(2, np.float32), np.ones(2, np.float32), out=out) is out
    assert out.tolist() == [2.0, 2.0]


def test_set_printoptions():
    try:
        pynn.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert repr(pynn.tensor([1.2345, 2.0])) == repr(torch.tensor([1.2345, 2.0]))
    finally:
        pynn.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


# ---------------------------------------------------------------------------------------------
# the namespace

NAMES = [
    "Tensor", "Size", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "eye",
    "arange", "linspace", "logspace", "rand", "randn", "randint", "randperm", "normal",
    "bernoulli", "multinomial", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
    "randn_like", "randint_like", "dtype", "float32", "float", "float64", "double", "float16",
    "half", "bfloat16", "int64", "long", "int32", "int", "int16", "int8", "uint8", "bool",
    "device", "no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled",
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "Generator",
    "set_num_threads", "get_num_threads", "set_default_dtype", "get_default_dtype", "is_tensor",
    "numel", "is_floating_point", "finfo", "iinfo", "set_printoptions", "compile", "cuda",
    "backends", "accelerator", "autograd", "nn", "optim", "utils", "FloatTensor", "LongTensor",
    "cat", "stack",
]


@pytest.mark.parametrize("name", NAMES)
def test_namespace_has_torch_names(name):
    assert hasattr(torch, name)
    assert hasattr(pynn, name), name


def test_grad_modes_and_compile():
    x = pynn.ones(2, requires_grad=True)
    with pynn.inference_mode():
        assert not (x * 2).requires_grad

    @pynn.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with pynn.set_grad_enabled(False):
        assert not pynn.is_grad_enabled()
    assert pynn.is_grad_enabled()
    model = pynn.nn.Linear(2, 2)
    assert pynn.compile(model) is model
    assert pynn.compile(mode="reduce-overhead")(f) is f
    assert isinstance(pynn.__version__, str)
    assert importlib.import_module("pynn.functional") is not None  # stays importable


def test_mixed_precision_and_cuda_names_are_cpu_no_ops():
    model = pynn.nn.Linear(3, 1)
    opt = pynn.optim.SGD(model.parameters(), lr=0.1)
    scaler = pynn.cuda.amp.GradScaler(enabled=pynn.cuda.is_available())
    before = model.weight.detach().numpy().copy()
    with pynn.autocast(device_type="cpu", dtype=pynn.bfloat16), pynn.cuda.amp.autocast():
        loss = model(pynn.ones(2, 3)).sum()
    assert loss.dtype == pynn.float32
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1 * 2)
    assert isinstance(pynn.amp.GradScaler(), pynn.amp.GradScaler)
    with pytest.raises(RuntimeError, match="pynn runs on the CPU only"):
        pynn.cuda.FloatTensor(2)
    assert not isinstance(pynn.ones(2), pynn.cuda.FloatTensor)


def test_inplace_on_views_of_graph_tensors_matches_torch():
    def run(lib):
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=lib.float64)
        x = lib.tensor(w.numpy() * 0.5, requires_grad=True)
        out = lib.zeros(3, 2, dtype=lib.float64)
        out[1].copy_(x[0] * 2)  # a buffer written through a view joins the graph
        y = x * 1
        y[:, 0].mul_(3)
        y[2].add_(out[1])
        ((out * w).sum() + (y * y).sum()).backward()
        return out.detach().numpy().copy(), y.detach().numpy().copy(), x.grad.numpy().copy()

    for a, b in zip(run(pynn), run(torch)):
        np.testing.assert_allclose(a, b)
    x = pynn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0:2].mul_(2)


def test_inplace_after_a_consumer_never_misroutes_gradients():
    def passthrough(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x * 3
        a = y + 2  # a consumer recorded before the write
        y.add_(5)
        (a * y).sum().backward()
        return x.grad.numpy().copy()

    np.testing.assert_allclose(passthrough(pynn), passthrough(torch))

    def scaled(lib):  # a write whose gradient is not the identity
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x + 0
        a = y + 2  # reaches y's node as it was before the write
        y.mul_(3)
        (a + y).sum().backward()
        return x.grad.numpy().copy()

    np.testing.assert_allclose(scaled(pynn), scaled(torch))


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_as_a_keyword(name):
    p, t = getattr(pynn, name)(size=(2, 3)), getattr(torch, name)(size=(2, 3))
    assert tuple(p.shape) == tuple(t.shape) and dname(p.dtype) == dname(t.dtype)


def test_clone_detach_is_nonzero_and_fork_rng():
    for lib in (pynn, torch):
        x = lib.ones(2, requires_grad=True)
        c, d = lib.clone(x), lib.detach(x)
        assert c.requires_grad and not c.is_leaf and not d.requires_grad
        assert lib.is_nonzero(lib.tensor([2])) and not lib.is_nonzero(lib.tensor(0.0))
        with pytest.raises(RuntimeError):
            lib.is_nonzero(lib.ones(2))
        lib.manual_seed(0)
        with lib.random.fork_rng():
            a = lib.rand(3)
        assert lib.equal(a, lib.rand(3))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_matches_torch(accumulate):
    res = {}
    for lib in (pynn, torch):
        x = lib.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4), requires_grad=True)
        v = lib.tensor([10.0, 20.0, 30.0], requires_grad=True)
        y = x * 1
        idx = (lib.tensor([0, 2, 0]), lib.tensor([1, 3, 1]))
        y.index_put_(idx, v * 2, accumulate=accumulate)
        z = x.index_put(idx, v, accumulate=True)
        (y * lib.tensor(np.arange(12.0).reshape(3, 4), dtype=lib.float32)).sum().backward()
        (z * z).sum().backward()
        res[lib] = [a.detach().numpy().copy() for a in (y, z, x.grad, v.grad)]
    if not accumulate:  # PyTorch leaves repeated positions undefined: compare the rest
        res[pynn][0][0, 1] = res[torch][0][0, 1]
        res[pynn][3][[0, 2]] = res[torch][3][[0, 2]]
    for a, b in zip(res[pynn], res[torch]):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("name", ["add_", "sub_"])
def test_deprecated_alpha_first_inplace_overload(name):
    """``p.data.add_(-lr, p.grad)``, the form older training loops use, warns and works."""
    start, g = np.arange(4, dtype=np.float32), np.full(4, 2.0, np.float32)
    results = []
    for lib in (pynn, torch):
        x = lib.tensor(start.copy())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = getattr(x, name)(-0.5, lib.tensor(g))
        # PyTorch warns once per process; pynn every time it is asked to.
        assert out is x and (lib is torch or "deprecated" in str(caught[0].message))
        results.append(x.numpy())
    np.testing.assert_array_equal(*results)


def test_transpose_properties_match_torch():
    x = np.arange(24.0).reshape(2, 3, 4)
    for name, arr in (("T", x[0]), ("H", x[0]), ("mT", x), ("mH", x)):
        ours, theirs = getattr(pynn.tensor(arr), name), getattr(torch.tensor(arr), name)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="matrices"):
        _ = pynn.tensor(x).H
