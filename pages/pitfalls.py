"""Pitfalls: one common fine-tuning bug at a time, as wrong vs correct code with the changed lines
marked, the root cause with its figure beside it, and a lab preset that reproduces the bug so the
learner can watch it happen; a contents list in the sidebar and Previous / Next.

`?pitfall=<id>` in the address picks the pitfall; the old page's anchors (`#<id>`) still lead to theirs."""

import streamlit as st

from ui.lesson_widgets import code_diff, done_ids, figure_block, lab_link, lessons, mark_done
from ui.one_at_a_time import choose, contents, follow_old_anchor, step_buttons, unknown_note

L = lessons()
PARAM = "pitfall"

st.title("🕳️ Pitfalls")
st.caption("Each one is a bug that silently costs accuracy. Spot the difference, then see why it matters.")

follow_old_anchor(PARAM, [p.id for p in L.pitfalls])
done = done_ids("pitfall")
place = choose(PARAM, [p.id for p in L.pitfalls])
contents("pitfalls", PARAM, [(p.id, p.title) for p in L.pitfalls], place, done)
unknown_note(place, "pitfall")


def show_pitfall(pitfall) -> None:
    """One pitfall: symptom, the two snippets (full width: code never wraps), the root cause with its
    figures beside it (stacked on a narrow screen), the lab link and the "got it" button."""
    with st.container(border=True, key=f"pitfall_{pitfall.id}"):
        tick = " ✅" if pitfall.id in done else ""
        st.subheader(f"{pitfall.title}{tick}", anchor=pitfall.id)
        if pitfall.symptom:
            st.markdown(f"**Symptom:** {pitfall.symptom}")
        code_diff(pitfall.wrong_code, pitfall.correct_code)
        figures = L.figures_for(pitfall=pitfall.id)
        text, beside = st.columns([5, 4], gap="large") if figures else (st.container(), None)
        text.markdown(f"**Root cause:** {pitfall.root_cause}")
        if beside is not None:
            with beside:
                for figure in figures:
                    figure_block(figure)
        cols = st.columns(2)
        with cols[0]:
            if pitfall.lab_preset:
                lab_link(pitfall.lab_preset, "Try it in the lab: watch this bug happen")
        with cols[1]:
            if pitfall.id not in done and st.button("Got it", key=f"pitfalls_done_{pitfall.id}"):
                mark_done("pitfall", pitfall.id)
                st.rerun()


if place.current is None:
    st.info("No pitfalls yet.")
else:
    show_pitfall(next(p for p in L.pitfalls if p.id == place.current))
    step_buttons("pitfalls", PARAM, place, {p.id: p.title for p in L.pitfalls}, "pitfall")
