"""A Lab setup as a link: TrainConfig <-> URL query, what a link changed in words, the nearest value a
control can show, and the gradual-unfreezing plan.

Query parameters come from strangers' links, so `config_from_query` never raises: each value it
cannot use is named in a list of ignored parameters. Names, text forms, limits and labels are read
from each field's declaration in core.train.config; only the groups (a toggle and a rate per group, the
gradual plan) are translated here by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

from core.data.datasets import DATASETS
from core.lab.presets import PRESETS
from core.models import backbones as models
from core.train import schedules
from core.train.config import GROUP_KINDS, LAB_DEFAULT, NONE, SPECS, TYPES, TrainConfig
from core.train.config_text import format_value, parse_text

UPLOAD = "upload"  # the dataset choice for a learner's own zip of class folders


def groups_of(model_name: str) -> list[str]:
    return models.group_names(model_name)


def unfreeze_plan(chosen: list[str], gradual: bool, every: int) -> dict[int, list[str]]:
    """Epoch (1-based) -> groups that open then. Without gradual unfreezing all open at epoch 1.
    Gradual: the last chosen group (normally the head) first, then one more, going back towards
    the input, every `every` epochs; groups planned after the last epoch never open."""
    if not gradual or len(chosen) < 2:
        return {1: list(chosen)} if chosen else {}
    every = max(1, int(every))
    out: dict[int, list[str]] = {}
    for i, g in enumerate(reversed(chosen)):
        out.setdefault(1 + i * every, []).append(g)
    return out


def snap_lr(lr: float) -> float:
    """The LR slider's step nearest to `lr` on a log scale (presets and the finder give any value)."""
    return to_widget("lr", lr)


def to_widget(name: str, value):
    """A field's value as its widget can hold it: the nearest step, or clamped to the Lab's range."""
    spec, kind = SPECS[name], TYPES[name]
    if kind is bool:
        return bool(value)
    if spec.steps:
        far = (lambda v: abs(math.log10(v) - math.log10(value))) if spec.log else (lambda v: abs(v - value))
        return min(spec.steps, key=far)
    if kind is int:
        lo, hi = spec.lab_range()
        return int(min(max(lo, value), hi))
    return value


def link_base(preset: str = "") -> TrainConfig:
    """What a link's other parameters are read against: the preset it names, else the lab's defaults."""
    return PRESETS[preset].config if preset in PRESETS else LAB_DEFAULT


def config_to_query(cfg: TrainConfig, preset: str = "") -> dict[str, str]:
    """Every setting that differs from the link's base (the preset it names, else the defaults), so
    the link opens exactly this setup and a default setup has a clean URL. Diffing against the
    defaults while reading against the preset lost a freeze change made after picking a preset
    (issue 10: "Last k blocks" after "Pretrained vs from scratch" opened with all 8 groups)."""
    base, q = link_base(preset), {}
    if preset in PRESETS:
        q["preset"] = preset
    other_model = cfg.model != base.model  # the reader then drops the base's groups: say them all
    for name, spec in SPECS.items():
        value = getattr(cfg, name)
        if not spec.url or (name == "dataset" and value == UPLOAD):
            continue
        if value != getattr(base, name) or (other_model and TYPES[name] in GROUP_KINDS):
            q[spec.url] = format_value(name, value)
    return {k: v for k, v in q.items() if not (other_model and v == NONE and k != SPECS["trainable"].url)}


def is_new_link(params: dict[str, str], last: dict[str, str] | None, written=(), arrived: bool = False) -> bool:
    """True when the address carries a setup this page did not write itself: a shared link, or a
    lesson's "Try it in the lab" link followed after an earlier Lab visit (`arrived`: this run came
    from another page, so even an address the Lab once wrote is a link followed again).

    Why `written`: a rerun carries the address the browser had when it asked for the rerun. A key
    pressed while the page was still writing its previous value into the address sends the address
    before that write; read as a link, it put an older value back into the control (keys pressed
    0.15 s apart left the slider, the address and the run disagreeing). An address this page wrote
    itself is never a link, unless the learner arrives with it from another page."""
    if not params or params == (last or {}):
        return False
    return arrived or params not in list(written)


CHANGE_LABELS = {name: spec.label for name, spec in SPECS.items() if spec.url}  # the form's settings


