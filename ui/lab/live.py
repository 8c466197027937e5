"""The Lab while and after a run: the shared job manager, the live view, the end of a run, history.

The page never trains in its own thread (a widget change would cut the run): it submits runs to the
server's JobManager and one ``run_every`` fragment, the live view, redraws a snapshot of them once
a second: the progress and Stop in the sticky bar at the top, the charts below. When the runs have
ended it calls ``st.rerun()`` once, so the page leaves the timer loop and shows the outcome (what it
means: chance level, a better earlier epoch), the results in tabs and the learner's run history.
Finished demos are handed to core.lab.demo_store; stored ones come back here as replay snapshots.

A reload must lose nothing (issue 10). Runs belong to the browser (browser_key), not to one
session: a reloaded page or a new tab is handed the browser's latest batch, live or ended, and runs
are cancelled only when no tab of the browser came back within RELEASE_GRACE_S. The run history is
kept in the progress database under the learner's progress key (a nickname, or this browser's own
key), so it comes back after a reload and follows a nickname, and no other browser sees it.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import replace

import streamlit as st

from core.jobs import manager as jobs
from core.jobs.manager import JobManager, JobRefused, JobSnapshot
from core.lab import demo_store
from core.runs.history import history_row, progress_numbers, val_images
from core.train.events import as_row
from core.train.freezing import describe_cache
from ui.common import (
    browser_key,
    chart_summary,
    chart_with_summary,
    client_address,
    current_learner,
    get_progress_store,
    safe_store_call,
)
from ui.lab import charts, rate_charts
from ui.live_chart import live_chart

OWNER = "lab_owner"  # this session's own id (one tab): which sessions of a browser are open
JOB_OWNER = "_lab_job_owner"  # who owns the runs: the browser, so a reload or a new tab finds them
CURRENT = "lab_current_jobs"  # job ids of the latest submission (this tab's, or the browser's on arrival)
HISTORY = "lab_history"  # the learner's ended runs as last read from the store (plus UNSAVED)
UNSAVED = "_lab_unsaved_runs"  # history rows the database refused, retried on every run of the page
RESULTS = "_lab_results"  # job id -> RunResult, the newest few keep their model
RUN_DATA = "_lab_run_data"  # job id -> PreparedData of uploaded images (the gallery needs them)
KEEP_MODELS = 3
RELEASE_GRACE_S = 30.0
PLOT_CONFIG = {"displayModeBar": False}
FIG_CACHE = "_lab_fig_cache"
STOP_WAIT_S = 5.0
TICK_S = 1.0  # the live view's redraw interval (issue 13: charts update at least every 2 s)
DEMO_BATCH = "_lab_demo_batch"  # (preset id, job ids) of the demo whose variants were run live
REPLAY = "_lab_replay"  # (preset id, StoredDemo) shown instead of a live run
REFUSED = "_lab_refused"  # (message, icon): why the last Start did not start
CHART_NAMES = ("Loss", "Accuracy", "Trainable parameters", "Weight change")


# ---- the server's manager and this session's lease -------------------------------------------------


def get_job_manager() -> JobManager:
    """One pool for the whole server (max concurrent runs: FTLAB_MAX_JOBS, default 1 on a CPU)."""
    return jobs.server_manager()


class SessionLease:
    """Held in a session-scoped cache: when Streamlit drops the session (a tab closed or reloaded),
    the browser's runs are cancelled after a grace period, unless one of its tabs is open by then."""

    def __init__(self, manager: JobManager, owner: str, session: str | None = None):
        self.manager, self.owner, self.session = manager, owner, session

    def release(self) -> None:
        # Grace period: a reload or a network blip keeps the run (the new session calls touch_owner).
        self.manager.release_owner(self.owner, grace_s=RELEASE_GRACE_S, session=self.session)


@st.cache_resource(scope="session", on_release=lambda lease: lease.release(), show_spinner=False)
def _session_lease(owner: str, session: str) -> SessionLease:
    return SessionLease(get_job_manager(), owner, session)


def attach_session() -> JobManager:
    """Register this tab with the browser's runs; a tab new to them (a reload) picks up the latest."""
    ss = st.session_state
    session = ss.setdefault(OWNER, uuid.uuid4().hex)
    owner = ss.setdefault(JOB_OWNER, browser_key())
    manager = get_job_manager()
    _session_lease(owner, session)
    manager.touch_owner(owner, session)
    if CURRENT not in ss:
        ids, tag = manager.latest_batch(owner)
        ss[CURRENT] = ids
        ss[DEMO_BATCH] = (tag, ids) if tag else None
    return manager


def submit(runs, data=None, tag: str = "") -> bool:
    """Queue runs [(label, TrainConfig)] for this browser (replacing its active ones). Called from
    button callbacks, which run before the page: a refusal is kept for the page to show (show_refusal)."""
    manager = get_job_manager()
    try:
        jobs = manager.submit_batch(
            list(runs), st.session_state[JOB_OWNER], data=data, tag=tag, address=client_address()
        )
    except JobRefused as exc:
        refuse(str(exc), "🚦")
        return False
    st.session_state[CURRENT] = [j.id for j in jobs]
    st.session_state[REPLAY] = None
    st.session_state[DEMO_BATCH] = None
    if data is not None:
        st.session_state.setdefault(RUN_DATA, {}).update({j.id: data for j in jobs})
    return True


