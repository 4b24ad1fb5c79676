"""pynn: deep learning on the CPU, with C/OpenMP kernels and a NumPy reference backend.

The namespace is PyTorch's: a script runs with ``import pynn as torch``. Tensors, dtypes
(``pynn.float32`` ...), devices (the CPU only), factories (``zeros``, ``randn`` ...), the math
(``pynn._math``), grad modes and randomness are all here; ``nn``, ``optim``, ``utils.data``,
``autograd``, ``cuda`` and ``backends`` are submodules as in PyTorch.
"""

# ruff: noqa: I001  (the order matters: tensor and its ops before the modules built on them)

from .backend import get_backend, get_num_threads, set_backend, set_num_threads, show_config
from .tensor import _method as _method_call
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
    set_default_tensor_type,
    can_cast,
    dtype,
    finfo,
    get_default_dtype,
    iinfo,
    is_complex,
    is_floating_point,
    promote_types,
    result_type,
    set_default_dtype,
)
from ._device import device

from . import _dtype, random as _random

#: The dtypes, PyTorch's names and aliases (the same objects): 32-bit floats, the default.
float32 = float = _dtype.float32
#: 64-bit floats.
float64 = double = _dtype.float64
#: 16-bit (IEEE half-precision) floats.
float16 = half = _dtype.float16
#: bfloat16, which NumPy has no type for: tensors of it cannot be made.
bfloat16 = _dtype.bfloat16
#: Complex numbers of two float32s.
complex64 = cfloat = _dtype.complex64
#: Complex numbers of two float64s.
complex128 = cdouble = _dtype.complex128
#: 64-bit signed integers, the dtype of indices and integer tensors.
int64 = long = _dtype.int64
#: 32-bit signed integers.
int32 = int = _dtype.int32
#: 16-bit signed integers.
int16 = short = _dtype.int16
#: 8-bit signed integers.
int8 = _dtype.int8
#: 8-bit unsigned integers (bytes, images).
uint8 = _dtype.uint8
#: 16-bit unsigned integers.
uint16 = _dtype.uint16
#: 32-bit unsigned integers.
uint32 = _dtype.uint32
#: 64-bit unsigned integers.
uint64 = _dtype.uint64
#: Booleans (comparisons and masks).
bool = _dtype.bool
#: Memory formats, accepted and ignored (NumPy decides the memory layout): the default.
contiguous_format = _dtype.contiguous_format
#: Memory format: keep the input's (the only one pynn has).
preserve_format = _dtype.preserve_format
#: Memory format: channels last for 4-D tensors (accepted and ignored).
channels_last = _dtype.channels_last
#: Memory format: channels last for 5-D tensors (accepted and ignored).
channels_last_3d = _dtype.channels_last_3d
#: The only layout: dense, strided tensors.
strided = _dtype.strided
#: The global random generator that random ops draw from unless given ``generator=``.
#:
#: :meta hide-value:
default_generator = _random.default_generator

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
from ._complex import *
from ._complex import __all__ as _complex_all
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
    fft,
    func,
    functional,
    jit,
    multiprocessing,
    nn,
    optim,
    profiler,
    sparse,
    special,
    testing,
    train,
    utils,
)
from . import onnx  # noqa: F401  (torch.onnx needs no import of its own either)
from .func import vmap  # noqa: F401  (torch.vmap is torch.func.vmap)
from ._signal import *  # stft, istft and the windows (they build on pynn.fft and nn)
from ._signal import __all__ as _signal_all
from .amp import autocast

# PyTorch also keeps these functional ops in its namespace (torch.conv2d, torch.dropout ...),
# with nn.functional's signatures: the same functions.
for _name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d",
              "max_pool1d_with_indices", "avg_pool1d", "adaptive_avg_pool1d",
              "channel_shuffle", "native_channel_shuffle", "dropout", "alpha_dropout",
              "feature_alpha_dropout", "layer_norm", "group_norm", "pixel_shuffle",
              "pixel_unshuffle", "cosine_similarity", "pairwise_distance", "bilinear", "prelu",
              "selu", "celu", "threshold", "rrelu", "hardshrink", "pdist"):
    globals()[_name] = getattr(functional, _name)
del _name
# torch.adaptive_max_pool1d returns the indices too
adaptive_max_pool1d = functional.adaptive_max_pool1d_with_indices
for _name in ("celu_", "selu_", "rrelu_", "threshold_"):
    globals()[_name] = getattr(functional, _name)
del _name


def _namespace_method(name):
    """``pynn.<name>(input, ...)``: the Tensor method ``input.<name>(...)``, as PyTorch keeps
    the in-place math (``torch.relu_``, ``torch.exp_`` ...) and a few queries in its namespace
    too."""
    fn = _method_call(name)
    fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``: see :meth:`pynn.Tensor.{name}`."
    return fn


