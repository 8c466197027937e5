"""The Lab while and after a run: the shared job manager, the live panel, the end of a run, history.

The page never trains in its own thread (a widget change would cut the run): it submits runs to the
server's JobManager and a ``run_every`` fragment redraws a snapshot of them once a second. When the
runs have ended the fragment calls ``st.rerun()`` once, so the page leaves the timer loop and shows
the outcome, the results of the run and the session's run history.
"""
from __future__ import annotations

import atexit
import uuid
from collections import OrderedDict
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.estimate import estimate_config, record_run
from core.jobs import JobManager, JobRefused, JobSnapshot
from pages import lab_charts as charts

OWNER = "lab_owner"
CURRENT = "lab_current_jobs"  # job ids of this session's latest submission
SUBMITTED = "_lab_uncollected"  # every job id not yet in the history (replaced runs end later)
HISTORY = "lab_history"  # one row per ended run of this session
RESULTS = "_lab_results"  # job id -> RunResult, the newest few keep their model
RUN_DATA = "_lab_run_data"  # job id -> PreparedData of uploaded images (the gallery needs them)
KEEP_MODELS = 3
RELEASE_GRACE_S = 30.0
PLOT_CONFIG = {"displayModeBar": False}
FIG_CACHE = "_lab_fig_cache"
STOP_WAIT_S = 5.0


# ---- the server's manager and this session's lease -------------------------------------------------

@st.cache_resource(show_spinner=False)
def get_job_manager() -> JobManager:
    """One pool for the whole server (max concurrent runs: FTLAB_MAX_JOBS, default 1 on a CPU)."""
    manager = JobManager()
    atexit.register(manager.shutdown, wait=False)  # a stopped server stops its runs between batches
    return manager


class SessionLease:
    """Held in a session-scoped cache: when Streamlit drops the session, its runs are cancelled."""

    def __init__(self, manager: JobManager, owner: str):
        self.manager, self.owner = manager, owner

    def release(self) -> None:
        # Grace period: a browser that reconnects after a network blip keeps its run (touch_owner).
        self.manager.release_owner(self.owner, grace_s=RELEASE_GRACE_S)


@st.cache_resource(scope="session", on_release=lambda lease: lease.release(), show_spinner=False)
def _session_lease(owner: str) -> SessionLease:
    return SessionLease(get_job_manager(), owner)


def attach_session() -> JobManager:
    owner = st.session_state.setdefault(OWNER, uuid.uuid4().hex)
    manager = get_job_manager()
    _session_lease(owner)
    manager.touch_owner(owner)
    return manager


def submit(runs, data=None) -> bool:
    """Queue runs [(label, TrainConfig)] for this session (replacing its active ones)."""
    manager = get_job_manager()
    try:
        jobs = manager.submit_batch(list(runs), st.session_state[OWNER], data=data)
    except JobRefused as exc:
        st.error(str(exc), icon="🚦")
        return False
    st.session_state[CURRENT] = [j.id for j in jobs]
    st.session_state.setdefault(SUBMITTED, []).extend(j.id for j in jobs)
    if data is not None:
        st.session_state.setdefault(RUN_DATA, {}).update({j.id: data for j in jobs})
    return True


def collect_all(manager: JobManager) -> None:
    """History for every ended run of this session, including runs replaced by a newer Start."""
    pending = st.session_state.get(SUBMITTED, [])
    snaps = [s for s in (manager.snapshot(i) for i in pending) if s is not None]
    collect_ended([s for s in snaps if s.ended])
    alive = {s.id for s in snaps if not s.ended}
    st.session_state[SUBMITTED] = [i for i in pending if i in alive]


def current_snapshots(manager: JobManager) -> list[JobSnapshot]:
    snaps = [manager.snapshot(i) for i in st.session_state.get(CURRENT, [])]
    return [s for s in snaps if s is not None]


# ---- live panel ----------------------------------------------------------------------------------

def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def progress_numbers(snap: JobSnapshot) -> dict:
    """Fraction done, epoch, images/s and a naive ETA (time per step so far x steps left)."""
    cfg = snap.config
    if not snap.batches:
        return {"fraction": 0.0, "epoch": 0, "ips": None, "eta": None}
    last = snap.batches[-1]
    total = last["steps"] * cfg.epochs
    done = last["global_step"]
    first_t = snap.batches[0]["elapsed"]
    per_step = (last["elapsed"] - first_t) / max(1, done - 1) if done > 1 else None
    eta = per_step * (total - done) if per_step is not None else None
    return {"fraction": min(1.0, done / max(1, total)), "epoch": last["epoch"], "ips": last.get("images_per_s"),
            "eta": eta}


