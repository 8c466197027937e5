"""Explain it: the learner explains a concept in their own words and sees which key ideas it covered.

Scoring is a checklist of ideas (core.scoring), not a grade: the point is to notice what was left out,
then compare with a model answer.
"""
import streamlit as st

from core.scoring import score_explanation
from pages.common import current_learner, require_app_frame
from pages.lesson_widgets import badge, lessons, store_call

require_app_frame()

S = st.session_state
L = lessons()
PROMPTS = {p.id: p for p in L.prompts}

st.title("✍️ Explain it")
st.caption("Teaching is the best test of understanding. Write a short explanation, then see what it covered.")

if not PROMPTS:
    st.info("No prompts yet.")
    st.stop()


def clear_answer() -> None:
    # A new prompt gets a blank page rather than the previous answer.
    S.explain_text = ""


pid = st.selectbox(
    "Choose a prompt",
    list(PROMPTS),
    format_func=lambda i: f"{PROMPTS[i].prompt.splitlines()[0][:90]} ({PROMPTS[i].level})",
    key="explain_prompt",
    on_change=clear_answer,
)
prompt = PROMPTS[pid]
st.subheader(f"{prompt.prompt} {badge(prompt.level)}")
st.info(f"**Hint:** {prompt.hint}", icon="💡")

text = st.text_area("Your explanation", key="explain_text", height=180, placeholder="In my own words...")
results = S.setdefault("explain_results", {})  # prompt id -> ExplainScore for the last scored answer

if st.button("Score my answer", key="explain_score", type="primary"):
    if not text.strip():
        results.pop(pid, None)
        S.explain_empty = pid
    else:
        S.explain_empty = None
        result = score_explanation(text, prompt.checklist)
        results[pid] = result
        store_call("record_explain", current_learner(), pid, len(result.found), result.total, text)

if S.get("explain_empty") == pid:
    st.info("Nothing to score yet. Write a sentence or two first; rough notes are fine, this is practice.", icon="✏️")

result = results.get(pid)
if result is not None:
    labels = {item.id: item.label for item in prompt.checklist}
    found = len(result.found)
    (st.success if found == result.total else st.warning)(f"Your answer covers **{result.summary()}**.")
    cols = st.columns(2)
    with cols[0]:
        st.markdown("**Covered**")
        for cid in result.found:
            st.markdown(f"- ✅ {labels.get(cid, cid)}")
    with cols[1]:
        st.markdown("**Not mentioned yet**")
        for cid in result.missing:
            st.markdown(f"- ⬜ {labels.get(cid, cid)}")
        if not result.missing:
            st.markdown("Nothing: every key idea is there.")
    with st.container(border=True):
        st.markdown("**Model answer**")
        st.markdown(prompt.model_answer)
