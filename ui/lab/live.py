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

import pandas as pd
import streamlit as st

from core.classroom.class_report import settings_of
from core.jobs import manager as jobs
from core.jobs.manager import JobManager, JobRefused, JobSnapshot
from core.lab import demo_store
from core.runs import analysis, stats
from core.runs.estimate import estimate_config, record_run
from core.train.engine import RunResult
from core.train.events import BatchEnded, EpochEnded, as_row, from_row
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
from ui.lab import charts
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
COMPARE_SEEN = "_lab_compare_seen"  # history ids the Compare picker has already offered
REPLAY_SIZES = "_lab_replay_val_images"  # replay snapshot id -> its stored validation size
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


def replay_snapshots(stored: demo_store.StoredDemo) -> list[JobSnapshot]:
    """Stored runs in the shape the end-of-run views draw (no model: no photo or export)."""
    t = stored.measured_at

    def snapshot(i: int, r: demo_store.StoredRun) -> JobSnapshot:
        epochs = [from_row(EpochEnded, e) for e in r.epochs]
        batches = [from_row(BatchEnded, b) for b in r.batches]
        result = RunResult(
            r.status,
            r.message,
            r.config,
            list(r.start.get("classes", [])),
            epochs,
            batches,
            best_epoch=r.best_epoch,
            device=stored.device,
            timings={"total_s": r.seconds},
            cache=r.start.get("cache", ""),
        )
        return JobSnapshot(
            f"replay-{i}",
            "",
            r.label,
            "replay",
            r.config,
            r.status,
            None,
            None,
            batches,
            epochs,
            result,
            "",
            r.message,
            t,
            t,
            t + r.seconds,
        )

    # A replay has no RunStarted; its validation size (for the 95% intervals) is kept in the record.
    st.session_state[REPLAY_SIZES] = {f"replay-{i}": r.start.get("val_images") for i, r in enumerate(stored.runs)}
    return [snapshot(i, r) for i, r in enumerate(stored.runs)]


def val_images(snap: JobSnapshot) -> int | None:
    """How many validation images the run's accuracies were measured on (None: not known)."""
    if snap.start is not None and snap.start.val_images:
        return snap.start.val_images
    if snap.result is not None and snap.result.val_true:
        return len(snap.result.val_true)
    return st.session_state.get(REPLAY_SIZES, {}).get(snap.id) or None


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
        _calibrate(snap)
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


def progress_numbers(snap: JobSnapshot) -> dict:
    """Fraction done, epoch, images/s and a naive ETA (time per step so far x steps left)."""
    cfg = snap.config
    if not snap.batches:
        return {"fraction": 0.0, "epoch": 0, "ips": None, "eta": None}
    last = snap.batches[-1]
    total = last.steps * cfg.epochs
    done = last.global_step
    first_t = snap.batches[0].elapsed
    per_step = (last.elapsed - first_t) / max(1, done - 1) if done > 1 else None
    eta = per_step * (total - done) if per_step is not None else None
    return {"fraction": min(1.0, done / max(1, total)), "epoch": last.epoch, "ips": last.images_per_s, "eta": eta}


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
    rate = charts.live_rate_chart(snap.config, batches)  # only when a schedule moves the rate
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
    with st.container(key="lab_runbar"):
        left, right = st.columns([5, 1], vertical_alignment="center")
        with left:
            for snap in snaps:
                if snap.active:
                    _status_line(snap, counts)
        if right.button("Stop", key="lab_stop", type="secondary", icon="⏹️", width="stretch"):
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
    if focus.start is not None and focus.start.cache:
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


def _calibrate(snap: JobSnapshot) -> None:
    """Teach the time estimate how fast this server really is (complete runs only)."""
    total = snap.result.timings.get("total_s") if snap.result else None
    if snap.status == "finished" and total and snap.start is not None and snap.start.train_images:
        predicted = estimate_config(
            snap.config, snap.start.train_images, snap.start.val_images, "cpu" if snap.result.device == "cpu" else "gpu"
        )
        record_run(predicted.seconds, total)


def history_row(snap: JobSnapshot, number: int) -> dict:
    """The run as the history keeps it (plain JSON values: it is stored in the progress database)."""
    cfg, final = snap.config, (snap.epochs[-1] if snap.epochs else None)
    return {
        "id": snap.id,
        "label": snap.label or f"run {number}",
        "status": snap.status,
        **settings_of(cfg),
        "epochs": f"{len(snap.epochs)}/{cfg.epochs}",
        "val_acc": final and final.val_acc,
        "val_images": val_images(snap),
        "train_acc": final and final.train_acc,
        "seconds": round((snap.finished or 0) - (snap.started or snap.created), 1),
        "curve": [
            {
                "epoch": e.epoch,
                "val_acc": e.val_acc,
                "train_acc": e.train_acc,
                "val_loss": e.val_loss,
                "train_loss": e.train_loss,
            }
            for e in snap.epochs
        ],
        "message": snap.message,
    }


