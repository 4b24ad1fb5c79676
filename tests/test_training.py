"""pynn.train: fit / evaluate / predict mechanics, history, checkpoints and resume, callbacks,
schedulers, progress output, and a short real training run on MNIST."""

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pynn
import pynn.functional as F
from pynn import nn, train
from pynn.data import DataLoader, TensorDataset
from pynn.optim import SGD, Adam, lr_scheduler
from pynn.tensor import Tensor

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# ------------------------------------------------------------------------------- helpers
class Recorded(nn.Module):
    """Wraps a module and records ``(training, grad enabled)`` at every forward."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, pynn.is_grad_enabled()))
        return self.inner(x)


def mlp(sizes, seed=0, dropout=0.0, batchnorm=False):
    """Flatten -> (Linear -> [BatchNorm1d] -> ReLU -> [Dropout]) * k -> Linear, seeded."""
    pynn.manual_seed(seed)
    layers = [nn.Flatten()]
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(fan_in, fan_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return Recorded(nn.Sequential(*layers))


class DuckMLP:
    """Not an nn.Module: only the API fit relies on (callable, parameters, train/eval,
    state_dict/load_state_dict over leaf tensors), forward through pynn.functional."""

    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
            b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
            self.layers.append((Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)))
        self.training = True

    def __call__(self, x):
        x = x.reshape(x.shape[0], -1)
        for i, (w, b) in enumerate(self.layers):
            x = F.linear(x, w, b)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer]

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        return {f"fc{i}.{name}": p for i, layer in enumerate(self.layers)
                for name, p in zip(("weight", "bias"), layer)}

    def load_state_dict(self, state):
        for key, p in self.state_dict().items():
            p.data[...] = np.asarray(state[key])


def weights(model):
    return {k: np.array(getattr(v, "data", v)) for k, v in model.state_dict().items()}


def blobs(n=240, classes=3, dim=5, seed=0):
    """Separable Gaussian blobs: float32 inputs (n, dim), int64 labels (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (classes, dim))
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32)
    return x, y.astype(np.int64)


def loaders(batch_size=32, seed=0, n=240):
    x, y = blobs(n)
    split = n * 3 // 4
    train_loader = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=batch_size,
                              shuffle=True, seed=seed)
    val_loader = DataLoader(TensorDataset(x[split:], y[split:]), batch_size=64)
    return train_loader, val_loader


cross_entropy = nn.CrossEntropyLoss()


# ------------------------------------------------------------------------------ MNIST run
@pytest.mark.skipif(not (DATA_DIR / "mnist").is_dir(),
                    reason=f"MNIST files not found in {DATA_DIR / 'mnist'}")
def test_fit_mnist_mlp_reaches_90_percent():
    """784-64-10 MLP, Adam, 10k training images, 2 epochs: >= 90% on 2k test images."""
    threshold = 0.90
    train_set = pynn.data.MNIST(root=DATA_DIR, train=True, download=False)
    test_set = pynn.data.MNIST(root=DATA_DIR, train=False, download=False)
    train_loader = DataLoader(pynn.data.Subset(train_set, np.arange(10_000)), batch_size=64,
                              shuffle=True, seed=0)
    test_loader = DataLoader(pynn.data.Subset(test_set, np.arange(2_000)), batch_size=500)
    model = mlp([784, 64, 10], seed=0)
    optimizer = Adam(model.parameters(), lr=2e-3)
    t0 = time.perf_counter()
    history = train.fit(model, cross_entropy, optimizer, train_loader, epochs=2,
                        val_loader=test_loader, progress=None)
    elapsed = time.perf_counter() - t0
    assert history["val_accuracy"][-1] >= threshold, history
    assert history["accuracy"][-1] > history["accuracy"][0] - 0.01
    assert elapsed < 60
    result = train.evaluate(model, cross_entropy, test_loader)
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])


# ---------------------------------------------------------------------- fit mechanics
def test_fit_history_contents():
    train_loader, val_loader = loaders()
    model = mlp([5, 16, 3])
    history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader,
                        epochs=3, val_loader=val_loader, progress=None)
    assert isinstance(history, train.History)
    assert len(history) == 3 and history.epoch == [0, 1, 2]
    assert list(history.keys()) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                    "epoch_time", "items_per_sec"]
    assert all(len(history[k]) == 3 for k in history.history)
    assert history["lr"] == [0.1, 0.1, 0.1]
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert all(0 <= a <= 1 for a in history["accuracy"])
    assert all(t > 0 for t in history["epoch_time"])
    assert all(r > 0 for r in history["items_per_sec"])
    assert "3 epochs" in repr(history)


