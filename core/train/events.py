"""What a training run tells its watchers, as one small frozen type per event.

Why types instead of dicts: the Lab page, the job pool, the CLI, the benchmarks and the tests all
read these events, and each used to repeat string keys ("val_acc", "global_step") that only the
engine defined. A typo there failed at run time, in a page, a minute into a run. Here every field
is declared once, with its meaning; readers use attributes, and a wrong name fails at import-time
checks and in every test that touches it.

The events are plain values (numbers, strings, tuples and small dicts of them), so they pickle
cheaply: they cross a process boundary when runs move into worker processes. A BatchEnded pickles
to about 200 bytes. ``as_row`` turns one into a dict for charts, CSV and JSON records;
``from_row`` reads such a record back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class GroupCount:
    """Parameters of one layer group when the run starts (total, and how many will learn now)."""

    name: str
    total: int
    trainable: int


@dataclass(frozen=True)
class RunStarted:
    """Data, model and optimizer are ready; the first batch is next."""

    device: str
    train_images: int
    val_images: int
    classes: tuple[str, ...]
    cache: str  # how the frozen prefix is handled: a core.train.freezing.CACHE_* code
    prefix: tuple[str, ...]  # the frozen prefix: groups before the first that ever trains
    trainable_params: int
    total_params: int
    notes: tuple[str, ...]  # adjustments the learner should know about (a lowered batch size)
    groups: tuple[GroupCount, ...]
    elapsed: float  # seconds since run_training was called


@dataclass(frozen=True)
class BatchEnded:
    """One optimizer step."""

    epoch: int
    step: int  # 1-based within the epoch
    steps: int  # steps per epoch
    global_step: int
    loss: float
    acc: float  # accuracy on this batch
    images_per_s: float  # training images per second since training began
    elapsed: float
    lrs: dict[str, float]  # the rate each trainable group stepped with (core.train.schedules: peak x factor)


@dataclass(frozen=True)
class GroupsUnfrozen:
    """Layer groups that start learning at the beginning of `epoch` (gradual unfreezing)."""

    epoch: int
    groups: tuple[str, ...]


@dataclass(frozen=True)
class EpochEnded:
    """An epoch's training and its validation pass."""

    epoch: int
    epochs: int  # planned epochs of the run
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    trainable_params: int
    total_params: int
    trainable_groups: tuple[str, ...]
    weight_change: dict[str, float]  # ||W - W0|| / ||W0|| per group
    lrs: dict[str, float]  # learning rate per trainable group
    elapsed: float
    images_per_s: float


@dataclass(frozen=True)
class RunEnded:
    """The run is over; `summary` is RunResult.summary()."""

    reason: str  # finished | early_stopped | stopped | diverged
    message: str
    summary: dict[str, Any]


Event = RunStarted | BatchEnded | GroupsUnfrozen | EpochEnded | RunEnded
EventSink = Callable[[Event], None]


def as_row(event: Event) -> dict[str, Any]:
    """The event as a plain dict (charts, CSV, JSON records). Shallow: values are shared, not copied.

    dataclasses.asdict deep-copies every value: 54 ms per 1,000 batches, paid on every redraw of
    the live loss chart (once a second); this takes about a tenth of that.
    """
    kind: type = type(event)  # any event class (a type is hashable, so _names can cache by it)
    return {name: _plain(getattr(event, name)) for name in _names(kind)}


@cache
def _names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple) and value and is_dataclass(value[0]):
        return [asdict(v) for v in value]  # RunStarted.groups
    return value


def from_row(kind: type, row: dict[str, Any]):
    """An event of type `kind` from a stored row. Fields the record did not keep read as 0 (a demo
    record keeps only what its charts draw); lists come back as tuples where the field is a tuple."""
    values = {}
    for f in fields(kind):
        value = row.get(f.name, 0)
        if isinstance(value, list) and "GroupCount" in str(f.type):
            value = [GroupCount(**g) for g in value]
        values[f.name] = tuple(value) if isinstance(value, list) and "tuple" in str(f.type) else value
    return kind(**values)


def best_epoch(epochs: Sequence[Any]):
    """The run's best epoch: the first with the lowest finite validation loss, which is the epoch
    early stopping keeps. Every view (summary, charts, run quiz, Compare) and the engine ask this one
    function, so "best epoch" cannot mean two things. Takes EpochEnded events or their rows; None
    when no epoch has a finite validation loss."""

    def loss(e) -> float:
        value = e["val_loss"] if isinstance(e, dict) else e.val_loss
        return value if value is not None and math.isfinite(value) else math.inf

    best = None
    for e in epochs:
        if loss(e) < (loss(best) if best is not None else math.inf):
            best = e
    return best


def final_epoch(status: str, epochs: list, best: int | None = None):
    """The epoch whose weights the run hands back: early stopping restores its best epoch (`best`,
    the engine's RunResult.best_epoch), any other end keeps the last."""
    if status == "early_stopped" and best and best <= len(epochs):
        return epochs[best - 1]
    return epochs[-1] if epochs else None
