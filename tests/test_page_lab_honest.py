"""Honest numbers in the Lab (issue 14 item 4): the 95% interval band on the accuracy charts, and in
their text alternatives."""
import pytest

from core.runs.stats import wilson
from ui.lab import charts

EPOCHS = [dict(epoch=i + 1, train_acc=0.6 + 0.1 * i, val_acc=0.55 + 0.08 * i, val_loss=1 - 0.1 * i,
               train_loss=1 - 0.15 * i) for i in range(3)]


def band_traces(fig):
    """(lower, upper) traces of each interval band: the upper one fills down to the lower."""
    data = list(fig.data)
    return [(data[i - 1], t) for i, t in enumerate(data) if t.name and "95% interval" in t.name]


def test_accuracy_chart_bands_each_epochs_wilson_interval():
    (low, high), = band_traces(charts.accuracy_figure(EPOCHS, 5, val_n=300))
    for e, lo, hi in zip(EPOCHS, low.y, high.y):
        k = round(e["val_acc"] * 300)
        assert (lo, hi) == pytest.approx(tuple(100 * b for b in wilson(k / 300, 300)))
    assert high.fill == "tonexty" and high.line.width == 0


def test_band_narrows_with_more_validation_images():
    def width(n):
        (low, high), = band_traces(charts.accuracy_figure(EPOCHS, 5, val_n=n))
        return high.y[0] - low.y[0]
    assert width(60) > 2 * width(600)


def test_no_size_no_band():
    assert band_traces(charts.accuracy_figure(EPOCHS, 5)) == []


def test_summary_states_the_interval():
    text = charts.accuracy_summary(EPOCHS, 5, val_n=300)
    assert "validation 71%, 95% interval 66–76% (gap +9 points)" in text
    assert "interval" not in charts.accuracy_summary(EPOCHS, 5)


def test_overlay_bands_only_runs_whose_size_is_known():
    fig = charts.overlay_figure([("a", EPOCHS), ("b", EPOCHS)], val_n={"a": 300})
    assert [high.name for _, high in band_traces(fig)] == ["a: 95% interval"]
    assert not band_traces(charts.overlay_figure([("a", EPOCHS)], "val_loss", "Validation loss", val_n={"a": 300}))
    text = charts.overlay_summary([("a", EPOCHS), ("b", EPOCHS)], val_n={"a": 300})
    assert "a 71%, 95% interval 66–76% (epoch 3); b 71% (epoch 3)" in text


def test_projector_keeps_the_band_invisible_edges():
    big = charts.projector(charts.accuracy_figure(EPOCHS, 5, val_n=300))
    (low, high), = band_traces(big)
    assert low.line.width == 0 and high.line.width == 0


# ---- Lab results: the interval next to the score, per class, and the too-small warning ----------------

def _results_page():
    import streamlit as st

    from ui.lab.results import render_scores

    render_scores(st.session_state["result"], key_prefix="h1")


@pytest.fixture(scope="module")
def tiny_result():
    from core.train.config import TrainConfig
    from core.train.engine import run_training

    return run_training(TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=1,
                                    trainable=("head",)))


def test_results_state_the_interval_and_warn_that_8_images_tell_little(tiny_result):
    from streamlit.testing.v1 import AppTest

    from core.runs.stats import Accuracy

    at = AppTest.from_function(_results_page, default_timeout=60)
    at.session_state["result"] = tiny_result
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    n = len(tiny_result.val_true)
    acc = Accuracy.of(tiny_result.summary()["val_acc"], n)
    captions = " ".join(c.value for c in at.caption)
    assert f"95% interval {100 * acc.interval[0]:.1f}–{100 * acc.interval[1]:.1f}%, {n} validation images" in captions
    warning = " ".join(w.value for w in at.warning)
    assert f"With {n} validation images" in warning and "per class" in warning
    table = at.dataframe[0].value
    assert list(table["95% interval"]) == [Accuracy(int(c), int(k)).band()
                                           for c, k in zip(table["correct"], table["images"])]


# ---- the Lab page after a real tiny run: band, interval columns, the quiz tab -------------------------

@pytest.fixture
def db(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)
    return path