def test_fit_matches_handwritten_loop():
    """One epoch of fit is exactly the ten-line loop: same weights, same mean loss."""
    train_loader, _ = loaders(seed=5)
    model_a, model_b = mlp([5, 8, 3], seed=1), mlp([5, 8, 3], seed=1)
    history = train.fit(model_a, cross_entropy,
                        SGD(model_a.parameters(), lr=0.05, momentum=0.9), train_loader,
                        epochs=1, metrics=(), progress=None)

    train_loader, _ = loaders(seed=5)
    opt = SGD(model_b.parameters(), lr=0.05, momentum=0.9)
    losses, sizes = [], []
    model_b.train()
    for x, y in train_loader:
        opt.zero_grad()
        loss = F.cross_entropy(model_b(pynn.tensor(x)), pynn.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        sizes.append(len(x))
    for key, value in weights(model_a).items():
        np.testing.assert_array_equal(value, weights(model_b)[key], err_msg=key)
    assert history["loss"][0] == pytest.approx(np.average(losses, weights=sizes), rel=1e-6)
    assert list(history.keys()) == ["loss", "lr", "epoch_time", "items_per_sec"]


def test_fit_trains_in_train_mode_and_restores_mode():
    train_loader, val_loader = loaders()
    model = mlp([5, 4, 3]).eval()
    train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader, epochs=1,
              val_loader=val_loader, progress=None)
    n_train = len(train_loader)
    assert model.calls[:n_train] == [(True, True)] * n_train
    assert model.calls[n_train:] == [(False, False)] * len(val_loader)
    assert model.training is False


def test_fit_custom_metric_and_loss_only():
    train_loader, val_loader = loaders()
    model = mlp([5, 8, 3])

    def top2(output, target):
        return np.mean((np.argsort(output, axis=1)[:, -2:] == target[:, None]).any(axis=1))

    history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader,
                        epochs=2, val_loader=val_loader, metrics=("accuracy", top2),
                        progress=None)
    assert {"top2", "val_top2", "accuracy", "val_accuracy"} <= set(history.keys())
    assert all(t >= a for t, a in zip(history["val_top2"], history["val_accuracy"]))


def test_fit_accepts_any_module_like_object(tmp_path):
    """fit needs only the Module API, not an nn.Module: duck-typed models train, evaluate,
    predict, checkpoint and resume."""
    train_loader, val_loader = loaders()
    model = DuckMLP([5, 8, 3])
    opt = SGD(model.parameters(), lr=0.1)
    history = train.fit(model, F.cross_entropy, opt, train_loader, epochs=2,
                        val_loader=val_loader, checkpoint_dir=tmp_path, progress=None)
    assert history["val_accuracy"][-1] > 0.8
    assert train.predict(model, val_loader).shape == (60, 3)
    model2 = DuckMLP([5, 8, 3], seed=9)
    opt2 = SGD(model2.parameters(), lr=0.1)
    resumed = train.fit(model2, F.cross_entropy, opt2, train_loader, epochs=2,
                        resume=tmp_path, progress=None)  # nothing left to train
    assert resumed.epoch == [0, 1]
    np.testing.assert_array_equal(model2.layers[0][0].data, model.layers[0][0].data)


def test_evaluate_uses_eval_mode_with_dropout():
    train_loader, val_loader = loaders()
    model = mlp([5, 32, 3], dropout=0.5)
    train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader, epochs=1,
              progress=None)
    first = train.evaluate(model, cross_entropy, val_loader)
    assert train.evaluate(model, cross_entropy, val_loader) == first
    np.testing.assert_array_equal(train.predict(model, val_loader),
                                  train.predict(model, val_loader))


def test_fit_rejects_bad_arguments():
    train_loader, _ = loaders()
    model = mlp([5, 3])
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_step"):
        train.fit(model, cross_entropy, opt, train_loader, 1, scheduler_step="step")
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, cross_entropy, opt, train_loader, -1)
    with pytest.raises(ValueError, match="tuples"):
        train.fit(model, cross_entropy, opt, [np.zeros((2, 5), np.float32)], 1, progress=None)
    with pytest.raises(ValueError, match="unknown metric"):
        train.fit(model, cross_entropy, opt, train_loader, 1, metrics=("f1",))


