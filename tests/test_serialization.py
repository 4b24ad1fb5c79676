"""pynn.save / pynn.load: round-trips, atomic writes, and the errors for files that are
not ours, damaged, newer, or carrying pickled objects."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import pynn
from pynn import serialization
from pynn.serialization import load, save


def state_dict():
    rng = np.random.default_rng(0)
    return {
        "fc1.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "fc1.bias": np.zeros(4, np.float32),
        "bn.running_mean": rng.standard_normal(4),
        "bn.num_batches_tracked": np.array(7, dtype=np.int64),
        "emb.weight": rng.standard_normal((5, 2)).astype(np.float16),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), np.float32),
        "codes": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "z": np.array([1 + 2j, 3 - 1j], np.complex64),
        "names": np.array(["a", "bc"]),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
    }


def checkpoint():
    return {
        "model": state_dict(),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": np.ones(4)}, 1: {"step": 3, "exp_avg": np.ones(2)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                              "nesterov": False, "weight_decay": None}],
        },
        "epoch": 4,
        "best": float("inf"),
        "loss_history": [2.5, 1.25, [0.5, 0.25]],
        "name": "mlp",
        "np_scalar": np.float32(0.5),
        "np_int": np.int16(-3),
    }


def assert_same(a, b, where="root"):
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), where
        for k in a:
            assert type(k) is type(next(kk for kk in b if kk == k and type(kk) is type(k)))
            assert_same(a[k], b[k], f"{where}/{k!r}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b, where


def test_state_dict_round_trip(tmp_path):
    sd = state_dict()
    save(sd, tmp_path / "model.npz")
    assert_same(load(tmp_path / "model.npz"), sd)


def test_checkpoint_round_trip(tmp_path):
    ck = checkpoint()
    path = tmp_path / "ckpt.pynn"
    save(ck, str(path))
    out = load(path)
    assert_same(out, ck)
    assert list(out["optimizer"]["state"]) == [0, 1]  # int keys come back as ints
    assert isinstance(out["optimizer"]["param_groups"][0]["betas"], tuple)
    assert isinstance(out["np_scalar"], np.float32) and isinstance(out["epoch"], int)
    assert not (tmp_path / "ckpt.pynn.npz").exists()  # written at the path as given


def test_readable_as_plain_npz_with_flattened_keys(tmp_path):
    save(checkpoint(), tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        keys = set(npz.files)
        np.testing.assert_array_equal(npz["optimizer/state/0/exp_avg"], np.ones(4))
        meta = json.loads(npz["pynn:meta"].tobytes())
    assert {"model/fc1.weight", "optimizer/state/1/exp_avg", "np_scalar"} <= keys
    assert meta["magic"] == "pynn" and meta["pynn_format"] == 1


def test_special_keys_round_trip(tmp_path):
    obj = {
        "a/b": np.arange(2),
        "a%2Fb": np.arange(3),
        "a": {"b": np.arange(4)},
        "": np.arange(5),
        "x#1": np.arange(6),
        "spaces and ünïcode ✓": np.arange(7),
        "..": np.arange(8),
        0: np.arange(9),
        "0": np.arange(10),
        -1: "negative",
        "pynn:meta": np.arange(11),
        "file": np.arange(12),  # a name np.savez(**kw) would choke on
        "nested": {"x/y": {1: [np.ones(1), {"k": np.zeros(1)}]}},
    }
    save(obj, tmp_path / "s.npz")
    assert_same(load(tmp_path / "s.npz"), obj)


def test_scalars_and_containers_at_top_level(tmp_path):
    for obj in (3, 2.5, True, None, "text", [1, [2, (3,)]], (), {}, np.arange(3), np.int8(4),
                [np.ones(2), np.ones(2)], {"nan": float("nan"), "big": 2**80}):
        save(obj, tmp_path / "x")
        assert_same(load(tmp_path / "x"), obj)


def test_tensor_like_objects_saved_as_data(tmp_path):
    class FakeParameter:
        def __init__(self, data):
            self.data = data
            self.grad = np.ones_like(data)

    w = np.arange(6.0).reshape(2, 3)
    save({"w": FakeParameter(w)}, tmp_path / "t")
    out = load(tmp_path / "t")
    assert type(out["w"]) is np.ndarray
    np.testing.assert_array_equal(out["w"], w)


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    save(checkpoint(), buf)
    buf.seek(0)
    assert_same(load(buf), checkpoint())
    with open(tmp_path / "f", "wb") as f:
        save(state_dict(), f)
    with open(tmp_path / "f", "rb") as f:
        assert_same(load(f), state_dict())


def test_compressed(tmp_path):
    big = {"w": np.zeros((200, 200))}
    save(big, tmp_path / "plain")
    save(big, tmp_path / "small", compress=True)
    assert os.path.getsize(tmp_path / "small") < os.path.getsize(tmp_path / "plain") / 10
    assert_same(load(tmp_path / "small"), big)


@pytest.mark.parametrize("obj,match", [
    ({"s": {1, 2}}, r"cannot save a set \(at s\)"),
    ({(1, 2): np.ones(1)}, "keys must be str or int"),
    ({"o": np.array([object()], dtype=object)}, "holds Python objects"),
    ([lambda: 0], "cannot save a function"),
])
def test_unsupported_values(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        save(obj, tmp_path / "bad")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- atomicity
def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"v": np.arange(3)}, path)
    before = path.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def failing_write(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # midway: the metadata and one array are already written
            fp.write(b"\x93NUMPY partial")
            raise OSError("disk full")
        return real_write(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        save({"a": np.ones(100), "b": np.ones(100), "c": np.ones(100)}, path)
    assert path.read_bytes() == before
    assert_same(load(path), {"v": np.arange(3)})
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_fsync_before_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save({"a": np.ones(3)}, tmp_path / "x")
    assert events[:2] == ["fsync", "replace"]


def test_failed_rename_leaves_no_temp(tmp_path, monkeypatch):
    def boom(a, b):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        save({"a": np.ones(3)}, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_usual_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        save({"a": np.ones(1)}, tmp_path / "x")
    finally:
        os.umask(old)
    assert (os.stat(tmp_path / "x").st_mode & 0o777) == 0o644


# ------------------------------------------------------------------------------- errors
def write_raw(path, meta, arrays=()):
    """A zip laid out like ours with arbitrary metadata (bypassing save's checks)."""
    with zipfile.ZipFile(path, "w") as zf:
        if meta is not None:
            with zf.open("pynn:meta.npy", "w") as m:
                raw = np.frombuffer(json.dumps(meta).encode(), np.uint8)
                np.lib.format.write_array(m, raw)
        for name, arr in arrays:
            with zf.open(name + ".npy", "w") as m:
                np.lib.format.write_array(m, arr, allow_pickle=True)


def test_foreign_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello, not an archive")
    with pytest.raises(ValueError, match=r"notes.txt: not a pynn file: not a zip/.npz"):
        load(tmp_path / "notes.txt")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ValueError, match="not a pynn file"):
        load(tmp_path / "single.npy")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


