"""The Lab's setup as session state: widget keys and defaults, TrainConfig <-> widgets, and the link
in the address bar.

A TrainConfig is the one canonical form. Presets and shared links are written into widget state
(`apply_config`) and read back (`config_from_state`); the link itself is core.lab.links', so this
module only moves values between the config and the widgets' keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from core.data.datasets import DATASETS
from core.lab.links import (
    UPLOAD,
    config_from_query,
    config_to_query,
    describe_changes,
    groups_of,
    link_base,
    rounding_notes,
    snap_lr,
    to_widget,
    unfreeze_plan,
)
from core.models import backbones as models
from core.train.config import LAB_DEFAULT, SPECS, TYPES, TrainConfig
from core.train.freezing import ever_trainable

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
FORM_SHOWN = "_lab_form_shown"  # whether the page's last full run drew the setup form (not while a run trains)
LAST_QUERY = "_lab_last_query"  # the query this page last wrote into the address bar
WRITTEN = "_lab_written_queries"  # the queries this page wrote (or loaded) lately: never read back as links
WRITTEN_KEPT = 50
MODE, PROJECTOR = "mode", "projector"  # ?mode=projector: a teacher's link opens in projector mode


def group_key(group: str) -> str:
    return f"lab_group_{group}"


def group_lr_key(group: str) -> str:
    return f"lab_lr_{group}"


def dataset_choices() -> list[str]:
    """Registry datasets, the offline ones first (they work on any machine), then own images."""
    offline = [k for k, s in DATASETS.items() if s.offline]
    online = [k for k, s in DATASETS.items() if not s.offline]
    return offline + online + [UPLOAD]


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
    """Defaults for every key not set yet; restores the setup saved before a page change, or before a
    run hid the form (restore_hidden_form)."""
    saved = ss.get(SAVED) or {}
    for k, v in saved.items():
        if k not in ss:
            ss[k] = v
    if not ss.get(FORM_SHOWN, True):
        restore_hidden_form(ss, saved)
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


def restore_hidden_form(ss, saved: dict) -> None:
    """Write every saved setting back into its widget key, whether Streamlit still holds it or not.

    Why: a widget the page does not draw (the form, while a run trains) keeps its value for one more
    run at most, then Streamlit drops it. A value merely still held when the widget comes back is not
    sent to the browser, which redraws the widget at its own default (every slider at its minimum,
    every switch off) and sends that back with the next rerun: after a demo of two runs the whole
    setup fell to its minimums. A value written here, before the widget is drawn, is sent with it.
    The projector switch is drawn in every run, so the browser's own value of it stands."""
    for k, v in saved.items():
        if k != K_PRESENTER:
            ss[k] = v


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
    """Epoch (1-based) -> groups that open then, for the form's switches (core.lab.links.unfreeze_plan)."""
    return unfreeze_plan(selected_groups(ss), bool(ss.get(K_GRADUAL)), int(ss.get(K_EVERY, 2)))


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


@dataclass
class LinkReport:
    """What opening a link did to the form, for the page to say (issue 10: it used to say nothing)."""

    preset: str = ""
    changes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    loaded: bool = False
    rounded: list[str] = field(default_factory=list)  # link values moved to the nearest step a control shows


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
        base_name = "the preset" if preset else "the Lab's default"
        report.changes = describe_changes(before, config_from_state(ss), link_base(preset), base_name)
        report.rounded = rounding_notes(cfg)
    ss[LAST_QUERY] = dict(params, **({MODE: mode} if mode else {}))
    _remember_written(ss, ss[LAST_QUERY])
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
    _remember_written(ss, q)


def _remember_written(ss, query: dict[str, str]) -> None:
    kept = [w for w in ss.get(WRITTEN, []) if w != query]
    ss[WRITTEN] = (kept + [dict(query)])[-WRITTEN_KEPT:]
