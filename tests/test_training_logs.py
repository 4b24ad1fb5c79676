"""Training logs people already read: fit's CSVLogger and TensorBoard callbacks,
pynn.utils.tensorboard.SummaryWriter (event files read back), and the download progress bar
(over file:// and a local HTTP server)."""

import csv
import gzip
import http.server
import io
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import pynn
from pynn import nn, train
from pynn.data import DataLoader, TensorDataset
from pynn.data import mnist as mnist_mod
from pynn.optim import SGD

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def blobs(n=120, classes=3, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, dim))
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32), y.astype(np.int64)


def setup(seed=0):
    x, y = blobs()
    pynn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    tl = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=16, shuffle=True, seed=seed)
    vl = DataLoader(TensorDataset(x[90:], y[90:]), batch_size=32)
    return model, opt, tl, vl


def fit(model, opt, tl, vl, **kwargs):
    return train.fit(model, nn.CrossEntropyLoss(), opt, tl, val_loader=vl, progress=None,
                     **kwargs)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


KEYS = ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "epoch_time", "items_per_sec"]


# ------------------------------------------------------------------------------ CSVLogger
def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "logs" / "train.csv"
    model, opt, tl, vl = setup()
    history = fit(model, opt, tl, vl, epochs=3, callbacks=[train.CSVLogger(path)])
    header, rows = read_csv(path)
    assert header == ["epoch"] + KEYS
    assert [r[0] for r in rows] == ["0", "1", "2"]
    for i, row in enumerate(rows):
        for key, text in zip(KEYS, row[1:]):
            assert float(text) == history[key][i], (key, i)  # repr round-trips exactly


def test_csv_logger_overwrites_or_appends(tmp_path):
    path = tmp_path / "train.csv"
    model, opt, tl, vl = setup()
    fit(model, opt, tl, vl, epochs=2, callbacks=[train.CSVLogger(path)])
    fit(model, opt, tl, vl, epochs=1, callbacks=[train.CSVLogger(path)])
    assert len(read_csv(path)[1]) == 1
    fit(model, opt, tl, vl, epochs=2, callbacks=[train.CSVLogger(path, append=True)])
    header, rows = read_csv(path)
    assert header == ["epoch"] + KEYS and [r[0] for r in rows] == ["0", "0", "1"]
    train.fit(model, nn.CrossEntropyLoss(), opt, tl, epochs=1, progress=None,
              callbacks=[train.CSVLogger(tmp_path / "semi.csv", separator=";")])
    assert (tmp_path / "semi.csv").read_text().splitlines()[0] == \
        "epoch;loss;accuracy;lr;epoch_time;items_per_sec"


def test_csv_logger_on_resume_appends_without_repeating_epochs(tmp_path):
    path, ckpt = tmp_path / "train.csv", tmp_path / "ckpt"
    model, opt, tl, vl = setup()
    full = fit(model, opt, tl, vl, epochs=4)

    model, opt, tl, vl = setup()
    fit(model, opt, tl, vl, epochs=2, callbacks=[train.CSVLogger(path)], checkpoint_dir=ckpt)
    with open(path, "a") as f:  # a row written after the last checkpoint, then a crash
        f.write("2,9,9,9,9,9,9,9\n")
    model, opt, tl, vl = setup()
    resumed = fit(model, opt, tl, vl, epochs=4, callbacks=[train.CSVLogger(path)],
                  checkpoint_dir=ckpt, resume=ckpt)
    header, rows = read_csv(path)
    assert header == ["epoch"] + KEYS
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]
    for i, row in enumerate(rows):
        assert float(row[1]) == resumed["loss"][i] == pytest.approx(full["loss"][i], rel=1e-12)

    # a logger added only when resuming starts its file at the resumed epoch
    model, opt, tl, vl = setup()
    fit(model, opt, tl, vl, epochs=2, checkpoint_dir=tmp_path / "ckpt2")
    model, opt, tl, vl = setup()
    fit(model, opt, tl, vl, epochs=3, callbacks=[train.CSVLogger(tmp_path / "late.csv")],
        resume=tmp_path / "ckpt2")
    header, rows = read_csv(tmp_path / "late.csv")
    assert header == ["epoch"] + KEYS and [r[0] for r in rows] == ["2"]


