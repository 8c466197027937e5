"""Plotly diagrams for the lessons: plain functions of core.lab.lesson_figures data, no Streamlit calls.

Colours are the Okabe-Ito palette (told apart with every common colour-vision deficiency), and no
meaning rests on colour alone: each cell or box also carries a word ("frozen", "batch", "1e-4"), and
train/validation lines differ in dash as well as colour. Each function draws its source data when
called without arguments; tests pass nothing and compare the figure's numbers with that source.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.lab import lesson_figures as lf
from core.lab import stem_filters as sf
from core.lab.presets import PRESETS
from core.models import backbones as models
from ui.common import WHITE

BLUE, ORANGE, SKY, GREEN, VERMILLION = "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00"
FROZEN_GREY, INK = "#D9D9D9", "#222222"
FONT = dict(size=13, color=INK)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=15)),
        height=height,
        font=FONT,
        margin=dict(l=20, r=20, t=50, b=20),
        template=WHITE,
    )
    return fig


def _bare_axes(fig: go.Figure, x_range: list, y_range: list) -> None:
    fig.update_xaxes(visible=False, range=x_range, fixedrange=True)
    fig.update_yaxes(visible=False, range=y_range, fixedrange=True)


# ---- gradients stop at frozen layers; the optimizer holds only trainable groups -------------------


def _flow_box(fig: go.Figure, i: int, g: lf.GroupFlow) -> None:
    fill, ink = (BLUE, "white") if g.trainable else (FROZEN_GREY, INK)
    fig.add_shape(
        type="rect",
        x0=i - 0.45,
        x1=i + 0.45,
        y0=1.6,
        y1=2.4,
        fillcolor=fill,
        line=dict(color=INK, width=1, dash="solid" if g.trainable else "dot"),
    )
    state = "trains" if g.trainable else "🔒 frozen"
    fig.add_annotation(
        x=i, y=2.0, text=f"<b>{g.name}</b><br>{state}<br>{g.params:,}", showarrow=False, font=dict(size=11, color=ink)
    )
    below = (
        f"param_groups[{g.opt_group}]<br>lr {lf.lr_text(g.lr)}"
        if g.opt_group is not None
        else "not in the<br>optimizer"
    )
    fig.add_annotation(
        x=i,
        y=0.35,
        text=below,
        showarrow=False,
        font=dict(size=11, color=INK if g.opt_group is not None else "#666666"),
    )


def _arrow(fig: go.Figure, start: tuple[float, float], end: tuple[float, float], colour: str, width: int) -> None:
    """A bare arrow in data coordinates, pointing from `start` to `end`."""
    fig.add_annotation(
        x=end[0],
        y=end[1],
        ax=start[0],
        ay=start[1],
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowwidth=width,
        arrowcolor=colour,
    )


def gradient_flow_figure(flows: list[lf.GroupFlow] | None = None) -> go.Figure:
    """Boxes for the layer groups (input -> output); the forward pass crosses all, the backward pass
    stops at the earliest trainable group, and the optimizer's groups sit under the trainable ones."""
    flows = flows if flows is not None else lf.preset_flow()
    fig, n = go.Figure(), len(flows)
    for i, g in enumerate(flows):
        _flow_box(fig, i, g)
    first = next((i for i, g in enumerate(flows) if g.backward), n - 1)
    _arrow(fig, (-0.4, 2.75), (n - 0.6, 2.75), INK, 2)
    fig.add_annotation(x=(n - 1) / 2, y=2.9, text="forward pass: through every group, frozen or not", showarrow=False)
    _arrow(fig, (n - 0.6, 1.25), (first - 0.4, 1.25), VERMILLION, 3)
    fig.add_annotation(
        x=(first + n - 1) / 2, y=1.05, text="backward pass: gradients", showarrow=False, font=dict(color=VERMILLION)
    )
    if first > 0:
        fig.add_annotation(
            x=(first - 1) / 2,
            y=1.15,
            showarrow=False,
            font=dict(color=VERMILLION),
            text="✕ backward stops: nothing below needs a gradient",
        )
    _bare_axes(fig, [-0.6, n - 0.4], [0.0, 3.1])
    return _layout(fig, "Where gradients flow, and what the optimizer holds", 330)


# ---- BatchNorm: batch statistics or running statistics --------------------------------------------


def batchnorm_figure(cases: tuple[lf.BNCase, ...] = lf.BN_CASES) -> go.Figure:
    """One row per (framework, setup): which statistics normalise, and whether running ones move."""
    fill = {"batch": ORANGE, "running": SKY}
    cells = [
        [c.framework for c in cases],
        [c.setup for c in cases],
        [f"{c.normalises_with} statistics" for c in cases],
        ["yes: they drift with each batch" if c.running_stats_update else "no: kept as they are" for c in cases],
    ]
    colours = [
        ["white"] * len(cases),
        ["white"] * len(cases),
        [fill[c.normalises_with] for c in cases],
        ["#FBE3B5" if c.running_stats_update else "white" for c in cases],
    ]
    fig = go.Figure(
        go.Table(
            columnwidth=[0.7, 2.0, 1.2, 1.8],
            header=dict(
                values=[
                    "<b>framework</b>",
                    "<b>your code</b>",
                    "<b>normalises with</b>",
                    "<b>running mean/var updated?</b>",
                ],
                fill_color="#EEEEEE",
                align="left",
                font=dict(size=13, color=INK),
            ),
            cells=dict(values=cells, fill_color=colours, align="left", height=30, font=dict(size=13, color=INK)),
        )
    )
    return _layout(fig, "BatchNorm in training: batch statistics (orange) or running statistics (blue)", 330)


