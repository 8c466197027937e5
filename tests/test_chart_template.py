"""The charts' template (ui.common.WHITE) draws as plotly_white did: the same layout, and the same
defaults for every trace type a figure of the app has. It carries only those types, so each figure
is cheaper to build and to send (the Lab's live view builds up to four a second)."""
from __future__ import annotations

import plotly.io as pio
import pytest

from ui import lesson_diagrams as ld
from ui.common import TRACE_TYPES, WHITE
from ui.lab import charts

EPOCHS = [dict(epoch=e, train_loss=1.5 / e, val_loss=1.6 / e + 0.05 * e, train_acc=0.5 + 0.06 * e,
               val_acc=0.5 + 0.04 * e, trainable_params=1_234_567,
               weight_change={"stage6": 0.02 * e, "head": 0.1 * e}) for e in range(1, 5)]
BATCHES = [dict(epoch=e, step=s, steps=5, loss=1.5 / e - 0.01 * s, lrs={"head": 1e-3}) for e in range(1, 5)
           for s in range(1, 6)]

FIGURES = {
    "loss": lambda: charts.loss_figure(EPOCHS, BATCHES, 8),
    "accuracy": lambda: charts.accuracy_figure(EPOCHS, 8, 300),
    "trainable": lambda: charts.trainable_figure(EPOCHS, 8),
    "weight change": lambda: charts.weight_change_figure(EPOCHS, 8),
    "params": lambda: charts.params_figure([("stem", 9_000, False), ("head", 1_000, True)]),
    "lr finder": lambda: charts.lr_finder_figure([1e-5, 1e-4, 1e-3, 1e-2], [2.3, 2.0, 1.1, 3.0], 1e-3),
    "overlay": lambda: charts.overlay_figure([("a", EPOCHS), ("b", EPOCHS)], val_n={"a": 300, "b": 300}),
    "gradient flow": ld.gradient_flow_figure,
    "batchnorm": ld.batchnorm_figure,
    "bn stats": ld.bn_stats_figure,
    "timeline": ld.timeline_figure,
    "which layers": ld.which_layers_figure,
    "curves": ld.curves_figure,
}


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_draws_with_plotly_white_defaults(name):
    fig = FIGURES[name]()
    white = pio.templates["plotly_white"]
    template = fig.layout.template
    assert template.layout == white.layout
    drawn = {trace.type for trace in fig.data}
    assert drawn <= set(TRACE_TYPES), f"{name} draws {drawn - set(TRACE_TYPES)}: add it to TRACE_TYPES"
    for kind in drawn:
        assert template.data[kind] == white.data[kind], kind


def test_the_template_is_smaller_than_plotly_white():
    white = pio.templates["plotly_white"]
    assert {k for k, v in WHITE.data.to_plotly_json().items() if v} == set(TRACE_TYPES)
    assert len(WHITE.to_plotly_json()["data"]) < len(white.to_plotly_json()["data"]) / 5
