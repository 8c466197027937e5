"""Learning-rate schedules (issue 14 item 6): the factor curve is torch's own scheduler, exact for every
parameter group whenever it joined; the config carries the schedule through links and the command
line; the Lab draws the plan before a run."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.optim import lr_scheduler as sched

from core import cli
from core.lab import links
from core.train import engine, schedules
from core.train.config import LAB_DEFAULT, ConfigError, TrainConfig
from core.train.engine import run_training
from core.train.schedules import FLOOR, WARMUP_START, factors, planned_rates, set_rates, steps_per_epoch
from tests.helpers import lab_page, run_ok
from ui.lab import rate_charts
from ui.lab.live import CURRENT, get_job_manager

STEPS = 40


def torch_rates(make, lrs=(1e-3, 1e-5), steps=STEPS) -> list[list[float]]:
    """The rates torch's scheduler gives a real two-group optimizer, read before each step."""
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    opt = torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)])
    scheduler, out = make(opt), []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return [list(col) for col in zip(*out)]


def ours(name: str, warmup: float, lrs=(1e-3, 1e-5), steps=STEPS) -> list[list[float]]:
    curve = factors(name, steps, warmup)
    return [[lr * f for f in curve] for lr in lrs]


def test_cosine_matches_torchs_cosine_annealing_for_every_group():
    want = torch_rates(lambda o: sched.CosineAnnealingLR(o, T_max=STEPS - 1, eta_min=0))
    # torch's eta_min is absolute (one for all groups); ours is relative to each group's peak
    got = ours("cosine", 0.0)
    for g, peak in enumerate((1e-3, 1e-5)):
        floor = FLOOR * peak
        assert got[g] == pytest.approx([floor + (1 - FLOOR) * w for w in want[g]], rel=1e-9)
    assert got[0][-1] == pytest.approx(FLOOR * 1e-3) and got[1][0] == 1e-5


def test_one_cycle_matches_torchs_one_cycle():
    for g, peak in enumerate((1e-3, 1e-5)):
        want = torch_rates(lambda o: sched.OneCycleLR(o, max_lr=peak, total_steps=STEPS, pct_start=0.3,
                                                      cycle_momentum=False), lrs=(peak,))[0]
        assert ours("onecycle", 0.3, lrs=(peak,))[0] == pytest.approx(want, rel=1e-9)


def test_warmup_rises_linearly_from_a_25th_of_the_peak_then_follows_the_schedule():
    curve = factors("cosine", STEPS, 0.2)  # 8 warm-up steps
    assert curve[0] == pytest.approx(WARMUP_START)
    assert curve[:9] == pytest.approx([WARMUP_START + (1 - WARMUP_START) * k / 8 for k in range(9)])
    assert curve[8] == pytest.approx(1.0) and curve[-1] == pytest.approx(FLOOR)
    assert all(a >= b for a, b in zip(curve[8:], curve[9:]))  # falls after the warm-up
    flat = factors("constant", STEPS, 0.2)
    assert flat[8:] == (1.0,) * (STEPS - 8) and flat[0] == pytest.approx(WARMUP_START)


def test_constant_without_warmup_is_exactly_one():
    assert factors("constant", STEPS, 0.0) == (1.0,) * STEPS


@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
@pytest.mark.parametrize("steps", [1, 2, 3, 7])
def test_tiny_runs_still_get_a_curve(name, steps):
    curve = factors(name, steps, 0.3)
    assert len(curve) == steps and all(0 < f <= 1.0 for f in curve)


def test_a_group_added_later_gets_its_own_peak_times_the_factor():
    """Gradual unfreezing adds a parameter group mid-run; its rate follows the same curve from its own peak."""
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 1e-3, "name": "head"}], lr=1e-3)
    curve = factors("cosine", 10, 0.0)
    assert set_rates(opt, curve[0]) == {"head": 1e-3}
    opt.add_param_group({"params": [b], "lr": 1e-5, "name": "stage6"})
    assert set_rates(opt, curve[5]) == {"head": 1e-3 * curve[5], "stage6": 1e-5 * curve[5]}
    assert set_rates(opt, curve[9]) == pytest.approx({"head": 1e-3 * FLOOR, "stage6": 1e-5 * FLOOR})


