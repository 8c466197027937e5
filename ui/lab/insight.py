"""The Lab after a run: why fine-tuning works (feature space before and after, where the model looks).

A view only: the features, probes and layouts come from core.runs.feature_map, the heat maps from
core.runs.gradcam (Captum). Nothing is computed until the learner asks (a toggle), and each answer is
kept per result, so the other results tabs stay as fast as before. Every widget key starts with
key_prefix, as in ui.lab.results.
"""

from __future__ import annotations

import threading

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from core.data.imagefiles import DataError
from core.errors import LearnerError
from core.models import backbones as models
from core.runs import analysis, feature_map, gradcam
from core.train.engine import RunResult
from ui.common import PALETTE

SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down")
CAM_IMAGES = 4  # validation images shown at once
CAM_WIDTH = 128  # px on the page; the model's 64 px input is enlarged by the browser
_PRELOADING = threading.Lock()
_preloaded = False


def _preload() -> None:
    """Import scikit-learn and Captum once per server, in the background, when results first
    appear: the Lab page loads without them, and a learner's first click does not wait for them."""
    global _preloaded
    with _PRELOADING:
        if _preloaded:
            return
        _preloaded = True
    threading.Thread(
        target=lambda: (feature_map.preload(), gradcam.preload()), daemon=True, name="ftlab-insight-imports"
    ).start()


def render_insight(result: RunResult | None, key_prefix: str, data=None) -> None:
    """Both sections, for a run that has a model and the images it was trained on."""
    if result is None or result.model is None or not result.epochs:
        return
    st.subheader("🔬 Why it works")
    _preload()
    try:
        data = analysis.data_for(result, data)
    except DataError as exc:
        st.info(f"{exc} The feature map and the heat maps need them.")
        return
    feature_space(result, data, key_prefix)
    where_it_looks(result, data, key_prefix)


def _kept(key: str, result: RunResult, compute, tag=None):
    """compute() once per result and `tag` (one slot per key, so a session holds one answer per
    question); a rerun (every click) then costs nothing."""
    slot = st.session_state.get(key)
    if slot is None or slot[0] is not result or slot[1] != tag:
        slot = (result, tag, compute())
        st.session_state[key] = slot
    return slot[2]


# ---- feature space ------------------------------------------------------------------------------


def feature_space(result: RunResult, data, key_prefix: str) -> None:
    st.markdown("#### Feature space, before and after")
    st.caption(
        f"Each dot is a validation image (up to {feature_map.MAP_LIMIT}, every class in equal share), "
        "placed by the vector the head sees (the backbone's pooled output), squeezed to 2-D. Where the "
        "classes already form separate clumps, a linear head can tell them apart: that is why training "
        "only a new head on frozen ImageNet features works. Under each map: a linear probe, a logistic "
        "regression fitted on the training images' vectors and scored on the mapped validation images."
    )
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    method = left.radio(
        "Map",
        list(feature_map.METHODS),
        format_func=feature_map.METHODS.get,
        horizontal=True,
        key=f"{key_prefix}_fmap_method",
        help="PCA keeps the two directions of largest spread (linear, instant). t-SNE and UMAP "
        "keep each image's neighbours together; distances between clumps mean little.",
    )
    if not right.toggle("Show the feature maps", key=f"{key_prefix}_fmap_on"):
        return
    key = f"{key_prefix}_fmap_{method}"
    slot = st.session_state.get(key)
    panels = slot[1] if slot is not None and slot[0] is result else None
    bar = None if panels else st.progress(0.0, text="Computing the features…")
    columns = dict(zip(feature_map.SHOWN, st.columns(len(feature_map.SHOWN))))

    def draw(panel: feature_map.Panel) -> None:
        _draw_map(columns[panel.name], panel, data, key_prefix, method)

    if panels:
        for panel in panels:
            draw(panel)
    else:
        panels = _compute_maps(result, data, method, bar, draw)
        if panels is None:
            return
        st.session_state[key] = (result, panels)
    st.caption(_maps_summary({p.name: p.probe_acc for p in panels}, len(panels[0].index), method))


def _compute_maps(result: RunResult, data, method: str, bar, draw):
    """The three panels, each drawn as soon as it is ready (two of them come from cached features)."""

    def progress(done: int, total: int, title: str) -> None:
        bar.progress(done / total, text=f"{done} of {total} maps: {title}…" if done < total else "Done.")

    try:
        panels = feature_map.feature_maps(result, data, method, progress, on_panel=draw)
    except LearnerError as exc:  # e.g. UMAP not installed on this server: the message says how
        st.warning(str(exc))
        panels = None
    except (ValueError, RuntimeError, MemoryError) as exc:
        st.error(f"Could not compute the feature maps ({exc}). Try PCA, or fewer validation images.")
        panels = None
    bar.empty()
    return panels


