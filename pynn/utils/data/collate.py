"""Collation: turning a list of samples into a batch, as ``torch.utils.data`` does.

:func:`default_collate` stacks along a new first axis, recursively through containers:
Tensors and ndarrays are stacked into a Tensor (same dtype), NumPy scalars become a 1-D
Tensor of their dtype, Python ints an int64 Tensor, floats a float64 Tensor, bools a bool
Tensor; strings (and bytes) are returned as they are, dicts collate value by value,
namedtuples field by field (same type), other sequences position by position (a list).
"""

import collections.abc

import numpy as np

from ...tensor import Tensor, _wrap

__all__ = ["default_collate", "default_convert"]

_NUMERIC_KINDS = "biufc"


def _error(kind):
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {kind}")


def _stack(arrays):
    if not arrays:
        raise _error("an empty batch")
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {first} "
                               f"at entry 0 and {a.shape} at entry {i}")
    return _wrap(np.stack(arrays), None)


def default_collate(batch):
    """Collate a list of samples into a batch.

    Parameters
    ----------
    batch : list
        The samples, all of the same structure.

    Returns
    -------
    Tensor, or a container of the samples' structure holding Tensors (and strings)
        Each Tensor has the batch as its first dimension, shape ``(len(batch), ...)``.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t._data for t in batch])
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in _NUMERIC_KINDS:
            raise _error(f"a numpy array of dtype {elem.dtype}")
        return _stack([np.asarray(a) for a in batch])
    if isinstance(elem, np.generic):
        if elem.dtype.kind not in _NUMERIC_KINDS:
            raise _error(f"a numpy scalar of dtype {elem.dtype}")
        return _wrap(np.array(batch, dtype=elem.dtype), None)
    if isinstance(elem, bool):
        return _wrap(np.array(batch, dtype=np.bool_), None)
    if isinstance(elem, int):
        return _wrap(np.array(batch, dtype=np.int64), None)
    if isinstance(elem, float):
        return _wrap(np.array(batch, dtype=np.float64), None)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(field) for field in zip(*batch)]
    raise _error(type(elem).__name__)


def default_convert(data):
    """Convert one sample to Tensors without batching.

    Convert one sample without batching (the loader with ``batch_size=None``): numeric
    ndarrays and NumPy scalars become Tensors, recursively through containers; everything else
    is returned as it is.

    Parameters
    ----------
    data : object

    Returns
    -------
    object
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in _NUMERIC_KINDS:
            return _wrap(np.asarray(data), None)
        return data
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, collections.abc.Sequence):
        return [default_convert(v) for v in data]
    return data
