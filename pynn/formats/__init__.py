"""Models in and out: files written by other tools, read and written without pickle.

- :func:`load_torch`: checkpoints written by ``torch.save`` (its zip format), read without
  PyTorch through an allow-list unpickler that never runs code from the file;
- :func:`save_safetensors` / :func:`load_safetensors`: the safetensors format, through the
  ``safetensors`` package (an optional extra: ``pip install safetensors``);
- :func:`detect_format`: which of these (or pynn's own) a file is, from its first bytes.

pynn's own format is :func:`pynn.save` / :func:`pynn.load`.
"""

from ._detect import detect_format
from ._errors import CheckpointError, UnsafeCheckpointError
from ._safetensors import load_safetensors, save_safetensors
from ._torch import load_torch

__all__ = [
    "CheckpointError",
    "UnsafeCheckpointError",
    "detect_format",
    "load_safetensors",
    "load_torch",
    "save_safetensors",
]
