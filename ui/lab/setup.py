"""The Lab's setup form: data, model, which layers train, learning rate, training settings.

Widgets read and write st.session_state under the keys of ui.lab.state (no `value=` arguments:
presets and shared links set the state before the widgets are drawn, or in callbacks). Everything a
learner changes is reflected at once in the parameter chart, the counts and the time estimate.
"""

from __future__ import annotations

import streamlit as st

from core.data.datasets import DATASETS, PreparedData
from core.errors import LearnerError
from core.jobs.manager import JobRefused
from core.lab import links
from core.lab.presets import PRESETS
from core.models.backbones import BACKBONES, HEAD
from core.runs.estimate import estimate_config, param_counts
from core.train import freezing
from core.train.config import SPECS, TrainConfig
from core.train.inputs import resolve_device
from core.train.schedules import SCHEDULES, moves, planned_rates, steps_per_epoch
from ui import common
from ui.common import chart_with_summary
from ui.lab import charts, live, rate_charts
from ui.lab import state as S
from ui.lab.data_setup import UPLOAD_RAW, data_section  # noqa: F401  (re-exported: the Lab page draws it as setup's)
from ui.lab.widgets import setting_widget

LRF = "_lab_lr_finder"
PLOT_CONFIG = {"displayModeBar": False}


def _fmt_lr(v: float) -> str:
    return f"{v:.0e}".replace("e-0", "e-").replace("e+00", "")


# ---- callbacks (run before the next script run, so they may set widget keys) -------------------------


def load_preset() -> None:
    ss = st.session_state
    pid = ss.get(S.K_PRESET)
    if pid in PRESETS:
        S.apply_config(ss, PRESETS[pid].config)


def _feature_groups() -> list[str]:
    return [g for g in links.groups_of(st.session_state[S.K_MODEL]) if g != HEAD]


def _open_only(groups: set[str], gradual: bool = False) -> None:
    ss = st.session_state
    for g in links.groups_of(ss[S.K_MODEL]):
        ss[S.group_key(g)] = g in groups
    ss[S.K_GRADUAL] = gradual


def freeze_head_only() -> None:
    _open_only({HEAD})


def freeze_last_k() -> None:
    _open_only(set(_feature_groups()[-int(st.session_state[S.K_LASTK]) :]) | {HEAD})


def freeze_none() -> None:
    _open_only(set(links.groups_of(st.session_state[S.K_MODEL])))


def gradual_unfreeze() -> None:
    _open_only(set(_feature_groups()[-int(st.session_state[S.K_LASTK]) :]) | {HEAD}, gradual=True)


def _schedule_changed() -> None:
    """One-cycle climbs during its warm-up: picking it with none gives it torch's usual 30%."""
    ss = st.session_state
    if SCHEDULES[ss[S.K_SCHED]].needs_warmup and not ss[S.K_WARMUP]:
        ss[S.K_WARMUP] = links.to_widget("warmup", 0.3)


def use_suggested_lr() -> None:
    found = st.session_state.get(LRF) or {}
    if found.get("suggested_lr"):
        st.session_state[S.K_LR] = links.snap_lr(found["suggested_lr"])


def _model_changed() -> None:
    S.ensure_group_keys(st.session_state)


# ---- sections ----------------------------------------------------------------------------------------


def preset_picker(presenter: bool) -> None:
    ids = [""] + list(PRESETS)
    st.selectbox(
        "Start from a preset",
        ids,
        key=S.K_PRESET,
        on_change=load_preset,
        format_func=lambda i: PRESETS[i].title if i else "— your own setup —",
        help="Loads the preset's settings into the form (its first run, for a multi-run demo).",
    )
    pid = st.session_state.get(S.K_PRESET)
    if pid in PRESETS and not presenter and not PRESETS[pid].demo:
        # A demo's text gives its result away: it is shown after "Run all", under the learner's prediction.
        st.caption(f"**What to watch for:** {PRESETS[pid].watch_for}")


