"""PyTorch programs run unchanged on pynn: the scripts in tests/torch_scripts/ are written as
PyTorch code is written, with ``import pynn as torch`` (and ``pynn.nn``, ``pynn.optim``,
``pynn.utils.data``) at the top. Each runs twice, as it is and with every ``pynn`` import
turned into ``torch``; the two must print the same lines, numbers equal to a float32
training run's rounding (losses, accuracies, generated tokens, fitted coefficients).

Each script starts from weights and noise drawn with NumPy, so the two libraries see the
same numbers; dropout is switched off (``DROPOUT=0``) because the masks are random.

Scripts importing ``pynn.vision`` run on PyTorch with torchvision; without torchvision only
the pynn run is checked (it must succeed and print). They read MNIST from the project's
shared data folder (``PYNN_DATA_DIR``).
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).parent / "torch_scripts").glob("*.py"))
DATA_DIR = Path(os.environ.get("PYNN_DATA_DIR")
                or Path(__file__).resolve().parents[1].parent / "shared" / "data")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def as_torch(source):
    """The same program on PyTorch: every pynn module name becomes torch's (torchvision's
    for pynn.vision)."""
    source = re.sub(r"\bpynn\.vision\b", "torchvision", source)
    return re.sub(r"\bpynn\b", "torch", source.replace("import pynn as torch", "import torch"))


def run(path, tmp_path):
    env = dict(os.environ, DROPOUT="0", PYNN_DATA_DIR=str(DATA_DIR))
    out = subprocess.run([sys.executable, str(path), str(tmp_path / (path.stem + ".ckpt"))],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
                         check=False)
    assert out.returncode == 0, f"{path.name} failed:\n{out.stderr[-4000:]}"
    return out.stdout.splitlines()


def assert_same_output(ours, theirs, name):
    assert len(ours) == len(theirs), (name, ours, theirs)
    for mine, ref in zip(ours, theirs):
        assert NUMBER.sub("#", mine) == NUMBER.sub("#", ref), (name, mine, ref)
        for a, b in zip(NUMBER.findall(mine), NUMBER.findall(ref)):
            a, b = float(a), float(b)
            assert abs(a - b) <= 2e-3 * max(abs(a), abs(b)) + 1e-5, (name, mine, ref)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_torch_script_matches_pytorch(script, tmp_path):
    pytest.importorskip("torch")
    vision = "pynn.vision" in script.read_text()
    if vision and not (DATA_DIR / "mnist").is_dir():
        pytest.skip(f"MNIST files not found in {DATA_DIR / 'mnist'}")
    ours = run(script, tmp_path)
    if vision and importlib.util.find_spec("torchvision") is None:
        assert ours, f"{script.name} printed nothing"
        return  # no torchvision to compare with: the pynn run alone is checked
    reference = tmp_path / ("torch_" + script.name)
    reference.write_text(as_torch(script.read_text()))
    theirs = run(reference, tmp_path)
    assert ours, f"{script.name} printed nothing"
    assert_same_output(ours, theirs, script.name)
