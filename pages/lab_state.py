"""The Lab's setup as state: widget keys and defaults, TrainConfig <-> widgets <-> URL query.

A TrainConfig is the one canonical form. Presets and shared links are turned into widget state
(`apply_config`); the widgets are read back into a TrainConfig (`config_from_state`); the config is
mirrored into the URL (`config_to_query`) so a teacher can share the exact setup. Query parameters
come from strangers' links, so `config_from_query` never raises: each value it cannot use is named
in a list of ignored parameters and the page warns about it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

from core import models
from core.data import DATASETS
from core.engine import OPTIMIZERS, TrainConfig
from core.presets import PRESETS

UPLOAD = "upload"  # the dataset choice for a learner's own zip of class folders
LR_STEPS = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0]
WD_STEPS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]
SIZES = [32, 48, 64, 96, 128, 160, 224]
BATCH_SIZES = [4, 8, 16, 32, 64, 128]
MAX_EPOCHS = 30
MAX_PER_CLASS = 500

# The lab's starting point: the demos' base (MNIST, 20 per class, 64 px), last two stages + head.
DEFAULT = TrainConfig(dataset="mnist", per_class=20, val_per_class=30, image_size=64, epochs=8)

# Widget keys that are not per-group (browser tests rely on these names).
K_DATASET, K_PER_CLASS, K_VAL, K_SIZE, K_MODEL = "lab_dataset", "lab_per_class", "lab_val_per_class", "lab_size", "lab_model"
K_PRETRAINED, K_SEED, K_LR, K_DISC, K_OPT = "lab_pretrained", "lab_seed", "lab_lr", "lab_discriminative", "lab_optimizer"
K_WD, K_EPOCHS, K_BATCH, K_AUG, K_PATIENCE = "lab_wd", "lab_epochs", "lab_batch", "lab_augment", "lab_patience"
K_BN, K_GRADUAL, K_EVERY, K_LASTK, K_PRESET = "lab_bn_eval", "lab_gradual", "lab_gradual_every", "lab_lastk", "lab_preset"
K_PRESENTER = "lab_presenter"
SAVED = "_lab_saved_setup"  # copy of the widget values: widget state is dropped on a page change
LAST_QUERY = "_lab_last_query"  # the query this page last wrote into the address bar
NONE = "none"  # a link's value for an empty group list, schedule or per-group rates
MODE, PROJECTOR = "mode", "projector"  # ?mode=projector: a teacher's link opens in projector mode


@lru_cache(maxsize=None)
def _group_names(model_name: str) -> tuple[str, ...]:
    return tuple(models.group_names(model_name))  # builds an empty model: worth caching


def groups_of(model_name: str) -> list[str]:
    return list(_group_names(model_name))


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
    return min(LR_STEPS, key=lambda v: abs(math.log10(v) - math.log10(lr)))


def snap(value, steps):
    return min(steps, key=lambda v: abs(v - value))


# ---- config -> widget state ------------------------------------------------------------------------

def apply_config(ss, cfg: TrainConfig) -> None:
    """Write a config into the widget keys (call before the widgets are drawn, or in a callback)."""
    ss[K_DATASET] = cfg.dataset if cfg.dataset in DATASETS else ss.get(K_DATASET, DEFAULT.dataset)
    ss[K_PER_CLASS] = int(min(max(1, cfg.per_class), MAX_PER_CLASS))
    ss[K_VAL] = int(min(max(1, cfg.val_per_class), 200))
    ss[K_SIZE] = snap(cfg.image_size, SIZES)
    ss[K_MODEL] = cfg.model
    ss[K_PRETRAINED] = bool(cfg.pretrained)
    ss[K_SEED] = int(cfg.seed)
    ss[K_LR] = snap_lr(cfg.lr)
    ss[K_OPT] = cfg.optimizer
    ss[K_WD] = snap(cfg.weight_decay, WD_STEPS)
    ss[K_EPOCHS] = int(min(max(1, cfg.epochs), MAX_EPOCHS))
    ss[K_BATCH] = snap(cfg.batch_size, BATCH_SIZES)
    ss[K_AUG] = bool(cfg.augment)
    ss[K_PATIENCE] = int(cfg.early_stopping)
    ss[K_BN] = bool(cfg.frozen_bn_eval)
    groups = groups_of(cfg.model)
    opened = set(cfg.trainable) | {g for gs in cfg.unfreeze_at.values() for g in gs}
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
        apply_config(fresh, DEFAULT)
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


SETUP_KEYS = (K_DATASET, K_PER_CLASS, K_VAL, K_SIZE, K_MODEL, K_PRETRAINED, K_SEED, K_LR, K_DISC, K_OPT, K_WD,
              K_EPOCHS, K_BATCH, K_AUG, K_PATIENCE, K_BN, K_GRADUAL, K_EVERY, K_LASTK, K_PRESET, K_PRESENTER)


def _is_setup_key(k) -> bool:
    """Only the form's value widgets. A whitelist: restoring a button's (or chart's) key raises."""
    if k in SETUP_KEYS or (isinstance(k, str) and k.startswith("lab_group_")):
        return True
    return isinstance(k, str) and k.startswith("lab_lr_") and k[len("lab_lr_"):] in _all_group_names()


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
        group_lr = {g: float(ss[group_lr_key(g)]) for g in selected_groups(ss)
                    if float(ss[group_lr_key(g)]) != float(ss[K_LR])}
    return TrainConfig(
        model=ss[K_MODEL], pretrained=bool(ss[K_PRETRAINED]), dataset=ss[K_DATASET],
        per_class=int(ss[K_PER_CLASS]), val_per_class=int(ss[K_VAL]), image_size=int(ss[K_SIZE]),
        trainable=tuple(g for g in groups if g in plan.get(1, [])),
        unfreeze_at={e: tuple(gs) for e, gs in sorted(plan.items()) if 1 < e <= epochs},
        lr=float(ss[K_LR]), group_lr=group_lr, optimizer=ss[K_OPT], weight_decay=float(ss[K_WD]),
        epochs=epochs, batch_size=int(ss[K_BATCH]), augment=bool(ss[K_AUG]),
        early_stopping=int(ss[K_PATIENCE]), seed=int(ss[K_SEED]), frozen_bn_eval=bool(ss[K_BN]),
    )


# ---- URL query --------------------------------------------------------------------------------------

def _fmt(v: float) -> str:
    return f"{v:g}"


def link_base(preset: str = "") -> TrainConfig:
    """What a link's other parameters are read against: the preset it names, else the lab's defaults."""
    return PRESETS[preset].config if preset in PRESETS else DEFAULT


def config_to_query(cfg: TrainConfig, preset: str = "") -> dict[str, str]:
    """Every setting that differs from the link's base (the preset it names, else the defaults), so
    the link opens exactly this setup and a default setup has a clean URL. Diffing against the
    defaults while reading against the preset lost a freeze change made after picking a preset
    (issue 10: "Last k blocks" after "Pretrained vs from scratch" opened with all 8 groups)."""
    base, q = link_base(preset), {}
    if preset in PRESETS:
        q["preset"] = preset
    simple = [("dataset", cfg.dataset, base.dataset), ("per_class", cfg.per_class, base.per_class),
              ("val_per_class", cfg.val_per_class, base.val_per_class), ("size", cfg.image_size, base.image_size),
              ("model", cfg.model, base.model), ("epochs", cfg.epochs, base.epochs),
              ("batch", cfg.batch_size, base.batch_size), ("opt", cfg.optimizer, base.optimizer),
              ("patience", cfg.early_stopping, base.early_stopping), ("seed", cfg.seed, base.seed)]
    for name, v, d in simple:
        if v != d and not (name == "dataset" and v == UPLOAD):
            q[name] = str(v)
    for name, v, d in [("lr", cfg.lr, base.lr), ("wd", cfg.weight_decay, base.weight_decay)]:
        if v != d:
            q[name] = _fmt(v)
    for name, v, d in [("pretrained", cfg.pretrained, base.pretrained), ("augment", cfg.augment, base.augment),
                       ("bn_eval", cfg.frozen_bn_eval, base.frozen_bn_eval)]:
        if v != d:
            q[name] = "1" if v else "0"
    other_model = cfg.model != base.model  # the reader then drops the base's groups: say them all
    if other_model or tuple(cfg.trainable) != tuple(base.trainable):
        q["train"] = ",".join(cfg.trainable) or NONE
    if other_model or cfg.unfreeze_at != base.unfreeze_at:
        q["unfreeze"] = ";".join(f"{e}:{','.join(gs)}" for e, gs in sorted(cfg.unfreeze_at.items())) or NONE
    if other_model or cfg.group_lr != base.group_lr:
        q["group_lr"] = ",".join(f"{g}:{_fmt(v)}" for g, v in cfg.group_lr.items()) or NONE
    return {k: v for k, v in q.items() if not (other_model and v == NONE and k != "train")}


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


CHANGE_LABELS = {"model": "model", "pretrained": "pretrained", "dataset": "dataset", "per_class": "images per class",
                 "val_per_class": "validation images per class", "image_size": "input size",
                 "trainable": "trainable groups", "unfreeze_at": "unfreezing schedule", "lr": "learning rate",
                 "group_lr": "per-group learning rates", "optimizer": "optimizer", "weight_decay": "weight decay",
                 "epochs": "epochs", "batch_size": "batch size", "augment": "augmentation",
                 "early_stopping": "early stopping patience", "seed": "seed", "frozen_bn_eval": "frozen BatchNorm in eval mode"}


def _show(v) -> str:
    if isinstance(v, tuple):
        return ", ".join(v) or "none"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_show(x) if isinstance(x, tuple) else f'{x:g}'}" for k, x in sorted(v.items())) or "none"
    if isinstance(v, float):
        return _fmt(v)
    return str(v)