def refuse(message: str, icon: str) -> None:
    """Why a Start did not start, for the page to show once (show_refusal) where the Start bar is."""
    st.session_state[REFUSED] = (message, icon)


def show_refusal() -> None:
    refused = st.session_state.pop(REFUSED, None)
    if refused:
        st.error(refused[0], icon=refused[1])


def submit_demo(pid: str, runs) -> None:
    """Run a demo's variants live; when all end complete, they are stored for an instant replay."""
    if submit(runs, tag=pid):
        st.session_state[DEMO_BATCH] = (pid, list(st.session_state[CURRENT]))


def replay(pid: str, stored: demo_store.StoredDemo) -> None:
    """Show a stored demo instead of training (the session's own live runs are left alone)."""
    st.session_state[REPLAY] = (pid, stored)
    st.session_state[CURRENT] = []


def store_finished_demo(snaps: list[JobSnapshot]) -> None:
    """Keep the demo's results on the server once every variant ended complete (first session wins)."""
    batch = st.session_state.get(DEMO_BATCH)
    if not batch or [s.id for s in snaps] != batch[1] or not demo_store.storable(s.status for s in snaps):
        return
    if any(s.result is None for s in snaps):
        return
    pid = batch[0]
    runs = [demo_store.from_result(s.label, s.result) for s in snaps]
    if demo_store.load(pid, [(r.label, r.config) for r in runs]) is None:
        try:
            demo_store.save(pid, runs, snaps[0].result.device)
        except OSError as exc:  # a read-only data folder costs the replay, not the lesson
            st.caption(f"Could not keep these results for a replay: {exc}")


def _save_row(store, learner: str, row: dict) -> bool:
    store.record_lab_run(learner, row)
    return True


def collect_all(manager: JobManager) -> None:
    """Store every ended run of this browser in the learner's history (each once, whichever tab sees
    it end; runs replaced by a newer Start too), then read the history back for the page."""
    ss = st.session_state
    store, learner = get_progress_store(), current_learner()
    stored = safe_store_call(store.lab_runs, learner)
    known = stored if stored is not None else [r for r in ss.get(HISTORY, []) if r not in ss.get(UNSAVED, [])]
    rows = list(ss.get(UNSAVED, []))
    for snap in manager.take_ended(ss[JOB_OWNER]):
        rows.append(history_row(snap, len(known) + len(rows) + 1))
    # A row the database refuses stays in this session (shown, retried) instead of being lost.
    ss[UNSAVED] = [row for row in rows if not safe_store_call(_save_row, store, learner, row)]
    ids = {r["id"] for r in known}
    ss[HISTORY] = known + [r for r in rows if r["id"] not in ids]


def current_snapshots(manager: JobManager) -> list[JobSnapshot]:
    snaps = [manager.snapshot(i) for i in st.session_state.get(CURRENT, [])]
    return [s for s in snaps if s is not None]


# ---- live panel ----------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rows(events: list) -> list[dict]:
    """Events as the plain rows lab_charts draws."""
    return [as_row(e) for e in events]


def _status_line(snap: JobSnapshot, counts: dict) -> None:
    name = f"**{snap.label}**: " if snap.label else ""
    if snap.status == "queued":
        st.info(
            f"{name}waiting, you are **{_ordinal(snap.position or 1)} in line** "
            f"({counts['running']} run(s) training now, {counts['max_running']} at a time on this server).",
            icon="⏳",
        )
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
    """Accuracy, trainable-parameter and weight-change charts (and their summaries) change once per
    epoch: build them once per epoch (a Plotly figure costs ~50 ms to build, and the live panel
    redraws every second). Each item is (figure, text alternative)."""
    cache = st.session_state.setdefault(FIG_CACHE, {})
    key = (snap.id, len(snap.epochs))
    if key not in cache:
        cache.clear()  # only the newest epoch of the job being watched is worth keeping
        eps, total, n = rows(snap.epochs), snap.config.epochs, val_images(snap)
        acc = (charts.accuracy_figure(eps, total, n), charts.accuracy_summary(eps, total, n))
        cache[key] = (acc,) + tuple(
            (figure(eps, total), summary(eps, total))
            for figure, summary in (
                (charts.trainable_figure, charts.trainable_summary),
                (charts.weight_change_figure, charts.weight_change_summary),
            )
        )
    return cache[key]


def overlay_chart(
    curves, key: str = "val_acc", title: str = "Validation accuracy (%)", val_n: dict[str, int] | None = None
) -> tuple:
    """(figure, text alternative) comparing runs, from (label, epoch rows) pairs; `val_n` (label ->
    validation images) gives each run's validation accuracy its 95% band."""
    return charts.overlay_figure(curves, key, title, val_n), charts.overlay_summary(curves, key, title, val_n)