# ---------------------------------------------------------------- evaluate / predict
def test_evaluate_matches_manual_computation_and_restores_mode():
    _, val_loader = loaders()
    model = mlp([5, 8, 3], seed=3)
    x, y = val_loader.dataset.arrays
    with pynn.no_grad():
        out = model(pynn.tensor(x)).detach().numpy()
    result = train.evaluate(model, cross_entropy, val_loader)
    assert model.training is True and model.calls[-1] == (False, False)
    assert result["accuracy"] == pytest.approx(np.mean(out.argmax(1) == y))
    assert result["loss"] == pytest.approx(F.cross_entropy(pynn.tensor(out), y).item(),
                                           rel=1e-5)
    assert train.evaluate(model, None, val_loader).keys() == {"accuracy"}


def test_predict_array_tensor_and_loader():
    _, val_loader = loaders()
    model = mlp([5, 8, 3], seed=3).train()
    x = val_loader.dataset.arrays[0]
    with pynn.no_grad():
        expected = model(pynn.tensor(x)).detach().numpy()
    for source, kwargs in [(x, {"batch_size": 7}), (pynn.tensor(x), {}), (val_loader, {})]:
        out = train.predict(model, source, **kwargs)
        assert isinstance(out, np.ndarray) and out.shape == (len(x), 3)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert model.training is True
    assert all(call == (False, False) for call in model.calls[1:])


@pytest.mark.parametrize("output, target, expected", [
    ([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 5.0, 0.0]], [0, 2, 0], 2 / 3),  # labels
    ([[2.0, 1.0], [0.0, 3.0]], [[0.0, 1.0], [0.0, 1.0]], 0.5),  # one-hot targets
    ([2.0, -1.0, 0.5, -3.0], [1, 0, 0, 1], 0.5),  # binary logits (N,), threshold 0
    ([[2.0], [-1.0], [0.5]], [1.0, 0.0, 1.0], 1.0),  # binary head (N, 1)
    ([[0.3], [-0.2]], [[1.0], [1.0]], 0.5),  # binary head (N, 1) with (N, 1) targets
])
def test_accuracy_rules(output, target, expected):
    assert train.accuracy(np.array(output), np.array(target)) == pytest.approx(expected)
    assert train.accuracy(pynn.tensor(np.array(output)), np.array(target)) == \
        pytest.approx(expected)


def test_accuracy_shape_mismatch():
    with pytest.raises(ValueError, match="cannot compare"):
        train.accuracy(np.zeros((4, 3)), np.zeros((5, 2, 2)))


# -------------------------------------------------------------- checkpoints and resume
def _resume_setup(seed=7):
    train_loader, val_loader = loaders(batch_size=16, seed=seed)
    # Dropout draws from pynn's global generator and BatchNorm keeps running statistics:
    # resuming must restore both.
    model = mlp([5, 16, 3], seed=2, dropout=0.2, batchnorm=True)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    return model, opt, sched, train_loader, val_loader


def test_checkpoint_resume_gives_same_weights_as_uninterrupted_run(tmp_path):
    model, opt, sched, tl, vl = _resume_setup()
    full = train.fit(model, cross_entropy, opt, tl, epochs=4, val_loader=vl, scheduler=sched,
                     progress=None)
    expected = weights(model)

    model, opt, sched, tl, vl = _resume_setup()
    train.fit(model, cross_entropy, opt, tl, epochs=2, val_loader=vl, scheduler=sched,
              checkpoint_dir=tmp_path, progress=None)
    assert (tmp_path / "last.npz").is_file() and (tmp_path / "best.npz").is_file()

    # A fresh process's view: new objects, same seeds; everything else from the file.
    model, opt, sched, tl, vl = _resume_setup()
    resumed = train.fit(model, cross_entropy, opt, tl, epochs=4, val_loader=vl,
                        scheduler=sched, checkpoint_dir=tmp_path, resume=tmp_path / "last.npz",
                        progress=None)
    for key, value in expected.items():
        np.testing.assert_array_equal(weights(model)[key], value, err_msg=key)
    assert resumed.epoch == [0, 1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        np.testing.assert_allclose(resumed[key], full[key], rtol=1e-12, err_msg=key)
    assert sched.last_epoch == 4 and opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.7 ** 4)

    state = pynn.load(tmp_path / "last.npz")
    assert state["epoch"] == 3
    assert {"model", "optimizer", "scheduler", "epoch", "history"} <= set(state)
    np.testing.assert_array_equal(state["model"]["inner.1.weight"], expected["inner.1.weight"])
    assert state["history"]["history"]["loss"] == resumed["loss"]


