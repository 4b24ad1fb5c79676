"""Padding layers: constant (zero), reflection, replication and circular, 1-D to 3-D."""

import inspect

from . import functional as F
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]


class _PadNd(Module):
    _mode = "constant"
    _n = 1

    def __init__(self, padding, value=None):
        super().__init__()
        n = 2 * self._n
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) \
            else (int(padding),) * n
        if len(self.padding) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a {n}-tuple, "
                             f"got {padding!r}")
        if value is not None:
            self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, self._mode, getattr(self, "value", None))

    def extra_repr(self):
        if self._mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _pad_class(name, mode, n, constant=None, doc=""):
    def __init__(self, padding, *args):
        if mode != "constant":
            _PadNd.__init__(self, padding)
        elif constant is not None:
            _PadNd.__init__(self, padding, constant)
        else:
            _PadNd.__init__(self, padding, *args)

    # The documented signature is PyTorch's: ``(padding, value)`` for ConstantPad, else
    # ``(padding)``.
    names = ("self", "padding") + (("value",) if mode == "constant" and constant is None else ())
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in names])
    dims = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)",
            3: "(N, C, D, H, W) or (C, D, H, W)"}[n]
    return type(name, (_PadNd,), {
        "__init__": __init__, "_mode": mode, "_n": n, "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"""{doc}

    Parameters
    ----------
    padding : int or tuple of {2 * n} ints
        ``(left, right{", top, bottom" if n >= 2 else ""}{", front, back" if n == 3 else ""})``.{'''
    value : float
        The value of the padding elements.''' if mode == "constant" and constant is None else ""}

    Shape
    -----
    - Input: {dims}.
    - Output: the padded dimensions grown by the padding.
    """,
    })


ZeroPad1d = _pad_class("ZeroPad1d", "constant", 1, 0.0, "Pad the last dimension with zeros.")
ZeroPad2d = _pad_class("ZeroPad2d", "constant", 2, 0.0, "Pad the last two dimensions with zeros.")
ConstantPad1d = _pad_class("ConstantPad1d", "constant", 1, None,
                           "Pad the last dimension with a constant.")
ConstantPad2d = _pad_class("ConstantPad2d", "constant", 2, None,
                           "Pad the last two dimensions with a constant.")
ReflectionPad1d = _pad_class("ReflectionPad1d", "reflect", 1, doc="Pad by reflecting at the edge "
                             "(the edge itself not repeated).")
ReflectionPad2d = _pad_class("ReflectionPad2d", "reflect", 2, doc="Pad by reflecting at the "
                             "edges.")
ReplicationPad1d = _pad_class("ReplicationPad1d", "replicate", 1, doc="Pad by repeating the edge "
                              "value.")
ReplicationPad2d = _pad_class("ReplicationPad2d", "replicate", 2, doc="Pad by repeating the edge "
                              "values.")
CircularPad1d = _pad_class("CircularPad1d", "circular", 1, doc="Pad by wrapping around.")
CircularPad2d = _pad_class("CircularPad2d", "circular", 2, doc="Pad by wrapping around.")
ZeroPad3d = _pad_class("ZeroPad3d", "constant", 3, 0.0,
                       "Pad the last three dimensions with zeros.")
ConstantPad3d = _pad_class("ConstantPad3d", "constant", 3, None,
                           "Pad the last three dimensions with a constant.")
ReflectionPad3d = _pad_class("ReflectionPad3d", "reflect", 3, doc="Pad by reflecting at the "
                             "faces.")
ReplicationPad3d = _pad_class("ReplicationPad3d", "replicate", 3, doc="Pad by repeating the "
                              "face values.")
CircularPad3d = _pad_class("CircularPad3d", "circular", 3, doc="Pad by wrapping around.")
