"""The Lab's setup as state: widget keys and defaults, TrainConfig <-> widgets <-> URL query.

A TrainConfig is the one canonical form. Presets and shared links are turned into widget state
(`apply_config`); the widgets are read back into a TrainConfig (`config_from_state`); the config is
mirrored into the URL (`config_to_query`) so a teacher can share the exact setup. Query parameters
come from strangers' links, so `config_from_query` never raises: each value it cannot use is named
in a list of ignored parameters and the page warns about it. Names, text forms, limits and labels
are read from each field's declaration in core.train.config; only the groups (a toggle and a rate per
group, the gradual schedule) are translated here by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from core.data.datasets import DATASETS
from core.lab.presets import PRESETS
from core.models import backbones as models
from core.train import schedules
from core.train.config import GROUP_KINDS, LAB_DEFAULT, NONE, SPECS, TYPES, TrainConfig, format_value, parse_text
from core.train.freezing import ever_trainable

UPLOAD = "upload"  # the dataset choice for a learner's own zip of class folders
LR_STEPS = list(SPECS["lr"].steps)

# Widget keys that are not per-group (browser tests rely on these names).
K_DATASET, K_PER_CLASS, K_VAL, K_SIZE, K_MODEL = (
    "lab_dataset",
    "lab_per_class",
    "lab_val_per_class",
    "lab_size",
    "lab_model",
)
K_PRETRAINED, K_SEED, K_LR, K_DISC, K_OPT = (
    "lab_pretrained",
    "lab_seed",
    "lab_lr",
    "lab_discriminative",
    "lab_optimizer",
)
K_WD, K_EPOCHS, K_BATCH, K_AUG, K_PATIENCE = "lab_wd", "lab_epochs", "lab_batch", "lab_augment", "lab_patience"
K_BN, K_GRADUAL, K_EVERY, K_LASTK, K_PRESET = (
    "lab_bn_eval",
    "lab_gradual",
    "lab_gradual_every",
    "lab_lastk",
    "lab_preset",
)
K_PRESENTER = "lab_presenter"
K_SCHED, K_WARMUP = "lab_schedule", "lab_warmup"
# The widget of each config field the form shows directly (the groups have one toggle and rate each).
KEYS = {
    "model": K_MODEL,
    "pretrained": K_PRETRAINED,
    "dataset": K_DATASET,
    "per_class": K_PER_CLASS,
    "val_per_class": K_VAL,
    "image_size": K_SIZE,
    "lr": K_LR,
    "optimizer": K_OPT,
    "weight_decay": K_WD,
    "epochs": K_EPOCHS,
    "batch_size": K_BATCH,
    "augment": K_AUG,
    "early_stopping": K_PATIENCE,
    "seed": K_SEED,
    "frozen_bn_eval": K_BN,
    "schedule": K_SCHED,
    "warmup": K_WARMUP,
}
SAVED = "_lab_saved_setup"  # copy of the widget values: widget state is dropped on a page change
LAST_QUERY = "_lab_last_query"  # the query this page last wrote into the address bar
MODE, PROJECTOR = "mode", "projector"  # ?mode=projector: a teacher's link opens in projector mode


def groups_of(model_name: str) -> list[str]:
    return models.group_names(model_name)


def group_key(group: str) -> str:
    return f"lab_group_{group}"


def group_lr_key(group: str) -> str:
    return f"lab_lr_{group}"


def dataset_choices() -> list[str]:
    """Registry datasets, the offline ones first (they work on any machine), then own images."""
    offline = [k for k, s in DATASETS.items() if s.offline]
    online = [k for k, s in DATASETS.items() if not s.offline]
    return offline + online + [UPLOAD]


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


# ---- config -> widget state ------------------------------------------------------------------------


def apply_config(ss, cfg: TrainConfig) -> None:
    """Write a config into the widget keys (call before the widgets are drawn, or in a callback)."""
    for name, key in KEYS.items():
        ss[key] = to_widget(name, getattr(cfg, name))
    ss[K_DATASET] = cfg.dataset if cfg.dataset in DATASETS else ss.get(K_DATASET, LAB_DEFAULT.dataset)
    groups = groups_of(cfg.model)
    opened = ever_trainable(cfg)
    for g in groups:
        ss[group_key(g)] = g in opened
    later = sorted(int(e) for e in cfg.unfreeze_at if int(e) > 1)
    ss[K_GRADUAL] = bool(later)
    if later:
        ss[K_EVERY] = max(1, later[0] - 1)
    ss[K_DISC] = bool(cfg.group_lr)
    for g in groups:
        ss[group_lr_key(g)] = snap_lr(cfg.group_lr.get(g, cfg.lr))


def init_state(ss) -> None:
    """Defaults for every key not set yet; restores the setup saved before a page change."""
    saved = ss.get(SAVED) or {}
    for k, v in saved.items():
        if k not in ss:
            ss[k] = v
    if K_MODEL not in ss:
        fresh: dict = {}
        apply_config(fresh, LAB_DEFAULT)
        for k, v in fresh.items():
            ss.setdefault(k, v)
    ss.setdefault(K_PRESET, "")
    ss.setdefault(K_LASTK, 2)
    ss.setdefault(K_EVERY, 2)
    ss.setdefault(K_PRESENTER, False)
    ensure_group_keys(ss)


def ensure_group_keys(ss) -> None:
    """After a model change: every group of the model gets a toggle and an LR (head on by default)."""
    for g in groups_of(ss[K_MODEL]):
        ss.setdefault(group_key(g), g == models.HEAD)
        ss.setdefault(group_lr_key(g), ss[K_LR])


SETUP_KEYS = (
    K_DATASET,
    K_PER_CLASS,
    K_VAL,
    K_SIZE,
    K_MODEL,
    K_PRETRAINED,
    K_SEED,
    K_LR,
    K_DISC,
    K_OPT,
    K_WD,
    K_EPOCHS,
    K_BATCH,
    K_AUG,
    K_PATIENCE,
    K_BN,
    K_GRADUAL,
    K_EVERY,
    K_LASTK,
    K_PRESET,
    K_PRESENTER,
    K_SCHED,
    K_WARMUP,
)


def _is_setup_key(k) -> bool:
    """Only the form's value widgets. A whitelist: restoring a button's (or chart's) key raises."""
    if k in SETUP_KEYS or (isinstance(k, str) and k.startswith("lab_group_")):
        return True
    return isinstance(k, str) and k.startswith("lab_lr_") and k[len("lab_lr_") :] in _all_group_names()


@lru_cache(maxsize=1)
def _all_group_names() -> frozenset[str]:
    return frozenset(g for m in models.BACKBONES for g in groups_of(m))


def save_state(ss) -> None:
    ss[SAVED] = {k: ss[k] for k in list(ss.keys()) if _is_setup_key(k)}


# ---- widget state -> config -------------------------------------------------------------------------


def selected_groups(ss) -> list[str]:
    return [g for g in groups_of(ss[K_MODEL]) if ss.get(group_key(g))]


def schedule(ss) -> dict[int, list[str]]:
    """Epoch (1-based) -> groups that open then. Without gradual unfreezing all open at epoch 1.
    Gradual: the last selected group (normally the head) first, then one more, going back towards
    the input, every `every` epochs; groups scheduled after the last epoch never open."""
    chosen = selected_groups(ss)
    if not ss.get(K_GRADUAL) or len(chosen) < 2:
        return {1: chosen} if chosen else {}
    every = max(1, int(ss.get(K_EVERY, 2)))
    out: dict[int, list[str]] = {}
    for i, g in enumerate(reversed(chosen)):
        out.setdefault(1 + i * every, []).append(g)
    return out


def config_from_state(ss) -> TrainConfig:
    plan = schedule(ss)
    epochs = int(ss[K_EPOCHS])
    groups = groups_of(ss[K_MODEL])
    group_lr = {}
    if ss.get(K_DISC):
        group_lr = {
            g: float(ss[group_lr_key(g)]) for g in selected_groups(ss) if float(ss[group_lr_key(g)]) != float(ss[K_LR])
        }
    return TrainConfig(
        **{name: TYPES[name](ss[key]) for name, key in KEYS.items()},
        trainable=tuple(g for g in groups if g in plan.get(1, [])),
        unfreeze_at={e: tuple(gs) for e, gs in sorted(plan.items()) if 1 < e <= epochs},
        group_lr=group_lr,
    )


# ---- URL query --------------------------------------------------------------------------------------


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


def is_new_link(params: dict[str, str], last: dict[str, str] | None) -> bool:
    """True when the address carries a setup this page did not write itself: a shared link, or a
    lesson's "Try it in the lab" link followed after an earlier Lab visit (which used to be ignored)."""
    return bool(params) and params != (last or {})


@dataclass
class LinkReport:
    """What opening a link did to the form, for the page to say (issue 10: it used to say nothing)."""

    preset: str = ""
    changes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    loaded: bool = False


def load_link(ss, params: dict[str, str]) -> LinkReport:
    """Apply a link's setup (and mode) to the widget state; call before the widgets are drawn."""
    params = dict(params)
    report = LinkReport()
    mode = params.pop(MODE, None)
    if mode == PROJECTOR:
        ss[K_PRESENTER] = True
    elif mode is not None:
        report.ignored.append(f"{MODE}={mode!r} (the only mode is '{PROJECTOR}')")
    before = config_from_state(ss)
    cfg, preset, ignored = config_from_query(params)
    report.ignored += ignored
    if cfg is not None:
        apply_config(ss, cfg)
        ss[K_PRESET] = preset
        report.preset, report.loaded = preset, True
        report.changes = describe_changes(before, config_from_state(ss))
    ss[LAST_QUERY] = dict(params, **({MODE: mode} if mode else {}))
    return report


def link_for(ss) -> dict[str, str]:
    """The address query for the form as it stands (even a setup that cannot start yet)."""
    try:
        q = config_to_query(config_from_state(ss), ss.get(K_PRESET) or "")
    except (KeyError, ValueError, TypeError):
        q = {}
    if ss.get(K_PRESENTER):
        q[MODE] = PROJECTOR
    return q


def mirror_to_url(ss, query_params) -> None:
    q = link_for(ss)
    if dict(query_params.to_dict()) != q:
        query_params.from_dict(q)
    ss[LAST_QUERY] = q


CHANGE_LABELS = {name: spec.label for name, spec in SPECS.items() if spec.url}  # the form's settings


def _show(v) -> str:
    if isinstance(v, tuple):
        return ", ".join(v) or "none"
    if isinstance(v, dict):
        return (
            "; ".join(f"{k}: {_show(x) if isinstance(x, tuple) else f'{x:g}'}" for k, x in sorted(v.items())) or "none"
        )
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def describe_changes(old: TrainConfig, new: TrainConfig) -> list[str]:
    """What a loaded link changed in the form, in words ("learning rate 0.001 → 0.1")."""
    return [
        f"{label} {_show(getattr(old, name))} → {_show(getattr(new, name))}"
        for name, label in CHANGE_LABELS.items()
        if getattr(old, name) != getattr(new, name)
    ]


def describe_run(cfg: TrainConfig) -> str:
    """The run's setup in one Markdown line: what the Lab shows in place of the form while it trains."""
    data = DATASETS[cfg.dataset].title if cfg.dataset in DATASETS else "your uploaded images"
    model = models.BACKBONES[cfg.model].label if cfg.model in models.BACKBONES else cfg.model
    groups = _show(cfg.trainable) + "".join(
        f"; from epoch {e}: {_show(gs)}" for e, gs in sorted(cfg.unfreeze_at.items())
    )
    rates = f"learning rate {cfg.lr:g}" + (f" ({_show(cfg.group_lr)})" if cfg.group_lr else "")
    return (
        f"**{model}** ({'pretrained' if cfg.pretrained else 'from scratch'}) on **{data}**, {cfg.per_class} "
        f"images per class at {cfg.image_size} px · training **{groups}** · {rates} with {cfg.optimizer}, "
        f"schedule: {schedules.describe(cfg)} · {cfg.epochs} epoch{'' if cfg.epochs == 1 else 's'} of batch {cfg.batch_size}"
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
