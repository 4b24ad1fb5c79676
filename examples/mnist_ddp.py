"""MNIST with the CNN of mnist_cnn.py, data-parallel over MPI processes with
DistributedDataParallel: each process trains on its share of every batch, gradients are
averaged, all replicas stay identical.

Written as a PyTorch DDP script (only the imports differ); run it with MPI's launcher::

    mpiexec -n 2 python examples/mnist_ddp.py [--epochs 5] [--batch-size 100] [--threads 1]

``--batch-size`` is the global batch, split between the processes, so that any number of
processes follows the same optimisation as one. Alone (``python examples/mnist_ddp.py``) it
runs as a world of one process. Rank 0 prints the test accuracy and the time.
"""

import time

from _common import mnist_datasets, parse_args

import pynn
import pynn.distributed as dist
import pynn.nn.functional as F
from pynn import nn
from pynn.nn.parallel import DistributedDataParallel as DDP
from pynn.optim import Adam, lr_scheduler
from pynn.utils.data import DataLoader, DistributedSampler


def evaluate(model, loader):
    """Test accuracy over every rank's share of the test set."""
    model.eval()
    correct = pynn.zeros(2, dtype=pynn.float64)  # (correct, seen) on this rank
    with pynn.no_grad():
        for x, y in loader:
            correct += pynn.tensor([(model(x).argmax(1) == y).sum().item(), len(y)],
                                   dtype=pynn.float64)
    dist.all_reduce(correct)
    model.train()
    return (correct[0] / correct[1]).item()


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], epochs=5, batch_size=100, lr=1e-3, argv=argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of {world} processes")
    train_set, test_set = mnist_datasets(args)
    train_sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size // world,
                              sampler=train_sampler)
    test_loader = DataLoader(test_set, batch_size=1000,
                             sampler=DistributedSampler(test_set, shuffle=False))

    model = DDP(nn.Sequential(
        nn.Conv2d(1, 30, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    ))
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    if rank == 0 and not args.quiet:
        print(f"{world} process(es) x {pynn.get_num_threads()} thread(s), "
              f"{args.batch_size // world} images per process per step")

    train_time = 0.0
    for epoch in range(args.epochs):
        train_sampler.set_epoch(epoch)
        dist.barrier()
        start = time.perf_counter()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        dist.barrier()
        elapsed = time.perf_counter() - start
        train_time += elapsed
        scheduler.step()
        acc = evaluate(model, test_loader)
        if rank == 0 and not args.quiet:
            images = len(train_sampler) * world
            print(f"  epoch {epoch + 1}: {elapsed:6.1f} s  ({images / elapsed:,.0f} images/s)  "
                  f"loss {loss.item():.4f}  test accuracy {acc:.4f}")
    if rank == 0:
        print(f"mnist_ddp: {world} process(es), test accuracy {acc:.4f}, "
              f"training time {train_time:.1f} s")
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
