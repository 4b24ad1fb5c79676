"""DataLoader worker processes: order, seeding, worker_init_fn, errors with the worker's
traceback, iterable datasets sharded by get_worker_info, persistent workers, early break
without leaked processes, transforms running in workers."""

import multiprocessing
import os
import sys
import time

import numpy as np
import pytest

import pynn
from pynn.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(__file__))
import worker_datasets as W


def wait_no_children(timeout=10.0):
    end = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < end:
        time.sleep(0.05)
    return multiprocessing.active_children()


@pytest.fixture(autouse=True)
def no_leaked_workers():
    yield
    assert not wait_no_children(), "worker processes outlived their loader"


@pytest.mark.parametrize("context", [None, "spawn"])
def test_workers_keep_order_and_match_main_process(context):
    ds = W.Probe(23)
    main = list(DataLoader(ds, batch_size=4))
    work = list(DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=context))
    assert len(work) == len(main) == 6
    for a, b in zip(main, work):
        assert b["i"].tolist() == a["i"].tolist()
        assert b["i"].dtype == np.int64 and b["pynn"].dtype == np.float64
    # Batches alternate between the two workers, in separate processes.
    assert [int(b["worker"][0]) for b in work] == [0, 1, 0, 1, 0, 1]
    pids = {int(b["pid"][0]) for b in work}
    assert len(pids) == 2 and os.getpid() not in pids


def test_worker_seeding_distinct_and_reproducible():
    ds = W.Probe(8)

    def run():
        pynn.manual_seed(5)
        return list(DataLoader(ds, batch_size=2, num_workers=2))

    first, again = run(), run()
    for key in ("pynn", "numpy", "random", "seed"):
        assert [b[key].tolist() for b in first] == [b[key].tolist() for b in again], key
    seeds = {int(b["worker"][0]): int(b["seed"][0]) for b in first}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id, as PyTorch
    # The two workers draw different streams.
    assert first[0]["pynn"].tolist() != first[1]["pynn"].tolist()
    assert first[0]["numpy"].tolist() != first[1]["numpy"].tolist()
    pynn.manual_seed(6)
    other = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert other[0]["pynn"].tolist() != first[0]["pynn"].tolist()


def test_worker_init_fn_runs_in_each_worker():
    out = list(DataLoader(W.ReportsInit(), batch_size=1, num_workers=2,
                          worker_init_fn=W.init_marks_worker))
    assert out == [["0"], ["1"], ["0"], ["1"]]


def test_error_in_worker_is_reraised_with_its_traceback():
    loader = DataLoader(W.Fails(10, bad=5), batch_size=2, num_workers=2)
    seen = []
    with pytest.raises(ValueError) as info:
        for x, y in loader:
            seen.append(y.tolist())
    assert seen == [[0, 1], [2, 3]]
    message = str(info.value)
    assert "sample 5 is broken" in message
    assert "DataLoader worker process 0" in message
    assert "worker_datasets.py" in message and "Traceback" in message


def test_error_in_worker_init_fn_is_reraised():
    with pytest.raises(RuntimeError, match="init of worker"):
        list(DataLoader(W.ReportsInit(), num_workers=1, worker_init_fn=W.init_fails))


def test_iterable_dataset_sharded_like_pytorch():
    got = [b.tolist() for b in DataLoader(W.Shards(10), batch_size=2, num_workers=2)]
    # PyTorch's order for the same dataset: batches alternate between the workers' streams.
    assert got == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]


def test_early_break_leaves_no_process_behind():
    loader = DataLoader(W.Probe(200), batch_size=2, num_workers=2)
    for k, _ in enumerate(loader):
        if k == 2:
            break
    assert not wait_no_children()
    it = iter(loader)
    next(it)
    del it
    assert not wait_no_children()


def test_persistent_workers_survive_epochs():
    loader = DataLoader(W.Probe(6), batch_size=2, num_workers=2, persistent_workers=True)
    pids = []
    for _ in range(3):
        epoch = list(loader)
        assert [b["i"].tolist() for b in epoch] == [[0, 1], [2, 3], [4, 5]]
        pids.append({int(b["pid"][0]) for b in epoch})
    assert pids[0] == pids[1] == pids[2]
    for k, _ in enumerate(loader):  # an epoch broken early, then a full one
        break
    assert [b["i"].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    del loader
    assert not wait_no_children()


def test_transform_and_fast_path_in_workers():
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    y = np.arange(10)
    ds = TensorDataset(x, y)
    main = list(DataLoader(ds, batch_size=3, shuffle=True, seed=4, transform=W.add_one))
    work = list(DataLoader(ds, batch_size=3, shuffle=True, seed=4, transform=W.add_one,
                           num_workers=2))
    assert len(main) == len(work) == 4
    for (xa, ya), (xb, yb) in zip(main, work):
        assert isinstance(xb, pynn.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()] + 1)


def test_timeout_argument_accepted():
    assert len(list(DataLoader(W.Probe(4), batch_size=2, num_workers=1, timeout=30))) == 2


def test_unpicklable_dataset_falls_back_to_fork_without_hanging():
    """A lambda in the dataset cannot reach spawned workers: they are forked instead, and run
    pynn's kernels on one thread (a forked OpenMP team of several would hang)."""
    import pynn.nn.functional as F

    pynn.set_num_threads(2)
    x = pynn.tensor(np.random.default_rng(0).random((2, 3, 8, 8), dtype=np.float32))
    w = pynn.tensor(np.random.default_rng(1).random((4, 3, 3, 3), dtype=np.float32))
    F.conv2d(x, w)  # OpenMP has run in this process

    class Local(pynn.utils.data.Dataset):
        def __init__(self, f):
            self.f = f

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return self.f(F.conv2d(x[:1], w).detach().numpy().sum() * 0 + i)

    loader = DataLoader(Local(lambda v: np.float32(v) * 2), batch_size=4, num_workers=2,
                        timeout=60)
    assert loader._context().get_start_method() == "fork"
    assert [b.tolist() for b in loader] == [[0.0, 2.0, 4.0, 6.0], [8.0, 10.0]]
    assert DataLoader(W.Probe(2), num_workers=1)._context().get_start_method() in (
        "forkserver", "spawn")


def test_worker_killed_is_reported_not_hung():
    loader = DataLoader(W.Slow(), batch_size=1, num_workers=1)
    it = iter(loader)
    next(it)
    for child in multiprocessing.active_children():
        child.kill()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in it:
            pass
