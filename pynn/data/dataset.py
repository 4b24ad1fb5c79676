"""The datasets, defined in :mod:`pynn.utils.data.dataset` (this name is kept for existing
imports)."""

from ..utils.data.dataset import (  # noqa: F401
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    _check_index,
    random_split,
)

__all__ = ["ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset",
           "random_split"]
