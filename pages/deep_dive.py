"""Deep dive: the step-by-step build-up (predict before each reveal), myth busters, and the longer
sections for learners who want the why behind fine-tuning."""
import streamlit as st

from pages.lesson_widgets import badge, done_ids, lessons, mark_done, predict_block
from pages.common import require_app_frame

require_app_frame()

L = lessons()

st.title("🤿 Deep dive")
st.caption("Commit to a prediction before each reveal: being surprised is how the idea sticks.")

steps_done, myths_done = done_ids("step"), done_ids("myth")
tab_steps, tab_myths, tab_deeper = st.tabs(["Build-up", "Myth busters", "Going deeper"])

with tab_steps:
    n_done = len(steps_done & {s.id for s in L.steps})
    st.progress(n_done / max(len(L.steps), 1), text=f"Steps done: {n_done} of {len(L.steps)}")
    for number, step in enumerate(L.steps, start=1):
        with st.container(border=True):
            st.subheader(f"Step {number}: {step.title} {badge(step.level)}")
            st.markdown(step.body)
            if step.predict:
                p = step.predict
                outcome = predict_block(f"dive_step_{step.id}", p.question, list(p.options), p.answer)
                if outcome is None:
                    continue  # the explanation stays hidden until a prediction is locked in
                chosen, right = outcome
                if step.id not in steps_done:
                    mark_done("step", step.id)
                if right:
                    st.success(f"You predicted it: **{p.answer_text}**")
                else:
                    st.error(f"You predicted *{p.options[chosen]}*; the answer is **{p.answer_text}**.")
                st.markdown(p.reveal)
            st.markdown(f"**Result:** {step.result}")
            st.info(step.insight, icon="💡")
            if not step.predict and step.id not in steps_done:
                if st.button("Got it", key=f"dive_done_{step.id}"):
                    mark_done("step", step.id)
                    st.rerun()

with tab_myths:
    if not L.myths:
        st.info("No myths yet.")
    for myth in L.myths:
        with st.container(border=True):
            st.markdown(f"#### “{myth.belief}”")
            outcome = predict_block(f"dive_myth_{myth.id}", "True or false?", ["True", "False"],
                                    0 if myth.predict_answer else 1, locked_label="Lock in my answer")
            if outcome is None:
                continue
            _, right = outcome
            if myth.id not in myths_done:
                mark_done("myth", myth.id)
            verdict = "true" if myth.predict_answer else "false"
            (st.success if right else st.error)(f"{'Right' if right else 'Not quite'}: the belief is **{verdict}**.")
            st.markdown(f"**Reality:** {myth.reality}")
            st.markdown(f"**Why it matters:** {myth.why_it_matters}")

with tab_deeper:
    if not L.sections:
        st.info("No sections yet.")
    for section in L.sections:
        with st.expander(section.title):
            st.markdown(section.body)
            if section.diagram:
                st.graphviz_chart(section.diagram)