def test_plain_npz_is_not_a_pynn_file(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(3))
    with pytest.raises(ValueError, match=r"plain.npz: not a pynn file.*without pynn metadata"):
        load(tmp_path / "plain.npz")


@pytest.mark.parametrize("keep", [0.5, 0.9, -10])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "t.npz"
    save(checkpoint(), path)
    blob = path.read_bytes()
    path.write_bytes(blob[:int(len(blob) * keep)] if keep > 0 else blob[:keep])
    with pytest.raises(ValueError, match=r"t.npz: truncated or corrupt"):
        load(path)


def test_corrupt_array_data(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(1000, dtype=np.int64)}, path)
    blob = bytearray(path.read_bytes())
    i = blob.find(np.arange(1000, dtype=np.int64)[500:508].tobytes())
    blob[i] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"array 'w' is truncated or corrupt.*CRC"):
        load(path)


def test_newer_version(tmp_path):
    write_raw(tmp_path / "new", {"magic": "pynn", "pynn_format": 4, "tree": 1})
    with pytest.raises(ValueError, match="format 4, newer than .* reads \\(up to 3\\)"):
        load(tmp_path / "new")


@pytest.mark.parametrize("meta,match", [
    ({"magic": "pynn", "tree": 1}, "no format version"),
    ({"magic": "other", "pynn_format": 1, "tree": 1}, "lacks the 'pynn' magic"),
    ({"magic": "pynn", "pynn_format": "1", "tree": 1}, "invalid pynn format version"),
    ({"magic": "pynn", "pynn_format": 1}, "no structure"),
    ({"magic": "pynn", "pynn_format": 1, "tree": {"weird": 1}}, "unknown node"),
    ({"magic": "pynn", "pynn_format": 1, "tree": {"dict": [["a"]]}}, "bad dict item"),
])
def test_bad_metadata(tmp_path, meta, match):
    write_raw(tmp_path / "m", meta)
    with pytest.raises(ValueError, match=match):
        load(tmp_path / "m")


def test_referenced_array_absent(tmp_path):
    meta = {"magic": "pynn", "pynn_format": 1,
            "tree": {"dict": [["w", {"array": "w"}], ["b", {"array": "b"}]]}}
    write_raw(tmp_path / "m", meta, [("w", np.ones(2))])
    with pytest.raises(ValueError, match=r"refers to array 'b', which is absent"):
        load(tmp_path / "m")


class _Trap:
    triggered = False

    def __reduce__(self):
        return (_spring, ())


def _spring():
    _Trap.triggered = True
    return "sprung"


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    meta = {"magic": "pynn", "pynn_format": 1, "tree": {"dict": [["w", {"array": "w"}]]}}
    write_raw(tmp_path / "evil", meta, [("w", np.array([_Trap()], dtype=object))])
    with pytest.raises(ValueError, match="pickled Python objects"):
        load(tmp_path / "evil")
    assert not _Trap.triggered


def test_metadata_is_not_pickled(tmp_path):
    save(checkpoint(), tmp_path / "c")
    with np.load(tmp_path / "c", allow_pickle=False) as npz:
        for key in npz.files:  # every member loads without pickle
            assert npz[key].dtype != object
    assert serialization.FORMAT_VERSION == 3


# ------------------------------------------------------------------ tensors and checkpoints
def test_tensors_come_back_as_tensors_with_dtype(tmp_path):
    import pynn

    values = {
        "f32": pynn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "f64": pynn.tensor(np.linspace(0, 1, 4)),
        "i64": pynn.tensor(np.arange(3)),
        "bool": pynn.tensor(np.array([True, False])),
        "scalar": pynn.tensor(np.float32(2.5)),
        "grad": pynn.tensor(np.ones(2, np.float32), requires_grad=True),
        "param": pynn.nn.Parameter(pynn.tensor(np.zeros((2, 2), np.float32))),
        "array": np.arange(3.0),
    }
    save(values, tmp_path / "t.pt")
    out = load(tmp_path / "t.pt")
    for key, value in values.items():
        got = out[key]
        if isinstance(value, np.ndarray):
            assert type(got) is np.ndarray
            np.testing.assert_array_equal(got, value)
            continue
        assert isinstance(got, pynn.Tensor), key
        assert got.dtype == value.dtype and got.shape == value.shape, key
        assert got.requires_grad == value.requires_grad, key
        np.testing.assert_array_equal(got.detach().numpy(), value.detach().numpy())
    assert isinstance(out["param"], pynn.nn.Parameter)
    assert not isinstance(out["f32"], pynn.nn.Parameter)


