"""The Lab after a run: scores, confusion matrix, mistakes, a learner's own photo, and downloads.

A view only: the numbers come from core.runs.analysis and the files from core.runs.export. The Lab page calls
``render_results(result, key_prefix)``; every widget key starts with key_prefix so that two results
(e.g. a comparison of runs) can be shown on one page.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.data.imagefiles import DataError
from core.runs import analysis, export, held_out, stats
from core.train.engine import RunResult
from ui.common import chart_with_summary
from ui.lab.error_analysis import render_error_analysis
from ui.lab.insight import render_insight

GALLERY_COLUMNS = 6
GALLERY_LIMIT = 24
CHART_CONFIG = {"displayModeBar": False}


def render_results(result: RunResult | None, key_prefix: str, data=None, name: str = "") -> None:
    """Everything to look at after a run. `data`: the PreparedData of an uploaded dataset."""
    if render_scores(result, key_prefix, data):
        render_photo(result, key_prefix, data)
        render_downloads(result, key_prefix, name)


def _data(result: RunResult, data, warn: bool = True):
    try:
        return analysis.data_for(result, data)
    except DataError as exc:
        if warn:
            st.warning(f"{exc} The scores below still hold; the image gallery is skipped.")
        return None


def render_scores(result: RunResult | None, key_prefix: str, data=None) -> bool:
    """Scores, confusion matrix, per-class accuracy and the mistakes; False when there is nothing yet."""
    if result is None or not result.epochs:
        st.info("No finished epoch yet: results appear here after the first epoch of a run.")
        return False
    _summary(result)
    _confusion(result, key_prefix)
    _per_class(result)
    data = _data(result, data)
    if data is not None:
        _gallery(result, data, key_prefix)
        render_error_analysis(result, data, key_prefix)  # highest-loss images, likely wrong labels
        render_insight(result, key_prefix, data)  # why it works: feature space, Grad-CAM (issue 14)
    return True


def render_photo(result: RunResult, key_prefix: str, data=None) -> None:
    _own_photo(result, _data(result, data, warn=False) if result.model is not None else None, key_prefix)


def render_downloads(result: RunResult, key_prefix: str, name: str = "") -> None:
    _downloads(result, key_prefix, name)


# ---- scores --------------------------------------------------------------------------------------


def _summary(result: RunResult) -> None:
    final = result.final
    train, val = final.train_acc, final.val_acc
    if result.reason != "finished" and result.message:
        st.info(result.message)
    cols = st.columns(3)
    cols[0].metric("Validation accuracy", f"{val:.1%}", help="On images the model never trained on.")
    cols[1].metric("Training accuracy", f"{train:.1%}")
    gap = 100 * (train - val)
    cols[2].metric(
        "Gap (train - val)",
        f"{gap:+.0f} points" if abs(gap) >= 10 else f"{gap:+.1f} points",
        help="Training minus validation accuracy, in percentage points. Positive: the model does "
        "better on images it trained on (a large gap is overfitting). Negative: validation is "
        "easier than training, e.g. with augmentation or a small validation set.",
    )
    st.caption(analysis.gap_words(train, val))
    honest_accuracy(val, len(result.val_true), len(result.class_names))
    test_accuracy(result)


def test_accuracy(result: RunResult) -> None:
    """The score to report: the returned model on held-out test images, next to validation's."""
    text = test_accuracy_words(result)
    if text:
        st.markdown(text)


def test_accuracy_words(result: RunResult) -> str:
    return held_out.test_accuracy_words(result)


def honest_accuracy(val: float, n: int, num_classes: int) -> None:
    """The validation accuracy's 95% interval, and a warning when the set is too small to tell
    runs 5 points apart (nothing when the run kept no validation predictions)."""
    if not n:
        return
    st.caption(
        f"Validation accuracy {stats.Accuracy.of(val, n).words()}: on many more images like these, "
        f"this model's accuracy would most likely land in that range."
    )
    warning = stats.too_small_warning(val, n, num_classes)
    if warning:
        st.warning(warning, icon="📏")


