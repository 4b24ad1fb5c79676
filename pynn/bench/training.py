"""Training cases: the same model, batch, optimiser, initial weights and thread count in pynn,
PyTorch and pynn's layers on its NumPy reference backend. Step times, their scaling with the
batch size, peak memory, and whole MNIST runs timed against test accuracy."""

import functools
import os
import subprocess
import sys
import time

import numpy as np

import pynn

from .timing import Peers, measure, measure_together, on_backend

# (label, model, batch size, optimiser, training images per epoch)
TRAINING_CASES = (
    ("MLP 784-100-10, SGD", "mlp", 100, "sgd", 60000),
    ("LeNet-5, Adam", "lenet5", 100, "adam", 60000),
    ("CNN conv30-pool-100-10, Adam", "cnn", 100, "adam", 60000),
    ("CNN conv30-pool-100-10, own forward, Adam", "cnn_forward", 100, "adam", 60000),
    ("tiny MLP 10-10-10, batch 1, SGD", "tiny", 1, "sgd", None),
)
MEMORY_CASE = "cnn"


def training_case(label):
    """The entry of TRAINING_CASES labelled ``label``, or None: a results.json redrawn with
    ``--from-json`` may come from a version with other cases, in another order."""
    return next((case for case in TRAINING_CASES if case[0] == label), None)


SCALING_MODEL = "cnn"
BATCH_SIZES = (1, 8, 32, 128, 512)
QUICK_BATCH_SIZES = (1, 32, 128)
MEMORY_BATCH_SIZES = (16, 64, 100, 256)
# The MNIST runs: (label, model, optimiser); every one with batch 100.
CONVERGENCE_CASES = (
    ("MLP 784-100-10, SGD", "mlp", "sgd"),
    ("LeNet-5, Adam", "lenet5", "adam"),
    ("CNN conv30-pool-100-10, Adam", "cnn", "adam"),
)
QUICK_CONVERGENCE_CASES = (CONVERGENCE_CASES[0], CONVERGENCE_CASES[2])
EVALS_PER_EPOCH = 4


def model_layers(nn, name):
    """The benchmark models, built from ``nn`` (pynn.nn or torch.nn: same names)."""
    if name == "mlp":
        return [nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)]
    if name == "tiny":
        return [nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10)]
    if name == "lenet5":
        return [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10)]
    if name == "cnn":
        return [nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10)]
    if name == "cnn_forward":
        return [_own_forward_cnn(nn)]
    raise ValueError(f"unknown benchmark model {name!r}")


def _own_forward_cnn(nn):
    """The "cnn" model as most PyTorch code writes it, layers as attributes and a ``forward``
    calling the functional ReLU and max-pool (``nn`` is pynn.nn or torch.nn). Built in the
    same order, it starts from the same weights as the ``Sequential`` form."""
    functional = nn.functional

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 30, 5)
            self.fc1 = nn.Linear(30 * 12 * 12, 100)
            self.fc2 = nn.Linear(100, 10)

        def forward(self, x):
            x = functional.max_pool2d(functional.relu(self.conv1(x)), 2)
            return self.fc2(functional.relu(self.fc1(x.flatten(1))))

    return CNN()


# The models with convolutions, which PyTorch also runs in its channels-last layout.
CONV_MODELS = ("lenet5", "cnn", "cnn_forward")


def torch_layout(torch, library):
    """The memory format of library "torch" (PyTorch's default, NCHW) or "torch_cl" (NHWC,
    ``torch.channels_last``, which PyTorch's performance guide recommends on CPUs)."""
    return torch.channels_last if library == "torch_cl" else torch.contiguous_format


def torch_input(torch, array, library):
    """``array`` as a PyTorch tensor in the layout of ``library``.

    With one channel, NCHW and NHWC hold the same bytes and only the strides say which
    layout PyTorch sees; NumPy gives the size-1 axis different strides depending on how a
    batch was made (a view, a copy, fancy indexing), and PyTorch's convolutions take their
    channels-last path (faster on the CNN: see the report's two layouts) when the strides look
    channels-last. So a 4-D input whose strides are not exactly the layout's is copied into
    it."""
    t = torch.from_numpy(array)
    if t.dim() != 4:
        return t
    _, c, h, w = t.shape
    wanted = (c * h * w, 1, w * c, c) if library == "torch_cl" else (c * h * w, h * w, w, 1)
    if t.stride() == wanted:
        return t
    return torch.empty_like(t, memory_format=torch_layout(torch, library)).copy_(t)


