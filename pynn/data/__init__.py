"""pynn.data: datasets, the DataLoader, batch transforms and the MNIST loader.

Everything here works on NumPy arrays: datasets yield ndarrays, the training loop turns
batches into tensors.
"""

from . import transforms
from .dataset import Dataset, Subset, TensorDataset, random_split
from .loader import DataLoader
from .mnist import MNIST, download_mnist, load_mnist, read_idx

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "transforms",
    "MNIST",
    "load_mnist",
    "download_mnist",
    "read_idx",
]
