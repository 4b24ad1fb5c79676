"""The example scripts, each run on a small slice of MNIST (seeded, one thread, a few seconds):
they run end to end and reach a stated accuracy with a margin."""

import io
import sys

import numpy as np
import pytest
from helpers import DATA_DIR, load_example, needs_mnist

import pynn
from pynn.data import DataLoader, TensorDataset

pytestmark = [needs_mnist, pytest.mark.usefixtures("restore_threads")]


def run(name, *args):
    common = ["--data-dir", str(DATA_DIR), "--threads", "1", "--seed", "0", "--quiet"]
    return load_example(name).main(common + [str(a) for a in args])


def test_binary_classifier_is_it_a_seven():
    # Always answering "no" scores 0.897; this run reaches about 0.984.
    acc = run("binary_classifier", "--train-size", 4000, "--epochs", 2)
    assert acc > 0.97


def test_transfer_learning_fine_tuned_beats_scratch(tmp_path):
    # A narrower network pretrained on ~6,000 images, 20 labelled images per digit: the
    # fine-tuned model scores about 0.87-0.91 and the one from scratch 0.83-0.87 (seeds 0-2).
    # The trunk must be pretrained well (>= ~98% on digits 0-4) for transfer to pay: with a
    # trunk trained on 2,000 images, the two are a coin toss.
    acc = run("transfer_learning", "--width", 16, "--train-size", 12000, "--test-size", 2000,
              "--epochs", 1, "--lr", 2e-3, "--batch-size", 32, "--per-class", 20,
              "--finetune-epochs", 10, "--out", tmp_path)
    assert (tmp_path / "pretrained.npz").is_file()
    assert acc["pretrained"] > 0.96
    assert acc["fine_tuned"] > 0.84
    assert acc["fine_tuned"] > acc["scratch"] + 0.015


def test_mnist_deep_cnn_default_mode_short_run():
    # About 0.89: one epoch of 2,000 images, warm-up and cosine squeezed into 16 batches.
    acc = run("mnist_deep_cnn", "--train-size", 2000, "--test-size", 2000, "--epochs", 1)
    assert acc > 0.85


def test_mnist_deep_cnn_fast_mode_short_run():
    # About 0.948 (the full epoch of 60,000 images reaches 0.991).
    acc = run("mnist_deep_cnn", "--fast", "--train-size", 5000, "--test-size", 2000,
              "--epochs", 1)
    assert acc > 0.93


def test_transfer_learning_frozen_trunk_stays_put():
    tl = load_example("transfer_learning")
    pynn.manual_seed(0)
    model = tl.make_model(width=4)
    model.features.requires_grad_(False)
    model.classifier = pynn.nn.Linear(tl.n_features(4), 5)
    before = model.state_dict()
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((32, 1, 28, 28)).astype(np.float32),
                         rng.integers(0, 5, 32))
    trainable = [p for p in model.parameters() if p.requires_grad]
    tl.fit_adam(model, trainable, DataLoader(data, batch_size=8), 2, 1e-2)
    after = model.state_dict()
    for key in before:
        assert np.array_equal(before[key], after[key]) == key.startswith("features."), key


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_mnist_row_rnn_short_run(cell):
    # About 0.76 (LSTM) and 0.78 (GRU) after one pass over 6,000 images; chance is 0.1 and
    # the full 4 epochs reach 0.987.
    acc = run(f"mnist_{cell}", "--train-size", 6000, "--test-size", 1000, "--epochs", 1,
              "--lr", 5e-3)
    assert acc > 0.65


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_a_fresh_checkout_downloads_mnist_once_into_the_users_data_dir(
        tmp_path, monkeypatch, capsys):
    # No --data-dir, no PYNN_DATA_DIR: the library's default, ~/.pynn/data, filled from a
    # mirror (here a file:// one holding the original files) with a progress bar.
    from pynn.data import mnist as mnist_mod

    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(mnist_mod, "MIRRORS", [(DATA_DIR / "mnist").as_uri()])
    stderr = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", stderr)
    args = ["--threads", "1", "--quiet", "--epochs", "1", "--train-size", "600",
            "--test-size", "200"]
    load_example("mnist_mlp").main(args)
    target = tmp_path / ".pynn" / "data" / "mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        p.name for p in (DATA_DIR / "mnist").iterdir() if p.name.endswith(".gz"))
    bars = [line.rsplit("\r", 1)[1] for line in stderr.getvalue().split("\n")[:-1]]
    assert len(bars) == 4 and all("100%" in bar for bar in bars), bars
    stderr.seek(0)
    stderr.truncate()
    load_example("mnist_mlp").main(args)  # present now: nothing downloaded, no bar
    assert stderr.getvalue() == ""
    capsys.readouterr()
