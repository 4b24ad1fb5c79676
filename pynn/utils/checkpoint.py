"""``torch.utils.checkpoint``: activation checkpointing, here a plain call.

PyTorch recomputes a segment's activations in the backward pass to save memory. pynn keeps
them (its graph holds the forward's arrays), so :func:`checkpoint` simply runs the segment:
the values and gradients are the same, the memory is that of a normal forward.
"""

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check=None,
               debug=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` (``torch.utils.checkpoint.checkpoint``).

    Parameters
    ----------
    function : callable
        The segment to run.
    *args, **kwargs : any
        Its arguments.
    use_reentrant, context_fn, determinism_check, debug, preserve_rng_state : optional
        Accepted for PyTorch's signature.

    Returns
    -------
    object
        What ``function`` returns.
    """
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` one after another on ``input``.

    ``functions`` is a Sequential or a list of modules
    (``torch.utils.checkpoint.checkpoint_sequential``).

    Parameters
    ----------
    functions : Sequential or list of callable
    segments : int
        Accepted for PyTorch's signature (the number of checkpointed chunks).
    input : Tensor of the first function's input shape
    use_reentrant : optional
        Accepted for PyTorch's signature.
    **kwargs : any
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor
        The output of the last function.
    """
    for f in (functions.children() if hasattr(functions, "children") else functions):
        input = f(input)
    return input
