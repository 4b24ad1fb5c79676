"""The convenience training loop, with checkpoints, callbacks and a progress bar.

:func:`fit`, :func:`evaluate`, :func:`predict`, :func:`save_checkpoint` /
:func:`load_checkpoint`, callbacks (:class:`EarlyStopping`, :class:`TerminateOnNaN`,
:class:`CSVLogger`, :class:`TensorBoard`) and a dependency-free progress bar. Under
data-parallel training (``pynn.nn.parallel.DistributedDataParallel``) :func:`fit` shards
the data, reduces the metrics across processes and writes from rank 0 only.

One epoch of :func:`fit` is the loop you would write yourself::

    model.train()
    for x, y in train_loader:                      # Tensors (ndarrays are wrapped, no copy)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()                           # with scheduler_step="batch"
    scheduler.step()                               # with scheduler_step="epoch"

plus running metrics, validation, history, checkpoints and callbacks around it.

Metrics
-------
``"accuracy"`` compares predictions with the targets elementwise and counts exact matches:

- multi-class scores ``(N, C, ...)`` (``C > 1``) against integer labels ``(N, ...)``: the
  prediction is ``argmax`` over dim 1;
- multi-class scores against class probabilities / one-hot targets of the same shape:
  ``argmax`` of both over dim 1;
- a single-output binary head, ``(N,)`` or ``(N, 1, ...)``, against 0/1 targets: the output
  is a *logit*, so the prediction is ``output > 0`` (a probability head needs a custom
  metric); the target counts as positive when ``> 0.5``.

A sample whose scores hold a NaN is a wrong prediction (``argmax`` would otherwise call it
class 0, and a diverged model could score well).

A metric may also be a callable ``fn(output, target) -> float`` on ndarrays (a batch mean),
named by its ``__name__``, or a ``(name, fn)`` pair; epoch values are means over the samples
(batch means weighted by batch size).
"""

import csv
import json
import math
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import distributed as _dist
from . import random as _random
from .autograd import enable_grad, no_grad
from .serialization import load, save
from .tensor import Tensor, _wrap

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "TensorBoard",
    "TerminateOnNaN",
    "accuracy",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = 1


