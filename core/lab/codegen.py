"""Code for this setup: the Lab's settings as a runnable PyTorch script and its Keras 3 twin.

Why: a learner who found a setup that works in the Lab should leave with code that does the same
on their own images, not with a recipe to retype. Each script is a template (core/lab/codegen_templates/)
with one generated block at the top: every setting declared once, commented with the Lab's own help
text (nanoGPT's style), and the Lab's layer groups spelled as the framework's module or layer names.
The PyTorch groups are derived from core.models.backbones' split of the real torchvision network, so they
cannot drift from what the Lab trains; tests/test_codegen.py runs both scripts and checks that the
PyTorch one trains exactly the parameters the Lab reports as trainable.

A learning-rate schedule (core.train.schedules) adds a few functions to each script, only when the rate
moves: a constant-rate setup keeps its plain script. The PyTorch one computes the Lab's factor curve
with torch's own schedulers (equal, step for step, to core.train.schedules); the Keras one with Keras's
CosineDecay (equal to float32 precision, except one-cycle's climb, which Keras cannot draw).
"""

from __future__ import annotations

import json
import string
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.models import backbones as models
from core.train import schedules
from core.train.config import SPECS, ConfigError, TrainConfig
from core.train.inputs import NO_FLIP_DATASETS

TEMPLATES = Path(__file__).with_name("codegen_templates")
DROPOUT = 0.2  # the Lab's head: Dropout(0.2) then Linear (core.models.backbones.make_head)


@dataclass(frozen=True)
class TorchHead:
    attr: str  # where torchvision keeps the ImageNet head
    in_features: str  # how to read its input width
    comment: str


_CLASSIFIER = TorchHead(
    "classifier",
    "model.classifier[-1].in_features",
    "# torchvision's head is Dropout + Linear(.., 1000): the Lab's new one has one output per class.",
)
_FC = TorchHead(
    "fc",
    "model.fc.in_features",
    "# torchvision's ResNet head is a bare Linear(.., 1000): the Lab's new one puts Dropout before it.",
)
TORCH_HEADS = {"mobilenet_v2": _CLASSIFIER, "efficientnet_b0": _CLASSIFIER, "resnet18": _FC, "resnet50": _FC}


@dataclass(frozen=True)
class KerasTwin:
    app: str  # keras.applications class
    preprocess: str  # keras.applications module whose preprocess_input these weights expect
    groups: dict[str, tuple[str, ...]]  # the Lab's group -> Keras layer-name prefixes
    note: str = ""  # where the twin is not the same network


_MOBILENET = {
    "stem": ("Conv1", "bn_Conv1", "expanded_conv_"),  # torchvision features[0:2]
    "stage1": ("block_1_", "block_2_"),
    "stage2": ("block_3_", "block_4_", "block_5_"),
    "stage3": ("block_6_", "block_7_", "block_8_", "block_9_"),
    "stage4": ("block_10_", "block_11_", "block_12_"),
    "stage5": ("block_13_", "block_14_", "block_15_"),
    "stage6": ("block_16_", "Conv_1", "out_relu"),
}  # features[17:19]: the last block, the 1x1 conv
_RESNET = {
    "stem": ("conv1_", "pool1_"),
    "stage1": ("conv2_",),
    "stage2": ("conv3_",),
    "stage3": ("conv4_",),
    "stage4": ("conv5_",),
}
_EFFICIENTNET = {
    "stem": ("rescaling", "normalization", "stem_"),
    **{f"stage{i}": (f"block{i}",) for i in range(1, 7)},
    "stage7": ("block7", "top_"),
}
KERAS_TWINS = {
    "mobilenet_v2": KerasTwin("MobileNetV2", "mobilenet_v2", _MOBILENET),
    "resnet18": KerasTwin(
        "ResNet50",
        "resnet50",
        _RESNET,
        "keras.applications has no ResNet18; this uses ResNet50, the nearest: the same stem "
        "and four stages, but bottleneck blocks and 25.6M parameters instead of 11.7M.",
    ),
    "resnet50": KerasTwin(
        "ResNet50",
        "resnet50",
        _RESNET,
        "Keras's ResNet50 is the original v1 (stride in the first 1x1 convolution, biases in "
        "every convolution); torchvision's is v1.5, so the parameter counts differ slightly.",
    ),
    "efficientnet_b0": KerasTwin("EfficientNetB0", "efficientnet", _EFFICIENTNET),
}