def num_classes_of(snap: JobSnapshot) -> int:
    classes = (snap.start.classes if snap.start else ()) or (snap.result.class_names if snap.result else [])
    return len(classes) or 10


def final_acc(snap: JobSnapshot) -> float | None:
    best = snap.result.best_epoch if snap.result else None
    final = analysis.final_epoch(snap.status, snap.epochs, best)
    return final.val_acc if final else None


def show_outcome(snap: JobSnapshot) -> None:
    """The end reason, and what it means (chance level, a wrecked model, a better earlier epoch)."""
    name = f"**{snap.label}**: " if snap.label else ""
    best = snap.result.best_epoch if snap.result else None
    verdict = analysis.run_verdict(
        snap.status, snap.epochs, num_classes_of(snap), snap.config, snap.message, snap.error, best
    )
    icon = {
        "success": "✅",
        "error": "💥" if snap.status == "diverged" else ("🚫" if snap.status == "failed" else "🎲"),
        "info": "⏹️",
    }.get(verdict.level, "ℹ️")
    if snap.status == "early_stopped" and verdict.level == "success":
        icon = "🛑"
    draw = {"success": st.success, "error": st.error, "warning": st.warning}.get(verdict.level, st.info)
    draw(name + verdict.headline, icon=icon)
    for note in verdict.notes:
        st.caption(f"⭐ {note}")


def _tabs():
    names = ["📈 Curves", "🔎 Scores and mistakes", "🧩 Quiz on your run", "📷 Try your own photo", "💾 Export"]
    return st.tabs(names, key="lab_result_tabs")


def accuracy_of(acc: float | None, n: int | None) -> stats.Accuracy | None:
    """A final validation accuracy on `n` images as an Accuracy, or None when either is not known."""
    return stats.Accuracy.of(acc, n) if acc is not None and acc == acc and n else None


def compare_runs(finals: list[tuple[str, float | None, int | None]]) -> str:
    """The leader against the runner-up: with intervals ("within noise") when both sizes are known."""
    ranked = sorted((f for f in finals if f[1] is not None), key=lambda f: -f[1])
    if len(ranked) < 2:
        return ""
    first, second = accuracy_of(*ranked[0][1:]), accuracy_of(*ranked[1][1:])
    if first is None or second is None:
        return analysis.compare_finals([(label, acc) for label, acc, _ in ranked])
    return stats.compare(ranked[0][0], first, ranked[1][0], second)


def _pick_run(snaps: list[JobSnapshot], key: str) -> JobSnapshot:
    if len(snaps) == 1:
        return snaps[0]
    labels = [s.label or s.id for s in snaps]
    chosen = st.radio("Run", labels, horizontal=True, key=key)
    return snaps[labels.index(chosen)] if chosen in labels else snaps[0]


def show_ended(snaps: list[JobSnapshot], projector: bool = False, reveal: str = "") -> None:
    """Outcomes first, then the results in tabs (curves, scores, a quiz on the run, own photo, export)."""
    for snap in snaps:
        show_outcome(snap)
    verdict = compare_runs([(s.label or s.id, final_acc(s), val_images(s)) for s in snaps if s.epochs])
    if verdict:
        st.markdown("🏁 " + verdict)
    if reveal:
        st.markdown(reveal)
    drawn = [s for s in snaps if s.epochs]
    if not drawn:
        return
    curves_tab, scores_tab, quiz_tab, photo_tab, export_tab = _tabs()
    sizes = {s.label or s.id: val_images(s) for s in drawn}
    results = st.session_state.get(RESULTS, {})
    with curves_tab:
        focus = _pick_run(drawn, "lab_end_pick_curves")
        overlay = None
        if len(drawn) > 1:
            overlay = overlay_chart([(s.label or s.id, rows(s.epochs)) for s in drawn], val_n=sizes)
        if focus.start is not None and focus.start.notes:
            st.caption("Notes: " + "; ".join(focus.start.notes))
        draw_run_charts(focus, f"lab_end_{focus.id}", projector, overlay)
        if len(drawn) > 1 and not projector:
            show_chart(
                overlay_chart([(s.label or s.id, rows(s.epochs)) for s in drawn], "val_loss", "Validation loss"),
                "lab_end_overlay_loss",
            )
    with scores_tab:
        focus = _pick_run(drawn, "lab_end_pick_scores")
        _results_part("scores", results.get(focus.id), focus)
    with quiz_tab:
        from ui.lab.run_quiz import render_run_quiz

        focus = _pick_run(drawn, "lab_end_pick_quiz")
        render_run_quiz(focus.epochs, focus.id)
    with photo_tab:
        focus = _pick_run(drawn, "lab_end_pick_photo")
        _results_part("photo", results.get(focus.id), focus)
    with export_tab:
        focus = _pick_run(drawn, "lab_end_pick_export")
        _results_part("export", results.get(focus.id), focus)