def _array(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _as_tensor(x):
    # The DataLoader yields Tensors; other iterables may give ndarrays, wrapped without a copy.
    if isinstance(x, Tensor):
        return x
    return _wrap(x if type(x) is np.ndarray else np.asarray(x), None)


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ValueError(f"batches must be tuples (x, y, ...) of inputs and targets, got "
                     f"{type(batch).__name__}")


def _batch_inputs(batch):
    return batch[0] if isinstance(batch, (tuple, list)) else batch


# ------------------------------------------------------------------------------- metrics
def _count(hits, output, axis=None):
    """``(correct, count)`` from the elementwise ``hits``; a prediction made from a NaN score
    (any NaN among a sample's class scores) is wrong, whatever argmax or ``> 0`` made of it."""
    if output.dtype.kind == "f" and output.size and np.isnan(output.min()):  # one pass if finite
        nan = np.isnan(output) if axis is None else np.isnan(output).any(axis=axis)
        hits = hits & ~nan
    return int(np.count_nonzero(hits)), hits.size


def _num_correct(output, target):
    """``(correct, count)`` for ``output`` scores/logits and ``target`` (ndarrays)."""
    if output.ndim == target.ndim + 1:
        if output.shape[1] == 1:  # single-logit binary head (N, 1, ...)
            return _count((output[:, 0] > 0) == (target > 0.5), output, 1)
        return _count(output.argmax(axis=1) == target, output, 1)
    if output.shape == target.shape:
        if output.ndim >= 2 and output.shape[1] > 1:  # probability / one-hot targets
            return _count(output.argmax(axis=1) == target.argmax(axis=1), output, 1)
        return _count((output > 0) == (target > 0.5), output)  # binary logits (N,) vs 0/1
    raise ValueError(f"accuracy: cannot compare outputs of shape {output.shape} with targets "
                     f"of shape {target.shape}; expected scores (N, C, ...) with labels "
                     f"(N, ...), or outputs and targets of the same shape")


def accuracy(output, target):
    """Fraction of correct predictions (see the module docstring for the rules).

    Parameters
    ----------
    output : Tensor or ndarray of shape (N, C, ...), (N,) or (N, 1, ...)
        Scores / logits.
    target : Tensor or ndarray of shape (N, ...) (labels) or like ``output``

    Returns
    -------
    float
    """
    correct, count = _num_correct(_array(output), _array(target))
    return correct / count if count else float("nan")


def _parse_metrics(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    parsed = []
    for m in metrics:
        if m in ("accuracy", "acc"):
            parsed.append(("accuracy", None))
        elif isinstance(m, tuple) and len(m) == 2 and callable(m[1]):
            parsed.append((str(m[0]), m[1]))
        elif callable(m):
            parsed.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise ValueError(f"unknown metric {m!r}: use 'accuracy', a callable "
                             f"fn(output, target) -> float, or a (name, fn) pair")
    return parsed


class _Meter:
    """Running sums of the loss and metrics over one pass (sample-weighted means)."""

    __slots__ = ("counts", "loss_sum", "metrics", "n", "sums")

    def __init__(self, metrics):
        self.metrics = metrics
        self.n = 0
        self.loss_sum = 0.0
        self.sums = [0.0] * len(metrics)
        self.counts = [0] * len(metrics)

    def update(self, n, loss_value, output, target):
        self.n += n
        if loss_value is not None:
            self.loss_sum += loss_value * n
        sums, counts = self.sums, self.counts
        for i, (_, fn) in enumerate(self.metrics):
            if fn is None:
                correct, count = _num_correct(output, target)
                sums[i] += correct
                counts[i] += count
            else:
                sums[i] += float(fn(output, target)) * n
                counts[i] += n

    def all_reduce(self):
        """Sum the counts and sums over the processes of a data-parallel job, so that the
        means are those of all their samples."""
        k = len(self.sums)
        buf = np.array([self.n, self.loss_sum, *self.sums, *self.counts], np.float64)
        _dist.all_reduce(buf)
        self.n, self.loss_sum = int(buf[0]), float(buf[1])
        self.sums = [float(v) for v in buf[2:2 + k]]
        self.counts = [int(v) for v in buf[2 + k:]]

    def loss(self):
        return self.loss_sum / self.n if self.n else float("nan")

    def value(self, i):
        return self.sums[i] / self.counts[i] if self.counts[i] else float("nan")

    def results(self, with_loss=True):
        logs = {"loss": self.loss()} if with_loss else {}
        for i, (name, _) in enumerate(self.metrics):
            logs[name] = self.value(i)
        return logs


# ------------------------------------------------------------------------------- history
class History:
    """What :func:`fit` returns: per-epoch values, ``history["loss"]`` etc.

    Supports ``h[key]`` (a list, one value per epoch), ``key in h``, ``len(h)`` (epochs) and
    ``h.keys()``.

    Parameters
    ----------
    history : dict of str -> list of float, optional
        Initial columns (as in ``history``).
    epoch : list of int, optional
        Their epoch indices.

    Attributes
    ----------
    history : dict of str -> list of float
        One entry per epoch for each key: ``loss``, the metrics (``accuracy``), with a
        validation loader ``val_loss`` and ``val_<metric>``, then ``lr`` (the learning rate
        of the first parameter group at the start of the epoch), ``epoch_time`` (seconds,
        training + validation) and ``items_per_sec`` (training samples per second of the
        training phase).
    epoch : list of int
        The (0-based) epoch index of each entry; a resumed run continues the numbering.
    """

    def __init__(self, history=None, epoch=None):
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.epoch = [int(e) for e in (epoch or [])]

    def append(self, epoch, logs):
        """Add one epoch's values; a key missing on either side gets NaN for that epoch."""
        n = len(self.epoch)
        for key, value in logs.items():
            column = self.history.setdefault(key, [float("nan")] * n)
            column.append(float(value))
        for key, column in self.history.items():
            if len(column) == n:  # absent this epoch
                column.append(float("nan"))
        self.epoch.append(int(epoch))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def keys(self):
        """The recorded keys (``loss``, ``accuracy``, ``val_loss``, ``lr``, ...)."""
        return self.history.keys()

    def state_dict(self):
        """A plain dict ``{"history": ..., "epoch": ...}``, for checkpoints."""
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch)}

    @classmethod
    def from_state_dict(cls, state):
        """A History rebuilt from :meth:`state_dict`'s output."""
        return cls(state.get("history"), state.get("epoch"))

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History({len(self)} epochs, last={last})"


# ----------------------------------------------------------------------------- callbacks
class Callback:
    """Base class of callbacks; every hook is optional (:func:`fit` looks them up).

    - ``on_train_begin(model)``: before the first epoch.
    - ``on_epoch_begin(epoch)``: before each epoch's first step.
    - ``on_train_batch_end(batch, logs) -> bool``: after each training step (0-based
      ``batch`` within the epoch; ``logs`` is ``{"loss": float}``, this process's batch
      loss); return True to stop training after this step (the epoch is then finished:
      validation, history, ``on_epoch_end``).
    - ``on_epoch_end(epoch, logs) -> bool``: after each epoch (0-based ``epoch``; ``logs``
      holds that epoch's history values); return True to stop training.
    - ``on_train_end(history)``: after the last epoch (also after an early stop).
    - ``state_dict()`` / ``load_state_dict(state)``: saved in checkpoints, restored on resume.
    """


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for more than ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs (e.g. ``"val_accuracy"``, ``"loss"``); default ``"val_loss"``.
    patience : int
        Epochs without improvement to tolerate before stopping.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        ``"auto"``: maximise keys containing ``"acc"``, minimise the others.
    restore_best_weights : bool
        When stopping (or at the end of training), load the weights of the best epoch.

    Attributes
    ----------
    best : float or None
        The best value so far.
    best_epoch : int or None
    wait : int
        Epochs since the last improvement.
    stopped_epoch : int or None
        The epoch that stopped training.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.stopped_epoch = None
        self._model = None
        self._best_weights = None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, model):
        """Remember ``model`` (for ``restore_best_weights``)."""
        self._model = model

    def on_epoch_end(self, epoch, logs):
        """Track ``logs[monitor]``; return True (stop) when it has not improved for too long.

        That is, after ``patience + 1`` epochs in a row without improvement.
        """
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which is not among the "
                           f"epoch's values {sorted(logs)} (no val_loader?)")
        value = float(logs[self.monitor])
        if math.isnan(value):
            improved = False
        else:
            improved = self._improved(value)
        if improved:
            self.best, self.best_epoch, self.wait = value, int(epoch), 0
            if self.restore_best_weights and self._model is not None:
                self._best_weights = {k: np.array(_array(v), copy=True)
                                      for k, v in self._model.state_dict().items()}
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = int(epoch)
            return True
        return False

    def on_train_end(self, history):
        """Load the best epoch's weights into the model when ``restore_best_weights``."""
        if self.restore_best_weights and self._best_weights is not None:
            self._model.load_state_dict(self._best_weights)

    def state_dict(self):
        """``{"best", "best_epoch", "wait"}``, saved in checkpoints."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`'s output (on resume)."""
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


