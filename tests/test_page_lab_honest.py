"""Honest numbers in the Lab (issue 14 item 4): the 95% interval band on the accuracy charts, and in
their text alternatives."""
import pytest

from core.stats import wilson
from pages import lab_charts as charts

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

    from pages.lab_results import render_scores

    render_scores(st.session_state["result"], key_prefix="h1")


@pytest.fixture(scope="module")
def tiny_result():
    from core.engine import TrainConfig, run_training

    return run_training(TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=1,
                                    trainable=("head",)))


def test_results_state_the_interval_and_warn_that_8_images_tell_little(tiny_result):
    from streamlit.testing.v1 import AppTest

    from core.stats import Accuracy

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
