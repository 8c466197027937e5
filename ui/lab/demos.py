"""Classroom demos in the Lab: predict first, run (or replay) all variants, then the reveal.

Predict-before-reveal: a demo's "what to watch for" text gives its result away, so the page asks
"which run wins, and by how much?" before Run all, and shows the text after the runs, next to the
prediction and the measured margin. A demo measured before (core.lab.demo_store) replays at once,
labelled as a replay with when it was measured; every demo shows how long it takes.
"""

from __future__ import annotations

import streamlit as st

from core.data.datasets import DATASETS
from core.jobs.replay import replay_snapshots
from core.lab import demo_store
from core.lab.presets import DEMO_IDS, PRESETS
from core.runs.estimate import estimate_config
from core.runs.history import kept_acc
from core.train.inputs import resolve_device
from ui.lab import ended, live
from ui.lab import state as S

PREDICTION = "_lab_demo_prediction"  # (preset id, predicted winner, margin label)
TIE = "about level (within 2 points)"
MARGINS = {"under 5 points": (0, 5), "5 to 20 points": (5, 20), "more than 20 points": (20, 101)}


def expected_seconds(pid: str) -> tuple[float, str]:
    """(seconds, where the figure comes from): a stored measurement, else the time estimate."""
    runs = PRESETS[pid].runs
    stored = demo_store.load(pid, runs)
    if stored is not None:
        return stored.seconds, f"measured {demo_store.duration(stored.seconds)}"
    device = resolve_device("auto").type
    total = 0.0
    for _, cfg in runs:
        classes = DATASETS[cfg.dataset].num_classes
        total += estimate_config(cfg, cfg.per_class * classes, cfg.val_per_class * classes, device).seconds
    return total, "estimated"


def duration_line(pid: str) -> str:
    stored = demo_store.load(pid, PRESETS[pid].runs)
    if stored is not None:
        return f"⏱️ Live: about {demo_store.duration(stored.seconds)} ({stored.describe()}). ⚡ Replay: instant."
    seconds, how = expected_seconds(pid)
    return (
        f"⏱️ Live: about {demo_store.duration(seconds)} ({how}; run it once, or `./ftlab prepare-demos`, "
        f"for an instant replay)."
    )


def demo_controls(pid: str, key: str) -> None:
    """The prediction, the expected duration and the Run all / Replay buttons of one demo."""
    preset = PRESETS[pid]
    labels = [label for label, _ in preset.runs]
    st.markdown("🔮 **Predict first: which run wins, and by how much?**")
    c1, c2 = st.columns(2)
    winner = c1.radio("Higher validation accuracy at the end", labels + [TIE], index=None, key=f"{key}_guess_{pid}")
    margin = c2.radio("By how much?", list(MARGINS), index=None, key=f"{key}_margin_{pid}", disabled=winner == TIE)
    ready = winner is not None and (winner == TIE or margin is not None)
    st.caption(duration_line(pid))
    stored = demo_store.load(pid, preset.runs)
    run_key = "lab_run_all" if key == "lab" else f"lab_demo_run_{pid}"
    cols = st.columns(2 if stored else 1)
    if stored is not None:
        cols[1].button(
            "⚡ Replay the measured result",
            key=f"{run_key}_replay",
            disabled=not ready,
            type="primary",
            width="stretch",
            on_click=_start,
            args=(pid, winner, margin, True),
        )
    cols[0].button(
        f"▶ Run all {len(labels)} variants live ({' vs '.join(labels)})",
        key=run_key,
        disabled=not ready,
        width="stretch",
        on_click=_start,
        args=(pid, winner, margin, False),
    )
    if not ready:
        st.caption("Answer both questions to unlock the runs: a prediction you commit to makes the result stick.")


def _start(pid: str, winner: str, margin: str | None, from_store: bool) -> None:
    """Button callback (runs before the script, so it may load the demo's first run into the form)."""
    ss = st.session_state
    ss[PREDICTION] = (pid, winner, margin)
    _load_demo(pid)
    stored = demo_store.load(pid, PRESETS[pid].runs) if from_store else None
    if stored is not None:
        live.replay(pid, stored)
    else:
        live.submit_demo(pid, PRESETS[pid].runs)


def demo_list(expanded: bool) -> None:
    """Projector mode: every demo with its prediction and duration (folded while runs are live)."""
    box = st.expander("🎓 Classroom demos: predict, run, then see what to watch for", expanded=expanded)
    for pid in DEMO_IDS:
        with box.container(border=True):
            st.markdown(f"**{PRESETS[pid].title}**")
            st.button("Load its first run into the form", key=f"lab_demo_{pid}", on_click=_load_demo, args=(pid,))
            demo_controls(pid, key="proj")


def _load_demo(pid: str) -> None:
    st.session_state[S.K_PRESET] = pid
    from ui.lab.setup import load_preset

    load_preset()


def reveal(pid: str, finals: list[tuple[str, float]]) -> str:
    """The prediction next to what happened, then the demo's "what to watch for"."""
    text = f"**What to watch for:** {PRESETS[pid].watch_for}"
    guess = st.session_state.get(PREDICTION)
    if not guess or guess[0] != pid or len(finals) < 2:
        return text
    ranked = sorted(finals, key=lambda r: -r[1])
    gap = 100 * (ranked[0][1] - ranked[1][1])
    actual_tie = gap < 2
    _, winner, margin = guess
    if winner == TIE:
        right = actual_tie
        said = "about level"
    else:
        lo, hi = MARGINS.get(margin, (0, 101))
        right = not actual_tie and winner == ranked[0][0] and lo <= gap < hi
        said = f"**{winner}** by {margin}"
    verdict = "✔️ right" if right else "✖️ not this time"
    return f"🔮 You predicted {said}; it was {ranked[0][0]} by {gap:.1f} points: {verdict}.\n\n{text}"


def reveal_for(snaps) -> str:
    """The reveal for a demo's live variants once they all ended ('' for other runs)."""
    batch = st.session_state.get(live.DEMO_BATCH)
    if not batch or [s.id for s in snaps] != batch[1] or not all(s.ended for s in snaps):
        return ""
    finals = [(s.label, kept_acc(s)) for s in snaps if s.epochs]
    return reveal(batch[0], [(label, acc) for label, acc in finals if acc is not None])


def show_replay(pid: str, stored: demo_store.StoredDemo, projector: bool = False) -> None:
    st.info(
        f"⚡ **Replay**, not a live run: **{PRESETS[pid].title}**, {stored.describe()}. Nothing is "
        f"training now; press Run all for a live run.",
        icon="⏪",
    )
    snaps = replay_snapshots(stored)
    finals = [(s.label, kept_acc(s)) for s in snaps if s.epochs]
    ended.show_ended(snaps, projector, reveal=reveal(pid, finals))
