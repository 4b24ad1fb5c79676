"""The compiled backend: the C/OpenMP kernels behind the same names and signatures as
:mod:`pynn.backend.reference`.

Each function checks its arguments with the same code as the reference (so both raise the
same errors), allocates the output, and hands typed buffers to a Cython wrapper that releases
the GIL and calls C with the current thread count and instruction set.
"""

import numpy as np

from . import _checks as check
from ._runtime import get_num_threads

try:
    from . import _cpu, _gemm
except ImportError as exc:  # pragma: no cover - depends on how pynn was installed
    raise ImportError(
        "pynn's compiled kernels are not built. Install pynn with `pip install .` (or "
        "`pip install -e .` for development) and do not import it from a source tree that "
        "lacks the built extensions; or select the NumPy backend with PYNN_BACKEND=reference."
    ) from exc

ISA_NAMES = _cpu.ISA_NAMES


def available_isas():
    """Names of the instruction sets this build and CPU can run, best last."""
    return [name for i, name in enumerate(ISA_NAMES) if _cpu.isa_supported(i)]


def _initial_isa():
    import os

    wanted = os.environ.get("PYNN_ISA")
    if wanted:
        if wanted not in available_isas():
            raise RuntimeError(
                f"PYNN_ISA={wanted!r} is not available here; available: {available_isas()}"
            )
        return ISA_NAMES.index(wanted)
    return _cpu.best_isa()


_isa = _initial_isa()


def get_isa():
    """Name of the instruction set the SIMD kernels use."""
    return ISA_NAMES[_isa]


def set_isa(name):
    """Use the SIMD kernels built for ``name`` (one of :func:`available_isas`)."""
    global _isa
    if name not in available_isas():
        raise ValueError(f"set_isa: {name!r} is not available here; available: "
                         f"{available_isas()}")
    _isa = ISA_NAMES.index(name)


def openmp_enabled():
    """True when the kernels were built with OpenMP (False means they run on one thread)."""
    return _cpu.openmp_enabled()


# ---------------------------------------------------------------------------------------------
# GEMM


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None,
         bias_axis=1, relu=False):
    """``C := relu?(alpha * op(A) op(B) + beta * C + bias)``; see
    :func:`pynn.backend.reference.gemm`. Non-contiguous and transposed operands are read
    through their strides, never copied."""
    op_a, op_b, dtype = check.gemm_operands(a, b, out, trans_a, trans_b, bias, bias_axis)
    if out is None:
        out = np.empty((op_a.shape[0], op_b.shape[1]), dtype)
        beta = 0.0
    _gemm.gemm(op_a, op_b, out, alpha, beta, bias, bias_axis, relu, _isa, get_num_threads())
    return out
