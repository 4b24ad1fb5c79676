"""Tensor factories of the torch namespace: ``zeros``, ``ones``, ``arange``, ``rand``, ... and
their ``*_like`` forms, with PyTorch's arguments (sizes as varargs or one sequence,
``dtype=``, ``device=``, ``requires_grad=``, ``generator=``). Floating-point results have the
default dtype (:func:`pynn.get_default_dtype`) unless ``dtype`` says otherwise; random ones
draw from pynn's global generator (:func:`pynn.manual_seed`) or the given one.
"""

import math
import numbers
import operator

import numpy as np

from . import _dtype
from ._device import check_device
from .random import draw
from .tensor import Tensor, _as_array, _check_grad_dtype, _wrap, tensor

__all__ = [
    "arange",
    "as_tensor",
    "asarray",
    "bernoulli",
    "empty",
    "empty_like",
    "empty_strided",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "multinomial",
    "normal",
    "ones",
    "ones_like",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "range",
    "scalar_tensor",
    "sparse_coo_tensor",
    "tril_indices",
    "triu_indices",
    "zeros",
    "zeros_like",
]

def size_arg(size, op="size"):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all give ``(2, 3)``."""
    if len(size) == 1 and not isinstance(size[0], numbers.Integral) and \
            not (hasattr(size[0], "_data") and size[0]._data.ndim == 0):
        size = size[0]
    try:
        out = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}(): size must be a sequence of ints, got {size!r}") from None
    if any(s < 0 for s in out):
        raise RuntimeError(f"{op}(): negative dimension in size {list(out)}")
    return out


def _sizes(size_args, size, op):
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if size is not None:
        if size_args:
            raise TypeError(f"{op}(): size given both positionally and as a keyword")
        size_args = (size,)
    return size_arg(size_args, op)


def _float_dtype(dtype):
    return _dtype.get_default_dtype().dtype if dtype is None else _dtype.np_dtype(dtype)


def _make(arr, device, requires_grad):
    """The leaf tensor over ``arr`` after the device check and ``requires_grad``."""
    if device is not None:
        check_device(device)
    t = _wrap(arr, None)
    if requires_grad:
        _check_grad_dtype(arr)
        t.requires_grad = True
    return t


def zeros(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """A tensor of zeros (``torch.zeros``).

    Parameters
    ----------
    *size_args : ints, or one sequence of ints
        The shape (or ``size=`` as a keyword).
    size : sequence of int, optional
        The shape, instead of ``size_args``.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : dtype, optional
        Default: the default float dtype.
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or device, optional
        Only the CPU.
    requires_grad : bool
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape ``size``
    """
    return _out(_make(np.zeros(_sizes(size_args, size, "zeros"), _float_dtype(dtype)), device,
                      requires_grad), out)


def ones(*size_args, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """A tensor of ones (``torch.ones``); arguments as :func:`zeros`.

    Parameters
    ----------
    *size_args : int
        The sizes of the dimensions (or one sequence of them).
    size : sequence of int, optional
        The shape, instead of ``size_args``.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor
    """
    return _out(_make(np.ones(_sizes(size_args, size, "ones"), _float_dtype(dtype)), device,
                      requires_grad), out)


def empty(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False,
          pin_memory=False, memory_format=None):
    """An uninitialised tensor (``torch.empty``); arguments as :func:`zeros`.

    Parameters
    ----------
    *size_args : int
        The sizes of the dimensions (or one sequence of them).
    size : sequence of int, optional
        The shape, instead of ``size_args``.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return _out(_make(np.empty(_sizes(size_args, size, "empty"), _float_dtype(dtype)), device,
                      requires_grad), out)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor of ``size`` (``torch.empty_strided``).

    The strides are ignored: pynn tensors are NumPy arrays laid out by NumPy.

    Parameters
    ----------
    size : sequence of int
        The shape.
    stride : sequence of int
        Ignored: pynn tensors are laid out by NumPy.
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor
    """
    return empty(size, dtype=dtype, device=device, requires_grad=requires_grad)


def _fill_dtype(value, dtype):
    if dtype is not None:
        return _dtype.np_dtype(dtype)
    return _dtype.result_np_dtype(value)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """A tensor filled with ``fill_value`` (``torch.full``).

    Parameters
    ----------
    size : sequence of int
    fill_value : number
        Its type sets the dtype when ``dtype`` is None: bool, int64 or the default float.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape ``size``
    """
    fill_value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    arr = np.full(size_arg((size,), "full"), fill_value, _fill_dtype(fill_value, dtype))
    return _out(_make(arr, device, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    """The identity matrix, ``n`` by ``m`` (default ``n``) (``torch.eye``).

    Parameters
    ----------
    n : int
        The number of rows.
    m : int, optional
        The number of columns (default ``n``).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape (n, m)
    """
    return _out(_make(np.eye(n, m, dtype=_float_dtype(dtype)), device, requires_grad), out)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` by ``step`` (``torch.arange``).

    ``arange(end)`` starts at 0. The dtype is int64 when all three are integers, else the
    default float dtype.

    Parameters
    ----------
    start : number
        The first value (or, alone, the end with start 0).
    end : number, optional
        The end (excluded by arange, included by range).
    step : number
        The spacing between values.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (ceil((end - start) / step),)
    """
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and larger bound inconsistent with step "
                           f"sign (start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = _dtype.result_np_dtype(start, end, step)
        if dtype.kind == "b":
            dtype = np.dtype(np.int64)
    else:
        dtype = _dtype.np_dtype(dtype)
    n = max(math.ceil((end - start) / step), 0)
    # computed in float64 (or int64) and cast, so float32 steps do not drift
    arr = (start + np.arange(n, dtype=np.float64 if dtype.kind in "fc" else np.int64) * step)
    return _out(_make(arr.astype(dtype, copy=False), device, requires_grad), out)


