"""pynn.formats.load_torch: files written by torch.save load equal to the originals, without
PyTorch's unpickler; hostile, damaged and unsupported files are refused with a clear error."""

import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import pynn
from pynn import nn
from pynn.formats import CheckpointError, UnsafeCheckpointError, load_torch

torch = pytest.importorskip("torch")


def saved(obj, tmp_path, name="ckpt.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def assert_matches(loaded, original, where="root"):
    """``loaded`` (pynn) holds the same structure and values as ``original`` (PyTorch)."""
    if isinstance(original, torch.Tensor):
        assert isinstance(loaded, pynn.Tensor), where
        assert isinstance(loaded, nn.Parameter) == isinstance(original, torch.nn.Parameter), where
        wide = {torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2}
        expected = (original.detach().float() if original.dtype in wide
                    else original.detach()).numpy()
        assert loaded._data.dtype == expected.dtype, where
        assert loaded.shape == tuple(original.shape), where
        np.testing.assert_array_equal(loaded._data, expected, err_msg=where)
    elif isinstance(original, dict):
        assert type(loaded) is type(original), where
        assert list(loaded) == list(original), where
        for key in original:
            assert_matches(loaded[key], original[key], f"{where}/{key!r}")
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is type(original) or isinstance(original, torch.Size), where
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original)):
            assert_matches(a, b, f"{where}/{i}")
    elif isinstance(original, torch.dtype):
        assert loaded == getattr(pynn, str(original).split(".")[1]), where
    elif isinstance(original, torch.device):
        assert str(loaded) == str(original), where
    else:
        assert type(loaded) is type(original) and loaded == original, where


# --------------------------------------------------------------------------- dtypes and layout
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16,
          torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128,
          torch.uint16, torch.uint32, torch.uint64, torch.float8_e4m3fn, torch.float8_e5m2]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_dtype_loads_equal(dtype, tmp_path):
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(3, 5, generator=gen) * 20
    if dtype.is_complex:
        t = torch.complex(values, -values).to(dtype)
    elif dtype == torch.bool:
        t = values > 0
    elif dtype.is_floating_point:
        t = values.to(dtype)
    else:
        t = values.abs().to(torch.int64).to(dtype)
    loaded = load_torch(saved({"t": t, "zero_d": t[1, 2].clone()}, tmp_path))
    assert_matches(loaded, {"t": t, "zero_d": t[1, 2].clone()})
    assert loaded["zero_d"].shape == ()


def test_bfloat16_and_float8_special_values(tmp_path):
    values = torch.tensor([0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"),
                           1e-40, 3e38])
    originals = {"bf16": values.bfloat16(), "e5m2": values.clamp(-5e4, 5e4).to(torch.float8_e5m2),
                 "e4m3": values.nan_to_num(posinf=448, neginf=-448).to(torch.float8_e4m3fn)}
    loaded = load_torch(saved(originals, tmp_path))
    for key, t in originals.items():
        np.testing.assert_array_equal(loaded[key]._data, t.float().numpy(), err_msg=key)


def test_views_strides_and_shared_storage(tmp_path):
    base = torch.arange(24.0).reshape(4, 6)
    originals = {
        "base": base,
        "transposed": base.t(),
        "row": base[2],                       # storage offset
        "column": base[:, 3],                 # stride 6
        "block": base[1:3, 2:5],              # offset and strides
        "expanded": torch.arange(3.0).expand(4, 3),  # stride 0
        "again": base,                        # the same tensor twice
        "empty": torch.zeros(0, 3),
    }
    loaded = load_torch(saved(originals, tmp_path))
    assert_matches(loaded, originals)
    assert loaded["again"] is loaded["base"]
    assert loaded["transposed"]._data.strides == (4, 24)
    # as in PyTorch, views of one storage share it after loading
    assert np.shares_memory(loaded["block"]._data, loaded["base"]._data)
    loaded["base"]._data[1, 2] = -1.0
    assert loaded["block"]._data[0, 0] == -1.0 and loaded["transposed"]._data[2, 1] == -1.0


def test_parameters_and_requires_grad(tmp_path):
    p = torch.nn.Parameter(torch.randn(3))
    frozen = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    leaf = torch.ones(2, requires_grad=True)
    loaded = load_torch(saved({"p": p, "frozen": frozen, "leaf": leaf, "int": torch.ones(2,
                                                                                      dtype=int)},
                              tmp_path))
    assert isinstance(loaded["p"], nn.Parameter) and loaded["p"].requires_grad
    assert isinstance(loaded["frozen"], nn.Parameter) and not loaded["frozen"].requires_grad
    assert type(loaded["leaf"]) is pynn.Tensor and loaded["leaf"].requires_grad
    assert not loaded["int"].requires_grad
    np.testing.assert_array_equal(loaded["p"]._data, p.detach().numpy())


