"""core.lab.codegen: the Lab's settings as a PyTorch script and a Keras 3 script, generated and run.

Why: a generated script that does not run, or that trains other layers than the Lab does, teaches
the wrong thing under the Lab's name. So the settings block is read back and compared with the
config for every preset and backbone; the PyTorch script is run on a tiny image folder and must
train, epoch by epoch, exactly the parameters (names and count) the Lab's own model has trainable,
at the Lab's learning rate per group, and a scheduled run at the Lab's rate per group per step
(core.train.schedules); the Keras script runs under KERAS_BACKEND=torch with random weights, and its
MobileNetV2 must train exactly as many parameters as the Lab's (a scheduled Keras script is read,
not run: its curve is Keras's CosineDecay, checked by hand against core.train.schedules).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from core.lab import codegen
from core.lab.presets import PRESETS
from core.models import backbones as models
from core.train import schedules
from core.train.config import ConfigError, TrainConfig

CLASSES = ("cats", "dogs", "owls")


def settings_of(script: str) -> dict:
    """The script's top-level UPPER_CASE constants whose values are plain literals."""
    out = {}
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                try:
                    out[name] = ast.literal_eval(node.value)
                except ValueError:
                    out[name] = ast.unparse(node.value)  # WEIGHTS = models.X.Y
    return out


def expect_settings(cfg: TrainConfig) -> dict:
    return {"IMAGE_SIZE": cfg.image_size, "PER_CLASS": cfg.per_class, "VAL_PER_CLASS": cfg.val_per_class,
            "TRAINABLE": list(cfg.trainable), "UNFREEZE_AT": {e: list(g) for e, g in cfg.unfreeze_at.items()},
            "LR": cfg.lr, "GROUP_LR": dict(cfg.group_lr), "WEIGHT_DECAY": cfg.weight_decay, "EPOCHS": cfg.epochs,
            "BATCH_SIZE": cfg.batch_size, "AUGMENT": cfg.augment, "EARLY_STOPPING": cfg.early_stopping,
            "SEED": cfg.seed, "FROZEN_BN_EVAL": cfg.frozen_bn_eval,
            **({"SCHEDULE": cfg.schedule, "WARMUP": cfg.warmup} if schedules.moves(cfg) else {})}


CONFIGS = [pytest.param(p.config, id=pid) for pid, p in PRESETS.items()] + [
    pytest.param(TrainConfig(model=m, pretrained=False, optimizer="sgd", momentum=0.8, augment=True,
                             dataset="faces", trainable=("stage4", "head"), group_lr={"stage4": 1e-4},
                             unfreeze_at={2: ("stage3",)}, early_stopping=3, weight_decay=1e-4), id=m)
    for m in models.BACKBONES if m != "mobilenet_v2"] + [
    pytest.param(TrainConfig(schedule=s, warmup=w, trainable=("head",), unfreeze_at={2: ("stage6",)}), id=f"{s}-{w}")
    for s, w in (("cosine", 0.0), ("cosine", 0.1), ("onecycle", 0.3), ("constant", 0.2))]


# ---- generated text, for every preset and every backbone ----------------------------------------------

@pytest.mark.parametrize("cfg", CONFIGS)
def test_both_scripts_parse_and_declare_the_configs_settings(cfg):
    torch_src, keras_src = codegen.pytorch_script(cfg), codegen.keras_script(cfg)
    for src in (torch_src, keras_src):
        compile(src, "<generated>", "exec")
        got = settings_of(src)
        assert {k: got[k] for k in expect_settings(cfg)} == expect_settings(cfg)
        assert got["FLIP"] is (cfg.dataset not in ("mnist", "digits"))
        assert ("MOMENTUM" in got) is (cfg.optimizer == "sgd")
        assert "$" not in src and "TODO" not in src
        assert ("SCHEDULE" in got) is ("WARMUP" in got) is schedules.moves(cfg)
    t = settings_of(torch_src)
    assert t["MODEL"] == cfg.model and t["PRETRAINED"] is cfg.pretrained and t["PRECISE_BN"] is cfg.precise_bn
    assert t["WEIGHTS"] == f"models.{type(models.backbone_spec(cfg.model).weights).__name__}." \
                           f"{models.backbone_spec(cfg.model).weights.name}"
    assert list(t["GROUPS"]) == models.group_names(cfg.model)
    assert ("def lr_factors(" in torch_src) is ("set_rates(optimizer" in torch_src) is schedules.moves(cfg)
    k = settings_of(keras_src)
    assert k["WEIGHTS"] == ("imagenet" if cfg.pretrained else None)
    assert list(k["GROUPS"]) == models.group_names(cfg.model)
    assert ("callbacks=[rates]" in keras_src) is ("class ScheduledRates(" in keras_src) is schedules.moves(cfg)
    if cfg.schedule == "onecycle":  # Keras has none: the script must say what it does instead
        assert "Keras has no one-cycle schedule; this is the nearest" in keras_src