def model_section(advanced: bool) -> None:
    setting_widget(st, "model", "Model", format_func=lambda m: BACKBONES[m].title, on_change=_model_changed, help=None)
    S.ensure_group_keys(st.session_state)
    st.caption(BACKBONES[st.session_state[S.K_MODEL]].note)
    setting_widget(st, "pretrained", "Start from ImageNet weights (pretrained)")
    if advanced:
        setting_widget(st, "seed", "Seed")


def _clamp(ss, key: str, lo: int, hi: int) -> None:
    """Bring a slider's value into its range, writing only a value that moves: a value written into
    a widget's key is sent to the browser over what it shows, so one written on every rerun could put
    back a value the learner had already moved away from (keys pressed faster than the page reruns)."""
    value = min(max(lo, int(ss[key])), hi)
    if value != ss[key]:
        ss[key] = value


def _frozen_warning(opened: set[str]) -> None:
    """Say so when nothing, or not the new head, ever trains."""
    if freezing.nothing_trains(opened):
        st.warning("Every group is frozen, the new head too: nothing can learn. Switch on at least the head.")
    elif freezing.head_frozen(opened):
        st.warning(
            "The new head is frozen: it keeps its random weights, so its outputs cannot learn your "
            "classes; the open groups can only bend their features towards a random classifier. "
            "Switch on the **head**.",
            icon="🧊",
        )


def layers_section(num_classes: int, projector: bool = False) -> None:
    ss = st.session_state
    groups = links.groups_of(ss[S.K_MODEL])
    st.markdown("**Which layers train?** Frozen groups keep their pretrained weights.")
    b1, b2, b3, b4 = st.columns(4)
    b1.button("Feature extractor (head only)", key="lab_fz_head", on_click=freeze_head_only, width="stretch")
    b2.button("Last k blocks + head", key="lab_fz_lastk", on_click=freeze_last_k, width="stretch")
    b3.button("Full fine-tune", key="lab_fz_full", on_click=freeze_none, width="stretch")
    b4.button("Gradual unfreezing", key="lab_fz_gradual", on_click=gradual_unfreeze, width="stretch")
    _clamp(ss, S.K_LASTK, 1, len(groups) - 1)  # the model may have fewer groups now
    st.slider("k (blocks for 'last k' and gradual)", 1, len(groups) - 1, key=S.K_LASTK)
    # Four switches a row: eight or nine in one row truncate their labels to "st…".
    per_row = 4
    for start in range(0, len(groups), per_row):
        cols = st.columns(per_row)
        for col, g in zip(cols, groups[start : start + per_row]):
            col.toggle(
                g, key=S.group_key(g), help=f"Train the {g} group" + (" (the new classifier)" if g == HEAD else "")
            )
    st.toggle("Gradual unfreezing: open the chosen groups one by one, head first", key=S.K_GRADUAL)
    if ss[S.K_GRADUAL]:
        _clamp(ss, S.K_EVERY, 1, 5)
        st.slider("Open one more group every … epochs", 1, 5, key=S.K_EVERY)
    plan = S.schedule(ss)
    if ss[S.K_GRADUAL] and plan:
        steps = [f"epoch {e}: {', '.join(gs)}" for e, gs in sorted(plan.items())]
        late = [g for e, gs in plan.items() if e > ss[S.K_EPOCHS] for g in gs]
        st.caption(
            "Schedule: "
            + " → ".join(steps)
            + (f". Never opens (after the last epoch): {', '.join(late)}." if late else "")
        )
    opened = {g for gs in plan.values() for g in gs}
    counts = param_counts(ss[S.K_MODEL], max(2, num_classes), opened)
    trainable = sum(c.total for c in counts if c.trainable)
    total = sum(c.total for c in counts)
    m1, m2, m3 = st.columns(3)
    m1.metric("Trainable parameters", f"{trainable:,}")
    m2.metric("Total parameters", f"{total:,}")
    m3.metric("Trainable share", f"{100 * trainable / max(1, total):.1f}%")
    _frozen_warning(opened)
    fig = charts.params_figure([(c.name, c.total, c.trainable) for c in counts])
    chart_with_summary(
        charts.projector(fig) if projector else fig,
        charts.params_summary([(c.name, c.total, c.trainable) for c in counts]),
        config=PLOT_CONFIG,
        key="lab_params_chart",
    )


