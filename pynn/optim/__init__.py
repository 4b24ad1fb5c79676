"""Optimisers and learning-rate schedulers, with PyTorch's names, defaults and semantics.

:class:`SGD`, :class:`Adam`, :class:`AdamW`, :class:`RMSprop`, and the schedulers of
:mod:`pynn.optim.lr_scheduler`.

Each ``step()`` updates every parameter that has a gradient in place with one fused kernel
(``pynn.backend.active.sgd_step`` / ``adam_step`` / ``rmsprop_step``)::

    opt = pynn.optim.Adam(model.parameters(), lr=1e-3)
    sched = pynn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSProp, RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSProp", "RMSprop", "lr_scheduler"]
