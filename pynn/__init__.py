"""pynn: deep learning on the CPU, with C/OpenMP kernels and a NumPy reference backend."""

from .backend import get_backend, get_num_threads, set_backend, set_num_threads
from .tensor import Tensor, cat, stack, tensor
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import manual_seed
from .serialization import load, save
from . import data, functional, nn, optim, train

__version__ = "0.1.0"

__all__ = [
    "get_backend",
    "set_backend",
    "get_num_threads",
    "set_num_threads",
    "openmp_enabled",
    "Tensor",
    "tensor",
    "cat",
    "stack",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "manual_seed",
    "functional",
    "data",
    "optim",
    "nn",
    "train",
    "save",
    "load",
]


def openmp_enabled():
    """True when pynn's compiled kernels were built with OpenMP.

    False means the build fell back to serial kernels (no OpenMP compiler support, or
    ``PYNN_NO_OPENMP=1`` at build time): correct, but one thread only.

    Returns
    -------
    bool
    """
    from .backend import compiled

    return compiled.openmp_enabled()
