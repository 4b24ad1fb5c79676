"""pynn.formats.detect_format tells pynn, PyTorch and safetensors files apart by content."""

import io

import numpy as np
import pytest

import pynn
from pynn.formats import detect_format, save_safetensors

torch = pytest.importorskip("torch")


def written(tmp_path):
    sd = {"w": np.ones((2, 3), np.float32)}
    files = {}
    files["pynn"] = tmp_path / "a.pt"  # the name says nothing: pynn's format in a .pt file
    pynn.save(sd, files["pynn"])
    files["torch"] = tmp_path / "b.bin"
    torch.save({"w": torch.ones(2)}, files["torch"])
    files["legacy"] = tmp_path / "c.pt"
    torch.save({"w": torch.ones(2)}, files["legacy"], _use_new_zipfile_serialization=False)
    files["safetensors"] = tmp_path / "d.npz"
    save_safetensors(sd, files["safetensors"])
    files["npz"] = tmp_path / "e.npz"
    np.savez(files["npz"], w=sd["w"])
    files["text"] = tmp_path / "f.safetensors"
    files["text"].write_bytes(b"hello, world, not a model")
    files["empty"] = tmp_path / "g.pt"
    files["empty"].write_bytes(b"")
    return files


EXPECTED = {"pynn": "pynn", "torch": "torch", "legacy": "torch", "safetensors": "safetensors",
            "npz": None, "text": None, "empty": None}


def test_paths(tmp_path):
    files = written(tmp_path)
    assert {k: detect_format(p) for k, p in files.items()} == EXPECTED


def test_file_objects_are_read_from_their_position_which_is_restored(tmp_path):
    for kind, path in written(tmp_path).items():
        stream = io.BytesIO(b"some prefix" + path.read_bytes())
        stream.seek(11)
        assert detect_format(stream) == EXPECTED[kind], kind
        assert stream.tell() == 11
