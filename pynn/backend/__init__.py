"""Kernel backends: ``"compiled"`` (C/OpenMP through Cython, the default) and ``"reference"``
(pure NumPy, the oracle the compiled kernels are tested against).

The rest of pynn calls kernels through :data:`active`, a namespace whose attributes
:func:`set_backend` rebinds, so switching backends costs nothing per call::

    from pynn.backend import active as K
    y = K.gemm(a, b)
"""

import os
import types

from ._kernel_table import TABLE as _TABLE
from ._runtime import _keep_freed_memory, get_num_threads, set_num_threads

_keep_freed_memory()

__all__ = ["BACKENDS", "KERNELS", "active", "config", "get", "get_backend", "get_num_threads",
           "set_backend", "set_num_threads", "show_config"]

#: The kernel table's names: both backends define every one with the same signature (the rows,
#: in ``_kernel_table.py``, describe each kernel once).
KERNELS = tuple(row.name for row in _TABLE)

#: The backends' names, for :func:`set_backend` and :func:`get`.
BACKENDS = ("compiled", "reference")

#: The active backend's kernels, one attribute per name of KERNELS (``active.gemm``, ...);
#: :func:`set_backend` rebinds them.
#:
#: :meta hide-value:
active = types.SimpleNamespace()
_active_name = None


def _load(name):
    if name == "reference":
        from . import reference as module
    elif name == "compiled":
        from . import compiled as module
    else:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    return module


def set_backend(name):
    """Make ``name`` the backend all of pynn uses (rebinding :data:`~pynn.backend.active`).

    Parameters
    ----------
    name : {"compiled", "reference"}
    """
    global _active_name
    module = _load(name)
    for kernel in KERNELS:
        setattr(active, kernel, getattr(module, kernel))
    _active_name = name


def get_backend():
    """Return the name of the active backend.

    Returns
    -------
    str
        ``"compiled"`` or ``"reference"``.
    """
    return _active_name


def get(name):
    """Return the backend module ``name`` without making it active.

    Parameters
    ----------
    name : {"compiled", "reference"}

    Returns
    -------
    module
        ``pynn.backend.compiled`` or ``pynn.backend.reference``.
    """
    return _load(name)


set_backend(os.environ.get("PYNN_BACKEND", "compiled"))

from ._config import config, show_config  # noqa: E402  (reads the active backend)
