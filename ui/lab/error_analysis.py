"""The Lab's error-analysis loop: the validation images with the highest loss in one table (thumbnail,
labels, confidence, loss, a "likely mislabelled" mark) and what to do about them. A view over
core.runs.error_analysis; the thumbnails travel as PNG data URLs because st.dataframe's image column
shows an image only from a URL.
"""

from __future__ import annotations

import base64
import io

import pandas as pd
import streamlit as st
from PIL import Image

from core.data.datasets import PreparedData
from core.runs import analysis, error_analysis
from core.train.engine import RunResult

LIMIT = 12  # rows: a learner inspects a dozen images; more is a chore, not a loop
THUMB_PX = 64
FLAG = "⚑ check label"


def thumbnail_url(image) -> str:
    """An HxWx3 uint8 image as a PNG data URL, at most THUMB_PX on its long side."""
    img = Image.fromarray(image)
    img.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def hard_table(rows: list[error_analysis.HardImage], data: PreparedData) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image": [thumbnail_url(analysis.val_image(data, r.val_index)) for r in rows],
            "true label": [r.true for r in rows],
            "predicted": [r.predicted for r in rows],
            "confidence": [r.confidence for r in rows],
            "loss": [round(r.loss, 2) for r in rows],
            "flag": [FLAG if r.likely_mislabelled else "" for r in rows],
        }
    )


def render_error_analysis(result: RunResult, data: PreparedData, key_prefix: str) -> None:
    st.subheader("Error analysis: the hardest validation images")
    try:
        rows = error_analysis.hardest(result, data, LIMIT)
    except (ValueError, RuntimeError) as exc:
        st.error(f"Could not score the validation images: {exc}")
        return
    if not rows:
        st.info("No validation images to analyse.")
        return
    st.caption(
        "Sorted by loss, -log of the probability the model gave the image's own label: a confident "
        "mistake costs most, so it comes first. These are the images to look at before changing any setting."
    )
    st.dataframe(
        hard_table(rows, data),
        key=f"{key_prefix}_hardest",
        hide_index=True,
        row_height=THUMB_PX + 6,
        height=40 + len(rows) * (THUMB_PX + 6),  # every row in view: a dozen images, no inner scrolling
        column_config={
            "image": st.column_config.ImageColumn("image", width="small"),
            "confidence": st.column_config.NumberColumn(
                "confidence", format="percent", help="The model's probability for the class it predicted."
            ),
            "loss": st.column_config.NumberColumn("loss", help="Cross-entropy of the true label: -log p(true)."),
            "flag": st.column_config.TextColumn(
                "likely mislabelled?",
                help=f"Wrong, with at least {error_analysis.CONFIDENT:.0%} confidence in another class.",
            ),
        },
    )
    if any(r.likely_mislabelled for r in rows):
        st.warning(
            f"**{FLAG}** marks a hint, not proof: the model is at least {error_analysis.CONFIDENT:.0%} sure "
            "of another class, which often means a wrong label, but a hard or ambiguous image looks the same. "
            "Only a person looking at the image can tell.",
            icon="🔍",
        )
    st.markdown("**What to do next**")
    for step in error_analysis.advice(rows):
        st.markdown(f"- {step}")
    st.caption(
        "The loop: inspect the hardest images, fix the labels that are wrong, collect more images of the "
        "pairs the model confuses, train again, and look at this table again."
    )
