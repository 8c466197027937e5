"""Limits per learner in the job pool: many browsers from one machine (cookies are free to make)
cannot fill the class's queue; each refusal says the limit and where the learner's runs stand."""
import pytest

from core import settings
from core.jobs.manager import JobManager, JobRefused
from tests.helpers import wait_until
from tests.test_jobs import GatedRunner, cfg_named


@pytest.fixture
def manager():
    runner = GatedRunner()
    jm = JobManager(runner=runner, max_running=1, max_queued=20, max_per_address=3)
    yield jm
    for gate in list(runner.gates.values()):
        gate.set()
    jm.shutdown(wait=True, timeout=5)


def test_twenty_fresh_browsers_from_one_address_cannot_fill_the_queue(manager):
    first = manager.submit(cfg_named("a0"), owner="cookie-0", address="10.0.0.9")
    assert wait_until(lambda: first.snapshot().status == "running")
    manager.submit(cfg_named("a1"), owner="cookie-1", address="10.0.0.9")
    manager.submit(cfg_named("a2"), owner="cookie-2", address="10.0.0.9")
    with pytest.raises(JobRefused) as refused:
        manager.submit(cfg_named("a3"), owner="cookie-3", address="10.0.0.9")
    message = str(refused.value)
    assert "3 runs queued or running" in message and "at most 3 per address" in message
    assert "number 1 in line" in message  # where this address's first waiting run stands
    assert manager.counts()["queued"] == 2
    other = manager.submit(cfg_named("b0"), owner="classmate", address="10.0.0.10")  # others still get in
    assert other.snapshot().position == 3


def test_a_browser_replacing_its_own_runs_is_not_held_by_the_address_limit(manager):
    for i in range(3):
        manager.submit(cfg_named(f"a{i}"), owner=f"cookie-{i}", address="10.0.0.9")
    again = manager.submit(cfg_named("a0-again"), owner="cookie-0", address="10.0.0.9")  # replaces its run
    assert again.snapshot().status in ("queued", "running")


def test_a_batch_larger_than_the_per_browser_limit_says_the_limit():
    jm = JobManager(runner=GatedRunner(), max_running=1, max_per_owner=2)
    with pytest.raises(JobRefused, match="At most 2 runs at once per learner"):
        jm.submit_batch([("x", cfg_named("x"))] * 3, owner="u1")
    jm.shutdown(wait=True, timeout=5)


def test_the_limits_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("FTLAB_MAX_JOBS_PER_ADDRESS", "5")
    monkeypatch.setenv("FTLAB_MAX_JOBS_PER_BROWSER", "2")
    now = settings.current()
    assert (now.max_jobs_per_address, now.max_jobs_per_browser) == (5, 2)
    jm = JobManager(runner=GatedRunner(), max_running=1)
    assert (jm.max_per_address, jm.max_per_owner) == (5, 2)
    jm.shutdown(wait=True, timeout=5)
