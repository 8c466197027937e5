"""The training config, declared once: each field's type, limits, help, link name, CLI flag and widget.

The same knowledge used to be written four times (engine validation, the Lab's widgets, shared
links, the command line) and drifted apart: 200 epochs in the engine but 30 in links, a link's
learning-rate message naming a range it did not check, a CLI optimizer list of its own. Now each
field carries a `Spec` in its dataclass metadata and the rest is generated from it:
`TrainConfig.validate`, the text form that links and the command line share (`parse_text`,
`format_value`), the CLI arguments (core.cli) and the Lab's widget ranges and help (ui.lab.state,
ui.lab.setup). Where the Lab offers less than the engine accepts (30 of 200 epochs), the Spec says
both, and a link accepts what the Lab can show.

A frozen dataclass rather than pydantic: a config is built freely and checked when a run starts (a
queued job with a bad setting fails with the learner-facing message, not at construction), every
message keeps our wording, and frozen dataclasses are how this project's registries are written.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.data.names import DATASET_NAMES
from core.errors import LearnerError
from core.models import names as models
from core.train import freezing, schedules

OPTIMIZERS = ("adam", "adamw", "sgd")
NONE = "none"  # the text of an empty group list, schedule or set of per-group rates
ALL = "all"  # every group of the model


class ConfigError(LearnerError, ValueError):
    """A setting the engine cannot run with; the message says which and what to use instead."""


@dataclass(frozen=True)
class Spec:
    """Everything about one setting except its type and default (those are the field's)."""

    label: str  # in messages ("Epochs must be ...") and in what a link changed
    help: str = ""  # the CLI's --help and the Lab widget's tooltip
    url: str | None = None  # query parameter of a shared link; None: the Lab does not set it
    cli: tuple[str, ...] = ()  # command-line flag; a switch has two: (on, off)
    widget: str | None = None  # the Lab's control: number | slider | steps | toggle | select | groups
    lo: float | None = None  # the engine's limits
    hi: float | None = None
    above_lo: bool = False  # lo itself is refused (a learning rate of 0)
    ui_max: float | None = None  # the Lab offers less than the engine accepts
    steps: tuple = ()  # a stepped widget's values; the Lab's range is steps[0]..steps[-1]
    log: bool = False  # snap to the nearest step on a log scale
    choices: Callable[[], Sequence[str]] | None = None
    checked_at_load: bool = False  # the choice is checked where it is used, not by validate()
    hint: str = ""  # what to use instead, after the generic message
    too_low: str = ""  # message templates where the generic wording does not fit
    too_high: str = ""

    def lab_range(self) -> tuple[float | None, float | None]:
        """What the Lab can show, so what a link may carry."""
        if self.steps:
            return self.steps[0], self.steps[-1]
        return self.lo, self.ui_max if self.ui_max is not None else self.hi


def setting(default, label: str, **spec):
    """A config field with its Spec; a mutable default (dict) is given as its factory."""
    meta = {"spec": Spec(label, **spec)}
    if default is dict:
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


LR_STEPS = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0)
# A rate above 10 diverges at once on any network; the Lab stops at 1, enough to show divergence.
_RATE = dict(
    lo=0,
    above_lo=True,
    hi=10,
    steps=LR_STEPS,
    log=True,
    too_low="The {label} must be a positive number (got {value}). Fine-tuning usually works with 1e-4 to 1e-3.",
    too_high="The {label} {value} is far too large: any network diverges at once. Use at most "
    "{lab_hi}; 1e-3 is a good start.",
)
_EPOCHS = dict(lo=1, hi=200, ui_max=30)  # the Lab runs short fine-tunes; scripts may run long ones


