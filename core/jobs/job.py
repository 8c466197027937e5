"""One training job as the pool holds it (``Job``: filled by a worker thread, behind a lock) and as a page
draws it (``JobSnapshot``: a consistent copy). core.jobs.manager queues and runs them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from core.jobs.protocol import StopFlag
from core.train.config import TrainConfig
from core.train.engine import RunResult
from core.train.events import BatchEnded, EpochEnded, Event, RunStarted

ACTIVE = ("queued", "running")
ENDED = ("finished", "stopped", "diverged", "early_stopped", "failed")


class JobRefused(RuntimeError):
    """The pool cannot take this run now; the message says why and what to do."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job for drawing: lists are copies, so the worker can keep appending."""

    id: str
    owner: str
    label: str
    batch: str
    config: TrainConfig
    status: str
    position: int | None  # 1-based place in the queue while queued
    start: RunStarted | None
    batches: list[BatchEnded]
    epochs: list[EpochEnded]
    result: RunResult | dict | None  # a dict for an LR range test
    error: str
    message: str
    created: float
    started: float | None
    finished: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass
class Job:
    id: str
    owner: str
    config: TrainConfig
    label: str = ""
    batch: str = ""  # jobs submitted together (a demo's variants) share this
    tag: str = ""  # what the batch is (a demo's preset id), for a session that re-attaches to it
    collected: bool = False  # taken into the owner's history (take_ended), so it is stored once
    data: object | None = None  # optional PreparedData (own uploaded images)
    kind: str = "train"  # or "lr_range": a probe, never shown as a run nor kept in history
    address: str = "local"  # the network address it came from (limits per address)
    options: dict = field(default_factory=dict)  # the task's extra arguments (the LR test's steps)
    status: str = "queued"
    position: int | None = None
    start: RunStarted | None = None
    batches: list[BatchEnded] = field(default_factory=list)
    epochs: list[EpochEnded] = field(default_factory=list)
    result: RunResult | dict | None = None  # a dict for an LR range test
    error: str = ""
    message: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stop: threading.Event = field(default_factory=StopFlag)  # passed on to the worker the moment it is set
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, event: Event) -> None:
        """The engine's event sink (called in the worker thread)."""
        with self.lock:
            if isinstance(event, BatchEnded):
                self.batches.append(event)
            elif isinstance(event, EpochEnded):
                self.epochs.append(event)
            elif isinstance(event, RunStarted):
                self.start = event

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            return JobSnapshot(
                self.id,
                self.owner,
                self.label,
                self.batch,
                self.config,
                self.status,
                self.position,
                self.start,
                list(self.batches),
                list(self.epochs),
                self.result,
                self.error,
                self.message,
                self.created,
                self.started,
                self.finished,
            )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (for tests and scripts, never in a page script)."""
        return self.done.wait(timeout)

    def _end(self, status: str, message: str, error: str = "", result: RunResult | None = None) -> None:
        with self.lock:
            self.status, self.message, self.error = status, message, error
            self.result = result
            self.position = None
            self.finished = time.time()
        self.done.set()
