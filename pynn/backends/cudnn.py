"""``pynn.backends.cudnn``: settable flags with no effect (no cuDNN on the CPU)."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: pynn does not use cuDNN."""
    return False


def version():
    """None: no cuDNN."""
    return