# ------------------------------------------------------------------------- TensorBoard
def read_events(log_dir):
    """``{tag: [(step, value)]}`` for scalars and ``{tag: histo}`` for histograms, read
    from every event file under ``log_dir`` with tensorboardX's protobuf classes: TFRecord
    framing is a little-endian length, its CRC, the record, its CRC."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
    scalars, histos, texts = {}, {}, {}
    for path in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            sub = path.parent.relative_to(log_dir).as_posix()
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                tag = v.tag if sub == "." else f"{v.tag}@{sub}"
                if kind == "simple_value":
                    scalars.setdefault(tag, []).append((event.step, v.simple_value))
                elif kind == "histo":
                    histos.setdefault(tag, []).append((event.step, v.histo))
                elif kind == "tensor":
                    texts[tag] = [s.decode() for s in v.tensor.string_val]
    return scalars, histos, texts


def test_summary_writer_pytorch_names(tmp_path):
    tb = pytest.importorskip("pynn.utils.tensorboard")
    values = pynn.tensor(np.linspace(-1, 1, 101))
    with tb.SummaryWriter(tmp_path / "run") as writer:
        assert Path(writer.log_dir) == tmp_path / "run"
        for step in range(3):
            writer.add_scalar("loss/train", pynn.tensor(1.0 / (step + 1)), step)
        writer.add_scalar("acc", np.float64(0.5), 7)
        writer.add_scalars("both", {"a": 1.0, "b": pynn.tensor([2.0])}, 1)
        writer.add_histogram("w", values, 0)
        writer.add_text("note", "hello pynn", 0)
        writer.add_image("img", pynn.rand(1, 5, 5), 0)
        writer.flush()
        scalars, histos, texts = read_events(tmp_path / "run")
        assert scalars["loss/train"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    scalars, histos, texts = read_events(tmp_path / "run")  # closed: every file complete
    assert scalars["acc"] == [(7, 0.5)]
    assert scalars["both@both/a"] == [(1, 1.0)] and scalars["both@both/b"] == [(1, 2.0)]
    histo = histos["w"][0][1]
    assert histo.num == 101 and histo.min == -1.0 and histo.max == 1.0
    assert histo.sum == pytest.approx(0.0, abs=1e-9)
    assert texts["note/text_summary"] == ["hello pynn"]
    with pytest.raises(ValueError, match="one element"):
        tb.SummaryWriter(tmp_path / "x").add_scalar("bad", pynn.ones(2), 0)


def test_tensorboard_callback_logs_the_history(tmp_path):
    pytest.importorskip("pynn.utils.tensorboard")
    model, opt, tl, vl = setup()
    history = fit(model, opt, tl, vl, epochs=3,
                  callbacks=[train.TensorBoard(tmp_path / "tb", histogram_freq=2)])
    scalars, histos, _ = read_events(tmp_path / "tb")
    for key, tag in [("loss", "loss/train"), ("val_loss", "loss/val"),
                     ("accuracy", "accuracy/train"), ("val_accuracy", "accuracy/val"),
                     ("lr", "lr"), ("items_per_sec", "items_per_sec")]:
        steps, got = zip(*scalars[tag])
        assert steps == (0, 1, 2), tag
        np.testing.assert_allclose(got, history[key], rtol=1e-6, err_msg=tag)  # float32
    # histogram_freq=2: after the second epoch only (step 1), weights and gradients
    assert sorted(histos) == ["grads/0.bias", "grads/0.weight", "grads/2.bias",
                              "grads/2.weight", "weights/0.bias", "weights/0.weight",
                              "weights/2.bias", "weights/2.weight"]
    assert [step for step, _ in histos["weights/0.weight"]] == [1]
    assert histos["weights/0.weight"][0][1].num == 32


def test_tensorboard_callback_with_a_given_writer(tmp_path):
    tb = pytest.importorskip("pynn.utils.tensorboard")
    writer = tb.SummaryWriter(tmp_path / "tb")
    model, opt, tl, vl = setup()
    fit(model, opt, tl, vl, epochs=1, callbacks=[train.TensorBoard(writer=writer)])
    writer.add_scalar("after", 1.0, 0)  # still open: the callback only flushed it
    writer.close()
    scalars, _, _ = read_events(tmp_path / "tb")
    assert "after" in scalars and "loss/train" in scalars


# ------------------------------------------------------------------ download progress bar
class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def payload_url(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    return data, path.as_uri()


def test_download_bar_on_a_terminal(payload_url, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    data, url = payload_url
    stream = FakeTTY()
    assert mnist_mod._fetch(url, 10, stream=stream, chunk_size=4096) == data
    text = stream.getvalue()
    assert text.startswith("\rblob.bin [") and text.endswith("\n") and text.count("\n") == 1
    final = text.rsplit("\r", 1)[1]
    assert "100%" in final and "300.0/300.0 kB" in final and "MB/s" in final


@pytest.mark.parametrize("case", ["not a terminal", "under CI", "progress=False"])
def test_download_quiet(payload_url, monkeypatch, case):
    data, url = payload_url
    monkeypatch.delenv("CI", raising=False)
    stream = io.StringIO() if case == "not a terminal" else FakeTTY()
    if case == "under CI":
        monkeypatch.setenv("CI", "true")
    progress = False if case == "progress=False" else None
    assert mnist_mod._fetch(url, 10, progress=progress, stream=stream) == data
    assert stream.getvalue() == ""


def test_download_bar_forced_and_over_http_without_length(monkeypatch):
    data = b"x" * 100_000

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            if self.path == "/with-length":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        monkeypatch.setenv("CI", "1")
        stream = io.StringIO()  # not a terminal, but progress=True asks for the bar
        assert mnist_mod._fetch(base + "with-length", 10, progress=True, stream=stream) == data
        assert "100%" in stream.getvalue()
        stream = io.StringIO()
        server.protocol_version = "HTTP/1.0"  # no length: the body ends with the connection
        assert mnist_mod._fetch(base + "no-length", 10, progress=True, stream=stream) == data
        final = stream.getvalue().rsplit("\r", 1)[1]
        assert final.startswith("no-length 100.0 kB") and "%" not in final
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no MNIST files in {SHARED_MNIST}")
def test_download_mnist_from_a_file_mirror_draws_a_bar(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        raw = gzip.decompress((SHARED_MNIST / (name + ".gz")).read_bytes())
        (mirror / (name + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
    monkeypatch.delenv("CI", raising=False)
    stream = FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    mnist_mod.download_mnist(tmp_path / "data", train=False, mirrors=[mirror.as_uri()])
    lines = stream.getvalue().split("\n")[:-1]
    assert len(lines) == 2 and all("100%" in line.rsplit("\r", 1)[1] for line in lines)
    images, labels = mnist_mod.load_mnist(tmp_path / "data", train=False, download=False)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