def lr_section(advanced: bool, cfg_for_finder, data: PreparedData | None) -> None:
    ss = st.session_state
    setting_widget(st, "lr", "Learning rate", format_func=_fmt_lr)
    schedule_section(data, projector=not advanced)
    if advanced:
        st.toggle("Per-group learning rates (discriminative)", key=S.K_DISC, help=SPECS["group_lr"].help)
        if ss[S.K_DISC]:
            chosen = S.selected_groups(ss)
            cols = st.columns(max(1, min(4, len(chosen))))
            for i, g in enumerate(chosen):
                cols[i % len(cols)].select_slider(
                    f"LR of {g}", list(SPECS["group_lr"].steps), key=S.group_lr_key(g), format_func=_fmt_lr
                )
        if st.button(
            "Find a learning rate (LR range test)",
            key="lab_lr_find",
            help="Trains briefly while the LR grows from 1e-6 to 1: takes a few seconds to a minute.",
        ):
            _run_lr_finder(cfg_for_finder(), data)
        found = ss.get(LRF)
        if found and found.get("lrs"):
            chart_with_summary(
                charts.lr_finder_figure(found["lrs"], found["losses"], found.get("suggested_lr")),
                charts.lr_finder_summary(found["lrs"], found["losses"], found.get("suggested_lr")),
                config=PLOT_CONFIG,
                key="lab_lr_chart",
            )
            if found.get("suggested_lr"):
                peak = (
                    " as the peak" if ss[S.K_SCHED] != "constant" else ""
                )  # the schedule's peak: see core.train.schedules
                st.button(
                    f"Use suggested {_fmt_lr(links.snap_lr(found['suggested_lr']))}{peak}",
                    key="lab_lr_use",
                    on_click=use_suggested_lr,
                )
            st.caption(
                f"Measured for: {found['for']}. The suggestion is where the loss falls fastest; "
                f"a value a little lower is often safer."
            )
    _override_note(ss)


def schedule_section(data: PreparedData | None, projector: bool = False) -> None:
    """The schedule picker, its warm-up, and the rate of every step drawn before the run: the chart is
    computed by the function the engine runs (core.train.schedules), so what is drawn is what runs."""
    c1, c2 = st.columns(2)
    setting_widget(c1, "schedule", "Schedule", format_func=lambda k: SCHEDULES[k].title, on_change=_schedule_changed)
    setting_widget(c2, "warmup", "Warm-up (share of the run)", format_func=lambda v: f"{v:.0%}")
    try:
        cfg = S.config_from_state(st.session_state)
    except (LearnerError, ValueError):
        return  # the page says what to fix, under the form
    if not moves(cfg):
        st.caption(f"**{SCHEDULES[cfg.schedule].title}**: {SCHEDULES[cfg.schedule].about}.")
        return  # a flat line says nothing the slider does not
    st.caption(
        f"**{SCHEDULES[cfg.schedule].title}**: {SCHEDULES[cfg.schedule].about}. The learning rate above is the peak."
    )
    try:
        cfg.validate()
    except LearnerError:
        st.caption("The schedule is drawn once the settings are valid (see the message in red below).")
        return
    n_train = len(data.train_y) if data is not None else cfg.per_class * _classes_now()
    steps, schedule = cfg.epochs * steps_per_epoch(n_train, cfg.batch_size), SCHEDULES[cfg.schedule]
    if steps < schedule.min_steps:
        st.caption(
            f"This run takes only {steps} optimizer step(s), too few for {schedule.title}: the rate "
            f"stays at the peak. More images, more epochs or a smaller batch give it room."
        )
    rates = planned_rates(cfg, n_train)
    fig = rate_charts.rate_figure(rates, cfg.epochs, title="Planned learning rate per group")
    chart_with_summary(
        charts.projector(fig) if projector else fig,
        rate_charts.rate_summary(rates, cfg.epochs),
        config=PLOT_CONFIG,
        key="lab_sched_chart",
    )