def test_best_checkpoint_follows_val_accuracy(tmp_path):
    model, opt, _, tl, vl = _resume_setup()
    history = train.fit(model, cross_entropy, opt, tl, epochs=3, val_loader=vl,
                        checkpoint_dir=tmp_path / "ckpt", progress=None)
    best = pynn.load(tmp_path / "ckpt" / "best.npz")
    accs = history["val_accuracy"]
    assert best["epoch"] == int(np.argmax(accs))
    assert best["best"] == pytest.approx(max(accs))
    assert best["scheduler"] is None


def test_load_checkpoint_restores_objects(tmp_path):
    model, opt, sched, tl, _ = _resume_setup()
    train.fit(model, cross_entropy, opt, tl, epochs=1, scheduler=sched,
              checkpoint_dir=tmp_path, progress=None)
    assert not (tmp_path / "best.npz").exists()  # no validation, no best
    model2, opt2, sched2, _, _ = _resume_setup()
    state = train.load_checkpoint(tmp_path, model2, opt2, sched2)  # a directory: last.npz
    assert state["epoch"] == 0
    for key, value in weights(model).items():
        np.testing.assert_array_equal(weights(model2)[key], value)
    assert sched2.last_epoch == sched.last_epoch == 1
    np.testing.assert_array_equal(opt2.state[opt2.param_groups[0]["params"][0]]["momentum_buffer"],
                                  opt.state[opt.param_groups[0]["params"][0]]["momentum_buffer"])
    with pytest.raises(ValueError, match="not a training checkpoint"):
        pynn.save({"x": np.zeros(2)}, tmp_path / "other.npz")
        train.load_checkpoint(tmp_path / "other.npz")


def test_resume_with_a_different_loader_warns(tmp_path):
    model, opt, _, tl, _ = _resume_setup()
    train.fit(model, cross_entropy, opt, tl, epochs=1, checkpoint_dir=tmp_path, progress=None)
    x, y = blobs()
    unseeded = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)  # no own generator
    with pytest.warns(UserWarning, match="random generator states"):
        history = train.fit(model, cross_entropy, opt, unseeded, epochs=2, resume=tmp_path,
                            progress=None)
    assert history.epoch == [0, 1]


# -------------------------------------------------------------------------- callbacks
def test_early_stopping_stops_after_patience():
    train_loader, val_loader = loaders()
    model = mlp([5, 8, 3])
    stopper = train.EarlyStopping(monitor="val_loss", patience=2)
    # lr=0: val_loss never improves after the first epoch.
    history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.0), train_loader,
                        epochs=10, val_loader=val_loader, callbacks=[stopper], progress=None)
    assert len(history) == 4  # epoch 0 sets the best, then 1, 2 (patience), 3 stops
    assert stopper.best_epoch == 0 and stopper.stopped_epoch == 3


def test_early_stopping_restores_best_weights():
    stopper = train.EarlyStopping(monitor="val_accuracy", patience=0,
                                  restore_best_weights=True)
    assert stopper.mode == "max"
    model = mlp([5, 3])
    stopper.on_train_begin(model)
    best = weights(model)
    assert stopper.on_epoch_end(0, {"val_accuracy": 0.8}) is False
    for p in model.parameters():
        p.data += 1.0
    assert stopper.on_epoch_end(1, {"val_accuracy": 0.7}) is True
    stopper.on_train_end(None)
    for key, value in best.items():
        np.testing.assert_array_equal(weights(model)[key], value)
    with pytest.raises(KeyError, match="val_loss"):
        train.EarlyStopping().on_epoch_end(0, {"loss": 1.0})


