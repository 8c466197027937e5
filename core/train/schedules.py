"""Learning-rate schedules: constant, cosine and one-cycle, computed by torch's own schedulers.

Why a factor curve instead of a scheduler on the real optimizer: a torch scheduler reads each
parameter group's rate once, when it is built, and gradual unfreezing gives the optimizer new
groups later (each with its own discriminative rate). So the chosen torch scheduler runs once on a
one-parameter dummy optimizer whose rate is 1.0, and what it sets there, step by step, is the
*factor* every real group's rate is multiplied by: group lr = its own peak lr x factor(step). That is
exact for every group, whenever it joined, and it is the same curve the Lab draws before a run
(`planned_rates`), so what is drawn is what runs.

The rate each group is given in the config (the global learning rate or its per-group rate) is its
peak: one-cycle climbs to it and cosine starts from it. The LR finder's suggestion therefore sets
the peak. Warm-up (a share of the run's steps) rises linearly from peak/25 to the peak, the same
start as one-cycle's (torch's div_factor=25); cosine then falls to FLOOR x peak on the last batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a scheduler is built: the names import without it
    import torch
    from torch.optim import lr_scheduler as sched

FLOOR = 0.01  # cosine's last batch trains at 1% of the peak (eta_min): slow, not stopped
WARMUP_START = 1 / 25  # a warm-up starts at peak/25, as one-cycle does with torch's div_factor=25
PEAK = "peak_lr"  # where each optimizer group keeps its own peak rate (set when the group is first seen)


@dataclass(frozen=True)
class Schedule:
    """One schedule: its title, one line on what it does, and its torch scheduler over a run."""

    title: str
    about: str
    build: Callable[[torch.optim.Optimizer, int, int], sched.LRScheduler]  # (optimizer, steps, warm-up steps)
    needs_warmup: bool = False
    min_steps: int = 1  # a shorter run keeps the rate at the peak


def _warmup(opt: torch.optim.Optimizer, warm: int) -> sched.LRScheduler:
    from torch.optim import lr_scheduler as sched

    return sched.LinearLR(opt, start_factor=WARMUP_START, end_factor=1.0, total_iters=warm)


def _then(opt, warm: int, main: sched.LRScheduler) -> sched.LRScheduler:
    """`main` alone, or after a linear warm-up of `warm` steps (SequentialLR hands over at `warm`)."""
    from torch.optim import lr_scheduler as sched

    if warm <= 0:
        return main
    return sched.SequentialLR(opt, [_warmup(opt, warm), main], milestones=[warm])


def _constant(opt, steps: int, warm: int) -> sched.LRScheduler:
    from torch.optim import lr_scheduler as sched

    return _then(opt, warm, sched.ConstantLR(opt, factor=1.0, total_iters=0))


def _cosine(opt, steps: int, warm: int) -> sched.LRScheduler:
    from torch.optim import lr_scheduler as sched

    # T_max: the steps after the warm-up, less one, so that the last batch is the one at the floor.
    return _then(opt, warm, sched.CosineAnnealingLR(opt, T_max=max(1, steps - warm - 1), eta_min=FLOOR))


ONE_CYCLE_MIN = 3  # a climb of two steps (start, peak) and a fall of one


def _one_cycle(opt, steps: int, warm: int) -> sched.LRScheduler:
    from torch.optim import lr_scheduler as sched

    if steps < ONE_CYCLE_MIN:  # OneCycleLR divides by each phase's length
        return _constant(opt, steps, 0)
    warm = min(max(2, warm), steps - 1)  # the climb ends on step warm-1 (at the peak), so 2 at least
    # Only the rate follows the cycle (cycle_momentum=False): the optimizer's momentum stays the learner's.
    return sched.OneCycleLR(
        opt, max_lr=1.0, total_steps=steps, pct_start=warm / steps, anneal_strategy="cos", cycle_momentum=False
    )


SCHEDULES: dict[str, Schedule] = {
    "constant": Schedule("Constant", "the same rate on every batch (after the warm-up, if any)", _constant),
    "cosine": Schedule("Cosine", f"falls from the peak to {FLOOR:.0%} of it along a half cosine", _cosine),
    "onecycle": Schedule(
        "One-cycle",
        "climbs to the peak during the warm-up, then anneals to almost zero",
        _one_cycle,
        needs_warmup=True,
        min_steps=ONE_CYCLE_MIN,
    ),
}
DEFAULT = "constant"  # existing runs, links and demo claims were measured with a constant rate


def moves(cfg) -> bool:
    """Whether the rate changes during a run (`cfg` a TrainConfig): only then is it worth a chart."""
    return cfg.schedule != "constant" or cfg.warmup > 0


def describe(cfg) -> str:
    """The schedule in a few words, for tables of runs: 'constant', 'one-cycle, 30% warm-up'."""
    name = SCHEDULES[cfg.schedule].title.lower()
    return f"{name}, {cfg.warmup:.0%} warm-up" if cfg.warmup > 0 else name


def warmup_steps(total_steps: int, warmup: float) -> int:
    """Warm-up steps for a share of the run; at least one when a warm-up is asked for at all."""
    return min(total_steps - 1, max(1, round(warmup * total_steps))) if warmup > 0 and total_steps > 1 else 0


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: batches have a fixed shape, so the ragged tail is dropped."""
    return max(1, n_train // max(1, min(batch_size, n_train)))


@lru_cache(maxsize=64)  # the Lab redraws its chart on every widget change; a curve is a few ms
def factors(name: str, total_steps: int, warmup: float = 0.0) -> tuple[float, ...]:
    """The rate factor of every step of a run (step 0 first): what torch's scheduler sets on a
    one-group optimizer whose rate is 1.0, read before each optimizer step, as the run uses it."""
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    scheduler = SCHEDULES[name].build(opt, total_steps, warmup_steps(total_steps, warmup))
    opt.step()  # no gradient, nothing moves: torch warns if its first scheduler step comes before one
    out = []
    for _ in range(total_steps):
        out.append(float(opt.param_groups[0]["lr"]))
        scheduler.step()  # (stepping the dummy optimizer here too: 377 ms for 480 steps, against 2 ms)
    return tuple(out)


def set_rates(optimizer: torch.optim.Optimizer, factor: float) -> dict[str, float]:
    """Set each parameter group's rate to its peak x factor; returns the rate per named group.
    A group's peak is the rate it carried when first seen here (the config's rate for it)."""
    rates: dict[str, float] = {}
    for group in optimizer.param_groups:
        group.setdefault(PEAK, group["lr"])
        group["lr"] = group[PEAK] * factor
        rates[group.get("name", str(len(rates)))] = group["lr"]
    return rates


def planned_rates(cfg, n_train: int) -> dict[str, list[tuple[float, float]]]:
    """Per layer group, (epoch position, rate) of every step the run will take, from the step where
    the group starts training: the chart the Lab draws before the run. `cfg` is a TrainConfig."""
    per_epoch = steps_per_epoch(n_train, cfg.batch_size)
    curve = factors(cfg.schedule, cfg.epochs * per_epoch, cfg.warmup)
    opens = {g: 1 for g in cfg.trainable}
    for epoch, groups in sorted(cfg.unfreeze_at.items()):
        for g in groups:
            opens.setdefault(g, int(epoch))
    out = {}
    for g, first in opens.items():
        peak = float(cfg.group_lr.get(g, cfg.lr))
        start = (first - 1) * per_epoch
        out[g] = [((i + 1) / per_epoch, peak * curve[i]) for i in range(start, len(curve))]
    return out
