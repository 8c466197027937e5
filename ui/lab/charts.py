"""Plotly figures for the Lab. Pure functions of plain data (events, counts), no Streamlit calls.

Figures are redrawn about once a second while a run trains, so each keeps few points (per-batch
loss is smoothed and thinned), a fixed height, and no mode bar (set where they are shown).

Every figure has a ``*_summary`` twin (ui.lab.chart_text): the text alternative shown under the
chart, stating the numbers the picture shows. Colours are the
colour-blind-safe PALETTE, and train vs validation also differ by dash, so no line is told apart by
hue alone.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from core.runs.run_quiz import OVERFIT_GAP as GAP_WARN  # the run quiz reads this label: one threshold for both
from core.runs.stats import Accuracy
from core.train.events import best_epoch
from ui.common import DASHES, PALETTE, WHITE

# The text alternatives live in ui.lab.chart_text; named here too, beside the figures they describe.
from ui.lab.chart_text import (  # noqa: F401
    _num,
    _pct,
    accuracy_summary,
    loss_summary,
    lr_finder_summary,
    overlay_summary,
    params_summary,
    smooth,
    trainable_summary,
    weight_change_summary,
)

HEIGHT = 340
MAX_BATCH_POINTS = 300
TRAIN, VAL = dict(color=PALETTE[0], dash="solid"), dict(color=PALETTE[1], dash="dash")
MARK = PALETTE[7]  # best epoch: black, apart from both curves' colours
WARN_TEXT = "#A34A00"  # dark orange, 5.5:1 on white (the overfitting note)
GAP_FILL = "rgba(230,159,0,0.22)"  # PALETTE orange, see-through
BAND_ALPHA = 0.16  # a 95% interval band: light enough for the gap fill and the curves to show through


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def interval_band(
    fig: go.Figure, x: list, accs: list[float], n: int, colour: str, name: str, legend: bool = True
) -> None:
    """Shade each epoch's 95% Wilson interval of a validation accuracy (in %) measured on `n` images:
    the width says how far apart two runs must be before the difference is more than noise."""
    bounds = [Accuracy.of(a, n).interval for a in accs]
    fig.add_scatter(
        x=x, y=[100 * lo for lo, _ in bounds], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"
    )
    fig.add_scatter(
        x=x,
        y=[100 * hi for _, hi in bounds],
        mode="lines",
        line=dict(width=0),
        fill="tonexty",
        fillcolor=_rgba(colour, BAND_ALPHA),
        name=name,
        showlegend=legend,
        customdata=[100 * lo for lo, _ in bounds],
        hovertemplate="95% interval %{customdata:.1f}–%{y:.1f}%<extra>" + name + "</extra>",
    )


def series_line(i: int) -> dict:
    """The i-th series of a chart with many lines: its own colour and dash (runs, layer groups)."""
    return dict(color=PALETTE[i % len(PALETTE)], dash=DASHES[i % len(DASHES)])


def _epoch_axis(fig: go.Figure, total_epochs: int | None, start: float = 0.8) -> None:
    """Span the whole run from the first epoch, so the curves fill the chart as training goes on."""
    if total_epochs:
        fig.update_xaxes(range=[start, total_epochs + 0.25], dtick=1 if total_epochs <= 15 else None)


def _layout(fig: go.Figure, title: str, y_title: str, x_title: str = "epoch", height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        height=height,
        margin=dict(l=50, r=15, t=40, b=40),
        legend=dict(orientation="h", y=-0.3, yanchor="top"),
        xaxis_title=x_title,
        yaxis_title=y_title,
        template=WHITE,
    )
    # Margins leave room for every tick label, so Plotly's default check of each label against the
    # chart's edge ("hide past div": a layout read per label, ~15% of a redraw) finds nothing to hide.
    fig.update_xaxes(ticklabeloverflow="allow")
    fig.update_yaxes(ticklabeloverflow="allow")
    return fig


def loss_figure(epochs: list[dict], batches: list[dict], total_epochs: int | None = None) -> go.Figure:
    fig = go.Figure()
    if batches:
        xs = [b["epoch"] - 1 + b["step"] / b["steps"] for b in batches]
        ys = smooth([b["loss"] for b in batches])
        step = max(1, len(xs) // MAX_BATCH_POINTS)
        fig.add_scatter(
            x=xs[::step],
            y=ys[::step],
            mode="lines",
            name="train loss (per batch, smoothed)",
            line=dict(color=PALETTE[5], width=1.5, dash="dot"),
        )
    if epochs:
        x = [e["epoch"] for e in epochs]
        fig.add_scatter(
            x=x,
            y=[e["train_loss"] for e in epochs],
            mode="lines+markers",
            name="train loss",
            line=TRAIN,
            marker=dict(symbol="circle"),
        )
        fig.add_scatter(
            x=x,
            y=[e["val_loss"] for e in epochs],
            mode="lines+markers",
            name="validation loss",
            line=VAL,
            marker=dict(symbol="square"),
        )
        best = best_epoch(epochs)
        if best is not None:
            fig.add_scatter(
                x=[best["epoch"]],
                y=[best["val_loss"]],
                mode="markers+text",
                name="best epoch",
                marker=dict(symbol="star", size=14, color=MARK),
                text=[f"best (epoch {best['epoch']})"],
                showlegend=False,
                # label on the side with room, so it is not cut at the chart's edge
                textposition="top left" if best["epoch"] > (total_epochs or len(epochs)) / 2 else "top right",
            )
    _epoch_axis(fig, total_epochs, start=0.0)
    return _layout(fig, "Loss", "cross-entropy")


def _mark_gap_and_best(fig: go.Figure, epochs: list[dict], x, train, val, total_epochs: int | None) -> None:
    """Label the widest overfitting gap and the best epoch on an accuracy figure."""
    gaps = [(xi, t, v) for xi, t, v in zip(x, train, val) if t - v > 100 * GAP_WARN]
    if gaps:
        xi, t, v = max(gaps, key=lambda g: g[1] - g[2])
        fig.add_annotation(
            x=xi,
            y=(t + v) / 2,
            text=f"overfitting<br>gap {t - v:.0f} pts",
            showarrow=False,
            font=dict(color=WARN_TEXT, size=13),
            bgcolor="rgba(255,255,255,0.8)",
        )
    best = best_epoch(epochs)
    if best is not None:  # labelled: an unlabelled dotted line was read as a glitch (issue 10)
        fig.add_vline(
            x=best["epoch"],
            line=dict(color=MARK, dash="dot", width=1),
            annotation=dict(text=f"best epoch {best['epoch']} (lowest val loss)", font=dict(color=MARK, size=12)),
            annotation_position="bottom right" if best["epoch"] <= (total_epochs or len(epochs)) / 2 else "bottom left",
        )


def accuracy_figure(epochs: list[dict], total_epochs: int | None = None, val_n: int | None = None) -> go.Figure:
    """Train and validation accuracy per epoch; with `val_n` (validation images) the validation
    curve carries its 95% interval band."""
    fig = go.Figure()
    if epochs:
        x = [e["epoch"] for e in epochs]
        train = [100 * e["train_acc"] for e in epochs]
        val = [100 * e["val_acc"] for e in epochs]
        if val_n:
            interval_band(fig, x, [e["val_acc"] for e in epochs], val_n, PALETTE[1], "validation 95% interval")
        # Shade only where training accuracy is above validation accuracy: that gap is what the model
        # learned about its own training images and not about the task (an invisible base trace + fill).
        fig.add_scatter(x=x, y=val, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        fig.add_scatter(
            x=x,
            y=[max(t, v) for t, v in zip(train, val)],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=GAP_FILL,
            name="train − val gap",
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=x, y=val, mode="lines+markers", name="validation accuracy", line=VAL, marker=dict(symbol="square")
        )
        fig.add_scatter(
            x=x, y=train, mode="lines+markers", name="train accuracy", line=TRAIN, marker=dict(symbol="circle")
        )
        _mark_gap_and_best(fig, epochs, x, train, val, total_epochs)
    fig.update_yaxes(range=[0, 102])
    _epoch_axis(fig, total_epochs)
    return _layout(fig, "Accuracy (%)", "accuracy %")


def trainable_figure(epochs: list[dict], total_epochs: int | None = None) -> go.Figure:
    fig = go.Figure()
    if epochs:
        fig.add_scatter(
            x=[e["epoch"] for e in epochs],
            y=[e["trainable_params"] for e in epochs],
            mode="lines+markers",
            line=dict(shape="hv", color=PALETTE[2]),
            name="trainable",
        )
    fig.update_yaxes(rangemode="tozero")
    _epoch_axis(fig, total_epochs)
    return _layout(fig, "Trainable parameters", "parameters")


def weight_change_figure(epochs: list[dict], total_epochs: int | None = None) -> go.Figure:
    """||W - W0|| / ||W0|| per group, one line each: which groups fine-tuning actually moved."""
    fig = go.Figure()
    groups = list(epochs[-1].get("weight_change", {})) if epochs else []
    for i, g in enumerate(groups):
        fig.add_scatter(
            x=[e["epoch"] for e in epochs],
            y=[e.get("weight_change", {}).get(g, 0.0) for e in epochs],
            mode="lines+markers",
            name=g,
            line=series_line(i),
        )
    fig.update_yaxes(rangemode="tozero")
    _epoch_axis(fig, total_epochs)
    return _layout(fig, "Weight change per group  ‖ΔW‖/‖W₀‖", "relative change")


def params_figure(rows: list[tuple[str, int, bool]]) -> go.Figure:
    """Bar per group: trainable (green) or frozen (grey) parameter count."""
    fig = go.Figure()
    names = [r[0] for r in rows]
    # Log scale: the new head (a few thousand parameters) would be invisible next to million-parameter
    # stages on a linear axis. Each bar carries its exact count.
    fig.add_bar(
        x=names,
        y=[r[1] if r[2] else None for r in rows],
        name="trainable",
        marker_color=PALETTE[2],
        text=[f"{r[1]:,}" if r[2] else "" for r in rows],
        textposition="outside",
    )
    # Frozen bars are hatched as well as grey: the two kinds differ without colour.
    fig.add_bar(
        x=names,
        y=[None if r[2] else r[1] for r in rows],
        name="frozen",
        marker_color="#bbbbbb",
        marker_pattern_shape="/",
        text=["" if r[2] else f"{r[1]:,}" for r in rows],
        textposition="outside",
    )
    fig.update_layout(barmode="overlay", uniformtext=dict(minsize=9, mode="show"))
    sizes = [r[1] for r in rows if r[1] > 0] or [1]
    fig.update_yaxes(type="log", range=[math.log10(min(sizes)) - 0.5, math.log10(max(sizes)) + 0.6])
    _layout(fig, "Parameters per layer group", "parameters (log scale)", x_title="group (input → output)", height=300)
    fig.update_layout(legend=dict(orientation="h", y=1.12, x=1, xanchor="right", yanchor="bottom"))
    return fig


def lr_finder_figure(lrs: list[float], losses: list[float], suggested: float | None) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=losses, mode="lines", name="smoothed loss", line=dict(color=PALETTE[0]))
    if suggested and losses:
        # A two-point line rather than a shape: shapes and annotations on log axes need log10 x values.
        fig.add_scatter(
            x=[suggested, suggested],
            y=[min(losses), max(losses)],
            mode="lines+text",
            name=f"suggested {suggested:.0e}",
            line=dict(color=PALETTE[1], dash="dash"),
            text=["", f"suggested {suggested:.0e}"],
            textposition="bottom right",
        )
    fig.update_xaxes(type="log")
    return _layout(
        fig, "LR range test: loss as the learning rate grows", "loss", x_title="learning rate (log)", height=260
    )


def overlay_figure(
    curves: list[tuple[str, list[dict]]],
    key: str = "val_acc",
    title: str = "Validation accuracy (%)",
    val_n: dict[str, int] | None = None,
) -> go.Figure:
    """One line per run: compare runs (a demo's variants, or runs chosen from the history). With
    `val_n` (label -> validation images) each run's validation accuracy carries its 95% band."""
    fig = go.Figure()
    for i, (label, epochs) in enumerate(curves):
        n = (val_n or {}).get(label)
        if key == "val_acc" and n and epochs:
            interval_band(
                fig,
                [e["epoch"] for e in epochs],
                [e[key] for e in epochs],
                n,
                series_line(i)["color"],
                f"{label}: 95% interval",
                legend=False,
            )
        fig.add_scatter(
            x=[e["epoch"] for e in epochs],
            y=[100 * e[key] if key.endswith("acc") else e[key] for e in epochs],
            mode="lines+markers",
            name=label,
            line=series_line(i),
        )
    if key.endswith("acc"):
        fig.update_yaxes(range=[0, 102])
    longest = max((len(epochs) for _, epochs in curves), default=0)
    if longest <= 15:
        fig.update_xaxes(dtick=1)  # whole epochs, not 1.2, 1.4, ...
    return _layout(fig, title, "accuracy %" if key.endswith("acc") else key)


# ---- projector mode ---------------------------------------------------------------------------------
# Read from the back of a room at 1024x768: 12 px ticks and 2 px lines vanish on a projector. The
# height leaves room above the chart for the title, the run's line and its progress bar, so the whole
# live chart is on screen at 1024x768 without scrolling.
PROJECTOR_HEIGHT = 430
PROJECTOR_FONT = 22
PROJECTOR_LINE = 5


def projector(fig: go.Figure) -> go.Figure:
    """A copy of `fig` with large text, thick lines and big markers, one chart filling the width."""
    big = go.Figure(fig)
    big.update_layout(
        height=PROJECTOR_HEIGHT,
        font=dict(size=PROJECTOR_FONT),
        title=dict(font=dict(size=PROJECTOR_FONT + 8)),
        margin=dict(l=80, r=20, t=60, b=60),
        legend=dict(font=dict(size=PROJECTOR_FONT), orientation="h", y=-0.2),
    )
    big.update_xaxes(tickfont=dict(size=PROJECTOR_FONT), title_font=dict(size=PROJECTOR_FONT))
    big.update_yaxes(tickfont=dict(size=PROJECTOR_FONT), title_font=dict(size=PROJECTOR_FONT))
    for trace in big.data:
        if trace.type == "scatter" and trace.line is not None and trace.line.width != 0:
            trace.line.width = PROJECTOR_LINE
        if trace.type == "scatter" and "markers" in (trace.mode or ""):
            trace.marker.size = max(12, trace.marker.size or 0)
    for note in big.layout.annotations:
        note.font.size = PROJECTOR_FONT
    return big
