"""The job pool: queue order and positions, cancel (queued and running), failures, limits, concurrency.

Queue mechanics use a fake runner that blocks until the test releases it, so order is deterministic
and fast. Cancel of a running job and the failure paths use the real engine on tiny configs.
"""
import threading
import time

import pytest

from core.jobs.manager import JobManager, JobRefused
from core.lab.presets import MOBILENET_ALL
from core.train.config import TrainConfig
from core.train.engine import RunResult
from core.train.events import EpochEnded, RunStarted, from_row
from tests.helpers import wait_until

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=10, epochs=1,
                   trainable=("head",), batch_size=4)


class GatedRunner:
    """A stand-in for run_training: records the order runs start and waits for a per-label gate."""

    def __init__(self):
        self.started: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.running = 0
        self.max_seen = 0

    def gate(self, label: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(label, threading.Event())

    def __call__(self, cfg, on_event, stop, data):
        label = cfg.dataset  # the tests put a label in the dataset field; nothing loads it
        with self.lock:
            self.started.append(label)
            self.running += 1
            self.max_seen = max(self.max_seen, self.running)
        on_event(from_row(RunStarted, {"device": label}))
        try:
            gate = self.gate(label)
            while not gate.wait(0.01):
                if stop.is_set():
                    return RunResult("stopped", "stopped", cfg, [], [], [])
            return RunResult("finished", f"{label} done", cfg, [], [from_row(EpochEnded, {"epoch": 1, "val_acc": 1.0})], [])
        finally:
            with self.lock:
                self.running -= 1


def cfg_named(label: str) -> TrainConfig:
    return TrainConfig(dataset=label)



@pytest.fixture
def gated():
    runner = GatedRunner()
    managers = []

    def make(**kw):
        m = JobManager(runner=runner, **kw)
        managers.append(m)
        return m

    yield runner, make
    for g in list(runner.gates.values()):
        g.set()
    for m in managers:
        m.shutdown(wait=True, timeout=5)


def test_fifo_order_and_positions_with_one_worker(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="u1")
    assert wait_until(lambda: a.snapshot().status == "running")
    b = jm.submit(cfg_named("b"), owner="u2")
    c = jm.submit(cfg_named("c"), owner="u3")
    assert (b.snapshot().status, b.snapshot().position) == ("queued", 1)
    assert (c.snapshot().status, c.snapshot().position) == ("queued", 2)
    assert a.snapshot().position is None
    assert jm.counts() == {"running": 1, "queued": 2, "max_running": 1, "max_queued": 20}

    runner.gate("a").set()
    assert wait_until(lambda: b.snapshot().status == "running")
    assert c.snapshot().position == 1
    runner.gate("b").set()
    runner.gate("c").set()
    assert c.wait(5)
    assert runner.started == ["a", "b", "c"]
    snap = a.snapshot()
    assert snap.status == "finished" and snap.message == "a done"
    assert snap.start == from_row(RunStarted, {"device": "a"})
    assert snap.finished >= snap.started >= snap.created


def test_cancel_queued_job_leaves_queue_at_once(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="u1")
    b = jm.submit(cfg_named("b"), owner="u2")
    c = jm.submit(cfg_named("c"), owner="u3")
    assert wait_until(lambda: a.snapshot().status == "running")
    assert jm.cancel(b.id) is True
    snap = b.snapshot()
    assert snap.status == "stopped" and snap.position is None and snap.finished is not None
    assert c.snapshot().position == 1
    assert jm.cancel(b.id) is False  # already ended
    assert jm.cancel("no-such-job") is False
    runner.gate("a").set()
    runner.gate("c").set()
    assert c.wait(5)
    assert "b" not in runner.started


def test_new_submission_replaces_the_owners_active_runs(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="ada")
    assert wait_until(lambda: a.snapshot().status == "running")
    b = jm.submit(cfg_named("b"), owner="ada")
    assert a.wait(5), "the running run of the same owner is stopped"
    assert a.snapshot().status == "stopped"
    assert wait_until(lambda: b.snapshot().status == "running")
    # a batch (demo variants) replaces too, and keeps its own order
    jobs = jm.submit_batch([("x", cfg_named("x")), ("y", cfg_named("y"))], owner="ada")
    assert b.wait(5) and b.snapshot().status == "stopped"
    assert [j.label for j in jobs] == ["x", "y"] and jobs[0].batch == jobs[1].batch
    runner.gate("x").set()
    runner.gate("y").set()
    assert jobs[1].wait(5)
    assert runner.started == ["a", "b", "x", "y"]


def test_queue_limit_refuses_with_a_clear_message(gated):
    runner, make = gated
    jm = make(max_running=1, max_queued=2, max_per_owner=3)
    jm.submit(cfg_named("a"), owner="u1")
    assert wait_until(lambda: jm.counts()["running"] == 1)
    jm.submit(cfg_named("b"), owner="u2")
    jm.submit(cfg_named("c"), owner="u3")
    with pytest.raises(JobRefused, match="queue is full: 2 runs"):
        jm.submit(cfg_named("d"), owner="u4")
    assert jm.counts()["queued"] == 2
    with pytest.raises(JobRefused, match="At most 3 runs"):
        jm.submit_batch([(str(i), cfg_named(str(i))) for i in range(4)], owner="u5")
    # an owner replacing its own queued run does not need a free place
    c2 = jm.submit(cfg_named("c2"), owner="u3")
    assert c2.snapshot().position == 2


def test_two_workers_run_two_jobs_at_once(gated):
    runner, make = gated
    jm = make(max_running=2)
    a = jm.submit(cfg_named("a"), owner="u1")
    b = jm.submit(cfg_named("b"), owner="u2")
    c = jm.submit(cfg_named("c"), owner="u3")
    assert wait_until(lambda: a.snapshot().status == b.snapshot().status == "running")
    assert c.snapshot().position == 1
    runner.gate("b").set()
    assert wait_until(lambda: c.snapshot().status == "running")
    assert runner.max_seen == 2
    runner.gate("a").set()
    runner.gate("c").set()
    assert c.wait(5) and a.wait(5)
    assert runner.max_seen == 2


def test_release_owner_cancels_after_grace_unless_touched(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="gone")
    jm.release_owner("gone", grace_s=0.2)
    jm.touch_owner("gone")  # the browser came back
    time.sleep(0.4)
    assert a.snapshot().status in ("queued", "running")
    jm.release_owner("gone", grace_s=0.05)
    assert a.wait(5) and a.snapshot().status == "stopped"


def test_env_sets_max_running(monkeypatch):
    monkeypatch.setenv("FTLAB_MAX_JOBS", "3")
    jm = JobManager(runner=GatedRunner())
    try:
        assert jm.max_running == 3
    finally:
        jm.shutdown()


def test_shutdown_stops_everything_and_refuses_new_runs(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="u1")
    b = jm.submit(cfg_named("b"), owner="u2")
    jm.shutdown(wait=True, timeout=5)
    assert a.snapshot().status == "stopped" and b.snapshot().status == "stopped"
    with pytest.raises(JobRefused, match="shutting down"):
        jm.submit(cfg_named("c"), owner="u3")


# ---- with the real engine ----------------------------------------------------------------------

def test_real_tiny_run_records_events_and_result():
    jm = JobManager(max_running=1)
    try:
        job = jm.submit(TINY, owner="t")
        assert job.wait(120)
        snap = job.snapshot()
        assert snap.status == "finished", snap.error
        assert snap.start.train_images == 8 and snap.start.classes == ("face", "not a face")
        assert len(snap.epochs) == 1 and len(snap.batches) == 2  # 8 images / batch 4
        assert snap.result is not None and snap.result.reason == "finished"
        assert 0.0 <= snap.epochs[0].val_acc <= 1.0
    finally:
        jm.shutdown()


def test_cancel_running_job_stops_within_about_one_batch():
    # Every group trains, so each batch takes a noticeable time: 20 batches in all.
    cfg = TrainConfig(dataset="faces", image_size=32, per_class=20, val_per_class=5, epochs=2,
                      trainable=MOBILENET_ALL, batch_size=4)
    jm = JobManager(max_running=1)
    try:
        job = jm.submit(cfg, owner="t")
        assert wait_until(lambda: len(job.snapshot().batches) >= 1, timeout=120)
        seen = len(job.snapshot().batches)
        assert jm.cancel(job.id)
        assert job.wait(60)
        snap = job.snapshot()
        assert snap.status == "stopped" and snap.result.reason == "stopped"
        assert len(snap.batches) <= seen + 1 < 20
    finally:
        jm.shutdown()


@pytest.mark.parametrize("cfg, expected", [
    (TrainConfig(dataset="faces", lr=-1.0), "learning rate must be a positive number"),
    (TrainConfig(dataset="no-such-set", trainable=("head",)), "Unknown dataset 'no-such-set'"),
    (TrainConfig(dataset="faces", model="nope"), "Unknown model 'nope'"),
])
def test_engine_errors_end_the_job_as_failed_with_their_message(cfg, expected):
    jm = JobManager(max_running=1)
    try:
        job = jm.submit(cfg, owner="t")
        assert job.wait(60)
        snap = job.snapshot()
        assert snap.status == "failed"
        assert expected in snap.error and snap.error == snap.message
    finally:
        jm.shutdown()


def test_unexpected_exception_is_reported_with_its_type():
    def broken(cfg, on_event, stop, data):
        raise ZeroDivisionError("boom")

    jm = JobManager(max_running=1, runner=broken)
    try:
        job = jm.submit(TINY, owner="t")
        assert job.wait(5)
        assert job.snapshot().status == "failed"
        assert job.snapshot().error == "ZeroDivisionError: boom"
        # the worker survived and takes the next run
        job2 = jm.submit(TINY, owner="t2")
        assert job2.wait(5) and job2.snapshot().status == "failed"
    finally:
        jm.shutdown()


# ---- a reload or a second tab of the same browser (issue 10) -----------------------------------------

def test_a_run_survives_a_reload_whichever_session_event_comes_first(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="browser")
    jm.touch_owner("browser", "tab-1")
    # Streamlit may close the old session before the reload's new session arrives...
    jm.release_owner("browser", grace_s=0.2, session="tab-1")
    jm.touch_owner("browser", "tab-2")
    # ...or after it: the old session's release must not start a countdown while tab-2 is open.
    jm.touch_owner("browser", "tab-3")
    jm.release_owner("browser", grace_s=0.05, session="tab-2")
    time.sleep(0.4)
    assert a.snapshot().status in ("queued", "running")
    jm.release_owner("browser", grace_s=0.05, session="tab-3")  # the last tab closes for good
    assert a.wait(5) and a.snapshot().status == "stopped"


def test_latest_batch_and_its_tag_are_handed_to_a_new_session(gated):
    runner, make = gated
    jm = make(max_running=1)
    assert jm.latest_batch("browser") == ([], "")
    jm.submit(cfg_named("x"), owner="browser")
    demo = jm.submit_batch([("v1", cfg_named("a")), ("v2", cfg_named("b"))], owner="browser", tag="layers")
    jm.submit(cfg_named("y"), owner="someone-else")
    assert jm.latest_batch("browser") == ([j.id for j in demo], "layers")


def test_ended_runs_are_taken_once_and_ids_do_not_repeat_across_servers(gated):
    runner, make = gated
    jm = make(max_running=1)
    runner.gate("a").set()
    a = jm.submit(cfg_named("a"), owner="browser")
    assert a.wait(5)
    b = jm.submit(cfg_named("b"), owner="browser")  # still running: not taken
    assert [s.id for s in jm.take_ended("browser")] == [a.id]
    assert jm.take_ended("browser") == []  # a second tab asking gets nothing twice
    assert jm.take_ended("someone-else") == []
    runner.gate("b").set()
    assert b.wait(5) and [s.id for s in jm.take_ended("browser")] == [b.id]
    restarted = make(max_running=1)
    assert restarted.submit(cfg_named("c"), owner="browser").id not in (a.id, b.id)


# ---- the LR range test takes the same queue (issue 13) -----------------------------------------------

def test_lr_range_test_waits_its_turn_and_is_not_a_run(gated):
    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="ada")
    assert wait_until(lambda: a.snapshot().status == "running")
    cfg = TrainConfig(dataset="faces", image_size=32, per_class=10, trainable=("head",))
    out = {}
    probe = threading.Thread(target=lambda: out.update(found=jm.run_lr_range(cfg, "ada", steps=10)))
    probe.start()
    assert wait_until(lambda: jm.counts()["queued"] == 1), "the test waits behind the running job"
    assert a.snapshot().status == "running"  # and replaced nothing
    assert jm.jobs_of("ada") == [a] and jm.latest_batch("ada") == ([a.id], "")
    runner.gate("a").set()
    probe.join(120)
    assert len(out["found"]["lrs"]) == 10
    assert [s.id for s in jm.take_ended("ada")] == [a.id]  # never stored as a run
    assert jm.counts()["queued"] == 0


def test_lr_range_test_gives_up_with_a_clear_message_when_the_lab_stays_busy(gated, monkeypatch):
    import core.jobs.probe

    runner, make = gated
    jm = make(max_running=1)
    a = jm.submit(cfg_named("a"), owner="u1")
    jm.submit(cfg_named("b"), owner="u2")
    assert wait_until(lambda: a.snapshot().status == "running")
    monkeypatch.setattr(core.jobs.probe, "PROBE_QUEUE_WAIT_S", 0.2)
    with pytest.raises(JobRefused, match=r"The lab is busy: 2 run\(s\) are training or waiting ahead"):
        jm.run_lr_range(TrainConfig(dataset="faces"), "ada")
    assert jm.counts()["queued"] == 1  # the test left the queue; the other learner's run did not