def test_callback_hooks_and_stop():
    events = []

    class Recorder:
        def on_train_begin(self, model):
            events.append("begin")

        def on_epoch_end(self, epoch, logs):
            events.append((epoch, sorted(logs)))
            return epoch == 1

        def on_train_end(self, history):
            events.append(("end", len(history)))

    train_loader, _ = loaders()
    model = mlp([5, 3])
    train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader, epochs=5,
              callbacks=Recorder(), progress=None)
    keys = sorted(["loss", "accuracy", "lr", "epoch_time", "items_per_sec"])
    assert events == ["begin", (0, keys), (1, keys), ("end", 2)]


# ------------------------------------------------------------------------- schedulers
def test_scheduler_steps_per_epoch():
    train_loader, _ = loaders(batch_size=60)  # 180 samples: 3 batches
    model = mlp([5, 3])
    opt = SGD(model.parameters(), lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = train.fit(model, cross_entropy, opt, train_loader, epochs=3, scheduler=sched,
                        progress=None)
    assert history["lr"] == [1.0, 0.5, 0.25]
    assert sched.last_epoch == 3


def test_scheduler_steps_per_batch():
    train_loader, _ = loaders(batch_size=60)
    model = mlp([5, 3])
    opt = SGD(model.parameters(), lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = train.fit(model, cross_entropy, opt, train_loader, epochs=2, scheduler=sched,
                        scheduler_step="batch", progress=None)
    assert sched.last_epoch == 6
    assert history["lr"] == [1.0, 0.5 ** 3]
    assert opt.param_groups[0]["lr"] == 0.5 ** 6


# --------------------------------------------------------------------------- progress
def _fit_quietly(**kwargs):
    train_loader, val_loader = loaders()
    model = mlp([5, 3])
    return train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), train_loader,
                     epochs=2, val_loader=val_loader, **kwargs)


def test_progress_none_is_silent(capsys):
    _fit_quietly(progress=None)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("progress", [True, False])
def test_progress_plain_lines_when_not_a_tty(capsys, progress):
    _fit_quietly(progress=progress)
    out, err = capsys.readouterr()
    assert out == "" and "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2") and lines[1].startswith("Epoch 2/2")
    for part in ("items/s", "loss", "acc", "val_loss", "val_acc", "lr"):
        assert part in lines[1]


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_tty(monkeypatch):
    stream = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    _fit_quietly(progress=True)
    text = stream.getvalue()
    assert text.count("\n") == 2  # one finished line per epoch
    assert "\r" in text and "items/s" in text and "]" in text
    final = [seg for seg in text.split("\n")[0].split("\r") if seg][-1]
    assert final.startswith("Epoch 1/2 - ") and "val_acc" in final


# ------------------------------------------------------------ a PyTorch script, both ways
SCRIPT = """
class Data(Dataset):
    def __init__(self, n):
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((n, 6)).astype(np.float32)
        self.y = (self.x[:, 0] + self.x[:, 1] > 0).astype(np.int64) + (self.x[:, 2] > 0.5)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), int(self.y[i])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def run(weights, optimizer_name, opt_kwargs, sched_name, sched_kwargs, workers):
    model = Net()
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    loader = DataLoader(Data(96), batch_size=16, shuffle=False, num_workers=workers)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), **opt_kwargs)
    scheduler = getattr(optim.lr_scheduler, sched_name)(optimizer, **sched_kwargs)
    losses = []
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
"""


def namespace(torch_like):
    """SCRIPT executed with the given library under PyTorch's names."""
    import numpy as np

    if torch_like == "pynn":
        import pynn as torch
        import pynn.nn as nn  # noqa: PLR0402 - the scripts' spelling
        import pynn.nn.functional as F
        import pynn.optim as optim  # noqa: PLR0402 - the scripts' spelling
        from pynn.utils.data import DataLoader, Dataset
    else:
        import torch
        import torch.nn as nn  # noqa: PLR0402 - the scripts' spelling
        import torch.nn.functional as F
        import torch.optim as optim  # noqa: PLR0402 - the scripts' spelling
        from torch.utils.data import DataLoader, Dataset
    ns = {"torch": torch, "nn": nn, "F": F, "optim": optim, "DataLoader": DataLoader,
          "Dataset": Dataset, "np": np}
    exec(compile(SCRIPT, f"<script on {torch_like}>", "exec"), ns)  # noqa: S102 - our text
    return ns


