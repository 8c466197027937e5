"""Deep dive: the step-by-step build-up (predict before each reveal), true-or-myth statements, and
the longer sections for learners who want the why behind fine-tuning.

A step with a prediction shows only its question until the learner commits: the step's text
answers the question, so showing it first would turn the prediction into reading.
"""

import random

import streamlit as st

from core.content.order import shuffled_order
from ui.lesson_widgets import badge, done_ids, lessons, mark_done, predict_block

S = st.session_state
L = lessons()
# One seed per browser session: prediction options keep their order across reruns, and a new
# visit gets a new order, so "the answer is always the second one" cannot be learned.
S.setdefault("dive_seed", random.randrange(1_000_000))


def option_order(step) -> list:
    """Indices of the step's predict options in this session's shuffled order."""
    return shuffled_order(len(step.predict.options), f"{S.dive_seed}-{step.id}")


def predict_step(step) -> bool:
    """The prediction, then (once locked) its verdict and reveal. Returns whether it is locked."""
    p = step.predict
    order = option_order(step)
    shown = [p.options[i] for i in order]
    outcome = predict_block(f"dive_step_{step.id}", p.question, shown, order.index(p.answer))
    if outcome is None:
        st.caption("The explanation opens once you lock in a prediction.")
        return False
    chosen, right = outcome
    if step.id not in steps_done:
        mark_done("step", step.id)
        steps_done.add(step.id)
    if right:
        st.success(f"You predicted it: **{p.answer_text}**")
    else:
        st.error(f"You predicted *{shown[chosen]}*; the answer is **{p.answer_text}**.")
    st.markdown(p.reveal)
    return True


def explain_step(step) -> None:
    st.markdown(step.body)
    st.markdown(f"**Result:** {step.result}")
    st.info(step.insight, icon="💡")


st.title("🤿 Deep dive")
st.caption("Commit to a prediction before each reveal: being surprised is how the idea sticks.")

steps_done, myths_done = done_ids("step"), done_ids("myth")
tab_steps, tab_myths, tab_deeper = st.tabs(["Build-up", "True or myth?", "Going deeper"])

with tab_steps:
    # Drawn after the steps (into this slot above them), so a step locked in this very run counts.
    counter = st.empty()
    for number, step in enumerate(L.steps, start=1):
        with st.container(border=True):
            st.subheader(f"Step {number}: {step.title} {badge(step.level)}")
            if step.predict and not predict_step(step):
                continue
            explain_step(step)
            if not step.predict and step.id not in steps_done:
                if st.button("Got it", key=f"dive_done_{step.id}"):
                    mark_done("step", step.id)
                    st.rerun()
    n_done = len(steps_done & {s.id for s in L.steps})
    counter.progress(n_done / max(len(L.steps), 1), text=f"Steps done: {n_done} of {len(L.steps)}")

with tab_myths:
    st.caption("Some of these statements are true and some are myths. Decide before you read on.")
    if not L.myths:
        st.info("No statements yet.")
    for myth in L.myths:
        with st.container(border=True):
            st.markdown(f"#### “{myth.belief}”")
            outcome = predict_block(
                f"dive_myth_{myth.id}",
                "True or false?",
                ["True", "False"],
                0 if myth.predict_answer else 1,
                locked_label="Lock in my answer",
            )
            if outcome is None:
                continue
            _, right = outcome
            if myth.id not in myths_done:
                mark_done("myth", myth.id)
            verdict = "true" if myth.predict_answer else "false"
            (st.success if right else st.error)(f"{'Right' if right else 'Not quite'}: the statement is **{verdict}**.")
            st.markdown(f"**{'Why it holds' if myth.predict_answer else 'Reality'}:** {myth.reality}")
            st.markdown(f"**Why it matters:** {myth.why_it_matters}")

with tab_deeper:
    if not L.sections:
        st.info("No sections yet.")
    for section in L.sections:
        with st.expander(section.title):
            st.markdown(section.body)
            if section.diagram:
                st.graphviz_chart(section.diagram)
