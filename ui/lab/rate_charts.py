"""The Lab's learning-rate charts: each layer group's rate at every step, planned before a run (the
schedule the engine will follow) or as the run stepped with it.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from core.train.schedules import moves
from ui.lab.charts import MAX_BATCH_POINTS, _epoch_axis, _layout, series_line

Rates = dict[str, list[tuple[float, float]]]  # layer group -> (epoch position, learning rate) per step


def rates_from_batches(batches: list[dict]) -> Rates:
    """Each group's rate at every batch so far, from the batch events' `lrs` (records kept before
    schedules existed have none: an empty chart, not an error)."""
    out: Rates = {}
    for b in batches:
        lrs = b.get("lrs")
        if isinstance(lrs, dict):
            x = b["epoch"] - 1 + b["step"] / b["steps"]
            for g, lr in lrs.items():
                out.setdefault(g, []).append((x, lr))
    return out


def merge_same(rates: Rates) -> Rates:
    """Groups whose rates are the same at every step share one line, named after all of them: three
    identical lines drawn on top of each other look like one line with a confusing legend."""
    same: dict[tuple, list[str]] = {}
    for g, pts in rates.items():
        same.setdefault(tuple(pts), []).append(g)
    return {", ".join(names): list(pts) for pts, names in same.items()}


def _spread(rates: Rates) -> float:
    peaks = [max(lr for _, lr in pts) for pts in rates.values() if pts]
    return max(peaks) / min(peaks) if peaks and min(peaks) > 0 else 1.0


def _epoch_of(x: float) -> int:
    """The 1-based epoch a step at epoch position `x` (steps done / steps per epoch) belongs to."""
    return math.floor(x - 1e-9) + 1


def _frozen_until_open(pts: list[tuple[float, float]], start: float) -> list[tuple[float, float]]:
    """A group that opens later trains at rate 0 until then: drawn as a line on zero with a step up,
    so it does not hide under the groups that trained from the start (issue 24 item 8)."""
    if not pts or pts[0][0] <= start + 1e-9:
        return pts
    return [(start, 0.0), (pts[0][0] - 1e-9, 0.0)] + pts


def rate_figure(rates: Rates, total_epochs: int | None = None, title: str = "Learning rate per group") -> go.Figure:
    """One line per layer group: the rate of every optimizer step, before a run (the plan) or live.
    Linear, so a schedule's shape reads at a glance; log when the groups' peaks differ more than 10x
    (discriminative rates), or the small ones would lie flat on zero. A group that opens later is
    drawn at 0 until it opens, with a marked line where it does."""
    fig = go.Figure()
    merged = merge_same(rates)
    start = min((pts[0][0] for pts in merged.values() if pts), default=0.0)
    for i, (g, pts) in enumerate(merged.items()):
        step = max(1, len(pts) // MAX_BATCH_POINTS)
        shown = pts[::step] + ([pts[-1]] if (len(pts) - 1) % step else [])  # keep the last rate (the floor)
        shown = _frozen_until_open(shown, start)
        fig.add_scatter(
            x=[x for x, _ in shown], y=[lr for _, lr in shown], mode="lines", name=g, line=dict(series_line(i), width=2)
        )
        if pts and pts[0][0] > start + 1e-9:
            fig.add_vline(
                x=pts[0][0],
                line=dict(color=series_line(i)["color"], dash="dot", width=1),
                annotation=dict(text=f"{g} opens (epoch {_epoch_of(pts[0][0])})", textangle=-90, font=dict(size=10)),
                annotation_position="top left",
            )
    fig.update_layout(showlegend=True)  # which groups a line is, even when all share one
    if _spread(rates) > 10:
        fig.update_yaxes(type="log", exponentformat="power")
    else:
        fig.update_yaxes(rangemode="tozero", exponentformat="e")
    _epoch_axis(fig, total_epochs, start=0.0)
    return _layout(fig, title, "learning rate", height=280)


def _rate(v: float) -> str:
    return f"{v:.2g}" if v >= 0.01 else f"{v:.1e}".replace("e-0", "e-")


def rate_summary(rates: Rates, total_epochs: int | None = None, live: bool = False) -> str:
    """The plan (each group's start, peak and last rate), or live: each group's rate now."""
    shown = {g: pts for g, pts in merge_same(rates).items() if pts}
    if not shown:
        return "Learning rate per group: no batch trained yet." if live else "Learning rate per group: nothing trains."
    if live:
        x = max(pts[-1][0] for pts in shown.values())
        return (
            f"Learning rate per group at epoch {x:.1f} of {total_epochs or math.ceil(x)}: "
            + ", ".join(f"{g} {_rate(pts[-1][1])}" for g, pts in shown.items())
            + "."
        )
    parts = []
    for g, pts in shown.items():
        top = max(pts, key=lambda p: p[1])
        opens = f" (frozen, rate 0, until it opens in epoch {_epoch_of(pts[0][0])})" if pts[0][0] > 1 else ""
        parts.append(
            f"{g}{opens} starts at {_rate(pts[0][1])}, peaks at {_rate(top[1])} in epoch "
            f"{_epoch_of(top[0])}, ends at {_rate(pts[-1][1])}"
        )
    return "Learning rate per group, planned for every step: " + "; ".join(parts) + "."


def live_rate_chart(cfg, batches: list[dict]) -> tuple[go.Figure, str] | None:
    """(figure, text alternative) of the rate each group stepped with, for a run whose schedule moves
    the rate (`cfg` its TrainConfig); None for a constant one, whose rates the setup already shows."""
    if not moves(cfg):
        return None
    rates = rates_from_batches(batches)
    return rate_figure(rates, cfg.epochs), rate_summary(rates, cfg.epochs, live=True)
