"""Practice: worked problems whose solution is revealed one step at a time, so the learner can try
each step before reading it.

The learner commits an answer first (a choice, or a sentence of their own): the steps then read as a
check of their own thinking, and the end compares the two. Committed answers live in the session.
"""

import streamlit as st

from ui.lesson_widgets import badge, done_ids, lessons, mark_done

S = st.session_state
L = lessons()
PROBLEMS = {p.id: p for p in L.problems}

st.title("🧩 Practice")
st.caption("Commit to an answer first, then reveal the solution step by step and compare.")

if not PROBLEMS:
    st.info("No practice problems yet.")
    st.stop()

done = done_ids("practice")
pid = st.selectbox(
    "Problem",
    list(PROBLEMS),
    format_func=lambda i: f"{'✅ ' if i in done else ''}{PROBLEMS[i].title} ({PROBLEMS[i].level})",
    key="practice_problem",
)
problem = PROBLEMS[pid]
shown = S.setdefault("practice_shown", {})  # problem id -> number of solution steps revealed
committed = S.setdefault("practice_answers", {})  # problem id -> the learner's answer ("" = no idea yet)
n_shown = shown.get(pid, 0)
LETTERS = "ABCDEFGH"

st.subheader(f"{problem.title} {badge(problem.level)}")
st.markdown(problem.question)
if problem.code:
    st.code(problem.code.rstrip(), language="python")
if problem.options and pid in committed:  # before, the choices are the form's radio
    for letter, option in zip(LETTERS, problem.options):
        st.markdown(f"**{letter}.** {option}")


def commit(problem_id: str, answer: str) -> None:
    committed[problem_id] = answer
    shown[problem_id] = max(shown.get(problem_id, 0), 1)


def commit_form() -> None:
    """Your answer first: a choice or free text, or an honest "no idea yet"."""
    with st.form(f"practice_commit_{pid}", border=True):
        st.markdown("**Your answer first.** Commit to it, then the solution opens step by step.")
        if problem.options:
            st.radio(
                "Your choice",
                range(len(problem.options)),
                index=None,
                key=f"practice_choice_{pid}",
                format_func=lambda i: f"{LETTERS[i]}. {problem.options[i]}",
            )
        else:
            st.text_area(
                "Your answer",
                key=f"practice_text_{pid}",
                height=100,
                placeholder="A sentence or two: what would you do, and why?",
            )
        lock = st.form_submit_button("Lock in my answer", type="primary")
        skip = st.form_submit_button("No idea yet: show the first step")
    if lock:
        answer = _answer_given()
        if answer:
            commit(pid, answer)
            st.rerun()
        st.warning("Pick or write an answer first, or choose “No idea yet”.")
    elif skip:
        commit(pid, "")
        st.rerun()


def _answer_given() -> str:
    if problem.options:
        index = S.get(f"practice_choice_{pid}")
        return "" if index is None else f"{LETTERS[index]}. {problem.options[index]}"
    return (S.get(f"practice_text_{pid}") or "").strip()


if pid not in committed:
    commit_form()
    st.stop()

st.markdown(f"**Your answer:** {committed[pid]}" if committed[pid] else "**Your answer:** no idea yet.")

for number, step in enumerate(problem.steps[:n_shown], start=1):
    with st.container(border=True):
        st.markdown(f"**Step {number}: {step.title}**")
        st.markdown(step.body)


def reveal(problem_id: str, n: int) -> None:
    shown[problem_id] = n


def restart(problem_id: str) -> None:
    shown[problem_id] = 0
    committed.pop(problem_id, None)


if n_shown < len(problem.steps):
    st.button(
        f"Show next step ({n_shown + 1} of {len(problem.steps)})",
        key="practice_next_step",
        on_click=reveal,
        args=(pid, n_shown + 1),
        type="primary",
    )
else:
    answer = problem.answer
    if problem.options and problem.answer_index is not None:
        right = f"{LETTERS[problem.answer_index]}. {problem.options[problem.answer_index]}"
        answer = f"**{right}**\n\n{answer}"
        if committed[pid]:
            verdict = (
                "✅ Your choice was right."
                if committed[pid] == right
                else f"❌ You chose {committed[pid][0]}; the right choice is {right[0]}."
            )
            st.markdown(f"**{verdict}**")
    elif committed[pid]:
        st.markdown("Compare your answer with the one below: which of its points did you make?")
    st.success(f"**Answer:** {answer}")
    st.info(f"**Quick check:** {problem.quick_check}", icon="🔎")
    st.markdown("**Common mistakes**")
    for mistake in problem.common_mistakes:
        st.markdown(f"- {mistake}")
    cols = st.columns(2)
    if pid not in done and cols[0].button("Mark as done", key="practice_done", type="primary"):
        mark_done("practice", pid)
        st.rerun()
    cols[1].button("Start this problem again", key="practice_reset", on_click=restart, args=(pid,))
