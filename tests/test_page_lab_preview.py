"""The Lab's instant head-only preview under AppTest: shown, with its label, exactly when every
backbone group is frozen; gone as soon as a backbone group trains."""

import pytest

from core.train.head_preview import LABEL
from tests.helpers import lab_page, run_ok


@pytest.fixture(autouse=True)
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))


def _preview_shown(at) -> bool:
    labelled = any(LABEL in m.value for m in at.markdown)
    charts = [c for c in at.get("plotly_chart") if LABEL in c.proto.spec]  # the label is in each title
    summaries = [c.value for c in at.caption if c.value.startswith(f"Chart summary: {LABEL}")]
    assert labelled == bool(summaries), (labelled, summaries)
    return labelled and len(charts) == len(summaries) == 2  # loss and accuracy, each with its text alternative


def test_preview_appears_with_its_label_when_only_the_head_trains_and_not_otherwise():
    at = run_ok(lab_page())
    assert not _preview_shown(at)  # the default trains stage5 and stage6 too
    at.button(key="lab_fz_head").click()
    run_ok(at)
    assert _preview_shown(at)
    assert any("Accuracy" in c.value and LABEL in c.value for c in at.caption)
    assert at.button(key="lab_start") is not None  # Start still runs the full job
    at.toggle(key="lab_group_stage6").set_value(True)
    run_ok(at)
    assert not _preview_shown(at)
    assert not any(LABEL in m.value for m in at.markdown)


def test_no_preview_with_augmentation_even_when_only_the_head_trains():
    at = run_ok(lab_page({"train": "head", "augment": "1"}))
    assert not _preview_shown(at)
