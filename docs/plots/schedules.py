"""Figure of page 11: the learning rate against the step for each of pynn's schedulers, read
from an SGD optimiser that the scheduler drives."""

from pathlib import Path

import numpy as np

from pynn import nn
from pynn.optim import SGD, lr_scheduler

STEPS, LR = 100, 0.1


def _record(make_scheduler):
    """The learning rate and momentum of the one parameter group at each step."""
    param = nn.Parameter(np.zeros(1, np.float32))
    opt = SGD([param], lr=LR, momentum=0.9)
    sched = make_scheduler(opt)
    lrs, momenta = [], []
    for _ in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()  # no gradient: the parameter is skipped, but the order is the real one
        sched.step()
    return np.array(lrs), np.array(momenta)


def _warmup_cosine(opt):
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS - 10)
    return lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[10])


SCHEDULES = [
    ("StepLR(step_size=25, gamma=0.5)",
     lambda opt: lr_scheduler.StepLR(opt, step_size=25, gamma=0.5)),
    ("MultiStepLR(milestones=[50, 75], gamma=0.1)",
     lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[50, 75], gamma=0.1)),
    ("ExponentialLR(gamma=0.96)",
     lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.96)),
    (f"CosineAnnealingLR(T_max={STEPS})",
     lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)),
    ("LinearLR warm-up (10) then cosine:\nSequentialLR(milestones=[10])", _warmup_cosine),
    (f"OneCycleLR(max_lr={LR}, total_steps={STEPS})",
     lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS)),
]


def make(outdir):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4), sharex=True, sharey=True)
    steps = np.arange(STEPS)
    for ax, (title, make_scheduler) in zip(axes.flat, SCHEDULES):
        lrs, momenta = _record(make_scheduler)
        ax.plot(steps, lrs, linewidth=2, color="C0", label="learning rate", drawstyle="steps-post")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, LR * 1.08)
        ax.grid(True, alpha=0.3)
        if title.startswith("OneCycleLR"):
            twin = ax.twinx()
            twin.plot(steps, momenta, "--", color="C1", label="momentum (right axis)")
            twin.set_ylim(0.8, 1.0)
            handles = ax.get_lines() + twin.get_lines()
            ax.legend(handles, [h.get_label() for h in handles], loc="upper right",
                      fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    fig.suptitle(f"pynn's learning-rate schedulers on SGD(lr={LR}), {STEPS} steps")
    fig.tight_layout()
    path = Path(outdir) / "schedules.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
