"""``pynn.onnx``: the namespace of ``torch.onnx``, so that scripts which import it (and
export only when asked) run on pynn.

ONNX export itself is not built yet: :func:`export` raises NotImplementedError. To move a
pynn model elsewhere today, save its ``state_dict`` (``pynn.save``): pynn modules use
PyTorch's parameter names and shapes, so a PyTorch model of the same architecture loads it.
"""

__all__ = ["export", "is_in_onnx_export"]


def export(model, args, f, *unused_args, **unused_kwargs):
    """Not available yet: raises NotImplementedError (see the module docstring)."""
    raise NotImplementedError(
        "pynn.onnx.export is not implemented yet; save model.state_dict() with pynn.save "
        "and load it into the same architecture in PyTorch to export from there"
    )


def is_in_onnx_export():
    """False: pynn never runs a model inside an ONNX export."""
    return False
