"""Practice: worked problems whose solution is revealed one step at a time, so the learner can try
each step before reading it."""
import streamlit as st

from pages.lesson_widgets import badge, done_ids, lessons, mark_done
from pages.common import require_app_frame

require_app_frame()

S = st.session_state
L = lessons()
PROBLEMS = {p.id: p for p in L.problems}

st.title("🧩 Practice")
st.caption("Try each step yourself first, then reveal it and compare.")

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
n_shown = shown.get(pid, 0)

st.subheader(f"{problem.title} {badge(problem.level)}")
st.markdown(problem.question)
if problem.code:
    st.code(problem.code.rstrip(), language="python")
if problem.options:
    for letter, option in zip("ABCDEFGH", problem.options):
        st.markdown(f"**{letter}.** {option}")

for number, step in enumerate(problem.steps[:n_shown], start=1):
    with st.container(border=True):
        st.markdown(f"**Step {number}: {step.title}**")
        st.markdown(step.body)


def reveal(problem_id: str, n: int) -> None:
    shown[problem_id] = n


if n_shown < len(problem.steps):
    label = "Show the first step" if n_shown == 0 else "Show next step"
    st.button(f"{label} ({n_shown + 1} of {len(problem.steps)})", key="practice_next_step",
              on_click=reveal, args=(pid, n_shown + 1), type="primary")
else:
    answer = problem.answer
    if problem.options and problem.answer_index is not None:
        answer = f"**{'ABCDEFGH'[problem.answer_index]}.** {problem.options[problem.answer_index]}\n\n{answer}"
    st.success(f"**Answer:** {answer}")
    st.info(f"**Quick check:** {problem.quick_check}", icon="🔎")
    st.markdown("**Common mistakes**")
    for mistake in problem.common_mistakes:
        st.markdown(f"- {mistake}")
    cols = st.columns(2)
    if pid not in done and cols[0].button("Mark as done", key="practice_done", type="primary"):
        mark_done("practice", pid)
        st.rerun()
    cols[1].button("Hide the solution", key="practice_reset", on_click=reveal, args=(pid, 0))
