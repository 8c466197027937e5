"""The Lab's instant preview: when only the head trains, the curves of the current setting, drawn
on every change of the form, before Start (core.train.head_preview trains the head on cached frozen
features in a fraction of a second). Start still runs the full live job; the preview says so."""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from core.errors import LearnerError
from core.lab import links
from core.train import head_preview
from core.train.config import TrainConfig
from ui.common import chart_with_summary
from ui.lab import charts

PLOT_CONFIG = {"displayModeBar": False}


def preview_section(cfg: TrainConfig | None, projector: bool = False) -> None:
    """The preview's two charts under their label, or nothing when this setup has no preview."""
    if cfg is None or cfg.dataset == links.UPLOAD or head_preview.unavailable(cfg) is not None:
        return
    with st.container(key="lab_preview"):
        st.subheader("Preview")
        try:
            with st.spinner("Computing the frozen features once for this data…"):
                result = head_preview.preview(cfg)
        except LearnerError as exc:
            st.info(f"No preview for this setup: {exc}", icon="⚡")
            return
        st.markdown(f"**⚡ {head_preview.LABEL}**")
        st.caption(
            "Only the head trains, so these curves come from the frozen layers' features computed once: "
            "the same training as a real run of this setting on the CPU. **Start training** still runs the "
            "full live job."
        )
        _charts(result, cfg.epochs, projector)


def _charts(result: head_preview.Preview, total_epochs: int, projector: bool) -> None:
    epochs = [asdict(e) for e in result.epochs]
    if result.reason == "diverged":
        st.warning("The preview diverged: the loss became infinite. Try a 10x smaller learning rate.", icon="💥")
    if result.reason == "early_stopped":
        st.caption(f"Early stopping would end this run after epoch {len(epochs)} (best epoch {result.best_epoch}).")
    figs = [
        (charts.loss_figure(epochs, [], total_epochs), charts.loss_summary(epochs, [], total_epochs), "loss"),
        (
            charts.accuracy_figure(epochs, total_epochs, result.n_val),
            charts.accuracy_summary(epochs, total_epochs, result.n_val),
            "acc",
        ),
    ]
    for col, (fig, summary, name) in zip(st.columns(2), figs, strict=True):
        with col:
            fig.update_layout(title_text=f"{fig.layout.title.text} · {head_preview.LABEL}")
            chart_with_summary(
                charts.projector(fig) if projector else fig,
                f"{head_preview.LABEL}. {summary}",
                config=PLOT_CONFIG,
                key=f"lab_preview_{name}",
            )