def _status_line(snap: JobSnapshot, counts: dict) -> None:
    name = f"**{snap.label}**: " if snap.label else ""
    if snap.status == "queued":
        st.info(f"{name}waiting, you are **{_ordinal(snap.position or 1)} in line** "
                f"({counts['running']} run(s) training now, {counts['max_running']} at a time on this server).",
                icon="⏳")
        return
    p = progress_numbers(snap)
    if not snap.batches:
        st.progress(0.0, text=f"{name}preparing data, model and feature cache…")
        return
    parts = [f"epoch {p['epoch']}/{snap.config.epochs}"]
    if p["ips"]:
        parts.append(f"{p['ips']:.0f} images/s")
    if p["eta"] is not None:
        parts.append(f"about {p['eta']:.0f} s left")
    st.progress(p["fraction"], text=name.replace("**", "") + " · ".join(parts))


def _epoch_figures(snap: JobSnapshot) -> tuple:
    """Accuracy, trainable-parameter and weight-change charts change once per epoch: build them once
    per epoch (a Plotly figure costs ~50 ms to build, and the live panel redraws every second)."""
    cache = st.session_state.setdefault(FIG_CACHE, {})
    key = (snap.id, len(snap.epochs))
    if key not in cache:
        cache.clear()  # only the newest epoch of the job being watched is worth keeping
        total = snap.config.epochs
        cache[key] = (charts.accuracy_figure(snap.epochs, total), charts.trainable_figure(snap.epochs, total),
                      charts.weight_change_figure(snap.epochs, total))
    return cache[key]


def draw_run_charts(snap: JobSnapshot, key: str) -> None:
    acc, trainable, dw = _epoch_figures(snap)
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.loss_figure(snap.epochs, snap.batches, snap.config.epochs), config=PLOT_CONFIG,
                    key=f"{key}_loss")
    c2.plotly_chart(acc, config=PLOT_CONFIG, key=f"{key}_acc")
    c3, c4 = st.columns(2)
    c3.plotly_chart(trainable, config=PLOT_CONFIG, key=f"{key}_trainable")
    c4.plotly_chart(dw, config=PLOT_CONFIG, key=f"{key}_dw")


@st.fragment(run_every=1.0)
def live_panel() -> None:
    manager = get_job_manager()
    snaps = current_snapshots(manager)
    if not snaps or all(s.ended for s in snaps):
        st.rerun()  # leave the timer loop: the full page shows the outcome
        return
    counts = manager.counts()
    for snap in snaps:
        if snap.active:
            _status_line(snap, counts)
    if st.button("Stop", key="lab_stop", type="secondary", icon="⏹️"):
        for snap in snaps:
            manager.cancel(snap.id)
        # The engine stops within one batch: wait for that here and leave the loop at once, rather
        # than one more timer tick later (on a busy machine each tick can take a second or more).
        for snap in snaps:
            job = manager.get(snap.id)
            if job is not None:
                job.wait(STOP_WAIT_S)
        st.rerun()
    focus = next((s for s in snaps if s.status == "running"), snaps[0])
    if focus.start.get("cache"):
        st.caption(f"{focus.start['cache']} Device: {focus.start.get('device', '?')}.")
    if len(snaps) > 1:
        curves = [(s.label or s.id, s.epochs) for s in snaps if s.epochs]
        if curves:
            st.plotly_chart(charts.overlay_figure(curves), config=PLOT_CONFIG, key="lab_live_overlay")
        st.caption(f"Charts below: **{focus.label}**.")
    draw_run_charts(focus, "lab_live")


# ---- after the run -------------------------------------------------------------------------------

def collect_ended(snaps: list[JobSnapshot]) -> None:
    """Add ended runs to the session's history (once each) and keep their results."""
    history = st.session_state.setdefault(HISTORY, [])
    seen = {row["id"] for row in history}
    results: OrderedDict = st.session_state.setdefault(RESULTS, OrderedDict())
    for snap in snaps:
        if not snap.ended or snap.id in seen:
            continue
        history.append(history_row(snap))
        if snap.result is not None:
            results[snap.id] = snap.result
            _calibrate(snap)
    # Models are big: only the newest few runs keep theirs (for predictions and exports).
    for old in list(results)[:-KEEP_MODELS]:
        if results[old].model is not None:
            results[old] = replace(results[old], model=None)
        st.session_state.get(RUN_DATA, {}).pop(old, None)


def _calibrate(snap: JobSnapshot) -> None:
    """Teach the time estimate how fast this server really is (complete runs only)."""
    total = snap.result.timings.get("total_s") if snap.result else None
    if snap.status == "finished" and total and snap.start.get("train_images"):
        predicted = estimate_config(snap.config, snap.start["train_images"], snap.start.get("val_images", 0),
                                    "cpu" if snap.result.device == "cpu" else "gpu")
        record_run(predicted.seconds, total)


