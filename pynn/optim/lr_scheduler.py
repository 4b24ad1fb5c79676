"""Learning-rate schedulers, with PyTorch's names, defaults and step semantics.

A scheduler is built on an optimiser and sets ``group["lr"]`` in each of its parameter
groups. Building it performs step 0 (``last_epoch`` becomes 0 and the groups get the first
learning rate of the schedule); call :meth:`LRScheduler.step` once per epoch (or per batch,
for :class:`OneCycleLR`) *after* ``optimizer.step()``.

:class:`StepLR`, :class:`MultiStepLR`, :class:`ExponentialLR` and :class:`LinearLR` update
the current learning rate multiplicatively, as PyTorch's do, so schedulers built on the same
optimiser compose ("chaining"). :class:`CosineAnnealingLR` and :class:`OneCycleLR` compute
each value in closed form from the base learning rates, so long runs do not drift (and do not
chain). Also: :class:`LambdaLR`, :class:`MultiplicativeLR`, :class:`ConstantLR`,
:class:`PolynomialLR`, :class:`CosineAnnealingWarmRestarts`, :class:`CyclicLR` (per batch),
:class:`ReduceLROnPlateau` (``step(metric)``), :class:`SequentialLR` and
:class:`ChainedScheduler`.
"""

import math
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from numbers import Real

from .optimizer import Optimizer

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]

_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. Call them in the "
    "opposite order: `optimizer.step()` before `lr_scheduler.step()`; otherwise the first "
    "value of the learning rate schedule is skipped."
)
_OVERRIDDEN_WARNING = (
    "`optimizer.step()` seems to have been replaced after the learning rate scheduler was "
    "created, so the scheduler cannot tell whether it was called; make sure to call "
    "`optimizer.step()` before `lr_scheduler.step()`."
)
_EPOCH_WARNING = (
    "Passing an epoch to `scheduler.step()` is deprecated; call `scheduler.step()` without "
    "arguments. With an epoch, the closed-form schedule is used where available."
)


def _track_step_calls(optimizer):
    """Wrap ``optimizer.step`` (on the instance) so that calling it sets
    ``optimizer._opt_called``; done once per optimiser, and only when a scheduler is
    attached, so plain optimisers pay nothing."""
    if getattr(optimizer.step, "_tracked_by_lr_scheduler", False):
        return
    func = optimizer.step.__func__
    opt_ref = weakref.ref(optimizer)

    def step(*args, **kwargs):
        opt = opt_ref()
        opt._opt_called = True
        return func(opt, *args, **kwargs)

    step.__doc__ = func.__doc__
    step.__name__ = func.__name__
    step._tracked_by_lr_scheduler = True
    optimizer.step = step


class LRScheduler:
    """Base class of the schedulers.

    Subclasses implement :meth:`get_lr` (the learning rates for ``last_epoch``, computed when
    :meth:`step` has just advanced it) and, where a closed form exists,
    ``_get_closed_form_lr``.

    Parameters
    ----------
    optimizer : Optimizer
    last_epoch : int
        ``-1`` to start a schedule; an epoch index to resume one (the groups must then hold
        ``"initial_lr"``, as after loading the optimiser's ``state_dict``).
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming a scheduler with last_epoch >= 0; load the optimizer's "
                        "state_dict first"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        _track_step_calls(optimizer)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates of the groups at ``last_epoch``."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance the schedule by one epoch and set the groups' learning rates.

        Warns when called before the optimiser's first ``step()``. Passing ``epoch`` is
        deprecated (it jumps to that epoch, in closed form where there is one).
        """
        self._count_step()
        if epoch is not None:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _count_step(self):
        """Count a step; on the first one after construction, warn if the optimiser has not
        stepped yet."""
        if self._step_count == 1:
            if not getattr(self.optimizer.step, "_tracked_by_lr_scheduler", False):
                warnings.warn(_OVERRIDDEN_WARNING, UserWarning, stacklevel=3)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=3)
        self._step_count += 1

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__} computed {len(values)} learning rates "
                             f"for {len(groups)} parameter groups")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def state_dict(self):
        """Everything but the optimiser, as a dict (PyTorch's layout)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a :meth:`~LRScheduler.state_dict`.

        Raises
        ------
        ValueError
            When an entry would replace the optimiser or a method, or does not match the
            kind or per-group length of the value it restores (nothing is copied then).
        TypeError
            When ``state_dict`` is not a dict or an entry is a callable.
        """
        _restore(self, state_dict)

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
    gamma : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch.

    A milestone listed twice multiplies twice.

    Parameters
    ----------
    optimizer : Optimizer
    milestones : iterable of int
    gamma : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # A plain dict after a round trip through a file: make it a Counter again.
        self.milestones = Counter({int(k): int(v) for k, v in self.milestones.items()})

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr = base_lr * gamma**epoch``.

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Warm-up: scale the learning rate by a factor going linearly from one value to another.

    The factor is ``start_factor`` at epoch 0 and reaches ``end_factor`` at epoch
    ``total_iters``, where it stays.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float in (0, 1]
    end_factor : float in [0, 1]
    total_iters : int
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             "and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # The ratio of this epoch's factor to the previous one's.
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * delta)
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * frac
        return [base * factor for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base learning rate down to ``eta_min`` over ``T_max`` epochs.

    In closed form, ``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``
    (PyTorch's recursive update gives the same values, up to rounding that accumulates).

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Epochs of the half cosine; later epochs continue the cosine back up.
    eta_min : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self):
        cos = math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * (1.0 + cos) / 2.0
                for base in self.base_lrs]


