"""ruff over the whole repository, with the rules of pyproject.toml's [tool.ruff]."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff():
    """The ruff command: the module of the installed package, else an executable on PATH."""
    try:
        import ruff  # noqa: F401  (the wheel ships the binary next to this module)
    except ImportError:
        exe = shutil.which("ruff")
        if exe is None:
            pytest.skip("ruff is not installed (pip install 'pynn[test]')")
        return [exe]
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_is_clean():
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    run = subprocess.run(_ruff() + ["check", "--no-cache", "--output-format", "concise", "."],
                         cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    if run.returncode != 0:
        pytest.fail(f"ruff check found problems:\n{run.stdout}{run.stderr}", pytrace=False)
