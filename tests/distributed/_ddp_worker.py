"""Run by tests/distributed under ``mpiexec -n R`` (or alone with ``--reference``): train a
small float64 model for a few steps with DistributedDataParallel and write each rank's
parameters, or train one process on the concatenated batches and write those.

Usage: python _ddp_worker.py OUT_DIR MODE [--reference --world R]
MODE: plain | nosync | tiny | unused | partial | bn | fail | kill | exit | collectives
"""

import os
import sys
from pathlib import Path

import numpy as np

import pynn
import pynn.distributed as dist
import pynn.nn.functional as F
from pynn import nn, optim
from pynn.nn.parallel import DistributedDataParallel as DDP

STEPS = 3
MICRO = 2  # micro-batches per step with MODE nosync
BATCH = 4  # samples per rank per micro-batch


class Net(nn.Module):
    """Convolution, a shared linear layer applied twice, and (MODE unused, partial) a branch
    no rank uses, or only the last rank."""

    def __init__(self, unused=False, bn=False):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3) if bn else nn.Identity()
        self.shared = nn.Linear(12, 12)
        self.head = nn.Linear(12, 5)
        self.dead = nn.Linear(12, 5) if unused else None

    def forward(self, x, branch=False):
        h = F.relu(self.bn(self.conv(x))).mean(dim=(2, 3))  # (N, 3)
        h = h.repeat(1, 4)  # (N, 12)
        h = F.relu(self.shared(h))
        h = self.shared(h)  # the same weight twice: its gradient is complete after both
        out = self.head(h)
        return out + self.dead(h) if branch else out


def data(world, step, micro):
    """The global batch of a step's micro-batch: rank r's share is rows [r*B, (r+1)*B)."""
    rng = np.random.default_rng(1000 * step + micro)
    x = rng.standard_normal((world * BATCH, 1, 4, 4))
    y = rng.integers(0, 5, world * BATCH)
    return x, y


def train(model, opt, world, rank, mode, reference):
    """STEPS optimiser steps. The reference process sums, over the ranks' shares, the loss
    each rank computes divided by the world size: the objective DDP's averaged gradient
    descends (with a mean loss, the loss of the concatenated batch)."""
    micro = MICRO if mode == "nosync" else 1
    for step in range(STEPS):
        opt.zero_grad()
        for m in range(micro):
            x, y = data(world, step, m)
            shares = range(world) if reference else [rank]
            for r in shares:
                xs = pynn.tensor(x[r * BATCH:(r + 1) * BATCH])
                ys = pynn.tensor(y[r * BATCH:(r + 1) * BATCH])
                branch = mode == "partial" and r == world - 1
                scale = micro * (world if reference else 1)
                if reference or m == micro - 1 or mode != "nosync":
                    (F.cross_entropy(model(xs, branch=branch), ys) / scale).backward()
                else:
                    with model.no_sync():
                        (F.cross_entropy(model(xs, branch=branch), ys) / scale).backward()
        opt.step()