def test_the_plan_starts_each_group_when_it_opens():
    cfg = TrainConfig(per_class=20, batch_size=32, epochs=4, schedule="cosine", trainable=("head",),
                      unfreeze_at={3: ("stage6",)}, group_lr={"stage6": 1e-5}, lr=1e-3)
    per_epoch = steps_per_epoch(200, 32)
    assert per_epoch == 6
    plan = planned_rates(cfg, 200)
    assert len(plan["head"]) == 24 and len(plan["stage6"]) == 12
    assert plan["stage6"][0][0] == pytest.approx(2 + 1 / 6)  # the first step of epoch 3
    curve = factors("cosine", 24, 0.0)
    assert [lr for _, lr in plan["stage6"]] == pytest.approx([1e-5 * f for f in curve[12:]])
    assert plan["head"][-1][1] == pytest.approx(FLOOR * 1e-3)


def test_one_cycle_without_warmup_is_refused_with_what_to_do():
    with pytest.raises(ConfigError, match="warm-up is 0.*0.3 is usual"):
        TrainConfig(schedule="onecycle").validate()
    TrainConfig(schedule="onecycle", warmup=0.3).validate()
    with pytest.raises(ConfigError, match="Unknown learning-rate schedule 'step'.*constant, cosine, onecycle"):
        TrainConfig(schedule="step").validate()


def test_schedule_and_warmup_travel_in_a_link_and_on_the_command_line():
    cfg = dataclasses.replace(LAB_DEFAULT, schedule="onecycle", warmup=0.3, lr=2e-3)
    query = links.config_to_query(cfg)
    assert query == {"sched": "onecycle", "warmup": "0.3", "lr": "0.002"}
    assert links.config_from_query(query) == (cfg, "", [])
    assert links.config_from_query({"sched": "triangle"})[2] == [
        "sched='triangle' (is not one of constant, cosine, onecycle)"]
    args = cli.build_parser().parse_args(["--schedule", "cosine", "--warmup", "0.1"])
    assert cli.config_from_args(args) == TrainConfig(schedule="cosine", warmup=0.1)


def test_the_lab_draws_the_schedule_before_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = run_ok(lab_page())
    assert at.selectbox(key="lab_schedule").value == "constant"
    charts_before = len(at.get("plotly_chart"))
    at.selectbox(key="lab_schedule").set_value("onecycle")
    run_ok(at)
    assert at.select_slider(key="lab_warmup").value == 0.3  # one-cycle got the usual warm-up, not an error
    assert not at.error
    assert len(at.get("plotly_chart")) == charts_before + 1
    chart = next(c for c in at.get("plotly_chart") if "Planned learning rate" in c.proto.spec)
    assert '"stage5, stage6, head"' in chart.proto.spec  # one line for groups that share their rates
    summary = next(c.value for c in at.caption if "planned for every step" in c.value)
    assert "peaks at 1.0e-3" in summary and "ends at 4.0e-9" in summary  # OneCycleLR ends at peak/25/1e4
    assert dict(at.query_params) == {"sched": "onecycle", "warmup": "0.3"}


# ---- the engine runs the plan -------------------------------------------------------------------------

TINY = dict(dataset="faces", per_class=8, val_per_class=6, image_size=32, epochs=3, batch_size=8, seed=0)
GRADUAL = dict(trainable=("stage6", "head"), unfreeze_at={2: ("stage5",)}, group_lr={"stage6": 1e-4}, lr=1e-3)


