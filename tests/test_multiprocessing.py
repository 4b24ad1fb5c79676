"""pynn.multiprocessing: tensors in shared memory cross to child processes as the same
memory (fork, spawn, queues), other tensors as copies; spawn() runs and reports failures;
Hogwild training on a shared model, as pytorch/examples' mnist_hogwild does."""

import numpy as np
import pytest
from mp_children import _echo, _exits, _fails, _hogwild, _write

import pynn
import pynn.multiprocessing as mp
from pynn import nn

pytestmark = pytest.mark.skipif(__import__("os").name != "posix",
                                reason="shared tensor memory is POSIX only")

METHODS = ["fork", "spawn"]


@pytest.mark.parametrize("method", METHODS)
def test_shared_tensors_are_the_same_memory_in_the_child(method):
    shared = pynn.arange(12, dtype=pynn.float32).reshape(3, 4).share_memory_()
    private = pynn.zeros(3)
    view = shared[1, 1:3]  # a view of shared storage travels with its offset and strides
    assert shared.is_shared() and view.is_shared() and not private.is_shared()
    p = mp.get_context(method).Process(target=_write, args=(shared, private, view))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    expected = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    expected[1, 1:3] = -5
    np.testing.assert_array_equal(shared.numpy(), expected)
    np.testing.assert_array_equal(private.numpy(), np.zeros(3))  # copied, not shared


def test_a_queue_passes_a_shared_parameter_and_keeps_its_kind():
    ctx = mp.get_context("spawn")
    q_in, q_out = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=_echo, args=(q_in, q_out))
    p.start()
    w = nn.Parameter(pynn.ones(5, dtype=pynn.float64))
    w.share_memory_()
    q_in.put(w)
    assert q_out.get(timeout=60) == (True, "Parameter", True, "pynn.float64")
    p.join(60)
    np.testing.assert_array_equal(w.detach().numpy(), np.full(5, 2.0))


def test_share_memory_keeps_values_dtype_and_identity():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    assert model.share_memory() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for key, value in model.state_dict().items():
        assert value.dtype == before[key].dtype
        np.testing.assert_array_equal(value.numpy(), before[key].numpy())
    assert all(p.is_shared() for p in model.parameters())
    assert all(b.is_shared() for b in model.buffers())
    t = pynn.ones(2).share_memory_()
    storage = t._data
    assert t.share_memory_()._data is storage  # already shared: left alone


def test_hogwild_workers_train_one_shared_model():
    pynn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).share_memory()
    before = [p.detach().clone() for p in model.parameters()]
    mp.spawn(_hogwild, args=(model, 5), nprocs=2)
    after = list(model.parameters())
    assert all(not np.array_equal(a.detach().numpy(), b.numpy()) for a, b in zip(after, before))
    assert all(np.isfinite(a.detach().numpy()).all() for a in after)


def test_spawn_reports_an_exception_with_its_traceback():
    with pytest.raises(mp.ProcessRaisedException, match=r"(?s)Process 1.*ValueError: rank one"):
        mp.spawn(_fails, nprocs=2)


def test_spawn_reports_an_exit_code():
    with pytest.raises(mp.ProcessExitedException, match="exit code 3") as info:
        mp.spawn(_exits, nprocs=2, start_method="fork")
    assert info.value.exit_code == 3


def test_module_reexports_multiprocessing():
    import multiprocessing

    assert mp.Process is multiprocessing.Process and mp.Queue is multiprocessing.Queue
    assert mp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(ValueError, match="file descriptor only"):
        mp.set_sharing_strategy("file_system")
    assert pynn.multiprocessing is mp