def test_file_without_tensors_stays_format_1(tmp_path):
    import pynn

    save({"w": np.ones(2)}, tmp_path / "a")
    save({"w": pynn.tensor(np.ones(2))}, tmp_path / "b")
    with zipfile.ZipFile(tmp_path / "a") as zf:
        assert b'"pynn_format": 1' in zf.read("pynn:meta.npy")
    with zipfile.ZipFile(tmp_path / "b") as zf:
        assert b'"pynn_format": 2' in zf.read("pynn:meta.npy")


def small_model():
    import pynn

    pynn.manual_seed(0)
    return pynn.nn.Sequential(pynn.nn.Linear(3, 4), pynn.nn.ReLU(), pynn.nn.Linear(4, 2))


def test_checkpoint_of_model_and_optimizer_round_trip(tmp_path):
    """The checkpoint dict PyTorch tutorials save, restored into a fresh model and optimiser
    that then continue exactly as the originals."""
    import pynn

    model = small_model()
    opt = pynn.optim.Adam(model.parameters(), lr=0.01)
    x = pynn.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))

    def train_step(m, o):
        o.zero_grad()
        loss = (m(x) ** 2).mean()
        loss.backward()
        o.step()
        return float(loss.item())

    for _ in range(3):
        train_step(model, opt)
    import argparse

    args = argparse.Namespace(lr=0.01, epochs=3, name="run", layers=[3, 4])
    ckpt = {"epoch": 3, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(), "loss": 0.1, "note": None,
            "flags": [True, False], "shape": (3, 4), "args": args}
    pynn.save(ckpt, tmp_path / "ckpt.pt")
    loaded = pynn.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=True)
    assert loaded["epoch"] == 3 and loaded["loss"] == 0.1 and loaded["note"] is None
    assert loaded["flags"] == [True, False] and loaded["shape"] == (3, 4)
    assert loaded["args"] == args and isinstance(loaded["args"], argparse.Namespace)

    model2 = small_model()
    for p in model2.parameters():
        p.data = p.data * 0
    opt2 = pynn.optim.Adam(model2.parameters(), lr=0.5)
    model2.load_state_dict(loaded["model_state_dict"])
    opt2.load_state_dict(loaded["optimizer_state_dict"])
    assert opt2.param_groups[0]["lr"] == 0.01
    for _ in range(2):
        assert train_step(model, opt) == train_step(model2, opt2)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _hooked_model():
    model = small_model()
    model[0].register_forward_hook(lambda *args: None)
    return model


def _local_class_model():
    import pynn

    class Local(pynn.nn.Module):
        pass

    return Local()


def _model_with_function():
    model = small_model()
    model.act = np.tanh
    return model


@pytest.mark.parametrize("make, match", [
    (lambda: __import__("pynn").optim.SGD(small_model().parameters(), lr=0.1),
     r"cannot save a SGD object.*state_dict"),
    (lambda: {"x": object()}, r"cannot save a object.*does not pickle"),
    (lambda: [complex(1, 2)], r"cannot save a complex"),
    (_hooked_model, r"Linear at 0 has hooks.*remove the hooks"),
    (_local_class_model, r"defined inside a function.*module level"),
    (lambda: {"m": _model_with_function()}, r"cannot save a ufunc \(at m/act\)"),
])
def test_objects_that_are_not_data_are_refused(tmp_path, make, match):
    with pytest.raises(TypeError, match=match):
        save(make(), tmp_path / "bad")
    assert list(tmp_path.iterdir()) == []


class TiedLM(__import__("pynn").nn.Module):
    """A module as scripts write them: tied weights, buffers (one not persistent), plain
    attributes of several kinds, a submodule used twice, nested containers."""

    def __init__(self, ntoken=11, nhid=6):
        import pynn
        from pynn import nn

        super().__init__()
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid, 2)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        self.block = nn.Sequential(nn.Linear(nhid, nhid), nn.Tanh())
        self.again = self.block
        self.heads = nn.ModuleList([nn.Linear(nhid, 2), nn.Linear(nhid, 2)])
        self.register_buffer("scale", pynn.tensor([2.0]))
        self.register_buffer("cache", pynn.zeros(3), persistent=False)
        self.nhid, self.kind, self.sizes, self.vocab = nhid, "LSTM", (1, 2), {"a": 0, 3: "b"}

    def forward(self, x):
        out, _ = self.rnn(self.encoder(x))
        out = self.again(self.block(out)) * self.scale
        return self.decoder(out), self.heads[1](out)


