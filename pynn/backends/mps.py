"""``pynn.backends.mps``: Apple's Metal backend is not available."""


def is_available():
    """False."""
    return False


def is_built():
    """False."""
    return False