class Trainer:
    """``model`` with its optimiser and loss in ``library`` ("pynn" on the active backend,
    "torch" or "torch_cl": PyTorch in its default or its channels-last layout), starting
    from pynn's seed-0 initial weights in every library."""

    def __init__(self, library, model, optimiser, torch=None):
        from pynn import nn, optim

        pynn.manual_seed(0)
        ours = nn.Sequential(*model_layers(nn, model))
        if library in ("torch", "torch_cl"):
            net = torch.nn.Sequential(*model_layers(torch.nn, model))
            net.load_state_dict({k: torch.from_numpy(np.array(v))
                                 for k, v in ours.state_dict().items()})
            net = net.to(memory_format=torch_layout(torch, library))
            self._tensor = functools.partial(torch_input, torch, library=library)
            self._labels = torch.from_numpy
            self._no_grad = torch.no_grad
            opt_cls, loss_fn = torch.optim, torch.nn.CrossEntropyLoss()
        else:
            net = ours
            self._tensor = self._labels = pynn.tensor
            self._no_grad = pynn.no_grad
            opt_cls, loss_fn = optim, nn.CrossEntropyLoss()
        if optimiser == "sgd":
            self.optimiser = opt_cls.SGD(net.parameters(), lr=0.01, momentum=0.9)
        else:
            self.optimiser = opt_cls.Adam(net.parameters(), lr=1e-3)
        self.model, self.loss_fn = net, loss_fn

    def step(self, x, y):
        """One training step (zero_grad, forward, loss, backward, update) on NumPy arrays."""
        self.optimiser.zero_grad()
        self.loss_fn(self.model(self._tensor(x)), self._labels(y)).backward()
        self.optimiser.step()

    def accuracy(self, x, y, batch=1000):
        self.model.eval()
        correct = 0
        with self._no_grad():
            for i in range(0, len(x), batch):
                logits = self.model(self._tensor(x[i:i + batch])).numpy()
                correct += int(np.sum(logits.argmax(axis=1) == y[i:i + batch]))
        self.model.train()
        return correct / len(x)


def _training_batch(model, batch):
    rng = np.random.default_rng(0)
    shape = (batch, 10) if model == "tiny" else (batch, 1, 28, 28)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, batch)


def training_step(library, model, batch, optimiser, torch=None):
    """A closure running one training step of ``model`` on a fixed random batch, in
    ``library``: "pynn" (on the active backend), "torch" or "torch_cl" (see
    :class:`Trainer`). The model is ``step.model``."""
    x, y = _training_batch(model, batch)
    trainer = Trainer(library, model, optimiser, torch)

    def step():
        trainer.step(x, y)

    step.model = trainer.model
    return step


def _torch_layouts(peers, model):
    """The PyTorch variants to measure ``model`` in: none without PyTorch, both layouts for
    models with convolutions."""
    if peers.torch is None:
        return ()
    return ("torch", "torch_cl") if model in CONV_MODELS else ("torch",)


def bench_training(peers, with_reference):
    """Median step time of each training case; per-epoch figures are that times the steps in
    an epoch (data preloaded, as in the examples' whole-dataset loader)."""
    rows = []
    for label, model, batch, optimiser, _ in TRAINING_CASES:
        repeat = 200 if model == "tiny" else 30
        fns = {"pynn": training_step("pynn", model, batch, optimiser)}
        for library in _torch_layouts(peers, model):
            fns[library] = training_step(library, model, batch, optimiser, peers.torch)
        row = {"case": label, "torch": None, "torch_cl": None, "reference": None,
               **measure_together(fns, repeat=repeat, warmup=5)}
        if with_reference:
            with on_backend("reference"):
                row["reference"] = measure(training_step("pynn", model, batch, optimiser),
                                           repeat=5, warmup=1)
        rows.append(row)
    return rows


def bench_batch_scaling(peers, batch_sizes):
    """Step time of the scaling model (Adam) at each batch size, in pynn and PyTorch."""
    rows = []
    for batch in batch_sizes:
        fns = {"pynn": training_step("pynn", SCALING_MODEL, batch, "adam")}
        for library in _torch_layouts(peers, SCALING_MODEL):
            fns[library] = training_step(library, SCALING_MODEL, batch, "adam", peers.torch)
        rows.append({"batch": batch, "torch": None, "torch_cl": None,
                     **measure_together(fns)})
    return rows


# ---------------------------------------------------------------------------------------------
# Peak memory


