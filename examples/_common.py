"""Shared by the MNIST examples: command-line arguments, data loading, the final report."""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a checkout without installing: after any installed pynn
    sys.path.append(str(REPO))

import pynn  # noqa: E402  (after the sys.path line above)
from pynn.data import MNIST, DataLoader, Subset  # noqa: E402
from pynn.data.mnist import mnist_root  # noqa: E402


def default_data_dir():
    """pynn's data root, as the library finds it: ``$PYNN_DATA_DIR``, else
    ``~/.pynn/data``, where missing MNIST files are downloaded once."""
    return str(mnist_root())


def parse_args(description, epochs, batch_size, lr, argv=None, extra=None):
    """The examples' arguments, with their defaults for this model; ``extra(parser)`` adds
    an example's own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder holding mnist/*-ubyte[.gz], downloaded there when missing "
                        "(default: $PYNN_DATA_DIR or ~/.pynn/data; %(default)s)")
    p.add_argument("--epochs", type=int, default=epochs, help="default %(default)s")
    p.add_argument("--batch-size", type=int, default=batch_size, help="default %(default)s")
    p.add_argument("--lr", type=float, default=lr, help="default %(default)s")
    p.add_argument("--threads", type=int, default=None,
                   help="pynn's kernel threads (default: pynn's default)")
    p.add_argument("--seed", type=int, default=0, help="weights and shuffling (default 0)")
    p.add_argument("--train-size", type=int, default=None,
                   help="use only the first N training images (quick runs)")
    p.add_argument("--test-size", type=int, default=None,
                   help="use only the first N test images (quick runs)")
    p.add_argument("--checkpoint-dir", default=None, help="save last.npz / best.npz here")
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    if extra is not None:
        extra(p)
    args = p.parse_args(argv)
    if args.threads is not None:
        pynn.set_num_threads(args.threads)
    pynn.manual_seed(args.seed)
    return args


def mnist_datasets(args):
    """The MNIST training set and test set (their first ``--train-size`` and ``--test-size``
    images): normalised images (N, 1, 28, 28) float32 and int64 labels."""
    try:  # a missing file is downloaded (with a progress bar on a terminal)
        train_set = MNIST(root=args.data_dir, train=True)
        test_set = MNIST(root=args.data_dir, train=False)
    except OSError as exc:  # not found, or the download failed
        sys.exit(f"{exc}\nPoint --data-dir (or PYNN_DATA_DIR) at a folder with the MNIST "
                 f"files, or connect to the internet to download them there.")
    if args.train_size is not None:
        train_set = Subset(train_set, range(min(args.train_size, len(train_set))))
    if args.test_size is not None:
        test_set = Subset(test_set, range(min(args.test_size, len(test_set))))
    return train_set, test_set


def mnist_loaders(args, train_transform=None):
    """Shuffled (seeded) training loader and test loader of MNIST (see
    :func:`mnist_datasets`); ``train_transform`` augments the training batches."""
    train_set, test_set = mnist_datasets(args)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              seed=args.seed, transform=train_transform)
    test_loader = DataLoader(test_set, batch_size=1000)
    return train_loader, test_loader


def warmup_cosine(optimizer, warmup, total, start_factor):
    """A learning-rate schedule of ``total`` steps: linear warm-up from ``start_factor`` times
    the base rate over ``warmup`` steps, then cosine annealing to zero."""
    from pynn.optim import lr_scheduler

    return lr_scheduler.SequentialLR(optimizer, [
        lr_scheduler.LinearLR(optimizer, start_factor=start_factor, total_iters=warmup),
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup)),
    ], milestones=[warmup])


def report(name, history, test_result, wall_start, target):
    """Print the per-epoch times, the test accuracy against the target and the wall time."""
    print(f"\n{name}: threads={pynn.get_num_threads()}")
    for e, t, r, acc in zip(history.epoch, history["epoch_time"], history["items_per_sec"],
                            history["val_accuracy"]):
        print(f"  epoch {e + 1}: {t:6.1f} s  ({r:,.0f} images/s)  test accuracy {acc:.4f}")
    acc = test_result["accuracy"]
    verdict = "reached" if acc >= target else "below"
    print(f"test accuracy {acc:.4f} ({verdict} the target {target:.4f}); "
          f"wall time {time.perf_counter() - wall_start:.1f} s")
    return acc