def _show(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, tuple):
        return ", ".join(v) or "none"
    if isinstance(v, dict):
        return (
            "; ".join(f"{k}: {_show(x) if isinstance(x, tuple) else f'{x:g}'}" for k, x in sorted(v.items())) or "none"
        )
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def describe_changes(
    old: TrainConfig, new: TrainConfig, base: TrainConfig | None = None, base_name: str = "the preset"
) -> list[str]:
    """What a loaded link changed in the form, in words ("learning rate 0.001 → 0.1"). Where the link
    also departs from its base (`base`, named `base_name`), that is said too, so "epochs 8 → 9" for
    a preset of 10 epochs cannot read as the preset's own value."""
    out = []
    for name, label in CHANGE_LABELS.items():
        was, now = getattr(old, name), getattr(new, name)
        if was == now:
            continue
        text = f"{label} {_show(was)} → {_show(now)}"
        if base is not None and getattr(base, name) not in (was, now):
            text += f" ({base_name} has {_show(getattr(base, name))}; the link set {_show(now)})"
        out.append(text)
    return out


def rounding_notes(cfg: TrainConfig) -> list[str]:
    """The link's values that no control can show, each with the step the form moves it to and why
    (a control shows only its steps, and the Lab trains what the form shows)."""
    notes = []
    for name, spec in SPECS.items():
        if spec.widget not in ("steps", "slider", "number"):
            continue
        value = getattr(cfg, name)
        shown = to_widget(name, value)
        if shown != value:
            notes.append(
                f"{spec.label} {_show(value)} is not one of the control's steps: set to the nearest, {_show(shown)}"
            )
    for group, value in sorted(cfg.group_lr.items()):
        if snap_lr(value) != value:
            notes.append(
                f"the learning rate of {group}, {_show(value)}, is not one of the control's steps: "
                f"set to the nearest, {_show(snap_lr(value))}"
            )
    return notes


def describe_run(cfg: TrainConfig, short: bool = False) -> str:
    """The run's setup in one Markdown line: what the Lab shows in place of the form while it trains.
    `short`: what the class watches in projector mode (the layers, the rate, the epochs), one line at
    1024x768 so the live chart fits below it."""
    data = DATASETS[cfg.dataset].title if cfg.dataset in DATASETS else "your uploaded images"
    model = models.BACKBONES[cfg.model].label if cfg.model in models.BACKBONES else cfg.model
    groups = _show(cfg.trainable) + "".join(
        f"; from epoch {e}: {_show(gs)}" for e, gs in sorted(cfg.unfreeze_at.items())
    )
    rates = f"learning rate {cfg.lr:g}" + (f" ({_show(cfg.group_lr)})" if cfg.group_lr else "")
    epochs = f"{cfg.epochs} epoch{'' if cfg.epochs == 1 else 's'}"
    if short:
        return f"training **{groups}** · {rates} · {epochs}"
    return (
        f"**{model}** ({'pretrained' if cfg.pretrained else 'from scratch'}) on **{data}**, {cfg.per_class} "
        f"images per class at {cfg.image_size} px · training **{groups}** · {rates} with {cfg.optimizer}, "
        f"schedule: {schedules.describe(cfg)} · {epochs} of batch {cfg.batch_size}"
        + (" · augmented" if cfg.augment else "")
    )


def config_from_query(params: dict[str, str]) -> tuple[TrainConfig | None, str, list[str]]:
    """(config or None when no setup parameter was given, preset id or '', ignored-parameter notes).
    A preset is the base; other parameters override it, each held to what the Lab can show. Never raises."""
    ignored: list[str] = []
    preset = params.get("preset", "")
    cfg = LAB_DEFAULT
    if preset:
        if preset in PRESETS:
            cfg = PRESETS[preset].config
        else:
            ignored.append(f"preset={preset!r} (no such preset; choose one of {', '.join(PRESETS)})")
            preset = ""
    model = params.get("model", cfg.model)
    try:
        model = parse_text("model", model, lab=True)
    except ValueError as exc:
        ignored.append(f"model={model!r} ({exc})")
        model = cfg.model
    groups = groups_of(model)
    changes: dict = {"model": model}
    if model != cfg.model:  # the preset's groups may not exist in the other model
        changes.update(
            trainable=tuple(g for g in cfg.trainable if g in groups) or (models.HEAD,), unfreeze_at={}, group_lr={}
        )
    for key, text in params.items():
        if key in ("preset", "model"):
            continue
        if key not in BY_URL:
            ignored.append(f"{key} (not a lab setting)")
            continue
        try:
            changes[BY_URL[key]] = parse_text(BY_URL[key], text, groups, lab=True)
        except (ValueError, TypeError) as exc:
            ignored.append(f"{key}={text!r} ({exc})")
    given = bool(preset) or any(k in BY_URL for k in params)
    cfg = replace(cfg, **changes)
    if cfg.unfreeze_at and any(int(e) > cfg.epochs for e in cfg.unfreeze_at):
        ignored.append("unfreeze (epochs beyond the run's length were dropped)")
        cfg = replace(cfg, unfreeze_at={e: g for e, g in cfg.unfreeze_at.items() if e <= cfg.epochs})
    return (cfg if given else None), preset, ignored


BY_URL = {spec.url: name for name, spec in SPECS.items() if spec.url}  # query parameter -> field
