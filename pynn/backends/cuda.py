"""``pynn.backends.cuda``: settable flags with no effect (pynn runs on the CPU).

The scaled-dot-product-attention switches (``enable_flash_sdp`` ... and the context
managers ``sdp_kernel`` and :func:`pynn.nn.attention.sdpa_kernel`) are recorded and can be
read back, as scripts toggle them; pynn has one attention implementation, used whatever
they say.
"""

import contextlib
from types import SimpleNamespace

__all__ = [
    "cudnn_sdp_enabled", "enable_cudnn_sdp", "enable_flash_sdp", "enable_math_sdp",
    "enable_mem_efficient_sdp", "flash_sdp_enabled", "is_built",
    "is_flash_attention_available", "math_sdp_enabled", "matmul", "mem_efficient_sdp_enabled",
    "preferred_linalg_library", "sdp_kernel",
]

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)

# The attention backends' switches, by PyTorch's names for them.
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built():
    """False: pynn has no CUDA build."""
    return False


def is_flash_attention_available():
    """False: no flash-attention kernels (pynn's attention is its own CPU kernel)."""
    return False


def _switch(name):
    def enable(enabled):
        _SDP[name] = bool(enabled)

    def query():
        return _SDP[name]

    enable.__name__, query.__name__ = f"enable_{name}_sdp", f"{name}_sdp_enabled"
    enable.__doc__ = (f"Record whether the {name} attention backend may be used (no effect "
                      f"on pynn's one implementation).\n\nParameters\n----------\nenabled : "
                      f"bool\n")
    query.__doc__ = (f"Whether the {name} attention backend was last enabled.\n\nReturns\n"
                     f"-------\nbool\n")
    return enable, query


enable_flash_sdp, flash_sdp_enabled = _switch("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _switch("mem_efficient")
enable_math_sdp, math_sdp_enabled = _switch("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _switch("cudnn")


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """Set the attention backends' switches for a block, restoring them after (PyTorch's
    older form of :func:`pynn.nn.attention.sdpa_kernel`).

    Parameters
    ----------
    enable_flash, enable_math, enable_mem_efficient, enable_cudnn : bool

    Yields
    ------
    None
    """
    before = dict(_SDP)
    _SDP.update(flash=bool(enable_flash), math=bool(enable_math),
                mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _SDP.update(before)


def preferred_linalg_library(backend=None):
    """The linear-algebra library in use: pynn's is NumPy's LAPACK whatever is asked.

    Parameters
    ----------
    backend : str, optional
        Accepted for PyTorch's signature.

    Returns
    -------
    str
    """
    return "default"
