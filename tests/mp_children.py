"""Functions that tests/test_multiprocessing.py runs in child processes. They live in a
module of their own, imported by its plain name (tests/ is on the test path), because a
spawned child imports a function's module by name: the test module itself is known to
pytest's importlib mode as ``tests.test_multiprocessing``, a name the child cannot import."""

import pynn
from pynn import nn


def _write(shared, private, view):
    shared.add_(1)
    private.add_(1)
    view.fill_(-5)


def _echo(queue_in, queue_out):
    t = queue_in.get()
    with pynn.no_grad():
        t.mul_(2)
    queue_out.put((t.is_shared(), type(t).__name__, t.requires_grad, str(t.dtype)))


def _hogwild(rank, model, steps):
    pynn.manual_seed(rank)
    opt = pynn.optim.SGD(model.parameters(), lr=0.1)
    x, y = pynn.randn(16, 4), pynn.randint(0, 3, (16,))
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _fails(rank):
    if rank == 1:
        raise ValueError("rank one gives up")


def _exits(rank):
    raise SystemExit(3 if rank == 0 else 0)