class TerminateOnNaN(Callback):
    """Stop training at the first step whose loss is NaN or infinite (Keras' callback).

    ``fit(..., terminate_on_nan=True)`` adds one. The step's update has already been
    applied, so the weights are probably non-finite: :func:`fit` finishes the epoch's
    history, but does not overwrite the checkpoints of an epoch whose loss is not finite, so
    ``last.npz`` and ``best.npz`` keep the last good weights.

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch of the non-finite loss.
    stopped_batch : int or None
        Its step within the epoch (0-based).
    """

    def __init__(self):
        self.stopped_epoch = None
        self.stopped_batch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch):
        """Remember the epoch (for ``stopped_epoch``)."""
        self._epoch = int(epoch)

    def on_train_batch_end(self, batch, logs):
        """Return True (stop) when ``logs["loss"]`` is not finite."""
        if math.isfinite(logs["loss"]):
            return False
        self.stopped_epoch, self.stopped_batch = self._epoch, int(batch)
        return True


def _is_main_process():
    """Rank 0 of a data-parallel job, or the only process: the one that writes logs."""
    return not _dist.is_initialized() or _dist.get_rank() == 0


class CSVLogger(Callback):
    """Write the history to a CSV file, one row per epoch (Keras' ``CSVLogger``).

    The first column is ``epoch`` (0-based), then the epoch's values in the order of the
    logs (``loss``, the metrics, ``val_*``, ``lr``, ``epoch_time``, ``items_per_sec``). Each
    row is flushed when written. Under data-parallel training only rank 0 writes.

    Parameters
    ----------
    filename : str or Path
        The CSV file; its folder is created if missing.
    separator : str
        Between the fields (default ``","``).
    append : bool
        Add rows to an existing file (its header is kept) instead of overwriting it. A run
        that :func:`fit` resumes from a checkpoint (its first epoch is not 0) always
        appends, after dropping any rows of the epochs it trains again.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename = Path(os.fspath(filename))
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._writer = None
        self._keys = None
        self._active = False

    def on_train_begin(self, model):
        """Get ready to write (rank 0 only); the file is opened at the first epoch's end."""
        self._active = _is_main_process()
        self._file = self._writer = self._keys = None

    def _open(self, first_epoch):
        header, rows = None, []
        if (self.append or first_epoch > 0) and self.filename.is_file():
            with open(self.filename, newline="") as f:
                found = list(csv.reader(f, delimiter=self.separator))
            if found:
                header, rows = found[0], found[1:]
        if first_epoch > 0 and header and header[0] == "epoch":
            kept = [r for r in rows if r and _int_or(r[0], -1) < first_epoch]
            if len(kept) != len(rows):  # written after the checkpoint: trained again now
                tmp = self.filename.with_name(f".{self.filename.name}.{os.getpid()}.tmp")
                with open(tmp, "w", newline="") as f:
                    w = csv.writer(f, delimiter=self.separator)
                    w.writerow(header)
                    w.writerows(kept)
                os.replace(tmp, self.filename)
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        self._keys = header[1:] if header else None
        # open across the epochs, closed by on_train_end
        self._file = open(self.filename, "a" if header else "w", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs):
        """Write the epoch's row."""
        if not self._active:
            return False
        if self._writer is None:
            self._open(int(epoch))
        if self._keys is None:
            self._keys = list(logs)
            self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([int(epoch)] + [_csv_value(logs.get(k, "")) for k in self._keys])
        self._file.flush()
        return False

    def on_train_end(self, history):
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


def _int_or(text, default):
    try:
        return int(text)
    except ValueError:
        return default


def _csv_value(value):
    return repr(float(value)) if isinstance(value, (float, int, np.floating)) else value


_EXTRA_KEYS = ("lr", "epoch_time", "items_per_sec")


