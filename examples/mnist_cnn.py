"""MNIST with a small CNN: Conv2d(1, 30, 5) -> ReLU -> MaxPool2d(2) -> Flatten ->
Linear(4320, 100) -> ReLU -> Linear(100, 10), trained with Adam.

Target: >= 98.9% test accuracy::

    python examples/mnist_cnn.py [--epochs 5] [--batch-size 100] [--lr 1e-3] [--threads 2]
"""

import time

from _common import mnist_loaders, parse_args, report

from pynn import nn, train
from pynn.optim import Adam, lr_scheduler

TARGET = 0.989


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], epochs=5, batch_size=100, lr=1e-3, argv=argv)
    start = time.perf_counter()
    train_loader, test_loader = mnist_loaders(args)
    model = nn.Sequential(
        nn.Conv2d(1, 30, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(30 * 12 * 12, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=args.lr)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    history = train.fit(model, loss_fn, optimizer, train_loader, args.epochs,
                        val_loader=test_loader, scheduler=scheduler,
                        checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                        progress=None if args.quiet else True)
    result = train.evaluate(model, loss_fn, test_loader)
    return report("mnist_cnn conv5x5x30-pool-100-10", history, result, start, TARGET)


if __name__ == "__main__":
    main()
