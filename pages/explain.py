"""Explain it: the learner explains a concept in their own words and sees which claims it made.

Each checklist item is a claim (core.content.scoring): the page shows which ones the answer states, names
any misconception it matched (quoting the learner's sentence), and for what text matching cannot
decide it asks the learner to compare with the model answer and tick the item themselves. Those
ticks are stored as self-assessed ("explain-self" done items), apart from the graded score that
goes into the progress store.
"""

import streamlit as st

from core.content.scoring import COVERED, MISCONCEPTION, MISSING, UNCLEAR, score_explanation
from ui.common import current_learner, require_app_frame
from ui.lesson_widgets import badge, lessons, store_call

SELF_KIND = "explain-self"  # done-item kind for items the learner ticked after comparing

require_app_frame()

S = st.session_state
L = lessons()
PROMPTS = {p.id: p for p in L.prompts}

st.title("✍️ Explain it")
st.caption("Teaching is the best test of understanding. Write a short explanation, then see what it said.")

if not PROMPTS:
    st.info("No prompts yet.")
    st.stop()


def clear_answer() -> None:
    # A new prompt gets a blank page rather than the previous answer.
    S.explain_text = ""


def self_ref(pid: str, item_id: str) -> str:
    return f"{pid}/{item_id}"


def clear_self_checks(prompt) -> None:
    """Ticks belong to one answer: a newly scored answer starts with none."""
    for item in prompt.checklist:
        store_call("unmark_done", current_learner(), SELF_KIND, self_ref(prompt.id, item.id))
        S.pop(f"explain_self_{prompt.id}_{item.id}", None)


def save_self_check(pid: str, item_id: str) -> None:
    ticked = S.get(f"explain_self_{pid}_{item_id}")
    method = "mark_done" if ticked else "unmark_done"
    store_call(method, current_learner(), SELF_KIND, self_ref(pid, item_id))


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
        clear_self_checks(prompt)
        store_call("record_explain", current_learner(), pid, len(result.found), result.total, text)

if S.get("explain_empty") == pid:
    st.info("Nothing to score yet. Write a sentence or two first; rough notes are fine, this is practice.", icon="✏️")

result = results.get(pid)
if result is None:
    st.stop()

labels = {item.id: item.label for item in prompt.checklist}
(st.success if result.score == result.total else st.warning)(f"Graded: your answer covers **{result.summary()}**.")

with st.container(key="explain_graded"):
    for v in result.verdicts:
        if v.status == COVERED:
            st.markdown(f"- ✅ {labels[v.id]}")
        elif v.status == MISCONCEPTION:
            st.error(f"**{labels[v.id]}** (not counted). {v.feedback}\n\nYour words: “{v.evidence}”", icon="❌")

open_items = result.with_status(UNCLEAR, MISSING)
with st.container(border=True, key="explain_model"):
    st.markdown("**Model answer**")
    st.markdown(prompt.model_answer)

if open_items:
    done = {ref for _, ref in store_call("done_items", current_learner(), SELF_KIND, default=set())}
    with st.container(border=True, key="explain_self_check"):
        st.markdown(
            "**Check yourself** 🙋: text matching could not find these in your answer. "
            "Compare with the model answer above, and tick an item only if your answer says it."
        )
        for v in open_items:
            key = f"explain_self_{pid}_{v.id}"
            if key not in S:
                S[key] = self_ref(pid, v.id) in done
            hint = f" ({v.note})" if v.note else ""
            st.checkbox(f"{labels[v.id]}{hint}", key=key, on_change=save_self_check, args=(pid, v.id))
        ticked = sum(bool(S.get(f"explain_self_{pid}_{v.id}")) for v in open_items)
        st.caption(
            f"Self-assessed: {ticked} of {len(open_items)} ticked. Ticks are yours, recorded as "
            f"self-assessed and kept apart from the graded {result.summary()}."
        )
elif result.score == result.total:
    st.markdown("Every key idea is there.")