@dataclass(frozen=True)
class TrainConfig:
    """One fine-tune's settings. Frozen: derive a changed copy with dataclasses.replace."""

    model: str = setting(
        models.DEFAULT_BACKBONE,
        "model",
        url="model",
        cli=("--model",),
        widget="select",
        choices=lambda: models.BACKBONE_NAMES,
        help="the network to start from",
    )
    pretrained: bool = setting(
        True,
        "pretrained",
        url="pretrained",
        cli=("--pretrained", "--scratch"),
        widget="toggle",
        help="Start from ImageNet weights. Off: the same network with random weights, trained from scratch.",
    )
    dataset: str = setting(
        "mnist",
        "dataset",
        url="dataset",
        cli=("--dataset",),
        widget="select",
        choices=lambda: DATASET_NAMES,
        checked_at_load=True,  # own images: any name
        help="the images to fine-tune on",
    )
    per_class: int = setting(
        20,
        "images per class",
        url="per_class",
        cli=("--per-class",),
        widget="number",
        lo=1,
        ui_max=500,
        help="Fine-tuning shines with few images: try 5, 20 and 100.",
    )
    val_per_class: int = setting(
        50,
        "validation images per class",
        url="val_per_class",
        cli=("--val-per-class",),
        widget="number",
        lo=1,
        ui_max=200,
        help="Held out, never trained on: accuracy on these is the honest score.",
    )
    image_size: int = setting(
        64,
        "input size",
        url="size",
        cli=("--size",),
        widget="steps",
        lo=16,
        hi=512,
        steps=(32, 48, 64, 96, 128, 160, 224),
        hint="; 64 to 128 keeps a CPU run quick",
        help="The biggest lever on speed: time grows with the square of the size.",
    )
    trainable: tuple[str, ...] = setting(
        ("stage5", "stage6", "head"),
        "trainable groups",
        url="train",
        cli=("--trainable",),
        widget="groups",
        help="layer groups that train from epoch 1",
    )
    unfreeze_at: dict[int, tuple[str, ...]] = setting(
        dict,
        "unfreezing schedule",
        url="unfreeze",
        cli=("--unfreeze",),
        widget="groups",
        **_EPOCHS,
        help="groups that open at a later epoch (1-based)",
    )
    lr: float = setting(
        1e-3,
        "learning rate",
        url="lr",
        cli=("--lr",),
        widget="steps",
        **_RATE,
        help="Log scale. Fine-tuning usually wants 1e-4 to 1e-3; 1e-1 wrecks pretrained features.",
    )
    group_lr: dict[str, float] = setting(
        dict,
        "per-group learning rates",
        url="group_lr",
        cli=("--group-lr",),
        widget="groups",
        **_RATE,
        help="Smaller rates for early, general layers; larger for the new head.",
    )
    schedule: str = setting(
        schedules.DEFAULT,
        "learning-rate schedule",
        url="sched",
        cli=("--schedule",),
        widget="select",
        choices=lambda: tuple(schedules.SCHEDULES),
        help=f"How the rate moves during the run; the learning rate is its peak. Cosine "
        f"falls to {schedules.FLOOR:.0%} of it, one-cycle climbs to it and then anneals.",
    )
    warmup: float = setting(
        0.0,
        "warm-up",
        url="warmup",
        cli=("--warmup",),
        widget="steps",
        lo=0,
        hi=0.5,
        steps=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
        help="Share of the run's steps in which the rate rises from 1/25 of the peak to "
        "the peak: gentle first steps for a random new head. One-cycle needs one "
        "(0.3 is usual).",
    )
    optimizer: str = setting(
        "adam",
        "optimizer",
        url="opt",
        cli=("--optimizer",),
        widget="select",
        choices=lambda: OPTIMIZERS,
        help="how the gradients update the weights",
    )
    momentum: float = setting(0.9, "momentum", cli=("--momentum",), lo=0, hi=1, help="SGD's momentum")
    weight_decay: float = setting(
        0.0,
        "weight decay",
        url="wd",
        cli=("--weight-decay",),
        widget="steps",
        lo=0,
        hi=1,
        steps=(0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1),
        help="pulls weights towards zero a little at every step",
    )
    epochs: int = setting(
        8,
        "epochs",
        url="epochs",
        cli=("--epochs",),
        widget="slider",
        **_EPOCHS,
        hint="; 5 to 10 suit a short fine-tune",
        help="passes over the training images",
    )
    batch_size: int = setting(
        32,
        "batch size",
        url="batch",
        cli=("--batch-size",),
        widget="steps",
        lo=1,
        steps=(4, 8, 16, 32, 64, 128),
        hint="; 32 is a good default",
        help="images per optimizer step",
    )
    augment: bool = setting(
        False,
        "augmentation",
        url="augment",
        cli=("--augment", "--no-augment"),
        widget="toggle",
        help="random shifts, flips and lighting on training images",
    )
    early_stopping: int = setting(
        0,
        "early stopping patience",
        url="patience",
        cli=("--early-stopping",),
        widget="number",
        lo=0,
        ui_max=20,
        hint="; 0 turns it off",
        help="patience in epochs on validation loss (0 = off)",
    )
    seed: int = setting(
        0,
        "seed",
        url="seed",
        cli=("--seed",),
        widget="number",
        lo=0,
        hi=2**31 - 1,
        help="Same seed, same split and same start.",
    )
    device: str = setting("auto", "device", cli=("--device",), help="auto, cpu, cuda or mps")
    frozen_bn_eval: bool = setting(
        True,
        "frozen BatchNorm in eval mode",
        url="bn_eval",
        cli=("--bn-eval", "--bn-train"),
        widget="toggle",
        help="Keep frozen groups' BatchNorm in eval mode: requires_grad=False "
        "does not stop its running statistics; eval mode does.",
    )
    precise_bn: bool = setting(
        True,
        "precise BatchNorm",
        cli=("--precise-bn", "--no-precise-bn"),
        help="re-estimate trainable BatchNorm statistics before each evaluation",
    )
    use_cache: bool = setting(
        True,
        "frozen-prefix cache",
        cli=("--cache", "--no-cache"),
        help="compute frozen layers once per image when their output cannot change",
    )

    def validate(self) -> None:
        """Raise ConfigError naming the first setting the engine cannot run with, and what to use."""
        for f in fields(self):
            check(f.name, getattr(self, f.name))
        if freezing.nothing_trains(freezing.ever_trainable(self)):
            raise ConfigError(
                "Every layer group is frozen, the new head too, so nothing can learn. Unfreeze at least the head."
            )
        if schedules.SCHEDULES[self.schedule].needs_warmup and self.warmup <= 0:
            raise ConfigError(
                f"The {schedules.SCHEDULES[self.schedule].title} schedule climbs to its peak during "
                f"the warm-up, and the warm-up is 0. Give it a warm-up (0.3 is usual) or pick "
                f"cosine or constant."
            )
        bad_epochs = [e for e in self.unfreeze_at if not 1 <= int(e) <= self.epochs]
        if bad_epochs:
            raise ConfigError(f"Unfreezing is scheduled for epoch(s) {bad_epochs}, outside 1..{self.epochs}.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["trainable"] = list(self.trainable)
        d["unfreeze_at"] = {str(k): list(v) for k, v in self.unfreeze_at.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        if "trainable" in d:
            d["trainable"] = tuple(d["trainable"])
        if "unfreeze_at" in d:
            d["unfreeze_at"] = {int(k): tuple(v) for k, v in d["unfreeze_at"].items()}
        return cls(**{k: v for k, v in d.items() if k in SPECS})


SPECS: dict[str, Spec] = {f.name: f.metadata["spec"] for f in fields(TrainConfig)}
TYPES: dict[str, Any] = {f.name: f.type for f in fields(TrainConfig)}  # a class or a form: tuple[str, ...]
DEFAULTS: dict = {
    f.name: f.default_factory() if callable(f.default_factory) else f.default for f in fields(TrainConfig)
}
GROUP_KINDS = (tuple[str, ...], dict[int, tuple[str, ...]], dict[str, float])  # read against a model's groups

# The Lab's starting point: the demos' base (MNIST, 20 per class, 64 px), last two stages + head. Here, not
# in pages/, because the server's training workers warm up on it (core.jobs.workers) before the first Start.
LAB_DEFAULT = TrainConfig(dataset="mnist", per_class=20, val_per_class=30, image_size=64, epochs=8)


# ---- limits: one check for validation, links and the command line -------------------------------------


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _numbers(name: str, value) -> list[tuple[str, object]]:
    """(label, number) pairs a field's limits apply to: the value, a schedule's epochs, each group's rate."""
    spec, kind = SPECS[name], TYPES[name]
    if kind == dict[int, tuple[str, ...]]:
        return [(f"{spec.label} epoch", e) for e in value]
    if kind == dict[str, float]:
        return [(f"learning rate of {g}", v) for g, v in value.items()]
    return [(spec.label, value)] if kind in (int, float) else []


def out_of_range(spec: Spec, x, lab: bool = False) -> str:
    """'' when x is within the limits (the Lab's with lab=True), else 'low' or 'high'."""
    lo, hi = spec.lab_range() if lab else (spec.lo, spec.hi)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        return "low"
    if lo is not None and (x < lo or (x == lo and spec.above_lo and not lab)):
        return "low"
    return "high" if hi is not None and x > hi else ""


def reason(spec: Spec, lab: bool = False) -> str:
    """The short form a link's ignored-parameter note uses: 'must be between 1 and 30'."""
    lo, hi = spec.lab_range() if lab else (spec.lo, spec.hi)
    above = spec.above_lo and not lab
    if hi is None:
        return f"must be {'above' if above else 'at least'} {_num(lo)}"
    return f"must be above {_num(lo)} and at most {_num(hi)}" if above else f"must be between {_num(lo)} and {_num(hi)}"


def _message(spec: Spec, label: str, value, side: str) -> str:
    template = spec.too_low if side == "low" else spec.too_high
    if template:
        return template.format(label=label, value=_num(value), lab_hi=_num(spec.lab_range()[1]))
    return f"{label[:1].upper()}{label[1:]} {reason(spec)} (got {_num(value)}){spec.hint}."


def check(name: str, value) -> None:
    """Raise ConfigError when one field's value breaks its declared limits or choices."""
    spec = SPECS[name]
    for label, x in _numbers(name, value):
        side = out_of_range(spec, x)
        if side:
            raise ConfigError(_message(spec, label, x, side))
    if spec.choices and not spec.checked_at_load and value not in spec.choices():
        raise ConfigError(f"Unknown {spec.label} {value!r}; choose one of {', '.join(spec.choices())}.")
