"""Issue 24: everything the Lab says must be true. Core-level checks of the items that do not need a
browser: one "best epoch", Compare showing the model a run handed back, no green tick near chance,
a readable gradual-unfreezing plan, honest link banners, and the small ones."""
from __future__ import annotations

import pytest

from core.train.events import EpochEnded, best_epoch, from_row


def ep(i, val_acc, val_loss, train_acc=None, train_loss=None):
    return from_row(EpochEnded, {"epoch": i, "epochs": 8, "val_acc": val_acc, "val_loss": val_loss,
                                 "train_acc": train_acc if train_acc is not None else val_acc,
                                 "train_loss": train_loss if train_loss is not None else val_loss / 2,
                                 "weight_change": {"head": 0.1 * i}, "lrs": {"head": 1e-3}})


# The default run as the issue saw it: validation loss lowest in epoch 2, accuracy highest in epoch 7.
ISSUE_RUN = [ep(1, 0.85, 0.60), ep(2, 0.893, 0.40), ep(3, 0.88, 0.45), ep(4, 0.89, 0.47), ep(5, 0.873, 0.50),
             ep(6, 0.89, 0.48), ep(7, 0.903, 0.46), ep(8, 0.873, 0.52)]


# ---- item 3: one best epoch ------------------------------------------------------------------------

def test_best_epoch_is_the_first_lowest_validation_loss_for_events_and_rows():
    from core.train.events import as_row

    assert best_epoch(ISSUE_RUN).epoch == 2
    assert best_epoch([as_row(e) for e in ISSUE_RUN])["epoch"] == 2
    tie = [ep(1, 0.5, 0.3), ep(2, 0.6, 0.3)]
    assert best_epoch(tie).epoch == 1  # as early stopping: a later epoch must be strictly lower
    assert best_epoch([ep(1, 0.1, float("nan"))]) is None


def test_summary_chart_quiz_agree_on_the_best_epoch():
    from core.runs.analysis import best_vs_final
    from core.runs.run_quiz import val_loss_min_question
    from core.train.events import as_row
    from ui.lab import charts

    note = best_vs_final("finished", ISSUE_RUN)
    assert "best epoch (lowest validation loss) was epoch 2 (89.3%)" in note
    assert "best epoch (7" not in note
    assert "highest validation accuracy was in epoch 7 (90.3%)" in note
    rows = [as_row(e) for e in ISSUE_RUN]
    marks = [a.text for a in charts.accuracy_figure(rows, 8).layout.annotations if "best epoch" in a.text]
    assert marks == ["best epoch 2 (lowest val loss)"]
    assert "lowest validation loss 0.4 at epoch 2" in charts.loss_summary(rows, [], 8)
    q = val_loss_min_question(ISSUE_RUN)
    assert q.options[q.answer] == "Epoch 2"


def test_early_stopped_run_names_no_other_best_epoch():
    from core.runs.analysis import best_vs_final

    stopped = ISSUE_RUN[:5]
    assert "lowest validation loss" not in best_vs_final("early_stopped", stopped, best_epoch=2)


@pytest.fixture(scope="module")
def early_stopped_run():
    from core.train.engine import TrainConfig, run_training

    return run_training(TrainConfig(dataset="faces", image_size=32, per_class=6, val_per_class=6, epochs=12,
                                    early_stopping=1, lr=0.03, trainable=("head",)))


def test_engine_keeps_the_epoch_best_epoch_names(early_stopped_run):
    result = early_stopped_run
    assert result.best_epoch == best_epoch(result.epochs).epoch


# ---- item 4 (and issue 23's Lab logic in core): the history keeps the model the run handed back --------

def snapshot(status="finished", epochs=ISSUE_RUN, best=None, label="", dataset="mnist", start=True):
    from core.jobs.manager import JobSnapshot
    from core.train.config import LAB_DEFAULT
    from core.train.engine import RunResult
    from core.train.events import RunStarted

    cfg = LAB_DEFAULT.__class__(**{**LAB_DEFAULT.to_dict(), "dataset": dataset, "epochs": 8})
    started = from_row(RunStarted, {"classes": [str(d) for d in range(10)], "val_images": 300}) if start else None
    result = RunResult(status, "", cfg, [], list(epochs), [], best_epoch=best)
    return JobSnapshot("job1", "o", label, "b", cfg, status, None, started, [], list(epochs), result, "", "",
                       0.0, 1.0, 4.5)


def test_history_row_of_an_early_stopped_run_keeps_the_restored_epoch():
    from core.runs.history import history_row, kept_note

    row = history_row(snapshot("early_stopped", ISSUE_RUN[:5], best=2), 3)
    assert (row["kept_epoch"], row["val_acc"], row["epochs"]) == (2, 0.893, "5/8")
    assert kept_note(row) == " (weights of epoch 2 of 5)"
    finished = history_row(snapshot(), 1)
    assert (finished["kept_epoch"], finished["val_acc"], kept_note(finished)) == (8, 0.873, "")


def test_history_row_rounds_float32_noise():
    from core.runs.history import history_row

    row = history_row(snapshot(epochs=[ep(1, 0.8733333349227905, 0.5)]), 1)
    assert row["val_acc"] == 0.8733 and row["curve"][0]["val_acc"] == 0.8733