def _per_group(name, optimizer, value):
    """A hyper-parameter given once or as one value per parameter group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} values for {name}, got {len(value)}")
        return list(value)
    return [value] * n


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start (step per batch).

    The learning rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` (or ``epochs * steps_per_epoch``) steps, then anneals to
    ``initial_lr / final_div_factor``. With ``cycle_momentum`` the momentum (SGD, RMSprop) or
    ``beta1`` (Adam) moves the opposite way, between ``max_momentum`` and ``base_momentum``.
    ``three_phase`` adds a symmetric descent back to the initial learning rate before the final
    annealing.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list of float
        The peak, one value or one per parameter group.
    total_steps : int, optional
        Steps in the cycle; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
    pct_start : float in [0, 1]
        Fraction of the cycle spent warming up.
    anneal_strategy : {"cos", "linear"}
    cycle_momentum : bool
    base_momentum, max_momentum : float or list of float
    div_factor : float
        ``initial_lr = max_lr / div_factor``.
    final_div_factor : float
        ``min_lr = initial_lr / final_div_factor``.
    three_phase : bool
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0, final_div_factor=1e4,
                 three_phase=False, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer

        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        if not isinstance(pct_start, float) or not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.anneal_strategy = anneal_strategy

        # Each phase: (last step of the phase, lr from, lr to, momentum from, momentum to),
        # the names being keys of the parameter groups.
        warm_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                 "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in defaults
            max_momenta = _per_group("max_momentum", optimizer, max_momentum)
            base_momenta = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups, max_momenta,
                                            base_momenta):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total "
                             f"steps is {self.total_steps}")
        # The phase holding this step, and how far into it the step is.
        start = 0.0
        last = len(self._schedule_phases) - 1
        for i, phase in enumerate(self._schedule_phases):
            end = phase[0]
            if step <= end or i == last:
                break
            start = end
        _, lr_from, lr_to, m_from, m_to = phase
        pct = (step - start) / (end - start)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
        return lrs


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones`` epochs.

    Each scheduler restarts from its epoch 0 (closed form) when its turn comes.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        Built on ``optimizer``.
    milestones : list of int
        One fewer than the schedulers: the epochs at which the next one takes over.
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"{name} at index {i} should have `optimizer` as its "
                                "attribute.")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same "
                                 f"optimizer, but scheduler {type(scheduler).__name__} at "
                                 f"index {i} has a different one.")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{name} expects the number of schedulers to be one more than the number of "
                f"milestones, but got {len(schedulers)} schedulers and {len(milestones)} "
                "milestones")
        self._schedulers = list(schedulers)
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer

        # Building the schedulers stepped each of them once; undo that and restart the first.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @classmethod
    def _undo_initial_steps(cls, scheduler):
        for child in scheduler._schedulers:
            if hasattr(child, "_schedulers"):
                cls._undo_initial_steps(child)
            else:
                child.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        _restore_children(self, state_dict)


def _restore(scheduler, state_dict, skip=()):
    """Copy a state dict into ``scheduler`` after checking all of it (nothing is copied when
    any entry is refused): a state dict read from a file is data, so it may not replace the
    optimiser, a method or a property, bring a callable, or change the kind or the
    per-group length of a value the scheduler holds. Keys the scheduler does not hold are
    kept, as PyTorch keeps them (a state saved by another version of a scheduler)."""
    name = type(scheduler).__name__
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{name}.load_state_dict expected a dict, got "
                        f"{type(state_dict).__name__}")
    state = {}
    for key, value in state_dict.items():
        if key in skip:
            continue
        if not isinstance(key, str):
            raise TypeError(f"{name}.load_state_dict: keys must be strings, got {key!r}")
        if key == "optimizer" or hasattr(type(scheduler), key):
            raise ValueError(f"{name}.load_state_dict: entry {key!r} would replace the "
                             f"scheduler's {'optimizer' if key == 'optimizer' else 'attribute'}")
        if callable(value):
            raise TypeError(f"{name}.load_state_dict: entry {key!r} is a callable "
                             f"({type(value).__name__}); a state dict holds data")
        current = scheduler.__dict__.get(key)
        _check_like(name, key, current, value)
        state[key] = value
    scheduler.__dict__.update(state)


def _check_like(name, key, current, value):
    """Refuse ``value`` where it cannot stand for ``current``: a number for a number, a list
    of the same length for a per-group list."""
    def is_number(x):
        return isinstance(x, Real) and not isinstance(x, bool)

    if is_number(current) and not is_number(value):
        raise ValueError(f"{name}.load_state_dict: entry {key!r} expected a number, got "
                         f"{type(value).__name__}")
    if isinstance(current, list) and current and all(is_number(x) for x in current):
        if not isinstance(value, (list, tuple)) or len(value) != len(current):
            got = (f"{len(value)} values" if isinstance(value, (list, tuple))
                   else type(value).__name__)
            raise ValueError(f"{name}.load_state_dict: entry {key!r} expected "
                             f"{len(current)} values (one per parameter group), got {got}")
        if not all(is_number(x) for x in value):
            raise ValueError(f"{name}.load_state_dict: entry {key!r} expected numbers")


def _restore_children(scheduler, state_dict):
    """``_restore`` for a scheduler of schedulers: its own entries, then each child's."""
    children = state_dict.get("_schedulers") if isinstance(state_dict, Mapping) else None
    if not isinstance(children, (list, tuple)) or len(children) != len(scheduler._schedulers):
        got = len(children) if isinstance(children, (list, tuple)) else "no"
        raise ValueError(f"{type(scheduler).__name__}.load_state_dict expected the states of "
                         f"{len(scheduler._schedulers)} schedulers, got {got}")
    _restore(scheduler, state_dict, skip=("_schedulers",))
    for child, child_state in zip(scheduler._schedulers, children):
        child.load_state_dict(child_state)


