"""``pynn.onnx``: export a model to ONNX, as ``torch.onnx.export`` does.

:func:`export` runs the model once in eval mode and records its operations from the autograd
graph of that forward pass (no Python tracing: what ran is what is exported), translates each
into ONNX nodes (:func:`supported_operations` lists them), and writes a file that passes
``onnx.checker.check_model`` and runs in onnxruntime. Parameters and buffers become
initializers named as in ``named_parameters()`` / ``named_buffers()``.

It needs the ``onnx`` package (``pip install onnx``; ``onnxruntime`` to run the result).

Ops without a gradient (comparisons, logical ops, ``argmax``) are recorded during the export
too, so masks and predicted classes follow the inputs.

Differences from PyTorch's exporter, which traces sizes symbolically: sizes read in Python
during the forward pass (``x.size(0)``) are numbers here. Reshapes and broadcasts keep the
leading sizes that equal the input's free (``x.view(x.size(0), -1)`` works with a dynamic
batch axis), and a constant filled with one value whose shape follows a dynamic axis (an
initial state ``zeros(layers, x.size(0), hidden)``) is rebuilt from the input's shape. Other
values computed outside the autograd graph (random draws, ``.numpy()``, a size used in
arithmetic) become constants, and :func:`export` warns about them
(:class:`OnnxExporterWarning`): it traces the model a second time on other values to find
them.
"""

import enum

from . import errors
from ._state import is_exporting
from .errors import OnnxExporterError, OnnxExporterWarning, UnsupportedOperatorError

__all__ = ["OnnxExporterError", "OnnxExporterWarning", "OperatorExportTypes", "TrainingMode",
           "UnsupportedOperatorError", "errors", "export", "is_in_onnx_export",
           "supported_operations"]


class TrainingMode(enum.IntEnum):
    """PyTorch's ``training=`` values.

    pynn exports in eval mode (``EVAL``, the default, and ``PRESERVE``; ``TRAINING`` is
    refused)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.IntEnum):
    """PyTorch's ``operator_export_type=`` values; only ``ONNX`` (the default) is done."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


def export(model, args=(), f=None, *, kwargs=None, export_params=True, verbose=None,
           input_names=None, output_names=None, opset_version=None, dynamic_axes=None,
           keep_initializers_as_inputs=False, training=TrainingMode.EVAL,
           operator_export_type=OperatorExportTypes.ONNX, do_constant_folding=True,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining=True,
           dynamo=False, external_data=False, dynamic_shapes=None, **unused):
    """Export ``model`` to ONNX, with ``torch.onnx.export``'s signature.

    Parameters
    ----------
    model : Module or callable
        Run once as ``model(*args, **kwargs)``, in eval mode (the modes are restored after).
    args : Tensor or tuple, of any shapes
        The example inputs; a trailing dict is taken as keyword arguments.
    f : str, PathLike or binary file object, optional
        Where to write the model; None writes nothing (the model is returned either way).
    kwargs : dict, optional
        Keyword arguments of the call.
    export_params : bool
        False: parameters become graph inputs instead of initializers.
    input_names, output_names : list of str, optional
        Names of the graph inputs (the Tensors among ``args``, in order) and outputs
        (default ``"input"`` / ``"output"``, numbered ``input_0``... when there are several).
    opset_version : int, optional
        ONNX opset, 13 or later (default 17).
    dynamic_axes : dict, optional
        ``{name: {axis: "dim_name"}}`` or ``{name: [axis, ...]}``: axes of inputs and outputs
        whose size is free (a batch axis, typically).
    keep_initializers_as_inputs : bool
        Also list the parameters and buffers among the graph inputs.
    training : TrainingMode
        ``EVAL`` or ``PRESERVE`` (both export the eval-mode graph).
    verbose : bool, optional
        Print the graph.
    do_constant_folding, custom_opsets, export_modules_as_functions, autograd_inlining : any
        Accepted for compatibility; pynn's exporter has one behaviour.
    dynamo, external_data, dynamic_shapes, operator_export_type : any
        Likewise.
    **unused : any
        PyTorch's other options, accepted and ignored.

    Returns
    -------
    onnx.ModelProto
        The exported model (PyTorch returns None or an ONNXProgram).

    Raises
    ------
    UnsupportedOperatorError
        The model ran an operation pynn cannot export; the message names it.
    OnnxExporterError
        Bad arguments (names, dynamic axes, opset).
    """
    if unused:
        raise TypeError(f"export() got unexpected keyword arguments {sorted(unused)}")
    if training == TrainingMode.TRAINING:
        raise OnnxExporterError("onnx export: pynn exports the eval-mode graph only "
                                "(training=TrainingMode.TRAINING is not supported)")
    if operator_export_type not in (OperatorExportTypes.ONNX, None):
        raise OnnxExporterError("onnx export: only operator_export_type=ONNX is supported")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ImportError("pynn.onnx.export needs the onnx package: pip install onnx") from None
    from ._export import build_model, write  # loaded on first use: import pynn stays light

    proto = build_model(model, args, kwargs=kwargs, input_names=input_names,
                        output_names=output_names, dynamic_axes=dynamic_axes,
                        opset_version=17 if opset_version is None else int(opset_version),
                        export_params=export_params,
                        keep_initializers_as_inputs=keep_initializers_as_inputs)
    if verbose:
        from onnx import helper

        print(helper.printable_graph(proto.graph))
    if f is not None:
        write(proto, f)
    return proto


def is_in_onnx_export():
    """True while :func:`export` runs the model's forward pass.

    Returns
    -------
    bool
    """
    return is_exporting()


def supported_operations():
    """The names of the autograd node types :func:`export` translates, sorted.

    Returns
    -------
    list of str
    """
    from ._ops import OPS

    return sorted(OPS)
