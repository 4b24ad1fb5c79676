"""``pynn.accelerator``: there is none (pynn runs on the CPU)."""

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available():
    """False: no accelerator."""
    return False


def current_accelerator(check_available=False):
    """None: no accelerator."""
    return


def device_count():
    """0."""
    return 0
