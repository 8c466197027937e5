"""Pitfalls: common fine-tuning bugs as wrong vs correct code with the changed lines marked, the root
cause, figures where a picture explains it, and a lab preset that reproduces the bug so the learner
can watch it happen."""

import streamlit as st

from ui.lesson_widgets import code_diff, done_ids, figure_block, lab_link, lessons, mark_done

L = lessons()

st.title("🕳️ Pitfalls")
st.caption("Each one is a bug that silently costs accuracy. Spot the difference, then see why it matters.")

done = done_ids("pitfall")
for pitfall in L.pitfalls:
    with st.container(border=True):
        tick = " ✅" if pitfall.id in done else ""
        st.subheader(f"{pitfall.title}{tick}", anchor=pitfall.id)
        if pitfall.symptom:
            st.markdown(f"**Symptom:** {pitfall.symptom}")
        code_diff(pitfall.wrong_code, pitfall.correct_code)
        st.markdown(f"**Root cause:** {pitfall.root_cause}")
        for figure in L.figures_for(pitfall=pitfall.id):
            figure_block(figure)
        cols = st.columns(2)
        with cols[0]:
            if pitfall.lab_preset:
                lab_link(pitfall.lab_preset, "Try it in the lab: watch this bug happen")
        with cols[1]:
            if pitfall.id not in done and st.button("Got it", key=f"pitfalls_done_{pitfall.id}"):
                mark_done("pitfall", pitfall.id)
                st.rerun()

if not L.pitfalls:
    st.info("No pitfalls yet.")
