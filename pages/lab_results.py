"""The Lab after a run: scores, confusion matrix, mistakes, a learner's own photo, and downloads.

A view only: the numbers come from core.analysis and the files from core.export. The Lab page calls
``render_results(result, key_prefix)``; every widget key starts with key_prefix so that two results
(e.g. a comparison of runs) can be shown on one page.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import analysis, export
from core.engine import RunResult
from core.imagefiles import DataError

GALLERY_COLUMNS = 6
GALLERY_LIMIT = 24
CHART_CONFIG = {"displayModeBar": False}
UPLOAD_MB = 20  # matches analysis.MAX_UPLOAD_BYTES, so the widget refuses before we read anything


def render_results(result: RunResult | None, key_prefix: str, data=None) -> None:
    """Everything to look at after a run. `data`: the PreparedData of an uploaded dataset."""
    if result is None or not result.epochs:
        st.info("No finished epoch yet: results appear here after the first epoch of a run.")
        return
    _summary(result)
    try:
        data = analysis.data_for(result, data)
    except DataError as exc:
        st.warning(f"{exc} The scores below still hold; the image gallery is skipped.")
        data = None
    _confusion(result, key_prefix)
    _per_class(result)
    if data is not None:
        _gallery(result, data, key_prefix)
    _own_photo(result, data, key_prefix)
    _downloads(result, key_prefix)


# ---- scores --------------------------------------------------------------------------------------

def _summary(result: RunResult) -> None:
    final = result.final
    train, val = final.get("train_acc", 0.0), final.get("val_acc", 0.0)
    if result.reason != "finished" and result.message:
        st.info(result.message)
    cols = st.columns(3)
    cols[0].metric("Validation accuracy", f"{val:.1%}", help="On images the model never trained on.")
    cols[1].metric("Training accuracy", f"{train:.1%}")
    cols[2].metric("Gap (train - val)", f"{train - val:+.1%}", delta_color="off",
                   help="A large positive gap means the model memorised its training images: overfitting.")


def _confusion(result: RunResult, key_prefix: str) -> None:
    st.subheader("Confusion matrix")
    if not result.val_pred:
        st.info("The run stopped before its first evaluation, so there are no validation predictions.")
        return
    names = result.class_names
    cm = analysis.confusion_matrix(result.val_true, result.val_pred, len(names))
    as_share = st.toggle("Show as share of each true class", key=f"{key_prefix}_cm_share",
                         help="Each row then sums to 100%: classes with few images become comparable.")
    z = cm / cm.sum(axis=1, keepdims=True).clip(min=1) if as_share else cm
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale="Blues", showscale=False,
        texttemplate=("%{z:.0%}" if as_share else "%{z}") if len(names) <= 20 else None,
        hovertemplate="true: %{y}<br>predicted: %{x}<br>%{z}<extra></extra>"))
    height = min(700, 160 + 32 * len(names))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="predicted class", yaxis_title="true class",
                      yaxis_autorange="reversed",  # first class on top, like a printed table
                      xaxis_type="category", yaxis_type="category")  # digit names "0".."9" stay labels
    st.plotly_chart(fig, config=CHART_CONFIG, key=f"{key_prefix}_cm")
    st.caption("The diagonal holds correct answers; every other cell is one kind of confusion.")


def _per_class(result: RunResult) -> None:
    if not result.val_pred:
        return
    st.subheader("Accuracy per class")
    rows = analysis.per_class_accuracy(result.val_true, result.val_pred, result.class_names)
    table = pd.DataFrame(rows, columns=["class", "correct", "images", "accuracy"])
    st.dataframe(table, hide_index=True, height=min(400, 38 + 35 * len(table)), column_config={
        "accuracy": st.column_config.ProgressColumn("accuracy", format="percent", min_value=0.0, max_value=1.0)})


# ---- where the model goes wrong --------------------------------------------------------------------

def _cached(key: str, result: RunResult, compute):
    """compute() once per result: reruns (every widget click) then cost nothing."""
    slot = st.session_state.get(key)
    if slot is None or slot[0] is not result:
        slot = (result, compute())
        st.session_state[key] = slot
    return slot[1]


def _gallery(result: RunResult, data, key_prefix: str) -> None:
    st.subheader("Misclassified validation images")
    try:
        mistakes = _cached(f"{key_prefix}_mistakes", result,
                           lambda: analysis.misclassified(result, data, GALLERY_LIMIT))
    except (ValueError, RuntimeError) as exc:
        st.error(f"Could not recompute the predictions: {exc}")
        return
    if not mistakes:
        st.success("No validation image is misclassified.")
        return
    st.caption("Most confident mistakes first. A confident mistake is often a mislabelled or ambiguous image.")
    for start in range(0, len(mistakes), GALLERY_COLUMNS):
        cols = st.columns(GALLERY_COLUMNS)
        for col, m in zip(cols, mistakes[start:start + GALLERY_COLUMNS]):
            col.image(analysis.val_image(data, m.index), width=96,
                      caption=f"true: {m.true} · predicted: {m.predicted} ({m.confidence:.0%})")


# ---- a learner's own photo --------------------------------------------------------------------------

def _own_photo(result: RunResult, data, key_prefix: str) -> None:
    st.subheader("Try it on your own photo")
    if result.model is None:
        st.info("This run has no model to try.")
        return
    greyscale = data is not None and analysis.is_greyscale(data)
    if greyscale:
        st.caption("This model only saw grey images, so your photo is turned grey first. It will do best "
                   "on photos that look like its training images.")
    upload = st.file_uploader("A photo (PNG or JPG)", type=["png", "jpg", "jpeg"], key=f"{key_prefix}_photo",
                              max_upload_size=UPLOAD_MB)
    with st.expander("Or take one with your camera"):
        st.caption("The browser only allows the camera on localhost or an HTTPS address.")
        camera = None
        if st.toggle("Turn on the camera", key=f"{key_prefix}_camera_on"):
            camera = st.camera_input("Take a photo", key=f"{key_prefix}_camera")
    for source in (upload, camera):
        if source is not None:
            _predict(result, source, greyscale)


def _predict(result: RunResult, source, greyscale: bool) -> None:
    try:
        image = analysis.read_image_bytes(source.getvalue(), source.name)
        ranked = analysis.predict_image(result.model, image, result.class_names,
                                        result.config.image_size, greyscale=greyscale)
    except DataError as exc:
        st.error(f"Could not use this file: {exc}")
        return
    left, right = st.columns([1, 2])
    left.image(image, caption=source.name, width=160)
    with right:
        for name, prob in ranked[:3]:
            st.progress(prob, text=f"{name}: {prob:.0%}")


# ---- downloads --------------------------------------------------------------------------------------

def _downloads(result: RunResult, key_prefix: str) -> None:
    st.subheader("Take your model with you")
    cfg, model = result.config, result.model
    cols = st.columns(3)
    if model is not None:
        meta = export.checkpoint_meta(model, result.class_names, cfg.image_size)
        # Callables: the files are built only when clicked, so a rerun holds no model-sized bytes.
        cols[0].download_button(
            "Weights + metadata (.pt)", lambda: export.export_state_dict(model, result.class_names, cfg.image_size),
            file_name=f"{cfg.model}-{cfg.dataset}.pt", mime="application/octet-stream",
            key=f"{key_prefix}_dl_state", on_click="ignore")
        cols[1].download_button(
            "TorchScript (.pt)", lambda: export.export_torchscript(model, cfg.image_size, meta),
            file_name=f"{cfg.model}-{cfg.dataset}-torchscript.pt", mime="application/octet-stream",
            key=f"{key_prefix}_dl_script", on_click="ignore")
    cols[2].download_button("Metrics (.csv)", export.metrics_csv(result), file_name="metrics.csv",
                            mime="text/csv", key=f"{key_prefix}_dl_csv", on_click="ignore")
    if model is not None:
        if not export.onnx_available():
            st.caption("ONNX export needs the `onnx` package, which is not installed here: TorchScript "
                       "loads in Python (`torch.jit.load`) and in C++ (libtorch) without this app.")
        with st.expander("How to load the weights file"):
            st.code("import torch\n"
                    "ckpt = torch.load('model.pt', weights_only=True)\n"
                    "print(ckpt['meta'])  # arch, class_names, image_size, mean, std\n"
                    "model.load_state_dict(ckpt['state_dict'])  # model: the same architecture, "
                    "with a head for len(class_names) classes", language="python")