class TensorBoard(Callback):
    """Write the history (and histograms of the weights) for TensorBoard.

    Each epoch's values become scalars at step ``epoch``: a metric ``m`` as ``m/train`` and
    ``val_m`` as ``m/val`` (so TensorBoard shows them side by side), ``lr``, ``epoch_time``
    and ``items_per_sec`` under their names. Needs the ``tensorboard`` extra
    (``pip install "pynn[tensorboard]"``: tensorboardX, no TensorFlow). Under data-parallel
    training only rank 0 writes.

    Parameters
    ----------
    log_dir : str or Path, optional
        Where the event files go (default: ``runs/<date>_<host>``, as
        :class:`pynn.utils.tensorboard.SummaryWriter`).
    histogram_freq : int
        Every this many epochs, a histogram of each parameter (``weights/<name>``) and of its
        gradient from the last step (``grads/<name>``); 0: none.
    writer : SummaryWriter, optional
        Write through this writer instead of creating one (it is flushed, not closed).
    """

    def __init__(self, log_dir=None, histogram_freq=0, writer=None):
        if histogram_freq < 0:
            raise ValueError(f"histogram_freq must be >= 0, got {histogram_freq}")
        self.log_dir = log_dir
        self.histogram_freq = int(histogram_freq)
        self.writer = writer
        self._own = writer is None
        self._model = None

    def on_train_begin(self, model):
        """Create the writer (rank 0 only)."""
        self._model = model
        if self.writer is None and _is_main_process():
            from .utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(None if self.log_dir is None
                                        else os.fspath(self.log_dir))

    def on_epoch_end(self, epoch, logs):
        """Write the epoch's scalars (and histograms), then flush."""
        w = self.writer
        if w is None or not _is_main_process():
            return False
        for key, value in logs.items():
            if key in _EXTRA_KEYS:
                tag = key
            elif key.startswith("val_"):
                tag = key[4:] + "/val"
            else:
                tag = key + "/train"
            w.add_scalar(tag, float(value), int(epoch))
        if self.histogram_freq and (int(epoch) + 1) % self.histogram_freq == 0:
            named = getattr(self._model, "named_parameters", None)
            params = named() if named is not None else self._model.state_dict().items()
            for name, p in params:
                w.add_histogram("weights/" + name, _array(p), int(epoch))
                grad = getattr(p, "grad", None)
                if grad is not None:
                    w.add_histogram("grads/" + name, _array(grad), int(epoch))
        w.flush()
        return False

    def on_train_end(self, history):
        """Close the writer if this callback created it."""
        if self.writer is not None:
            if self._own:
                self.writer.close()
                self.writer = None
            else:
                self.writer.flush()


# ------------------------------------------------------------------------------ progress
class _Progress:
    """Progress output on ``stream``: mode "bar" (one line rewritten in place with ``\\r``,
    at most every ``interval`` seconds), "line" (one line per epoch) or None (silent)."""

    def __init__(self, mode, epochs, total, stream, interval=0.1):
        self.mode = mode
        self.epochs = epochs
        self.total = total
        self.stream = stream
        self.interval = interval
        self.next_time = 0.0
        self.width = 0
        self.last_len = 0

    def start_epoch(self, epoch):
        self.epoch = epoch
        if self.mode == "bar":
            self.width = max(40, shutil.get_terminal_size((100, 20)).columns - 1)
            self.next_time = 0.0
            self.last_len = 0

    def _write_bar(self, text, end=""):
        text = text[:self.width]
        pad = " " * max(0, self.last_len - len(text))
        self.stream.write("\r" + text + pad + end)
        self.stream.flush()
        self.last_len = len(text)

    def update(self, batches, elapsed, meter):
        """Redraw the bar (the caller checks ``time >= self.next_time`` first)."""
        self.next_time = time.perf_counter() + self.interval
        head = f"Epoch {self.epoch + 1}/{self.epochs}"
        if self.total:
            done = min(batches / self.total, 1.0)
            filled = int(20 * done)
            bar = "=" * filled + (">" if filled < 20 else "") + "." * (19 - filled)
            head += f" [{bar}] {batches}/{self.total}"
        else:
            head += f" {batches}"
        rate = meter.n / elapsed if elapsed > 0 else 0.0
        text = f"{head} {elapsed:.1f}s {rate:,.0f} items/s loss {meter.loss():.4f}"
        for i, (name, _) in enumerate(meter.metrics):
            text += f" {_short(name)} {meter.value(i):.4f}"
        self._write_bar(text)

    def end_epoch(self, logs):
        if self.mode is None:
            return
        parts = [f"Epoch {self.epoch + 1}/{self.epochs}",
                 f"{logs['epoch_time']:.1f}s", f"{logs['items_per_sec']:,.0f} items/s"]
        for key, value in logs.items():
            if key in ("epoch_time", "items_per_sec"):
                continue
            parts.append(f"{key} {value:.4g}" if key == "lr" else f"{_short(key)} {value:.4f}")
        text = " - ".join(parts)
        if self.mode == "bar":
            self.last_len = min(self.last_len, self.width)
            self.width = max(self.width, len(text))  # the final line is never cut
            self._write_bar(text, "\n")
        else:
            self.stream.write(text + "\n")
            self.stream.flush()


def _short(name):
    return name.replace("accuracy", "acc")


def _progress_mode(progress, stream):
    if progress is None:
        return None
    if not progress:
        return "line"
    isatty = getattr(stream, "isatty", None)
    try:
        return "bar" if isatty is not None and isatty() else "line"
    except (ValueError, OSError):  # closed stream
        return "line"


