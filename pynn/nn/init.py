"""Weight initialisation (``torch.nn.init``): functions that fill a tensor in place.

Each returns its argument. Random values come from ``pynn.random.get_generator`` (so
:func:`pynn.manual_seed` makes them reproducible) unless a ``generator`` (a NumPy
``Generator``) is passed.

The target may be a :class:`pynn.Tensor` / :class:`pynn.nn.Parameter` (its storage is
written) or an ndarray. Writing is not recorded by autograd, as under ``torch.no_grad()``.
"""

import math
import numbers
import warnings

import numpy as np

from ..random import as_generator, get_generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _array(tensor):
    arr = tensor._data if isinstance(tensor, Tensor) else tensor
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"init: expected a Tensor or ndarray, got {type(tensor).__name__}")
    return arr


def _fill(tensor, values):
    _array(tensor)[...] = values
    return tensor


def _rng(generator):
    # a pynn.Generator, a NumPy Generator or a seed
    return get_generator() if generator is None else as_generator(generator)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (``torch.nn.init.calculate_gain``).

    - linear, conv*, conv_transpose*, sigmoid: 1
    - tanh: 5/3
    - relu: sqrt(2)
    - leaky_relu: sqrt(2 / (1 + negative_slope^2))
    - selu: 3/4

    Parameters
    ----------
    nonlinearity : str
        One of the names above (ValueError otherwise).
    param : float, optional
        The negative slope of ``leaky_relu`` (default 0.01).

    Returns
    -------
    float
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight of shape (out, in, *kernel): ``in * prod(kernel)``
    and ``out * prod(kernel)``."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor):
    if _array(tensor).size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with values drawn from U(a, b).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.
    a, b : float
        The bounds.
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    return _fill(tensor, _rng(generator).uniform(a, b, arr.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with values drawn from N(mean, std^2).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.
    mean, std : float
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    return _fill(tensor, _rng(generator).normal(mean, std, arr.shape))


def constant_(tensor, val):
    """Fill with ``val``.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.
    val : float

    Returns
    -------
    tensor
        The argument itself.
    """
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill with zeros.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.

    Returns
    -------
    tensor
        The argument itself.
    """
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill with ones.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.

    Returns
    -------
    tensor
        The argument itself.
    """
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    ``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (out, in, *kernel)
        At least 2-D; written in place.
    gain : float
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    ``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (out, in, *kernel)
        At least 2-D; written in place.
    gain : float
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``.

    ``gain = calculate_gain(nonlinearity, a)``; a zero-element tensor is left as is (with a
    warning).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (out, in, *kernel)
        At least 2-D; written in place.
    a : float
        Negative slope of the rectifier that follows (``leaky_relu`` only).
    mode : {"fan_in", "fan_out"}
        Preserve the variance of the activations (fan_in) or of the gradients (fan_out).
    nonlinearity : str
        As for :func:`calculate_gain`; ``"relu"`` or ``"leaky_relu"`` are the usual ones.
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    if _empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)``; a zero-element tensor is left as is (with a
    warning).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (out, in, *kernel)
        At least 2-D; written in place.
    a : float
        Negative slope of the rectifier that follows (``leaky_relu`` only).
    mode : {"fan_in", "fan_out"}
        Preserve the variance of the activations (fan_in) or of the gradients (fan_out).
    nonlinearity : str
        As for :func:`calculate_gain`.
    generator : numpy.random.Generator, optional
        Default: pynn's global generator.

    Returns
    -------
    tensor
        The argument itself.
    """
    if _empty(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with values from N(mean, std^2) truncated to ``[a, b]`` (redrawn until inside).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of any shape
        Written in place.
    mean, std : float
    a, b : float
        The absolute bounds (not in units of ``std``, as PyTorch).
    generator : numpy.random.Generator, optional

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    rng = _rng(generator)
    out = rng.normal(mean, std, arr.shape)
    bad = (out < a) | (out > b)
    for _ in range(100):  # each round keeps most of what is left, so this ends quickly
        if not bad.any():
            break
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    np.clip(out, a, b, out=out)
    return _fill(tensor, out)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal, zeros elsewhere).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (n, m)

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*arr.shape))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta.

    The convolution passes its input channels through unchanged (per group).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (out_channels, in_channels, *kernel)
    groups : int

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    if arr.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if arr.shape[0] % groups:
        raise ValueError("dim 0 must be divisible by groups")
    out_per = arr.shape[0] // groups
    values = np.zeros(arr.shape)
    centre = tuple(k // 2 for k in arr.shape[2:])
    for g in range(groups):
        for d in range(min(out_per, arr.shape[1])):
            values[(g * out_per + d, d) + centre] = 1.0
    return _fill(tensor, values)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix, scaled by ``gain``.

    Fill with a (semi-)orthogonal matrix (the input flattened to (rows, -1)), scaled by ``gain``:
    the Q of the QR decomposition of a Gaussian matrix, signs fixed so that it is uniformly
    distributed (Saxe et al.).

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (rows, *), at least 2-D
    gain : float
    generator : numpy.random.Generator, optional

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if arr.size == 0:
        return tensor
    rows = arr.shape[0]
    cols = arr.size // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(arr.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor from N(0, std^2) with a fraction ``sparsity`` of each column zero.

    Parameters
    ----------
    tensor : Tensor, Parameter or ndarray of shape (rows, cols)
    sparsity : float in [0, 1]
    std : float
    generator : numpy.random.Generator, optional

    Returns
    -------
    tensor
        The argument itself.
    """
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rng = _rng(generator)
    rows, cols = arr.shape
    values = rng.normal(0.0, std, arr.shape)
    zeros = math.ceil(sparsity * rows)
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0.0
    return _fill(tensor, values)


# PyTorch's deprecated spellings without the trailing underscore
uniform = uniform_
normal = normal_
constant = constant_
xavier_uniform = xavier_uniform_
xavier_normal = xavier_normal_
kaiming_uniform = kaiming_uniform_
kaiming_normal = kaiming_normal_
orthogonal = orthogonal_
sparse = sparse_
eye = eye_
dirac = dirac_
