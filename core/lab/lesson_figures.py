"""What the lesson diagrams show, as plain data derived from the engine's own configs and measurements.

A picture that teaches a number must not invent it: the freezing and unfreezing diagrams read a lab
preset's TrainConfig and apply the engine's rules (which groups train at each epoch, which rate each
optimizer group gets); the curves and the BatchNorm statistics are real measurements stored by
``python -m bench.lesson_data`` (tests compare them with fresh ones); the BatchNorm table states
behaviour that tests/test_lesson_diagrams.py checks against PyTorch and Keras 3 themselves. Plotly
drawing lives in ui/lesson_diagrams.py; nothing here draws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.content.lessons import FIGURE_KINDS  # noqa: F401  (re-exported: the kinds ui/lesson_diagrams.py draws)
from core.data.datasets import load_raw, prepare
from core.lab.presets import PRESETS
from core.lab.stem_filters import describe_stem_filters
from core.models import backbones as models
from core.runs.estimate import group_sizes
from core.train.config import TrainConfig
from core.train.inputs import normalise

DATA_FILE = Path(__file__).resolve().parents[2] / "lessons" / "lesson_data.json"
MEASURED_KINDS = ("curve-shapes", "batchnorm-stats")  # drawn from DATA_FILE (the others derive their data)
FLOW_PRESET = "discriminative-lr"  # frozen early groups, then three different rates: both ideas at once
TIMELINE_PRESETS = ("gradual-unfreeze", "discriminative-lr")  # when groups open vs how fast each learns


# ---- freezing: where the backward pass goes and what the optimizer holds ----------------------------


@dataclass(frozen=True)
class GroupFlow:
    name: str
    params: int
    trainable: bool
    backward: bool  # autograd runs through this group (the pass stops below the earliest trainable group)
    opt_group: int | None  # index in optimizer.param_groups, None when the optimizer never sees it
    lr: float | None


def gradient_flow(cfg: TrainConfig, num_classes: int) -> list[GroupFlow]:
    """Each layer group at epoch 1 of `cfg`, input to output, as the engine builds it: the optimizer
    holds trainable groups only, in network order, each at group_lr.get(name, lr)."""
    sizes = group_sizes(cfg.model, num_classes)
    names = [n for n, _ in sizes]
    trainable = set(cfg.trainable)
    first = min((names.index(g) for g in trainable), default=len(names))
    order = [n for n in names if n in trainable]
    return [
        GroupFlow(
            n,
            p,
            n in trainable,
            i >= first,
            order.index(n) if n in trainable else None,
            cfg.group_lr.get(n, cfg.lr) if n in trainable else None,
        )
        for i, (n, p) in enumerate(sizes)
    ]


def preset_flow(preset_id: str = FLOW_PRESET) -> list[GroupFlow]:
    cfg = PRESETS[preset_id].config
    return gradient_flow(cfg, len(load_raw(cfg.dataset).class_names))


# ---- gradual unfreezing and discriminative rates: epochs x groups ---------------------------------


def schedule(cfg: TrainConfig) -> list[dict[str, float]]:
    """Per epoch (index 0 = epoch 1): {trainable group: its learning rate}. Same rule as
    core.train.engine.run_training: groups listed in unfreeze_at[e] join at the start of epoch e, and stay."""
    trainable, out = set(cfg.trainable), []
    for epoch in range(1, cfg.epochs + 1):
        trainable |= set(cfg.unfreeze_at.get(epoch, ()))
        out.append({g: float(cfg.group_lr.get(g, cfg.lr)) for g in trainable})
    return out


def preset_schedule(preset_id: str) -> tuple[list[str], list[dict[str, float]]]:
    """(group names in network order, per-epoch schedule) of a preset's first run."""
    cfg = PRESETS[preset_id].config
    return models.group_names(cfg.model), schedule(cfg)


# ---- BatchNorm: which statistics normalise, and whether the running ones move ----------------------


@dataclass(frozen=True)
class BNCase:
    framework: str
    setup: str  # what the code does
    normalises_with: str  # "batch" or "running"
    running_stats_update: bool


# Checked in tests/test_lesson_diagrams.py against a real torch.nn.BatchNorm2d and keras.layers.BatchNormalization.
BN_CASES = (
    BNCase("PyTorch", "model.train()", "batch", True),
    BNCase("PyTorch", "requires_grad=False, model.train()", "batch", True),
    BNCase("PyTorch", "model.eval()", "running", False),
    BNCase("Keras 3", "trainable=True, training=True", "batch", True),
    BNCase("Keras 3", "trainable=False (any training flag)", "running", False),
    BNCase("Keras 3", "trainable=True, training=False", "running", False),
)


