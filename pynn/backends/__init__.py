"""``pynn.backends``: PyTorch's backend switches, for scripts that set or query them.

``cudnn`` and ``cuda`` flags are settable and change nothing (pynn runs on the CPU);
``mps.is_available()`` is False. pynn's own kernel backends are :mod:`pynn.backend`.
"""

from . import cuda, cudnn, mps, openmp

__all__ = ["cuda", "cudnn", "mps", "openmp"]