def bn_stats_figure(stats: lf.BNStats | None = None) -> go.Figure:
    """Per channel: batch mean and standard deviation of each small batch (markers) against the
    running values eval mode uses (dashed line), mean on the left, standard deviation on the right."""
    stats = stats if stats is not None else lf.load_bn_stats()
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=["mean per batch", "standard deviation per batch"]
    )
    colours, symbols = (BLUE, ORANGE, GREEN), ("circle", "square", "diamond")
    for i, c in enumerate(stats.channels):
        x = list(range(1, len(stats.batch_mean[i]) + 1))
        for col, (batch, running) in enumerate(
            ((stats.batch_mean[i], stats.running_mean[i]), (stats.batch_std[i], stats.running_std[i])), start=1
        ):
            style = dict(color=colours[i % 3])
            fig.add_scatter(
                x=x,
                y=list(batch),
                mode="markers",
                marker=dict(symbol=symbols[i % 3], size=9, **style),
                name=f"channel {c}: this batch (train mode)",
                legendgroup=str(c),
                showlegend=col == 1,
                row=1,
                col=col,
            )
            fig.add_scatter(
                x=[x[0], x[-1]],
                y=[running, running],
                mode="lines",
                line=dict(dash="dash", **style),
                name=f"channel {c}: running, from ImageNet (eval mode)",
                legendgroup=str(c),
                showlegend=col == 1,
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text=f"batch of {stats.batch_size} digit images", dtick=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.25, yanchor="top"))
    return _layout(fig, f"Statistics entering {stats.layer}: each batch's own vs the running ones", 440)


# ---- gradual unfreezing and discriminative rates: epochs x groups --------------------------------


def _timeline_trace(groups: list[str], sched: list[dict[str, float]]) -> go.Heatmap:
    epochs = list(range(1, len(sched) + 1))
    z = [[math.log10(s[g]) if g in s else None for s in sched] for g in groups]
    text = [[lf.lr_text(s[g]) if g in s else "frozen" for s in sched] for g in groups]
    return go.Heatmap(
        x=epochs,
        y=groups,
        z=z,
        text=text,
        texttemplate="%{text}",
        coloraxis="coloraxis",
        xgap=2,
        ygap=2,
        hovertemplate="epoch %{x}, %{y}: %{text}<extra></extra>",
    )


def timeline_figure(presets: tuple[str, ...] = lf.TIMELINE_PRESETS) -> go.Figure:
    """One panel per preset: rows are layer groups (input at the bottom), columns are epochs, each
    cell the group's learning rate that epoch or "frozen"."""
    fig = make_subplots(
        rows=1,
        cols=len(presets),
        horizontal_spacing=0.08,
        subplot_titles=[PRESETS[p].title.split(":")[0] for p in presets],
    )
    for col, pid in enumerate(presets, start=1):
        groups, sched = lf.preset_schedule(pid)
        fig.add_trace(_timeline_trace(groups, sched), row=1, col=col)
        fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=col)
    # Frozen cells have no value and show the light background: grey, with the word "frozen".
    fig.update_layout(
        plot_bgcolor=FROZEN_GREY,
        coloraxis=dict(
            colorscale=[[0, "#CFE6F7"], [0.5, SKY], [1, BLUE]],
            cmin=-5,
            cmax=-3,
            colorbar=dict(title="lr", tickvals=[-5, -4, -3], ticktext=["1e-5", "1e-4", "1e-3"]),
        ),
    )
    return _layout(fig, "Which groups train in each epoch, and at what learning rate", 380)


# ---- which layers to fine-tune ------------------------------------------------------------------


