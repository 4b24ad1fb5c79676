"""Datasets, samplers and the DataLoader, with batch transforms and the MNIST loader.

pynn.data: ``pynn.utils.data`` (datasets, samplers, the DataLoader) together with
batch transforms and the MNIST loader.

Batches come out of the :class:`DataLoader` as Tensors; datasets may return Tensors,
ndarrays or numbers.
"""

from ..utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from . import transforms
from .mnist import MNIST, download_mnist, load_mnist, read_idx

__all__ = [
    "MNIST",
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "download_mnist",
    "get_worker_info",
    "load_mnist",
    "random_split",
    "read_idx",
    "transforms",
]