_TORCH_OPTIMIZERS = {
    "adam": "return torch.optim.Adam(param_groups, lr=LR, weight_decay=WEIGHT_DECAY)",
    "adamw": "return torch.optim.AdamW(param_groups, lr=LR, weight_decay=WEIGHT_DECAY)",
    "sgd": "return torch.optim.SGD(param_groups, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)",
}
_KERAS_OPTIMIZERS = {
    # Keras applies weight_decay decoupled (as AdamW does, scaled by the rate); PyTorch's Adam and SGD add
    # it to the gradient instead (L2). Same idea, not the same numbers.
    "adam": "return keras.optimizers.Adam(lr, weight_decay=WEIGHT_DECAY or None)  # decoupled, unlike torch's Adam",
    "adamw": "return keras.optimizers.AdamW(lr, weight_decay=WEIGHT_DECAY)",
    "sgd": "return keras.optimizers.SGD(lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY or None)  # decoupled",
}


# ---- the Lab's groups as torchvision module names ------------------------------------------------------


@cache
def _torch_net(model_name: str):
    return models.backbone_spec(model_name).builder(weights=None)  # structure only: no weights read


@cache
def torch_groups(model_name: str) -> dict[str, tuple[str, ...]]:
    """Each Lab group of a backbone as torchvision module names, read off core.models.backbones' own split.

    A group is either a torchvision module itself (ResNet's layer1) or a new Sequential of some of
    its modules (MobileNetV2's features[14:17]); either way its modules keep their identity, so their
    names are found in the untouched network."""
    spec = models.backbone_spec(model_name)
    net = _torch_net(model_name)
    name_of = {id(m): n for n, m in net.named_modules()}
    out = {}
    for group, module in spec.split(net):
        parts = [module] if id(module) in name_of else list(module.children())
        out[group] = tuple(name_of[id(m)] for m in parts if any(True for _ in m.parameters()))
    out[models.HEAD] = (TORCH_HEADS[model_name].attr,)
    return out


# ---- settings blocks -------------------------------------------------------------------------------


def _help(field: str) -> str:
    """The Lab's help text of a setting, first sentence: the same words as the Lab's tooltip."""
    text = SPECS[field].help.split(". ")[0].rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text  # "Same seed" but "SGD's"


def _num(x: float) -> str:
    """1e-05 and 0.001 as a person writes them; a whole float keeps its point (0.0, not 0)."""
    if not isinstance(x, float):
        return str(x)
    text = f"{x:g}"
    return text if any(c in text for c in ".en") else text + ".0"


def _py(value) -> str:
    """A Python literal of a setting's value, written the way a person would."""
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{_py(k) if not isinstance(k, str) else json.dumps(k)}: {_py(v)}" for k, v in sorted(value.items())
            )
            + "}"
        )
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _line(name: str, value, comment: str) -> str:
    code = f"{name} = {value}"
    return f"{code:<36}  # {comment}" if comment else code


def _groups_block(groups: dict[str, tuple[str, ...]], what: str) -> list[str]:
    rows = [f"GROUPS = {{  # the Lab's layer groups in network order, as {what}"]
    rows += [f"    {json.dumps(g)}: {_py(list(names))}," for g, names in groups.items()]
    return rows + ["}"]


def _schedule_settings(cfg: TrainConfig) -> list[str]:
    """SCHEDULE and WARMUP, only when the rate moves: a constant-rate setup keeps its plain script."""
    if not schedules.moves(cfg):
        return []
    return [
        _line("SCHEDULE", json.dumps(cfg.schedule), "constant, cosine or onecycle; each group's rate is its peak"),
        _line("WARMUP", _num(float(cfg.warmup)), "share of the run's steps that climb from 1/25 of the peak"),
    ]


