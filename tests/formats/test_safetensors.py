"""pynn.formats.save_safetensors / load_safetensors: files from safetensors.torch load into
the matching pynn model, pynn's files load in PyTorch, dtypes and metadata round-trip, and bad
files and arguments raise documented errors."""

import io
import os

import numpy as np
import pytest

import pynn
from pynn import nn
from pynn.formats import CheckpointError, load_safetensors, save_safetensors

safetensors = pytest.importorskip("safetensors")
torch = pytest.importorskip("torch")
st_numpy = pytest.importorskip("safetensors.numpy")
st_torch = pytest.importorskip("safetensors.torch")

# torch dtype written by safetensors.torch -> the NumPy dtype pynn gives back
DTYPES = [
    (torch.float32, np.float32), (torch.float64, np.float64), (torch.float16, np.float32),
    (torch.bfloat16, np.float32), (torch.float8_e4m3fn, np.float32),
    (torch.float8_e5m2, np.float32), (torch.int8, np.int8), (torch.int16, np.int16),
    (torch.int32, np.int32), (torch.int64, np.int64), (torch.uint8, np.uint8),
    (torch.bool, np.bool_), (torch.complex64, np.complex64),
]


def sample(dtype):
    values = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)) * 10
    if dtype.is_complex:
        return torch.complex(values, values.flip(0)).to(dtype)
    if dtype == torch.bool:
        return values > 0
    if dtype.is_floating_point:
        return values.to(dtype)
    return values.abs().to(dtype)


@pytest.mark.parametrize("dtype, expected", DTYPES, ids=[str(d) for d, _ in DTYPES])
def test_files_from_safetensors_torch_load_equal(dtype, expected, tmp_path):
    t = sample(dtype)
    path = tmp_path / "t.safetensors"
    st_torch.save_file({"t": t, "scalar": t[0, 0].clone()}, path)
    for source in (path, io.BytesIO(path.read_bytes())):
        loaded = load_safetensors(source)
        assert list(loaded) == ["scalar", "t"]
        assert isinstance(loaded["t"], pynn.Tensor)
        assert loaded["t"]._data.dtype == expected and loaded["scalar"].shape == ()
        want = t.float() if expected == np.float32 and dtype != torch.float32 else t
        np.testing.assert_array_equal(loaded["t"]._data, want.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.int8,
                                   np.uint8, np.bool_, np.complex64, np.float16])
def test_pynn_files_load_in_pytorch(dtype, tmp_path):
    arr = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    path = tmp_path / "p.safetensors"
    save_safetensors({"tensor": pynn.tensor(arr), "array": arr, "strided": arr.T}, path)
    back = st_torch.load_file(path)
    for key, want in [("tensor", arr), ("array", arr), ("strided", arr.T)]:
        np.testing.assert_array_equal(back[key].numpy(), want)
        assert back[key].numpy().dtype == np.dtype(dtype)


def _models():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                            torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 4))
    p = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(3 * 4 * 4, 4))
    t(torch.randn(8, 1, 6, 6) * 2 + 1)  # running statistics away from 0 and 1
    return t.eval(), p.eval()


def test_a_pytorch_state_dict_loads_into_the_pynn_model(tmp_path):
    tmodel, model = _models()
    path = tmp_path / "model.safetensors"
    st_torch.save_file(tmodel.state_dict(), path, metadata={"arch": "cnn"})
    state, meta = load_safetensors(path, metadata=True)
    assert meta == {"arch": "cnn"}
    result = model.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        expected = tmodel(x).numpy()
    np.testing.assert_allclose(model(pynn.tensor(x.numpy()))._data, expected, rtol=1e-5,
                               atol=1e-5)


def test_a_pynn_state_dict_loads_into_the_pytorch_model(tmp_path):
    tmodel, model = _models()
    model.train()
    model(pynn.tensor(np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32)))
    model.eval()
    path = tmp_path / "pynn.safetensors"
    save_safetensors(model.state_dict(), path)
    tmodel.load_state_dict(st_torch.load_file(path))
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6)).astype(np.float32)
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(pynn.tensor(x))._data, expected, rtol=1e-5, atol=1e-5)


