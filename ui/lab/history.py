"""The learner's run history in the Lab: the table of ended runs, and Compare with its overlay chart.

The rows come from core.runs.history (stored in the progress database by ui.lab.live.collect_all);
this module only draws them.
"""

from __future__ import annotations

from collections import OrderedDict

import pandas as pd
import streamlit as st

from core.runs import stats
from core.runs.history import accuracy_of, compare_runs, kept_note
from ui.common import current_learner, get_progress_store, safe_store_call
from ui.lab.live import HISTORY, RESULTS, UNSAVED, overlay_chart, show_chart

COMPARE_SEEN = "_lab_compare_seen"  # history ids the Compare picker has already offered


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
            "kept_epoch": st.column_config.NumberColumn(
                "kept epoch",
                help="The epoch whose weights the run handed back: early stopping restores the epoch "
                "with the lowest validation loss; the accuracies are that epoch's.",
            ),
            "train_acc": st.column_config.NumberColumn("train acc", format="percent"),
            "lr": st.column_config.NumberColumn("lr", format="%.0e"),
        },
    )
    # A run that handed back an earlier epoch's weights (early stopping) is compared by those weights,
    # and its name says which epoch that was.
    labels = {row["id"]: f"{i + 1}. {row['label']}{kept_note(row)}" for i, row in enumerate(history)}
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
