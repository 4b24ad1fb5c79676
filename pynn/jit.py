"""``torch.jit``, answered for a library without TorchScript.

Scripts wrap models in ``torch.jit.script`` or ``torch.jit.trace`` for speed or export and
mark methods with ``@torch.jit.ignore`` / ``@torch.jit.export``. Here compiling is a no-op:
each gives back what it was given, so the model runs as eager pynn code. Writing or reading a
TorchScript archive (``jit.save``, ``jit.load``) raises, saying what to use instead.
"""

from typing import Final  # torch.jit.Final, used in annotations

__all__ = ["Final", "export", "freeze", "ignore", "is_scripting", "is_tracing", "load",
           "optimize_for_inference", "save", "script", "trace", "trace_module", "unused"]

_NO_TORCHSCRIPT = ("pynn has no TorchScript: save the weights with "
                   "pynn.save(model.state_dict(), path) (or export with pynn.onnx.export) instead")


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``obj`` itself: pynn runs models eagerly (``torch.jit.script``).

    Parameters
    ----------
    obj : Module or callable
    optimize, _frames_up, _rcb, example_inputs : optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Module or callable
        ``obj``.
    """
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """``func`` itself, not run (``torch.jit.trace``).

    Parameters
    ----------
    func : Module or callable
    example_inputs : Tensor or tuple of Tensor, of any shapes, optional
        Accepted for PyTorch's signature.
    *args, **kwargs : any
        PyTorch's tracing options, accepted.

    Returns
    -------
    Module or callable
        ``func``.
    """
    return func


def trace_module(mod, inputs=None, *args, **kwargs):
    """``mod`` itself (``torch.jit.trace_module``).

    Parameters
    ----------
    mod : Module
    inputs : dict, optional
        Accepted for PyTorch's signature.
    *args, **kwargs : any
        PyTorch's tracing options, accepted.

    Returns
    -------
    Module
        ``mod``.
    """
    return mod


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """``mod`` itself (``torch.jit.freeze``).

    Parameters
    ----------
    mod : Module
    preserved_attrs, optimize_numerics : optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Module
        ``mod``.
    """
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``mod`` itself (``torch.jit.optimize_for_inference``).

    Parameters
    ----------
    mod : Module
    other_methods : list, optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Module
        ``mod``.
    """
    return mod


def _decorator(fn=None, **kwargs):
    """A decorator usable bare or called (``@ignore``, ``@ignore(drop=True)``): no change."""
    if fn is None or not callable(fn):
        return lambda f: f
    return fn


def ignore(drop=False, **kwargs):
    """A decorator that leaves the function as it is (``torch.jit.ignore``).

    Parameters
    ----------
    drop : bool or callable
        The decorated function when used bare (``@jit.ignore``).
    **kwargs : dict
        Accepted for PyTorch's signature.

    Returns
    -------
    callable
    """
    return _decorator(drop)


def unused(fn):
    """``fn`` unchanged (``torch.jit.unused``).

    Parameters
    ----------
    fn : callable

    Returns
    -------
    callable
    """
    return fn


def export(fn):
    """``fn`` unchanged (``torch.jit.export``).

    Parameters
    ----------
    fn : callable

    Returns
    -------
    callable
    """
    return fn


def is_scripting():
    """False: nothing is compiled by TorchScript here.

    Returns
    -------
    bool
    """
    return False


def is_tracing():
    """False: nothing is traced here.

    Returns
    -------
    bool
    """
    return False


def save(m, f, _extra_files=None):
    """Refuses: there is no TorchScript archive to write (``torch.jit.save``).

    Parameters
    ----------
    m : Module
    f : str or file
    _extra_files : dict, optional

    Raises
    ------
    RuntimeError
        Always, naming what to save instead.
    """
    raise RuntimeError(f"jit.save: {_NO_TORCHSCRIPT}")


def load(f, map_location=None, _extra_files=None):
    """Refuses: there is no TorchScript to run (``torch.jit.load``).

    Parameters
    ----------
    f : str or file
    map_location, _extra_files : optional

    Raises
    ------
    RuntimeError
        Always, naming what to load instead.
    """
    raise RuntimeError(f"jit.load: {_NO_TORCHSCRIPT}; pynn.load reads state dicts")
