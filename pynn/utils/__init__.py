"""pynn.utils, as ``torch.utils``: :mod:`~pynn.utils.data` and :mod:`~pynn.utils.checkpoint`.

:mod:`pynn.utils.data` has the datasets, samplers and the DataLoader.
"""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
