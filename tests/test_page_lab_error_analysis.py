"""The Lab's results show the error-analysis table after a real short run, with a planted wrong
validation label at the top, marked as likely mislabelled (issue 26)."""
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from core.data.datasets import prepare
from core.train.config import TrainConfig
from core.train.engine import run_training
from ui.lab.error_analysis import FLAG

# faces at 32 px with the last stage training: three seconds, and most validation images above 90%.
CFG = TrainConfig(dataset="faces", image_size=32, per_class=8, val_per_class=6, epochs=3, trainable=("stage6", "head"))


def _page():
    import streamlit as st

    from ui.lab.results import render_scores

    render_scores(st.session_state["result"], key_prefix="ea", data=st.session_state["data"])


@pytest.fixture(scope="module")
def planted():
    """A run on the faces data with one validation label swapped: the image the clean run was surest of."""
    clean = run_training(CFG)
    conf, pred = clean.val_probs.max(dim=1)
    sure = [i for i in conf.argsort(descending=True).tolist() if pred[i] == clean.val_true[i]][0]
    assert conf[sure] >= 0.9, conf  # the premise: a confident right answer to plant the wrong label on
    data = prepare(CFG.dataset, CFG.per_class, CFG.val_per_class, CFG.image_size, CFG.seed)
    val_y = data.val_y.clone()
    val_y[sure] = 1 - val_y[sure]
    planted = replace(data, val_y=val_y)
    return run_training(CFG, data=planted), planted, sure


def test_the_results_list_the_planted_label_first_and_mark_it(planted):
    result, data, sure = planted
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["result"], at.session_state["data"] = result, data
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "likely mislabelled?" in d.value.columns or "flag" in d.value.columns)
    names = result.class_names
    first = table.iloc[0]
    assert (first["true label"], first["predicted"]) == (names[int(data.val_y[sure])], names[1 - int(data.val_y[sure])])
    assert first["flag"] == FLAG and first["confidence"] >= 0.9
    assert list(table["loss"]) == sorted(table["loss"], reverse=True)
    assert all(u.startswith("data:image/png;base64,") for u in table["image"])
    assert any("hint, not proof" in w.value for w in at.warning)
    steps = " ".join(m.value for m in at.markdown)
    assert "fix it in your data" in steps
