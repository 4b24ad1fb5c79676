"""The layer modules under the import paths of ``torch.nn.modules``.

``pynn.nn.modules``: the layer modules under the paths PyTorch scripts import them from
(``from torch.nn.modules.loss import _Loss``, ``torch.nn.modules.module.Module``, ...).

Each ``pynn.nn.modules.<name>`` is the pynn module that holds those layers (the same module
object, registered under both names): ``batchnorm`` / ``instancenorm`` / ``normalization``
are :mod:`pynn.nn.normalization`, ``rnn`` is :mod:`pynn.nn.recurrent`, ``sparse`` is
:mod:`pynn.nn.embedding`, ``pixelshuffle`` is :mod:`pynn.nn.upsampling`.
"""

import sys

from .. import (
    activation,
    attention,
    container,
    conv,
    distance,
    dropout,
    embedding,
    flatten,
    fold,
    lazy,
    linear,
    loss,
    module,
    normalization,
    padding,
    pooling,
    recurrent,
    transformer,
    upsampling,
)
from ..activation import *
from ..container import *
from ..conv import *
from ..distance import *
from ..dropout import *
from ..embedding import *
from ..flatten import *
from ..fold import *
from ..linear import *
from ..loss import *
from ..module import Module  # noqa: F401
from ..normalization import *
from ..padding import *
from ..pooling import *
from ..recurrent import *
from ..transformer import *
from ..upsampling import *

# PyTorch's submodule name -> pynn's module holding the same layers.
_ALIASES = {
    "activation": activation, "batchnorm": normalization, "container": container, "conv": conv,
    "distance": distance, "dropout": dropout, "flatten": flatten, "fold": fold,
    "instancenorm": normalization, "lazy": lazy, "linear": linear, "loss": loss, "module": module,
    "normalization": normalization, "padding": padding, "pixelshuffle": upsampling,
    "pooling": pooling, "rnn": recurrent, "sparse": embedding, "transformer": transformer,
    "upsampling": upsampling, "attention": attention,
}

for _name, _mod in _ALIASES.items():
    sys.modules[f"{__name__}.{_name}"] = _mod
    globals()[_name] = _mod

del _name, _mod
