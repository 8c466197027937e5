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
