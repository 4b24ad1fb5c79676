"""The random generators the data pipeline accepts, reduced to NumPy ``Generator`` s."""

import numpy as np

from ... import random as _random

_INNER = ("_rng", "_generator", "generator", "rng")


def keep(generator):
    """What a sampler or loader stores for ``generator``: an int seed becomes a NumPy
    ``Generator`` of its own (created once, so epochs differ); None, a NumPy ``Generator`` and
    generator objects (``pynn.Generator``) are kept as they are, and looked into at each draw
    (re-seeding one later takes effect)."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if any(isinstance(getattr(generator, a, None), np.random.Generator) for a in _INNER):
        return generator
    return _random.as_generator(generator)


def numpy_generator(generator):
    """The NumPy ``Generator`` behind ``generator`` (see :func:`keep`), None for None."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    for attr in _INNER:
        inner = getattr(generator, attr, None)
        if isinstance(inner, np.random.Generator):
            return inner
    return _random.as_generator(generator)


def draw_generator(generator):
    """The NumPy generator to draw from now: ``generator``'s, else pynn's global one."""
    rng = numpy_generator(generator)
    return rng if rng is not None else _random.get_generator()