_LRScheduler = LRScheduler  # the name older PyTorch scripts subclass


def _callables_state(functions):
    """The state of user functions for ``state_dict``: None for plain functions and lambdas
    (not saved, as in PyTorch), the ``__dict__`` of callable objects."""
    return [None if isinstance(f, types.FunctionType) or not hasattr(f, "__dict__")
            else dict(f.__dict__) for f in functions]


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callable
        ``epoch -> factor``, one function or one per parameter group.
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """The scheduler's state, as a dict.

        Everything but the optimiser; the functions only when they are callable objects
        (their ``__dict__``), as PyTorch saves them."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = _callables_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict):
        """Restore a :meth:`~LRScheduler.state_dict`.

        Restore a :meth:`~LRScheduler.state_dict` (the functions stay; callable objects get their
        saved attributes back)."""
        saved = (state_dict.get("lr_lambdas") if isinstance(state_dict, Mapping) else None) or []
        for attrs in saved:
            if attrs is not None and (not isinstance(attrs, Mapping)
                                      or any(callable(v) for v in attrs.values())):
                raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state of "
                                 "an lr_lambda must be a dict of data")
        _restore(self, state_dict, skip=("lr_lambdas",))
        for f, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                f.__dict__.update(attrs)


class MultiplicativeLR(LambdaLR):
    """Multiply the learning rate by ``lr_lambda(epoch)`` at every step after the first.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callable
        ``epoch -> factor``, one function or one per parameter group.
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def get_lr(self):
        if self.last_epoch > 0:
            return [group["lr"] * f(self.last_epoch)
                    for f, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
        return self._current_lrs()


class ConstantLR(LRScheduler):
    """Scale the learning rate by ``factor`` until epoch ``total_iters``, then restore it.

    Parameters
    ----------
    optimizer : Optimizer
    factor : float in [0, 1]
    total_iters : int
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        on = self.last_epoch >= self.total_iters
        return [base * (self.factor + on * (1 - self.factor)) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the learning rate polynomially to 0 over ``total_iters`` epochs.

    Decay the learning rate polynomially to 0 over ``total_iters`` epochs:
    ``lr = base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    Parameters
    ----------
    optimizer : Optimizer
    total_iters : int
    power : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch > self.total_iters:
            return self._current_lrs()
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (1.0 - frac) ** self.power for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts.

    Cosine annealing from the base learning rate to ``eta_min`` over ``T_i`` epochs, then a
    restart; the period starts at ``T_0`` and is multiplied by ``T_mult`` at every restart.

    ``step(epoch)`` accepts a fractional epoch (e.g. ``epoch + batch / batches``) to anneal
    within an epoch.

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int
        The first period, in epochs.
    T_mult : int
        Period growth factor (>= 1).
    eta_min : float
    last_epoch : int
        ``-1`` to start; an epoch index to resume (see :class:`LRScheduler`).
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "  # noqa: TRY004 (as torch)
                             f"{type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cos = math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * (1 + cos) / 2 for base in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or go to ``epoch`` (a float: a point within an epoch).

        As PyTorch's, this scheduler does not warn about the call order.
        """
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # Restarts so far: the largest n with T_0 (T_mult^n - 1) / (T_mult - 1)
                    # <= epoch.
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()


class CyclicLR(LRScheduler):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (step per batch).

    Each cycle rises for ``step_size_up`` steps and falls for ``step_size_down``. The
    amplitude is scaled by ``scale_fn`` (by mode: ``"triangular"`` constant,
    ``"triangular2"`` halved every cycle, ``"exp_range"`` ``gamma ** step``). With
    ``cycle_momentum`` the momentum (or Adam's ``beta1``) cycles the opposite way between
    ``max_momentum`` and ``base_momentum``.

    Parameters
    ----------
    optimizer : Optimizer
    base_lr, max_lr : float or list of float
        One value or one per parameter group.
    step_size_up : int
    step_size_down : int, optional
        Default ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}
    gamma : float
        For ``"exp_range"``.
    scale_fn : callable, optional
        Custom amplitude scaling (overrides ``mode``), of the cycle number or of the step
        (``scale_mode``).
    scale_mode : {"cycle", "iterations"}
    cycle_momentum : bool
    base_momentum, max_momentum : float or list of float
    last_epoch : int
        ``-1`` to start; a step index to resume.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = optimizer.defaults
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for top, base, group in zip(self.max_momentums, self.base_momentums,
                                            optimizer.param_groups):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        self._cyclic_base_lrs = base_lrs
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def scale_fn(self, x):
        """The amplitude factor at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            rise = x / self.step_ratio
        else:
            rise = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * rise * scale
               for base, top in zip(self._cyclic_base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, base, top in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                self._set_momentum(group, top - (top - base) * rise * scale)
        return lrs

    def state_dict(self):
        """The scheduler's state, as a dict.

        Everything but the optimiser and a custom ``scale_fn`` (a function is not saved,
        as in PyTorch)."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_scale_fn_custom")}
        return state