def test_a_cosine_run_steps_with_the_planned_rates_and_ends_at_the_floor():
    cfg = TrainConfig(schedule="cosine", warmup=0.2, **GRADUAL, **TINY)
    r = run_training(cfg)
    assert r.reason == "finished"
    ran: dict[str, list] = {}
    for b in r.batches:
        for g, lr in b.lrs.items():
            ran.setdefault(g, []).append((b.epoch - 1 + b.step / b.steps, lr))
    assert ran == planned_rates(cfg, 16)  # what the Lab draws before the run is what runs, step by step
    assert r.batches[-1].lrs == pytest.approx({"stage6": FLOOR * 1e-4, "stage5": FLOOR * 1e-3, "head": FLOOR * 1e-3})
    assert r.epochs[-1].lrs == r.batches[-1].lrs  # the optimizer's own rates at the end
    assert r.batches[0].lrs == pytest.approx({"stage6": WARMUP_START * 1e-4, "head": WARMUP_START * 1e-3})


def test_a_constant_run_is_bit_identical_to_one_the_schedule_never_touches(monkeypatch):
    """The schedule hook on a constant run changes nothing: same rates, same losses to the last bit as
    the engine stepping with the optimizer's rates as built (the engine before schedules existed)."""
    cfg = TrainConfig(**GRADUAL, **TINY)
    scheduled = run_training(cfg)
    assert {g: lr for b in scheduled.batches for g, lr in b.lrs.items()} == {"stage6": 1e-4, "stage5": 1e-3, "head": 1e-3}
    # the hook is live: a schedule that moves the rate gives other losses
    cosine = run_training(dataclasses.replace(cfg, schedule="cosine"))
    assert [b.loss for b in cosine.batches][1:] != [b.loss for b in scheduled.batches][1:]
    monkeypatch.setattr(engine, "set_rates", lambda optimizer, factor: {})
    untouched = run_training(cfg)
    assert [b.loss for b in scheduled.batches] == [b.loss for b in untouched.batches]
    assert [e.val_loss for e in scheduled.epochs] == [e.val_loss for e in untouched.epochs]


# ---- the Lab: the finder feeds the peak; the run's charts show the rate per group ----------------------

TINY_LINK = {"dataset": "faces", "size": "32", "per_class": "10", "val_per_class": "10", "train": "stage6,head",
             "epochs": "2", "sched": "onecycle", "warmup": "0.3"}


def test_the_lr_finders_suggestion_becomes_the_schedules_peak(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = run_ok(lab_page(TINY_LINK))
    at.button(key="lab_lr_find").click()
    run_ok(at)
    suggested = links.snap_lr(at.session_state["_lab_lr_finder"]["suggested_lr"])
    use = at.button(key="lab_lr_use")
    assert use.label.endswith("as the peak")
    use.click()
    run_ok(at)
    assert at.select_slider(key="lab_lr").value == suggested
    summary = next(c.value for c in at.caption if "planned for every step" in c.value)
    assert f"peaks at {rate_charts._rate(suggested)}" in summary


def test_a_scheduled_run_shows_the_rate_each_group_stepped_with(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = run_ok(lab_page(dict(TINY_LINK, sched="cosine", warmup="0")))
    at.toggle(key="lab_discriminative").set_value(True)
    run_ok(at)
    at.select_slider(key="lab_lr_stage6").set_value(1e-4)
    run_ok(at)
    at.button(key="lab_start").click()
    run_ok(at)
    job = get_job_manager().get(at.session_state[CURRENT][0])
    assert job.config.schedule == "cosine" and job.config.group_lr == {"stage6": 1e-4}
    assert job.wait(120), "the tiny run did not end in time"
    assert job.snapshot().status == "finished", job.snapshot().error
    run_ok(at)
    chart = next(c for c in at.get("plotly_chart") if '"Learning rate per group"' in c.proto.spec)
    assert '"stage6"' in chart.proto.spec and '"head"' in chart.proto.spec
    summary = next(c.value for c in at.caption if c.value.startswith("Chart summary: Learning rate per group at"))
    assert "epoch 2.0 of 2" in summary
    assert f"stage6 {rate_charts._rate(FLOOR * 1e-4)}" in summary and f"head {rate_charts._rate(FLOOR * 1e-3)}" in summary
    history = next(d.value for d in at.dataframe if "schedule" in d.value.columns)  # runs stay comparable
    assert list(history["schedule"]) == ["cosine"]