def range(start=0, end=None, step=1, *, out=None, dtype=None, device=None, requires_grad=False):
    """``start, start + step, ..., end`` inclusive (the deprecated ``torch.range``).

    The result has the default float dtype unless ``dtype`` is given.

    Parameters
    ----------
    start : number
        The first value (or, alone, the end with start 0).
    end : number, optional
        The end (excluded by arange, included by range).
    step : number
        The spacing between values.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor
    """
    if end is None:
        start, end = 0, start
    n = math.floor((end - start) / step) + 1
    arr = start + np.arange(n, dtype=np.float64) * step
    return _out(_make(arr.astype(_float_dtype(dtype)), device, requires_grad), out)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (``torch.linspace``).

    Parameters
    ----------
    start : number
        The first value (the first exponent for logspace).
    end : number
        The last value, included (the last exponent for logspace).
    steps : int
        How many values.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (steps,)
    """
    arr = np.linspace(_num(start), _num(end), steps, dtype=np.float64)
    return _out(_make(arr.astype(_float_dtype(dtype)), device, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``base ** linspace(start, end, steps)`` (``torch.logspace``).

    Parameters
    ----------
    start : number
        The first value (the first exponent for logspace).
    end : number
        The last value, included (the last exponent for logspace).
    steps : int
        How many values.
    base : float
        The base of the powers.
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape (steps,)
    """
    arr = np.logspace(_num(start), _num(end), steps, base=base, dtype=np.float64)
    return _out(_make(arr.astype(_float_dtype(dtype)), device, requires_grad), out)


def _out(t, out):
    """Write ``t`` into the tensor ``out`` (resized to fit) when given, as ``out=`` does."""
    if out is None:
        return t
    if out._data.shape != t._data.shape:
        out._data = np.empty(t._data.shape, out._data.dtype)
    out._data[...] = t._data
    out._version += 1
    return out


# ---------------------------------------------------------------------------------------------
# Random


