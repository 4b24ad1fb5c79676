"""The DataLoader, defined in :mod:`pynn.utils.data.dataloader` (this name is kept for
existing imports)."""

from ..utils.data.dataloader import DataLoader

__all__ = ["DataLoader"]