def test_settings_are_commented_with_the_labs_own_help():
    src = codegen.pytorch_script(PRESETS["discriminative-lr"].config)
    line = next(s for s in src.splitlines() if s.startswith("GROUP_LR = "))
    assert line.startswith('GROUP_LR = {"stage4": 1e-05, "stage5": 0.0001, "stage6": 0.0001}')
    assert "# smaller rates for early, general layers" in line
    assert "WEIGHT_DECAY = 0.0 " in src and "torch.optim.Adam(param_groups" in src


def test_the_keras_twin_says_where_it_is_not_the_same_network():
    assert "has no ResNet18" in codegen.keras_script(TrainConfig(model="resnet18", trainable=("head",)))
    assert "Not the same network" not in codegen.keras_script(TrainConfig())
    assert set(codegen.KERAS_TWINS) == set(models.BACKBONES) == set(codegen.TORCH_HEADS)


def test_a_group_the_model_lacks_is_refused_not_left_out():
    with pytest.raises(ConfigError, match=r"Unknown layer group\(s\) \['stage5', 'stage6'\]; resnet18 has"):
        codegen.pytorch_script(TrainConfig(model="resnet18"))  # the default groups are MobileNetV2's
    with pytest.raises(ConfigError, match="stage9"):
        codegen.keras_script(TrainConfig(trainable=("head",), unfreeze_at={2: ("stage9",)}))


def _imagenet_head(net: nn.Module) -> str:
    """torchvision's name of the 1000-class head module, found in the network (not from codegen)."""
    return next(n for n, m in net.named_modules() if isinstance(m, nn.Linear) and m.out_features == 1000)


@pytest.mark.parametrize("name", list(models.BACKBONES))
def test_torch_groups_cover_every_parameter_once_with_the_labs_sizes(name):
    groups = codegen.torch_groups(name)
    net = models.backbone_spec(name).builder(weights=None)
    head = _imagenet_head(net).split(".")[0]
    owner = {}
    for pname, p in net.named_parameters():
        hits = [g for g, prefixes in groups.items() if any(pname == x or pname.startswith(x + ".") for x in prefixes)]
        assert len(hits) == 1, (pname, hits)
        owner[pname] = (hits[0], p.numel())
    lab = models.build_model(name, 1000, pretrained=False)
    sizes = {row.name: row.total for row in models.group_table(lab)}
    for g in groups:
        if g != models.HEAD:
            assert sum(n for o, n in owner.values() if o == g) == sizes[g], g
    assert groups[models.HEAD] == (head,)


# ---- the PyTorch script, run ------------------------------------------------------------------------

def image_folder(root: Path, train: int = 4, val: int = 2) -> Path:
    """train/ and val/ with three classes of tiny images of two sizes; one greyscale file per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                img = Image.fromarray((rng.integers(0, 100, (40, 48, 3)) + 70 * c).astype("uint8"))
                (img.convert("L") if i == 0 else img).save(root / split / name / f"{i}.png")
    return root


def run_script(tmp_path: Path, src: str, name: str, *args: str, keras: bool = False):
    script = tmp_path / name
    script.write_text(src)
    env = {**os.environ, "KERAS_BACKEND": "torch"} if keras else dict(os.environ)
    return subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


def lab_trainable(name: str, groups: set[str], num_classes: int) -> tuple[set[str], int]:
    """What the Lab trains: its GroupedNet with these groups open, its parameters named as in the
    torchvision network they come from (the groups share its modules), and core.models.backbones' count."""
    spec = models.backbone_spec(name)
    base = spec.builder(weights=None)
    head_path = _imagenet_head(base).split(".")[0]
    net = models.GroupedNet(spec.split(base), models.make_head(spec.head_in(base), num_classes), arch=name)
    setattr(base, head_path, net.head)
    models.set_trainable(net, groups)
    names = {n for n, p in base.named_parameters() if p.requires_grad}
    return names, models.count_params(net)[0]