def history_row(snap: JobSnapshot) -> dict:
    cfg, final = snap.config, (snap.epochs[-1] if snap.epochs else {})
    groups = list(cfg.trainable) + [f"{g}@{e}" for e, gs in sorted(cfg.unfreeze_at.items()) for g in gs]
    return {
        "id": snap.id, "label": snap.label or f"run {len(st.session_state.get(HISTORY, [])) + 1}",
        "status": snap.status, "dataset": cfg.dataset, "model": cfg.model,
        "pretrained": cfg.pretrained, "trainable": " ".join(groups), "lr": cfg.lr,
        "group_lr": ", ".join(f"{g}:{v:g}" for g, v in cfg.group_lr.items()), "optimizer": cfg.optimizer,
        "epochs": f"{len(snap.epochs)}/{cfg.epochs}", "per_class": cfg.per_class, "size": cfg.image_size,
        "batch": cfg.batch_size, "augment": cfg.augment, "val_acc": final.get("val_acc"),
        "train_acc": final.get("train_acc"), "seconds": round((snap.finished or 0) - (snap.started or snap.created), 1),
        "curve": [{k: e[k] for k in ("epoch", "val_acc", "train_acc", "val_loss", "train_loss")} for e in snap.epochs],
        "message": snap.message,
    }


def show_outcome(snap: JobSnapshot) -> None:
    """The end reason, said plainly, with what to do next."""
    name = f"**{snap.label}**: " if snap.label else ""
    final = snap.epochs[-1] if snap.epochs else {}
    if snap.status == "finished":
        acc = final.get("val_acc")
        st.success(f"{name}finished {len(snap.epochs)} epochs: final validation accuracy "
                   f"**{acc:.1%}**." if acc is not None else f"{name}{snap.message}", icon="✅")
    elif snap.status == "early_stopped":
        st.success(f"{name}{snap.message}", icon="🛑")
    elif snap.status == "diverged":
        # The engine's message already names the learning rate as the likely cause.
        st.error(f"{name}the run diverged. {snap.message} The LR range test (Learning rate section) "
                 f"finds a safer value.", icon="💥")
    elif snap.status == "stopped":
        st.info(f"{name}{snap.message}", icon="⏹️")
    elif snap.status == "failed":
        st.error(f"{name}the run could not start: {snap.error}", icon="🚫")


def show_ended(snaps: list[JobSnapshot]) -> None:
    for snap in snaps:
        show_outcome(snap)
    if len(snaps) > 1:
        curves = [(s.label or s.id, s.epochs) for s in snaps if s.epochs]
        if curves:
            c1, c2 = st.columns(2)
            c1.plotly_chart(charts.overlay_figure(curves), config=PLOT_CONFIG, key="lab_end_overlay")
            c2.plotly_chart(charts.overlay_figure(curves, "val_loss", "Validation loss"), config=PLOT_CONFIG,
                            key="lab_end_overlay_loss")
    results = st.session_state.get(RESULTS, {})
    for snap in snaps:
        if not snap.epochs:
            continue
        with st.expander(f"Curves of {snap.label or 'this run'}", expanded=len(snaps) == 1):
            if snap.start.get("notes"):
                st.caption("Notes: " + "; ".join(snap.start["notes"]))
            draw_run_charts(snap, f"lab_end_{snap.id}")
        result = results.get(snap.id)
        if result is not None and snap.status != "failed":
            _results_view(result, snap.id, st.session_state.get(RUN_DATA, {}).get(snap.id))


def _results_view(result, job_id: str, data=None) -> None:
    try:
        from pages.lab_results import render_results
    except ImportError:
        st.caption("Detailed results (confusion matrix, mistakes, predictions) are coming soon.")
        return
    render_results(result, key_prefix=job_id, data=data)


def show_history() -> None:
    history = st.session_state.get(HISTORY, [])
    if not history:
        return
    st.subheader("Your runs")
    table = pd.DataFrame([{k: v for k, v in row.items() if k not in ("curve", "id", "message")} for row in history])
    st.dataframe(table, hide_index=True, column_config={
        "val_acc": st.column_config.NumberColumn("val acc", format="percent"),
        "train_acc": st.column_config.NumberColumn("train acc", format="percent"),
        "lr": st.column_config.NumberColumn("lr", format="%.0e")})
    labels = {row["id"]: f"{i + 1}. {row['label']}" for i, row in enumerate(history)}
    default = [row["id"] for row in history if row["curve"]][-3:]
    chosen = st.multiselect("Compare runs", list(labels), default=default, format_func=labels.get, key="lab_compare")
    curves = [(labels[row["id"]], row["curve"]) for row in history if row["id"] in chosen and row["curve"]]
    if curves:
        st.plotly_chart(charts.overlay_figure(curves), config=PLOT_CONFIG, key="lab_history_overlay")
    if st.button("Clear history", key="lab_clear_history"):
        st.session_state[HISTORY] = []
        st.session_state[RESULTS] = OrderedDict()
        st.rerun()

