"""ui/lab/insight under AppTest, on real tiny runs: the maps and heat maps appear when asked,
say what they show, and a corrupt photo gets a message."""
import io
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.train.config import TrainConfig
from core.train.engine import run_training

TIMEOUT = 120
P = "r1"
HEAD_ONLY = TrainConfig(dataset="faces", image_size=32, per_class=8, val_per_class=6, epochs=2, trainable=("head",))


def _page():
    import streamlit as st

    from ui.lab.results import render_scores

    render_scores(st.session_state["result"], key_prefix="r1")


@pytest.fixture(scope="module")
def head_only():
    return run_training(HEAD_ONLY)


@pytest.fixture(scope="module")
def last_stage():
    return run_training(replace(HEAD_ONLY, trainable=("stage6", "head"), epochs=3))


def run_page(result) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=TIMEOUT)
    at.session_state["result"] = result
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ok(widget) -> AppTest:
    """Run the page after a widget change; fail with the page's exception texts."""
    at = widget.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_nothing_is_computed_until_asked(head_only):
    at = run_page(head_only)
    assert any("Why it works" in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 1  # the confusion matrix only
    assert not any(m.label == "Linear probe (validation)" for m in at.metric)
    assert at.toggle(key=f"{P}_fmap_on").value is False and at.toggle(key=f"{P}_cam_on").value is False


def test_feature_maps_show_three_backbones_with_a_probe_each(head_only):
    at = ok(run_page(head_only).toggle(key=f"{P}_fmap_on").set_value(True))
    assert len(at.get("plotly_chart")) == 4  # confusion matrix + three maps
    probes = [m for m in at.metric if m.label == "Linear probe (validation)"]
    assert len(probes) == 3 and all(p.value.endswith("%") for p in probes)
    titles = [m.value for m in at.markdown]
    assert {"**ImageNet backbone**", "**Random backbone (from scratch)**", "**This run's backbone (after training)**"} <= set(titles)
    summary = [c.value for c in at.caption if c.value.startswith("Chart summary: 12 validation images mapped with PCA")]
    assert summary, [c.value for c in at.caption]
    assert sum("Click a dot to see its image." in c.value for c in at.caption) == 3


def test_tsne_is_there_on_request(head_only):
    at = run_page(head_only)
    at.toggle(key=f"{P}_fmap_on").set_value(True)
    at = ok(at.radio(key=f"{P}_fmap_method").set_value("tsne"))
    assert any("mapped with TSNE" in c.value for c in at.caption)
    assert len([m for m in at.metric if m.label == "Linear probe (validation)"]) == 3


def test_a_frozen_backbone_says_its_maps_do_not_change(head_only):
    at = ok(run_page(head_only).toggle(key=f"{P}_cam_on").set_value(True))
    assert any("trained only the head" in i.value for i in at.info)
    captions = [c for img in at.image for c in img.captions]
    assert captions.count("after: same map") == 4
    assert at.selectbox(key=f"{P}_cam_layer").value == "stage2"  # 4x4 at 32 px


def test_a_trained_last_stage_moves_the_maps_and_the_layer_can_change(last_stage):
    at = ok(run_page(last_stage).toggle(key=f"{P}_cam_on").set_value(True))
    assert not any("trained only the head" in i.value for i in at.info)
    captions = [c for img in at.image for c in img.captions]
    assert captions.count("after: the map moved") == 4
    at = ok(at.selectbox(key=f"{P}_cam_layer").set_value("stage3"))
    assert "before (stage3)" in [c for img in at.image for c in img.captions]
    shown = [c for img in at.image for c in img.captions if c.startswith("true ")]
    at = ok(at.button(key=f"{P}_cam_next").click())
    assert [c for img in at.image for c in img.captions if c.startswith("true ")] != shown or len(shown) < 4


def test_an_uploaded_photo_gets_maps_and_a_corrupt_one_a_message(last_stage):
    at = ok(run_page(last_stage).toggle(key=f"{P}_cam_on").set_value(True))
    photo = np.random.default_rng(0).integers(0, 256, (50, 40, 3), dtype=np.uint8)
    at = ok(at.file_uploader(key=f"{P}_cam_photo").set_value(("me.png", png(photo), "image/png")))
    assert not at.error
    assert len([c for img in at.image for c in img.captions if c.startswith("predicted ")]) == 1
    shown = at.image[-1].proto.imgs[0].url
    assert at.run().image[-1].proto.imgs[0].url == shown  # a plain rerun shows the same picture
    at = ok(at.toggle(key=f"{P}_cam_invert").set_value(True))  # faces are grey: the photo can be inverted
    assert not at.error and at.image[-1].proto.imgs[0].url != shown
    at = ok(at.file_uploader(key=f"{P}_cam_photo").set_value(("broken.jpg", b"\xff\xd8 not really a jpeg", "image/jpeg")))
    assert len(at.error) == 1 and at.error[0].value.startswith("Could not use this file")


def test_frozen_batchnorm_in_training_mode_is_named_when_a_frozen_backbone_moved():
    result = run_training(replace(HEAD_ONLY, frozen_bn_eval=False))
    at = ok(run_page(result).toggle(key=f"{P}_cam_on").set_value(True))
    assert not any("trained only the head" in i.value for i in at.info)
    assert any("BatchNorm" in w.value and "running statistics" in w.value for w in at.warning)
    assert [c for img in at.image for c in img.captions].count("after: the map moved") == 4


def test_umap_missing_on_the_server_gets_a_message_not_a_traceback(head_only, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # as on a server installed without requirements-umap.txt
    at = run_page(head_only)
    at.toggle(key=f"{P}_fmap_on").set_value(True)
    at = ok(at.radio(key=f"{P}_fmap_method").set_value("umap"))
    messages = [w.value for w in at.warning]
    assert any("pip install -r requirements-umap.txt" in m and "PCA" in m for m in messages), messages
    assert not at.error