def _confusion(result: RunResult, key_prefix: str) -> None:
    st.subheader("Confusion matrix")
    if not result.val_pred:
        st.info("The run stopped before its first evaluation, so there are no validation predictions.")
        return
    names = result.class_names
    cm = analysis.confusion_matrix(result.val_true, result.val_pred, len(names))
    as_share = st.toggle(
        "Show as share of each true class",
        key=f"{key_prefix}_cm_share",
        help="Each row then sums to 100%: classes with few images become comparable.",
    )
    z = cm / cm.sum(axis=1, keepdims=True).clip(min=1) if as_share else cm
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            colorscale="Blues",
            showscale=False,
            texttemplate=("%{z:.0%}" if as_share else "%{z}") if len(names) <= 20 else None,
            hovertemplate="true: %{y}<br>predicted: %{x}<br>%{z}<extra></extra>",
        )
    )
    height = min(700, 160 + 32 * len(names))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="predicted class",
        yaxis_title="true class",
        yaxis_autorange="reversed",  # first class on top, like a printed table
        xaxis_type="category",
        yaxis_type="category",
    )  # digit names "0".."9" stay labels
    chart_with_summary(fig, confusion_summary(cm, names), config=CHART_CONFIG, key=f"{key_prefix}_cm")
    st.caption("The diagonal holds correct answers; every other cell is one kind of confusion.")


def confusion_summary(cm, names: list[str], top: int = 3) -> str:
    """The confusion matrix in words: how many right, and the most frequent confusions."""
    total, right = int(cm.sum()), int(cm.trace())
    text = f"{right} of {total} validation images on the diagonal (correct)"
    pairs = sorted(
        (
            (int(cm[t, p]), names[t], names[p])
            for t in range(len(names))
            for p in range(len(names))
            if t != p and cm[t, p]
        ),
        reverse=True,
    )[:top]
    if not pairs:
        return text + "; no confusions."
    return (
        text
        + "; most frequent confusions: "
        + ", ".join(f"true {t} predicted as {p} ({n} time{'s' if n > 1 else ''})" for n, t, p in pairs)
        + "."
    )


def _per_class(result: RunResult) -> None:
    if not result.val_pred:
        return
    st.subheader("Accuracy per class")
    rows = analysis.per_class_accuracy(result.val_true, result.val_pred, result.class_names)
    table = pd.DataFrame(rows, columns=["class", "correct", "images", "accuracy"])
    # A class has a tenth of the images, so its interval is about three times as wide as the total's.
    table["95% interval"] = [stats.Accuracy(c, n).band() if n else "" for _, c, n, _ in rows]
    st.dataframe(
        table,
        hide_index=True,
        height=min(400, 38 + 35 * len(table)),
        column_config={
            "accuracy": st.column_config.ProgressColumn("accuracy", format="percent", min_value=0.0, max_value=1.0)
        },
    )


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
        mistakes = _cached(
            f"{key_prefix}_mistakes", result, lambda: analysis.misclassified(result, data, GALLERY_LIMIT)
        )
    except (ValueError, RuntimeError) as exc:
        st.error(f"Could not recompute the predictions: {exc}")
        return
    if not mistakes:
        st.success("No validation image is misclassified.")
        return
    st.caption("Most confident mistakes first. A confident mistake is often a mislabelled or ambiguous image.")
    for start in range(0, len(mistakes), GALLERY_COLUMNS):
        cols = st.columns(GALLERY_COLUMNS)
        for col, m in zip(cols, mistakes[start : start + GALLERY_COLUMNS]):
            col.image(
                analysis.val_image(data, m.index),
                width=96,
                caption=f"true: {m.true} · predicted: {m.predicted} ({m.confidence:.0%})",
            )


# ---- a learner's own photo --------------------------------------------------------------------------


def _own_photo(result: RunResult, data, key_prefix: str) -> None:
    st.subheader("Try it on your own photo")
    if result.model is None:
        st.info("This run has no model to try.")
        return
    names = result.class_names
    st.warning(
        f"The model knows only these {len(names)} classes: {', '.join(names[:12])}"
        f"{'…' if len(names) > 12 else ''}. **Any** photo, a cat or a car, gets one of them, often "
        f"with high confidence: a score says which class fits best, not that the photo is one.",
        icon="🏷️",
    )
    greyscale = data is not None and analysis.is_greyscale(data)
    if greyscale:
        st.caption(
            "This model only saw grey images, so your photo is turned grey first. It will do best "
            "on photos that look like its training images."
        )
    upload = st.file_uploader(
        "A photo (PNG or JPG)",
        type=["png", "jpg", "jpeg"],
        key=f"{key_prefix}_photo",
        max_upload_size=analysis.MAX_UPLOAD_MB,
    )
    with st.expander("Or take one with your camera"):
        st.caption("The browser only allows the camera on localhost or an HTTPS address.")
        camera = None
        if st.toggle("Turn on the camera", key=f"{key_prefix}_camera_on"):
            camera = st.camera_input("Take a photo", key=f"{key_prefix}_camera")
    for i, source in enumerate((upload, camera)):
        if source is not None:
            _predict(result, source, greyscale, f"{key_prefix}_{i}")