def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_probe(library, model, threads, batch, steps=20):
    """Run in a child process: how far resident memory peaks above what the process held
    once model and data were set up, over ``steps`` training steps of ``model``. Prints it in
    bytes. Linux only (the peak is reset through /proc/self/clear_refs)."""
    peers = Peers()
    peers.set_threads(threads)
    optimiser = next(c[3] for c in TRAINING_CASES if c[1] == model)
    step = training_step(library, model, batch, optimiser, peers.torch)
    base = _status_bytes("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak, to the current resident size
    for _ in range(steps):
        step()
    print(max(_status_bytes("VmHWM") - base, 0))


def peak_training_memory(library, model, threads, batch=100):
    """Peak memory of training ``model`` in ``library``, measured in a fresh process so
    that nothing else allocated before counts; None where it cannot be measured."""
    if not os.path.exists("/proc/self/clear_refs"):
        return None
    # Run from the folder holding the pynn this process imported, so that the child imports
    # the same one (a source checkout in the working directory would shadow an installed
    # pynn whose extensions live elsewhere).
    home = os.path.dirname(os.path.dirname(os.path.abspath(pynn.__file__)))
    out = subprocess.run(
        [sys.executable, "-m", "pynn.bench", "--memory-probe", library, model, str(threads),
         str(batch)], capture_output=True, text=True, check=False, cwd=home)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def bench_memory(peers, threads, batch_sizes):
    """Peak training memory of MEMORY_CASE at each batch size, in pynn and PyTorch."""
    rows = []
    for batch in batch_sizes:
        row = {"batch": batch, "pynn": peak_training_memory("pynn", MEMORY_CASE, threads, batch),
               "torch": None}
        if peers.torch is not None:
            row["torch"] = peak_training_memory("torch", MEMORY_CASE, threads, batch)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Whole MNIST runs: test accuracy against training time


def load_mnist_arrays(root=None, train_size=None, test_size=None):
    """Normalised MNIST as ``(x_train, y_train, x_test, y_test)``: float32 (N, 1, 28, 28) and
    int64 labels; the first ``train_size`` / ``test_size`` images when given."""
    from pynn.data.mnist import MNIST_MEAN, MNIST_STD, load_mnist

    def prepare(images, labels, size):
        images, labels = images[:size], labels[:size]
        x = (images.astype(np.float32) / 255 - MNIST_MEAN) / MNIST_STD
        return x.reshape(len(x), 1, 28, 28), labels.astype(np.int64)

    return (*prepare(*load_mnist(root, train=True), train_size),
            *prepare(*load_mnist(root, train=False), test_size))


def train_and_evaluate(library, model, optimiser, data, epochs, evals_per_epoch=EVALS_PER_EPOCH,
                       batch=100, torch=None):
    """Train ``model`` on ``data`` (from :func:`load_mnist_arrays`) for ``epochs``, in the
    same batch order in every library, evaluating the test accuracy ``evals_per_epoch`` times
    an epoch. Evaluation is not counted in the training time.

    Returns ``{"curve": [[training seconds, test accuracy], ...], "epoch_seconds": [...],
    "accuracy": final test accuracy}``.
    """
    x_train, y_train, x_test, y_test = data
    trainer = Trainer(library, model, optimiser, torch)
    steps = len(x_train) // batch
    checkpoints = {round(steps * (i + 1) / evals_per_epoch) for i in range(evals_per_epoch)}
    order_rng = np.random.default_rng(0)
    curve, epoch_seconds, elapsed = [[0.0, trainer.accuracy(x_test, y_test)]], [], 0.0
    for _ in range(epochs):
        order = order_rng.permutation(len(x_train))
        epoch_start = elapsed
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            xb, yb = x_train[idx], y_train[idx]
            t0 = time.perf_counter()
            trainer.step(xb, yb)
            elapsed += time.perf_counter() - t0
            if i + 1 in checkpoints:
                curve.append([elapsed, trainer.accuracy(x_test, y_test)])
        epoch_seconds.append(elapsed - epoch_start)
    return {"curve": curve, "epoch_seconds": epoch_seconds, "accuracy": curve[-1][1]}


def bench_convergence(peers, data, cases, epochs):
    rows = []
    for label, model, optimiser in cases:
        row = {"case": label, "model": model, "epochs": epochs, "torch": None, "torch_cl": None,
               "pynn": train_and_evaluate("pynn", model, optimiser, data, epochs)}
        for library in _torch_layouts(peers, model):
            row[library] = train_and_evaluate(library, model, optimiser, data, epochs,
                                              torch=peers.torch)
        rows.append(row)
    return rows
