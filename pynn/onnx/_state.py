"""Whether an export is running (:func:`pynn.onnx.is_in_onnx_export`), in a module of its
own so that ``import pynn`` loads nothing else of the exporter."""

import contextlib

__all__ = ["exporting", "is_exporting"]

_flag = {"exporting": False}


def is_exporting():
    """True while an export runs the model."""
    return _flag["exporting"]


@contextlib.contextmanager
def exporting():
    """Mark the block as running inside an export."""
    prev = _flag["exporting"]
    _flag["exporting"] = True
    try:
        yield
    finally:
        _flag["exporting"] = prev