def _predict(result: RunResult, source, greyscale: bool, key: str) -> None:
    size = result.config.image_size
    invert = st.toggle(
        "Invert the colours (light digits on a dark background, like MNIST)",
        key=f"{key}_invert",
        help="MNIST digits are white on black. A dark pen on white paper is the opposite: a "
        "black-on-white 7 was read as 1 at 99%.",
    )
    try:
        image = analysis.read_image_bytes(source.getvalue(), source.name)
        view = analysis.model_view(image, size, greyscale, invert)
        ranked = analysis.predict_image(result.model, image, result.class_names, size, greyscale, invert)
    except DataError as exc:
        st.error(f"Could not use this file: {exc}")
        return
    left, mid, right = st.columns([1, 1, 2])
    left.image(image, caption=source.name, width=160)
    mid.image(
        view, caption=f"what the model sees: {size}x{size}" + (" grey" if greyscale else ""), width=size
    )  # at its real size: the detail the model has to work with
    mid.image(view, caption="the same, enlarged", width=160, clamp=True)
    if greyscale and analysis.mostly_light(view):
        st.warning(
            "This picture is mostly light with dark marks, the opposite of the training images (light "
            "digits on black). Switch on **Invert the colours** above and compare.",
            icon="🌓",
        )
    with right:
        for name, prob in ranked[:3]:
            st.progress(prob, text=f"{name}: {prob:.0%}")


# ---- downloads --------------------------------------------------------------------------------------


def _model_downloads(result: RunResult, cols, key_prefix: str, stem: str) -> None:
    """The trained model's files, in three columns."""
    cfg, model = result.config, result.model
    meta = export.checkpoint_meta(model, result.class_names, cfg.image_size)
    # Callables: the files are built only when clicked, so a rerun holds no model-sized bytes.
    cols[0].download_button(
        "torchvision weights (.pth)",
        lambda: export.export_torchvision(model),
        file_name=f"{stem}.pth",
        mime="application/octet-stream",
        key=f"{key_prefix}_dl_tv",
        on_click="ignore",
        help="A state_dict in torchvision's own layout: loads into torchvision.models with the code below.",
    )
    cols[1].download_button(
        "Weights + metadata (.pt)",
        lambda: export.export_state_dict(model, result.class_names, cfg.image_size),
        file_name=f"{stem}-lab.pt",
        mime="application/octet-stream",
        key=f"{key_prefix}_dl_state",
        on_click="ignore",
    )
    if export.onnx_available():
        cols[2].download_button(
            "ONNX (.onnx)",
            lambda: export.export_onnx(model, cfg.image_size),
            file_name=f"{stem}.onnx",
            mime="application/octet-stream",
            key=f"{key_prefix}_dl_onnx",
            on_click="ignore",
            help="For onnxruntime and other deployment runtimes: one image of the input size at a time.",
        )
    else:
        cols[2].download_button(
            "TorchScript (.pt)",
            lambda: export.export_torchscript(model, cfg.image_size, meta),
            file_name=f"{stem}-torchscript.pt",
            mime="application/octet-stream",
            key=f"{key_prefix}_dl_script",
            on_click="ignore",
        )


def _downloads(result: RunResult, key_prefix: str, name: str = "") -> None:
    st.subheader("Take your model with you")
    cfg, model = result.config, result.model
    stem = export.file_stem(result, name, key_prefix)
    cols = st.columns(4)
    if model is not None:
        _model_downloads(result, cols[:3], key_prefix, stem)
    cols[3].download_button(
        "Metrics (.csv)",
        export.metrics_csv(result),
        file_name=f"{stem}-metrics.csv",
        mime="text/csv",
        key=f"{key_prefix}_dl_csv",
        on_click="ignore",
    )
    if model is not None:
        with st.expander("How to load the torchvision weights file", expanded=True):
            st.code(
                export.torchvision_load_code(cfg.model, result.class_names, cfg.image_size, f"{stem}.pth"),
                language="python",
            )