def test_a_bare_parameter_and_a_bare_tensor(tmp_path):
    p = torch.nn.Parameter(torch.randn(2, 2))
    assert_matches(load_torch(saved(p, tmp_path, "p.pt")), p)
    t = torch.randn(5)
    assert_matches(load_torch(saved(t, tmp_path, "t.pt")), t)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_every_pickle_protocol(protocol, tmp_path):
    obj = {"w": torch.randn(2, 3), "raw": b"\x00\x01", "ids": {1, 2}, "pair": (1, "a")}
    path = tmp_path / "p.pt"
    torch.save(obj, path, pickle_protocol=protocol)
    assert_matches(load_torch(path), obj)


def test_files_without_a_byteorder_record_are_little_endian(tmp_path):
    t = {"w": torch.randn(3)}
    dst = rewrite(saved(t, tmp_path), tmp_path / "old.pt", drop=("/byteorder",))
    assert_matches(load_torch(dst), t)


# ------------------------------------------------------------------------ whole checkpoints
def test_full_checkpoint_dict(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    ckpt = {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "loss": 0.125,
        "best": float("inf"),
        "history": [1.5, 0.5, (0.25, None)],
        "name": "mlp",
        "flags": {"amp": False, "seed": -7, "ids": {3, 1}},
        "raw": b"\x00\xffbytes",
        "z": 1 - 2j,
        "counter": collections.Counter("aab"),
        "shape": torch.Size([2, 3]),
        "device": torch.device("cpu"),
        "dtype": torch.float16,
    }
    loaded = load_torch(saved(ckpt, tmp_path))
    assert_matches(loaded, ckpt)
    assert isinstance(loaded["shape"], pynn.Size) and loaded["dtype"] is pynn.float16
    assert loaded["model_state_dict"]._metadata[""] == {"version": 1}


def test_checkpoint_resumes_a_pynn_optimizer(tmp_path):
    torch.manual_seed(1)
    tmodel = torch.nn.Linear(3, 2)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    tmodel(torch.randn(4, 3)).pow(2).sum().backward()
    topt.step()
    loaded = load_torch(saved({"model": tmodel.state_dict(), "opt": topt.state_dict()},
                              tmp_path))
    model = nn.Linear(3, 2)
    opt = pynn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    model.load_state_dict(loaded["model"])
    opt.load_state_dict(loaded["opt"])
    assert opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(model.weight._data, tmodel.weight.detach().numpy())


def _mlp():
    return (torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)),
            nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)), (5, 6))


def _cnn():
    t = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                            torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                            torch.nn.Linear(4 * 4 * 4, 5))
    p = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    return t, p, (3, 2, 8, 8)


def _lstm():
    return (torch.nn.LSTM(4, 6, num_layers=2, batch_first=True),
            nn.LSTM(4, 6, num_layers=2, batch_first=True), (2, 5, 4))