def _compare_script():
    from ui.lab.history import show_history

    show_history()


def test_compare_reports_the_restored_weights_and_names_their_epoch(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.runs.history import history_row
    from tests.helpers import run_ok

    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    stopped = history_row(snapshot("early_stopped", ISSUE_RUN[:5], best=2, label="stopped"), 1)
    other = {**history_row(snapshot(epochs=[ep(1, 0.80, 0.6), ep(2, 0.85, 0.5)], label="other"), 2), "id": "j2"}
    at = AppTest.from_function(_compare_script, default_timeout=30)
    at.session_state["lab_history"] = [stopped, other]
    run_ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert "**1. stopped (weights of epoch 2 of 5)** (89.3%" in text, text
    assert "87.3%" not in text
    assert list(at.dataframe[0].value["kept_epoch"]) == [2, 2]


def test_class_counts_come_from_the_dataset_registry():
    from core.runs.history import num_classes_of

    assert num_classes_of(snapshot(dataset="elpv", start=False)) == 2
    assert num_classes_of(snapshot(dataset="flowers102", start=False)) == 102
    assert num_classes_of(snapshot()) == 10


def test_progress_numbers_from_batches():
    from dataclasses import replace

    from core.runs.history import progress_numbers
    from core.train.events import BatchEnded

    batches = [from_row(BatchEnded, {"epoch": 1, "step": s, "steps": 4, "global_step": s, "elapsed": 1.0 + s,
                                     "images_per_s": 50.0}) for s in (1, 2, 3, 4)]
    p = progress_numbers(replace(snapshot(), batches=batches))
    assert p == {"fraction": 4 / 32, "epoch": 1, "ips": 50.0, "eta": pytest.approx(28.0)}
    assert progress_numbers(snapshot())["eta"] is None


def test_a_replay_carries_its_validation_size_without_session_state(tiny_stored):
    from core.jobs.replay import replay_snapshots as snapshots
    from core.runs.history import val_images

    snaps = snapshots(tiny_stored)
    assert [val_images(s) for s in snaps] == [12]
    assert snaps[0].start.classes and snaps[0].result.cache == tiny_stored.runs[0].start["cache"]


@pytest.fixture(scope="module")
def tiny_stored(early_stopped_run):
    from core.lab.demo_store import StoredDemo, from_result

    return StoredDemo("head-only", 0.0, "cpu", (from_result("a", early_stopped_run),))


# ---- item 7: near chance is a warning, never a green tick ----------------------------------------------

WRECKED = [ep(1, 0.42, 1.2), ep(2, 0.12, 2.4), ep(3, 49 / 300, 2.3)]  # lr 0.1: 16.3% at the end


def test_a_run_within_noise_of_chance_is_a_warning_whatever_its_status():
    from dataclasses import replace

    from core.runs.analysis import run_verdict
    from core.train.config import LAB_DEFAULT

    cfg = replace(LAB_DEFAULT, lr=0.1)
    for status in ("finished", "early_stopped", "stopped"):
        v = run_verdict(status, WRECKED, 10, cfg, "Stopped.", val_images=300, best_epoch=3)
        assert v.level == "warning", (status, v)
        assert "within noise of chance" in v.headline and "16.3% (95% interval 12.6–20.9%" in v.headline
        assert "guessing among 10 classes scores 10% (7–14% on 300 images)" in v.headline
    far = run_verdict("finished", WRECKED[:2] + [ep(3, 0.30, 1.0)], 10, cfg, val_images=300)
    assert far.level == "success"


def _outcome_script():
    import streamlit as st

    from ui.lab.ended import show_outcome

    show_outcome(st.session_state["snap"])


def test_the_lab_draws_no_green_tick_for_it():
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from tests.helpers import run_ok

    at = AppTest.from_function(_outcome_script, default_timeout=30)
    snap = snapshot(epochs=WRECKED)
    at.session_state["snap"] = replace(snap, config=replace(snap.config, lr=0.1))
    run_ok(at)
    assert not at.success and len(at.warning) == 1 and at.warning[0].icon == "⚠️"
    assert "within noise of chance (finished 3 epochs)" in at.warning[0].value


# ---- item 8: the gradual-unfreezing plan shows when each group opens -----------------------------------

def test_gradual_plan_draws_later_groups_apart_and_says_when_they_open():
    from dataclasses import replace

    from core.lab.presets import PRESETS
    from core.train.schedules import planned_rates
    from ui.lab import rate_charts

    cfg = replace(PRESETS["gradual-unfreeze"].config, schedule="onecycle", warmup=0.3)
    rates = planned_rates(cfg, cfg.per_class * 10)
    opens = {g: rate_charts._epoch_of(pts[0][0]) for g, pts in rates.items()}
    late = [g for g, e in opens.items() if e > 1]
    assert late, opens
    fig = rate_charts.rate_figure(rates, cfg.epochs)
    lines = {t.name: tuple(t.y) for t in fig.data}
    assert len(set(lines.values())) == len(lines), "two groups drawn on the same line"
    for g in late:
        assert lines[g][0] == 0.0  # frozen until it opens
        assert any(f"{g} opens (epoch {opens[g]})" in a.text for a in fig.layout.annotations)
    text = rate_charts.rate_summary(rates, cfg.epochs)
    for g in late:
        part = text.split(f"{g} (frozen", 1)[1].split(";")[0]
        assert f"until it opens in epoch {opens[g]})" in part
        peak_epoch = int(part.split(" in epoch ")[2].split(",")[0])
        assert peak_epoch >= opens[g], part


# ---- item 9: the shared-link banner says what it did, in words ----------------------------------------

def test_link_banner_names_the_presets_own_value_on_off_and_its_own_wording(tmp_path, monkeypatch):
    from core.lab.presets import PRESETS
    from tests.helpers import lab_page, run_ok

    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    assert PRESETS["pretrained-vs-scratch"].config.epochs == 10
    at = run_ok(lab_page({"preset": "pretrained-vs-scratch", "epochs": "9", "augment": "1"}))
    note = " ".join(i.value for i in at.info)
    assert "epochs 8 → 9 (the preset has 10; the link set 9)" in note, note
    assert "augmentation off → on" in note and "False" not in note
    plain = run_ok(lab_page({"lr": "0.1"}))
    note = " ".join(i.value for i in plain.info)
    assert "Loaded the link's setup. Changed: learning rate 0.001 → 0.1" in note
    assert "from the link from the link" not in note and "setup from the link" not in note


def test_a_link_value_between_steps_is_rounded_out_loud(tmp_path, monkeypatch):
    from tests.helpers import lab_page, run_ok

    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = run_ok(lab_page({"lr": "3e-4"}))
    assert at.select_slider(key="lab_lr").value == 2e-4
    warned = " ".join(w.value for w in at.warning)
    assert "learning rate 0.0003 is not one of the control's steps: set to the nearest, 0.0002" in warned
    assert "trains exactly what the form shows" in warned
    assert at.query_params["lr"] == "0.0002"  # the address follows what trains


# ---- item 6: the exported weights load as the page says ---------------------------------------------

def _downloads_script():
    import streamlit as st

    from ui.lab.results import render_downloads

    render_downloads(st.session_state["result"], "job12345", "")


def test_the_downloaded_weights_load_into_torchvision_with_the_shown_code(early_stopped_run, tmp_path):
    import torch
    from streamlit.testing.v1 import AppTest

    from core.runs import export
    from tests.helpers import run_ok

    result = early_stopped_run
    at = AppTest.from_function(_downloads_script, default_timeout=60)
    at.session_state["result"] = result
    run_ok(at)
    code = at.code[0].value
    stem = export.file_stem(result, "", "job12345")
    assert f"torch.load('{stem}.pth', weights_only=True)" in code
    assert stem.count("job12345") == 1  # item 10: the id once, not twice
    # The file the button serves, saved where the shown code reads it, then the shown code itself.
    (tmp_path / f"{stem}.pth").write_bytes(export.export_torchvision(result.model))
    scope: dict = {}
    cwd = __import__("os").getcwd()
    try:
        __import__("os").chdir(tmp_path)
        exec(code, scope)
    finally:
        __import__("os").chdir(cwd)
    x = torch.rand(3, 3, 32, 32)
    result.model.eval()
    with torch.no_grad():
        assert torch.allclose(scope["model"](x), result.model(x), atol=1e-5)
    assert scope["class_names"] == list(result.class_names)


def test_the_onnx_export_runs_like_the_model(early_stopped_run):
    import torch

    from core.runs import export

    if not export.onnx_available():
        pytest.fail("onnx and onnxscript are in requirements.txt: the ONNX export must be offered")
    onnx = pytest.importorskip("onnx")
    data = export.export_onnx(early_stopped_run.model, 32)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["image"]
    from onnx.reference import ReferenceEvaluator

    x = torch.rand(1, 3, 32, 32)
    (got,) = ReferenceEvaluator(proto).run(None, {"image": x.numpy()})
    early_stopped_run.model.eval()
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(got), early_stopped_run.model(x), atol=1e-4)


def test_a_run_that_ends_at_its_peak_is_not_called_wrecked():
    """Seen in projector mode: 20 validation images, 2 classes, 90% at the end (its peak). The interval
    (70-97%) touches chance's (30-70%), so it is a warning, but nothing fell: the words blame the small
    validation set, not a learning rate that 'wrecked' the run."""
    from core.runs.analysis import run_verdict
    from core.train.config import LAB_DEFAULT

    epochs = [ep(1, 0.70, 0.66), ep(2, 0.80, 0.65), ep(3, 0.90, 0.64)]
    v = run_verdict("finished", epochs, 2, LAB_DEFAULT, val_images=20)
    assert v.level == "warning"
    assert "wrecked" not in v.headline
    assert "20 validation images are too few" in v.headline
    fell = run_verdict("finished", [ep(1, 0.95, 0.2), ep(2, 0.60, 0.9)], 2, LAB_DEFAULT, val_images=20)
    assert "was then wrecked" in fell.headline