@pytest.mark.parametrize("optimizer_name, opt_kwargs, sched_name, sched_kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "StepLR", {"step_size": 1, "gamma": 0.7}),
    ("Adam", {"lr": 0.01}, "CosineAnnealingLR", {"T_max": 3}),
    ("RMSprop", {"lr": 0.01}, "ExponentialLR", {"gamma": 0.9}),
    ("NAdam", {"lr": 0.01}, "LinearLR", {"total_iters": 2}),
    ("Adagrad", {"lr": 0.05}, "MultiStepLR", {"milestones": [1, 2]}),
])
def test_pytorch_script_gives_pytorch_results(optimizer_name, opt_kwargs, sched_name,
                                              sched_kwargs):
    """The same training script, imports swapped: same losses and weights as PyTorch (same
    initial weights, same batches), to float32 rounding."""
    pytest.importorskip("torch")
    theirs_ns, ours_ns = namespace("torch"), namespace("pynn")
    weights = {k: v.detach().numpy().copy() for k, v in theirs_ns["Net"]().state_dict().items()}
    args = (weights, optimizer_name, opt_kwargs, sched_name, sched_kwargs)
    want_losses, want_weights = theirs_ns["run"](*args, workers=0)
    got_losses, got_weights = ours_ns["run"](*args, workers=0)
    np.testing.assert_allclose(got_losses, want_losses, rtol=2e-4, atol=1e-5)
    for key in want_weights:
        np.testing.assert_allclose(got_weights[key], want_weights[key], rtol=1e-3, atol=1e-4)


def test_pytorch_script_with_workers_gives_the_same_losses():
    """Worker processes change nothing in the batches (order, dtypes)."""
    pytest.importorskip("torch")
    ns = namespace("pynn")
    weights = {k: v.detach().numpy().copy() for k, v in ns["Net"]().state_dict().items()}
    args = (weights, "SGD", {"lr": 0.1}, "StepLR", {"step_size": 2})
    main, _ = ns["run"](*args, workers=0)
    work, _ = ns["run"](*args, workers=2)
    assert main == work


# ------------------------------------------------------------------ non-finite losses
@pytest.mark.parametrize("output, target, expected", [
    ([[np.nan, np.nan, np.nan], [0.0, 2.0, 1.0]], [0, 1], 0.5),  # argmax would say 0
    ([[1.0, np.nan, 0.0], [3.0, 2.0, 1.0]], [0, 0], 0.5),  # one NaN spoils the sample
    ([[np.nan], [-1.0]], [0.0, 0.0], 0.5),  # binary head: NaN > 0 is False
    ([np.nan, np.nan, 2.0], [0, 0, 1], 1 / 3),  # binary logits (N,)
    ([[np.nan, np.nan], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], 0.5),  # one-hot targets
])
def test_accuracy_counts_nan_scores_as_wrong(output, target, expected):
    assert train.accuracy(np.array(output), np.array(target)) == pytest.approx(expected)
    out32 = pynn.tensor(np.array(output, np.float32))
    assert train.accuracy(out32, np.array(target)) == pytest.approx(expected)


class _Diverge(train.Callback):
    """After epoch ``at``, a learning rate that makes the next epoch's weights explode."""

    def __init__(self, optimizer, at=0):
        self.optimizer, self.at = optimizer, at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            self.optimizer.param_groups[0]["lr"] = 1e30
        return False


def test_a_diverged_epoch_never_overwrites_the_checkpoints(tmp_path):
    # Every validation label is 0: the old rule (argmax of NaN scores is class 0) scored the
    # diverged model 100% and wrote its NaN weights to best.npz.
    x, y = blobs()
    val = DataLoader(TensorDataset(x[y == 0], y[y == 0]), batch_size=64)
    train_loader, _ = loaders(batch_size=16)
    model = mlp([5, 16, 3], seed=1)
    opt = SGD(model.parameters(), lr=0.05)
    with pytest.warns(RuntimeWarning, match=r"the loss is (nan|inf) at epoch 1 step \d+"):
        history = train.fit(model, cross_entropy, opt, train_loader, epochs=3, val_loader=val,
                            callbacks=[_Diverge(opt)], checkpoint_dir=tmp_path, progress=None)
    assert np.isfinite(history["loss"][0]) and not np.isfinite(history["loss"][1])
    assert history["val_accuracy"][1] == 0.0 and history["val_accuracy"][2] == 0.0
    for name in ("best.npz", "last.npz"):
        state = pynn.load(tmp_path / name)
        assert state["epoch"] == 0, name
        assert all(np.isfinite(np.asarray(v)).all() for v in state["model"].values()), name
    assert not np.isfinite(weights(model)["inner.1.weight"]).all()


