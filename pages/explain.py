"""Explain it: the learner explains a concept in their own words, then earns a mark that can be trusted.

The mark comes from the prompt's misconception probes and the learner's own check of their text
against the model answer and checklist (core.content.explain_probes). Text matching
(core.content.scoring) only suggests what it noticed, and says so; the teacher may read the answer
and comment, and the comment comes back on Progress.
"""

from dataclasses import dataclass, replace

import streamlit as st

from core.content.explain_probes import ExplainMark, grade_probes, option_order
from core.content.scoring import OPPOSITE, SPOTTED, SUGGESTION_NOTICE, score_explanation, suggestions
from ui.common import current_learner
from ui.lesson_widgets import badge, lessons, store_call

S = st.session_state
L = lessons()
PROMPTS = {p.id: p for p in L.prompts}
ICONS = {SPOTTED: "🔎", OPPOSITE: "🔄"}


@dataclass(frozen=True)
class Attempt:
    """One submitted answer in this session: its id in the store (None when the store is down)."""

    attempt_id: int | None
    notes: tuple
    outcomes: tuple | None = None
    mark: ExplainMark | None = None


st.title("✍️ Explain it")
st.caption(
    "Teaching is the best test of understanding. Write a short explanation, answer a few quick "
    "probes, then check your text against the model answer."
)

if not PROMPTS:
    st.info("No prompts yet.")
    st.stop()


def clear_answer() -> None:
    # A new prompt gets a blank page rather than the previous answer.
    S.explain_text = ""


def submit(prompt, text: str) -> None:
    attempts = S.setdefault("explain_attempts", {})
    if not text.strip():
        attempts.pop(prompt.id, None)
        S.explain_empty = prompt.id
        return
    S.explain_empty = None
    attempt_id = store_call(
        "start_explain", current_learner(), prompt.id, text, len(prompt.probes), len(prompt.checklist)
    )
    notes = suggestions(score_explanation(text, prompt.checklist), {i.id: i.label for i in prompt.checklist})
    attempts[prompt.id] = Attempt(attempt_id, notes)
    for key in [k for k in S if str(k).startswith((f"explain_probe_{prompt.id}_", f"explain_self_{prompt.id}_"))]:
        del S[key]  # a new answer starts with fresh probes and no ticks


def show_suggestions(attempt: Attempt) -> None:
    with st.container(border=True, key="explain_suggestions"):
        st.markdown("**What text matching noticed** (suggestions, not a mark)")
        st.caption(SUGGESTION_NOTICE)
        for note in attempt.notes:
            words = f"\n\nYour words: “{note.evidence}”" if note.evidence else ""
            st.markdown(f"{ICONS.get(note.kind, '👀')} {note.text}{words}")


def probes_form(prompt, attempt: Attempt) -> Attempt:
    """The probes, options in this learner's order; graded when the form is sent."""
    learner = current_learner()
    orders = {p.id: option_order(learner, prompt.id, p.id, len(p.options)) for p in prompt.probes}
    with st.form("explain_probes"):
        st.markdown("**Probes**: one quick question per common mix-up. These count towards your mark.")
        for p in prompt.probes:
            st.radio(
                p.question,
                [p.options[i].text for i in orders[p.id]],
                index=None,
                key=f"explain_probe_{prompt.id}_{p.id}",
            )
        sent = st.form_submit_button("Check my answers", type="primary")
    if not sent:
        return attempt
    chosen = {}
    for p in prompt.probes:
        shown = [p.options[i].text for i in orders[p.id]]
        picked = S.get(f"explain_probe_{prompt.id}_{p.id}")
        chosen[p.id] = orders[p.id][shown.index(picked)] if picked in shown else None
    return replace(attempt, outcomes=grade_probes(prompt.probes, chosen), mark=None)


def show_outcomes(prompt, attempt: Attempt) -> None:
    for p, outcome in zip(prompt.probes, attempt.outcomes):
        if outcome.chosen is None:
            st.warning(f"**{p.question}** Not answered, so it counts as wrong.", icon="⚪")
        elif outcome.correct:
            st.success(f"**{p.question}** Right. {outcome.why}", icon="✅")
        else:
            st.error(
                f"**{p.question}** Not quite: {outcome.why} Right: “{p.options[p.correct_index].text}”.", icon="❌"
            )


def self_check_form(prompt, attempt: Attempt) -> Attempt:
    with st.container(border=True, key="explain_model"):
        st.markdown("**Model answer**")
        st.markdown(prompt.model_answer)
    with st.form("explain_self_check"):
        st.markdown("**Check yourself** 🙋: tick an idea only if your own text says it, in any words.")
        for item in prompt.checklist:
            st.checkbox(item.label, key=f"explain_self_{prompt.id}_{item.id}")
        sent = st.form_submit_button("Save my mark", type="primary")
    if not sent:
        return attempt
    ticked = sum(bool(S.get(f"explain_self_{prompt.id}_{item.id}")) for item in prompt.checklist)
    right = sum(o.correct for o in attempt.outcomes)
    mark = ExplainMark(right, len(prompt.probes), ticked, len(prompt.checklist))
    if attempt.attempt_id is not None:
        store_call("mark_explain", current_learner(), attempt.attempt_id, right, ticked)
    return replace(attempt, mark=mark)


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
if st.button("Submit my explanation", key="explain_score", type="primary"):
    submit(prompt, text)

if S.get("explain_empty") == pid:
    st.info("Nothing to check yet. Write a sentence or two first; rough notes are fine, this is practice.", icon="✏️")

attempts = S.setdefault("explain_attempts", {})
attempt = attempts.get(pid)
if attempt is None:
    st.stop()

show_suggestions(attempt)
if attempt.outcomes is None:
    attempt = attempts[pid] = probes_form(prompt, attempt)
if attempt.outcomes is None:
    st.stop()
show_outcomes(prompt, attempt)
attempt = attempts[pid] = self_check_form(prompt, attempt)
if attempt.mark is not None:
    (st.success if attempt.mark.mastered else st.warning)(
        f"Your mark: **{attempt.mark.summary()}**." + (" Every idea mastered." if attempt.mark.mastered else "")
    )
    st.caption("Your teacher can read this answer and comment on it; comments appear on your Progress page.")
