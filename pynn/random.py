"""pynn's one source of randomness: a module-level :class:`numpy.random.Generator`.

Dropout masks, weight initialisation and data shuffling all draw from
:func:`get_generator`, so :func:`manual_seed` makes a whole run reproducible::

    pynn.manual_seed(0)
"""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Re-seed pynn's global generator (``torch.manual_seed``).

    Parameters
    ----------
    seed : int or None
        Passed to ``numpy.random.default_rng`` (None seeds from the OS).

    Returns
    -------
    numpy.random.Generator
        The new global generator.
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_generator():
    """The global :class:`numpy.random.Generator` (look it up at each use: ``manual_seed``
    replaces it)."""
    return _generator


def as_generator(rng):
    """``None`` -> ``None`` (draw from :func:`get_generator` at use time); an int or
    ``SeedSequence`` -> a ``Generator`` of its own; a ``Generator`` is used as is."""
    if rng is None:
        return None
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(
        rng, (int, np.integer, np.random.SeedSequence)
    ):
        raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {rng!r}")
    return np.random.default_rng(rng)