def show_chart(chart: tuple, key: str, projector: bool = False, live: bool = False) -> None:
    """A (figure, summary) chart with its text alternative under it; projector-styled if asked. A
    `live` chart is redrawn in place on every tick (ui/live_chart.py), not rebuilt."""
    fig, summary = chart
    fig = charts.projector(fig) if projector else fig
    if live and live_chart(fig, summary, key):
        chart_summary(summary)
        return
    chart_with_summary(fig, summary, config=PLOT_CONFIG, key=key)


def draw_run_charts(
    snap: JobSnapshot, key: str, projector: bool = False, overlay: tuple | None = None, live: bool = False
) -> None:
    acc, trainable, dw = _epoch_figures(snap)
    epochs, batches = rows(snap.epochs), rows(snap.batches)
    loss = (
        charts.loss_figure(epochs, batches, snap.config.epochs),
        charts.loss_summary(epochs, batches, snap.config.epochs),
    )
    figures = dict(zip(CHART_NAMES, (loss, acc, trainable, dw)))
    rate = rate_charts.live_rate_chart(snap.config, batches)  # only when a schedule moves the rate
    if rate is not None:
        figures["Learning rate"] = rate
    if overlay is not None:
        figures = {"All variants": overlay, **figures}
    if projector:
        # One chart at a time, filling the screen: four small ones are unreadable from the back row.
        names = list(figures)
        pick = st.segmented_control(
            "Chart", names, default=names[0], key=f"{key}_pick", required=True, label_visibility="collapsed"
        )
        show_chart(figures[pick if pick in figures else names[0]], f"{key}_big", projector=True, live=live)
        return
    if overlay is not None:
        show_chart(overlay, f"{key}_overlay", live=live)
    for pair in ((("loss", loss), ("acc", acc)), (("trainable", trainable), ("dw", dw))):
        for col, (name, chart) in zip(st.columns(2), pair):
            with col:
                show_chart(chart, f"{key}_{name}", live=live)
    if rate is not None:
        with st.columns(2)[0]:
            show_chart(rate, f"{key}_lr", live=live)


@st.fragment(run_every=TICK_S)
def live_view(projector: bool = False) -> None:
    """Progress and Stop in the sticky bar (reachable wherever the learner has scrolled), then the
    charts. One fragment: each tick re-renders the page in the browser, which on a small machine
    takes CPU from the training beside it."""
    manager = get_job_manager()
    snaps = current_snapshots(manager)
    if not snaps or all(s.ended for s in snaps):
        st.rerun()  # leave the timer loop: the full page shows the outcome
        return
    counts = manager.counts()
    # A horizontal container, not columns: on a phone columns stack, and the bar (progress above Stop)
    # covered an eighth of the screen while it stayed in view.
    with st.container(key="lab_runbar", horizontal=True, vertical_alignment="center"):
        with st.container():
            for snap in snaps:
                if snap.active:
                    _status_line(snap, counts)
        if st.button("Stop", key="lab_stop", type="secondary", icon="⏹️", width="content"):
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
    if focus.start is not None and focus.start.cache and not projector:
        st.caption(f"{describe_cache(focus.start.cache, focus.start.prefix)} Device: {focus.start.device}.")
    overlay = None
    if len(snaps) > 1:
        curves = [(s.label or s.id, rows(s.epochs)) for s in snaps if s.epochs]
        sizes = {s.label or s.id: val_images(s) for s in snaps}
        overlay = overlay_chart(curves, val_n=sizes) if curves else None
        st.caption(f"Charts: **{focus.label}**" + (" (and all variants compared)" if overlay else "") + ".")
    if focus.batches or overlay is not None:
        draw_run_charts(focus, "lab_live", projector, overlay, live=True)
    else:
        # Empty charts would cost the browser about half a second of drawing while the run is
        # preparing its data and model: the busiest part of a short run (issue 13's default run).
        st.caption("📈 The charts start with the first batch.")
    if _in_last_epoch(focus) and all(s.ended or s.id == focus.id for s in snaps):
        # The outcome at once rather than at the next tick (up to TICK_S later): everything is drawn,
        # so waiting here holds nothing back. A Stop pressed meanwhile is handled when the wait ends.
        job = manager.get(focus.id)
        if job is not None and job.wait(TICK_S):
            st.rerun()


def _in_last_epoch(snap: JobSnapshot) -> bool:
    return snap.status == "running" and bool(snap.batches) and snap.batches[-1].epoch >= snap.config.epochs


# ---- after the run -------------------------------------------------------------------------------


def collect_ended(snaps: list[JobSnapshot]) -> None:
    """Keep the results (with their models) of the ended runs on show; the history is collect_all's."""
    results: OrderedDict = st.session_state.setdefault(RESULTS, OrderedDict())
    for snap in snaps:
        if snap.ended and snap.result is not None and snap.id not in results:
            results[snap.id] = snap.result
    # Models are big: only the newest few runs keep theirs (for predictions and exports).
    for old in list(results)[:-KEEP_MODELS]:
        if results[old].model is not None:
            results[old] = replace(results[old], model=None)
        st.session_state.get(RUN_DATA, {}).pop(old, None)