def collectives(out, rank, world):
    """Each collective's result on this rank, saved for the test to check."""
    res = {}
    t = pynn.tensor(np.arange(4.0) + rank)
    dist.all_reduce(t)
    res["sum"] = t.numpy()
    for op in ("AVG", "MAX", "MIN", "PRODUCT"):
        t = pynn.tensor(np.arange(4.0) + rank)
        w = dist.all_reduce(t, op=getattr(dist.ReduceOp, op), async_op=True)
        w.wait()
        assert w.is_completed()
        res[op.lower()] = t.numpy()
    a = np.full(3, rank, np.int64)
    dist.all_reduce(a)  # an ndarray, in place
    res["int_sum"] = a
    flags = np.array([rank == 0, False, True])
    dist.all_reduce(flags)  # bools: SUM is a logical or
    res["bool_sum"] = flags
    h = pynn.tensor([1.5, float(rank)], dtype=pynn.float16)
    dist.all_reduce(h, op=dist.ReduceOp.MAX)
    res["half_max"] = h.numpy()
    s = pynn.tensor(np.arange(6.0).reshape(2, 3))[:, 1]  # non-contiguous storage
    dist.all_reduce(s)
    res["strided"] = s.numpy()
    b = pynn.tensor(np.full(2, float(rank)))
    dist.broadcast(b, src=world - 1)
    res["broadcast"] = b.numpy()
    lst = [pynn.zeros(2, dtype=pynn.float64) for _ in range(world)]
    dist.all_gather(lst, pynn.tensor(np.full(2, float(rank))))
    res["all_gather"] = np.stack([x.numpy() for x in lst])
    o = pynn.zeros(world * 2, dtype=pynn.float64)
    dist.all_gather_into_tensor(o, pynn.tensor(np.full(2, float(rank))))
    res["all_gather_into"] = o.numpy()
    r = pynn.tensor(np.full(2, float(rank + 1)))
    dist.reduce(r, dst=0)
    res["reduce"] = r.numpy()
    g = [pynn.zeros(1, dtype=pynn.float64) for _ in range(world)] if rank == 0 else None
    dist.gather(pynn.tensor([float(rank)]), g, dst=0)
    res["gather"] = np.stack([x.numpy() for x in g]) if rank == 0 else np.zeros(0)
    sc = pynn.zeros(2, dtype=pynn.float64)
    src = [pynn.tensor(np.full(2, 10.0 * i)) for i in range(world)] if rank == 0 else None
    dist.scatter(sc, src, src=0)
    res["scatter"] = sc.numpy()
    rs = pynn.zeros(1, dtype=pynn.float64)
    dist.reduce_scatter_tensor(rs, pynn.tensor(np.arange(float(world)) + rank))
    res["reduce_scatter"] = rs.numpy()
    if world > 1:  # a ring of point-to-point messages
        buf = pynn.zeros(1, dtype=pynn.float64)
        w = dist.irecv(buf, src=(rank - 1) % world)
        dist.send(pynn.tensor([float(rank)]), dst=(rank + 1) % world)
        w.wait()
        res["ring"] = buf.numpy()
        if rank == 0:  # from whichever rank sends: recv says which
            got = pynn.zeros(1, dtype=pynn.float64)
            res["recv_from"] = np.array([dist.recv(got), got.item()])
        elif rank == world - 1:
            dist.send(pynn.tensor([7.0]), dst=0)
    dist.barrier()
    res["env"] = np.array([int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])])
    np.savez(out / f"rank{rank}.npz", **res)


def main():
    out, mode = Path(sys.argv[1]), sys.argv[2]
    reference = "--reference" in sys.argv
    pynn.set_default_dtype(pynn.float64)
    if reference:
        world, rank = int(sys.argv[sys.argv.index("--world") + 1]), 0
    else:
        dist.init_process_group("gloo", timeout=3 if mode == "exit" else None)
        world, rank = dist.get_world_size(), dist.get_rank()
    if mode == "collectives":
        collectives(out, rank, world)
        return
    if mode == "fail" and rank == world - 1:
        raise ValueError("rank failed on purpose")
    if mode == "kill" and rank == world - 1:
        os.kill(os.getpid(), 9)  # dies without a word: mpiexec must end the others
    if mode == "exit" and rank == world - 1:
        return  # leaves cleanly while the others wait in a collective: the timeout ends it
    pynn.manual_seed(1 if reference else 1 + rank)  # DDP must copy rank 0's weights
    model = Net(unused=mode in ("unused", "partial"), bn=mode == "bn")
    if not reference:
        cap = 1e-4 if mode == "tiny" else None
        model = DDP(model, bucket_cap_mb=cap, find_unused_parameters=mode in ("unused", "partial"))
        if mode == "tiny":
            assert len(model._buckets) == 3, len(model._buckets)  # (weight, bias) pairs
        shared = os.environ.get("PYNN_DDP_SHARED_MEMORY", "1") != "0"
        assert (model._node is not None) == shared, "not the exchange the test asked for"
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if mode in ("exit", "kill"):
        dist.barrier()
    train(model, opt, world, rank, mode, reference)
    if mode == "bn":  # each rank's running statistics differ; a forward copies rank 0's
        model.eval()
        with pynn.no_grad():
            model(pynn.tensor(data(world, 0, 0)[0]))
    state = model.state_dict()
    if mode == "unused":  # no rank used it: its gradient stays None, as without DDP
        assert (model.module if not reference else model).dead.weight.grad is None
    if not reference:
        assert all(k.startswith("module.") for k in state), list(state)
        state = {k[len("module."):]: v for k, v in state.items()}
        for p in model.parameters():
            if p.grad is not None and mode not in ("unused", "partial"):
                flat = model._buckets[model._where[id(p)][0]].flat
                assert np.shares_memory(p.grad._data, flat), "grad is not a bucket view"
    np.savez(out / ("reference.npz" if reference else f"rank{rank}.npz"),
             **{k: v.numpy() for k, v in state.items()})


if __name__ == "__main__":
    main()
