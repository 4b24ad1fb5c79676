"""``pynn.nn.parallel``: :class:`DistributedDataParallel`, data parallelism across processes
(see :mod:`pynn.distributed`)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
