"""Concepts / cheat sheet: a table of contents, then every concept in teaching order with its
diagrams and figures, PyTorch and Keras code in tabs, a link into the lab, and the key takeaways and
use cases at the end."""

import streamlit as st

from ui.lesson_widgets import (
    LEVEL_FILTER,
    badge,
    by_level,
    code_tabs,
    done_ids,
    figure_block,
    lab_link,
    lessons,
    mark_done,
)

L = lessons()

st.title("📘 Concepts")
st.caption("The cheat sheet: read top to bottom the first time, come back to any card later.")

level = st.radio("Show", LEVEL_FILTER, horizontal=True, key="concepts_level", format_func=str.capitalize)
concepts = by_level(L.concepts, level)
done = done_ids("concept")
n_done = len(done & {c.id for c in L.concepts})
st.progress(n_done / max(len(L.concepts), 1), text=f"Understood: {n_done} of {len(L.concepts)} concepts")

TOC_ANCHOR = "contents"
TAKEAWAYS_ANCHOR, USE_CASES_ANCHOR = "key-takeaways", "use-cases"


def table_of_contents(concepts, done: set) -> None:
    """Numbered links to every concept shown (17,700 px of page without them), in three columns."""
    links = [f"{i}. [{c.title}](#{c.id}){' ✅' if c.id in done else ''}" for i, c in enumerate(concepts, 1)]
    with st.container(border=True, key="concepts_toc"):
        st.subheader("Contents", anchor=TOC_ANCHOR)
        per = max(1, -(-len(links) // 3))
        for column, start in zip(st.columns(3), range(0, len(links), per)):
            column.markdown("\n".join(links[start : start + per]))  # "7. ..." starts a list at 7
        extra = [f"🔑 [Key takeaways](#{TAKEAWAYS_ANCHOR})"]
        if L.use_cases:
            extra.append(f"🌼 [Use cases](#{USE_CASES_ANCHOR})")
        st.markdown(" · ".join(extra))


table_of_contents(concepts, done)

for concept in concepts:
    with st.container(border=True):
        tick = " ✅" if concept.id in done else ""
        st.subheader(f"{concept.title}{tick} {badge(concept.level)}", anchor=concept.id)
        # Next to the heading, so the way back is on screen where a contents link lands.
        st.markdown(f"*{concept.summary}* · [↑ Contents](#{TOC_ANCHOR})")
        st.markdown(concept.body)
        if concept.diagram:
            st.graphviz_chart(concept.diagram)
        for figure in L.figures_for(concept=concept.id):
            figure_block(figure)
        code_tabs(("PyTorch", concept.pytorch or ""), ("Keras", concept.keras or ""))
        cols = st.columns(2)
        with cols[0]:
            if concept.lab_preset:
                lab_link(concept.lab_preset)
        with cols[1]:
            if concept.id not in done and st.button("Mark as understood", key=f"concepts_done_{concept.id}"):
                mark_done("concept", concept.id)
                st.rerun()

if not concepts:
    st.info("No concepts at this level yet.")

st.header("🔑 Key takeaways", anchor=TAKEAWAYS_ANCHOR)
for takeaway in L.takeaways:
    st.markdown(f"- {takeaway.text}")

if L.use_cases:
    st.header("🌼 Use cases: from scratch vs fine-tuned", anchor=USE_CASES_ANCHOR)
for case in L.use_cases:
    with st.container(border=True):
        st.subheader(case.title)
        st.markdown(case.body)
        cols = st.columns(2)
        with cols[0]:
            st.markdown("**🐢 Trained from scratch**")
            st.markdown(case.scratch)
            if case.scratch_code:
                st.code(case.scratch_code.rstrip(), language="python")
        with cols[1]:
            st.markdown("**🚀 Fine-tuned**")
            st.markdown(case.fine_tuned)
            if case.fine_tuned_code:
                st.code(case.fine_tuned_code.rstrip(), language="python")
