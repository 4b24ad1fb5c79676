"""pynn.utils: :mod:`pynn.utils.data` (datasets, samplers, the DataLoader), as ``torch.utils``."""

from . import data

__all__ = ["data"]
