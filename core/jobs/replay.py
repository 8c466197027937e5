"""A stored classroom demo as the job snapshots the end-of-run views draw, so a replay is shown by the
same code as a live run."""

from __future__ import annotations

from core.jobs.manager import JobSnapshot
from core.lab.demo_store import StoredDemo, StoredRun

__all__ = ["replay_snapshots"]


def replay_snapshots(stored: StoredDemo) -> list[JobSnapshot]:
    """The stored runs as the JobSnapshots the end-of-run views draw (no model: no photo or export).
    Each carries a RunStarted with the stored validation size, which the 95% intervals need."""
    from core.train.engine import RunResult
    from core.train.events import BatchEnded, EpochEnded, RunStarted, from_row

    t = stored.measured_at

    def one(i: int, r: StoredRun) -> JobSnapshot:
        epochs = [from_row(EpochEnded, e) for e in r.epochs]
        batches = [from_row(BatchEnded, b) for b in r.batches]
        start = from_row(RunStarted, {**r.start, "device": stored.device})
        result = RunResult(
            r.status,
            r.message,
            r.config,
            list(start.classes or ()),
            epochs,
            batches,
            best_epoch=r.best_epoch,
            device=stored.device,
            timings={"total_s": r.seconds},
            cache=start.cache or "",
        )
        return JobSnapshot(
            f"replay-{i}",
            "",
            r.label,
            "replay",
            r.config,
            r.status,
            None,
            start,
            batches,
            epochs,
            result,
            "",
            r.message,
            t,
            t,
            t + r.seconds,
        )

    return [one(i, r) for i, r in enumerate(stored.runs)]
