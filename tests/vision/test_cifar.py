"""CIFAR10 / CIFAR100 on small synthetic copies of both distributed layouts (the pickled
Python batches torchvision reads, and the binary records), the download with its MD5 check
(a local file URL, no network), and the restricted unpickler refusing anything but data."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

import pynn
from pynn.utils.data import DataLoader
from pynn.vision import datasets, transforms
from pynn.vision.datasets import cifar

NAMES10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def images(rng, n):
    """(n, 32, 32, 3) uint8 pictures and their rows as the files store them (planes R, G, B)."""
    pictures = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return pictures, pictures.transpose(0, 3, 1, 2).reshape(n, 3072)


def write_pickle(path, obj, protocol):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def make_cifar10_py(root, rng, per_batch=(3, 2, 4, 1, 2), test=5, protocol=2):
    """cifar-10-batches-py with five data batches, a test batch and batches.meta; returns
    the expected (train, test) pictures and labels."""
    folder = root / "cifar-10-batches-py"
    expected = {}
    for split, names, sizes in ((True, [f"data_batch_{i}" for i in range(1, 6)], per_batch),
                                (False, ["test_batch"], (test,))):
        pics, labels = [], []
        for name, n in zip(names, sizes):
            p, rows = images(rng, n)
            lab = rng.integers(0, 10, n).tolist()
            write_pickle(folder / name, {"batch_label": f"{name} of 5", "labels": lab,
                                         "data": rows,
                                         "filenames": [f"img_{i}.png" for i in range(n)]},
                         protocol)
            pics.append(p)
            labels += lab
        expected[split] = (np.concatenate(pics), labels)
    write_pickle(folder / "batches.meta", {"label_names": NAMES10, "num_vis": 3072,
                                           "num_cases_per_batch": 10000}, protocol)
    return expected


def make_cifar10_bin(root, rng):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    expected = {}
    for split, names in ((True, [f"data_batch_{i}.bin" for i in range(1, 6)]),
                         (False, ["test_batch.bin"])):
        pics, labels = [], []
        for name in names:
            p, rows = images(rng, 2)
            lab = rng.integers(0, 10, 2)
            records = np.concatenate([lab[:, None].astype(np.uint8), rows], axis=1)
            (folder / name).write_bytes(records.tobytes())
            pics.append(p)
            labels += lab.tolist()
        expected[split] = (np.concatenate(pics), labels)
    (folder / "batches.meta.txt").write_text("\n".join(NAMES10) + "\n\n")
    return expected


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_python_batches(tmp_path, protocol):
    expected = make_cifar10_py(tmp_path, np.random.default_rng(0), protocol=protocol)
    for train in (True, False):
        ds = datasets.CIFAR10(str(tmp_path), train=train)
        pics, labels = expected[train]
        assert len(ds) == len(labels)
        assert isinstance(ds.data, np.ndarray) and ds.data.shape == (len(labels), 32, 32, 3)
        assert ds.data.dtype == np.uint8
        np.testing.assert_array_equal(ds.data, pics)
        assert ds.targets == labels and all(type(t) is int for t in ds.targets)
        assert ds.classes == NAMES10 and ds.class_to_idx["truck"] == 9
        img, target = ds[1]
        assert isinstance(img, np.ndarray) and img.shape == (32, 32, 3)
        np.testing.assert_array_equal(img, pics[1])
        assert target == labels[1] and type(target) is int
        assert "Split: " + ("Train" if train else "Test") in repr(ds)


def test_cifar10_binary_batches_and_transforms(tmp_path):
    expected = make_cifar10_bin(tmp_path, np.random.default_rng(1))
    tf = transforms.Compose([transforms.ToTensor(),
                             transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    ds = datasets.CIFAR10(tmp_path, train=True, transform=tf, target_transform=lambda t: -t)
    pics, labels = expected[True]
    assert len(ds) == 10 and ds.classes == NAMES10
    x, y = ds[3]
    assert isinstance(x, pynn.Tensor) and tuple(x.shape) == (3, 32, 32)
    assert x.dtype == pynn.float32
    want = (pics[3].transpose(2, 0, 1).astype(np.float32) / 255 - 0.5) / 0.25
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6, atol=1e-6)
    assert y == -labels[3]
    test = datasets.CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(test.data, expected[False][0])


def test_loader_batches_equal_sample_by_sample(tmp_path):
    make_cifar10_py(tmp_path, np.random.default_rng(2))
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.4,) * 3, (0.2,) * 3)])
    ds = datasets.CIFAR10(tmp_path, transform=tf)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert tuple(xb.shape) == (4, 3, 32, 32) and yb.dtype == pynn.int64
    for i in range(4):
        np.testing.assert_allclose(xb[i].numpy(), ds[i][0].numpy(), rtol=1e-6)
        assert int(yb[i]) == ds[i][1]


def test_cifar100_both_layouts(tmp_path):
    rng = np.random.default_rng(3)
    fine = [f"class_{i:03d}" for i in range(100)]
    py = tmp_path / "py" / "cifar-100-python"
    pics, rows = images(rng, 4)
    fine_labels = [0, 99, 42, 7]
    write_pickle(py / "train", {"fine_labels": fine_labels, "coarse_labels": [0, 19, 3, 1],
                                "data": rows, "filenames": ["a", "b", "c", "d"]}, 2)
    write_pickle(py / "test", {"fine_labels": [5], "coarse_labels": [1],
                               "data": rows[:1], "filenames": ["e"]}, 2)
    write_pickle(py / "meta", {"fine_label_names": fine, "coarse_label_names": ["x"] * 20}, 2)
    ds = datasets.CIFAR100(tmp_path / "py")
    assert ds.targets == fine_labels and ds.classes == fine
    np.testing.assert_array_equal(ds[2][0], pics[2])
    assert len(datasets.CIFAR100(tmp_path / "py", train=False)) == 1

    binary = tmp_path / "bin" / "cifar-100-binary"
    binary.mkdir(parents=True)
    records = np.concatenate([np.array([[0, 0], [19, 99], [3, 42], [1, 7]], np.uint8), rows], 1)
    (binary / "train.bin").write_bytes(records.tobytes())
    (binary / "test.bin").write_bytes(records[:1].tobytes())
    (binary / "fine_label_names.txt").write_text("\n".join(fine))
    ds = datasets.CIFAR100(tmp_path / "bin")
    assert ds.targets == fine_labels and ds.classes == fine
    np.testing.assert_array_equal(ds.data, pics)


def test_found_through_pynn_data_dir(tmp_path, monkeypatch):
    make_cifar10_py(tmp_path / "shared", np.random.default_rng(4))
    monkeypatch.setenv("PYNN_DATA_DIR", str(tmp_path / "shared"))
    assert len(datasets.CIFAR10(tmp_path / "empty", train=False)) == 5


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    with pytest.raises(RuntimeError, match="cifar-10-batches-py.*download=True"):
        datasets.CIFAR10(tmp_path)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.mark.parametrize("payload", [
    {"data": Evil(), "labels": [0]},
    Evil(),
    {"labels": [0], "data": np.zeros((1, 3072), np.uint8), "x": eval},
])
def test_malicious_pickle_is_refused_before_it_runs(tmp_path, monkeypatch, payload):
    monkeypatch.chdir(tmp_path)
    make_cifar10_py(tmp_path, np.random.default_rng(5))
    write_pickle(tmp_path / "cifar-10-batches-py" / "test_batch", payload, 2)
    with pytest.raises(pickle.UnpicklingError, match="refused to load the global"):
        datasets.CIFAR10(tmp_path, train=False)
    assert not (tmp_path / "pwned.txt").exists()


def test_malformed_batches_are_named(tmp_path):
    make_cifar10_py(tmp_path, np.random.default_rng(6))
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad = [({"labels": [0]}, "no 'data' entry"),
           ({"labels": [0], "data": np.zeros((1, 100), np.uint8)}, "shape"),
           ({"labels": [0, 1], "data": np.zeros((1, 3072), np.uint8)}, "1 images but 2"),
           ({"labels": [12], "data": np.zeros((1, 3072), np.uint8)}, "outside 0..9"),
           ([1, 2], "is a dict")]
    for payload, message in bad:
        write_pickle(path, payload, 2)
        with pytest.raises((ValueError, TypeError), match=message):
            datasets.CIFAR10(tmp_path, train=False)
    path.write_bytes(pickle.dumps({"labels": [0]}, protocol=2)[:-5])
    with pytest.raises(ValueError, match="not a readable CIFAR batch"):
        datasets.CIFAR10(tmp_path, train=False)
    binary = tmp_path / "b" / "cifar-10-batches-bin"
    binary.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)]:
        (binary / name).write_bytes(b"\0" * 3074)
    with pytest.raises(ValueError, match="not a whole number of 3073-byte"):
        datasets.CIFAR10(tmp_path / "b")


def archive_of(folder_root, name="cifar-10-batches-py", extra=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder_root / name, arcname=name)
        if extra is not None:
            extra(tar)
    return buffer.getvalue()


def test_download_checks_md5_and_extracts(tmp_path, monkeypatch):
    source = tmp_path / "source"
    expected = make_cifar10_py(source, np.random.default_rng(7))
    payload = archive_of(source)
    served = tmp_path / "served.tar.gz"
    served.write_bytes(payload)

    class Local(datasets.CIFAR10):
        url = served.as_uri()
        tgz_md5 = hashlib.md5(payload).hexdigest()

    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    root = tmp_path / "root"
    ds = Local(root, train=False, download=True)
    np.testing.assert_array_equal(ds.data, expected[False][0])
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()
    assert (root / Local.filename).read_bytes() == payload
    assert len(Local(root, train=True, download=True)) == 12  # found, not fetched again

    class Wrong(Local):
        tgz_md5 = "0" * 32

    with pytest.raises(OSError, match="checksum mismatch"):
        Wrong(tmp_path / "other", download=True)
    assert not (tmp_path / "other" / "cifar-10-batches-py").exists()
    assert Local.url != datasets.CIFAR10.url
    assert datasets.CIFAR10.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert datasets.CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"


def test_download_refuses_an_archive_that_escapes_its_folder(tmp_path, monkeypatch):
    source = tmp_path / "source"
    make_cifar10_py(source, np.random.default_rng(8))

    def escape(tar):
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))

    payload = archive_of(source, extra=escape)
    served = tmp_path / "served.tar.gz"
    served.write_bytes(payload)

    class Local(datasets.CIFAR10):
        url = served.as_uri()
        tgz_md5 = hashlib.md5(payload).hexdigest()

    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    with pytest.raises(OSError, match="refused to extract '../escaped.txt'"):
        Local(tmp_path / "root", download=True)
    assert not (tmp_path / "escaped.txt").exists()


def test_the_unpickler_admits_numpy_data_only():
    rows = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for protocol in (2, 4, 5):
        data = pickle.dumps({"data": rows, "n": np.int64(3)}, protocol=protocol)
        out = cifar._BatchUnpickler(io.BytesIO(data), "<mem>").load()
        np.testing.assert_array_equal(out["data"], rows)
    with pytest.raises(pickle.UnpicklingError, match=r"builtin__\.getattr"):
        evil = pickle.dumps(getattr, protocol=2)
        cifar._BatchUnpickler(io.BytesIO(evil), "<mem>").load()
