"""pynn.train.fit under DistributedDataParallel, across real processes (``mpiexec`` as a
subprocess with a timeout, as in test_ddp.py): the run equals one process trained on the
concatenated batches, only rank 0 prints, checkpoints resume, and the ranks agree on
stopping."""

import os
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

WORKER = str(Path(__file__).with_name("_fit_worker.py"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
for _name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "RANK", "WORLD_SIZE", "CI"):
    ENV.pop(_name, None)  # the test process is not itself a rank
EPOCHS = 3


def run(n, out, mode, timeout=180):
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, WORKER, str(out), mode],
                          check=False, capture_output=True, text=True, timeout=timeout,
                          env=ENV)


def weights_and_history(path):
    got = np.load(path)
    return ({k: got[k] for k in got if not k.startswith("h_")},
            {k[2:]: got[k] for k in got if k.startswith("h_")})


@pytest.mark.parametrize("mode,n", [("arrays", 2), ("loader", 2), ("arrays", 3)],
                         ids=["arrays-2", "loader-2", "arrays-3"])
def test_fit_under_ddp_equals_one_process_on_the_concatenated_batches(tmp_path, mode, n):
    proc = run(n, tmp_path, mode)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    subprocess.run([sys.executable, WORKER, str(tmp_path), mode, "--reference", "--world",
                    str(n)], check=True, timeout=120, env=ENV, capture_output=True)
    ref_w, ref_h = weights_and_history(tmp_path / "reference.npz")
    ranks = [weights_and_history(tmp_path / f"rank{r}.npz") for r in range(n)]
    for k, value in ref_w.items():
        for r in range(n):
            np.testing.assert_array_equal(ranks[r][0][k], ranks[0][0][k], err_msg=k)
        np.testing.assert_allclose(ranks[0][0][k], value, rtol=1e-6, atol=1e-9, err_msg=k)
    # the metrics are reduced over the ranks: those of every sample, the same on every rank
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        for r in range(n):
            np.testing.assert_array_equal(ranks[r][1][key], ranks[0][1][key], err_msg=key)
        np.testing.assert_allclose(ranks[0][1][key], ref_h[key], rtol=1e-9, err_msg=key)
    assert 0 < ranks[0][1]["val_accuracy"][-1] <= 1
    # progress=False: one line per epoch, from rank 0 only
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("Epoch ")]
    assert [ln.split(" - ")[0] for ln in lines] == [f"Epoch {e}/{EPOCHS}"
                                                   for e in range(1, EPOCHS + 1)], proc.stderr
    assert proc.stdout == ""
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert len(rows) == 1 + EPOCHS and rows[0].startswith("epoch,loss,accuracy,val_loss")
    assert [float(r.split(",")[1]) for r in rows[1:]] == list(ranks[0][1]["loss"])


def test_fit_under_ddp_resumes_from_rank_0s_checkpoint(tmp_path):
    proc = run(2, tmp_path, "resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["best.npz", "last.npz"]
    for r in range(2):
        full_w, full_h = weights_and_history(tmp_path / f"full{r}.npz")
        res_w, res_h = weights_and_history(tmp_path / f"resumed{r}.npz")
        for k in full_w:  # dropout: each rank's generators were restored as they were
            np.testing.assert_array_equal(res_w[k], full_w[k], err_msg=f"rank {r} {k}")
        for k in ("loss", "val_accuracy", "lr"):
            np.testing.assert_array_equal(res_h[k], full_h[k], err_msg=k)
    import pynn

    state = pynn.load(tmp_path / "ckpt" / "last.npz")
    assert state["epoch"] == 3 and len(state["rng_ranks"]) == 2
    assert all(k.startswith("module.") for k in state["model"])


def test_a_nan_on_one_rank_stops_every_rank_at_that_step(tmp_path):
    proc = run(2, tmp_path, "nan", timeout=120)  # a rank left behind would hang
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for r in range(2):
        _, history = weights_and_history(tmp_path / f"rank{r}.npz")
        assert len(history["loss"]) == 1 and np.isnan(history["loss"][0])


def test_uneven_batches_are_refused_on_every_rank(tmp_path):
    proc = run(2, tmp_path, "uneven", timeout=120)
    assert proc.returncode != 0
    assert "different numbers of batches per epoch (from 3 to 4" in proc.stdout + proc.stderr


def test_an_unsharded_loader_warns(tmp_path):
    proc = run(2, tmp_path, "unsharded", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "train_loader has no DistributedSampler" in proc.stderr
