"""``DistributedSampler``: each process of a data-parallel job reads its own share of a
dataset (``torch.utils.data.distributed.DistributedSampler``)."""

import math

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of a dataset that rank ``rank`` of ``num_replicas`` reads in one epoch.

    Every rank gets the same number of indices, ``len(self)``: the epoch's order is padded
    with its first indices to a multiple of ``num_replicas`` (or, with ``drop_last``, its
    tail is dropped), and rank ``r`` takes positions ``r, r + num_replicas, ...``, as
    PyTorch's sampler does. The order is shuffled from ``seed + epoch``, the same on every
    rank, so the shares never overlap; call :meth:`set_epoch` at the start of each epoch for
    a new order. (The permutation comes from NumPy's generator, not PyTorch's: the same
    seed gives a different, equally valid, order.)

    Parameters
    ----------
    dataset : Dataset
        A map-style dataset (with ``__len__``).
    num_replicas : int, optional
        The number of processes (default: ``pynn.distributed.get_world_size()``).
    rank : int, optional
        This process's rank (default: ``pynn.distributed.get_rank()``).
    shuffle : bool
        Shuffle the order each epoch.
    seed : int
        Must be the same on every rank.
    drop_last : bool
        Drop the tail so that the length divides evenly, instead of padding.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "pynn.distributed.init_process_group() first")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _epoch_indices(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n, dtype=np.int64)
        if self.total_size > n:  # pad by repeating the order from its start
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Set the epoch, which reseeds the shuffle.

        Call it before each epoch's loop, with the same value on every rank.
        """
        self.epoch = epoch
