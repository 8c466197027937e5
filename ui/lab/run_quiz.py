"""The Lab's "Quiz on your run" tab: two or three questions about the run just finished.

A view only: the questions, their answers and explanations come from core.runs.run_quiz, built from the
run's own epochs. Each answer is checked at once and recorded in the learner's progress like a
lesson quiz answer (its id starts with core.runs.run_quiz.RUN_PREFIX). The tab is a fragment: checking an
answer reruns the quiz, not the whole Lab page with its charts.
"""

from __future__ import annotations

import streamlit as st

from core.runs.run_quiz import RunQuestion, questions_for
from ui.common import current_learner, get_progress_store, safe_store_call

ANSWERS = "_lab_run_quiz_answers"  # question id -> the option chosen (first answer only, this session)
NO_PICK = "_lab_run_quiz_no_pick"  # the question whose Check was pressed with nothing picked
CHART_TAB = "📈 Curves"  # where the charts the explanations point at are drawn


@st.fragment
def render_run_quiz(epochs: list, key_prefix: str) -> None:
    """The questions this run's numbers answer unambiguously, or why there are none."""
    questions = questions_for(epochs)
    if not questions:
        st.info(
            "This run's numbers give no question a single clear answer (one or two epochs, or epochs too "
            "close to call). Run a few more epochs, then come back to this tab.",
            icon="🧩",
        )
        return
    st.caption(
        f"{len(questions)} questions about **this** run. The answers are in its charts on the "
        f"*{CHART_TAB}* tab; your answers count in your progress like other quiz answers."
    )
    answers = st.session_state.setdefault(ANSWERS, {})
    for number, q in enumerate(questions, 1):
        with st.container(border=True, key=f"{key_prefix}_runquiz_{q.kind}"):
            _question(q, number, answers, key_prefix)


def _question(q: RunQuestion, number: int, answers: dict, key_prefix: str) -> None:
    st.markdown(f"**{number}.** {q.prompt}")
    chosen = answers.get(q.id)
    if chosen is not None:
        _feedback(q, chosen)
        return
    pick = f"{key_prefix}_runquiz_pick_{q.kind}"
    with st.form(f"{key_prefix}_runquiz_form_{q.kind}", border=False):
        st.radio("Your answer", q.options, index=None, key=pick)
        # A callback records the answer before the rerun, which then draws the feedback.
        st.form_submit_button("Check my answer", type="primary", on_click=_check, args=(q, pick))
    if st.session_state.get(NO_PICK) == q.id:
        st.warning("Pick one of the options first.")


def _check(q: RunQuestion, pick: str) -> None:
    choice = st.session_state.get(pick)
    if choice is None:
        st.session_state[NO_PICK] = q.id
        return
    st.session_state[NO_PICK] = None
    st.session_state.setdefault(ANSWERS, {})[q.id] = choice
    safe_store_call(get_progress_store().record_quiz_answer, current_learner(), q.id, choice, q.check(choice))


def _feedback(q: RunQuestion, chosen: str) -> None:
    marks = [
        f"- {'✅' if o == q.right_option else ('❌' if o == chosen else '▫️')} {o}"
        + (" — *your answer*" if o == chosen else "")
        for o in q.options
    ]
    st.markdown("\n".join(marks))
    where = f"See the **{q.chart}** chart on the *{CHART_TAB}* tab."
    if q.check(chosen):
        st.success(f"**Right.** {q.explanation} {where}")
    else:
        st.error(f"**Not this time**: the answer is *{q.right_option}*. {q.explanation} {where}")
