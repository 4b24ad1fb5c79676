"""Devices on a CPU-only library: ``pynn.device`` as PyTorch's, where "cpu" works everywhere
and any other device type raises one clear error the moment a tensor would go there."""

__all__ = ["CPU", "check_device", "device"]

_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "hpu", "mtia", "privateuseone",
          "vulkan", "opengl", "opencl", "ideep", "mkldnn", "ve", "fpga", "lazy", "maia")


class device:
    """Where a tensor lives (``torch.device``): only ``device("cpu")`` can hold pynn tensors.

    ``device("cuda")`` can be built (scripts write ``device("cuda" if cuda.is_available()
    else "cpu")``), but giving it to a factory or to ``Tensor.to`` raises a RuntimeError.

    Parameters
    ----------
    type : str or device
        ``"cpu"``, ``"cpu:0"``, ``"cuda"``, ``"cuda:1"`` ...; or an int (a CUDA ordinal).
    index : int, optional
    """

    __slots__ = ("index", "type")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(): an index cannot be given with a device")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string or an int, got {type!r}")
        name = type
        if ":" in name:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {name}")
            name, _, ordinal = name.partition(":")
            if not ordinal.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(ordinal)
        if name not in _KNOWN:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start of "
                               f"device string: {type}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = name
        self.index = index

    def __eq__(self, other):
        return isinstance(other, device) and self.type == other.type and \
            self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self):
        check_device(self)
        return self

    def __exit__(self, *exc):
        return False

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check_device(d):
    """Raise the CPU-only RuntimeError unless ``d`` (a device, str, int or None) is the CPU.

    Returns
    -------
    None
    """
    if d is None or d is CPU:
        return
    if type(d) is str and d in ("cpu", "cpu:0"):
        return
    dev = d if isinstance(d, device) else device(d)
    if dev.type != "cpu":
        raise RuntimeError(
            f"pynn runs on the CPU only: device '{dev}' is not available (use 'cpu'; "
            f"pynn.cuda.is_available() is False)"
        )