def check_history(history: list[dict], cfg: TrainConfig, epochs: int) -> None:
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    open_groups = set(cfg.trainable)
    for h in history:
        open_groups |= set(cfg.unfreeze_at.get(h["epoch"], ()))
        names, count = lab_trainable(cfg.model, open_groups, len(CLASSES))
        assert set(h["trainable_names"]) == names, (h["epoch"], set(h["trainable_names"]) ^ names)
        assert h["trainable_params"] == count
        assert h["lrs"] == {g: cfg.group_lr.get(g, cfg.lr) for g in models.group_names(cfg.model) if g in open_groups}
        assert np.isfinite(h["train_loss"]) and np.isfinite(h["val_loss"])


PYTORCH_RUNS = [
    # The offline ImageNet weights, head first, then stage 6 opens at epoch 3: three epochs show the step.
    pytest.param(replace(PRESETS["gradual-unfreeze"].config, image_size=32), 3, id="gradual-unfreeze"),
    # From scratch (no download): SGD, augmentation with mirroring, a smaller rate for stage 4, a later
    # opening, early stopping on.
    pytest.param(TrainConfig(model="resnet18", pretrained=False, dataset="faces", image_size=32, optimizer="sgd",
                             augment=True, trainable=("stage4", "head"), group_lr={"stage4": 1e-4},
                             unfreeze_at={2: ("stage3",)}, early_stopping=2, batch_size=4), 2, id="resnet18"),
]