for _name in ("abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_",
              "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_",
              "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_",
              "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_",
              "frac_", "gcd_", "index_put_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_",
              "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_",
              "relu_", "resize_as_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_",
              "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_", "i0_",
              "is_inference", "is_neg", "as_strided_",
              "is_same_size", "is_signed"):
    if _name not in globals():
        globals()[_name] = _namespace_method(_name)
del _name


def dropout_(input, p=0.5, train=True):
    """In-place dropout (``torch.dropout_``): ``F.dropout(input, p, train, inplace=True)``.

    Parameters
    ----------
    input : Tensor
    p : float
    train : bool

    Returns
    -------
    Tensor
        ``input``, written.
    """
    return functional.dropout(input, p, train, True)


def alpha_dropout_(input, p=0.5, train=True):
    """In-place alpha dropout (``torch.alpha_dropout_``).

    Parameters
    ----------
    input : Tensor
    p : float
    train : bool

    Returns
    -------
    Tensor
        ``input``, written.
    """
    return functional.alpha_dropout(input, p, train, True)


def feature_alpha_dropout_(input, p=0.5, train=True):
    """In-place feature alpha dropout (``torch.feature_alpha_dropout_``).

    Parameters
    ----------
    input : Tensor
    p : float
    train : bool

    Returns
    -------
    Tensor
        ``input``, written.
    """
    return functional.feature_alpha_dropout(input, p, train, True)

# torch.xpu (Intel GPUs) answers as torch.cuda does here: nothing available, CPU chosen.
xpu = cuda

__version__ = "0.1.0"


# The namespace forms of two Tensor methods (thin calls, so that each is documented with its
# own signature); the same for is_nonzero, which needs no documentation of its own.


def clone(input, *, memory_format=None):
    """A copy of ``input`` recorded in the graph (``torch.clone``): ``input.clone()``.

    Parameters
    ----------
    input : Tensor of any shape
    memory_format : pynn.memory_format, optional
        Accepted for PyTorch's signature; the copy is C-contiguous.

    Returns
    -------
    Tensor
        The same shape, dtype and values; the gradient flows back to ``input``.
    """
    return input.clone()


def detach(input):
    """``input.detach()`` (``torch.detach``): the same storage, outside the graph.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        Shares ``input``'s data; does not require grad.
    """
    return input.detach()


is_nonzero = Tensor.__bool__


def is_tensor(obj):
    """True when ``obj`` is a :class:`Tensor` (``torch.is_tensor``).

    Parameters
    ----------
    obj : array_like
        A Tensor, ndarray, number or (nested) sequence of numbers.

    Returns
    -------
    bool
    """
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of ``input`` (``torch.numel``).

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    int
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
    Module or callable
        ``model`` itself.
    """
    if model is None:
        return lambda fn: fn
    return model


_deterministic = _deterministic_warn_only = False


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Make results repeat from run to run: the kernels keep the thread count asked for.

    With ``mode`` True the kernels always use :func:`pynn.get_num_threads` threads, a count
    they otherwise lower while other processes hold the cores or where training steps ran
    faster with fewer. Every kernel is deterministic at a given thread count; those that
    reduce in parallel can round differently at another.

    Parameters
    ----------
    mode : bool
    warn_only : bool
        Kept for :func:`is_deterministic_algorithms_warn_only_enabled`; nothing here warns.
    """
    import builtins

    from .backend import _runtime

    global _deterministic, _deterministic_warn_only
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, builtins.bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, "
                            f"not {type(value).__name__}")
    _deterministic, _deterministic_warn_only = mode, warn_only

    _runtime._fix_count(_deterministic)


def are_deterministic_algorithms_enabled():
    """Whether :func:`use_deterministic_algorithms` turned deterministic mode on.

    Returns
    -------
    bool
    """
    return _deterministic


def is_deterministic_algorithms_warn_only_enabled():
    """Whether :func:`use_deterministic_algorithms` was last called with ``warn_only=True``.

    Returns
    -------
    bool
    """
    return _deterministic_warn_only


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
    str
    """
    return "highest"


def get_num_interop_threads():
    """1: pynn runs one op at a time.

    Returns
    -------
    int
    """
    return 1


def set_num_interop_threads(n):
    """No-op (see :func:`get_num_interop_threads`).

    Parameters
    ----------
    n : int
        Ignored.
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
    "fft",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "func",
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
    "is_deterministic_algorithms_warn_only_enabled",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_nonzero",
    "is_tensor",
    "jit",
    "load",
    "long",
    "manual_seed",
    "multiprocessing",
    "nn",
    "no_grad",
    "numel",
    "openmp_enabled",
    "optim",
    "preserve_format",
    "profiler",
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
    "set_printoptions",
    "set_rng_state",
    "short",
    "show_config",
    "sparse",
    "special",
    "stack",
    "strided",
    "tensor",
    "testing",
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
__all__.extend(_complex_all)
__all__.extend(_signal_all)
