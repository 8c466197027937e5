"""A bounded pool of training jobs shared by every session of one server.

Why a pool: a classroom of 30 learners pressing Start at once must not start 30 trainings on one CPU
(each would crawl, and memory would run out). Jobs wait in a FIFO queue and know their place in line;
at most ``max_running`` train at a time. Training never runs in the server's process: each of the
manager's ``max_running`` threads hands its job to a worker (core.jobs.workers: a persistent process at a
lower CPU priority, or a Ray actor with FTLAB_RAY_ADDRESS set) and pumps the events that come back
into a lock-protected ``Job``, which the page reads through ``Job.snapshot()`` once a second. The LR
range test takes the same queue (``run_lr_range``), so it never trains beside a full pool either.

Policy for one learner (an "owner": one browser, whatever its tabs and reloads): submitting a new
run *replaces* that owner's active runs (they are cancelled). A learner who changes a setting and presses Start again
means "run this instead"; refusing would force a hunt for the Stop button, and replacing keeps
abandoned runs from filling the queue. A classroom demo submits its variants together as one batch.

An owner's runs outlive a page reload: the manager knows which sessions (tabs) of an owner are open,
hands a new session the owner's latest batch (``latest_batch``), and cancels runs only when no
session of their owner has come back within a grace period after the last one closed.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

from core import settings
from core.errors import LearnerError
from core.jobs.backends import default_backend
from core.jobs.job import ACTIVE, ENDED, Job
from core.jobs.job import JobRefused as JobRefused  # re-exported: pages name it here
from core.jobs.job import JobSnapshot as JobSnapshot  # re-exported: pages name it here
from core.jobs.probe import LrRangeProbe
from core.jobs.protocol import WorkerError
from core.jobs.workers import InProcess
from core.train.config import LAB_DEFAULT, TrainConfig
from core.train.engine import RunResult

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 20
KEEP_ENDED = 30  # ended jobs kept until their sessions collect them (each result holds a model)

Runner = Callable[..., RunResult]


def default_max_running() -> int:
    """FTLAB_MAX_JOBS, else 1 on a CPU (two runs on 2 cores are each half as fast) and 2 on a GPU."""
    configured = settings.current().max_jobs
    if configured is not None:
        return configured
    import torch

    return 2 if torch.cuda.is_available() else 1


class JobManager(LrRangeProbe):
    """FIFO queue + ``max_running`` pump threads, each feeding one worker. Thread-safe; one per server.

    ``runner`` (run_training's signature) runs jobs in the pump thread itself: for tests that need
    deterministic fakes. ``backend`` replaces the default worker pool (core.jobs.backends.default_backend),
    whose workers warm up on the ``warm_up`` config when one is given."""

    def __init__(
        self,
        max_running: int | None = None,
        max_queued: int = DEFAULT_MAX_QUEUED,
        max_per_owner: int | None = None,
        runner: Runner | None = None,
        backend=None,
        warm_up: TrainConfig | None = None,
        max_per_address: int | None = None,
    ):
        self.max_running = max_running if max_running is not None else default_max_running()
        self.max_queued = max_queued
        limits = settings.current()
        self.max_per_owner = max_per_owner or limits.max_jobs_per_browser
        # Cookies are free to make, addresses are not: one machine cannot fill the class's queue.
        self.max_per_address = max_per_address or limits.max_jobs_per_address
        if backend is None:
            backend = InProcess(runner) if runner is not None else default_backend(self.max_running, warm_up)
        self.backend = backend
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        # Job ids key the learners' stored run history, so they must not repeat after a restart.
        self._prefix = uuid.uuid4().hex[:6]
        self._sessions: dict[str, set[str]] = {}  # owner -> its open sessions (tabs)
        self._closed = False
        self._release_timers: dict[str, threading.Timer] = {}
        self._workers = [
            threading.Thread(target=self._work, name=f"ftlab-job-worker-{i}", daemon=True)
            for i in range(self.max_running)
        ]
        for w in self._workers:
            w.start()

    # ---- submitting ----------------------------------------------------------------------------

    def submit(self, config: TrainConfig, owner: str, label: str = "", data=None, address: str | None = None) -> Job:
        """Queue one run for `owner`, replacing (cancelling) that owner's active runs."""
        return self.submit_batch([(label, config)], owner, data=data, address=address)[0]

    def submit_batch(
        self, runs: list[tuple[str, TrainConfig]], owner: str, data=None, tag: str = "", address: str | None = None
    ) -> list[Job]:
        """Queue several runs (a demo's variants) in order, replacing the owner's active runs.
        Raises JobRefused when the queue cannot take them all, or the owner's network `address`
        (None: the server's own machine) has its limit of runs from other browsers (then nothing
        is queued)."""
        if not runs:
            raise JobRefused("Nothing to run.")
        if len(runs) > self.max_per_owner:
            raise JobRefused(f"At most {self.max_per_owner} runs at once per learner (asked for {len(runs)}).")
        with self._cond:
            if self._closed:
                raise JobRefused("The lab is shutting down; no new runs are accepted.")
            replaced = [j for j in self._runs_locked(owner) if j.status in ACTIVE]
            self._check_address_locked(owner, address, len(runs))
            waiting_after = sum(1 for j in self._queue if j.owner != owner) + len(runs)
            if waiting_after > self.max_queued:
                raise JobRefused(
                    f"The queue is full: {self.max_queued} runs are already waiting. Try again in a "
                    f"minute, or make runs shorter (fewer epochs, smaller images) so the line moves faster."
                )
            for old in replaced:
                self._cancel_locked(old, "Replaced by a newer run from the same learner.")
            batch = f"b{next(self._ids)}"
            jobs = []
            for label, cfg in runs:
                job = Job(
                    id=f"job-{self._prefix}-{next(self._ids)}",
                    owner=owner,
                    config=cfg,
                    label=label,
                    batch=batch,
                    tag=tag,
                    data=data,
                    address=address or "local",
                )
                self._jobs[job.id] = job
                self._queue.append(job)
                jobs.append(job)
            self._renumber_locked()
            self._forget_old_locked()
            self._cond.notify_all()
        return jobs

    # ---- asking and cancelling -----------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        job = self.get(job_id)
        return job.snapshot() if job else None

    def jobs_of(self, owner: str) -> list[Job]:
        with self._cond:
            return self._runs_locked(owner)

    def latest_batch(self, owner: str) -> tuple[list[str], str]:
        """(job ids, tag) of the owner's newest batch still kept here, active or ended; ([], "") if
        none. A reloaded page shows these again: live if they still run, else their outcome."""
        with self._cond:
            mine = self._runs_locked(owner)
            if not mine:
                return [], ""
            newest = max(mine, key=lambda j: j.created).batch
            batch = [j for j in mine if j.batch == newest]
            return [j.id for j in batch], batch[0].tag

    def take_ended(self, owner: str) -> list[JobSnapshot]:
        """The owner's ended runs not taken before, in the order they were submitted (a demo's
        variants stay in order), each handed out once: two tabs of a browser never record one run twice."""
        with self._cond:
            ended = [j for j in self._runs_locked(owner) if j.status in ENDED and not j.collected]
            for job in ended:
                job.collected = True
        return [j.snapshot() for j in ended]  # self._jobs keeps submission order

    def counts(self) -> dict[str, int]:
        with self._cond:
            running = sum(1 for j in self._jobs.values() if j.status == "running")
            return {
                "running": running,
                "queued": len(self._queue),
                "max_running": self.max_running,
                "max_queued": self.max_queued,
            }

    def cancel(self, job_id: str) -> bool:
        """Stop a job: a queued one leaves the queue at once; a running one stops within one batch.
        Returns False when there is no such job or it has already ended."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.status not in ACTIVE:
                return False
            self._cancel_locked(job, "Stopped before it started.")
            return True

    def cancel_owner(self, owner: str) -> int:
        with self._cond:
            active = [j for j in self._jobs.values() if j.owner == owner and j.status in ACTIVE]  # probes too
            for job in active:
                self._cancel_locked(job, "Stopped: the learner's session ended.")
            return len(active)

    def release_owner(self, owner: str, grace_s: float = 30.0, session: str | None = None) -> None:
        """A session went away: cancel its runs after `grace_s` unless it comes back (touch_owner).
        The grace period covers a reload and a network blip. While another session of the owner
        (a tab of the same browser) is still open, nothing is scheduled."""
        with self._cond:
            live = self._sessions.get(owner, set())
            live.discard(session)
            if live:
                return
            self._sessions.pop(owner, None)
        if grace_s <= 0:
            self.cancel_owner(owner)
            return
        timer = threading.Timer(grace_s, self._release_now, args=(owner,))
        timer.daemon = True
        with self._cond:
            old = self._release_timers.pop(owner, None)
            self._release_timers[owner] = timer
        if old:
            old.cancel()
        timer.start()

    def touch_owner(self, owner: str, session: str | None = None) -> None:
        """The owner's session is alive (and open, if `session` is named): forget a pending release."""
        with self._cond:
            if session is not None:
                self._sessions.setdefault(owner, set()).add(session)
            timer = self._release_timers.pop(owner, None)
        if timer:
            timer.cancel()

    def _release_now(self, owner: str) -> None:
        with self._cond:
            if self._release_timers.pop(owner, None) is None or self._sessions.get(owner):
                return  # touched in the meantime, or a session of the owner is open again
        self.cancel_owner(owner)

    def shutdown(self, wait: bool = True, timeout: float = 30.0) -> None:
        """Refuse new runs, cancel every queued and running one, and (optionally) join the pump threads
        and end the worker processes. Without `wait`, workers end with the server (they are daemons)."""
        with self._cond:
            self._closed = True
            for job in list(self._jobs.values()):
                if job.status in ACTIVE:
                    self._cancel_locked(job, "Stopped: the lab server is shutting down.")
            timers = list(self._release_timers.values())
            self._release_timers.clear()
            self._cond.notify_all()
        for t in timers:
            t.cancel()
        if wait:
            for w in self._workers:
                w.join(timeout)
            self.backend.close()

    # ---- internals (call with self._cond held) ---------------------------------------------------

    def _runs_locked(self, owner: str) -> list[Job]:
        """The owner's training runs (LR range tests are not runs: they replace nothing, show nowhere)."""
        return [j for j in self._jobs.values() if j.owner == owner and j.kind == "train"]

    def _check_address_locked(self, owner: str, address: str | None, adding: int) -> None:
        """JobRefused when `adding` runs would take `address` past max_per_address (the owner's own
        active runs do not count: a new submission replaces them)."""
        theirs = [
            j
            for j in self._jobs.values()
            if j.address == (address or "local") and j.owner != owner and j.status in ACTIVE
        ]
        if len(theirs) + adding <= self.max_per_address:
            return
        waiting = sorted(j.position for j in theirs if j.status == "queued" and j.position)
        where = f"the first of them is number {waiting[0]} in line" if waiting else "they are all training now"
        raise JobRefused(
            f"Other browsers on your network address already have {len(theirs)} runs queued or running "
            f"(at most {self.max_per_address} per address, so that one machine cannot fill the class's "
            f"queue); {where}. Try again when one of them ends."
        )

    def _cancel_locked(self, job: Job, queued_message: str) -> None:
        job.stop.set()
        if job.status == "queued":
            try:
                self._queue.remove(job)
            except ValueError:
                pass
            job._end("stopped", queued_message)
            self._renumber_locked()
        # a running job sees job.stop between batches and ends as 'stopped' in its worker

    def _renumber_locked(self) -> None:
        for i, job in enumerate(self._queue, start=1):
            with job.lock:
                job.position = i

    def _forget_old_locked(self) -> None:
        ended = [j for j in self._jobs.values() if j.status in ENDED]
        for job in sorted(ended, key=lambda j: j.finished or 0)[: max(0, len(ended) - KEEP_ENDED)]:
            del self._jobs[job.id]

    # ---- workers ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed and not self._queue:
                    return
                job = self._queue.popleft()
                with job.lock:
                    job.status, job.position, job.started = "running", None, time.time()
                self._renumber_locked()
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            result = self.backend.run(job.kind, job.config, job.on_event, job.stop, job.data, job.options)
        except WorkerError as exc:  # the worker died or cannot be reached: its message is for the learner
            job._end("failed", str(exc), error=str(exc))
            return
        except BaseException as exc:  # noqa: BLE001 - a job's failure must end the job, never the worker
            # A LearnerError carries a message written for the learner; anything else is a bug, so
            # name its type and log the traceback for the teacher.
            if isinstance(exc, LearnerError):
                message = str(exc)
            else:
                log.exception("Training job %s failed", job.id)
                message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            job._end("failed", message, error=message)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt / SystemExit still end the thread
            return
        finally:
            job.data = None  # uploaded tensors are not needed once the run is over
        if job.kind == "train":
            job._end(result.reason, result.message, result=result)
        else:
            stopped = job.stop.is_set()
            job._end(
                "stopped" if stopped else "finished", "Stopped before it finished." if stopped else "", result=result
            )


# ---- the server's one manager -----------------------------------------------------------------------

_SERVER_MANAGER: JobManager | None = None
_SERVER_LOCK = threading.Lock()


def server_manager() -> JobManager:
    """This process's job manager, made on first use: by serve.py before the server listens (so the
    training workers are warm by the first Start), else by the first Lab page. A manager that could
    not be made (Ray unreachable) raises here and is tried again on the next call."""
    global _SERVER_MANAGER
    with _SERVER_LOCK:
        if _SERVER_MANAGER is None:
            _SERVER_MANAGER = JobManager(warm_up=LAB_DEFAULT)
            atexit.register(_SERVER_MANAGER.shutdown, wait=False)  # a stopped server stops its runs
        return _SERVER_MANAGER