# --------------------------------------------------------------------------- checkpoints
def _generators(loader):
    """The random generators a run draws from, in a fixed order: pynn's global generator,
    then the loader's own and those of its (and its dataset's) transforms."""
    found = [_random.get_generator()]
    seen = {id(found[0])}

    def add(gen):
        if isinstance(gen, np.random.Generator) and id(gen) not in seen:
            seen.add(id(gen))
            found.append(gen)

    def walk(obj, depth=0):
        if obj is None or depth > 4:
            return
        add(getattr(obj, "_generator", None))
        add(getattr(obj, "_rng", None))
        for child in getattr(obj, "transforms", None) or ():
            walk(child, depth + 1)
        walk(getattr(obj, "transform", None), depth + 1)

    if loader is not None:
        walk(loader)
        walk(getattr(loader, "dataset", None))
    return found


def _rng_states(loader):
    return [g.bit_generator.state for g in _generators(loader)]


def _set_rng_states(loader, states):
    gens = _generators(loader)
    if len(gens) != len(states):
        warnings.warn(f"the checkpoint holds {len(states)} random generator states, but this "
                      f"run has {len(gens)} (pynn's global generator, the loader's, its "
                      f"transforms'); only the global one is restored, so shuffling and "
                      f"augmentation will differ from the interrupted run", stacklevel=3)
        gens, states = gens[:1], states[:1]
    for gen, state in zip(gens, states):
        gen.bit_generator.state = state


def save_checkpoint(path, model, optimizer, scheduler=None, epoch=None, history=None,
                    **extra):
    """Save a training checkpoint with :func:`pynn.save`.

    The file holds ``{"model", "optimizer", "scheduler", "epoch", "history", ...}``: state
    dicts, the epoch, the history and the ``extra`` entries. The write is atomic: a crash
    leaves the old file or the new one.

    Parameters
    ----------
    path : str or Path
    model : Module
    optimizer : Optimizer or None
    scheduler : LRScheduler, optional
    epoch : int, optional
        The last completed epoch.
    history : History or dict, optional
    **extra : any
        More entries of the checkpoint (values :func:`pynn.save` accepts).
    """
    state = {
        "pynn_checkpoint": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": None if epoch is None else int(epoch),
        "history": history.state_dict() if isinstance(history, History) else history,
    }
    state.update(extra)
    save(state, path)


def load_checkpoint(path, model=None, optimizer=None, scheduler=None):
    """Load a checkpoint and restore the state of the objects given.

    Parameters
    ----------
    path : str or Path
        A file, or a directory holding ``last.npz``.
    model : Module, optional
    optimizer : Optimizer, optional
        Restored when the checkpoint has optimiser state.
    scheduler : LRScheduler, optional
        The checkpoint must then have scheduler state (ValueError otherwise).

    Returns
    -------
    dict
        The whole checkpoint (arrays as saved: ndarrays, or Tensors where Tensors were saved).
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        path = path / "last.npz"
    state = load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not a training checkpoint (no 'model' entry)")
    if model is not None:
        model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state.get("scheduler") is None:
            raise ValueError(f"{path}: the checkpoint has no scheduler state, but a scheduler "
                             f"was given")
        scheduler.load_state_dict(state["scheduler"])
    return state


# ----------------------------------------------------------------------------- the loops
def _set_mode(model, training):
    train = getattr(model, "train", None)
    if train is not None:
        train(training)


def evaluate(model, loss_fn, loader, metrics=("accuracy",)):
    """Loss and metrics of ``model`` over ``loader``, without gradients.

    Runs under :class:`pynn.no_grad` with ``model.eval()``, then restores the model's
    previous mode.

    Parameters
    ----------
    model : callable Module
    loss_fn : callable ``loss_fn(output, target) -> 0-d Tensor`` (a batch mean), or None
    loader : iterable of tuples ``(x, y, ...)`` of Tensors or ndarrays
    metrics : sequence of metric names / callables (see the module docstring)

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float, ...}`` (sample-weighted means); no ``"loss"``
        when ``loss_fn`` is None.
    """
    meter = _evaluate(model, loss_fn, loader, _parse_metrics(metrics))
    return meter.results(with_loss=loss_fn is not None)


def _evaluate(model, loss_fn, loader, metric_list):
    meter = _Meter(metric_list)
    was_training = getattr(model, "training", True)
    _set_mode(model, False)
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                out = model(_as_tensor(x))
                loss = None if loss_fn is None else float(loss_fn(out, _as_tensor(y)).item())
                meter.update(len(x), loss, _array(out), _array(y))
    finally:
        _set_mode(model, was_training)
    return meter


def predict(model, x_or_loader, batch_size=256):
    """Outputs of ``model`` on ``x`` or on the inputs of a loader's batches, without gradients.

    Runs under ``no_grad`` with ``model.eval()``, then restores the model's previous mode.

    Parameters
    ----------
    model : callable Module
    x_or_loader : ndarray or Tensor of shape (N, ...), or iterable of batches
        Arrays are cut into batches of ``batch_size``; a loader's batches are ``(x, ...)``
        tuples or bare input arrays.
    batch_size : int
        Arrays only (default 256).

    Returns
    -------
    ndarray of shape (N, ...)
        The outputs, concatenated along the first axis.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(x_or_loader, (np.ndarray, Tensor)):
        x = _array(x_or_loader)
        batches = (x[i:i + batch_size] for i in range(0, x.shape[0], batch_size))
    else:
        batches = (_batch_inputs(b) for b in x_or_loader)
    was_training = getattr(model, "training", True)
    _set_mode(model, False)
    outputs = []
    try:
        with no_grad():
            for xb in batches:
                outputs.append(_array(model(_as_tensor(xb))))
    finally:
        _set_mode(model, was_training)
    if not outputs:
        raise ValueError("predict: no inputs")
    return np.concatenate(outputs, axis=0)


