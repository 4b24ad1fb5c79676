"""Stochastic Weight Averaging and exponential moving averages of a model's weights.

``pynn.optim.swa_utils``, as ``torch.optim.swa_utils``::

    swa_model = AveragedModel(model)                  # or multi_avg_fn=get_ema_multi_avg_fn(0.999)
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
    update_bn(loader, swa_model)                      # batch-norm statistics of the average

The averages are written into the copy's own arrays under ``no_grad``; the state dict keys
are PyTorch's (``n_averaged``, ``module.<name>``).
"""

import copy
import itertools
import math

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Tensor, _wrap
from .lr_scheduler import LRScheduler

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, in PyTorch's two-sided form (exact at
    both ends of ``weight``)."""
    a, b = start._data, end._data
    if abs(weight) < 0.5:
        value = a + weight * (b - a)
    else:
        value = b - (b - a) * (1 - weight)
    _assign(start, value)


def _assign(t, value):
    with no_grad():
        t.copy_(_wrap(np.asarray(value, dtype=t._data.dtype), None))


def get_ema_multi_avg_fn(decay=0.999):
    """The in-place exponential moving average for :class:`AveragedModel`'s ``multi_avg_fn``.

    Parameters
    ----------
    decay : float
        ``ema = decay * ema + (1 - decay) * current``.

    Returns
    -------
    callable
        ``fn(averaged_list, current_list, num_averaged)``, updating ``averaged_list`` in place.
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            if p_ema._data.dtype.kind == "f":
                _lerp_(p_ema, p_model, 1 - decay)
            else:  # integer buffers: the same average, truncated
                _assign(p_ema, p_ema._data * decay + p_model._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """The in-place running (equal-weight) average for ``AveragedModel(multi_avg_fn=...)``.

    Returns
    -------
    callable
        ``fn(averaged_list, current_list, num_averaged)``, updating ``averaged_list`` in place.
    """

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        weight = 1 / (float(num_averaged) + 1)
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            if p_avg._data.dtype.kind == "f":
                _lerp_(p_avg, p_model, weight)
            else:  # integer buffers: the same average, truncated
                a = p_avg._data
                _assign(p_avg, a + (p_model._data - a) * weight)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """The exponential moving average for :class:`AveragedModel`'s ``avg_fn``.

    Parameters
    ----------
    decay : float

    Returns
    -------
    callable
        ``fn(ema_param, current_param, num_averaged)`` returning the new average.
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """The running (equal-weight) average for :class:`AveragedModel`'s ``avg_fn``.

    Returns
    -------
    callable
        ``fn(averaged_param, current_param, num_averaged)`` returning the new average.
    """

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` holding the average of its parameters over training.

    The average is over the calls to :meth:`update_parameters`: SWA's equal weights by
    default, or any ``avg_fn`` / ``multi_avg_fn``.

    Parameters
    ----------
    model : Module
        Deep-copied; calling the AveragedModel runs the copy.
    device : str or device, optional
        Only "cpu" (pynn is CPU-only).
    avg_fn : callable, optional
        ``avg_fn(averaged, current, num_averaged)`` returning the new average of one tensor.
    multi_avg_fn : callable, optional
        ``multi_avg_fn(averaged_list, current_list, num_averaged)`` updating in place (see
        :func:`get_ema_multi_avg_fn`).
    use_buffers : bool
        Average the buffers too (else they are copied from ``model`` at each update).

    Attributes
    ----------
    n_averaged : Tensor
        int64, 0-d: how many models have been averaged.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _wrap(np.array(0, np.int64), None))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy of the model.

        Parameters
        ----------
        *args : object
            The model's positional arguments.
        **kwargs : object
            Its keyword arguments.

        Returns
        -------
        object
            The model's output.
        """
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold ``model``'s current parameters into the average.

        With ``use_buffers`` the buffers too; the first call copies them.

        Parameters
        ----------
        model : Module
            The model being trained (same architecture as the one copied).
        """
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine = list(self.parameters())
            theirs = list(model.parameters())
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average, the averaged copy {len(mine)}")
        mine = [p.detach() for p in mine]
        theirs = [p.detach() for p in theirs]
        n = int(self.n_averaged._data)
        if n == 0:
            for a, b in zip(mine, theirs):
                _assign(a, b._data)
        elif self.multi_avg_fn is not None:
            # one call per dtype, as PyTorch's grouping for its foreach kernels
            for kind in dict.fromkeys(a._data.dtype.str for a in mine):
                pairs = [(a, b) for a, b in zip(mine, theirs) if a._data.dtype.str == kind]
                self.multi_avg_fn([a for a, _ in pairs], [b for _, b in pairs],
                                  _wrap(np.array(n, np.int64), None))
        else:
            fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
            count = _wrap(np.array(n, np.int64), None)
            for a, b in zip(mine, theirs):
                value = fn(a, b, count)
                _assign(a, value._data if isinstance(value, Tensor) else value)
        if not self.use_buffers:
            # the buffers (batch-norm statistics) follow the model's; update_bn recomputes
            # them for the averaged weights
            for a, b in zip(self.module.buffers(), model.buffers()):
                _assign(a, b._data)
        self.n_averaged._data = self.n_averaged._data + 1


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs``, then hold it.

    Parameters
    ----------
    optimizer : Optimizer
    swa_lr : float or list of float
        The target rate (one per parameter group, or one for all).
    anneal_epochs : int
        Epochs of annealing (0: switch at once).
    anneal_strategy : {"cos", "linear"}
    last_epoch : int
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        groups = optimizer.param_groups
        if isinstance(swa_lr, (list, tuple)):
            if len(swa_lr) != len(groups):
                raise ValueError(f"swa_lr must have the same length as optimizer.param_groups:"
                                 f" swa_lr has {len(swa_lr)}, optimizer.param_groups has "
                                 f"{len(groups)}")
            swa_lrs = list(swa_lr)
        else:
            swa_lrs = [swa_lr] * len(groups)
        for lr, group in zip(swa_lrs, groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        """The learning rates after this step.

        Each group's current rate is carried a step further toward its ``swa_lr``.

        Returns
        -------
        list of float
        """
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]

    def state_dict(self):
        """Everything but the optimiser and the annealing function.

        Returns
        -------
        dict
        """
        return {k: v for k, v in super().state_dict().items() if k != "anneal_func"}


def update_bn(loader, model, device=None):
    """Recompute the batch-norm running statistics of ``model`` with one pass over ``loader``.

    Each batch-norm layer's statistics are reset and averaged over all batches (momentum
    None during the pass, then restored); the model's train/eval mode is restored.

    Parameters
    ----------
    loader : iterable
        Batches: Tensors, or lists/tuples whose first element is the input.
    model : Module
    device : str or device, optional
        Where to move each batch ("cpu").
    """
    from ..nn.normalization import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)
