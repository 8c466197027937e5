"""The lesson diagrams draw what their sources say: the engine's own schedule and optimizer groups,
BatchNorm as PyTorch and Keras 3 actually behave, the stored real runs; figures.yaml is validated.

The engine runs here use the presets' schedules on a few 32 px images (seconds): the diagram must
agree with what run_training did, epoch by epoch.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import plotly.graph_objects as go
import pytest
import torch
import yaml
from torch import nn

from bench.lesson_data import CURVES, preset_run
from core.content.codediff import changed_lines
from core.content.lessons import FIGURE_KINDS, LessonError, load_lessons
from core.lab import lesson_figures as lf
from core.lab.presets import PRESETS
from core.train.engine import run_training
from ui import lesson_diagrams as ld

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def engine_runs():
    """The timeline presets, run for real on tiny data: epoch rows carry trainable groups and rates."""
    return {pid: run_training(replace(PRESETS[pid].config, per_class=1, val_per_class=1, image_size=32, batch_size=10))
            for pid in lf.TIMELINE_PRESETS}


def test_every_figure_kind_has_a_drawing_and_a_text_version():
    assert set(ld.DIAGRAMS) == set(FIGURE_KINDS) == set(lf.DESCRIBE)


@pytest.mark.parametrize("kind", FIGURE_KINDS)
def test_each_diagram_builds_a_valid_titled_figure(kind):
    fig = ld.DIAGRAMS[kind]()
    go.Figure(fig.to_dict())  # plotly validates every property on the way back in
    assert fig.layout.title.text and fig.layout.height
    assert fig.data or fig.layout.shapes
    assert len(lf.describe(kind)) > 80


# ---- the unfreezing timeline and the optimizer groups follow the engine ---------------------------

@pytest.mark.parametrize("preset_id", lf.TIMELINE_PRESETS)
def test_timeline_schedule_is_what_the_engine_trained(engine_runs, preset_id):
    _, sched = lf.preset_schedule(preset_id)
    rows = engine_runs[preset_id].epochs
    assert len(sched) == len(rows) == PRESETS[preset_id].config.epochs
    for planned, row in zip(sched, rows):
        assert set(planned) == set(row.trainable_groups), row.epoch
        assert planned == pytest.approx(row.lrs), row.epoch


def test_gradual_unfreezing_really_opens_groups_over_time():
    _, sched = lf.preset_schedule("gradual-unfreeze")
    sizes = [len(s) for s in sched]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # grows, never shrinks


def test_timeline_figure_cells_equal_the_schedule():
    fig = ld.timeline_figure()
    assert len(fig.data) == len(lf.TIMELINE_PRESETS)
    for trace, pid in zip(fig.data, lf.TIMELINE_PRESETS):
        groups, sched = lf.preset_schedule(pid)
        assert list(trace.y) == groups and list(trace.x) == list(range(1, len(sched) + 1))
        for g, row in zip(groups, trace.text):
            assert list(row) == [lf.lr_text(s[g]) if g in s else "frozen" for s in sched]


def test_gradient_flow_matches_the_engine_optimizer(engine_runs):
    flows = lf.preset_flow()
    first_epoch = engine_runs[lf.FLOW_PRESET].epochs[0]
    in_opt = sorted((g for g in flows if g.opt_group is not None), key=lambda g: g.opt_group)
    # the engine's param_groups, in order, with their rates
    assert [(g.name, g.lr) for g in in_opt] == list(first_epoch.lrs.items())
    assert {g.name for g in flows if g.trainable} == set(PRESETS[lf.FLOW_PRESET].config.trainable)
    first = min(i for i, g in enumerate(flows) if g.trainable)
    assert [g.backward for g in flows] == [i >= first for i in range(len(flows))]


def test_gradient_flow_parameter_counts_are_the_real_network():
    flows = lf.preset_flow()
    cfg = PRESETS[lf.FLOW_PRESET].config
    from core.models import backbones as models
    model = models.build_model(cfg.model, 10, pretrained=False, seed=0)
    assert [(g.name, g.params) for g in flows] == [(r.name, r.total) for r in models.group_table(model)]


def test_gradient_flow_figure_labels_each_box_and_optimizer_group():
    flows = lf.preset_flow()
    texts = [a.text for a in ld.gradient_flow_figure(flows).layout.annotations]
    for g in flows:
        assert any(t.startswith(f"<b>{g.name}</b>") and f"{g.params:,}" in t for t in texts)
        if g.opt_group is not None:
            assert f"param_groups[{g.opt_group}]<br>lr {lf.lr_text(g.lr)}" in texts
    assert texts.count("not in the<br>optimizer") == sum(g.opt_group is None for g in flows)


# ---- BatchNorm facts, checked against the frameworks ----------------------------------------------

def _batch(seed: int = 0):
    torch.manual_seed(seed)
    return torch.randn(16, 4) * 3 + 5  # far from the initial running stats (mean 0, var 1)


TORCH_SETUPS = {
    "model.train()": lambda bn: bn.train(),
    "requires_grad=False, model.train()": lambda bn: (bn.requires_grad_(False), bn.train()),
    "model.eval()": lambda bn: bn.eval(),
}


def test_batchnorm_table_pytorch_rows_are_what_pytorch_does():
    cases = [c for c in lf.BN_CASES if c.framework == "PyTorch"]
    assert {c.setup for c in cases} == set(TORCH_SETUPS)  # a new row needs a check here
    for case in cases:
        bn = nn.BatchNorm1d(4)
        TORCH_SETUPS[case.setup](bn)
        x = _batch()
        y = bn(x)
        used_batch = abs(float(y.detach().mean())) < 0.1  # normalised by its own mean: centred on 0
        assert used_batch == (case.normalises_with == "batch"), case
        moved = not torch.equal(bn.running_mean, torch.zeros(4))
        assert moved == case.running_stats_update, case


def test_batchnorm_table_keras3_rows_are_what_keras3_does():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3"):
        pytest.skip(f"Keras {keras.__version__} is not Keras 3")
    checks = {
        "trainable=True, training=True": [(True, True)],
        "trainable=False (any training flag)": [(False, True), (False, False)],
        "trainable=True, training=False": [(True, False)],
    }
    cases = [c for c in lf.BN_CASES if c.framework == "Keras 3"]
    assert {c.setup for c in cases} == set(checks)
    for case in cases:
        for trainable, training in checks[case.setup]:
            bn = keras.layers.BatchNormalization()
            bn.build((None, 4))
            bn.trainable = trainable
            y = keras.ops.convert_to_numpy(bn(_batch().numpy(), training=training))
            used_batch = abs(float(y.mean())) < 0.1
            assert used_batch == (case.normalises_with == "batch"), (case, training)
            moved = bool(abs(keras.ops.convert_to_numpy(bn.moving_mean)).sum() > 0)
            assert moved == case.running_stats_update, (case, training)


def test_batchnorm_figure_shows_every_case():
    table = ld.batchnorm_figure().data[0]
    frameworks, setups, stats, _ = table.cells.values
    assert list(zip(frameworks, setups, stats)) == [
        (c.framework, c.setup, f"{c.normalises_with} statistics") for c in lf.BN_CASES]


@pytest.fixture(scope="module")
def fresh_bn_stats():
    return lf.bn_batch_stats()  # the pretrained network on the lab run's own batches: a few seconds


def test_stored_bn_stats_equal_a_fresh_measurement(fresh_bn_stats):
    stored = lf.load_bn_stats()
    assert (stored.layer, stored.batch_size, stored.channels) == (
        fresh_bn_stats.layer, fresh_bn_stats.batch_size, fresh_bn_stats.channels)
    for name in ("running_mean", "running_std"):
        assert getattr(stored, name) == pytest.approx(getattr(fresh_bn_stats, name), abs=1e-5)
    for name in ("batch_mean", "batch_std"):
        for a, b in zip(getattr(stored, name), getattr(fresh_bn_stats, name)):
            assert a == pytest.approx(b, abs=1e-4), f"{name}: rerun python -m bench.lesson_data bn-stats"
    assert stored.batch_size == dict(PRESETS[lf.BN_STATS_RUN[0]].runs)[lf.BN_STATS_RUN[1]].batch_size


def test_bn_stats_are_what_the_layer_normalises_with():
    """Train mode divides by the batch's own statistics, eval mode by the running ones: the two
    series the figure draws are the ones PyTorch uses."""
    from core.data.datasets import prepare
    from core.models import backbones as models
    from core.train.inputs import normalise

    cfg = dict(PRESETS[lf.BN_STATS_RUN[0]].runs)[lf.BN_STATS_RUN[1]]
    data = prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    model = models.build_model(cfg.model, data.num_classes, pretrained=True, seed=cfg.seed)
    x = lf.bn_inputs(model, normalise(data.train_x[:cfg.batch_size], torch.device("cpu")))
    bn = lf.bn_layer(model)
    c = lf.BN_STATS_CHANNELS[0]
    mean, std = x[:, c].mean(), x[:, c].var(unbiased=False).sqrt()
    scale = bn.weight[c] / torch.sqrt(std ** 2 + bn.eps)
    with torch.no_grad():
        bn.train()
        y_train = bn(x)[:, c]
        bn.eval()  # (the train-mode call above moved the running stats; eval uses those)
        y_eval = bn(x)[:, c]
    assert torch.allclose(y_train, (x[:, c] - mean) * scale + bn.bias[c], atol=1e-4)
    run_scale = bn.weight[c] / torch.sqrt(bn.running_var[c] + bn.eps)
    assert torch.allclose(y_eval, (x[:, c] - bn.running_mean[c]) * run_scale + bn.bias[c], atol=1e-4)


def test_stored_bn_stats_show_what_the_caption_says():
    st = lf.load_bn_stats()
    away = [abs(sum(m) / len(m) - r) > 0.2 for m, r in zip(st.batch_mean, st.running_mean)]
    assert sum(away) >= 2  # digit batches sit well away from the ImageNet running means
    assert all(max(m) > min(m) for m in st.batch_mean)  # and move from batch to batch
    assert all(sum(s) / len(s) >= r - 0.02 for s, r in zip(st.batch_std, st.running_std))


def test_bn_stats_figure_plots_the_stored_numbers():
    st = lf.load_bn_stats()
    fig = ld.bn_stats_figure(st)
    markers = [t for t in fig.data if t.mode == "markers"]
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [list(t.y) for t in markers] == [list(v) for i in range(len(st.channels))
                                            for v in (st.batch_mean[i], st.batch_std[i])]
    assert [t.y[0] for t in lines] == [v for i in range(len(st.channels)) for v in (st.running_mean[i], st.running_std[i])]
    assert all(t.line.dash == "dash" for t in lines)  # running vs batch told apart without colour


# ---- which layers ---------------------------------------------------------------------------------

def test_which_layers_grid_has_each_combination_once_and_more_data_trains_more():
    cells = {(c.data, c.similarity): c for c in lf.WHICH_LAYERS}
    assert len(cells) == len(lf.WHICH_LAYERS) == 4
    assert set(cells) == {(d, s) for d in ("small", "large") for s in ("similar", "different")}
    for sim in ("similar", "different"):
        assert cells[("small", sim)].depth < cells[("large", sim)].depth
    fig = ld.which_layers_figure()
    shown = {t for row in fig.data[0].text for t in row}
    assert shown == {c.advice for c in lf.WHICH_LAYERS}


# ---- the stored curves are real runs of today's presets -----------------------------------------

def test_stored_curves_come_from_the_current_presets():
    curves = lf.load_curves()
    assert [(c["name"], c["preset"], c["run"]) for c in curves] == list(CURVES)
    for c in curves:
        assert c["config"] == preset_run(c["preset"], c["run"]).to_dict(), (
            f"{c['name']}: the preset changed since the curves were recorded; run python -m bench.lesson_data")
        assert [e["epoch"] for e in c["epochs"]] == list(range(1, len(c["epochs"]) + 1))


def test_stored_curves_show_what_the_captions_say():
    by = {c["name"]: c["epochs"] for c in lf.load_curves()}
    healthy, over, high = by["healthy"], by["overfitting"], by["lr too high"]
    assert healthy[-1]["val_loss"] < healthy[0]["val_loss"] and healthy[-1]["train_loss"] < healthy[0]["train_loss"]
    assert over[-1]["train_acc"] >= 0.99 and over[-1]["train_acc"] - over[-1]["val_acc"] >= 0.15
    assert min(e["val_loss"] for e in over) > 5 * over[-1]["train_loss"]
    assert max(e["val_acc"] for e in high) < 0.25  # chance is 0.10 for ten digits
    assert high[0]["train_loss"] > 5 * healthy[0]["train_loss"]


def test_curves_figure_plots_the_stored_numbers():
    curves = lf.load_curves()
    fig = ld.curves_figure(curves)
    assert len(fig.data) == 4 * len(curves)  # train/val x loss/accuracy per run
    for i, c in enumerate(curves):
        train_loss, train_acc, val_loss, val_acc = fig.data[4 * i:4 * i + 4]
        assert list(train_loss.y) == [e["train_loss"] for e in c["epochs"]]
        assert list(val_loss.y) == [e["val_loss"] for e in c["epochs"]]
        assert list(val_acc.y) == pytest.approx([100 * e["val_acc"] for e in c["epochs"]])
        assert train_loss.line.dash != val_loss.line.dash  # told apart without colour


def test_missing_curves_file_says_how_to_regenerate(tmp_path):
    with pytest.raises(FileNotFoundError, match="bench.lesson_data"):
        lf.load_curves(tmp_path / "none.json")


# ---- figures.yaml validation ---------------------------------------------------------------------

@pytest.fixture
def lesson_copy(tmp_path):
    folder = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", folder)
    return folder


def _with_figure(folder: Path, **changes) -> Path:
    data = yaml.safe_load((folder / "figures.yaml").read_text())
    data["figures"][0].update(changes)
    data["figures"][0] = {k: v for k, v in data["figures"][0].items() if v is not None}
    (folder / "figures.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_real_figures_load_and_place_in_existing_items():
    L = load_lessons()
    assert {f.kind for f in L.figures} == set(FIGURE_KINDS)  # every diagram is shown somewhere
    for f in L.figures:
        assert (f.concept is None) != (f.pitfall is None)
        assert f in (L.figures_for(concept=f.concept) if f.concept else L.figures_for(pitfall=f.pitfall))


@pytest.mark.parametrize("changes,message", [
    ({"kind": "pie-chart"}, "unknown diagram kind 'pie-chart'"),
    ({"concept": "no-such-concept"}, "unknown concept 'no-such-concept'"),
    ({"concept": None, "pitfall": "no-such-pitfall"}, "unknown pitfall 'no-such-pitfall'"),
    ({"pitfall": "pitfall-bn-train-mode"}, "exactly one of 'concept' or 'pitfall'"),
    ({"alt": ""}, "must not be empty"),
    ({"colour": "red"}, "unknown field"),
])
def test_schema_rejects_bad_figures(lesson_copy, changes, message):
    with pytest.raises(LessonError, match=message):
        load_lessons(_with_figure(lesson_copy, **changes))


def test_lessons_without_figures_file_stay_valid(lesson_copy):
    (lesson_copy / "figures.yaml").unlink()
    assert load_lessons(lesson_copy).figures == ()


# ---- changed-line marking ------------------------------------------------------------------------

def test_changed_lines_marks_only_what_differs():
    wrong, correct = changed_lines("a = 1\nb = 2   \nc = 3\n", "a = 1\nb = 2\nc = 4\nd = 5")
    assert [(x.text, x.changed) for x in wrong] == [("a = 1", False), ("b = 2   ", False), ("c = 3", True)]
    assert [(x.text, x.changed) for x in correct] == [("a = 1", False), ("b = 2", False), ("c = 4", True), ("d = 5", True)]


def test_identical_code_marks_nothing():
    wrong, correct = changed_lines("x\ny", "x\ny")
    assert not any(line.changed for line in wrong + correct)


def test_lines_that_differ_only_in_a_comment_are_not_marked():
    wrong, correct = changed_lines(
        "# BUG: the whole network trains\nmodel.fc = nn.Linear(512, 10)  # new head\nopt = SGD(model.parameters())\n"
        "s = '#'  # a string\n",
        "# Fixed: only the head trains\nmodel.fc = nn.Linear(512, 10)  # the new head, trainable\n"
        "opt = SGD(model.fc.parameters())\ns = '#'  # the same string\n")
    assert [x.changed for x in wrong] == [False, False, True, False]
    assert [x.changed for x in correct] == [False, False, True, False]
    # a '#' inside a string is code: a change there is a change
    assert [x.changed for x in changed_lines("s = '#a'\n", "s = '#b'\n")[0]] == [True]
