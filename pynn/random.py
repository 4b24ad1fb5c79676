"""pynn's randomness: :class:`Generator` objects over NumPy's, and the global one.

Dropout masks, weight initialisation, data shuffling and the random factories all draw from
:func:`get_generator` (the global generator's NumPy ``Generator``) unless given a
``generator=``, so :func:`manual_seed` makes a whole run reproducible::

    pynn.manual_seed(0)
"""

import json

import numpy as np

__all__ = [
    "Generator",
    "as_generator",
    "default_generator",
    "fork_rng",
    "get_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]


def _fresh_seed():
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


class Generator:
    """A random number generator (``torch.Generator``), for the ``generator=`` arguments.

    Parameters
    ----------
    device : str or device, optional
        Only the CPU.

    Attributes
    ----------
    device : device
    """

    def __init__(self, device="cpu"):
        from ._device import CPU, check_device

        check_device(device)
        self.device = CPU
        self.manual_seed(_fresh_seed())

    def manual_seed(self, seed):
        """Re-seed; returns self."""
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.default_rng(seed & 0xFFFF_FFFF_FFFF_FFFF)
        return self

    def seed(self):
        """Re-seed from the OS; returns the new seed."""
        s = _fresh_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed last set."""
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 Tensor (for :meth:`set_state`)."""
        from .tensor import _wrap

        raw = json.dumps([self._seed, self._rng.bit_generator.state]).encode()
        return _wrap(np.frombuffer(raw, np.uint8).copy(), None)

    def set_state(self, state):
        """Restore a state from :meth:`get_state`; returns self."""
        raw = np.asarray(getattr(state, "_data", state), np.uint8).tobytes()
        seed, bit_state = json.loads(raw.decode())
        self._seed = seed
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = bit_state
        return self

    def __repr__(self):
        return f"<pynn.Generator object, seed {self._seed}>"


#: The global generator (``torch.default_generator``): :func:`manual_seed` seeds it.
default_generator = Generator()


def manual_seed(seed):
    """Re-seed pynn's global generator (``torch.manual_seed``).

    Parameters
    ----------
    seed : int

    Returns
    -------
    Generator
        The global generator.
    """
    return default_generator.manual_seed(seed)


def seed():
    """Re-seed the global generator from the OS (``torch.seed``); returns the seed.

    Returns
    -------
    int
        The new seed.
    """
    return default_generator.seed()


def initial_seed():
    """The global generator's seed (``torch.initial_seed``).

    Returns
    -------
    int
    """
    return default_generator.initial_seed()


def get_rng_state():
    """The global generator's state, a uint8 Tensor (``torch.get_rng_state``).

    Returns
    -------
    Tensor of uint8, 1-D
    """
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the global generator from :func:`get_rng_state` (``torch.set_rng_state``).

    Parameters
    ----------
    new_state : Tensor of uint8, shape as get_rng_state returns
    """
    default_generator.set_state(new_state)


class fork_rng:
    """Restore the global generator's state on exit (``torch.random.fork_rng``).

    Random draws inside the block do not change what comes after it.

    Parameters
    ----------
    devices : ignored (there are no CUDA generators)
    enabled : bool
        False makes the block a no-op.
    device_type : str
        Accepted for PyTorch's signature.
    """

    def __init__(self, devices=None, enabled=True, device_type="cuda"):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self._state = default_generator.get_state()

    def __exit__(self, *exc):
        if self.enabled:
            default_generator.set_state(self._state)
        return False


def get_generator():
    """The global generator's NumPy ``Generator``.

    Look it up at each use: :func:`manual_seed` replaces it.

    Returns
    -------
    numpy.random.Generator
    """
    return default_generator._rng


def as_generator(rng):
    """The NumPy ``Generator`` an ``rng``/``generator`` argument asks for.

    ``None`` -> ``None`` (draw from :func:`get_generator` at use time); an int or
    ``SeedSequence`` -> a NumPy ``Generator`` of its own; a NumPy ``Generator`` is used as is;
    a :class:`Generator` gives its NumPy one.

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence, numpy.random.Generator or Generator

    Returns
    -------
    numpy.random.Generator or None
    """
    if rng is None:
        return None
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, Generator):
        return rng._rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(
        rng, (int, np.integer, np.random.SeedSequence)
    ):
        raise TypeError(f"rng must be None, an int seed, a pynn.Generator or a numpy Generator, "
                        f"got {rng!r}")
    return np.random.default_rng(rng)


def draw(generator):
    """The NumPy generator to draw from now: ``generator``'s (a :class:`Generator` or a NumPy
    one), else the global one."""
    if generator is None:
        return default_generator._rng
    return as_generator(generator)