@pytest.mark.parametrize("cfg,epochs", PYTORCH_RUNS)
def test_pytorch_script_trains_exactly_what_the_lab_trains(tmp_path, cfg, epochs):
    data = image_folder(tmp_path / "data")
    proc = run_script(tmp_path, codegen.pytorch_script(cfg), "finetune.py", str(data), "--epochs", str(epochs),
                      "--history", "history.json", "--out", "model.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 classes, 12 training and 6 validation images" in proc.stdout
    check_history(json.loads((tmp_path / "history.json").read_text()), cfg, epochs)
    import torch
    saved = torch.load(tmp_path / "model.pt", weights_only=False)
    assert saved["classes"] == list(CLASSES)
    check_frozen_groups_untouched(cfg, epochs, saved["state_dict"])


def check_frozen_groups_untouched(cfg: TrainConfig, epochs: int, state: dict) -> None:
    """Groups that never opened kept every weight and BatchNorm statistic they started with (frozen,
    with BatchNorm in eval mode); those that trained moved. The start is rebuilt as the script builds
    it: seeded, then torchvision's builder (ImageNet weights, or a seeded random init)."""
    import torch

    spec = models.backbone_spec(cfg.model)
    torch.manual_seed(cfg.seed)
    start = spec.builder(weights=spec.weights if cfg.pretrained else None).state_dict()
    opened = set(cfg.trainable) | {g for e, gs in cfg.unfreeze_at.items() if e <= epochs for g in gs}
    groups = codegen.torch_groups(cfg.model)

    def keys(names):
        prefixes = [p + "." for g in names for p in groups[g] if g != models.HEAD]
        return [k for k in start if k.startswith(tuple(prefixes))]

    kept = keys(set(groups) - opened)
    assert kept and all(torch.equal(state[k], start[k]) for k in kept)
    trained = [k for k in keys(opened) if k.endswith("weight")]
    assert trained and not all(torch.equal(state[k], start[k]) for k in trained)


def script_functions(cfg: TrainConfig) -> dict:
    """The generated PyTorch script's top-level names, its settings and functions, without running main."""
    namespace = {"__name__": "generated"}
    exec(compile(codegen.pytorch_script(cfg), "<generated>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name,warmup", [("cosine", 0.0), ("cosine", 0.2), ("onecycle", 0.3), ("onecycle", 0.05),
                                         ("constant", 0.1)])
@pytest.mark.parametrize("steps", [1, 2, 3, 17, 40])
def test_the_scripts_factor_curve_is_the_labs(name, warmup, steps):
    cfg = TrainConfig(schedule=name, warmup=warmup)
    assert script_functions(cfg)["lr_factors"](steps) == list(schedules.factors(name, steps, warmup))


def test_pytorch_script_trains_each_group_at_the_labs_scheduled_rate_per_step(tmp_path):
    """One-cycle over two epochs of six steps; stage 3 joins at epoch 2 (a group the optimizer gets
    later) and stage 4 has a rate of its own: every step's rate per group is core.train.schedules' plan."""
    cfg = TrainConfig(model="resnet18", pretrained=False, dataset="faces", image_size=32, trainable=("stage4", "head"),
                      group_lr={"stage4": 1e-4}, unfreeze_at={2: ("stage3",)}, schedule="onecycle", warmup=0.3,
                      epochs=2, batch_size=2)
    data = image_folder(tmp_path / "data")
    proc = run_script(tmp_path, codegen.pytorch_script(cfg), "finetune.py", str(data), "--history", "history.json",
                      "--out", "model.pt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((tmp_path / "history.json").read_text())
    steps = [rates for h in history for rates in h["step_lrs"]]
    plan = schedules.planned_rates(cfg, n_train=len(CLASSES) * 4)
    assert len(steps) == 12 and set(plan) == {"stage3", "stage4", "head"}
    for group, planned in plan.items():
        assert [s[group] for s in steps if group in s] == [rate for _, rate in planned], group
    assert max(s["head"] for s in steps) == pytest.approx(cfg.lr)  # one-cycle reaches the peak, and
    assert steps[0]["head"] == pytest.approx(cfg.lr / 25)  # starts at 1/25 of it


def test_pytorch_script_explains_a_wrong_folder(tmp_path):
    (tmp_path / "data" / "train" / "cats").mkdir(parents=True)
    proc = run_script(tmp_path, codegen.pytorch_script(TrainConfig()), "finetune.py", str(tmp_path / "data"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "No folder at" in proc.stderr and "val" in proc.stderr


# ---- the Keras script, run ----------------------------------------------------------------------------

KERAS_RUNS = [
    # The Lab's default (stages 5 and 6 and the head): Keras's MobileNetV2 has the same trainable weights.
    pytest.param(replace(TrainConfig(), image_size=32), True, id="default"),
    # Per-group rates (MultiOptimizer), augmentation, a later opening; ResNet18's twin is ResNet50.
    pytest.param(TrainConfig(model="resnet18", pretrained=False, dataset="faces", image_size=32, optimizer="sgd",
                             augment=True, trainable=("stage4", "head"), group_lr={"stage4": 1e-4},
                             unfreeze_at={2: ("stage3",)}, early_stopping=1, batch_size=4), False, id="resnet18"),
]


@pytest.mark.parametrize("cfg,same_network", KERAS_RUNS)
def test_keras_script_runs_with_random_weights(tmp_path, cfg, same_network):
    data = image_folder(tmp_path / "data")
    proc = run_script(tmp_path, codegen.keras_script(cfg), "finetune_keras.py", str(data), "--weights", "none",
                      "--epochs", "2", "--history", "history.json", "--out", "model.keras", keras=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        open_groups = set(cfg.trainable) | {g for e, gs in cfg.unfreeze_at.items() if e <= h["epoch"] for g in gs}
        assert set(h["trainable_groups"]) == open_groups
        if same_network:
            assert h["trainable_params"] == lab_trainable(cfg.model, open_groups, len(CLASSES))[1]
    if not same_network:  # opening stage 3 at epoch 2 adds its weights
        assert history[1]["trainable_params"] > history[0]["trainable_params"]
    assert (tmp_path / "model.keras").stat().st_size > 1_000_000


KERAS_GROUP_SIZES = """
import json, sys
import keras
import numpy as np
twins = json.loads(sys.argv[1])
out = {}
for model, (app, groups) in twins.items():
    base = getattr(keras.applications, app)(include_top=False, weights=None, input_shape=(32, 32, 3))
    sizes, stray = dict.fromkeys(groups, 0), []
    for layer in base.layers:
        hits = [g for g, prefixes in groups.items() if layer.name.startswith(tuple(prefixes))]
        if layer.weights and len(hits) != 1:
            stray.append([layer.name, hits])
        for w in layer.trainable_weights:
            sizes[hits[0]] += int(np.prod(w.shape))
    out[model] = {"sizes": sizes, "stray": stray}
print(json.dumps(out))
"""


def test_keras_twins_put_every_layer_in_one_group_and_mobilenet_matches_the_lab():
    twins = {m: (t.app, t.groups) for m, t in codegen.KERAS_TWINS.items()}
    proc = subprocess.run([sys.executable, "-c", KERAS_GROUP_SIZES, json.dumps(twins)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "torch"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    for model, got in found.items():
        assert got["stray"] == [], (model, got["stray"][:5])
        assert all(n > 0 for n in got["sizes"].values()), (model, got["sizes"])
    lab = {row.name: row.total for row in models.group_table(models.build_model("mobilenet_v2", 10, pretrained=False))}
    assert found["mobilenet_v2"]["sizes"] == {g: n for g, n in lab.items() if g != models.HEAD}
