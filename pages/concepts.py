"""Concepts / cheat sheet: one concept at a time, in teaching order, with its diagrams and figures
beside the text, PyTorch and Keras code in tabs and a link into the lab; a contents list in the
sidebar, Previous / Next, and the key takeaways and use cases as pages of their own.

`?concept=<id>` in the address picks the concept (also `key-takeaways` and `use-cases`); the old
page's anchors (`#<id>`) still lead to theirs."""

import streamlit as st

from core.content.browse import normalise_id
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
from ui.one_at_a_time import choose, contents, follow_old_anchor, go_to, step_buttons, unknown_note

L = lessons()
PARAM = "concept"
TAKEAWAYS, USE_CASES = "key-takeaways", "use-cases"  # the old page's anchors, kept as ids
EXTRAS = [(TAKEAWAYS, "🔑 Key takeaways")] + ([(USE_CASES, "🌼 Use cases")] if L.use_cases else [])

st.title("📘 Concepts")
st.caption("The cheat sheet: one concept at a time, in teaching order. Come back to any card later.")

follow_old_anchor(PARAM, [c.id for c in L.concepts] + [item_id for item_id, _ in EXTRAS])
# A link to a concept outside the level picked earlier shows it: the picker goes back to "all".
linked = next((c for c in L.concepts if c.id == normalise_id(st.query_params.get(PARAM))), None)
if linked and st.session_state.get("concepts_level", "all") not in ("all", linked.level):
    st.session_state["concepts_level"] = "all"
level = st.radio(
    "Show",
    LEVEL_FILTER,
    horizontal=True,
    key="concepts_level",
    format_func=str.capitalize,
    on_change=go_to,  # a new level starts at its first concept
    args=(PARAM, None),
)
concepts = by_level(L.concepts, level)
done = done_ids("concept")
n_done = len(done & {c.id for c in L.concepts})
st.progress(n_done / max(len(L.concepts), 1), text=f"Understood: {n_done} of {len(L.concepts)} concepts")

place = choose(PARAM, [c.id for c in concepts], [item_id for item_id, _ in EXTRAS])
contents("concepts", PARAM, [(c.id, c.title) for c in concepts], place, done, EXTRAS)
unknown_note(place, "concept")


def show_concept(concept) -> None:
    """One concept: heading, summary, the text with its diagram and figures beside it (stacked on a
    narrow screen), code tabs, the lab link and the "understood" button."""
    with st.container(border=True, key=f"concept_{concept.id}"):
        tick = " ✅" if concept.id in done else ""
        st.subheader(f"{concept.title}{tick} {badge(concept.level)}", anchor=concept.id)
        st.markdown(f"*{concept.summary}*")
        figures = L.figures_for(concept=concept.id)
        text, beside = st.columns([5, 4], gap="large") if concept.diagram or figures else (st.container(), None)
        text.markdown(concept.body)
        if beside is not None:
            with beside:
                if concept.diagram:
                    st.graphviz_chart(concept.diagram)
                for figure in figures:
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


def show_takeaways() -> None:
    st.header("🔑 Key takeaways", anchor=TAKEAWAYS)
    st.markdown("\n".join(f"- {takeaway.text}" for takeaway in L.takeaways))


def show_use_cases() -> None:
    st.header("🌼 Use cases: from scratch vs fine-tuned", anchor=USE_CASES)
    for case in L.use_cases:
        with st.container(border=True):
            st.subheader(case.title)
            st.markdown(case.body)
            for column, (heading, text, code) in zip(
                st.columns(2),
                [
                    ("**🐢 Trained from scratch**", case.scratch, case.scratch_code),
                    ("**🚀 Fine-tuned**", case.fine_tuned, case.fine_tuned_code),
                ],
            ):
                column.markdown(heading)
                column.markdown(text)
                if code:
                    column.code(code.rstrip(), language="python")


titles = {c.id: c.title for c in concepts}
if place.current == TAKEAWAYS:
    show_takeaways()
elif place.current == USE_CASES:
    show_use_cases()
elif place.current is None:
    st.info("No concepts at this level yet.")
else:
    show_concept(next(c for c in concepts if c.id == place.current))
    step_buttons("concepts", PARAM, place, titles, "concept")
    if place.is_last:
        st.button("🔑 On to the key takeaways", key="concepts_to_takeaways", on_click=go_to, args=(PARAM, TAKEAWAYS))
