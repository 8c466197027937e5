"""ui/lab/results.render_results under AppTest, on the result of a tiny real training run."""
import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.train.config import TrainConfig
from core.train.engine import run_training

TIMEOUT = 60
PREFIX = "r1"
# faces: two classes, trains in well under a second, and the head-only run still gets some wrong.
TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=1, trainable=("head",))


def _page():
    # Runs inside AppTest: the result arrives through session_state (see run_page).
    import streamlit as st

    from ui.lab.results import render_results

    render_results(st.session_state["result"], key_prefix="r1", data=st.session_state.get("data"))


@pytest.fixture(scope="module")
def result():
    return run_training(TINY)


def run_page(result, data=None) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=TIMEOUT)
    at.session_state["result"] = result
    if data is not None:
        at.session_state["data"] = data
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_results_render_scores_chart_table_and_downloads(result):
    at = run_page(result)
    labels = {m.label for m in at.metric}
    assert {"Validation accuracy", "Training accuracy", "Gap (train - val)"} <= labels
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert list(table["class"]) == result.class_names
    assert table["images"].sum() == len(result.val_true)
    downloads = at.get("download_button")
    # torchvision weights, weights + metadata, ONNX or TorchScript, metrics CSV
    assert [d.proto.id.rsplit("_", 1)[-1] for d in downloads][::3] == ["tv", "csv"] and len(downloads) == 4
    assert all(d.proto.id and PREFIX in d.proto.id for d in downloads)  # keys carry the prefix
    assert not at.error


def test_gallery_shows_every_mistake_with_a_caption(result):
    at = run_page(result)
    wrong = sum(t != p for t, p in zip(result.val_true, result.val_pred))
    captions = [c for img in at.image for c in img.captions]
    assert len(captions) == wrong
    assert all(c.startswith("true: ") and " · predicted: " in c and c.endswith("%)") for c in captions)


def test_a_photo_gets_top_predictions_and_a_bad_file_an_error(result):
    at = run_page(result)
    photo = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    at.file_uploader(key=f"{PREFIX}_photo").set_value(("me.png", png(photo), "image/png")).run()
    assert not at.exception and not at.error
    bars = [p.proto.text for p in at.get("progress")]
    assert len(bars) == 2 and all(b.split(":")[0] in result.class_names for b in bars)

    at.file_uploader(key=f"{PREFIX}_photo").set_value(("fake.png", b"not an image at all", "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "not an image" in at.error[0].value


def test_uploaded_dataset_without_data_skips_only_the_gallery(result):
    uploaded = replace(result, config=replace(result.config, dataset="folder:0123"))
    at = run_page(uploaded)
    assert any("uploaded dataset" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("download_button")) == 4


def test_no_epochs_yet_is_a_friendly_note(result):
    at = run_page(replace(result, epochs=[]))
    assert len(at.info) == 1 and not at.get("plotly_chart")


def test_camera_appears_only_when_turned_on(result):
    at = run_page(result)
    assert len(at.camera_input) == 0  # no permission prompt until the learner asks for it
    at.toggle(key=f"{PREFIX}_camera_on").set_value(True).run()
    assert not at.exception
    assert len(at.camera_input) == 1


def test_photo_shows_the_small_grey_input_and_warns_about_labels_and_polarity(result):
    at = run_page(result)
    assert any("Any** photo" in w.value for w in at.warning)  # every photo gets one of the classes
    ink_on_paper = np.full((60, 60, 3), 250, dtype=np.uint8)
    ink_on_paper[20:40, 28:32] = 10  # a dark stroke on white, the opposite of the training images
    at.file_uploader(key=f"{PREFIX}_photo").set_value(("seven.png", png(ink_on_paper), "image/png")).run()
    assert not at.exception
    size = result.config.image_size
    captions = [c for img in at.image for c in img.captions]
    assert f"what the model sees: {size}x{size} grey" in captions
    assert any("Invert the colours" in w.value and "mostly light" in w.value for w in at.warning)
    at.toggle(key=f"{PREFIX}_0_invert").set_value(True).run()
    assert not any("mostly light" in w.value for w in at.warning)  # inverted: light marks on black


def test_downloads_of_different_runs_get_different_names(result):
    from core.runs import export

    other = replace(result, config=replace(result.config, lr=0.1))
    names = {export.file_stem(result, "run 1", "aaaa1111"), export.file_stem(result, "run 2", "bbbb2222"),
             export.file_stem(other, "run 1", "aaaa1111")}
    assert len(names) == 3
    assert export.file_stem(result, "pretrained", "aaaa1111") == \
        "mobilenet_v2-faces-head-lr0.001-1ep-pretrained-aaaa1111"
