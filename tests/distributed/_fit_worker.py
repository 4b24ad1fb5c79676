"""Run by tests/distributed/test_fit.py under ``mpiexec -n R`` (or alone with
``--reference``): ``pynn.train.fit`` on a DistributedDataParallel model, or one process on
the concatenated batches of every rank, writing the weights and the history.

Usage: python _fit_worker.py OUT_DIR MODE [--reference --world R]
MODE: arrays | loader | resume | nan | uneven | unsharded
"""

import math
import sys
import warnings
from pathlib import Path

import numpy as np

import pynn
import pynn.distributed as dist
from pynn import nn, train
from pynn.nn.parallel import DistributedDataParallel as DDP
from pynn.optim import SGD, lr_scheduler
from pynn.utils.data import DataLoader, DistributedSampler, TensorDataset

N, N_VAL, BATCH, EPOCHS = 40, 23, 4, 3  # BATCH per rank; 23: the ranks' shares differ


def data(n, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(0, 1, (n, 6)), y.astype(np.int64)


def net(dropout=0.0):
    layers = [nn.Linear(6, 8), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(8, 3))


def reference_loader(x, y, world, epochs):
    """The batches one process sees when it concatenates every rank's step: rank r's share
    of an epoch is DistributedSampler's ``order[r::world]``, in batches of BATCH."""
    class Concatenated:
        def __init__(self):
            self.epoch = 0

        def __len__(self):
            return math.ceil(math.ceil(len(x) / world) / BATCH)

        def __iter__(self):
            total = math.ceil(len(x) / world) * world  # padded with the order's first ones
            order = np.resize(np.random.default_rng(self.epoch).permutation(len(x)), total)
            self.epoch += 1
            shares = [order[r::world] for r in range(world)]
            for s in range(len(self)):
                idx = np.concatenate([sh[s * BATCH:(s + 1) * BATCH] for sh in shares])
                yield pynn.tensor(x[idx]), pynn.tensor(y[idx])

    return Concatenated()


def save(out, name, model, history):
    state = {k.removeprefix("module."): v.numpy()
             for k, v in model.state_dict().items()}
    hist = {"h_" + k: np.array(v) for k, v in history.history.items()}
    np.savez(out / name, **state, **hist)


def main():
    out, mode = Path(sys.argv[1]), sys.argv[2]
    reference = "--reference" in sys.argv
    pynn.set_default_dtype(pynn.float64)
    if reference:
        world, rank = int(sys.argv[sys.argv.index("--world") + 1]), 0
    else:
        dist.init_process_group("mpi")
        world, rank = dist.get_world_size(), dist.get_rank()
    x, y = data(N, 0)
    xv, yv = data(N_VAL, 1)
    loss = nn.CrossEntropyLoss()

    def setup(dropout=0.0):
        pynn.manual_seed(1 if reference else 1 + rank)  # DDP copies rank 0's weights
        model = net(dropout)
        if not reference:
            model = DDP(model)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt, lr_scheduler.StepLR(opt, 1, 0.8)

    if mode in ("arrays", "loader"):
        model, opt, sched = setup()
        if reference:
            train_data = reference_loader(x, y, world, EPOCHS)
            val = DataLoader(TensorDataset(pynn.tensor(xv), pynn.tensor(yv)), batch_size=7)
        elif mode == "arrays":
            train_data, val = (x, y), (xv, yv)
        else:  # a PyTorch-style loader: fit calls set_epoch
            ds = TensorDataset(pynn.tensor(x), pynn.tensor(y))
            train_data = DataLoader(ds, batch_size=BATCH, sampler=DistributedSampler(ds))
            val = (xv, yv)
        logs = [] if reference else [train.CSVLogger(out / "log.csv")]  # rank 0 writes
        history = train.fit(model, loss, opt, train_data, EPOCHS, val_loader=val,
                            scheduler=sched, batch_size=BATCH, progress=False,
                            callbacks=logs)
        save(out, "reference.npz" if reference else f"rank{rank}.npz", model, history)
    elif mode == "resume":  # with dropout: each rank's generator must come back as it was
        model, opt, sched = setup(0.3)
        full = train.fit(model, loss, opt, (x, y), 4, val_loader=(xv, yv), scheduler=sched,
                         batch_size=BATCH, progress=None)
        save(out, f"full{rank}.npz", model, full)
        model, opt, sched = setup(0.3)
        train.fit(model, loss, opt, (x, y), 2, val_loader=(xv, yv), scheduler=sched,
                  batch_size=BATCH, progress=None, checkpoint_dir=out / "ckpt")
        model, opt, sched = setup(0.3)
        resumed = train.fit(model, loss, opt, (x, y), 4, val_loader=(xv, yv), scheduler=sched,
                            batch_size=BATCH, progress=None, checkpoint_dir=out / "ckpt",
                            resume=out / "ckpt")
        save(out, f"resumed{rank}.npz", model, resumed)
    elif mode == "nan":  # only the last rank sees a NaN (step 2): every rank stops there
        x[(world - 1) + 2 * BATCH * world] = np.nan
        model, opt, _ = setup()
        ds = TensorDataset(pynn.tensor(x), pynn.tensor(y))
        loader = DataLoader(ds, batch_size=BATCH,
                            sampler=DistributedSampler(ds, shuffle=False))
        stopper = train.TerminateOnNaN()
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            history = train.fit(model, loss, opt, loader, 3, callbacks=[stopper],
                                progress=None)
        assert len(history) == 1, history
        if rank == world - 1:  # the others stopped because it asked
            assert (stopper.stopped_epoch, stopper.stopped_batch) == (0, 2), vars(stopper)
        else:
            assert stopper.stopped_batch is None
        save(out, f"rank{rank}.npz", model, history)
    elif mode == "uneven":
        model, opt, _ = setup()
        n = 4 * BATCH if rank == 0 else 3 * BATCH
        train.fit(model, loss, opt, DataLoader(TensorDataset(pynn.tensor(x[:n]),
                                                             pynn.tensor(y[:n])),
                                               batch_size=BATCH), 1, progress=None)
    elif mode == "unsharded":
        model, opt, _ = setup()
        loader = DataLoader(TensorDataset(pynn.tensor(x), pynn.tensor(y)), batch_size=BATCH)
        train.fit(model, loss, opt, loader, 1, progress=None)
    if not reference:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
