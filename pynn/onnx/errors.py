"""The errors :func:`pynn.onnx.export` raises (the names of ``torch.onnx.errors``)."""

__all__ = ["OnnxExporterError", "OnnxExporterWarning", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """An ONNX export failed: the model, its inputs or the options cannot be exported."""


class UnsupportedOperatorError(OnnxExporterError):
    """The model ran an operation that has no ONNX translation; the message names it."""


class OnnxExporterWarning(UserWarning):
    """The exported file may not follow its inputs everywhere.

    A value computed outside the autograd graph became a constant, or the ops that ran
    depend on input values."""
