"""Quiz: multiple choice with immediate feedback, a running score and a retry of missed questions."""
import random

import streamlit as st

from pages.common import current_learner, require_app_frame
from pages.lesson_widgets import badge, by_level, lessons, level_filter, store_call

require_app_frame()

S = st.session_state
L = lessons()
QUESTIONS = {q.id: q for q in L.questions}

st.title("❓ Quiz")
st.caption("Pick an answer and get feedback straight away: why the right one is right, and why yours was not.")

# One seed per browser session: reruns keep the option order, a new visit gets a fresh one.
S.setdefault("quiz_seed", random.randrange(1_000_000))


def start_round(ids: list, label: str) -> None:
    S.quiz_round = list(ids)
    S.quiz_round_label = label
    S.quiz_pos = 0
    S.quiz_answers = {}  # question id -> (chosen text, correct)
    S.quiz_recorded = False
    # A new round number gives the answer radios fresh keys, so a retried question starts blank.
    S.quiz_round_no = S.get("quiz_round_no", 0) + 1


def shuffled_options(question) -> list:
    options = list(question.options)
    random.Random(f"{S.quiz_seed}-{question.id}").shuffle(options)
    return options


level = level_filter("quiz_level")
if S.get("quiz_round_level") != level or "quiz_round" not in S:
    S.quiz_round_level = level
    start_round([q.id for q in by_level(L.questions, level)], level)

missed_before = [qid for qid in store_call("missed_questions", current_learner(), default=[]) if qid in QUESTIONS]
if missed_before and st.button(f"Practise the {len(missed_before)} question(s) you missed before", key="quiz_missed_before"):
    start_round(missed_before, "missed before")
    st.rerun()

round_ids = [qid for qid in S.quiz_round if qid in QUESTIONS]
if not round_ids:
    st.info("No questions at this level yet. Pick another level.")
    st.stop()

answers = S.quiz_answers
n_right = sum(1 for _, ok in answers.values() if ok)
st.progress(len(answers) / len(round_ids), text=f"Score: {n_right} of {len(answers)} answered · {len(round_ids)} questions in this round ({S.quiz_round_label})")

if S.quiz_pos < len(round_ids):
    q = QUESTIONS[round_ids[S.quiz_pos]]
    st.subheader(f"Question {S.quiz_pos + 1} of {len(round_ids)} {badge(q.level)}")
    st.markdown(q.prompt)
    if getattr(q, "code", None):
        st.code(q.code.rstrip(), language="python")
    options = shuffled_options(q)
    answered = answers.get(q.id)
    choice = st.radio("Your answer", [o.text for o in options], index=None, key=f"quiz_choice_{S.quiz_round_no}_{q.id}", disabled=answered is not None)

    if answered is None:
        if st.button("Check my answer", key="quiz_submit", type="primary"):
            if choice is None:
                st.warning("Pick one of the options first.")
            else:
                correct = next(o for o in options if o.text == choice).correct
                answers[q.id] = (choice, correct)
                store_call("record_quiz_answer", current_learner(), q.id, choice, correct)
                st.rerun()
    else:
        chosen_text, correct = answered
        right = next(o for o in options if o.correct)
        if correct:
            st.success(f"**Correct!** {right.why}\n\n{q.explanation}")
        else:
            chosen = next(o for o in options if o.text == chosen_text)
            st.error(f"**Not quite.** {chosen.why}")
            st.info(f"**Right answer:** {right.text}\n\n{right.why}\n\n{q.explanation}")
        last = S.quiz_pos + 1 == len(round_ids)
        if st.button("See my score" if last else "Next question", key="quiz_next", type="primary"):
            S.quiz_pos += 1
            st.rerun()
else:
    # End of the round: summary, stored once, and a retry of what was missed.
    total = len(round_ids)
    if not S.quiz_recorded:
        store_call("record_quiz_round", current_learner(), n_right, total, level)
        S.quiz_recorded = True
    st.subheader(f"You scored {n_right} of {total}")
    if n_right == total:
        st.balloons()
        st.success("Perfect round. Try a harder level, or explain a concept in your own words on *Explain it*.")
    missed = [qid for qid in round_ids if not answers.get(qid, ("", False))[1]]
    for qid in missed:
        st.markdown(f"- ❌ {QUESTIONS[qid].prompt.splitlines()[0]}")
    cols = st.columns(2)
    if missed and cols[0].button(f"Retry the {len(missed)} missed one(s)", key="quiz_retry", type="primary"):
        start_round(missed, "retry")
        st.rerun()
    if cols[1].button("Start a new round", key="quiz_restart"):
        start_round([q.id for q in by_level(L.questions, level)], level)
        st.rerun()