@dataclass(frozen=True)
class BNStats:
    """Statistics of the first channels entering one pretrained BatchNorm layer, batch by batch."""

    layer: str
    batch_size: int
    channels: tuple[int, ...]
    running_mean: tuple[float, ...]  # per channel: what eval mode normalises with (learned on ImageNet)
    running_std: tuple[float, ...]
    batch_mean: tuple[tuple[float, ...], ...]  # [channel][batch]: what train mode normalises with
    batch_std: tuple[tuple[float, ...], ...]


BN_STATS_RUN = ("bn-train-mode", "BatchNorm in train mode")  # the lab run this figure explains
BN_STATS_GROUP = "stage3"  # a middle group: features well past raw pixels, still frozen in that run
BN_STATS_CHANNELS = (0, 1, 2)  # the first three, not hand-picked ones
BN_STATS_BATCHES = 12


def bn_layer(model: models.GroupedNet, group: str = BN_STATS_GROUP) -> nn.BatchNorm2d:
    return next(m for m in model.group(group).modules() if isinstance(m, nn.BatchNorm2d))


def bn_inputs(model: models.GroupedNet, x: torch.Tensor, group: str = BN_STATS_GROUP) -> torch.Tensor:
    """What the group's first BatchNorm receives for a normalised image batch (eval mode, no grad)."""
    seen = []
    hook = bn_layer(model, group).register_forward_pre_hook(lambda _m, inp: seen.append(inp[0]))
    try:
        with torch.no_grad():
            model.eval().features_until(x, model.group_names.index(group) + 1)
    finally:
        hook.remove()
    return seen[0]


def bn_batch_stats() -> BNStats:
    """Real numbers for the lab's BatchNorm run: its pretrained network, its data, its batch size."""
    preset, label = BN_STATS_RUN
    cfg = dict(PRESETS[preset].runs)[label]
    data = prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    model = models.build_model(cfg.model, data.num_classes, pretrained=cfg.pretrained, seed=cfg.seed)
    order = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(cfg.seed))
    batches = [
        bn_inputs(
            model, normalise(data.train_x[order[i * cfg.batch_size : (i + 1) * cfg.batch_size]], torch.device("cpu"))
        )
        for i in range(BN_STATS_BATCHES)
    ]
    bn, ch = bn_layer(model), BN_STATS_CHANNELS
    assert bn.running_mean is not None and bn.running_var is not None  # BatchNorm tracks running statistics
    # BatchNorm in train mode divides by the biased (population) variance of the batch
    return BNStats(
        f"the first BatchNorm of {BN_STATS_GROUP}",
        cfg.batch_size,
        ch,
        tuple(float(bn.running_mean[c]) for c in ch),
        tuple(float(bn.running_var[c].sqrt()) for c in ch),
        tuple(tuple(float(b[:, c].mean()) for b in batches) for c in ch),
        tuple(tuple(float(b[:, c].var(unbiased=False).sqrt()) for b in batches) for c in ch),
    )


# ---- which layers to fine-tune: data size x similarity to the pretraining data ---------------------


@dataclass(frozen=True)
class GridCell:
    data: str  # "small" or "large"
    similarity: str  # "similar" or "different"
    advice: str
    depth: int  # how much of the network to train, 1 (head only) .. 4 (everything), for the shading


SIMILARITY = {"similar": "similar to ImageNet", "different": "different from ImageNet"}
WHICH_LAYERS = (
    GridCell("small", "similar", "Freeze the backbone,<br>train the new head only", 1),
    GridCell("large", "similar", "Fine-tune the last blocks<br>with a small learning rate", 2),
    GridCell("small", "different", "Head plus the last blocks;<br>early layers stay frozen,<br>augment, stop early", 3),
    GridCell("large", "different", "Fine-tune every layer<br>(pretrained start still helps)", 4),
)


# ---- measured data: stored by bench/lesson_data.py, read by the figures ----------------------------


def _stored(key: str, path: Path | None = None):
    path = path or DATA_FILE
    try:
        return json.loads(path.read_text())[key]
    except (OSError, ValueError, KeyError) as exc:
        raise FileNotFoundError(
            f"The lesson data {key!r} in {path} could not be read ({exc}); regenerate it "
            f"with `python -m bench.lesson_data`."
        ) from exc


def load_curves(path: Path | None = None) -> list[dict]:
    """Healthy, overfitting and too-high-LR runs: [{name, preset, run, config, reason, epochs: [...]}]."""
    return _stored("curves", path)


def load_bn_stats(path: Path | None = None) -> BNStats:
    """bn_batch_stats() as stored (computing it needs the pretrained network: seconds per page view)."""
    d = _stored("bn_stats", path)
    return BNStats(
        d["layer"],
        d["batch_size"],
        tuple(d["channels"]),
        tuple(d["running_mean"]),
        tuple(d["running_std"]),
        tuple(map(tuple, d["batch_mean"])),
        tuple(map(tuple, d["batch_std"])),
    )


