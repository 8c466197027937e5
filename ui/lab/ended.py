"""The Lab after a run: each run's outcome in words (what its accuracy means), the comparison of a
demo's variants, and the results in tabs (curves, scores, a quiz on the run, own photo, export).
"""

from __future__ import annotations

import streamlit as st

from core.jobs.manager import JobSnapshot
from core.runs import analysis
from core.runs.history import compare_runs, kept_acc, num_classes_of, val_images
from ui.lab.live import RESULTS, RUN_DATA, draw_run_charts, overlay_chart, rows, show_chart


def show_outcome(snap: JobSnapshot) -> None:
    """The end reason, and what it means (chance level, a wrecked model, a better earlier epoch)."""
    name = f"**{snap.label}**: " if snap.label else ""
    best = snap.result.best_epoch if snap.result else None
    verdict = analysis.run_verdict(
        snap.status, snap.epochs, num_classes_of(snap), snap.config, snap.message, snap.error, best, val_images(snap)
    )
    icon = {
        "success": "✅",
        "error": "💥" if snap.status == "diverged" else ("🚫" if snap.status == "failed" else "🎲"),
        "info": "⏹️",
        "warning": "⚠️",
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
    verdict = compare_runs([(s.label or s.id, kept_acc(s), val_images(s)) for s in snaps if s.epochs])
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
    name = snap.label  # the run's id is added by file_stem: naming it twice repeated it in every file name
    {
        "scores": lambda: lab_results.render_scores(result, snap.id, data),
        "photo": lambda: lab_results.render_photo(result, snap.id, data),
        "export": lambda: lab_results.render_downloads(result, snap.id, name),
    }[part]()
