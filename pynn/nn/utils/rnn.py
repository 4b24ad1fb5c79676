"""Variable-length sequences for recurrent layers, as ``torch.nn.utils.rnn``.

Variable-length sequences: ``pad_sequence`` and ``PackedSequence`` with
``pack_padded_sequence`` / ``pad_packed_sequence`` / ``pack_sequence``, as
``torch.nn.utils.rnn``.

pynn's recurrent layers take padded batches; a :class:`PackedSequence` here is the data
layout PyTorch uses (time-major, the batch shrinking as sequences end), for code that builds
or unpacks one.
"""

from collections import namedtuple

import numpy as np

from ...tensor import Tensor, _wrap, cat, stack

__all__ = [
    "PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence",
    "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence",
]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Sequences of different lengths packed time step by time step.

    Made by :func:`pack_padded_sequence` and :func:`pack_sequence` rather than by hand; the
    arguments become the attributes below.

    Parameters
    ----------
    data : Tensor of shape (sum of lengths, *)
    batch_sizes : int64 Tensor of shape (max length,), optional
    sorted_indices, unsorted_indices : int64 Tensor of shape (B,), optional

    Attributes
    ----------
    data : Tensor of shape (sum of lengths, *)
        Step 0 of every sequence, then step 1 of those still running, ...
    batch_sizes : int64 Tensor of shape (max length,)
        How many sequences each step holds.
    sorted_indices, unsorted_indices : int64 Tensor of shape (B,) or None
        The order the sequences were packed in (longest first), and its inverse.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of different lengths (dim 0) into one padded tensor.

    Parameters
    ----------
    sequences : list of Tensor of shape (L_i, *)
    batch_first : bool
    padding_value : float
    padding_side : {"right", "left"}

    Returns
    -------
    Tensor of shape (max L, B, *), or (B, max L, *) with ``batch_first``
    """
    seqs = [s if isinstance(s, Tensor) else _wrap(np.asarray(s), None) for s in sequences]
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            fill = _wrap(np.full((missing,) + tuple(s.shape[1:]), padding_value,
                                  s._data.dtype), None)
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def _lengths(lengths):
    arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths).reshape(-1)
    return arr.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch of sequences (see :class:`PackedSequence`).

    Parameters
    ----------
    input : Tensor of shape (T, B, *)
        Of shape ``(B, T, *)`` instead with ``batch_first``.
    lengths : sequence or Tensor of B ints
    batch_first : bool
    enforce_sorted : bool
        Require ``lengths`` in decreasing order (else the batch is sorted and the order kept
        in ``sorted_indices``).

    Returns
    -------
    PackedSequence
    """
    x = input if isinstance(input, Tensor) else _wrap(np.asarray(input), None)
    lens = _lengths(lengths)
    if batch_first:
        x = x.transpose(0, 1)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        x = _take_batch(x, order)
        lens = lens[order]
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0")
    steps = [x[t, : int((lens > t).sum())] for t in range(int(lens.max()))]
    batch_sizes = np.array([s.shape[0] for s in steps], np.int64)
    sorted_idx = None if order is None else _wrap(order.astype(np.int64), None)
    unsorted_idx = None if order is None else _wrap(np.argsort(order).astype(np.int64), None)
    return PackedSequence(cat(steps, 0), _wrap(batch_sizes, None), sorted_idx, unsorted_idx)


def _take_batch(x, order):
    """``x[:, order]`` for a (T, B, *) tensor, through differentiable slicing."""
    return stack([x[:, int(i)] for i in order], 1)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Unpack a :class:`PackedSequence` into a padded batch and the lengths.

    Parameters
    ----------
    sequence : PackedSequence
    batch_first : bool
    padding_value : float
    total_length : int, optional
        Pad to this many steps (at least the longest length).

    Returns
    -------
    padded : Tensor of shape (T, B, *) or (B, T, *)
    lengths : int64 Tensor of shape (B,)
    """
    data, batch_sizes = sequence.data, _lengths(sequence.batch_sizes)
    steps, offset = [], 0
    for b in batch_sizes:
        steps.append(data[offset:offset + int(b)])
        offset += int(b)
    batch = int(batch_sizes[0])
    lens = np.array([(batch_sizes > i).sum() for i in range(batch)], np.int64)
    seqs = [stack([steps[t][i] for t in range(int(lens[i]))], 0) for i in range(batch)]
    padded = pad_sequence(seqs, batch_first, padding_value)
    if total_length is not None:
        if total_length < padded.shape[1 if batch_first else 0]:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence ({int(lens.max())}), got {total_length}")
        extra = total_length - padded.shape[1 if batch_first else 0]
        if extra:
            shape = list(padded.shape)
            shape[1 if batch_first else 0] = extra
            fill = _wrap(np.full(shape, padding_value, padded._data.dtype), None)
            padded = cat([padded, fill], 1 if batch_first else 0)
    if sequence.unsorted_indices is not None:
        order = _lengths(sequence.unsorted_indices)
        padded = (stack([padded[int(i)] for i in order], 0) if batch_first
                  else _take_batch(padded, order))
        lens = lens[order]
    return padded, _wrap(lens, None)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors of different lengths.

    ``pad_sequence`` then :func:`pack_padded_sequence`.

    Parameters
    ----------
    sequences : list of Tensor of shape (L_i, *)
    enforce_sorted : bool

    Returns
    -------
    PackedSequence
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into its sequences (the inverse of :func:`pad_sequence`).

    Parameters
    ----------
    padded_sequences : Tensor of shape (T, B, *) or (B, T, *)
        The padded batch (batch first with ``batch_first``).
    lengths : int64 Tensor of shape (B,), or a sequence of B ints
        The length of each sequence.
    batch_first : bool
        Whether the batch is the first dimension.

    Returns
    -------
    list of Tensor
        B Tensors of shapes ``(lengths[i], *)``, slices of the batch (in the graph).
    """
    lens = _lengths(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    if len(lens) != padded_sequences.shape[0]:
        raise ValueError(f"unpad_sequence: got {len(lens)} lengths for a batch of "
                         f"{padded_sequences.shape[0]} sequences")
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """The list of sequences a :class:`PackedSequence` holds, in their original order.

    The inverse of :func:`pack_sequence`.

    Parameters
    ----------
    packed_sequences : PackedSequence
        The packed batch.

    Returns
    -------
    list of Tensor
        One Tensor of shape ``(length_i, *)`` per sequence.
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def invert_permutation(permutation):
    """The inverse of a permutation of ``0 .. n-1`` (None gives None).

    Parameters
    ----------
    permutation : int64 Tensor of shape (n,), or None
        ``permutation[i]`` is where position ``i`` goes.

    Returns
    -------
    Tensor of shape (n,), or None
        ``out[permutation[i]] == i``.
    """
    if permutation is None:
        return None
    perm = permutation._data if isinstance(permutation, Tensor) else np.asarray(permutation)
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.shape[0], dtype=perm.dtype)
    return _wrap(out, None)