def _common_settings(cfg: TrainConfig) -> list[str]:
    flip = cfg.dataset not in NO_FLIP_DATASETS
    rows = [
        _line("IMAGE_SIZE", cfg.image_size, "pixels a side; the time per image grows with its square"),
        _line("PER_CLASS", cfg.per_class, "training images per class (0: all); fine-tuning shines with few"),
        _line("VAL_PER_CLASS", cfg.val_per_class, "validation images per class (held out, never trained on)"),
        _line("TRAINABLE", _py(list(cfg.trainable)), _help("trainable")),
        _line(
            "UNFREEZE_AT",
            _py({e: list(g) for e, g in cfg.unfreeze_at.items()}),
            "gradual unfreezing: epoch -> groups that open then",
        ),
        _line("LR", _num(float(cfg.lr)), "learning rate of every group not in GROUP_LR"),
        _line("GROUP_LR", _py({g: float(v) for g, v in cfg.group_lr.items()}), _help("group_lr")),
        *_schedule_settings(cfg),
        _line("WEIGHT_DECAY", _num(float(cfg.weight_decay)), _help("weight_decay")),
    ]
    if cfg.optimizer == "sgd":
        rows.append(_line("MOMENTUM", _num(float(cfg.momentum)), _help("momentum")))
    return rows + [
        _line("EPOCHS", cfg.epochs, _help("epochs")),
        _line("BATCH_SIZE", cfg.batch_size, _help("batch_size")),
        _line("AUGMENT", cfg.augment, _help("augment")),
        _line(
            "FLIP",
            flip,
            "mirror images when augmenting"
            if flip
            else f"no mirroring: the Lab's {cfg.dataset} images are digits (a mirrored 2 is none)",
        ),
        _line("EARLY_STOPPING", cfg.early_stopping, _help("early_stopping")),
        _line("SEED", cfg.seed, _help("seed")),
    ]


def torch_settings(cfg: TrainConfig) -> str:
    spec = models.backbone_spec(cfg.model)
    weights = f"models.{type(spec.weights).__name__}.{spec.weights.name}"
    rows = [
        "# ---- the Lab's settings: change them here ----------------------------------------------------",
        _line("MODEL", json.dumps(cfg.model), spec.title),
        _line("WEIGHTS", weights, "pinned: DEFAULT may change with torchvision"),
        _line("PRETRAINED", cfg.pretrained, "False: the same network with random weights"),
    ]
    rows += _common_settings(cfg)
    rows += [
        _line("FROZEN_BN_EVAL", cfg.frozen_bn_eval, "frozen groups' BatchNorm in eval mode"),
        _line("PRECISE_BN", cfg.precise_bn, _help("precise_bn")),
    ]
    rows += _groups_block(torch_groups(cfg.model), "torchvision module names (core/models/backbones.py)")
    return "\n".join(rows)


def keras_settings(cfg: TrainConfig) -> str:
    twin = KERAS_TWINS[cfg.model]
    rows = [
        "# ---- the Lab's settings: change them here ----------------------------------------------------",
        _line("KERAS_MODEL", json.dumps(twin.app), f"keras.applications' twin of the Lab's {cfg.model}"),
        _line("WEIGHTS", '"imagenet"' if cfg.pretrained else "None", "None: random weights, from scratch"),
    ]
    rows += _common_settings(cfg)
    rows += [_line("FROZEN_BN_EVAL", cfg.frozen_bn_eval, "frozen groups' BatchNorm in inference mode")]
    rows += _groups_block({**twin.groups, models.HEAD: ("head",)}, "Keras layer-name prefixes")
    return "\n".join(rows)


# ---- the scripts -------------------------------------------------------------------------------------


def filename(cfg: TrainConfig, framework: str) -> str:
    return f"finetune_{cfg.model}{'_keras' if framework == 'keras' else ''}.py"


@cache
def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / name).read_text())


def _fill(template: str, **values: str) -> str:
    text = _template(template).substitute(values)
    return text.rstrip("\n") + "\n"


def check_groups(cfg: TrainConfig) -> None:
    """ConfigError, in the engine's words, when a setting names a group the model does not have: the
    script would silently leave it out (validate() cannot know, it does not read the model)."""
    named = set(cfg.trainable) | set(cfg.group_lr) | {g for gs in cfg.unfreeze_at.values() for g in gs}
    groups = list(torch_groups(cfg.model))  # models.group_names builds the network on every call
    unknown = named - set(groups)
    if unknown:
        raise ConfigError(f"Unknown layer group(s) {sorted(unknown)}; {cfg.model} has {groups}.")


_TORCH_SCHEDULE_HOOKS = {  # where the schedule enters the PyTorch script; all empty for a constant rate
    "schedule_setup": "\n    # One factor per step of the whole run (--epochs sets its length); rates_used: what each"
    " step used.\n    factors, rates_used = lr_factors(args.epochs * len(train_dl)), []",
    "train_params": ", factors, rates_used",
    "set_rates": "\n        rates_used.append(set_rates(optimizer, factors[len(rates_used)]))"
    "  # step n trains at factor n",
    "train_args": ", factors, rates_used",
    "history_rates": ',\n                        "step_lrs": rates_used[(epoch - 1) * len(train_dl):]',
}