def test_a_finished_run_shows_its_band_interval_columns_and_a_quiz_recorded_in_progress(db):
    import json

    from core.classroom.progress import ProgressStore
    from core.runs.run_quiz import questions_for
    from core.runs.stats import Accuracy
    from tests.helpers import lab_page, run_ok
    from ui.lab.live import CURRENT, get_job_manager

    at = run_ok(lab_page({"dataset": "faces", "size": "32", "per_class": "8", "val_per_class": "6",
                          "epochs": "4", "train": "stage6,head", "lr": "0.003"}))
    at.button(key="lab_start").click()
    run_ok(at)
    job = get_job_manager().get(at.session_state[CURRENT][0])
    assert job.wait(180) and job.snapshot().status == "finished", job.snapshot().error
    run_ok(at)
    snap = job.snapshot()
    n = snap.start.val_images

    tabs = [t.label for t in at.tabs]
    at_curves = tabs.index("📈 Curves")
    assert tabs[at_curves:at_curves + 3] == ["📈 Curves", "🔎 Scores and mistakes", "🧩 Quiz on your run"]
    accuracy = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                    if "Accuracy" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    band = [t for t in accuracy["data"] if t.get("name") == "validation 95% interval"]
    assert len(band) == 1 and band[0]["y"][-1] == pytest.approx(100 * Accuracy.of(snap.epochs[-1].val_acc, n)
                                                                 .interval[1])

    history = next(d.value for d in at.dataframe if "vs best" in d.value.columns)
    assert history["val 95%"].iloc[-1] == Accuracy.of(snap.epochs[-1].val_acc, n).band()

    questions = questions_for(snap.epochs)
    assert questions, "a 4-epoch run with two groups training has at least the weight-change question"
    q = questions[0]
    at.radio(key=f"{snap.id}_runquiz_pick_{q.kind}").set_value(q.right_option)
    next(b for b in at.button if b.label == "Check my answer").click()
    run_ok(at)
    assert any(s.value.startswith("**Right.**") for s in at.success)
    store = ProgressStore(db)
    answers = [a for who in store.learners() for a in store.answer_history(who)]
    assert [(a["question_id"], a["correct"]) for a in answers] == [(q.id, True)]


def _history_rows_script():
    import streamlit as st

    from ui.lab.history import HISTORY, show_history

    st.session_state.setdefault(HISTORY, [])
    show_history()


def _row(i, acc, n):
    curve = [{"epoch": 1, "val_acc": acc, "train_acc": acc, "val_loss": 1.0, "train_loss": 1.0}]
    row = {"id": f"j{i}", "label": f"run {i}", "status": "finished", "val_acc": acc, "curve": curve, "message": ""}
    return {**row, "val_images": n} if n else row


def test_history_says_within_noise_beyond_noise_and_how_many_images_are_needed(db):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import run_ok

    at = AppTest.from_function(_history_rows_script, default_timeout=30)
    at.session_state["lab_history"] = [_row(1, 0.85, 300), _row(2, 0.87, 300), _row(3, 0.70, 300),
                                       _row(4, 0.90, None)]  # stored before sizes were kept
    run_ok(at)
    table = at.dataframe[0].value
    assert list(table["val 95%"]) == ["81–89%", "83–90%", "65–75%", ""]
    assert list(table["vs best"]) == ["within noise", "best", "17.0 points lower", ""]
    # The picker starts with the last three runs; the leader's size is unknown: the plain comparison.
    assert "**4. run 4** won with 90.0%, 3.0 points ahead of **2. run 2**" in " ".join(m.value for m in at.markdown)
    at.multiselect(key="lab_compare").set_value(["j1", "j2"])
    run_ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert ("**2. run 2** (87.0%, 83–90%) and **1. run 1** (85.0%, 81–89%): 2.0 points apart, "
            "**within noise**") in text
    captions = " ".join(c.value for c in at.caption)
    assert "With 300 validation images, two runs near 85%" in captions and "about 784 validation images" in captions
    at.multiselect(key="lab_compare").set_value(["j2", "j3"])
    run_ok(at)
    assert "beats **3. run 3** (70.0%, 65–75%) by 17.0 points, more than noise" in " ".join(
        m.value for m in at.markdown)


def _replay_script():
    import streamlit as st

    from core.jobs.replay import replay_snapshots
    from ui.lab.ended import show_ended

    show_ended(replay_snapshots(st.session_state["stored"]))


def test_a_replayed_demo_compares_its_variants_with_intervals(tiny_result):
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from core.lab import demo_store
    from core.runs.stats import Accuracy
    from tests.helpers import run_ok

    worse = replace(tiny_result, epochs=[replace(e, val_acc=0.0) for e in tiny_result.epochs])
    runs = (demo_store.from_result("as run", tiny_result), demo_store.from_result("all wrong", worse))
    n = len(tiny_result.val_true)
    assert [r.start["val_images"] for r in runs] == [n, n]
    at = AppTest.from_function(_replay_script, default_timeout=30)
    at.session_state["stored"] = demo_store.StoredDemo("demo", 0.0, "cpu", runs)
    run_ok(at)
    text = " ".join(m.value for m in at.markdown)
    top = Accuracy.of(tiny_result.epochs[-1].val_acc, n)
    assert f"**as run** ({top.value:.1%}, {top.band()})" in text and "**all wrong** (0.0%, 0–" in text
    from core.runs.stats import within_noise

    assert ("**within noise**" in text) == within_noise(top, Accuracy(0, n))
    assert ("more than noise" in text) != within_noise(top, Accuracy(0, n))
