"""``pynn.backends.openmp``: whether pynn's kernels were built with OpenMP."""


def is_available():
    """True when the compiled kernels use OpenMP (``pynn.openmp_enabled()``)."""
    from ..backend import compiled

    return compiled.openmp_enabled()
