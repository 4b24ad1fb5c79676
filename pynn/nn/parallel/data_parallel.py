"""``DataParallel``: PyTorch's single-process wrapper that splits a batch between GPUs. pynn
has no GPUs, so it runs the module as is, as PyTorch's does on a machine without them."""

from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Run ``module`` on the whole batch (``torch.nn.DataParallel`` without GPUs).

    Scripts wrap a model in it unconditionally; it changes nothing but the ``state_dict``
    keys, which get the ``module.`` prefix as in PyTorch. To use several CPU cores, pynn's
    kernels already run on threads (:func:`pynn.set_num_threads`); to use several processes
    or machines, see ``pynn.nn.parallel.DistributedDataParallel``.

    Parameters
    ----------
    module : Module
    device_ids, output_device : optional
        Ignored, as PyTorch ignores them when no GPU is available.
    dim : int
        The batch dimension (unused).

    Attributes
    ----------
    module : Module
        The wrapped model.

    Shape
    -----
    - Input: what ``module`` takes.
    - Output: what ``module`` returns.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel expects a Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        """``module(*inputs, **kwargs)``."""
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """``module(*inputs, **module_kwargs)`` (``torch.nn.parallel.data_parallel`` without GPUs).

    Parameters
    ----------
    module : Module
    inputs : Tensor or tuple of Tensor, of the module's input shapes
    device_ids, output_device : optional
        Accepted for compatibility; None or CPU.
    dim : int
        Accepted for compatibility.
    module_kwargs : dict, optional
        Keyword arguments of the call.

    Returns
    -------
    The module's output.
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
