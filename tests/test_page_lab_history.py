"""The Lab after a reload (issue 10), under AppTest: a new session of the same browser (the same
browser id, as its cookie would bring) gets the run history back from the progress database and
re-attaches to a run still training; another browser sees neither. Chart text alternatives too.

A "reload" here is a fresh AppTest with the browser id the cookie carries; the job runs in the
server's real JobManager and the history in a real SQLite file.
"""
import pytest

from core.classroom.identity import browser_hash, new_browser_id
from core.classroom.progress import ProgressStore
from core.models import backbones as models
from core.train.config import TrainConfig
from tests.helpers import lab_page, run_ok
from ui.common import BROWSER_KEY
from ui.lab import live as lab_live

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=10, epochs=1, trainable=("head",),
                   batch_size=8)


@pytest.fixture(autouse=True)
def db(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)  # the store helper is cached per path
    return path


def browser_page(bid: str):
    """The Lab as a reload of browser `bid` shows it (its cookie brings the id)."""
    at = lab_page()
    at.session_state[BROWSER_KEY] = bid
    return run_ok(at)


def owner_of(bid: str) -> str:
    return browser_hash(bid)[:32]  # ui.common.browser_key() of that browser


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_history_comes_back_after_a_reload_and_no_other_browser_sees_it(db):
    bid = new_browser_id()
    first = browser_page(bid)
    job = lab_live.get_job_manager().submit(TINY, owner=owner_of(bid))
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    run_ok(first)  # the page sees the run end: outcome and history
    assert [r["id"] for r in first.session_state[lab_live.HISTORY]] == [job.id]

    again = browser_page(bid)  # a reload: a new session, nothing in its session state
    assert [r["id"] for r in again.session_state[lab_live.HISTORY]] == [job.id]
    assert again.session_state[lab_live.CURRENT] == [job.id]  # its last run is shown again
    # a tick, or a warning within noise of chance (20 validation images, 2 classes: issue 24 item 7)
    assert any("finished 1 epochs" in s.value for s in list(again.success) + list(again.warning))
    assert again.multiselect(key="lab_compare").value == [job.id]
    assert "Chart summary: Validation accuracy at each run's last epoch: 1. run 1 " in captions(again)
    learner = again.session_state["learner"]
    assert [r["id"] for r in ProgressStore(db).lab_runs(learner)] == [job.id]

    other = browser_page(new_browser_id())
    assert other.session_state[lab_live.HISTORY] == []
    assert other.session_state[lab_live.CURRENT] == []
    assert not any(b.key == "lab_clear_history" for b in other.button)

    again.button(key="lab_clear_history").click()
    run_ok(again)
    assert ProgressStore(db).lab_runs(learner) == []
    assert browser_page(bid).session_state[lab_live.HISTORY] == []  # cleared for good, not just on screen


def test_a_reload_mid_run_shows_the_run_live_again_and_keeps_it(db):
    bid = new_browser_id()
    manager = lab_live.get_job_manager()
    # Long enough to outlast two page loads on any machine: every layer trains (nothing cached) on
    # 40 images per class at 64 px, about 1.5 s an epoch here. 30 head-only epochs of TINY took 1.2 s
    # on a warm worker, and the run had finished before the reload looked. Stop ends it below.
    long_run = TrainConfig(**{**TINY.__dict__, "epochs": 30, "image_size": 64, "per_class": 40,
                              "trainable": tuple(models.group_names(TINY.model))})
    job = manager.submit(long_run, owner=owner_of(bid))
    try:
        reloaded = browser_page(bid)
        assert reloaded.session_state[lab_live.CURRENT] == [job.id]
        assert reloaded.button(key="lab_stop") is not None  # live again, with its Stop button
        assert not any(b.key == "lab_start" for b in reloaded.button)
        assert job.snapshot().status in ("queued", "running")
        stranger = browser_page(new_browser_id())
        assert stranger.session_state[lab_live.CURRENT] == []
        assert any(b.key == "lab_start" for b in stranger.button)
    finally:
        manager.cancel(job.id)
        assert job.wait(60)