def _best_key(logs):
    if "val_accuracy" in logs:
        return "val_accuracy", "max"
    if "val_loss" in logs:
        return "val_loss", "min"
    return None, None


def _as_loader(data, batch_size, shuffle, world, rank, what):
    """A DataLoader over a Dataset or a tuple of arrays ``(x, y, ...)``; anything else (a
    loader, any iterable of batches) is returned as it is. In a data-parallel job each rank
    reads its own share: a :class:`DistributedSampler` for training, every ``world``-th
    sample (no padding, so the metrics are exact) for validation."""
    from .utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset, TensorDataset

    if isinstance(data, tuple) and len(data) >= 2 and all(
            isinstance(a, (np.ndarray, Tensor)) for a in data):
        lengths = {int(a.shape[0]) if a.ndim else -1 for a in data}
        if len(lengths) != 1 or -1 in lengths:
            raise ValueError(f"fit: the arrays of {what} must have the same number of "
                             f"samples (first dimension), got shapes "
                             f"{[tuple(a.shape) for a in data]}")
        data = TensorDataset(*[_as_tensor(a) for a in data])
    elif not isinstance(data, Dataset):
        return data
    if batch_size is None:
        batch_size = 32
    if isinstance(data, IterableDataset):
        return DataLoader(data, batch_size=batch_size)
    if world > 1:
        sampler = (DistributedSampler(data, world, rank, shuffle=shuffle) if shuffle
                   else range(rank, len(data), world))
        return DataLoader(data, batch_size=batch_size, sampler=sampler)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def _sampler_of(loader):
    sampler = getattr(loader, "sampler", None)
    if sampler is None:
        sampler = getattr(getattr(loader, "batch_sampler", None), "sampler", None)
    return sampler


def _check_sharding(loader):
    """Warn when a DataLoader of a data-parallel job reads the whole data set on every rank."""
    from .utils.data import DataLoader, DistributedSampler

    if isinstance(loader, DataLoader) and not loader._iterable and not isinstance(
            _sampler_of(loader), DistributedSampler):
        warnings.warn("fit: train_loader has no DistributedSampler, so every process trains "
                      "on the whole data set; pass DataLoader(..., sampler="
                      "DistributedSampler(dataset)) or the dataset itself", stacklevel=3)


def _check_same_length(total):
    """Every rank must run the same number of steps, or the gradient reduction hangs."""
    n = -1 if total is None else int(total)
    buf = np.array([n, -n], np.int64)
    _dist.all_reduce(buf, op=_dist.ReduceOp.MAX)
    if buf[0] != -buf[1]:
        raise ValueError(f"fit: the processes have different numbers of batches per epoch "
                         f"(from {-buf[1]} to {buf[0]}; -1: unknown length): give every rank "
                         f"the same number, e.g. with DistributedSampler")


def _rng_states_of_ranks(loader, world):
    """This rank's generator states, and every rank's as JSON text (None alone)."""
    states = _rng_states(loader)
    if world == 1:
        return states, None
    text = np.frombuffer(json.dumps(states, default=_json_array).encode(), np.uint8)
    size = np.array([text.size], np.int64)
    _dist.all_reduce(size, op=_dist.ReduceOp.MAX)
    padded = np.zeros(int(size[0]), np.uint8)
    padded[:text.size] = text
    rows = np.zeros((world, padded.size), np.uint8)
    _dist.all_gather_into_tensor(rows, padded)
    return states, [bytes(r).rstrip(b"\0").decode() for r in rows]


