"""Training out of the server's process (issue 13, item 1): real worker processes, real engine.

One pool serves the module's tests, as one serves a server: its worker pays torch's import once.
"""
import multiprocessing as mp
import os
import pickle
import signal

import pytest
import torch

from core.data.datasets import prepare
from core.jobs.manager import JobManager, JobRefused
from core.jobs.protocol import StopFlag, WorkerError, lost_message, portable
from core.jobs.workers import ProcessPool
from core.lab.presets import MOBILENET_ALL
from core.train.config import TrainConfig
from tests.helpers import wait_until

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=10, epochs=1,
                   trainable=("head",), batch_size=4)
# every group trains, so batches take a noticeable time: 10 batches an epoch, 3 epochs
SLOW = TrainConfig(dataset="faces", image_size=32, per_class=20, val_per_class=5, epochs=3,
                   trainable=MOBILENET_ALL, batch_size=4)


@pytest.fixture(scope="module")
def jm():
    manager = JobManager(max_running=1)
    assert isinstance(manager.backend, ProcessPool)
    yield manager
    manager.shutdown(wait=True, timeout=30)


def test_training_runs_in_a_worker_process_at_a_lower_priority(jm):
    job = jm.submit(TINY, owner="prio")
    assert job.wait(180) and job.snapshot().status == "finished", job.snapshot().error
    (pid,) = jm.backend.pids()
    assert pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
    assert len(job.snapshot().batches) == 2 and len(job.snapshot().epochs) == 1  # events streamed back


def test_the_model_and_uploaded_images_cross_the_boundary(jm):
    data = prepare("faces", 4, 10, 32, 0)  # stands in for a learner's upload: tensors, not a dataset name
    job = jm.submit(TrainConfig(**{**TINY.__dict__, "dataset": "upload"}), owner="upload", data=data)
    assert job.wait(180), "the run did not end"
    snap = job.snapshot()
    assert snap.status == "finished", snap.error
    assert snap.start.train_images == len(data.train_y) and list(snap.start.classes) == data.class_names
    model = snap.result.model
    assert isinstance(model, torch.nn.Module)
    with torch.no_grad():  # the model that came back is the trained one: it predicts what the run reported
        from core.train.inputs import normalise

        pred = model(normalise(data.val_x, torch.device("cpu"))).argmax(1).tolist()
    assert pred == snap.result.val_pred
    assert job.data is None  # the server lets go of the upload once the run is over


def test_stop_reaches_the_worker_within_a_batch(jm):
    job = jm.submit(SLOW, owner="stop")
    assert wait_until(lambda: len(job.snapshot().batches) >= 1, timeout=180)
    seen = len(job.snapshot().batches)
    assert jm.cancel(job.id)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "stopped" and snap.result.reason == "stopped"
    assert len(snap.batches) <= seen + 1


def test_a_killed_worker_fails_its_job_clearly_and_is_replaced(jm):
    job = jm.submit(SLOW, owner="victim")
    assert wait_until(lambda: len(job.snapshot().batches) >= 1, timeout=180)
    (pid,) = jm.backend.pids()
    os.kill(pid, signal.SIGKILL)
    assert job.wait(30), "a dead worker must end its job"
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "killed by SIGKILL" in snap.error and "press Start to run it again" in snap.error
    assert "Traceback" not in snap.error and snap.result is None
    (new_pid,) = jm.backend.pids()
    assert new_pid != pid
    after = jm.submit(TINY, owner="victim")  # the server and the pool go on
    assert after.wait(180) and after.snapshot().status == "finished", after.snapshot().error


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie: dead, not yet reaped
    except FileNotFoundError:
        return True


def test_a_worker_that_died_while_idle_is_replaced_without_failing_anyone(jm):
    (pid,) = jm.backend.pids()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: _dead(pid), 10)
    job = jm.submit(TINY, owner="next")
    assert job.wait(180) and job.snapshot().status == "finished", job.snapshot().error


def test_engine_errors_keep_their_message_across_the_boundary(jm):
    job = jm.submit(TrainConfig(dataset="faces", model="nope"), owner="err")
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "Unknown model 'nope'" in snap.error and "Traceback" not in snap.error


def test_lr_range_test_runs_in_a_worker_and_is_not_a_run(jm):
    cfg = TrainConfig(dataset="faces", image_size=32, per_class=10, trainable=("head",))
    found = jm.run_lr_range(cfg, "finder", steps=20)
    assert len(found["lrs"]) >= 5 and found["suggested_lr"] is not None
    assert jm.jobs_of("finder") == [] and jm.latest_batch("finder") == ([], "")
    with pytest.raises(JobRefused, match="Unknown model 'nope'"):
        jm.run_lr_range(TrainConfig(dataset="faces", model="nope"), "finder")


