"""The exceptions of :mod:`pynn.formats`."""

import pickle

__all__ = ["CheckpointError", "UnsafeCheckpointError"]


class CheckpointError(ValueError):
    """A file that cannot be loaded.

    Not of the expected format, truncated or corrupt, written in a format pynn does not read
    (PyTorch's legacy non-zip files, TorchScript archives), or holding a tensor type pynn has
    no equivalent for.

    A ``ValueError``, as :func:`pynn.load` raises for a damaged pynn file. The message names
    the file.
    """


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A PyTorch checkpoint whose pickle asks for a global pynn does not allow.

    The global (a class or function) is outside the allow-list of
    :func:`pynn.formats.load_torch`, or used in a way the format never does.

    Raised before any of the file's objects is used: nothing the file names is imported or
    called. Both a :class:`CheckpointError` (so a ``ValueError``) and a
    ``pickle.UnpicklingError``, the type ``torch.load(..., weights_only=True)`` raises.
    """