def _nan_batch_loader():
    """Batches of 16 in order; sample 40 (epoch step 2) has a NaN feature."""
    x, y = blobs(n=96)
    x[40, 1] = np.nan
    return DataLoader(TensorDataset(x, y), batch_size=16)


def test_non_finite_loss_warns_once_with_epoch_and_step(recwarn):
    model = mlp([5, 3])
    history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1),
                        _nan_batch_loader(), epochs=2, progress=None)
    messages = [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert "the loss is nan at epoch 0 step 2" in messages[0]
    assert "terminate_on_nan" in messages[0]
    assert len(history) == 2 and np.isnan(history["loss"]).all()


@pytest.mark.parametrize("how", ["argument", "callback"])
def test_terminate_on_nan_stops_at_the_step(how):
    model = mlp([5, 3])
    stopper = train.TerminateOnNaN()
    seen = []

    class Steps(train.Callback):
        def on_train_batch_end(self, batch, logs):
            seen.append((batch, logs["loss"]))

    kwargs = {"terminate_on_nan": True} if how == "argument" else {"callbacks": [stopper]}
    if how == "argument":
        kwargs["callbacks"] = [Steps()]
    with pytest.warns(RuntimeWarning, match="epoch 0 step 2"):
        history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1),
                            _nan_batch_loader(), epochs=3, progress=None, **kwargs)
    assert len(history) == 1 and np.isnan(history["loss"][0])
    if how == "callback":
        assert (stopper.stopped_epoch, stopper.stopped_batch) == (0, 2)
    else:
        assert [b for b, _ in seen] == [0, 1, 2] and np.isnan(seen[2][1])
    assert history["items_per_sec"][0] > 0


def test_a_batch_callback_can_stop_training():
    class StopAt(train.Callback):
        def on_train_batch_end(self, batch, logs):
            return batch == 1

    train_loader, _ = loaders(batch_size=16)
    model = mlp([5, 3])
    opt = SGD(model.parameters(), lr=0.1)
    history = train.fit(model, cross_entropy, opt, train_loader, epochs=4,
                        callbacks=[StopAt()], progress=None)
    assert len(history) == 1
    assert history["loss"][0] > 0  # the epoch's two steps were counted


# ------------------------------------------------------------------ datasets and arrays
def test_fit_takes_arrays_or_a_dataset_with_batch_size():
    x, y = blobs()
    results = []
    for data in [(x[:180], y[:180]), TensorDataset(x[:180], y[:180]),
                 (pynn.tensor(x[:180]), pynn.tensor(y[:180]))]:
        model = mlp([5, 8, 3], seed=3)
        pynn.manual_seed(11)  # the loader fit builds shuffles from the global generator
        history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), data,
                            epochs=2, val_loader=(x[180:], y[180:]), batch_size=20,
                            progress=None)
        results.append((history, weights(model)))
        assert len(model.calls) == 2 * 9 + 2 * 3  # 180 / 20 steps, 60 / 20 validation
    for history, w in results[1:]:
        assert history["loss"] == results[0][0]["loss"]
        for key, value in w.items():
            np.testing.assert_array_equal(value, results[0][1][key])
    # the same as a shuffling DataLoader of that batch size, drawn from the same generator
    model = mlp([5, 8, 3], seed=3)
    pynn.manual_seed(11)
    loader = DataLoader(TensorDataset(x[:180], y[:180]), batch_size=20, shuffle=True)
    history = train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), loader,
                        epochs=2, val_loader=(x[180:], y[180:]), batch_size=20,
                        progress=None)
    assert history["loss"] == results[0][0]["loss"]
    assert history["val_accuracy"] == results[0][0]["val_accuracy"]


def test_fit_arrays_of_different_lengths_are_refused():
    x, y = blobs()
    model = mlp([5, 3])
    with pytest.raises(ValueError, match=r"same number of samples.*\(240, 5\), \(239,\)"):
        train.fit(model, cross_entropy, SGD(model.parameters(), lr=0.1), (x, y[:-1]), 1,
                  progress=None)
