"""pynn: deep learning on the CPU, with C/OpenMP kernels and a NumPy reference backend.

The namespace is PyTorch's: a script runs with ``import pynn as torch``. Tensors, dtypes
(``pynn.float32`` ...), devices (the CPU only), factories (``zeros``, ``randn`` ...), the math
(``pynn._math``), grad modes and randomness are all here; ``nn``, ``optim``, ``utils.data``,
``autograd``, ``cuda`` and ``backends`` are submodules as in PyTorch.
"""

# ruff: noqa: I001  (the order matters: tensor and its ops before the modules built on them)

from .backend import get_backend, get_num_threads, set_backend, set_num_threads, show_config
from .tensor import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    Size,
    Tensor,
    cat,
    set_printoptions,
    stack,
    tensor,
)
from ._dtype import (
    bfloat16,
    channels_last,
    channels_last_3d,
    contiguous_format,
    preserve_format,
    set_default_tensor_type,
    strided,
    bool,
    can_cast,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    is_complex,
    is_floating_point,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._device import device
from .autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ._math import *  # the math functions (the module's __all__)
from ._math import __all__ as _math_all
from ._factory import *
from ._factory import __all__ as _factory_all
from .serialization import load, save
from . import (
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    data,
    distributed,
    distributions,
    functional,
    nn,
    optim,
    train,
    utils,
)
from . import onnx  # noqa: F401  (torch.onnx needs no import of its own either)
from .amp import autocast

# torch.xpu (Intel GPUs) answers as torch.cuda does here: nothing available, CPU chosen.
xpu = cuda

__version__ = "0.1.0"


# one implementation each: the namespace functions are the Tensor methods
clone = Tensor.clone
detach = Tensor.detach
is_nonzero = Tensor.__bool__


def is_tensor(obj):
    """True when ``obj`` is a :class:`Tensor` (``torch.is_tensor``).

    Parameters
    ----------
    obj : array_like
        A Tensor, ndarray, number or (nested) sequence of numbers.

    Returns
    -------
    Tensor
    """
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of ``input`` (``torch.numel``).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
    """
    return input.numel()


def compile(model=None, **kwargs):
    """``model`` unchanged (``torch.compile``; pynn has no graph compiler).

    Works as a call, a decorator and a decorator factory (``@compile(mode=...)``).

    Parameters
    ----------
    model : Module or callable, optional
    **kwargs : any

    Returns
    -------
    Tensor
    """
    if model is None:
        return lambda fn: fn
    return model


def use_deterministic_algorithms(mode, *, warn_only=False):
    """No-op: pynn's kernels are deterministic for a given thread count.

    Parameters
    ----------
    mode : bool
    warn_only : bool
    """


def are_deterministic_algorithms_enabled():
    """True: see :func:`use_deterministic_algorithms`.

    Returns
    -------
    Tensor
    """
    return True


def set_float32_matmul_precision(precision):
    """No-op: float32 matmuls always run in full precision.

    Parameters
    ----------
    precision : {'highest', 'high', 'medium'}
    """


def get_float32_matmul_precision():
    """``"highest"``.

    Returns
    -------
    Tensor
    """
    return "highest"


def get_num_interop_threads():
    """1: pynn runs one op at a time.

    Returns
    -------
    Tensor
    """
    return 1


def set_num_interop_threads(n):
    """No-op (see :func:`get_num_interop_threads`).

    Parameters
    ----------
    n : int
        How many times.
    """


def openmp_enabled():
    """True when pynn's compiled kernels were built with OpenMP.

    False means the build fell back to serial kernels (no OpenMP compiler support, or
    ``PYNN_NO_OPENMP=1`` at build time): correct, but one thread only.

    Returns
    -------
    bool
    """
    from .backend import compiled

    return compiled.openmp_enabled()


__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "Generator",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "Size",
    "Tensor",
    "accelerator",
    "amp",
    "are_deterministic_algorithms_enabled",
    "autocast",
    "autograd",
    "backends",
    "bfloat16",
    "bool",
    "can_cast",
    "cat",
    "cdouble",
    "cfloat",
    "channels_last",
    "channels_last_3d",
    "clone",
    "compile",
    "complex64",
    "complex128",
    "contiguous_format",
    "cuda",
    "data",
    "default_generator",
    "detach",
    "device",
    "distributed",
    "distributions",
    "double",
    "dtype",
    "enable_grad",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "functional",
    "get_backend",
    "get_default_dtype",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "get_rng_state",
    "half",
    "iinfo",
    "inference_mode",
    "initial_seed",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_complex",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_nonzero",
    "is_tensor",
    "load",
    "long",
    "manual_seed",
    "nn",
    "no_grad",
    "numel",
    "openmp_enabled",
    "optim",
    "preserve_format",
    "promote_types",
    "result_type",
    "save",
    "seed",
    "set_backend",
    "set_default_dtype",
    "set_default_tensor_type",
    "set_float32_matmul_precision",
    "set_grad_enabled",
    "set_num_interop_threads",
    "set_num_threads",
    "show_config",
    "set_printoptions",
    "set_rng_state",
    "short",
    "stack",
    "strided",
    "tensor",
    "train",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "use_deterministic_algorithms",
    "utils",
    "xpu",
]
__all__.extend(_math_all)
__all__.extend(_factory_all)