def test_whole_module_round_trip_keeps_structure_sharing_and_results(tmp_path):
    import pynn

    pynn.manual_seed(3)
    model = TiedLM().eval()
    x = pynn.randint(0, 11, (4, 2))
    with pynn.no_grad():
        expected = [t.numpy() for t in model(x)]
    save({"model": model, "epoch": 3, "tied": model.decoder.weight}, tmp_path / "m.pt")
    loaded = load(tmp_path / "m.pt", weights_only=False)
    back = loaded["model"]
    assert type(back) is TiedLM and not back.training and not back.block.training
    assert back.decoder.weight is back.encoder.weight is loaded["tied"]
    assert back.again is back.block
    assert isinstance(back.encoder.weight, pynn.nn.Parameter)
    assert (back.nhid, back.kind, back.sizes, back.vocab) == (6, "LSTM", (1, 2), {"a": 0, 3: "b"})
    assert back._non_persistent_buffers_set == {"cache"}
    assert list(back.state_dict()) == list(model.state_dict())
    assert len(list(back.parameters())) == len(list(model.parameters()))
    with pynn.no_grad():
        for got, want in zip(back(x), expected):
            np.testing.assert_array_equal(got.numpy(), want)
    # it trains like the original: the tied weight gets one gradient from both uses
    back.train()
    out, _ = back(x)
    out.sum().backward()
    assert back.encoder.weight.grad is not None and back.decoder.weight.grad is not None


def test_every_layer_round_trips_as_a_whole_module(tmp_path):
    import pynn
    from pynn import nn

    layers = [nn.Linear(3, 4), nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3),
              nn.LSTM(3, 4, 2, batch_first=True), nn.GRU(3, 4), nn.Embedding(5, 3),
              nn.LayerNorm(4), nn.Dropout(0.3), nn.MaxPool2d(2),
              nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2),
              nn.MultiheadAttention(8, 2), nn.Sequential(nn.Flatten(), nn.Linear(6, 2))]
    for layer in layers:
        save(layer, tmp_path / "layer.pt")
        back = load(tmp_path / "layer.pt")
        assert type(back) is type(layer)
        want, got = layer.state_dict(), back.state_dict()
        assert list(got) == list(want), type(layer).__name__
        for key in want:
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())
        assert {k: v for k, v in vars(back).items() if k != "_modules" and k[0] != "_"} == \
            {k: v for k, v in vars(layer).items() if k != "_modules" and k[0] != "_"}
    seq = layers[-1]
    seq(pynn.randn(2, 2, 3))  # builds the fused-step cache, which is not saved
    save(seq, tmp_path / "seq.pt")
    assert load(tmp_path / "seq.pt")(pynn.ones(1, 2, 3)).shape == (1, 2)


def test_loading_a_module_never_imports_code(tmp_path, monkeypatch):
    import sys
    import types

    import pynn

    mod = types.ModuleType("pynn_test_models_xyz")
    exec("import pynn\nclass Net(pynn.nn.Module):\n    pass\n", mod.__dict__)  # noqa: S102
    monkeypatch.setitem(sys.modules, "pynn_test_models_xyz", mod)
    net = mod.Net()
    net.fc = pynn.nn.Linear(2, 2)
    save(net, tmp_path / "net.pt")
    assert type(load(tmp_path / "net.pt")) is mod.Net
    # a module the program has not imported is named, never imported (it would run code)
    (tmp_path / "pynn_test_models_xyz.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pynn_test_models_xyz")
    with pytest.raises(ValueError, match=r"has not imported.*import pynn_test_models_xyz"):
        load(tmp_path / "net.pt")


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update({"class": "os:system"}), r"not a pynn.nn.Module class"),
    (lambda m: m.update({"class": "builtins:object"}), r"not a pynn.nn.Module class"),
    (lambda m: m.update({"class": "pynn.nn:Linear.__init__"}), r"not a pynn.nn.Module class"),
    (lambda m: m["attrs"].append(["forward", 1]), r"would hide the class's own 'forward'"),
    (lambda m: m["attrs"].append(["__class__", 1]), r"would hide"),
    (lambda m: m["modules"].append(["x", 3]), r"modules entry 'x' is a int"),
    (lambda m: m["parameters"].append(["p", [1]]), r"bad|parameters entry"),
    (lambda m: m.update({"training": "yes"}), r"bad module node"),
    (lambda m: m.pop("attrs"), r"bad module node"),
    (lambda m: m["attrs"].append(["act", {"function": "os:system"}]), r"not a pynn function"),
    (lambda m: m["attrs"].append(["act", {"function": "pynn.nn:Linear"}]),
     r"not a pynn function"),
])
def test_crafted_module_nodes_are_refused(tmp_path, edit, match):
    import json
    import zipfile

    import pynn

    save(pynn.nn.Linear(2, 2), tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta_name = serialization.META_KEY + ".npy"
    meta = np.load(io.BytesIO(members[meta_name]))
    doc = json.loads(meta.tobytes())
    edit(doc["tree"]["module"])
    raw = np.frombuffer(json.dumps(doc).encode(), np.uint8)
    buf = io.BytesIO()
    np.save(buf, raw)
    members[meta_name] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match=match):
        load(tmp_path / "bad.pt")


@pytest.mark.parametrize("location", [None, "cpu", "cpu:0", {"cuda:0": "cpu"},
                                      lambda storage, loc: storage])
def test_map_location_cpu_accepted(tmp_path, location):
    import pynn

    save({"w": pynn.tensor(np.ones(2))}, tmp_path / "m")
    out = load(tmp_path / "m", map_location=location)
    np.testing.assert_array_equal(out["w"].numpy(), np.ones(2))


@pytest.mark.parametrize("location", ["cuda", "cuda:1", {"cpu": "cuda:0"}, "mps"])
def test_map_location_other_device_refused(tmp_path, location):
    save({"w": np.ones(2)}, tmp_path / "m")
    with pytest.raises(RuntimeError, match="CPU only"):
        load(tmp_path / "m", map_location=location)


