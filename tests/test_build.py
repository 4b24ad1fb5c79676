"""The build: OpenMP really compiled in, the CPU's best instruction set usable, and the
run-time switches (backend, threads, ISA) honoured."""

import os
import platform
import subprocess
import sys

import pytest

import pynn
from pynn.backend import compiled


def test_openmp_was_not_silently_lost():
    if os.environ.get("PYNN_NO_OPENMP", "0") not in ("", "0"):
        pytest.skip("serial build requested with PYNN_NO_OPENMP")
    assert pynn.openmp_enabled(), (
        "pynn was built without OpenMP on a machine whose compiler supports it: the build's "
        "OpenMP probe failed; rebuild with `pip install -v .` and read its warning"
    )


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_best_isa_of_this_cpu_is_available():
    flags = _cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo")
    isas = compiled.available_isas()
    assert "generic" in isas
    assert ("avx2" in isas) == ({"avx2", "fma"} <= flags)
    assert ("avx512" in isas) == ({"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx2",
                                          "fma"} <= flags)
    assert compiled.get_isa() == isas[-1] or "PYNN_ISA" in os.environ


def test_set_isa_rejects_what_cannot_run():
    with pytest.raises(ValueError, match="set_isa: 'sse9' is not available here"):
        compiled.set_isa("sse9")


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_set_num_threads_validates(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected an integer >= 1"):
        pynn.set_num_threads(bad)


def _in_subprocess(code, drop=(), **env):
    """Run code in a fresh interpreter that imports the same pynn as this process."""
    full_env = {k: v for k, v in os.environ.items() if k not in drop}
    full_env.update(env, PYTHONPATH=os.path.dirname(os.path.dirname(pynn.__file__)))
    # Not from the repository root: `python -c` puts the working directory first on sys.path,
    # and a source checkout's pynn/ lacks the built extensions of an installed one.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full_env, timeout=120, cwd=os.path.dirname(__file__), check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_environment_selects_backend_threads_and_isa():
    code = ("import pynn; from pynn.backend import compiled; "
            "print(pynn.get_backend(), pynn.get_num_threads(), compiled.get_isa())")
    assert _in_subprocess(code, PYNN_BACKEND="reference", OMP_NUM_THREADS="3",
                          PYNN_ISA="generic") == "reference 3 generic"


def test_default_thread_count_is_the_usable_cores():
    out = _in_subprocess("import pynn; print(pynn.get_num_threads())", drop=("OMP_NUM_THREADS",))
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert int(out) == expected
