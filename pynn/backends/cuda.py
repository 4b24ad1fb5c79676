"""``pynn.backends.cuda``: settable flags with no effect."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built():
    """False: pynn has no CUDA build."""
    return False
