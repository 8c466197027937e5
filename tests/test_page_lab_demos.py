"""Classroom demos in the Lab: stored results (core.lab.demo_store) and the predict / run / replay / reveal
flow on the page, with a tiny real two-run demo so the test takes seconds, not the minutes of a real one."""
import json
from dataclasses import replace

import pytest

from core.lab import demo_store
from core.lab.presets import PRESETS, Preset
from core.train.config import TrainConfig
from core.train.engine import run_training
from tests.helpers import lab_page, run_ok
from ui.lab.live import CURRENT, get_job_manager

TINY = TrainConfig(dataset="faces", image_size=32, per_class=4, val_per_class=4, epochs=1, trainable=("head",))
RUNS = (("gentle", TINY), ("wild", replace(TINY, lr=0.5)))
PID = "tiny-demo"


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path))
    return tmp_path / "demo_results"


@pytest.fixture
def tiny_demo():
    PRESETS[PID] = Preset(PID, "A tiny two-run demo", "Watch the gentle run beat the wild one.", RUNS)
    try:
        yield PRESETS[PID]
    finally:
        del PRESETS[PID]


def test_a_stored_demo_round_trips_and_is_keyed_by_configs_and_code(store_dir):
    results = [(label, run_training(cfg)) for label, cfg in RUNS]
    runs = [demo_store.from_result(label, r) for label, r in results]
    path = demo_store.save(PID, runs, "cpu")
    assert path.parent == store_dir and path.exists()
    back = demo_store.load(PID, RUNS)
    assert [r.label for r in back.runs] == ["gentle", "wild"]
    assert [r.config for r in back.runs] == [cfg for _, cfg in RUNS]
    assert back.runs[0].epochs[-1]["val_acc"] == results[0][1].epochs[-1].val_acc
    assert "measured" in back.describe() and "CPU" in back.describe()
    changed = [("gentle", replace(TINY, epochs=2)), RUNS[1]]
    assert demo_store.load(PID, changed) is None  # other settings: another record
    assert demo_store.demo_key(RUNS) != demo_store.demo_key(changed)
    record = json.loads(path.read_text())
    assert record["code"] == demo_store.code_version()
    path.write_text("{ half a file")
    assert demo_store.load(PID, RUNS) is None  # unreadable: measured again, never a traceback
    assert not demo_store.storable(["finished", "stopped"]) and demo_store.storable(["finished", "early_stopped"])


def test_run_all_stores_the_demo_and_a_repeat_replays_it_labelled(store_dir, tiny_demo):
    at = run_ok(lab_page({"preset": PID}))
    assert any("estimated" in c.value for c in at.caption)  # no record yet: an estimate
    at.radio(key=f"lab_guess_{PID}").set_value("gentle")
    at.radio(key=f"lab_margin_{PID}").set_value("more than 20 points")
    run_ok(at)
    assert "What to watch for" not in " ".join(m.value for m in at.markdown)  # not before the runs
    at.button(key="lab_run_all").click()
    run_ok(at)
    jobs = [get_job_manager().get(i) for i in at.session_state[CURRENT]]
    assert all(j.wait(120) for j in jobs)
    run_ok(at)
    statuses = [j.snapshot().status for j in jobs]
    text = " ".join(m.value for m in at.markdown)
    assert "You predicted **gentle** by more than 20 points" in text
    assert "What to watch for:** Watch the gentle run" in text
    if not demo_store.storable(statuses):
        pytest.skip(f"a run ended as {statuses}: nothing to store")
    assert demo_store.load(PID, RUNS) is not None

    again = run_ok(lab_page({"preset": PID}))  # another session, later
    assert any("Replay: instant" in c.value for c in again.caption)
    again.radio(key=f"lab_guess_{PID}").set_value("wild")
    again.radio(key=f"lab_margin_{PID}").set_value("under 5 points")
    run_ok(again)
    again.button(key="lab_run_all_replay").click()
    run_ok(again)
    assert not again.session_state[CURRENT]  # nothing trains
    label = " ".join(i.value for i in again.info)
    assert "**Replay**, not a live run" in label and "measured" in label and "UTC" in label
    assert "You predicted **wild** by under 5 points" in " ".join(m.value for m in again.markdown)
    assert len(again.get("plotly_chart")) >= 2  # the curves, drawn from the record