def _classes_now() -> int:
    name = st.session_state[S.K_DATASET]
    return (
        DATASETS[name].num_classes
        if name in DATASETS
        else len(getattr(st.session_state.get(UPLOAD_RAW), "class_names", [])) or 2
    )


def _override_note(ss) -> None:
    """Per-group rates replace the global one for their groups: say so where the global slider is."""
    if not ss.get(S.K_DISC):
        return
    own = {g: ss[S.group_lr_key(g)] for g in S.selected_groups(ss) if ss[S.group_lr_key(g)] != ss[S.K_LR]}
    if own:
        rest = [g for g in S.selected_groups(ss) if g not in own]
        st.warning(
            "Per-group rates override the global learning rate for "
            + ", ".join(f"{g} ({_fmt_lr(v)})" for g, v in own.items())
            + (
                f"; the global {_fmt_lr(ss[S.K_LR])} applies only to {', '.join(rest)}."
                if rest
                else f": the global {_fmt_lr(ss[S.K_LR])} applies to no group."
            ),
            icon="🎚️",
        )


def _run_lr_finder(cfg: TrainConfig | None, data: PreparedData | None) -> None:
    if cfg is None:
        return
    if cfg.dataset == links.UPLOAD and data is None:
        st.error("Upload your images first.")
        return
    try:
        with st.spinner("Running the LR range test…"):
            # through the job queue: it trains in a worker process, never in this server's process
            owner = st.session_state.get(live.JOB_OWNER, "lab")
            found = live.get_job_manager().run_lr_range(
                cfg, owner, data=data, address=common.client_address(), steps=50
            )
    except (JobRefused, LearnerError) as exc:
        st.error(f"The LR range test could not run: {exc}")
        return
    if not found["lrs"]:
        st.warning("The LR range test produced no usable points (the loss blew up at once).")
        return
    found["for"] = f"{cfg.model}, {cfg.dataset}, groups {', '.join(cfg.trainable or ('head',))}"
    st.session_state[LRF] = found


def training_section(advanced: bool) -> None:
    c1, c2 = st.columns(2)
    setting_widget(c1, "epochs", "Epochs")
    setting_widget(c2, "batch_size", "Batch size")
    setting_widget(c1, "augment", "Data augmentation (shifts, flips, lighting)")
    setting_widget(c2, "early_stopping", "Early stopping patience (epochs, 0 = off)")
    if advanced:
        setting_widget(c1, "optimizer", "Optimizer")
        setting_widget(c2, "weight_decay", "Weight decay", format_func=lambda v: "0" if v == 0 else _fmt_lr(v))
        setting_widget(st, "frozen_bn_eval", "Keep frozen BatchNorm in eval mode")


def estimate_caption(cfg: TrainConfig, num_classes: int, short: bool = False) -> None:
    device = resolve_device("auto").type
    est = estimate_config(cfg, cfg.per_class * num_classes, cfg.val_per_class * num_classes, device)
    if short:  # projector mode: the figure, not the fine print
        st.caption(f"⏱️ Estimated run time: **{est.describe()}** on this {device.upper()}.")
        return
    how = "frozen layers computed once and cached" if est.cached else "frozen layers run on every batch"
    st.caption(
        f"⏱️ Estimated run time on this {device.upper()}: **{est.describe()}** ({how}), from the work "
        f"this setup does at speeds {est.source}; other work on the machine slows it down."
    )