def _float_draw(dtype):
    """The dtype to draw in (NumPy draws float32/float64 only) and the one to return."""
    want = _float_dtype(dtype)
    if want.kind != "f":
        raise TypeError(f"expected a floating-point dtype, got {want}")
    return (want if want in (np.float32, np.float64) else np.dtype(np.float32)), want


def rand(*size_args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples on ``[0, 1)`` (``torch.rand``); arguments as :func:`zeros`.

    Parameters
    ----------
    *size_args : int
        The sizes of the dimensions (or one sequence of them).
    size : sequence of int, optional
        The shape, instead of ``size_args``.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape ``size``
    """
    got, want = _float_draw(dtype)
    arr = draw(generator).random(_sizes(size_args, size, "rand"), dtype=got)
    arr = arr.astype(want, copy=False)
    return _out(_make(arr, device, requires_grad), out)


def randn(*size_args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples (``torch.randn``); arguments as :func:`zeros`.

    Parameters
    ----------
    *size_args : int
        The sizes of the dimensions (or one sequence of them).
    size : sequence of int, optional
        The shape, instead of ``size_args``.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape ``size``
    """
    shape = _sizes(size_args, size, "randn")
    want = _float_dtype(dtype)
    if want.kind == "c":  # PyTorch's: the real and imaginary parts each N(0, 1/2)
        part = np.dtype(np.float32 if want == np.complex64 else np.float64)
        pairs = draw(generator).standard_normal((*shape, 2), dtype=part) * part.type(0.5 ** 0.5)
        return _out(_make(pairs.view(want)[..., 0], device, requires_grad), out)
    got, want = _float_draw(dtype)
    arr = draw(generator).standard_normal(shape, dtype=got)
    return _out(_make(arr.astype(want, copy=False), device, requires_grad), out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False):
    """Integers drawn uniformly from ``[low, high)`` (``torch.randint``).

    ``randint(high, size)`` and ``randint(low, high, size)``.

    Parameters
    ----------
    low : int
        The lowest value (or, with ``high`` None, the bound with low 0).
    high : int, optional
        One above the highest value.
    size : sequence of int, optional
        The shape.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor of shape ``size``, int64 unless ``dtype`` is given
    """
    if size is None:
        if high is None:
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    low, high = int(_num(low)), int(_num(high))
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dt = np.dtype(np.int64) if dtype is None else _dtype.np_dtype(dtype)
    arr = draw(generator).integers(low, high, size_arg((size,), "randint"), dtype=np.int64)
    return _out(_make(arr.astype(dt, copy=False), device, requires_grad), out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """A random permutation of ``0 .. n-1`` (``torch.randperm``).

    Parameters
    ----------
    n : int
        The result is a permutation of ``0 .. n - 1``.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor of shape (n,), int64 unless ``dtype`` is given
    """
    dt = np.dtype(np.int64) if dtype is None else _dtype.np_dtype(dtype)
    arr = draw(generator).permutation(int(n)).astype(dt, copy=False)
    return _out(_make(arr, device, requires_grad), out)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False):
    """Normal samples with elementwise ``mean`` and ``std`` (``torch.normal``).

    ``mean`` and ``std`` are tensors (broadcast together) or numbers; with two numbers,
    ``size`` gives the shape.

    Parameters
    ----------
    mean : float or Tensor
        The means (a tensor gives the result's shape).
    std : float or Tensor, broadcastable with mean
        The standard deviations.
    size : sequence of int, optional
        The shape when mean and std are numbers.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    pin_memory : bool
        Accepted for PyTorch compatibility; no effect on the CPU.

    Returns
    -------
    Tensor
    """
    m, s = mean, std
    tensors = [x for x in (m, s) if isinstance(x, Tensor)]
    if tensors:
        if size is not None:
            raise RuntimeError("normal(): size cannot be given with tensor mean or std")
        dt = np.result_type(*[x._data.dtype for x in tensors]) if dtype is None \
            else _dtype.np_dtype(dtype)
        mv = m._data if isinstance(m, Tensor) else m
        sv = s._data if isinstance(s, Tensor) else s
        shape = np.broadcast_shapes(np.shape(mv), np.shape(sv))
    else:
        if size is None:
            raise TypeError("normal(): with float mean and std, size must be given")
        dt, mv, sv, shape = _float_dtype(dtype), m, s, size_arg((size,), "normal")
    if np.any(np.asarray(sv) < 0):
        raise RuntimeError("normal expects std >= 0.0")
    arr = mv + sv * draw(generator).standard_normal(shape)
    return _out(_make(np.asarray(arr).astype(dt, copy=False), device, requires_grad), out)


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples, 1 with probability ``input`` (or ``p``) (``torch.bernoulli``).

    Parameters
    ----------
    input : Tensor of any shape
    p : float, optional
        Used instead of ``input``'s values (``input`` gives the shape and dtype).
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).

    Returns
    -------
    Tensor of input's shape and dtype
    """
    probs = input._data if p is None else p
    if np.any((np.asarray(probs) < 0) | (np.asarray(probs) > 1)):
        raise RuntimeError("bernoulli: all elements of input should be between 0 and 1")
    arr = draw(generator).random(input._data.shape) < probs
    return _out(_wrap(arr.astype(input._data.dtype), None), out)


def poisson(input, generator=None):
    """Poisson samples with rates ``input`` (``torch.poisson``), of input's dtype.

    Parameters
    ----------
    input : Tensor of any shape
        The rates (non-negative).
    generator : pynn.Generator, optional
        The random generator (by default the global one).

    Returns
    -------
    Tensor
    """
    return _wrap(draw(generator).poisson(input._data).astype(input._data.dtype), None)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices drawn from the categorical distributions in the rows of ``input``.

    Parameters
    ----------
    input : Tensor of shape (K,) or (N, K)
        Non-negative weights (need not sum to 1).
    num_samples : int
        At most K without ``replacement``.
    replacement : bool
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    out : Tensor, optional
        Where to write the result (its shape and dtype must fit).

    Returns
    -------
    Tensor of shape (num_samples,) or (N, num_samples), int64
    """
    w = np.asarray(input._data, np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("multinomial: prob_dist must be 1 or 2 dim")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise RuntimeError("multinomial: invalid probability distribution (negative, inf or "
                           "nan entries)")
    if np.any(rows.sum(1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    rng = draw(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows.shape[0], num_samples))
        idx = np.stack([np.searchsorted(c, x, side="right") for c, x in zip(cdf, u)])
        idx = np.minimum(idx, rows.shape[1] - 1)
    else:
        # Gumbel top-k: sampling without replacement proportionally to the weights
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64).reshape(w.shape[:-1] + (num_samples,))
    return _out(_wrap(idx, None), out)


# ---------------------------------------------------------------------------------------------
# *_like


def _like(input, dtype):
    return input._data.dtype if dtype is None else _dtype.np_dtype(dtype)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """Zeros shaped like ``input``, of its dtype unless ``dtype`` is given.

    Parameters
    ----------
    input : Tensor of any shape
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return _make(np.zeros(input._data.shape, _like(input, dtype)), device, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """Ones shaped like ``input``, of its dtype unless ``dtype`` is given.

    Parameters
    ----------
    input : Tensor of any shape
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return _make(np.ones(input._data.shape, _like(input, dtype)), device, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """An uninitialised tensor shaped like ``input``.

    Parameters
    ----------
    input : Tensor of any shape
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return _make(np.empty(input._data.shape, _like(input, dtype)), device, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """``fill_value`` everywhere, shaped like ``input``, of its dtype unless ``dtype``.

    Parameters
    ----------
    input : Tensor of any shape
    fill_value : number
        The value of every element.
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return _make(np.full(input._data.shape, _num(fill_value), _like(input, dtype)), device,
                 requires_grad)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None):
    """Uniform ``[0, 1)`` samples shaped like ``input`` (a floating-point dtype).

    Parameters
    ----------
    input : Tensor of any shape
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return rand(input._data.shape, generator=generator, dtype=_like(input, dtype),
                device=device, requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None):
    """Standard normal samples shaped like ``input`` (a floating-point dtype).

    Parameters
    ----------
    input : Tensor of any shape
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    return randn(input._data.shape, generator=generator, dtype=_like(input, dtype),
                 device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None):
    """Integers from ``[low, high)`` shaped like ``input``, of its dtype unless ``dtype``.

    Parameters
    ----------
    input : Tensor of any shape
    low : int
        The lowest value (or, with ``high`` None, the bound with low 0).
    high : int, optional
        One above the highest value.
    generator : pynn.Generator, optional
        The random generator (by default the global one).
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    layout : pynn.layout, optional
        Only ``pynn.strided`` is supported.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor
    """
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, generator=generator,
                   dtype=_like(input, dtype), device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------
# From data


def as_tensor(data, dtype=None, device=None):
    """A tensor over ``data``, sharing memory when it can (``torch.as_tensor``).

    A Tensor of the requested dtype is returned as is; an ndarray of it is wrapped without a
    copy; anything else is converted as :func:`pynn.tensor` does.

    Parameters
    ----------
    data : array_like
        A Tensor, ndarray, number or (nested) sequence of numbers.
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    device : str or pynn.device, optional
        Only the CPU is supported.

    Returns
    -------
    Tensor
    """
    check_device(device)
    dt = _dtype.np_dtype(dtype)
    if isinstance(data, Tensor):
        if dt is None or data._data.dtype == dt:
            return data
        return data.to(dt)
    if isinstance(data, np.ndarray):
        if dt is None or data.dtype == dt:
            return _wrap(data, None)
        return _wrap(data.astype(dt), None)
    return _wrap(_as_array(data, dt), None)


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """The tensor with ``values`` at ``indices`` and zeros elsewhere (``torch.sparse_coo_tensor``).

    pynn has no sparse storage: the result is dense (so every op takes it), with the values
    of repeated indices summed as coalescing would.

    Parameters
    ----------
    indices : array_like of shape (sparse_dim, nnz), integers
        Column ``k`` is the position of ``values[k]``.
    values : array_like of shape (nnz, *dense_dims)
    size : sequence of int, optional
        The shape; by default one more than the largest index of each sparse dimension,
        followed by the dense dimensions of ``values``.
    dtype : pynn.dtype, optional
        By default that of ``values``.
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.
    check_invariants : bool, optional
        Accepted for PyTorch compatibility (indices are always checked).
    is_coalesced : bool, optional
        Accepted for PyTorch compatibility.

    Returns
    -------
    Tensor of shape ``size``
    """
    idx = np.asarray(_as_array(indices))
    vals = np.asarray(_as_array(values))
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"sparse_coo_tensor: indices must be a 2-D integer array "
                         f"(sparse_dim, nnz), got shape {idx.shape} and dtype {idx.dtype}")
    if vals.ndim < 1 or vals.shape[0] != idx.shape[1]:
        raise ValueError(f"sparse_coo_tensor: values must have nnz = {idx.shape[1]} rows "
                         f"(one per index column), got shape {vals.shape}")
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.size else (0,) * idx.shape[0]
        size += vals.shape[1:]
    size = size_arg((size,), "sparse_coo_tensor")
    if len(size) != idx.shape[0] + vals.ndim - 1 or size[idx.shape[0]:] != vals.shape[1:]:
        raise ValueError(f"sparse_coo_tensor: size {size} does not fit {idx.shape[0]} sparse "
                         f"dimensions and values of shape {vals.shape}")
    if idx.size and (idx.min() < 0 or np.any(idx.max(axis=1) >= size[:idx.shape[0]])):
        raise ValueError(f"sparse_coo_tensor: indices out of bounds for size {size}")
    dt = _dtype.np_dtype(dtype) or vals.dtype
    out = np.zeros(size, dtype=dt)
    np.add.at(out, tuple(idx), vals.astype(dt, copy=False))
    return _make(out, device, requires_grad)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """As :func:`as_tensor`; ``copy=True`` always copies (``torch.asarray``).

    Parameters
    ----------
    obj : array_like
        A Tensor, ndarray, number or (nested) sequence of numbers.
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    device : str or pynn.device, optional
        Only the CPU is supported.
    copy : bool, optional
        Always copy (True), never (False) or only when needed (None).
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor
    """
    t = tensor(obj, dtype=dtype) if copy else as_tensor(obj, dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    """A tensor sharing ``ndarray``'s memory, of its dtype (``torch.from_numpy``).

    Parameters
    ----------
    ndarray : ndarray of any shape
        The array; the tensor shares its memory.

    Returns
    -------
    Tensor
        Writing to either changes both.
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype not in _dtype._FROM_NP:
        raise TypeError(f"can't convert np.ndarray of type {ndarray.dtype}. The only supported "
                        f"types are: float64, float32, float16, complex64, complex128, int64, "
                        f"int32, int16, int8, uint8, and bool.")
    return _wrap(ndarray, None)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype``.

    Parameters
    ----------
    s : number
        The value.
    dtype : pynn.dtype, optional
        The result's dtype (by default inferred, or the default dtype).
    device : str or pynn.device, optional
        Only the CPU is supported.
    requires_grad : bool
        Whether autograd records operations on the result.

    Returns
    -------
    Tensor
    """
    return _make(np.array(_num(s), _float_dtype(dtype)), device, requires_grad)


def _tri_indices(op, numpy_fn, row, col, offset, dtype, device):
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got {row} and {col}")
    r, c = numpy_fn(row, offset, col)
    np_dt = np.dtype(np.int64) if dtype is None else _dtype.np_dtype(dtype)
    if np_dt.kind not in "iu":
        raise RuntimeError(f"{op}: dtype must be an integer dtype, got {np_dt}")
    return _make(np.stack([r, c]).astype(np_dt), device, False)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, column) indices of the lower triangle of a ``row`` x ``col`` matrix.

    Parameters
    ----------
    row, col : int
        The matrix's shape.
    offset : int
        The diagonal that bounds the triangle (0 the main one, above it positive).
    dtype : pynn.dtype, optional
        An integer dtype (int64 by default).
    device : str or pynn.device, optional
        Only the CPU is supported.
    layout : optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor of shape (2, N)
        Row indices, then column indices, in row-major order.
    """
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, column) indices of the upper triangle of a ``row`` x ``col`` matrix.

    Parameters
    ----------
    row, col : int
        The matrix's shape.
    offset : int
        The diagonal that bounds the triangle (0 the main one, above it positive).
    dtype : pynn.dtype, optional
        An integer dtype (int64 by default).
    device : str or pynn.device, optional
        Only the CPU is supported.
    layout : optional
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor of shape (2, N)
        Row indices, then column indices, in row-major order.
    """
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categorical distributions in this tensor's rows (:func:`multinomial`).

    Parameters
    ----------
    num_samples : int
        Draws per row.
    replacement : bool
        Whether an index may be drawn more than once.
    generator : pynn.Generator, optional
        The random generator (by default the global one).

    Returns
    -------
    Tensor of int64 of shape (num_samples,) or (rows, num_samples)
    """
    return multinomial(self, num_samples, replacement, generator=generator)


def _bernoulli_method(self, p=None, *, generator=None):
    """0/1 samples, 1 with probability given by this tensor (or ``p``) (:func:`bernoulli`).

    Parameters
    ----------
    p : float, optional
        Used instead of the tensor's values.
    generator : pynn.Generator, optional
        The random generator (by default the global one).

    Returns
    -------
    Tensor of this tensor's shape and dtype
    """
    return bernoulli(self, p, generator=generator)


# The draws PyTorch also offers as Tensor methods (probs.multinomial(1), p.bernoulli())
Tensor.multinomial = _multinomial_method
Tensor.bernoulli = _bernoulli_method
