"""MNIST: the IDX parser on the real files and on damaged synthetic ones, the data root
lookup, the dataset, and the download path (with a fake network)."""

import gzip
import hashlib
import io
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from pynn.data import MNIST, DataLoader, load_mnist, read_idx
from pynn.data import mnist as mnist_mod

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REAL = SHARED_DATA / "mnist"
needs_real = pytest.mark.skipif(
    not (REAL / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST files are not in {REAL} (the shared folder beside the repo)",
)


def write_idx(path, arr, magic=None, extra=b"", cut=0, gz=False):
    """Write ``arr`` (uint8) as an IDX file; optionally a wrong magic, trailing bytes or
    the last ``cut`` bytes missing; gzip-compressed if ``gz``."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | arr.ndim
    data = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    data += arr.tobytes() + extra
    if cut:
        data = data[:-cut]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_split(root, n_images=5, n_labels=None, gz=True, train=True, **image_kwargs):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_labels if n_labels is not None else n_images)
    img_name, lbl_name = mnist_mod.FILES[train]
    suffix = ".gz" if gz else ""
    write_idx(Path(root) / "mnist" / (img_name + suffix), images, gz=gz, **image_kwargs)
    write_idx(Path(root) / "mnist" / (lbl_name + suffix), labels, gz=gz)
    return images, labels.astype(np.uint8)


# ------------------------------------------------------------------------- real files
@needs_real
def test_load_mnist_train_real_files():
    start = time.perf_counter()
    images, labels = load_mnist(SHARED_DATA, train=True, download=False)
    elapsed = time.perf_counter() - start
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert images.min() == 0 and images.max() == 255
    assert set(np.unique(labels).tolist()) == set(range(10))
    assert images.flags.writeable and images.flags.c_contiguous
    # ~0.3 s here (gzip + np.frombuffer); a loose bound so a busy CI machine passes.
    assert elapsed < 3.0, f"loading the train set took {elapsed:.2f} s"


@needs_real
def test_load_mnist_test_real_files():
    images, labels = load_mnist(SHARED_DATA, train=False, download=False)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]


@needs_real
def test_real_files_match_their_published_md5():
    for name, md5 in mnist_mod.MD5_RAW.items():
        content = gzip.decompress((REAL / (name + ".gz")).read_bytes())
        assert hashlib.md5(content).hexdigest() == md5, name


@needs_real
@pytest.mark.parametrize("normalize", [True, False])
def test_mnist_dataset_real(normalize):
    ds = MNIST(SHARED_DATA, train=False, normalize=normalize, download=False)
    raw, _ = load_mnist(SHARED_DATA, train=False, download=False)
    assert len(ds) == 10000
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert y.dtype == np.int64 and int(y) == 7
    expected = raw[0].astype(np.float64) / 255.0
    if normalize:
        expected = (expected - 0.1307) / 0.3081
    np.testing.assert_allclose(x[0], expected, rtol=1e-6, atol=1e-6)
    if not normalize:
        assert 0.0 <= x.min() and x.max() <= 1.0
    xb, yb = DataLoader(ds, batch_size=64, shuffle=True, seed=3).__iter__().__next__()
    assert xb.shape == (64, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64


@needs_real
def test_mnist_float64_and_transform():
    ds = MNIST(SHARED_DATA, train=False, dtype=np.float64, transform=lambda x: x * 0 + 1.0,
               download=False)
    x, _ = ds[3]
    assert x.dtype == np.float64 and x.shape == (1, 28, 28) and np.all(x == 1.0)
    xb, _ = ds.get_batch(np.arange(4))
    assert np.all(xb == 1.0) and xb.shape == (4, 1, 28, 28)


# ----------------------------------------------------------------- synthetic: lookups
@pytest.mark.parametrize("gz", [True, False])
def test_synthetic_split_round_trip(tmp_path, gz):
    images, labels = make_split(tmp_path, n_images=7, gz=gz, train=False)
    got_images, got_labels = load_mnist(tmp_path, train=False, download=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_files_directly_under_root_and_env_var(tmp_path, monkeypatch):
    images, _ = make_split(tmp_path / "elsewhere", n_images=3)
    for f in (tmp_path / "elsewhere" / "mnist").iterdir():
        shutil.move(f, tmp_path / f.name)  # root/<name> instead of root/mnist/<name>
    monkeypatch.setenv("PYNN_DATA_DIR", str(tmp_path))
    got_images, _ = load_mnist(download=False)
    np.testing.assert_array_equal(got_images, images)
    # An explicit root wins over the variable.
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path / "empty", download=False)


def test_default_root_is_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist_mod.mnist_root() == tmp_path / ".pynn" / "data"


def test_read_idx_other_dtypes(tmp_path):
    arr = (np.arange(6).reshape(2, 3) * -1000).astype(">i4")
    data = (0x0C02).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    (tmp_path / "x.idx").write_bytes(data + arr.tobytes())
    got = read_idx(tmp_path / "x.idx")
    assert got.dtype == np.int32 and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


# -------------------------------------------------------------- synthetic: corruption
@pytest.mark.parametrize("gz", [True, False])
def test_wrong_magic(tmp_path, gz):
    make_split(tmp_path, gz=gz, magic=0x00000801)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*wrong IDX magic.*0x00000801"):
        load_mnist(tmp_path, download=False)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_data(tmp_path, gz):
    make_split(tmp_path, gz=gz, cut=100)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*truncated data"):
        load_mnist(tmp_path, download=False)


@pytest.mark.parametrize("gz", [True, False])
def test_trailing_garbage(tmp_path, gz):
    make_split(tmp_path, gz=gz, extra=b"\x00garbage")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*8 bytes of trailing garbage"):
        load_mnist(tmp_path, download=False)


def test_truncated_header(tmp_path):
    (tmp_path / "h").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(tmp_path / "h")
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "e")


@pytest.mark.parametrize("gz", [True, False])
def test_mismatched_counts(tmp_path, gz):
    make_split(tmp_path, n_images=5, n_labels=4, gz=gz)
    with pytest.raises(ValueError, match=r"5 images.*4 labels"):
        load_mnist(tmp_path, download=False)


def test_labels_out_of_range(tmp_path):
    make_split(tmp_path, n_images=3)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.array([1, 2, 12]), gz=True)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*label 12"):
        load_mnist(tmp_path, download=False)


def test_corrupt_gzip_stream(tmp_path):
    make_split(tmp_path, n_images=20)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    blob = bytearray(path.read_bytes())
    for i in range(20, 60):  # scribble over the deflate data
        blob[i] ^= 0x5A
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: corrupt gzip stream"):
        load_mnist(tmp_path, download=False)


def test_truncated_gzip_stream(tmp_path):
    make_split(tmp_path, n_images=20)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: corrupt gzip stream"):
        load_mnist(tmp_path, download=False)


def test_gz_name_without_gzip_content(tmp_path):
    make_split(tmp_path, gz=False)
    raw = tmp_path / "mnist" / "train-images-idx3-ubyte"
    raw.rename(raw.with_name(raw.name + ".gz"))
    with pytest.raises(ValueError, match="not a gzip file"):
        load_mnist(tmp_path, download=False)


def test_non_28x28_images_rejected(tmp_path):
    root = tmp_path
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte", np.zeros((2, 27, 28)))
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte", np.zeros(2))
    with pytest.raises(ValueError, match="28x28"):
        load_mnist(root, train=False, download=False)


# ------------------------------------------------------------------------- download
class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def fake_network(monkeypatch, serve):
    """Patch urlopen: ``serve(url) -> bytes`` (or raises); returns the list of URLs asked."""
    asked = []

    def urlopen(url, timeout=None):
        asked.append(url)
        return FakeResponse(serve(url))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return asked


def real_gz(url):
    return (REAL / url.rsplit("/", 1)[1]).read_bytes()


@needs_real
def test_download_when_missing(tmp_path, monkeypatch):
    asked = fake_network(monkeypatch, real_gz)
    images, labels = load_mnist(tmp_path, train=False)
    assert asked == [mnist_mod.MIRRORS[0] + "t10k-images-idx3-ubyte.gz",
                     mnist_mod.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]  # no temp files left
    expected = load_mnist(SHARED_DATA, train=False, download=False)
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])
    # Present now: a second load asks nothing.
    asked.clear()
    load_mnist(tmp_path, train=False)
    assert asked == []


@needs_real
def test_download_only_the_missing_file(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    shutil.copy(REAL / "t10k-images-idx3-ubyte.gz", tmp_path / "mnist")
    asked = fake_network(monkeypatch, real_gz)
    load_mnist(tmp_path, train=False)
    assert [u.rsplit("/", 1)[1] for u in asked] == ["t10k-labels-idx1-ubyte.gz"]


@needs_real
def test_download_falls_back_to_next_mirror(tmp_path, monkeypatch):
    def serve(url):
        if url.startswith(mnist_mod.MIRRORS[0]):
            raise urllib.error.URLError("no route to host")
        return real_gz(url)

    asked = fake_network(monkeypatch, serve)
    images, _ = load_mnist(tmp_path, train=False)
    assert images.shape == (10000, 28, 28)
    assert len(asked) == 4


@needs_real
def test_download_checksum_mismatch(tmp_path, monkeypatch):
    cache = {}

    def serve(url):  # valid gzip, valid IDX, one pixel changed: only the MD5 can tell
        name = url.rsplit("/", 1)[1]
        if name not in cache:
            content = bytearray(gzip.decompress(real_gz(url)))
            content[-1] ^= 1
            cache[name] = gzip.compress(bytes(content), compresslevel=1)
        return cache[name]

    fake_network(monkeypatch, serve)
    with pytest.raises(OSError, match=r"t10k-images-idx3-ubyte.gz(.|\n)*checksum mismatch"):
        load_mnist(tmp_path, train=False)
    leftovers = list((tmp_path / "mnist").iterdir()) if (tmp_path / "mnist").exists() else []
    assert leftovers == []


def test_download_not_gzip(tmp_path, monkeypatch):
    fake_network(monkeypatch, lambda url: b"<html>not found</html>")
    with pytest.raises(OSError, match="checksum mismatch and not a valid gzip stream"):
        load_mnist(tmp_path, train=False)


def test_download_accepts_canonical_gz_md5(tmp_path, monkeypatch):
    # The published .gz MD5 accepts a file as is (it is checked before decompressing).
    payload = b"pretend original"
    monkeypatch.setitem(mnist_mod.MD5_GZ, "t10k-labels-idx1-ubyte",
                        hashlib.md5(payload).hexdigest())
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(b"present")
    fake_network(monkeypatch, lambda url: payload)
    mnist_mod.download_mnist(tmp_path, train=False)
    assert (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == payload


@needs_real
def test_download_from_file_url(tmp_path):
    server = tmp_path / "server"
    server.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(REAL / name, server)
    mnist_mod.download_mnist(tmp_path / "root", train=False, mirrors=[server.as_uri() + "/"])
    images, labels = load_mnist(tmp_path / "root", train=False, download=False)
    assert images.shape == (10000, 28, 28) and labels[:3].tolist() == [7, 2, 1]


def test_download_false_never_fetches(tmp_path, monkeypatch):
    asked = fake_network(monkeypatch, lambda url: b"")
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*tried"):
        load_mnist(tmp_path, train=False, download=False)
    assert asked == []
    assert not os.path.exists(tmp_path / "mnist")
