"""``pynn.accelerator``: there is none (pynn runs on the CPU)."""

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available():
    """False: no accelerator.

    Returns
    -------
    bool
    """
    return False


def current_accelerator(check_available=False):
    """None: no accelerator.

    Parameters
    ----------
    check_available : bool
        Accepted for PyTorch's signature (there is nothing to check).

    Returns
    -------
    None
    """
    return


def device_count():
    """0.

    Returns
    -------
    int
    """
    return 0