def test_pickle_module_refused(tmp_path):
    import pickle

    with pytest.raises(TypeError, match="does not pickle"):
        save({"w": np.ones(1)}, tmp_path / "p", pickle_module=pickle)
    save({"w": np.ones(1)}, tmp_path / "p")
    with pytest.raises(TypeError, match="no pickled objects"):
        load(tmp_path / "p", pickle_module=pickle)


def test_loads_torch_save_checkpoints(tmp_path):
    """A checkpoint written by torch.save loads through the allow-list reader."""
    torch = pytest.importorskip("torch")
    import pynn

    ckpt = {"epoch": 2, "model_state_dict": {"w": torch.arange(6.0).reshape(2, 3),
                                             "n": torch.tensor(3)}, "loss": 0.25}
    torch.save(ckpt, tmp_path / "t.pt")
    out = load(tmp_path / "t.pt", map_location="cpu")
    assert out["epoch"] == 2 and out["loss"] == 0.25
    w = out["model_state_dict"]["w"]
    assert isinstance(w, pynn.Tensor) and w.dtype == np.float32
    np.testing.assert_array_equal(w.numpy(), np.arange(6.0).reshape(2, 3))
    with open(tmp_path / "t.pt", "rb") as f:
        assert int(load(f)["model_state_dict"]["n"].item()) == 3


def test_save_and_load_route_safetensors_by_name_and_content(tmp_path):
    """pynn.save writes .safetensors paths in that format; pynn.load tells the format from
    the content (a safetensors file under another name loads too)."""
    pytest.importorskip("safetensors")
    from safetensors.numpy import load_file, save_file

    model = pynn.nn.Linear(3, 2)
    path = tmp_path / "m.safetensors"
    pynn.save(model.state_dict(), path)
    raw = load_file(str(path))  # the safetensors package itself reads it
    assert set(raw) == {"weight", "bias"}
    np.testing.assert_array_equal(raw["weight"], model.weight.detach().numpy())
    other = tmp_path / "weights.bin"
    save_file({k: np.asarray(v) for k, v in model.state_dict().items()}, str(other))
    with open(other, "rb") as fileobj:
        for loaded in (pynn.load(path), pynn.load(other), pynn.load(fileobj)):
            assert set(loaded) == {"weight", "bias"}
            copy = pynn.nn.Linear(3, 2)
            copy.load_state_dict(loaded)
            np.testing.assert_array_equal(copy.bias.detach().numpy(),
                                          model.bias.detach().numpy())


# ------------------------------------------------------- load_state_dict (issue 25, item 2)
def _net():
    from pynn import nn

    pynn.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _snapshot(model):
    return {k: (v.dtype, v.numpy().copy()) for k, v in model.state_dict().items()}


def _assert_unchanged(model, before):
    after = _snapshot(model)
    assert list(after) == list(before)
    for key, (dtype, values) in before.items():
        assert after[key][0] == dtype, key
        np.testing.assert_array_equal(after[key][1], values, err_msg=key)


@pytest.mark.parametrize("bad,names", [
    (np.array(["a", "b", "c", "d"]), ["1.bias", "<U1", "float32", "not numeric"]),
    (np.array([None] * 4, dtype=object), ["1.bias", "object", "float32"]),
    (np.array([1 + 1j] * 4), ["1.bias", "complex128", "imaginary"]),
    ([[1.0], [1.0, 2.0]], ["1.bias", "list"]),
    (None, ["1.bias", "NoneType"]),
])
def test_load_state_dict_refuses_bad_values_before_copying_anything(bad, names):
    model = _net()
    before = _snapshot(model)
    new = {k: v.numpy() + 1 for k, v in model.state_dict().items()}  # all would change
    new["1.bias"] = bad  # the 4th of 7 entries: three were copied before the fix
    for strict in (True, False):
        with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict") as info:
            model.load_state_dict(new, strict=strict)
        for name in names:
            assert name in str(info.value)
        _assert_unchanged(model, before)


def test_load_state_dict_refuses_every_problem_at_once_and_loads_nothing():
    model = _net()
    before = _snapshot(model)
    new = {k: v.numpy() + 1 for k, v in model.state_dict().items()}
    new["0.weight"] = np.zeros((4, 5))
    new["2.bias"] = np.array(["x", "y"])
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(new, strict=False)
    lines = str(info.value).split("\n\t")
    assert lines[0] == "Error(s) in loading state_dict for Sequential:"
    assert lines[1].startswith("size mismatch for 0.weight: copying a param with shape "
                               "pynn.Size([4, 5]) from checkpoint, the shape in current model "
                               "is pynn.Size([4, 3]).")
    assert lines[2].startswith("dtype mismatch for 2.bias")
    _assert_unchanged(model, before)


def test_load_state_dict_numeric_dtypes_cast_as_in_pytorch():
    model = _net()
    new = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    new["0.weight"] = np.ones((4, 3), np.int32)
    new["0.bias"] = np.array([True, False, True, False])
    new["1.num_batches_tracked"] = np.array(5.0)
    assert model.load_state_dict(new) == ([], [])
    sd = model.state_dict()
    assert sd["0.weight"].dtype == pynn.float32 and sd["0.weight"].numpy().sum() == 12
    assert sd["1.num_batches_tracked"].dtype == pynn.int64
    assert sd["1.num_batches_tracked"].item() == 5


def _torch_pair():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                                 lib.nn.Sequential(lib.nn.Linear(4, 2)))

    return torch, build(torch), build(pynn)