def _scatter(panel: feature_map.Panel, class_names: list[str]) -> go.Figure:
    fig = go.Figure()
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(panel.labels == c)
        fig.add_trace(
            go.Scatter(
                x=panel.xy[idx, 0],
                y=panel.xy[idx, 1],
                mode="markers",
                name=name,
                customdata=panel.index[idx],
                marker=dict(
                    size=7,
                    color=PALETTE[c % len(PALETTE)],
                    symbol=SYMBOLS[(c // len(PALETTE)) % len(SYMBOLS)],
                    line=dict(width=0.5, color="white"),
                ),
                hovertemplate=f"class {name}<br>validation image #%{{customdata}}<br>click to see it<extra></extra>",
            )
        )
    fig.update_layout(
        height=360,
        margin=dict(l=5, r=5, t=5, b=5),
        legend=dict(orientation="h", y=-0.05),
        xaxis=dict(showticklabels=False, title=None),
        yaxis=dict(showticklabels=False, title=None),
        clickmode="event+select",
        dragmode="pan",
    )
    return fig


def _draw_map(col, panel: feature_map.Panel, data, key_prefix: str, method: str) -> None:
    key = f"{key_prefix}_fmap_{method}_{panel.name}"
    with col:
        st.markdown(f"**{panel.title}**")
        st.plotly_chart(
            _scatter(panel, data.class_names),
            key=key,
            on_select="rerun",
            selection_mode="points",
            config={"displayModeBar": False},
        )
        st.metric(
            "Linear probe (validation)",
            f"{panel.probe_acc:.0%}",
            help="A logistic regression on these features alone: what a head can reach with no change to the backbone.",
        )
        _selected_image(data, key)


def _selected_image(data, key: str) -> None:
    """The image behind a clicked dot (Plotly's hover box cannot hold a picture)."""
    state = st.session_state.get(key)
    points = (state or {}).get("selection", {}).get("points", []) if state else []
    if not points:
        st.caption("Click a dot to see its image.")
        return
    index = points[0].get("customdata")
    index = int(index[0] if isinstance(index, (list, tuple)) else index)
    label = data.class_names[int(data.val_y[index])]
    st.image(analysis.val_image(data, index), width=96, caption=f"validation image #{index}: class {label}")


def _maps_summary(probes: dict[str, float], n: int, method: str) -> str:
    pre, scratch, tuned = (probes[feature_map.PRETRAINED], probes[feature_map.SCRATCH], probes[feature_map.FINE_TUNED])
    return (
        f"Chart summary: {n} validation images mapped with {method.upper()}. Linear probe on ImageNet "
        f"features {pre:.0%}, on a random backbone's {scratch:.0%}, after fine-tuning {tuned:.0%}."
    )


# ---- where the model looks -----------------------------------------------------------------------


def where_it_looks(result: RunResult, data, key_prefix: str) -> None:
    st.markdown("#### Where the model looks")
    st.caption(
        "Grad-CAM (from Captum) colours the parts of the image that raised the score of the "
        "predicted class: bright is strong. **Before** is the backbone the run started from, read "
        "through the run's trained head; **after** is the fine-tuned network. A frozen backbone's "
        "maps do not change, however long the head trains: only layers that train can move where the "
        "model looks."
    )
    if not st.toggle("Show where the model looks", key=f"{key_prefix}_cam_on"):
        return
    # One "before" network per session (a copy of the backbone, 14 MB for MobileNetV2), whichever run is shown.
    before = _kept("lab_insight_cam_before", result, lambda: gradcam.before_model(result))
    groups = list(result.model.groups)
    default = _kept(
        f"{key_prefix}_cam_default", result, lambda: gradcam.default_layer(result.model, result.config.image_size)
    )
    pick, _ = st.columns([1, 2])
    layer = pick.selectbox(
        "Layer group",
        groups,
        index=groups.index(default),
        key=f"{key_prefix}_cam_layer",
        help="Grad-CAM's usual pick is the last group; at small inputs its map is only 2x2, "
        "so the default is the deepest group whose map is at least 4x4.",
    )
    _frozen_note(result, layer)
    _validation_maps(result, data, before, layer, key_prefix)
    _photo_maps(result, data, before, layer, key_prefix)


def _frozen_note(result: RunResult, layer: str) -> None:
    names, cfg = result.model.group_names, result.config
    head_only = set(cfg.trainable) | {g for gs in cfg.unfreeze_at.values() for g in gs} <= {models.HEAD}
    prefix = feature_map.frozen_prefix(result)
    if head_only and not cfg.frozen_bn_eval:
        st.warning(
            "Only the head trained, yet the maps moved: the frozen groups' BatchNorm layers were in "
            "training mode, so their running statistics followed the new images (see *BatchNorm in "
            "frozen layers*). With **Keep frozen BatchNorm in eval mode** on, they stay identical.",
            icon="🧊",
        )
    elif prefix >= len(names) - 1:
        st.info(
            "This run trained only the head, so the backbone is unchanged: the two columns are identical. "
            "Train the last stages too (Layers section) and compare.",
            icon="🧊",
        )
    elif names.index(layer) < prefix:
        st.caption(
            f"The groups up to {names[prefix - 1]} were frozen; the maps still differ because the "
            f"trained groups after {layer} change the gradients that weigh its maps."
        )


def _validation_maps(result: RunResult, data, before, layer: str, key_prefix: str) -> None:
    n = len(data.val_y)
    order = feature_map.class_turns(data.val_y.numpy())  # four images show four classes
    start = st.session_state.get(f"{key_prefix}_cam_offset", 0) % max(1, n)
    if st.button("Other validation images", key=f"{key_prefix}_cam_next", icon="🔀"):
        start = (start + CAM_IMAGES) % max(1, n)
        st.session_state[f"{key_prefix}_cam_offset"] = start
    picked = [int(order[(start + i) % n]) for i in range(min(CAM_IMAGES, n))]
    maps = _kept(
        f"{key_prefix}_cam_maps",
        result,
        lambda: gradcam.compare(result, data.val_x[picked], layer, before),
        tag=(layer, start),
    )
    images = [analysis.val_image(data, i) for i in picked]
    truths = [data.class_names[int(data.val_y[i])] for i in picked]
    _draw_rows(images, maps, data.class_names, truths)


def _draw_rows(images: list[np.ndarray], maps: dict, class_names: list[str], truths: list[str | None]) -> None:
    head = st.columns(3)
    for col, text in zip(head, ("image", "before fine-tuning", "after fine-tuning")):
        col.markdown(f"**{text}**")
    for i, image in enumerate(images):
        before, after = maps["before"][i], maps["after"][i]
        scale = max(float(before.max()), float(after.max()))  # one scale per row: equal maps look equal
        cols = st.columns(3)
        predicted = class_names[maps["targets"][i]]
        what = f"true {truths[i]}, predicted {predicted}" if truths[i] else f"predicted {predicted}"
        cols[0].image(image, width=CAM_WIDTH, caption=what)
        cols[1].image(gradcam.overlay(image, before, scale), width=CAM_WIDTH, caption=f"before ({maps['layer']})")
        cols[2].image(
            gradcam.overlay(image, after, scale),
            width=CAM_WIDTH,
            caption="after: same map"
            if np.allclose(before, after, rtol=1e-4, atol=1e-6 * (scale or 1))
            else "after: the map moved",
        )


def _photo_maps(result: RunResult, data, before, layer: str, key_prefix: str) -> None:
    st.markdown("**Your own photo**")
    upload = st.file_uploader(
        "A photo (PNG or JPG)",
        type=["png", "jpg", "jpeg"],
        key=f"{key_prefix}_cam_photo",
        max_upload_size=analysis.MAX_UPLOAD_MB,
    )
    if upload is None:
        return
    greyscale = analysis.is_greyscale(data)
    invert = greyscale and st.toggle(
        "Invert the colours (light marks on a dark background, like MNIST)", key=f"{key_prefix}_cam_invert"
    )
    try:
        image = analysis.read_image_bytes(upload.getvalue(), upload.name)
        view = analysis.model_view(image, result.config.image_size, greyscale, invert)
        maps = gradcam.compare(result, torch.from_numpy(view).permute(2, 0, 1)[None], layer, before)
    except DataError as exc:
        st.error(f"Could not use this file: {exc}")
        return
    if greyscale:
        st.caption("Turned grey first, as the model only saw grey images.")
    _draw_rows([view], maps, data.class_names, [None])
