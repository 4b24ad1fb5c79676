"""DistributedDataParallel and the collectives across real processes: each test starts
``mpiexec`` as a subprocess with a timeout (pytest itself never runs under mpiexec)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install mpi4py mpich)")
MPIEXEC = shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("mpi4py is installed but mpiexec is not on PATH", allow_module_level=True)

WORKER = str(Path(__file__).with_name("_ddp_worker.py"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
for _name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "RANK", "WORLD_SIZE"):
    ENV.pop(_name, None)  # the test process is not itself a rank


def run(n, out, mode, timeout=120, shared_memory=True):
    """``mpiexec -n n`` on the worker; the completed process. ``shared_memory=False``: DDP
    exchanges its buckets with MPI's all_reduce, as between machines."""
    env = dict(ENV, PYNN_DDP_SHARED_MEMORY="1" if shared_memory else "0")
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, WORKER, str(out), mode],
                          check=False, capture_output=True, text=True, timeout=timeout,
                          env=env)


def reference(n, out, mode):
    subprocess.run([sys.executable, WORKER, str(out), mode, "--reference", "--world", str(n)],
                   check=True, timeout=120, env=ENV)
    return np.load(out / "reference.npz")


# (mode, processes, exchange): plain DDP, gradient accumulation with no_sync, one bucket
# per layer instead of one for the whole model, a parameter no forward uses, one only the
# last rank uses; 4 processes on 2 cores; the buckets exchanged through shared memory (all
# ranks on one machine) or with MPI's all_reduce (what several machines use)
TRAINING = [("plain", 2, "shm"), ("tiny", 2, "shm"), ("unused", 2, "shm"),
            ("partial", 3, "shm"), ("nosync", 4, "shm"), ("plain", 2, "mpi"),
            ("tiny", 2, "mpi"), ("partial", 3, "mpi"), ("nosync", 4, "mpi")]


@pytest.mark.parametrize("mode,n,exchange", TRAINING,
                         ids=[f"{m}-{n}-{e}" for m, n, e in TRAINING])
def test_ddp_equals_one_process_on_the_concatenated_batch(tmp_path, mode, n, exchange):
    proc = run(n, tmp_path, mode, shared_memory=exchange == "shm")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(n)]
    ref = reference(n, tmp_path, mode)
    assert sorted(ranks[0]) == sorted(ref)
    for k in ref:
        for r in range(1, n):
            np.testing.assert_array_equal(ranks[r][k], ranks[0][k], err_msg=f"rank {r} {k}")
        np.testing.assert_allclose(ranks[0][k], ref[k], rtol=1e-6, atol=1e-9, err_msg=k)
        assert not np.allclose(ref[k], 0)


def test_ddp_broadcasts_buffers_from_rank_0(tmp_path):
    proc = run(2, tmp_path, "bn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    assert "bn.running_mean" in ranks[0]
    for k in ranks[0]:
        np.testing.assert_array_equal(ranks[1][k], ranks[0][k], err_msg=k)
    assert not np.allclose(ranks[0]["bn.running_mean"], 0)  # they were updated


def test_collectives_results(tmp_path):
    n = 3
    proc = run(n, tmp_path, "collectives")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    base = np.arange(4.0)
    ranks = np.arange(n, dtype=np.float64)
    for r in range(n):
        got = np.load(tmp_path / f"rank{r}.npz")
        np.testing.assert_array_equal(got["sum"], n * base + ranks.sum())
        np.testing.assert_array_equal(got["avg"], base + ranks.mean())
        np.testing.assert_array_equal(got["max"], base + n - 1)
        np.testing.assert_array_equal(got["min"], base)
        np.testing.assert_array_equal(got["product"], np.prod([base + i for i in range(n)], 0))
        np.testing.assert_array_equal(got["int_sum"], np.full(3, ranks.sum(), np.int64))
        assert got["int_sum"].dtype == np.int64
        np.testing.assert_array_equal(got["bool_sum"], [True, False, True])
        np.testing.assert_array_equal(got["half_max"], np.array([1.5, n - 1], np.float16))
        np.testing.assert_array_equal(got["strided"], n * np.array([1.0, 4.0]))
        np.testing.assert_array_equal(got["broadcast"], [n - 1.0] * 2)
        np.testing.assert_array_equal(got["all_gather"], np.repeat(ranks[:, None], 2, 1))
        np.testing.assert_array_equal(got["all_gather_into"], np.repeat(ranks, 2))
        np.testing.assert_array_equal(got["reduce"], [n * (n + 1) / 2] * 2 if r == 0 else
                                      [r + 1.0] * 2)
        if r == 0:
            np.testing.assert_array_equal(got["gather"], ranks[:, None])
        np.testing.assert_array_equal(got["scatter"], [10.0 * r] * 2)
        # rank r receives element r of the sum over ranks of (arange(n) + rank)
        np.testing.assert_array_equal(got["reduce_scatter"], [n * r + ranks.sum()])
        np.testing.assert_array_equal(got["ring"], [(r - 1) % n])
        if r == 0:
            np.testing.assert_array_equal(got["recv_from"], [n - 1, 7.0])
        np.testing.assert_array_equal(got["env"], [r, n])


# a rank that raises, one killed by a signal, one that returns while the others wait
FAULTS = [("fail", "rank failed on purpose"), ("kill", "BAD TERMINATION"),
          ("exit", "did not complete within 3 s")]


@pytest.mark.parametrize("mode,message", FAULTS, ids=[m for m, _ in FAULTS])
def test_a_failing_rank_ends_the_job(tmp_path, mode, message):
    proc = run(2, tmp_path, mode, timeout=120)  # a hang raises TimeoutExpired
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_mnist_ddp_example(tmp_path):
    data = Path(os.environ.get("PYNN_DATA_DIR") or Path(__file__).parents[3] / "shared" / "data")
    if not (data / "mnist").is_dir():
        pytest.skip(f"no MNIST files under {data}")
    example = Path(__file__).parents[2] / "examples" / "mnist_ddp.py"
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(example), "--epochs", "1", "--train-size",
         "400", "--test-size", "200", "--threads", "1", "--data-dir", str(data)],
        check=False, capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mnist_ddp: 2 process(es), test accuracy" in proc.stdout
    assert proc.stdout.count("test accuracy") == 1  # the summary, rank 0 only
    epochs = [ln for ln in proc.stderr.splitlines() if ln.startswith("Epoch 1/1")]
    assert len(epochs) == 1 and "val_acc" in epochs[0], proc.stderr  # fit's line, rank 0


THREADS = ("import os, pynn, pynn.distributed as dist; dist.init_process_group('mpi'); "
           "print(f'<{dist.get_rank()}:{pynn.get_num_threads()}:"
           "{len(os.sched_getaffinity(0))}>', flush=True)")


@pytest.mark.parametrize("omp", [None, "3"])
def test_ranks_on_one_machine_share_its_cores(omp):
    env = {k: v for k, v in ENV.items() if k != "OMP_NUM_THREADS"}
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-c", THREADS], check=False,
                          capture_output=True, text=True, timeout=120, env=env, cwd="/")
    assert proc.returncode == 0, proc.stderr
    found = sorted(re.findall(r"<(\d+):(\d+):(\d+)>", proc.stdout))  # ranks' lines may mix
    assert [rank for rank, _, _ in found] == ["0", "1"], proc.stdout
    for _, threads, cores in found:
        assert int(threads) == (int(omp) if omp else max(1, int(cores) // 2))