# ---- the same data in words: the text version shown with each figure ------------------------------


def lr_text(value: float) -> str:
    """A learning rate as the diagrams write it: 1e-4, not 1e-04 or 0.0001."""
    return f"{value:.0e}".replace("e-0", "e-")


def _describe_flow() -> str:
    flows = preset_flow()
    groups = ", ".join(f"{g.name} ({'trains' if g.trainable else 'frozen'}, {g.params:,} parameters)" for g in flows)
    first = next(g.name for g in flows if g.backward)
    opt = ", ".join(f"{g.name} at lr {lr_text(g.lr)}" for g in flows if g.opt_group is not None and g.lr is not None)
    return (
        f"Layer groups from input to output in the {PRESETS[FLOW_PRESET].title!r} preset: {groups}. "
        f"The backward pass runs from the loss down to {first} and stops there. "
        f"The optimizer's parameter groups, in order: {opt}; frozen groups are not in the optimizer."
    )


def _describe_bn() -> str:
    return " ".join(
        f"{c.framework}, {c.setup}: normalises with {c.normalises_with} statistics; running "
        f"statistics {'updated' if c.running_stats_update else 'not updated'}."
        for c in BN_CASES
    )


def _describe_bn_stats() -> str:
    st = load_bn_stats()
    parts = [
        f"Channel {c}: running mean {st.running_mean[i]:.2f} and standard deviation {st.running_std[i]:.2f} "
        f"(from ImageNet); over {len(st.batch_mean[i])} batches of {st.batch_size} digit images the batch "
        f"mean ranged from {min(st.batch_mean[i]):.2f} to {max(st.batch_mean[i]):.2f} and the batch standard "
        f"deviation from {min(st.batch_std[i]):.2f} to {max(st.batch_std[i]):.2f}."
        for i, c in enumerate(st.channels)
    ]
    return f"Inputs of {st.layer} in the pretrained network. " + " ".join(parts)


def _spans(groups: list[str], sched: list[dict[str, float]]) -> list[str]:
    """Consecutive epochs with the same trainable groups and rates, as 'epochs 1-2: head 1e-3'."""
    out, start = [], 0
    for e in range(1, len(sched) + 1):
        if e == len(sched) or sched[e] != sched[start]:
            in_order = sorted(sched[start].items(), key=lambda kv: groups.index(kv[0]))
            what = ", ".join(f"{g} {lr_text(lr)}" for g, lr in in_order)
            span = f"epoch {start + 1}" if e == start + 1 else f"epochs {start + 1}-{e}"
            out.append(f"{span}: {what}")
            start = e
    return out


def _describe_timeline() -> str:
    parts = []
    for pid in TIMELINE_PRESETS:
        groups, sched = preset_schedule(pid)
        parts.append(f"{PRESETS[pid].title}: " + "; ".join(_spans(groups, sched)) + "; every other group frozen.")
    return " ".join(parts)


def _describe_grid() -> str:
    return " ".join(
        f"{c.data.capitalize()} dataset, {SIMILARITY[c.similarity]}: {c.advice.replace('<br>', ' ')}."
        for c in WHICH_LAYERS
    )


def _describe_curves() -> str:
    parts = []
    for c in load_curves():
        first, last = c["epochs"][0], c["epochs"][-1]
        best = min(c["epochs"], key=lambda e: e["val_loss"])
        parts.append(
            f"{c['name'].capitalize()} ({c['preset']} preset, {len(c['epochs'])} epochs): training loss "
            f"{first['train_loss']:.2f} to {last['train_loss']:.2f}, validation loss {first['val_loss']:.2f} "
            f"to {last['val_loss']:.2f} (lowest {best['val_loss']:.2f} at epoch {best['epoch']}); final "
            f"accuracy {100 * last['train_acc']:.0f}% on training and {100 * last['val_acc']:.0f}% on "
            f"validation images."
        )
    return " ".join(parts)


DESCRIBE = {
    "gradient-flow": _describe_flow,
    "batchnorm-modes": _describe_bn,
    "batchnorm-stats": _describe_bn_stats,
    "unfreeze-timeline": _describe_timeline,
    "which-layers-grid": _describe_grid,
    "curve-shapes": _describe_curves,
    "stem-filters": describe_stem_filters,
}


def describe(kind: str) -> str:
    """The numbers a diagram of `kind` shows, in sentences (its text alternative)."""
    if kind not in DESCRIBE:
        raise KeyError(f"unknown diagram kind {kind!r}; use one of {', '.join(FIGURE_KINDS)}")
    return DESCRIBE[kind]()
