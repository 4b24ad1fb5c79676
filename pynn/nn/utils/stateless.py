"""``torch.nn.utils.stateless``: the older name of :func:`pynn.func.functional_call`."""

import warnings

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Run ``module`` with the given parameters and buffers in place of its own.

    Deprecated in PyTorch 2.0 in favour of :func:`pynn.func.functional_call`, which this
    calls after a ``FutureWarning``.

    Parameters
    ----------
    module : Module
        The module to call.
    parameters_and_buffers : dict of str to Tensor
        ``{dotted name: Tensor}``; names not given keep the module's own.
    args : any or tuple, optional
        The positional arguments of the call (a value that is not a tuple is the only one).
    kwargs : dict, optional
        The keyword arguments of the call.
    tie_weights : bool
        Replace a tied Tensor under all its names when one is given.
    strict : bool
        The dict must name every parameter and buffer and nothing else.

    Returns
    -------
    any
        What ``module(*args, **kwargs)`` returns.
    """
    from ...func import functional_call as call

    warnings.warn("This API is deprecated as of PyTorch 2.0 and will be removed in a future "
                  "version of PyTorch. Please use torch.func.functional_call instead.",
                  FutureWarning, stacklevel=2)
    return call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                strict=strict)
