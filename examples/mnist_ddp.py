"""MNIST with the CNN of mnist_cnn.py, data-parallel over MPI processes with
DistributedDataParallel: each process trains on its share of every batch, gradients are
averaged, all replicas stay identical.

Written as a PyTorch DDP script would be (only the imports differ), with pynn's ``fit``
doing the loop; run it with MPI's launcher::

    mpiexec -n 2 python examples/mnist_ddp.py [--epochs 5] [--batch-size 100] [--threads 1]

``--batch-size`` is the global batch, split between the processes, so that any number of
processes follows the same optimisation as one. Alone (``python examples/mnist_ddp.py``) it
runs as a world of one process. Given the datasets, ``fit`` shards them (a
``DistributedSampler`` for training, every rank's share of the test set for validation),
reports metrics over all processes and prints from rank 0 only; ``--checkpoint-dir`` and
``--resume`` work as in the one-process examples (rank 0 writes, every rank reads).
"""

from _common import mnist_datasets, parse_args

import pynn.distributed as dist
from pynn import get_num_threads, nn, train
from pynn.nn.parallel import DistributedDataParallel as DDP
from pynn.optim import Adam, lr_scheduler


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], epochs=5, batch_size=100, lr=1e-3, argv=argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of {world} processes")
    train_set, test_set = mnist_datasets(args)

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
        print(f"{world} process(es) x {get_num_threads()} thread(s), "
              f"{args.batch_size // world} images per process per step")

    history = train.fit(model, nn.CrossEntropyLoss(), optimizer, train_set, args.epochs,
                        val_loader=test_set, scheduler=scheduler,
                        batch_size=args.batch_size // world,
                        checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                        progress=None if args.quiet else True)
    acc = history["val_accuracy"][-1]
    if rank == 0:
        rate = history["items_per_sec"][-1]
        print(f"mnist_ddp: {world} process(es), test accuracy {acc:.4f}, training time "
              f"{sum(history['epoch_time']):.1f} s, last epoch {rate:,.0f} images/s")
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
