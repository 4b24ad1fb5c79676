"""``pynn.amp`` (and ``pynn.cuda.amp``): mixed precision is a no-op on pynn's CPU kernels.

``autocast`` changes nothing (every op keeps its dtype); ``GradScaler`` passes the loss and
the optimiser step through unscaled, so a script written for CUDA mixed precision runs as
plain float32 training.
"""

import functools

__all__ = ["GradScaler", "autocast"]


class autocast:
    """A context manager and decorator that changes nothing (``torch.autocast``).

    Parameters
    ----------
    device_type : str
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    enabled : bool
    cache_enabled : bool, optional
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        self.device_type = device_type
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

        return wrapper


class GradScaler:
    """A gradient scaler with scale 1 (``torch.amp.GradScaler``).

    ``scale(loss)`` is the loss, ``step(optimizer)`` is ``optimizer.step()``.

    Parameters
    ----------
    device : str
        Accepted for PyTorch's signature.
    init_scale, growth_factor, backoff_factor : float
        Accepted for PyTorch's signature (the scale stays 1).
    growth_interval : int
        Accepted for PyTorch's signature.
    enabled : bool
        Accepted for PyTorch's signature.
    """

    def __init__(self, device="cpu", init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._enabled = enabled

    def scale(self, outputs):
        """``outputs`` unchanged."""
        return outputs

    def unscale_(self, optimizer):
        """No-op: the gradients were never scaled."""

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)``."""
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """No-op."""

    def get_scale(self):
        """1.0."""
        return 1.0

    def is_enabled(self):
        """Whether the scaler was created enabled (it scales nothing either way)."""
        return self._enabled

    def state_dict(self):
        """An empty state."""
        return {}

    def load_state_dict(self, state_dict):
        """No-op."""
