"""The Lab page under Streamlit's AppTest: defaults, freeze switches and counts, presets and shared
links, nonsense links, presenter mode, and a real (tiny) run from Start to the success message.

AppTest cannot tick a run_every fragment, so the run test waits on the job manager itself and then
re-runs the page to see the outcome.
"""
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.estimate import group_sizes
from core.presets import DEMO_IDS, PRESETS
from pages.lab_live import CURRENT, get_job_manager

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "lab.py")
TIMEOUT = 60


def new_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def count(text: str) -> int:
    return int(text.replace(",", ""))


def test_defaults_render_with_counts_and_estimate():
    at = run(new_page())
    sizes = dict(group_sizes("mobilenet_v2", 10))  # MNIST: 10 classes
    m = metrics(at)
    assert count(m["Total parameters"]) == sum(sizes.values())
    assert count(m["Trainable parameters"]) == sizes["stage5"] + sizes["stage6"] + sizes["head"]
    assert at.selectbox(key="lab_dataset").value == "mnist"
    assert at.select_slider(key="lab_lr").value == 1e-3
    assert any("Estimated run time" in c.value for c in at.caption)
    assert at.button(key="lab_start") is not None
    assert not at.error and not at.warning
    assert len(at.get("plotly_chart")) >= 1  # the parameter chart
    assert dict(at.query_params) == {}  # defaults make a clean link


def test_freeze_switch_changes_trainable_count_and_link():
    at = run(new_page())
    sizes = dict(group_sizes("mobilenet_v2", 10))
    before = count(metrics(at)["Trainable parameters"])
    at.toggle(key="lab_group_stem").set_value(True)
    run(at)
    after = count(metrics(at)["Trainable parameters"])
    assert after - before == sizes["stem"]
    assert at.query_params["train"] == "stem,stage5,stage6,head"
    at.button(key="lab_fz_head").click()
    run(at)
    assert count(metrics(at)["Trainable parameters"]) == sizes["head"]
    assert metrics(at)["Trainable share"] == f"{100 * sizes['head'] / sum(sizes.values()):.1f}%"
    assert at.toggle(key="lab_group_stage6").value is False


def test_preset_query_parameter_loads_the_preset():
    at = run(new_page({"preset": "lr-too-high"}))
    assert at.select_slider(key="lab_lr").value == 0.1
    assert at.selectbox(key="lab_preset").value == "lr-too-high"
    assert all(at.toggle(key=f"lab_group_{g}").value for g in PRESETS["lr-too-high"].config.trainable)
    assert at.slider(key="lab_epochs").value == 6
    assert at.button(key="lab_run_all") is not None  # a demo offers all its variants
    assert at.query_params["preset"] == "lr-too-high" and at.query_params["lr"] == "0.1"
    assert not at.warning


def test_shared_link_round_trip_overrides_the_preset():
    at = run(new_page({"preset": "head-only", "lr": "0.0001", "epochs": "3", "augment": "1"}))
    assert at.select_slider(key="lab_lr").value == 1e-4
    assert at.slider(key="lab_epochs").value == 3
    assert at.toggle(key="lab_augment").value is True
    assert at.toggle(key="lab_group_head").value and not at.toggle(key="lab_group_stage6").value


def test_nonsense_query_parameters_are_ignored_with_a_warning():
    at = run(new_page({"lr": "banana", "model": "nope", "epochs": "-4", "colour": "red"}))
    text = " ".join(w.value for w in at.warning)
    for name in ("lr='banana'", "model='nope'", "epochs='-4'", "colour"):
        assert name in text, text
    assert at.select_slider(key="lab_lr").value == 1e-3
    assert at.selectbox(key="lab_model").value == "mobilenet_v2"
    assert at.slider(key="lab_epochs").value == 8


def test_presenter_mode_lists_demos_and_hides_advanced_controls():
    at = run(new_page())
    assert at.select_slider(key="lab_wd") is not None
    at.toggle(key="lab_presenter").set_value(True)
    run(at)
    text = " ".join(m.value for m in at.markdown)
    for pid in DEMO_IDS:
        assert PRESETS[pid].watch_for[:60] in text
    assert not any(w.key == "lab_wd" for w in at.select_slider)
    assert not any(w.key == "lab_discriminative" for w in at.toggle)


def test_start_runs_a_tiny_job_to_a_success_message():
    at = run(new_page())
    at.selectbox(key="lab_dataset").set_value("faces")
    run(at)
    at.select_slider(key="lab_size").set_value(32)
    at.number_input(key="lab_per_class").set_value(4)
    at.slider(key="lab_epochs").set_value(1)
    at.button(key="lab_fz_head").click()
    run(at)
    at.button(key="lab_start").click()
    run(at)
    ids = at.session_state[CURRENT]
    assert len(ids) == 1
    job = get_job_manager().get(ids[0])
    assert job is not None and job.config.dataset == "faces" and job.config.image_size == 32
    assert job.config.trainable == ("head",) and job.config.epochs == 1
    assert job.wait(120), "the tiny run did not end in time"
    assert job.snapshot().status == "finished", job.snapshot().error
    run(at)
    success = " ".join(s.value for s in at.success)
    assert "finished 1 epochs" in success and "validation accuracy" in success
    assert any(d.value is not None for d in at.dataframe)  # the run history table