def describe_changes(old: TrainConfig, new: TrainConfig) -> list[str]:
    """What a loaded link changed in the form, in words ("learning rate 0.001 → 0.1")."""
    return [f"{label} {_show(getattr(old, name))} → {_show(getattr(new, name))}"
            for name, label in CHANGE_LABELS.items() if getattr(old, name) != getattr(new, name)]


def _int_in(text: str, lo: int, hi: int) -> int:
    v = int(text)
    if not lo <= v <= hi:
        raise ValueError(f"must be between {lo} and {hi}")
    return v


def _lr(text: str) -> float:
    v = float(text)
    if not (math.isfinite(v) and 0 < v <= 1):
        raise ValueError("must be a number between 1e-5 and 1")
    return v


def _flag(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0")


def _choice(text: str, options) -> str:
    if text not in options:
        raise ValueError(f"is not one of {', '.join(options)}")
    return text


def config_from_query(params: dict[str, str]) -> tuple[TrainConfig | None, str, list[str]]:
    """(config or None when no setup parameter was given, preset id or '', ignored-parameter notes).
    A preset is the base; other parameters override it. Never raises."""
    ignored: list[str] = []
    preset = params.get("preset", "")
    cfg = DEFAULT
    if preset:
        if preset in PRESETS:
            cfg = PRESETS[preset].config
        else:
            ignored.append(f"preset={preset!r} (no such preset; choose one of {', '.join(PRESETS)})")
            preset = ""
    model = params.get("model", cfg.model)
    try:
        model = _choice(model, list(models.BACKBONES))
    except ValueError as exc:
        ignored.append(f"model={model!r} ({exc})")
        model = cfg.model
    groups = groups_of(model)
    fields = {
        "dataset": ("dataset", lambda t: _choice(t, list(DATASETS))),
        "per_class": ("per_class", lambda t: _int_in(t, 1, MAX_PER_CLASS)),
        "val_per_class": ("val_per_class", lambda t: _int_in(t, 1, 200)),
        "size": ("image_size", lambda t: _int_in(t, 16, 512)),
        "epochs": ("epochs", lambda t: _int_in(t, 1, MAX_EPOCHS)),
        "batch": ("batch_size", lambda t: _int_in(t, 1, 512)),
        "opt": ("optimizer", lambda t: _choice(t, list(OPTIMIZERS))),
        "patience": ("early_stopping", lambda t: _int_in(t, 0, 50)),
        "seed": ("seed", lambda t: _int_in(t, 0, 2**31 - 1)),
        "lr": ("lr", _lr),
        "wd": ("weight_decay", lambda t: _wd(t)),
        "pretrained": ("pretrained", _flag),
        "augment": ("augment", _flag),
        "bn_eval": ("frozen_bn_eval", _flag),
        "train": ("trainable", lambda t: _groups(t, groups)),
        "unfreeze": ("unfreeze_at", lambda t: _unfreeze(t, groups)),
        "group_lr": ("group_lr", lambda t: _group_lr(t, groups)),
    }
    changes: dict = {"model": model}
    if model != cfg.model:  # the preset's groups may not exist in the other model
        changes.update(trainable=tuple(g for g in cfg.trainable if g in groups) or (models.HEAD,),
                       unfreeze_at={}, group_lr={})
    for name, text in params.items():
        if name in ("preset", "model"):
            continue
        if name not in fields:
            ignored.append(f"{name} (not a lab setting)")
            continue
        attr, parse = fields[name]
        try:
            changes[attr] = parse(text)
        except (ValueError, TypeError) as exc:
            ignored.append(f"{name}={text!r} ({exc})")
    given = bool(preset) or any(k in fields or k == "model" for k in params)
    cfg = replace(cfg, **changes)
    if cfg.unfreeze_at and any(int(e) > cfg.epochs for e in cfg.unfreeze_at):
        ignored.append("unfreeze (epochs beyond the run's length were dropped)")
        cfg = replace(cfg, unfreeze_at={e: g for e, g in cfg.unfreeze_at.items() if e <= cfg.epochs})
    return (cfg if given else None), preset, ignored


def _wd(text: str) -> float:
    v = float(text)
    if not (math.isfinite(v) and 0 <= v <= 1):
        raise ValueError("must be between 0 and 1")
    return v


def _groups(text: str, groups: list[str]) -> tuple[str, ...]:
    if text == NONE:
        return ()
    names = [t for t in text.split(",") if t]
    bad = [n for n in names if n not in groups]
    if bad:
        raise ValueError(f"unknown group(s) {', '.join(bad)}")
    return tuple(g for g in groups if g in names)


def _unfreeze(text: str, groups: list[str]) -> dict[int, tuple[str, ...]]:
    out = {}
    for part in filter(None, text.split(";") if text != NONE else []):
        epoch, _, names = part.partition(":")
        out[_int_in(epoch, 1, MAX_EPOCHS)] = _groups(names, groups)
    return out


def _group_lr(text: str, groups: list[str]) -> dict[str, float]:
    out = {}
    for part in filter(None, text.split(",") if text != NONE else []):
        g, _, v = part.partition(":")
        if g not in groups:
            raise ValueError(f"unknown group {g}")
        out[g] = _lr(v)
    return out
