"""pynn asks glibc to keep freed memory: arrays of a training step's sizes, allocated and
freed again and again, must not fault in fresh pages each time."""

import os
import platform
import subprocess
import sys

import pytest

CHURN = """
import resource
import numpy as np
import pynn
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    a = np.ones(2_000_000, np.float32); del a
before = faults()
for _ in range(50):
    a = np.ones(2_000_000, np.float32)  # 8 MB, every page written
    b = a * 2
    del a, b
print(faults() - before)
"""


def _page_faults(**env):
    out = subprocess.run([sys.executable, "-c", CHURN], check=True, capture_output=True,
                         text=True, timeout=120, env={**os.environ, **env},
                         cwd=os.path.dirname(os.path.dirname(os.__file__)))
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the allocator options are glibc's")
def test_freed_arrays_are_reused_without_new_page_faults():
    # The fewest of three runs: the kernel may migrate a process's pages while it runs (memory
    # compaction on a busy host), and touching a migrated page is a minor fault too, one
    # that no allocator setting prevents; a lost setting faults in every run.
    kept = min(_page_faults() for _ in range(3))
    returned = _page_faults(PYNN_KEEP_FREED_MEMORY="0")
    assert kept * 10 < returned, (kept, returned)


def test_the_user_s_allocator_settings_win():
    from pynn.backend import _runtime

    env = dict(os.environ)
    try:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "131072"
        assert _runtime._keep_freed_memory() is False
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
        os.environ["PYNN_KEEP_FREED_MEMORY"] = "0"
        assert _runtime._keep_freed_memory() is False
    finally:
        os.environ.clear()
        os.environ.update(env)