def test_load_state_dict_errors_in_pytorchs_format():
    torch, theirs, ours = _torch_pair()
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    del state["0.bias"], state["1.running_var"]
    state["extra"] = np.zeros(1)
    state["2.0.extra"] = np.zeros(1)  # found inside a child: after the top level's
    state["x.y"] = np.zeros(1)
    state["0.weight"] = np.zeros((5, 3), np.float32)
    state["2.0.weight"] = np.zeros((2, 5), np.float32)
    for strict in (True, False):
        with pytest.raises(RuntimeError) as mine:
            ours.load_state_dict(state, strict=strict)
        with pytest.raises(RuntimeError) as ref:
            theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                                   strict=strict)
        expected = str(ref.value).replace("torch.Size", "pynn.Size").replace(". \n", ".\n")
        assert str(mine.value) == expected


def test_load_state_dict_not_strict_returns_pytorchs_named_tuple():
    torch, theirs, ours = _torch_pair()
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    del state["2.0.bias"]
    state["2.0.extra"] = np.zeros(1)
    state["extra"] = np.zeros(1)
    mine = ours.load_state_dict(state, strict=False)
    ref = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                                 strict=False)
    assert mine == ref and mine._fields == ref._fields
    assert repr(mine) == repr(ref) and str(mine) == str(ref)
    assert mine.missing_keys == ref.missing_keys and mine.unexpected_keys == ref.unexpected_keys
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(), state["0.weight"])
    both = ours.load_state_dict(ours.state_dict()), theirs.load_state_dict(theirs.state_dict())
    assert repr(both[0]) == repr(both[1]) == "<All keys matched successfully>"


def test_load_state_dict_takes_pytorch_tensors_requiring_grad_and_bfloat16():
    torch, theirs, ours = _torch_pair()
    ours.load_state_dict(theirs.state_dict(keep_vars=True))  # Parameters: requires_grad
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(),
                                  theirs[0].weight.detach().numpy())
    half = {k: v.to(torch.bfloat16) if v.is_floating_point() else v
            for k, v in theirs.state_dict().items()}
    ours.load_state_dict(half)
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(),
                                  half["0.weight"].float().numpy())


def test_load_state_dict_assign():
    model = _net()
    weight = model[0].weight
    new = {k: v.numpy().astype(np.float64) + 1 for k, v in model.state_dict().items()}
    model[0].weight.requires_grad_(False)
    assert model.load_state_dict(new, assign=True) == ([], [])
    assert model[0].weight is not weight and model[0].weight.dtype == pynn.float64
    assert not model[0].weight.requires_grad and model[2].weight.requires_grad
    assert isinstance(model[2].weight, pynn.nn.Parameter)
    new["2.weight"][0, 0] = 42.0  # assign shares memory with the state dict, as in PyTorch
    assert model[2].weight[0, 0].item() == 42.0
    with pytest.raises(RuntimeError, match="size mismatch for 2.bias"):
        model.load_state_dict({**new, "2.bias": np.zeros(3)}, assign=True)