def which_layers_figure(cells: tuple[lf.GridCell, ...] = lf.WHICH_LAYERS) -> go.Figure:
    """2 x 2: data size (rows) by similarity to the pretraining data (columns); darker = train more."""
    sims, sizes = ["similar", "different"], ["large", "small"]
    by = {(c.data, c.similarity): c for c in cells}
    z = [[by[(d, s)].depth for s in sims] for d in sizes]
    text = [[by[(d, s)].advice for s in sims] for d in sizes]
    fig = go.Figure(
        go.Heatmap(
            x=[lf.SIMILARITY[s] for s in sims],
            y=[f"{d} dataset" for d in sizes],
            z=z,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=14, color=INK),
            zmin=0,
            zmax=4,
            showscale=False,
            colorscale=[[0, "#F2F8FD"], [1, SKY]],
            xgap=4,
            ygap=4,
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(side="top", fixedrange=True)
    fig.update_yaxes(fixedrange=True)
    return _layout(fig, "Which layers to fine-tune: darker cells train more of the network", 360)


# ---- healthy, overfitting, lr too high: real runs side by side -----------------------------------


def _curve_title(c: dict) -> str:
    cfg = c["config"]
    n, total = len(cfg["trainable"]), len(models.group_names(cfg["model"]))
    layers = (
        "head only" if cfg["trainable"] == [models.HEAD] else "all layers" if n == total else f"{n} of {total} groups"
    )
    return f"{c['name']}<br><sup>lr {cfg['lr']:g}, {cfg['per_class']} images/class, {layers}</sup>"


def curves_figure(curves: list[dict] | None = None) -> go.Figure:
    """Loss (top) and accuracy (bottom) of three stored engine runs; train solid blue, validation
    dashed orange, each panel on its own scale."""
    curves = curves if curves is not None else lf.load_curves()
    fig = make_subplots(
        rows=2,
        cols=len(curves),
        shared_xaxes=False,
        vertical_spacing=0.16,
        subplot_titles=[_curve_title(c) for c in curves],
    )
    styles = {"train": dict(color=BLUE, dash="solid"), "val": dict(color=ORANGE, dash="dash")}
    for col, c in enumerate(curves, start=1):
        x = [e["epoch"] for e in c["epochs"]]
        for split, label in (("train", "training"), ("val", "validation")):
            fig.add_scatter(
                x=x,
                y=[e[f"{split}_loss"] for e in c["epochs"]],
                mode="lines+markers",
                name=f"{label}",
                legendgroup=split,
                showlegend=col == 1,
                line=styles[split],
                row=1,
                col=col,
            )
            fig.add_scatter(
                x=x,
                y=[100 * e[f"{split}_acc"] for e in c["epochs"]],
                mode="lines+markers",
                name=label,
                legendgroup=split,
                showlegend=False,
                line=styles[split],
                row=2,
                col=col,
            )
        fig.update_yaxes(range=[0, 102], row=2, col=col)
        fig.update_xaxes(title_text="epoch", row=2, col=col)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy %", row=2, col=1)
    fig.update_layout(legend=dict(orientation="h", y=1.16, x=1, xanchor="right"))
    return _layout(fig, "Three real runs: healthy, overfitting, learning rate too high", 540)


TILE, GAP, COLS = 12, 6, 8  # screen pixels per kernel weight, between kernels; kernels per row
SHORT = {sf.EDGE: "edge", sf.COLOUR: "colour", sf.BRIGHTNESS: "bright", sf.OFF: "off"}


def stem_filters_order(filters: sf.StemFilters) -> list[int]:
    """Kernels grouped by kind (edges first), in their channel order within a kind."""
    rank = {k: i for i, k in enumerate((sf.EDGE, sf.COLOUR, sf.BRIGHTNESS, sf.OFF))}
    return sorted(range(len(filters.kinds)), key=lambda i: (rank[filters.kinds[i]], i))


def _kernel_tile(kernel, floor: float) -> np.ndarray:
    """A [3, 3, 3] kernel as a 3x3 RGB picture, mid-grey at zero, scaled to its own largest weight but
    never above `floor`, so a kernel with almost no weight stays almost grey instead of showing noise."""
    scale = max(float(np.abs(kernel).max()), floor)
    rgb = (127.5 + 127.5 * kernel / scale).transpose(1, 2, 0)
    return np.kron(rgb, np.ones((TILE, TILE, 1))).round().astype(np.uint8)


def stem_filters_figure(filters: sf.StemFilters | None = None) -> go.Figure:
    f = filters or sf.stem_filters()
    order = stem_filters_order(f)
    floor = 0.25 * float(np.abs(f.weights).max())
    rows, side = math.ceil(len(order) / COLS), 3 * TILE + GAP
    canvas = np.full((rows * (side + 14), COLS * side, 3), 255, dtype=np.uint8)
    fig = go.Figure()
    for slot, i in enumerate(order):
        top, left = (slot // COLS) * (side + 14), (slot % COLS) * side
        canvas[top : top + 3 * TILE, left : left + 3 * TILE] = _kernel_tile(f.weights[i], floor)
        fig.add_annotation(
            x=left + 1.5 * TILE,
            y=top + 3 * TILE + 8,
            text=f"{SHORT[f.kinds[i]]} #{i}",
            showarrow=False,
            font=dict(size=10, color=INK),
        )
    fig.add_trace(go.Image(z=canvas, hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "MobileNetV2's first layer: its 32 real 3x3 kernels, grouped by what they detect", 420)


# kind (core.content.lessons.FIGURE_KINDS) -> function drawing it
DIAGRAMS = {
    "gradient-flow": gradient_flow_figure,
    "batchnorm-modes": batchnorm_figure,
    "batchnorm-stats": bn_stats_figure,
    "unfreeze-timeline": timeline_figure,
    "which-layers-grid": which_layers_figure,
    "curve-shapes": curves_figure,
    "stem-filters": stem_filters_figure,
}