@pytest.mark.parametrize("warm_up, logged", [
    (TINY, "warmed up: data_s"),
    (TrainConfig(dataset="faces", model="nope"), "could not warm up (ConfigError: Unknown model 'nope'"),
])
def test_a_worker_warms_up_before_its_first_task_and_a_failed_warm_up_costs_nothing(jm, caplog, warm_up, logged):
    """The server's pool warms its workers on the Lab's opening config (core.jobs.manager.server_manager).
    The first run is the same run as on a cold worker; a warm-up that fails is logged and the worker serves."""
    cold = jm.submit(TINY, owner="cold")
    assert cold.wait(180) and cold.snapshot().status == "finished", cold.snapshot().error
    warmed = JobManager(max_running=1, warm_up=warm_up)
    try:
        assert warmed.backend._warm_up == warm_up
        with caplog.at_level("INFO", logger="core.jobs.workers"):
            job = warmed.submit(TINY, owner="warm")
            assert job.wait(180) and job.snapshot().status == "finished", job.snapshot().error
        assert logged in caplog.text
        assert [e.val_loss for e in job.snapshot().epochs] == [e.val_loss for e in cold.snapshot().epochs]
        assert job.snapshot().result.val_pred == cold.snapshot().result.val_pred
    finally:
        warmed.shutdown(wait=True, timeout=30)


# ---- the parts, without a process ------------------------------------------------------------------

def test_stop_flag_passes_set_on_at_once():
    flag, seen = StopFlag(), []
    flag.relay(lambda: seen.append("stop"))
    flag.set()
    assert flag.is_set() and seen == ["stop"]
    late = []
    flag.relay(lambda: late.append("stop"))  # set before the job reached its worker: passed on at once
    assert late == ["stop"]


class Unrebuildable(Exception):
    def __init__(self, a, b):  # pickle calls __init__ with args=(message,) only: rebuilding fails
        super().__init__(f"{a}/{b}")


def test_an_exception_that_cannot_cross_is_named_not_lost():
    try:
        raise Unrebuildable("x", "y")
    except Unrebuildable as exc:
        out = portable(exc)
    assert isinstance(out, RuntimeError) and str(out) == "Unrebuildable: x/y"
    assert "raise Unrebuildable" in out.remote_traceback
    assert isinstance(pickle.loads(pickle.dumps(out)), RuntimeError)


def test_lost_messages_say_what_happened_and_what_to_do():
    assert "killed by SIGKILL" in lost_message(-9) and "out of memory" in lost_message(-9)
    assert "killed by SIGSEGV" in lost_message(-11)
    assert "exited with code 3" in lost_message(3)
    assert all("press Start" in lost_message(c) for c in (-9, 3, None))
    assert issubclass(WorkerError, RuntimeError)


def test_a_worker_does_not_run_the_page_that_started_it(tmp_path, monkeypatch):
    """Streamlit installs the running page as __main__, and spawn re-runs __main__ in the child:
    the Lab page then ran inside the worker, which died with exit code 1 (seen in the page tests)."""
    import sys
    import types

    from core.jobs.workers import _Worker

    marker = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    import multiprocessing

    worker = _Worker(multiprocessing.get_context("spawn"), nice=0)
    try:
        with pytest.raises(ValueError, match="Unknown task 'nothing'"):  # the worker answered
            worker.run("nothing", None, lambda e: None, StopFlag(), None, {})
        assert not marker.exists()
    finally:
        worker.close()
    assert sys.modules["__main__"] is fake_main  # put back for the page


def test_tensors_cross_the_pipe_as_numpy_and_come_back_the_same():
    from core.jobs.protocol import dumps
    from core.models.backbones import build_model

    model = build_model("mobilenet_v2", 2, pretrained=False, seed=0).eval()
    back = pickle.loads(dumps({"model": model, "ints": torch.arange(3), "frozen": torch.ones(2, requires_grad=True)}))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(back["model"](x), model(x), atol=1e-6)
    params = list(back["model"].parameters())
    assert all(isinstance(p, torch.nn.Parameter) for p in params) and len(params) == len(list(model.parameters()))
    params[0].data.add_(1.0)  # writable: a Lab export or analysis may touch the weights
    assert back["ints"].tolist() == [0, 1, 2] and back["frozen"].requires_grad


def test_a_dead_idle_worker_is_seen_by_its_sentinel_even_when_is_alive_says_yes(jm, monkeypatch):
    """is_alive() answered "alive" for a worker killed while idle after another had been replaced, and
    the next learner's run failed: the pool reads the process's sentinel, which exits cannot hide."""
    (pid,) = jm.backend.pids()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: _dead(pid), 10)
    monkeypatch.setattr(mp.process.BaseProcess, "is_alive", lambda self: True)
    job = jm.submit(TINY, owner="unseen")
    assert job.wait(180) and job.snapshot().status == "finished", job.snapshot().error
    assert jm.backend.pids() != [pid]
