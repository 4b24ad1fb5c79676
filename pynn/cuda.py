"""``pynn.cuda``: what a script asks about CUDA, answered for a CPU-only library.

``is_available()`` is False and ``device_count()`` 0, so the usual
``device = "cuda" if pynn.cuda.is_available() else "cpu"`` picks the CPU; seeding and
synchronising are no-ops; anything that would put a tensor on a GPU raises the CPU-only error.
"""

from . import amp  # pynn.cuda.amp: the same no-op autocast and GradScaler as pynn.amp
from ._device import check_device

__all__ = [
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
]


def is_available():
    """False: pynn has no GPU support.

    Returns
    -------
    bool
    """
    return False


def device_count():
    """0: no CUDA devices.

    Returns
    -------
    int
    """
    return 0


def is_initialized():
    """False.

    Returns
    -------
    bool
    """
    return False


def manual_seed(seed):
    """No-op (there is no CUDA generator); ``pynn.manual_seed`` seeds pynn's only one.

    Parameters
    ----------
    seed : int
        Ignored.
    """


def manual_seed_all(seed):
    """No-op, as :func:`manual_seed`.

    Parameters
    ----------
    seed : int
        Ignored.
    """


def seed():
    """No-op."""


def seed_all():
    """No-op."""


def synchronize(device=None):
    """No-op: CPU work is synchronous.

    Parameters
    ----------
    device : int, str or pynn.device, optional
        Ignored.
    """


def empty_cache():
    """No-op: there is no CUDA cache."""


def memory_allocated(device=None):
    """0.

    Parameters
    ----------
    device : int, str or pynn.device, optional
        Ignored.

    Returns
    -------
    int
    """
    return 0


max_memory_allocated = memory_reserved = memory_allocated


def reset_peak_memory_stats(device=None):
    """No-op.

    Parameters
    ----------
    device : int, str or pynn.device, optional
        Ignored.
    """


def current_device():
    """Raises the CPU-only RuntimeError."""
    check_device("cuda")


def set_device(device):
    """Raises the CPU-only RuntimeError.

    Parameters
    ----------
    device : int, str or pynn.device
        The device asked for.
    """
    check_device(device if device is not None and not isinstance(device, int) else "cuda")


def get_device_name(device=None):
    """Raises the CPU-only RuntimeError.

    Parameters
    ----------
    device : int, str or pynn.device, optional
        The device asked for.
    """
    check_device("cuda")


def _cuda_tensor_type(name):
    """``pynn.cuda.FloatTensor`` and friends: names that exist, and raise the CPU-only error
    when used to make a tensor."""

    def new(cls, *args, **kwargs):
        check_device("cuda")

    return type(name, (), {"__new__": new, "__doc__": f"``torch.cuda.{name}``: unavailable."})


FloatTensor = _cuda_tensor_type("FloatTensor")
DoubleTensor = _cuda_tensor_type("DoubleTensor")
HalfTensor = _cuda_tensor_type("HalfTensor")
LongTensor = _cuda_tensor_type("LongTensor")
IntTensor = _cuda_tensor_type("IntTensor")
ByteTensor = _cuda_tensor_type("ByteTensor")
BoolTensor = _cuda_tensor_type("BoolTensor")
