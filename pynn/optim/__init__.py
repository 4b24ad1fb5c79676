"""Optimisers and learning-rate schedulers, with PyTorch's names, defaults and semantics.

:class:`SGD`, :class:`Adam`, :class:`AdamW`, :class:`RMSprop` (each ``step()`` one fused kernel
per parameter: ``pynn.backend.active.sgd_step`` / ``adam_step`` / ``rmsprop_step``),
:class:`Adadelta`, :class:`Adagrad`, :class:`Adamax`, :class:`NAdam`, :class:`RAdam`,
:class:`Rprop`, :class:`ASGD` (NumPy updates in place), :class:`LBFGS`, and the schedulers of
:mod:`pynn.optim.lr_scheduler`::

    opt = pynn.optim.Adam(model.parameters(), lr=1e-3)
    sched = pynn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()
"""

from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSProp, RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSProp",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
    "swa_utils",
]