def test_every_lab_chart_has_a_text_alternative_with_its_numbers():
    at = run_ok(lab_page())
    text = captions(at)
    assert "Chart summary: " in text and "trainable (stage5" in text and "frozen: stem" in text

    import numpy as np

    from ui.lab import charts
    from ui.lab.results import confusion_summary

    eps = [{"epoch": i, "train_acc": t, "val_acc": v, "train_loss": tl, "val_loss": vl, "trainable_params": p,
            "weight_change": {"head": 0.5 * i, "stem": 0.0}}
           for i, t, v, tl, vl, p in [(1, .6, .55, 1.2, 1.1, 100), (2, .9, .8, .5, .6, 100), (3, .98, .88, .1, .7, 5000)]]
    assert charts.accuracy_summary(eps, 8) == ("Accuracy, Epoch 3 of 8: training 98%, validation 88% (gap +10 "
                                               "points); best validation loss at epoch 2 (validation accuracy 80%).")
    assert charts.loss_summary(eps, [], 8).endswith("lowest validation loss 0.6 at epoch 2.")
    assert charts.trainable_summary(eps, 8).endswith("100 from epoch 1; 5,000 from epoch 3.")
    assert "head 1.5, stem 0" in charts.weight_change_summary(eps, 8)
    cm = np.array([[5, 2], [0, 3]])
    assert confusion_summary(cm, ["cat", "dog"]) == ("8 of 10 validation images on the diagonal (correct); most "
                                                     "frequent confusions: true cat predicted as dog (2 times).")


def test_train_and_validation_differ_by_dash_as_well_as_colour():
    from ui.common import PALETTE
    from ui.lab import charts

    eps = [{"epoch": 1, "train_acc": .6, "val_acc": .5, "train_loss": 1.0, "val_loss": 1.1}]
    for fig in (charts.loss_figure(eps, [], 2), charts.accuracy_figure(eps, 2)):
        lines = {t.name: t.line for t in fig.data if t.name and ("train" in t.name or "valid" in t.name)
                 and "gap" not in t.name and "batch" not in t.name}
        train = next(v for k, v in lines.items() if k.startswith("train"))
        val = next(v for k, v in lines.items() if k.startswith("valid"))
        assert train.color != val.color and (train.dash or "solid") != (val.dash or "solid")
        assert {train.color, val.color} <= set(PALETTE)
    overlay = charts.overlay_figure([("a", eps), ("b", eps)])
    assert len({(t.line.color, t.line.dash) for t in overlay.data}) == 2
    assert {t.line.dash for t in overlay.data} == {"solid", "dash"}
    big = charts.projector(charts.accuracy_figure(eps, 2))  # projector styling keeps the dashes
    assert {t.line.dash for t in big.data if t.name in ("train accuracy", "validation accuracy")} == {"solid", "dash"}


def test_a_broken_database_keeps_the_run_on_screen_and_saves_it_once_fixed(tmp_path, monkeypatch):
    bad = tmp_path / "broken.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("FTLAB_DB", str(bad))
    bid = new_browser_id()
    job = lab_live.get_job_manager().submit(TINY, owner=owner_of(bid))
    assert job.wait(120) and job.snapshot().status == "finished", job.snapshot().error
    at = browser_page(bid)
    assert any("not a valid SQLite file" in w.value for w in at.warning)  # said once, plainly
    assert [r["id"] for r in at.session_state[lab_live.HISTORY]] == [job.id]  # still on screen
    assert at.session_state[lab_live.UNSAVED][0]["id"] == job.id

    good = str(tmp_path / "moved-aside.sqlite3")  # the teacher sets FTLAB_DB to a new file
    monkeypatch.setenv("FTLAB_DB", good)
    run_ok(at)
    assert at.session_state[lab_live.UNSAVED] == []
    assert [r["id"] for r in ProgressStore(good).lab_runs(at.session_state["learner"])] == [job.id]
