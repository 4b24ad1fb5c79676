"""Data parallelism: ``DistributedDataParallel`` and ``DataParallel``.

``pynn.nn.parallel``: :class:`DistributedDataParallel`, data parallelism across processes
(see :mod:`pynn.distributed`), and :class:`~pynn.nn.DataParallel`, which pynn, without GPUs, runs as
the module itself."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
