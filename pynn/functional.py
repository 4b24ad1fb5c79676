"""``pynn.functional`` is :mod:`pynn.nn.functional` under a second name (the same module
object), kept for code written before the functional ops moved under ``pynn.nn``."""

import sys

from .nn import functional as _functional

sys.modules[__name__] = _functional