@pytest.mark.parametrize("make", [_mlp, _cnn, _lstm], ids=["mlp", "cnn", "lstm"])
def test_state_dict_loads_into_the_matching_pynn_model(make, tmp_path):
    torch.manual_seed(2)
    tmodel, model, shape = make()
    if isinstance(tmodel, torch.nn.Sequential):  # BatchNorm statistics that are not 0 and 1
        tmodel.train()
        tmodel(torch.randn(*shape) * 3 + 1)
    tmodel.eval()
    model.eval()
    path = saved(tmodel.state_dict(), tmp_path)
    result = model.load_state_dict(load_torch(path))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(*shape)
    with torch.no_grad():
        expected = tmodel(x)
    got = model(pynn.tensor(x.numpy()))
    if isinstance(expected, tuple):  # LSTM: (output, (h, c))
        expected, got = expected[0], got[0]
    np.testing.assert_allclose(got._data, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_file_objects_seekable_or_not(tmp_path):
    t = {"w": torch.randn(2, 3)}
    buffer = io.BytesIO()
    torch.save(t, buffer)
    data = buffer.getvalue()
    assert_matches(load_torch(io.BytesIO(data)), t)

    class Stream(io.RawIOBase):  # a pipe: readable, not seekable
        def __init__(self):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    assert_matches(load_torch(io.BufferedReader(Stream())), t)
    with open(saved(t, tmp_path), "rb") as f:
        assert_matches(load_torch(f), t)


def test_loading_never_imports_torch(tmp_path):
    import subprocess
    import sys

    path = saved({"w": torch.arange(6.0).reshape(2, 3)}, tmp_path)
    code = ("import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
            "from pynn.formats import load_torch\n"
            f"print(load_torch({str(path)!r})['w'].tolist())\n"
            "print('torch' in [m.split('.')[0] for m in sys.modules if sys.modules[m]])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout  # the installed pynn, not the tree
    assert out.split("\n")[:2] == ["[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]", "False"]


# ------------------------------------------------------------------- rewriting saved archives
def rewrite(src, dst, *, pickle_bytes=None, byteorder=None, data=None, drop=()):
    """Copy the zip ``src`` to ``dst`` with records replaced or dropped."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            name, content = info.filename, zin.read(info.filename)
            if any(name.endswith(d) for d in drop):
                continue
            if name.endswith("/data.pkl") and pickle_bytes is not None:
                content = pickle_bytes(content)
            elif name.endswith("/byteorder") and byteorder is not None:
                content = byteorder
            elif "/data/" in name and data is not None:
                content = data(content)
            zout.writestr(name, content)
    return dst


def test_big_endian_byteorder_record(tmp_path):
    t = {"f": torch.randn(3, 2), "d": torch.randn(4, dtype=torch.float64),
         "i": torch.arange(5, dtype=torch.int16)}
    item_of = {v.numpy().tobytes(): v.element_size() for v in t.values()}

    def swap(content):  # each record rewritten as a big-endian machine would have saved it
        return np.frombuffer(content, f"<u{item_of[content]}").byteswap().tobytes()

    dst = rewrite(saved(t, tmp_path), tmp_path / "big.pt", byteorder=b"big", data=swap)
    assert_matches(load_torch(dst), t)
    with zipfile.ZipFile(dst) as z:
        assert z.read("ckpt/data/0") != t["f"].numpy().tobytes()


def test_storage_on_a_gpu_loads_on_the_cpu(tmp_path):
    t = {"w": torch.randn(2, 2)}
    src = saved(t, tmp_path)
    dst = rewrite(src, tmp_path / "gpu.pt", pickle_bytes=lambda b: b.replace(
        b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"))
    with zipfile.ZipFile(dst) as z:
        assert b"cuda:0" in z.read("ckpt/data.pkl")
    assert_matches(load_torch(dst), t)


# ---------------------------------------------------------------------------- hostile files
class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_in_the_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = saved({"w": torch.ones(2), "payload": RunsCode(marker)}, tmp_path)
    with pytest.raises(UnsafeCheckpointError, match=r"refused to load the global "
                                                    r"'(posix|nt)\.system'") as info:
        load_torch(path)
    assert not marker.exists()
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("obj, name", [
    (torch.nn.Linear(2, 2), "torch.nn.modules.linear.Linear"),   # a whole module
    (np.arange(3), "numpy"),                                    # NumPy's reconstructor
    ({"f": print}, "builtins.print"),
    ({"cls": collections.defaultdict(int)}, "collections.defaultdict"),
], ids=["module", "ndarray", "function", "defaultdict"])
def test_other_globals_are_refused_by_name(obj, name, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=name.replace(".", r"\.")):
        load_torch(saved(obj, tmp_path))


def hand_pickle(tmp_path, body):
    """A torch-style archive whose data.pkl is ``body`` (protocol 2 opcodes)."""
    src = saved({"w": torch.ones(2)}, tmp_path, "base.pt")
    return rewrite(src, tmp_path / "hand.pt", pickle_bytes=lambda _: b"\x80\x02" + body)


@pytest.mark.parametrize("body, message", [
    # OrderedDict() then BUILD {"items": 1}: would shadow the dict's method
    (b"ccollections\nOrderedDict\n)R}X\x05\x00\x00\x00itemsK\x01sb.", "_metadata"),
    # an admitted function left in the data instead of being called
    (b"ctorch._utils\n_rebuild_tensor_v2\n.", "leaves the global torch._utils._rebuild_tensor_v2"),
    (b"ctorch\nFloatStorage\n.", "leaves the global torch.FloatStorage"),
    # a persistent id that is not a storage reference
    (b"X\x04\x00\x00\x00evilQ.", "persistent id"),
    # torch.Size of a string
    (b"ctorch\nSize\nX\x02\x00\x00\x00ab\x85R.", "tuple of ints"),
    # bytes through a codec other than latin-1
    (b"c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00base64\x86R.", "encode"),
], ids=["build-shadow", "leaked-function", "leaked-storage-type", "bad-persistent-id", "size",
        "codec"])
def test_admitted_globals_used_as_the_format_never_does(body, message, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=message):
        load_torch(hand_pickle(tmp_path, body))


@pytest.mark.parametrize("target", [b"ctorch\nFloatStorage\n",
                                    b"ctorch._utils\n_rebuild_tensor_v2\n",
                                    b"ctorch\nfloat32\n", b"ctorch\nTensor\n"],
                         ids=["storage-type", "function", "dtype", "class"])
def test_the_shared_stand_ins_cannot_be_changed_by_a_file(target, tmp_path):
    # BUILD {"dtype_name": "int64", "__defaults__": (1,)} on what find_class returned
    state = (b"}X\x0a\x00\x00\x00dtype_nameX\x05\x00\x00\x00int64s"
             b"X\x0c\x00\x00\x00__defaults__K\x01\x85sb.")
    with pytest.raises(UnsafeCheckpointError, match="sets the state of"):
        load_torch(hand_pickle(tmp_path, target + state))
    t = {"w": torch.randn(3)}  # a later load still reads float32 storages as float32
    assert_matches(load_torch(saved(t, tmp_path, "after.pt")), t)


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    src = saved({"w": torch.zeros(2, 3)}, tmp_path)
    # size (2, 3) -> (9, 3): the view would read past the 6 stored floats
    dst = rewrite(src, tmp_path / "oob.pt",
                  pickle_bytes=lambda b: b.replace(b"K\x02K\x03\x86", b"K\x09K\x03\x86", 1))
    with pytest.raises(CheckpointError, match="reaches past its storage"):
        load_torch(dst)


def test_storage_record_shorter_than_declared(tmp_path):
    src = saved({"w": torch.zeros(2, 3)}, tmp_path)
    dst = rewrite(src, tmp_path / "short.pt", data=lambda content: content[:8])
    with pytest.raises(CheckpointError, match="holds 8 bytes; its storage needs 24"):
        load_torch(dst)


# --------------------------------------------------------------------------- damaged files
def test_truncated_archives(tmp_path):
    path = saved({"w": torch.randn(64, 64)}, tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
            load_torch(bad)
        assert str(bad) in str(info.value)


def test_corrupted_storage_bytes_fail_the_crc(tmp_path):
    t = torch.randn(64, 64)
    path = saved({"w": t}, tmp_path)
    data = bytearray(path.read_bytes())
    at = bytes(data).index(t.numpy().tobytes()[:64]) + 100
    data[at:at + 8] = b"\x00garbage"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"data/0' is truncated or corrupt"):
        load_torch(path)


def test_corrupted_pickle(tmp_path):
    src = saved({"w": torch.ones(2)}, tmp_path)
    dst = rewrite(src, tmp_path / "bad.pt", pickle_bytes=lambda b: b[: len(b) // 2])
    with pytest.raises(CheckpointError, match="data.pkl is corrupt"):
        load_torch(dst)


def test_missing_storage_record(tmp_path):
    src = saved({"w": torch.ones(2)}, tmp_path)
    dst = rewrite(src, tmp_path / "missing.pt", drop=("/data/0",))
    with pytest.raises(CheckpointError, match="absent from the archive"):
        load_torch(dst)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit
def test_files_that_are_not_zip_checkpoints(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy .*re-save it with a current PyTorch"):
        load_torch(legacy)
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), scripted)
    with pytest.raises(CheckpointError, match="TorchScript"):
        load_torch(scripted)
    pynn_file = tmp_path / "pynn.npz"
    pynn.save({"w": np.ones(2)}, pynn_file)
    with pytest.raises(CheckpointError, match="pynn.load"):
        load_torch(pynn_file)
    for name, content in [("empty.pt", b""), ("text.pt", b"hello world")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
            load_torch(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load_torch(tmp_path / "absent.pt")


@pytest.mark.filterwarnings("ignore::UserWarning")  # quantized and complex32 are experimental
@pytest.mark.parametrize("make, kind", [
    (lambda: torch.ones(2, 2).to_sparse(), "sparse"),
    (lambda: torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8), "quantized"),
    (lambda: torch.ones(2, dtype=torch.complex32), "complex32"),
], ids=["sparse", "quantized", "complex32"])
def test_unsupported_tensors(make, kind, tmp_path):
    with pytest.raises(CheckpointError, match=kind) as info:
        load_torch(saved({"t": make()}, tmp_path))
    assert not isinstance(info.value, UnsafeCheckpointError)


# -------------------------------------------------------- memory and ambiguity (issue 25)
def _peak_of(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_duplicate_records_are_refused(tmp_path):
    import warnings

    src = saved({"w": torch.ones(3)}, tmp_path)
    dst = tmp_path / "dup.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
            if "/data/" in info.filename:
                zout.writestr(info.filename, np.zeros(3, np.float32).tobytes())
    with pytest.raises(CheckpointError, match=r"dup.pt: .*two members named 'ckpt/data/0'"):
        load_torch(dst)
    with pytest.raises(ValueError, match="two members named"):
        pynn.load(dst)


def test_a_compressed_record_is_bounded_by_max_bytes(tmp_path):
    n = 80 << 20
    src = saved({"w": torch.zeros(4)}, tmp_path)
    dst = tmp_path / "bomb.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if "/data/" in info.filename:
                with zout.open(info.filename, "w", force_zip64=True) as member:
                    for _ in range(n >> 20):
                        member.write(bytes(1 << 20))
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    assert dst.stat().st_size < 200_000

    def refused():
        with pytest.raises(CheckpointError,
                           match=r"bomb.pt: loading the record 'ckpt/data/0'.*max_bytes"):
            load_torch(dst)

    assert _peak_of(refused) < 8 << 20
    assert load_torch(dst, max_bytes=float("inf"))["w"].tolist() == [0.0] * 4


def test_widened_views_count_against_max_bytes(tmp_path):
    # a bfloat16 tensor of 2**36 elements over one stored element (all strides 0): widened
    # to float32 it would take 256 GiB
    src = saved({"w": torch.zeros(1, dtype=torch.bfloat16).expand(1)}, tmp_path)

    def huge(b):
        return b.replace(b"K\x01\x85", b"\x8a\x05\x00\x00\x00\x00\x10\x85", 1).replace(
            b"K\x01\x85", b"K\x00\x85", 1)

    dst = rewrite(src, tmp_path / "wide.pt", pickle_bytes=huge)
    assert _peak_of(lambda: pytest.raises(CheckpointError, load_torch, dst)) < 8 << 20
    with pytest.raises(CheckpointError, match="bfloat16 tensor of size .*max_bytes"):
        load_torch(dst)


def test_byte_strings_built_by_the_pickle_count_against_max_bytes(tmp_path):
    # one 1 MiB string, memoised, turned into a new bytearray 300 times: 300 MiB from a small
    # pickle
    body = (b"X\x00\x00\x10\x00" + b"a" * (1 << 20) + b"q\x01"  # BINUNICODE, BINPUT 1
            + b"("
            + b"".join([b"c_codecs\nencode\nh\x01X\x06\x00\x00\x00latin1\x86R"] * 300)
            + b"l.")
    path = hand_pickle(tmp_path, body)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(CheckpointError, match="byte string.*max_bytes"):
        load_torch(path)


@pytest.mark.parametrize("method, match", [(zipfile.ZIP_BZIP2, "compression method 12"),
                                           (zipfile.ZIP_LZMA, "compression method 14")])
def test_records_compressed_other_than_by_deflate_are_refused(tmp_path, method, match):
    src = saved({"w": torch.ones(3)}, tmp_path)
    dst = tmp_path / "odd.pt"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    with pytest.raises(CheckpointError, match=match):
        load_torch(dst)


@pytest.mark.parametrize("body, message", [
    (b"K\x01r\xff\xff\xff\xff.", "memo index 4294967295"),  # LONG_BINPUT: a 32 GiB memo
    (b"K\x01p99999999999\n.", "memo index 99999999999"),  # PUT, protocol 0
    (b"\x8e" + (1 << 40).to_bytes(8, "little") + b"ab.", "bytes8"),  # BINBYTES8 of 1 TiB
    (b"B" + (1 << 31).to_bytes(4, "little") + b"ab.", "bytes4"),
], ids=["long-binput", "put", "binbytes8", "binbytes"])
def test_counts_in_the_pickle_allocate_nothing(body, message, tmp_path):
    # found by tests/fuzz: the C unpickler allocates what such counts declare
    path = hand_pickle(tmp_path, body)

    def refused():
        with pytest.raises(CheckpointError, match=f"data.pkl is corrupt.*{message}"):
            load_torch(path)

    assert _peak_of(refused) < 8 << 20