def _torch_schedule(cfg: TrainConfig) -> dict[str, str]:
    """The schedule's functions and hooks for the PyTorch template, or empty strings for a constant rate."""
    if not schedules.moves(cfg):
        return {"schedule_functions": "", **dict.fromkeys(_TORCH_SCHEDULE_HOOKS, "")}
    functions = _template("pytorch_schedule.py.tmpl").substitute(
        one_cycle_min=schedules.ONE_CYCLE_MIN, floor=schedules.FLOOR, warmup_start=f"1 / {1 / schedules.WARMUP_START:g}"
    )
    return {"schedule_functions": "\n\n\n" + functions.strip("\n"), **_TORCH_SCHEDULE_HOOKS}


def pytorch_script(cfg: TrainConfig, origin: str = "its current settings") -> str:
    """A complete PyTorch script that fine-tunes as the Lab would with `cfg`, on a folder of images."""
    check_groups(cfg)
    head = TORCH_HEADS[cfg.model]
    return _fill(
        "pytorch.py.tmpl",
        title=models.backbone_spec(cfg.model).title.split(" (")[0],
        origin=origin,
        filename=filename(cfg, "pytorch"),
        settings=torch_settings(cfg),
        builder=cfg.model,
        head_comment=head.comment,
        head_line=f"model.{head.attr} = nn.Sequential(nn.Dropout({DROPOUT}), "
        f"nn.Linear({head.in_features}, num_classes))",
        example_name=next(n for n, _ in _torch_net(cfg.model).named_parameters()),
        optimizer_line=_TORCH_OPTIMIZERS[cfg.optimizer],
        **_torch_schedule(cfg),
    )


_KERAS_SCHEDULE_HOOKS = {  # where the schedule enters the Keras script; all empty for a constant rate
    "schedule_setup": "\n    # fit() also trains an epoch's last, smaller batch (the Lab and the PyTorch script skip"
    " it), so\n    # the curve spans Keras's own batches: one more per epoch where BATCH_SIZE"
    " does not divide the images.\n"
    "    per_epoch = (len(x_train) + batch - 1) // batch\n"
    "    rates = ScheduledRates(args.epochs * per_epoch)",
    "fit_callbacks": ", callbacks=[rates]",
    "history_rates": ',\n                        "lr_factors": rates.used[(epoch - 1) * per_epoch:]',
}


def _keras_schedule(cfg: TrainConfig) -> dict[str, str]:
    """The schedule's functions and hooks for the Keras template, or empty strings for a constant rate."""
    if not schedules.moves(cfg):
        return {"schedule_functions": "", **dict.fromkeys(_KERAS_SCHEDULE_HOOKS, "")}
    start = f"1 / {1 / schedules.WARMUP_START:g}"
    functions = _template("keras_schedule.py.tmpl").substitute(
        one_cycle_min=schedules.ONE_CYCLE_MIN,
        floor=schedules.FLOOR,
        floor_text=f"{schedules.FLOOR:.0%}",
        warmup_start=start,
        one_cycle_end=f"{start} / 1e4",
    )
    return {"schedule_functions": "\n\n\n" + functions.strip("\n"), **_KERAS_SCHEDULE_HOOKS}


def keras_script(cfg: TrainConfig, origin: str = "its current settings") -> str:
    """The Keras 3 twin of pytorch_script: keras.applications base, the same groups by layer name."""
    check_groups(cfg)
    twin = KERAS_TWINS[cfg.model]
    note = "\n\n" + textwrap.fill(f"Not the same network: {twin.note}", 100) if twin.note else ""
    return _fill(
        "keras.py.tmpl",
        title=twin.app,
        origin=origin,
        filename=filename(cfg, "keras"),
        settings=keras_settings(cfg),
        twin_note=note,
        keras_model=twin.app,
        preprocess_module=twin.preprocess,
        example_name=f"{list(twin.groups.values())[-1][0]}...",
        optimizer_line=_KERAS_OPTIMIZERS[cfg.optimizer],
        **_keras_schedule(cfg),
    )