class ReduceLROnPlateau(LRScheduler):
    """Reduce the learning rate when a metric has stopped improving.

    Call ``step(metric)`` once per epoch (e.g. with the validation loss); after more than
    ``patience`` epochs without improvement, every group's learning rate is multiplied by
    ``factor`` (not below ``min_lr``), then ``cooldown`` epochs pass before counting again.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}
        Whether the metric should decrease or increase.
    factor : float < 1
    patience : int
    threshold : float
        The smallest change that counts as an improvement.
    threshold_mode : {"rel", "abs"}
        Relative (``best * (1 -+ threshold)``) or absolute (``best -+ threshold``).
    cooldown : int
    min_lr : float or list of float
    eps : float
        Changes of the learning rate smaller than this are not made.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        self.factor = factor
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        if mode not in ("min", "max"):
            raise ValueError("mode " + str(mode) + " is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("threshold mode " + str(threshold_mode) + " is unknown!")
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = self._current_lrs()
        _track_step_calls(optimizer)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        """True while the cooldown after a reduction lasts."""
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics, epoch=None):
        """Record this epoch's ``metrics`` and reduce the learning rates on a plateau.

        Record this epoch's ``metrics`` (a number or a one-element tensor) and reduce the
        learning rates if it has not improved for more than ``patience`` epochs."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def load_state_dict(self, state_dict):
        _restore(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers together at every :meth:`step` (their factors compose).

    Parameters
    ----------
    schedulers : list of LRScheduler
        Built on the same optimiser.
    optimizer : Optimizer, optional
        Their optimiser (default: the first scheduler's).
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, "
                             "but got no scheduler.")
        if optimizer is None:
            optimizer = schedulers[0].optimizer
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"ChainedScheduler at index {i} should have `optimizer` as "
                                "its attribute.")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler expects all schedulers to belong to the "
                                 f"same optimizer, but got scheduler "
                                 f"{type(scheduler).__name__} at index {i} with a different "
                                 f"one.")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self):
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        _restore_children(self, state_dict)