def _results_part(part: str, result, snap: JobSnapshot) -> None:
    from ui.lab import results as lab_results

    if result is None or snap.status == "failed":
        st.info(
            "A replayed or expired run keeps its curves and numbers only: run it live to get its model "
            "(predictions, photos and downloads)."
        )
        return
    data = st.session_state.get(RUN_DATA, {}).get(snap.id)
    name = snap.label or snap.id
    {
        "scores": lambda: lab_results.render_scores(result, snap.id, data),
        "photo": lambda: lab_results.render_photo(result, snap.id, data),
        "export": lambda: lab_results.render_downloads(result, snap.id, name),
    }[part]()


def compare_selection(history: list[dict]) -> list[str]:
    """The Compare picker's selection: what the learner chose, plus every run new since the last
    draw (a multiselect's `default` is read once, so new runs never appeared: issue 10)."""
    ss = st.session_state
    ids = [row["id"] for row in history if row["curve"]]
    seen = set(ss.get(COMPARE_SEEN, []))
    ss[COMPARE_SEEN] = ids
    if not seen:
        return ids[-3:]
    kept = [i for i in ss["lab_compare"] if i in ids] if "lab_compare" in ss else ids[-3:]
    return kept + [i for i in ids if i not in seen and i not in kept]


def history_table(history: list[dict]) -> pd.DataFrame:
    """The history rows as the table shows them: each validation accuracy with its 95% interval and
    how it stands against the best run (rows stored before sizes were kept show neither)."""
    accs = [accuracy_of(r.get("val_acc"), r.get("val_images")) for r in history]
    table = pd.DataFrame(
        [{k: v for k, v in row.items() if k not in ("curve", "id", "message", "val_images")} for row in history]
    )
    at = list(table.columns).index("val_acc") + 1 if "val_acc" in table.columns else len(table.columns)
    table.insert(at, "val 95%", [a.band() if a else "" for a in accs])
    table.insert(at + 1, "vs best", stats.versus_best(accs))
    return table


def _compare_picked(finals: list[tuple[str, float | None, int | None]]) -> None:
    """Under the Compare chart: the leader against the runner-up, and whether the validation sets
    are big enough to tell runs 5 points apart."""
    text = compare_runs(finals)
    if text:
        st.markdown("⚖️ " + text)
    known = [f for f in finals if accuracy_of(*f[1:]) is not None]
    if len(known) > 1:
        _, acc, n = min(known, key=lambda f: f[2])  # the smallest validation set limits the comparison
        warning = stats.too_small_warning(acc, n)
        if warning:
            st.caption(f"📏 {warning}")


def show_history(projector: bool = False) -> None:
    history = st.session_state.get(HISTORY, [])
    if not history:
        return
    st.divider()
    st.subheader("Your runs")
    st.dataframe(
        history_table(history),
        hide_index=True,
        column_config={
            "val_acc": st.column_config.NumberColumn("val acc", format="percent"),
            "val 95%": st.column_config.TextColumn(
                "val 95%",
                help="The 95% interval of the validation accuracy (Wilson): with this many validation "
                "images the model's accuracy most likely lies in this range.",
            ),
            "vs best": st.column_config.TextColumn(
                "vs best",
                help="Against the run with the highest validation accuracy: 'within noise' when the two "
                "95% intervals overlap, so the validation set cannot tell them apart.",
            ),
            "train_acc": st.column_config.NumberColumn("train acc", format="percent"),
            "lr": st.column_config.NumberColumn("lr", format="%.0e"),
        },
    )
    labels = {row["id"]: f"{i + 1}. {row['label']}" for i, row in enumerate(history)}
    st.session_state["lab_compare"] = compare_selection(history)
    chosen = st.multiselect("Compare runs", list(labels), format_func=labels.get, key="lab_compare")
    picked = [row for row in history if row["id"] in chosen and row["curve"]]
    curves = [(labels[row["id"]], row["curve"]) for row in picked]
    if curves:
        sizes = {labels[row["id"]]: row.get("val_images") for row in picked}
        show_chart(overlay_chart(curves, val_n=sizes), "lab_history_overlay", projector)
        _compare_picked([(labels[row["id"]], row.get("val_acc"), row.get("val_images")) for row in picked])
    if st.button("Clear history", key="lab_clear_history"):
        safe_store_call(get_progress_store().clear_lab_runs, current_learner())
        st.session_state[HISTORY] = []
        st.session_state[UNSAVED] = []
        st.session_state[RESULTS] = OrderedDict()
        st.session_state[COMPARE_SEEN] = []
        st.rerun()