def test_metadata_round_trips(tmp_path):
    meta = {"format": "pt", "epoch": "3", "note": "ünïcode, \"quotes\"", "empty": ""}
    path = tmp_path / "m.safetensors"
    save_safetensors({"w": np.ones(2, np.float32)}, path, metadata=meta)
    assert load_safetensors(path, metadata=True)[1] == meta
    with safetensors.safe_open(path, framework="np") as f:
        assert f.metadata() == meta
    buffer = io.BytesIO()
    save_safetensors({"w": np.ones(2, np.float32)}, buffer, metadata=meta)
    buffer.seek(0)
    assert load_safetensors(buffer, metadata=True)[1] == meta
    save_safetensors({"w": np.ones(2, np.float32)}, path)
    assert load_safetensors(path, metadata=True)[1] == {}


def test_bfloat16_read_from_the_raw_bits_exactly(tmp_path):
    values = torch.tensor([0.0, -0.0, 1.0, -3.140625, float("inf"), float("nan"), 1e-39, 3e38])
    path = tmp_path / "bf.safetensors"
    st_torch.save_file({"b": values.bfloat16(), "f": values}, path)
    loaded = load_safetensors(path)
    np.testing.assert_array_equal(loaded["b"]._data, values.bfloat16().float().numpy())
    np.testing.assert_array_equal(loaded["f"]._data, values.numpy())


@pytest.mark.parametrize("tensors, metadata, message", [
    ({1: np.ones(2)}, None, "keys must be str"),
    ({"w": [1.0, 2.0]}, None, "must be Tensors or ndarrays"),
    ({"w": np.array(["a"])}, None, "cannot store"),
    ({"w": np.ones(2, np.complex128)}, None, "cannot store"),
    ({"w": np.ones(2)}, {"epoch": 3}, "metadata must be a dict of str -> str"),
    ([np.ones(2)], None, "expected a dict"),
], ids=["key", "list", "str", "complex128", "metadata", "not-a-dict"])
def test_save_rejects_what_the_format_cannot_hold(tensors, metadata, message, tmp_path):
    with pytest.raises(TypeError, match=message):
        save_safetensors(tensors, tmp_path / "x.safetensors", metadata=metadata)
    assert not os.listdir(tmp_path)


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_safetensors({"w": np.zeros(3, np.float32)}, path)
    before = path.read_bytes()

    def broken(arrays, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(st_numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_safetensors({"w": np.ones(3, np.float32)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.safetensors"]


def test_damaged_and_foreign_files(tmp_path):
    path = tmp_path / "w.safetensors"
    save_safetensors({"w": np.ones((16, 16), np.float32), "b": np.ones(3, np.float32)}, path)
    data = path.read_bytes()
    cases = {
        "truncated": data[: len(data) - 40],
        "header-cut": data[:20],
        "bad-header": data[:8] + b"{not json" + data[17:],
        "text": b"hello, world, this is not a safetensors file",
        "empty": b"",
    }
    for name, content in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        for source in (bad, io.BytesIO(content)):
            with pytest.raises(CheckpointError, match="not a readable safetensors file"):
                load_safetensors(source)
    with pytest.raises(FileNotFoundError):
        load_safetensors(tmp_path / "absent.safetensors")


def _file(header, data=b""):
    raw = header.encode()
    return len(raw).to_bytes(8, "little") + raw + data


@pytest.mark.parametrize("header", [
    ('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
     '"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}'),
    '{"__metadata__":{"x":"1","x":"2"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    ('{"__metadata__":{"x":"1"},"__metadata__":{"x":"2"},'
     '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
])
def test_repeated_keys_in_the_header_are_refused(tmp_path, header):
    blob = _file(header, bytes(4))
    path = tmp_path / "rep.safetensors"
    path.write_bytes(blob)
    for f in (path, io.BytesIO(blob)):
        with pytest.raises(CheckpointError, match="appears twice"):
            load_safetensors(f)
    with pytest.raises(ValueError, match="rep.safetensors: .*appears twice"):
        pynn.load(path)


@pytest.mark.parametrize("header", [
    '{"__metadata__":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
    '{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4]}}',
    '{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}',
    '{"a":1+1}',
])
def test_hostile_headers_raise_checkpoint_error(tmp_path, header):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(_file(header, bytes(4)))
    for f in (path, io.BytesIO(path.read_bytes())):
        with pytest.raises(CheckpointError):
            load_safetensors(f)
