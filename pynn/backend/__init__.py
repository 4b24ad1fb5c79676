"""Kernel backends: ``"compiled"`` (C/OpenMP through Cython, the default) and ``"reference"``
(pure NumPy, the oracle the compiled kernels are tested against).

The rest of pynn calls kernels through :data:`active`, a namespace whose attributes
:func:`set_backend` rebinds, so switching backends costs nothing per call::

    from pynn.backend import active as K
    y = K.gemm(a, b)
"""

import os
import types

from ._runtime import _keep_freed_memory, get_num_threads, set_num_threads

_keep_freed_memory()

__all__ = ["BACKENDS", "KERNELS", "active", "config", "get", "get_backend", "get_num_threads",
           "set_backend", "set_num_threads", "show_config"]

#: The kernel table: both backends define every name here with the same signature.
KERNELS = (
    "gemm",
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_maxpool_forward",
    "conv2d_maxpool_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "softmax_forward",
    "softmax_backward",
    "log_softmax_forward",
    "log_softmax_backward",
    "softmax_cross_entropy_forward",
    "softmax_cross_entropy_backward",
    "relu_forward",
    "relu_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "gelu_forward",
    "gelu_backward",
    "lstm_cell_forward",
    "lstm_cell_backward",
    "gru_cell_forward",
    "gru_cell_backward",
    "attention_forward",
    "attention_backward",
    "bias_grad",
    "sgd_step",
    "adam_step",
    "rmsprop_step",
)

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
