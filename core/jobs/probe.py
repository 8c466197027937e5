"""The LR range test through the job queue: it trains like a run, so it waits its turn like one, but it
replaces nothing and is not history. Mixed into core.jobs.manager.JobManager, whose queue it uses.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable

from core.jobs.job import Job, JobRefused
from core.train.config import TrainConfig

PROBE_QUEUE_WAIT_S = 20.0  # an LR range test waits this long for a worker before the page gives up
PROBE_RUN_WAIT_S = 120.0  # and this long for the test itself (50 batches: a few seconds on a CPU)


class LrRangeProbe:
    """run_lr_range for JobManager (which provides the queue and the methods declared below)."""

    # Provided by JobManager, which mixes this class in (declared for the type checker).
    _cond: threading.Condition
    _closed: bool
    _queue: deque
    _jobs: dict[str, Job]
    _ids: itertools.count
    _prefix: str
    max_queued: int
    _check_address_locked: Callable[[str, str | None, int], None]
    _renumber_locked: Callable[[], None]
    cancel: Callable[[str], bool]
    counts: Callable[[], dict[str, int]]

    def run_lr_range(self, config: TrainConfig, owner: str, data=None, address: str | None = None, **options) -> dict:
        """Run an LR range test through the queue and wait for it (a page shows a spinner meanwhile):
        it trains like a run, so it waits its turn like one, but it replaces nothing and is not
        history. Raises JobRefused, saying why, when the queue is full, the lab stays busy or it fails."""
        with self._cond:
            if self._closed:
                raise JobRefused("The lab is shutting down; no new runs are accepted.")
            if len(self._queue) >= self.max_queued:
                raise JobRefused(
                    f"The queue is full: {self.max_queued} runs are already waiting. Try again in a minute."
                )
            self._check_address_locked(owner, address, 1)
            job = Job(
                id=f"probe-{self._prefix}-{next(self._ids)}",
                owner=owner,
                config=config,
                label="LR range test",
                data=data,
                kind="lr_range",
                options=options,
                address=address or "local",
            )
            self._jobs[job.id] = job
            self._queue.append(job)
            self._renumber_locked()
            self._cond.notify_all()
        try:
            return self._await_probe(job)
        finally:
            with self._cond:
                self._jobs.pop(job.id, None)

    def _await_probe(self, job: Job) -> dict:
        if not job.wait(PROBE_QUEUE_WAIT_S) and job.snapshot().status == "queued":
            ahead = (job.snapshot().position or 1) - 1 + self.counts()["running"]
            self.cancel(job.id)
            raise JobRefused(
                f"The lab is busy: {ahead} run(s) are training or waiting ahead of this test. "
                f"Try again when they have finished."
            )
        if not job.wait(PROBE_RUN_WAIT_S):
            self.cancel(job.id)
            job.wait(10)
            raise JobRefused(
                f"The LR range test took longer than {PROBE_RUN_WAIT_S:.0f} s and was stopped: "
                f"try smaller images or fewer images per class."
            )
        snap = job.snapshot()
        if snap.status != "finished":
            raise JobRefused(snap.error or snap.message)
        assert isinstance(snap.result, dict)  # a finished lr_range job holds the finder's dict
        return snap.result
