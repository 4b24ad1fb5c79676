"""Shared pieces of the optimisers whose updates are NumPy expressions (no fused kernel)."""

import numpy as np

__all__ = ["check_betas", "check_nonnegative", "gradient", "lerp_"]


def check_nonnegative(group, *names):
    """ValueError unless each hyper-parameter ``names`` of ``group`` is >= 0 (NaN fails)."""
    labels = {"eps": "epsilon"}
    for name in names:
        value = group.get(name, 0.0)
        if not value >= 0.0:
            raise ValueError(f"Invalid {labels.get(name, name)} value: {value}")


def check_betas(group):
    """ValueError unless ``group["betas"]`` is a pair of values in [0, 1)."""
    betas = group.get("betas", (0.0, 0.0))
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def gradient(p, maximize, weight_decay):
    """The gradient ndarray of ``p`` as the update uses it: negated with ``maximize``, plus the
    L2 term ``weight_decay * p`` (a new array unless neither applies)."""
    g = p._grad._data
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p._data
    return g


def lerp_(a, b, weight):
    """``a += weight * (b - a)`` in place (a running average moving towards ``b``)."""
    a += weight * (b - a)
    return a


def zeros_like(p):
    """A C-contiguous zero array of ``p``'s shape and dtype."""
    return np.zeros_like(p._data, order="C")