def test_optimizer_load_state_dict_names_the_bad_entry_and_loads_nothing():
    from pynn import nn

    model = nn.Linear(2, 2)
    opt = pynn.optim.Adam(model.parameters(), lr=0.1)
    model(pynn.ones(1, 2)).sum().backward()
    opt.step()
    saved = opt.state_dict()
    before = {i: {k: np.copy(v) for k, v in s.items()} for i, s in saved["state"].items()}
    bad = {"state": {0: dict(saved["state"][0]), 1: dict(saved["state"][1])},
           "param_groups": [dict(g, lr=0.5) for g in saved["param_groups"]]}
    bad["state"][1]["exp_avg"] = np.array(["1", "2"])  # digits: would cast silently
    with pytest.raises(ValueError, match="state 'exp_avg' of parameter 1.*not numeric"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1
    for i, s in opt.state_dict()["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v, before[i][k])


# ------------------------------------------------ hostile archives (issue 25, items 7-9)
def _npy_bytes(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def _meta_bytes(meta):
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return _npy_bytes(np.frombuffer(text.encode(), np.uint8))


def _zip(path, members, compression=zipfile.ZIP_STORED):
    """A zip of ``(name, bytes)`` members as given: duplicates and all."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)


def _tree(*pairs):
    return {"magic": "pynn", "pynn_format": 1, "tree": {"dict": [list(p) for p in pairs]}}


def _loads_nothing_big(path, match, **kwargs):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 8 << 20, peak
    return info


def test_member_referenced_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(_tree(*[[f"k{i}", {"array": "w"}]
                                                       for i in range(128)]))),
                ("w.npy", _npy_bytes(np.zeros(1 << 18)))])  # 2 MiB, 128 times: 256 MiB
    _loads_nothing_big(path, "refers to array 'w' twice")


def test_tensor_and_array_sharing_a_member_is_refused(tmp_path):
    path = tmp_path / "shared.npz"
    meta = {"magic": "pynn", "pynn_format": 2,
            "tree": {"list": [{"tensor": "w"}, {"array": "w"}]}}
    _zip(path, [("pynn:meta.npy", _meta_bytes(meta)), ("w.npy", _npy_bytes(np.ones(3)))])
    with pytest.raises(ValueError, match="twice"):
        load(path)


def _zeros_member(zf, name, nbytes):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (nbytes,)})
    with zf.open(name, "w", force_zip64=True) as member:
        member.write(header.getvalue())
        chunk = bytes(1 << 20)
        for _ in range(nbytes >> 20):
            member.write(chunk)


def test_inflated_size_is_bounded_by_a_limit_the_caller_can_raise(tmp_path):
    path = tmp_path / "bomb.npz"
    size = 80 << 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pynn:meta.npy", _meta_bytes(_tree(["w", {"array": "w"}])))
        _zeros_member(zf, "w.npy", size)
    assert path.stat().st_size < 200_000
    info = _loads_nothing_big(path, "max_bytes")
    assert "'w'" in str(info.value)
    with pytest.raises(ValueError, match="past 1000 bytes"):
        load(path, max_bytes=1000)
    assert load(path, max_bytes=float("inf"))["w"].nbytes == size
    assert load(path, max_bytes=size + 10_000)["w"].nbytes == size
    # a file saved without compression never meets the default, however large
    big = {"w": np.zeros((70 << 20) // 8)}
    save(big, tmp_path / "big.npz")
    assert load(tmp_path / "big.npz")["w"].shape == big["w"].shape
    for bad in (-1, "1", True):
        with pytest.raises(ValueError, match="max_bytes"):
            load(tmp_path / "big.npz", max_bytes=bad)


@pytest.mark.parametrize("shape", [(1 << 40,), (1 << 21, 1 << 21), (1 << 62, 4)])
def test_header_declaring_a_huge_array_is_refused_without_allocating(tmp_path, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    path = tmp_path / "huge.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(_tree(["w", {"array": "w"}]))),
                ("w.npy", header.getvalue() + bytes(64))])
    _loads_nothing_big(path, r"array 'w' is corrupt \(its header declares")


def test_duplicate_member_names_are_refused(tmp_path):
    meta = _meta_bytes(_tree(["w", {"array": "w"}]))
    path = tmp_path / "dup.npz"
    _zip(path, [("pynn:meta.npy", meta), ("w.npy", _npy_bytes(np.ones(2))),
                ("w.npy", _npy_bytes(np.zeros(2)))])
    with pytest.raises(ValueError, match=r"dup.npz: .*two members named 'w.npy'"):
        load(path)
    other = _meta_bytes(_tree(["w", {"array": "w"}], ["v", 1]))
    _zip(path, [("pynn:meta.npy", meta), ("pynn:meta.npy", other),
                ("w.npy", _npy_bytes(np.ones(2)))])
    with pytest.raises(ValueError, match="two members named 'pynn:meta.npy'"):
        load(path)


@pytest.mark.parametrize("meta,match", [
    ('{"magic": "pynn", "pynn_format": 1, "tree": 1, "tree": 2}', "'tree' appears twice"),
    ('{"magic": "pynn", "pynn_format": 1, "tree": {"dict": [["a", 1], ["a", 2]]}}',
     "dict key 'a' is repeated"),
    ('{"magic": "pynn", "pynn_format": 1, "tree": {"dict": [[1, 1], [1, 2]]}}',
     "dict key 1 is repeated"),
    ('{"magic": "pynn", "pynn_format": 2, "tree": {"namespace": [["a", 1], ["a", 2]]}}',
     "namespace key 'a' is repeated"),
    ('{"magic": "pynn", "pynn_format": 1, "tree": {"list": [], "list": [1]}}',
     "'list' appears twice"),
])
def test_repeated_keys_in_the_metadata_are_refused(tmp_path, meta, match):
    path = tmp_path / "rep.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(meta))])
    with pytest.raises(ValueError, match=match):
        load(path)


def test_int_and_str_keys_that_look_alike_still_load(tmp_path):
    save({0: 1, "0": 2}, tmp_path / "k")
    assert load(tmp_path / "k") == {0: 1, "0": 2}


@pytest.mark.parametrize("meta", [
    '{"magic": "pynn", "pynn_format": 1, "tree": ' + '{"list": [' * 5000 + "]}" * 5000 + "}",
    '{"magic": "pynn", "pynn_format": 1, "tree": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"magic": "pynn", "pynn_format": 1, "tree": ' + '{"list": [' * 900 + "]}" * 900 + "}",
])
def test_metadata_nested_too_deeply(tmp_path, meta):
    path = tmp_path / "deep.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(meta))])
    with pytest.raises(ValueError, match="deep.npz: .*(nested too deeply|unknown node)"):
        load(path)


@pytest.mark.parametrize("header", [
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (1+1,), }",
    b"{'descr': '<f4', 'fortran_order': False, 'shape': ((((",
    b"__import__('os').system('echo pwned')",
    b"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }",
    b"{'descr': 'not a dtype', 'fortran_order': False, 'shape': (2,), }",
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
    b"{'descr': [('a', '<f4', (1 << 40,))], 'fortran_order': False, 'shape': (2,), }",
    b"\xff\xfe{'descr'",
])
def test_bad_npy_headers_raise_the_documented_error(tmp_path, header):
    raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(8)
    path = tmp_path / "hdr.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(_tree(["w", {"array": "w"}]))), ("w.npy", raw)])
    _loads_nothing_big(path, r"hdr.npz: array 'w' is corrupt")


def _patch_zip(path, local_offset, central_offset, value, width=2):
    """Overwrite a field of every member's local header and central-directory entry."""
    blob = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = 0
        while (start := blob.find(signature, start)) >= 0:
            blob[start + offset:start + offset + width] = value.to_bytes(width, "little")
            start += 4
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("field,value,match", [
    ("method", 99, "compression method 99"),
    ("method", zipfile.ZIP_BZIP2, "compression method 12"),
    ("method", zipfile.ZIP_LZMA, "compression method 14"),
    ("flags", 1, "is encrypted"),
])
def test_members_pynn_never_writes_are_refused(tmp_path, field, value, match):
    path = tmp_path / "odd.npz"
    save({"w": np.ones(3)}, path)
    if field == "method":
        _patch_zip(path, 8, 10, value)
    else:
        _patch_zip(path, 6, 8, value)
    with pytest.raises(ValueError, match=f"odd.npz: .*{match}"):
        load(path)


def test_requires_grad_on_an_integer_tensor_is_corrupt_metadata(tmp_path):
    meta = {"magic": "pynn", "pynn_format": 2,
            "tree": {"tensor": "t", "requires_grad": True}}
    path = tmp_path / "int.npz"
    _zip(path, [("pynn:meta.npy", _meta_bytes(meta)), ("t.npy", _npy_bytes(np.arange(3)))])
    with pytest.raises(ValueError, match="int64 tensor 't' is marked requires_grad"):
        load(path)


# ------------------------------------------------- interrupts during a save (issue 25, 10)
_TRACED = ("zipfile", os.sep + "serialization.py", os.sep + "format", "_safetensors", "_limits")


def _interrupt_at(n, exc_type):
    """A trace function raising ``exc_type`` at the ``n``-th line run in the writing code
    (``n`` < 0: only count); the file of each line run is in ``.files``."""
    import sys

    def trace(frame, event, arg):
        # an exception in a finaliser never propagates (Python prints and drops it)
        if frame.f_code.co_name == "__del__" or not any(
                part in frame.f_code.co_filename for part in _TRACED):
            return None
        if event == "line":
            trace.files.append(frame.f_code.co_filename)
            if len(trace.files) == n:
                sys.settrace(None)
                raise exc_type(f"injected at line event {n}")
        return trace

    trace.files = []
    return trace


def _save_interrupted(obj, path, n, exc_type, **kwargs):
    import gc
    import sys

    trace = _interrupt_at(n, exc_type)
    gc.collect()  # cheap: the test froze what was there before
    gc.disable()  # no finaliser of an older object may run traced lines in between
    sys.settrace(trace)
    try:
        save(obj, path, **kwargs)
    finally:
        sys.settrace(None)
        gc.enable()
    return trace.files


def _points(files):
    """The line events to interrupt at: every one in pynn's own code (where the windows
    between opening and closing are) and a sample of the libraries' (all of them with
    PYNN_FUZZ_EXAMPLES set)."""
    every = 1 if os.environ.get("PYNN_FUZZ_EXAMPLES") else 7
    return [n for n, name in enumerate(files, 1)
            if n % every == 0 or os.sep + "pynn" + os.sep in name or n == len(files)]


class _Custom(BaseException):
    pass


@pytest.mark.parametrize("name,kwargs", [("ckpt.npz", {}), ("ckpt.npz", {"compress": True}),
                                         ("m.safetensors", {})])
def test_an_interrupt_anywhere_in_save_propagates_as_itself_and_keeps_the_file_whole(
        tmp_path, monkeypatch, name, kwargs):
    import gc
    import sys

    if name.endswith(".safetensors"):
        pytest.importorskip("safetensors")
        old_obj = {"w": np.arange(6.0)}
        new_obj = {"w": np.ones(6), "b": np.zeros(2, np.float32)}
    else:
        old_obj = {"w": np.arange(6.0), "step": 1}
        new_obj = {"model": {"w": np.ones(6), "b": pynn.ones(2)}, "step": 2, "name": "x",
                   "hist": [0.5, np.float32(1.0)]}
    path = tmp_path / name
    save(old_obj, path)
    old_bytes = path.read_bytes()
    counted = tmp_path / ("count" + os.path.splitext(name)[1])
    files = _save_interrupted(new_obj, counted, -1, KeyboardInterrupt, **kwargs)
    new_bytes = counted.read_bytes()
    counted.unlink()
    assert len(files) > 50
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # what is tested is not the disk
    seen_new = False
    gc.collect()
    gc.freeze()
    try:
        for i, n in enumerate(_points(files)):
            exc_type = KeyboardInterrupt if i % 3 else _Custom
            with pytest.raises(exc_type, match=f"injected at line event {n}$"):
                _save_interrupted(new_obj, path, n, exc_type, **kwargs)
            gc.collect()  # finalisers of what the interrupt abandoned
            assert not unraisable, (n, unraisable)
            assert [p.name for p in tmp_path.iterdir()] == [name], n
            data = path.read_bytes()
            assert data in (old_bytes, new_bytes), n
            if data == new_bytes:  # interrupted after the rename: put the old file back
                seen_new = True
                path.write_bytes(old_bytes)
    finally:
        gc.unfreeze()
    assert seen_new  # the last points come after the rename
    assert path.read_bytes() == old_bytes
    assert load(path)["w"].tolist() == list(range(6))


def test_onnx_export_to_a_path_is_atomic(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    import pynn.onnx

    path = tmp_path / "m.onnx"
    path.write_bytes(b"old model")
    real_fsync = os.fsync

    def interrupted(fd):
        raise KeyboardInterrupt("while writing")

    monkeypatch.setattr(os, "fsync", interrupted)
    model = pynn.nn.Linear(3, 2)
    with pytest.raises(KeyboardInterrupt, match="while writing"):
        pynn.onnx.export(model, (pynn.ones(1, 3),), path)
    assert path.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    monkeypatch.setattr(os, "fsync", real_fsync)
    pynn.onnx.export(model, (pynn.ones(1, 3),), path)
    assert path.read_bytes()[:9] != b"old model"