def _json_array(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot save a random generator state holding {type(obj).__name__}")


def _saved_rng_states(state, world, rank):
    ranks = state.get("rng_ranks")
    if world > 1 and ranks is not None and len(ranks) == world:
        return json.loads(ranks[rank])
    return state.get("rng")


def fit(model, loss_fn, optimizer, train_loader, epochs, val_loader=None, scheduler=None,
        callbacks=(), metrics=("accuracy",), checkpoint_dir=None, resume=None, progress=True,
        scheduler_step="epoch", terminate_on_nan=False, batch_size=None):
    """Train ``model`` for ``epochs`` epochs; return a :class:`History`.

    Each epoch calls ``model.train()``, then for each batch ``optimizer.zero_grad()``,
    ``loss = loss_fn(model(x), y)``, ``loss.backward()``, ``optimizer.step()``, and
    ``scheduler.step()`` when ``scheduler_step="batch"``. After each epoch: validation
    (:func:`evaluate`), ``scheduler.step()`` when ``scheduler_step="epoch"``, the history,
    checkpoints, then the callbacks.

    A loss that is NaN or infinite gets one ``RuntimeWarning`` naming the epoch and step;
    ``terminate_on_nan=True`` stops training there. The checkpoints are not overwritten by
    an epoch whose loss is not finite, and such an epoch never scores best.

    Data-parallel training: when ``model`` is a
    ``pynn.nn.parallel.DistributedDataParallel``, or a process group of more than one
    process is initialised, every process calls ``fit`` with the same arguments. Progress
    is printed by rank 0 only; the loss and metrics (training and validation) are means
    over the samples of every process, the same on all (so callbacks agree on stopping);
    checkpoints are written by rank 0 (atomically, then all wait at a barrier) and read by
    every process on resume, each restoring its own random generators; the model's buffers
    (BatchNorm's statistics) are copied from rank 0 after each epoch. A dataset or arrays
    are sharded by ``pynn.utils.data.DistributedSampler`` (``set_epoch`` is called
    every epoch, also on the sampler of a DataLoader passed in); every process must run the
    same number of batches per epoch.

    Parameters
    ----------
    model : Module
        Callable, with ``train()``/``eval()``, ``state_dict()``/``load_state_dict()``.
    loss_fn : callable ``loss_fn(output, target) -> 0-d Tensor``
        A *mean* over the batch (e.g. ``nn.CrossEntropyLoss()``); the epoch loss is the
        sample-weighted mean of the batch losses.
    optimizer : pynn.optim.Optimizer
    train_loader : iterable of tuples ``(x, y, ...)``, a Dataset, or a tuple of arrays
        An iterable of batches (Tensors or ndarrays; ndarrays are wrapped, no copy), e.g. a
        DataLoader, re-iterated every epoch; or a map-style dataset of ``(x, y)`` samples,
        or arrays ``(x, y)`` with one sample per row: batched by a shuffling DataLoader of
        ``batch_size`` (a DistributedSampler in a data-parallel job).
    epochs : int
        The total number of epochs; a resumed run trains the remaining ones.
    val_loader : iterable, Dataset or tuple of arrays, optional
        Evaluated after every epoch: ``val_loss`` and ``val_<metric>`` in the history.
        Datasets and arrays are batched in order (``batch_size``).
    scheduler : learning-rate scheduler, optional
    callbacks : sequence of callbacks (see :class:`Callback`)
    metrics : sequence, default ("accuracy",)
        Names or callables (see the module docstring); empty for the loss only.
    checkpoint_dir : str or Path, optional
        Every epoch, save the model, optimiser, scheduler, epoch, history, callback states
        and random-generator states (pynn's global one, the loader's, its transforms') to
        ``checkpoint_dir/last.npz``, and to ``best.npz`` when the epoch has the best
        ``val_accuracy`` so far (``val_loss`` when there is no accuracy metric; no
        ``best.npz`` without validation). Writes are atomic.
    resume : str or Path, optional
        A checkpoint file (or a directory holding ``last.npz``) written by ``fit``: restore
        everything and continue with the epoch after the saved one. With the same loader
        (same seed), model and settings, the final weights equal those of an uninterrupted
        run.
    progress : bool or None, default True
        True: on a terminal, one line per epoch updated in place (items/s, running loss and
        metrics), else one plain line per epoch; False: one plain line per epoch; None:
        silent. Written to ``sys.stderr``.
    scheduler_step : {"epoch", "batch"}
        When to call ``scheduler.step()``.
    terminate_on_nan : bool
        Stop at the first non-finite loss (adds a :class:`TerminateOnNaN` callback).
    batch_size : int, optional
        Samples per batch (per process) when ``train_loader`` or ``val_loader`` is a
        dataset or arrays (default 32); ignored for loaders.

    Returns
    -------
    History
        The model is left in the mode it had before the call.
    """
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if callbacks is None:
        callbacks = ()
    elif not isinstance(callbacks, (list, tuple)):
        callbacks = (callbacks,)
    callbacks = tuple(callbacks)
    if terminate_on_nan and not any(isinstance(cb, TerminateOnNaN) for cb in callbacks):
        callbacks += (TerminateOnNaN(),)
    metric_list = _parse_metrics(metrics)
    per_batch = scheduler is not None and scheduler_step == "batch"

    from .nn.parallel import DistributedDataParallel

    ddp = model if isinstance(model, DistributedDataParallel) else None
    world = _dist.get_world_size() if _dist.is_initialized() else 1
    rank = _dist.get_rank() if world > 1 else 0
    user_train_loader = train_loader
    train_loader = _as_loader(train_loader, batch_size, True, world, rank, "train_loader")
    if val_loader is not None:
        val_loader = _as_loader(val_loader, batch_size, False, world, rank, "val_loader")
    if world > 1 and train_loader is user_train_loader:
        _check_sharding(train_loader)
    sampler = _sampler_of(train_loader)
    set_epoch = getattr(sampler, "set_epoch", None)

    history = History()
    start_epoch = 0
    best_value = None
    if resume is not None:
        state = load_checkpoint(resume, model, optimizer, scheduler)
        start_epoch = 0 if state.get("epoch") is None else int(state["epoch"]) + 1
        history = History.from_state_dict(state.get("history") or {})
        best_value = state.get("best")
        rng = _saved_rng_states(state, world, rank)
        if rng is not None:
            _set_rng_states(train_loader, rng)
        saved_cbs = state.get("callbacks") or []
        for cb, cb_state in zip(callbacks, saved_cbs):
            if cb_state is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(cb_state)
    if checkpoint_dir is not None:
        checkpoint_dir = Path(os.fspath(checkpoint_dir))
        if rank == 0:
            checkpoint_dir.mkdir(parents=True, exist_ok=True)

    stream = sys.stderr
    try:
        total = len(train_loader)
    except TypeError:
        total = None
    if world > 1:
        _check_same_length(total)
    bar = _Progress(_progress_mode(progress, stream) if rank == 0 else None, epochs, total,
                    stream)
    live = bar.mode == "bar"
    was_training = getattr(model, "training", True)
    perf_counter = time.perf_counter
    epoch_hooks = [h for h in (getattr(cb, "on_epoch_begin", None) for cb in callbacks) if h]
    batch_hooks = [h for h in (getattr(cb, "on_train_batch_end", None) for cb in callbacks)
                   if h]
    flag = np.zeros(1, np.int32)
    warned = False

    for cb in callbacks:
        hook = getattr(cb, "on_train_begin", None)
        if hook is not None:
            hook(model)
    try:
        for epoch in range(start_epoch, epochs):
            bar.start_epoch(epoch)
            if set_epoch is not None:
                set_epoch(epoch)
            for hook in epoch_hooks:
                hook(epoch)
            lr = float(optimizer.param_groups[0]["lr"])
            meter = _Meter(metric_list)
            stop = False
            b = 0
            t0 = perf_counter()
            model.train()
            with enable_grad():
                for b, batch in enumerate(train_loader, 1):
                    x, y = _split_batch(batch)
                    optimizer.zero_grad()
                    out = model(_as_tensor(x))
                    loss = loss_fn(out, _as_tensor(y))
                    loss.backward()
                    optimizer.step()
                    if per_batch:
                        scheduler.step()
                    loss_value = float(loss._data)
                    meter.update(x.shape[0], loss_value, out._data, _array(y))
                    if not warned and not math.isfinite(loss_value):
                        warned = True
                        where = f" on rank {rank}" if world > 1 else ""
                        warnings.warn(f"fit: the loss is {loss_value} at epoch {epoch} step "
                                      f"{b - 1}{where}; the weights have probably diverged "
                                      f"(a lower learning rate may help; terminate_on_nan=True "
                                      f"stops training at the first such step; such epochs are "
                                      f"not checkpointed)",
                                      RuntimeWarning, stacklevel=2)
                    if batch_hooks:
                        logs = {"loss": loss_value}
                        asked = [hook(b - 1, logs) for hook in batch_hooks]  # all see it
                        flag[0] = any(asked)
                        if world > 1:  # every rank stops at the same step
                            _dist.all_reduce(flag, op=_dist.ReduceOp.MAX)
                        if flag[0]:
                            stop = True
                            break
                    if live and perf_counter() >= bar.next_time:
                        bar.update(b, perf_counter() - t0, meter)
            train_time = perf_counter() - t0
            if world > 1:
                meter.all_reduce()
                if ddp is not None and ddp.broadcast_buffers:
                    ddp._sync_buffers()
            if live and meter.n:
                bar.update(b, train_time, meter)

            logs = meter.results()
            if val_loader is not None:
                val = _evaluate(model if ddp is None else ddp.module, loss_fn, val_loader,
                                metric_list)
                if world > 1:
                    val.all_reduce()
                for key, value in val.results(with_loss=loss_fn is not None).items():
                    logs["val_" + key] = value
            if scheduler is not None and not per_batch:
                scheduler.step()
            logs["lr"] = lr
            logs["epoch_time"] = perf_counter() - t0
            logs["items_per_sec"] = meter.n / train_time if train_time > 0 else float("nan")
            history.append(epoch, logs)
            bar.end_epoch(logs)

            for cb in callbacks:
                hook = getattr(cb, "on_epoch_end", None)
                if hook is not None and hook(epoch, dict(logs)):
                    stop = True

            if checkpoint_dir is not None:
                best_value = _write_checkpoints(checkpoint_dir, model, optimizer, scheduler,
                                                epoch, history, logs, best_value, callbacks,
                                                train_loader, world, rank)
            if stop:
                break
    finally:
        _set_mode(model, was_training)
    for cb in callbacks:
        hook = getattr(cb, "on_train_end", None)
        if hook is not None:
            hook(history)
    return history


def _write_checkpoints(checkpoint_dir, model, optimizer, scheduler, epoch, history, logs,
                       best_value, callbacks, train_loader, world, rank):
    """``last.npz`` and, for a new best epoch, ``best.npz``; rank 0 writes, then every rank
    waits. Returns the best value so far."""
    if not math.isfinite(logs["loss"]):  # fit warned: last.npz keeps the last good epoch
        return best_value
    key, mode = _best_key(logs)
    is_best = False
    if key is not None and math.isfinite(logs[key]):
        value = logs[key]
        is_best = best_value is None or (value > best_value if mode == "max"
                                         else value < best_value)
        if is_best:
            best_value = value
    states, rank_states = _rng_states_of_ranks(train_loader, world)
    if rank == 0:
        extra = {
            "best": best_value,
            "rng": states,
            "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else None
                          for cb in callbacks],
        }
        if rank_states is not None:
            extra["rng_ranks"] = rank_states
        save_checkpoint(checkpoint_dir / "last.npz", model, optimizer, scheduler, epoch,
                        history, **extra)
        if is_best:
            save_checkpoint(checkpoint_dir / "best.npz", model, optimizer, scheduler, epoch,
                            history, **extra)
    if world > 1:
        _dist.barrier()
    return best_value
