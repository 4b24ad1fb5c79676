"""pynn.distributed in a one-process world (no mpiexec): what a script run alone sees, the
API's errors, and DistributedSampler against PyTorch's."""

import os
import subprocess
import sys

import numpy as np
import pytest

import pynn
import pynn.distributed as dist
from pynn import nn
from pynn.nn.parallel import DistributedDataParallel as DDP
from pynn.utils.data import DataLoader, DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")


@pytest.fixture
def world():
    """A one-process group (this test process was not started by mpiexec)."""
    assert not dist.is_initialized()
    dist.init_process_group("gloo")
    yield
    dist.destroy_process_group()


def test_one_process_world(world):
    assert dist.is_initialized() and dist.is_available()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    t = pynn.tensor([1.0, 2.0])
    for op in dist.ReduceOp:
        if op.name.startswith("B"):
            continue
        dist.all_reduce(t, op=op)  # a no-op for every op (AVG divides by 1)
        np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    w = dist.all_reduce(t, async_op=True)
    assert w.is_completed() and w.wait() and w.result() == [t]
    lst = [pynn.zeros(2)]
    dist.all_gather(lst, t)
    np.testing.assert_array_equal(lst[0].numpy(), [1.0, 2.0])
    dist.broadcast(t, src=0)
    dist.barrier()
    with pytest.raises(ValueError, match="not a rank"):
        dist.broadcast(t, src=1)
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("mpi")
    with pytest.raises(RuntimeError, match="pickle"):
        dist.all_gather_object([None], {"a": 1})


def test_init_errors():
    with pytest.raises(RuntimeError, match="CPUs only"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="world_size=2"):
        dist.init_process_group("mpi", world_size=2)
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()


def test_ddp_alone_is_the_module(world):
    pynn.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ddp = DDP(net)
    assert ddp.module is net
    assert repr(ddp) == "DistributedDataParallel(\n  (module): " + repr(net).replace(
        "\n", "\n  ") + "\n)"  # PyTorch's: the wrapped module only
    assert list(ddp.state_dict()) == ["module." + k for k in net.state_dict()]
    x = pynn.randn(5, 3)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), net(x).detach().numpy())
    ddp(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    with ddp.no_sync():
        ddp(x).sum().backward()
    with pytest.raises(ValueError, match="CPUs only"):
        DDP(net, device_ids=[0])


def test_script_with_an_exception_alone_exits_normally_with_its_traceback(tmp_path):
    code = ("import pynn.distributed as d; d.init_process_group('mpi'); "
            "raise KeyError('alone')")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_RANK", "PMI_SIZE")}
    # cwd away from the checkout, so that the child imports the installed pynn
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                          text=True, timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == 1 and "KeyError: 'alone'" in proc.stderr


# (dataset length, replicas, drop_last): even and uneven, fewer samples than replicas
SAMPLER = [(n, r, d) for n in (0, 1, 5, 10, 11, 13) for r in (1, 2, 3, 4) for d in (False, True)]


@pytest.mark.parametrize("n,replicas,drop_last", SAMPLER)
def test_distributed_sampler_matches_torch(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    perm = None
    for rank in range(replicas):
        mine = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(mine) == list(theirs) and len(mine) == len(theirs)
        # shuffled: PyTorch's assignment applied to pynn's permutation (NumPy's generator)
        shuffled = DistributedSampler(range(n), replicas, rank, seed=3, drop_last=drop_last)
        shuffled.set_epoch(2)
        if perm is None:
            perm = np.random.default_rng(5).permutation(n)
        assert list(shuffled) == [int(perm[i]) for i in theirs]


def test_distributed_sampler_epochs_and_loader():
    s = DistributedSampler(range(10), 2, 0)
    first = list(s)
    assert list(s) == first  # the same epoch gives the same order
    s.set_epoch(1)
    assert sorted(list(s) + list(DistributedSampler(range(10), 2, 1, seed=0))) != []
    both = [DistributedSampler(range(10), 2, r) for r in (0, 1)]
    for b in both:
        b.set_epoch(1)
    assert sorted(list(both[0]) + list(both[1])) == list(range(10))  # a partition
    assert list(s) != first
    ds = TensorDataset(pynn.arange(10.0))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(ds, 2, 2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(ds)


def test_data_parallel_is_the_module_as_in_pytorch_without_gpus():
    pynn.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    dp = nn.DataParallel(net, device_ids=[0, 1])
    ref = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU()),
                                device_ids=[0, 1])
    ref.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in dp.state_dict().items()})
    assert repr(dp) == repr(ref) and dp.device_ids == ref.device_ids == []
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(dp(pynn.tensor(x)).detach().numpy(),
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    from pynn.nn.parallel import data_parallel

    np.testing.assert_array_equal(data_parallel(net, pynn.tensor(x)).detach().numpy(),
                                  net(pynn.tensor(x)).detach().numpy())


def test_waits_spin_only_on_a_core_nobody_else_wants(monkeypatch):
    """_wait's spin budget: _SPIN_SECONDS while this thread rarely waits for a core, none
    once it waited more than _CONTENDED_SHARE of the last _WATCH_SECONDS or more."""
    clock = [100.0]
    delay = [0.0]
    monkeypatch.setattr(dist, "_core_watch", None)
    monkeypatch.setattr(dist, "_run_delay", lambda: delay[0])

    def after(seconds, waited):
        clock[0] += seconds
        delay[0] += waited
        return dist._spin_seconds(clock[0])

    assert after(0, 0) == dist._SPIN_SECONDS  # the first call only takes a reading
    assert after(1.0, 0.01) == dist._SPIN_SECONDS  # 1% of the time: a core of its own
    assert after(0.1, 0.5) == dist._SPIN_SECONDS  # judged again only after _WATCH_SECONDS
    assert after(1.0, 0) == 0.0  # 0.5 s of the last 1.1 s: contended
    assert after(0.2, 0) == 0.0
    assert after(0.5, 0.01) == dist._SPIN_SECONDS  # a quiet 0.7 s: spinning again
    monkeypatch.setattr(dist, "_run_delay", lambda: None)
    monkeypatch.setattr(dist, "_core_watch", None)
    assert after(1.0, 0) == dist._SPIN_SECONDS  # no schedstat: always the spin


def test_run_delay_counts_on_linux():
    d = dist._run_delay()
    if os.path.exists("/proc/thread-self/schedstat"):
        assert isinstance(d, float) and d >= 0
