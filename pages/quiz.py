"""Quiz: multiple choice with immediate feedback, a running score and a retry of missed questions.

Each level keeps its own round in the session, so switching level to peek at another set never
throws away the answers given so far; switching back resumes where the learner was.
"""

import random

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.classroom.review import QUESTION
from core.content.order import shuffled_order
from ui.common import current_learner, md_text
from ui.lesson_widgets import LEVELS, badge, by_level, lessons, level_filter, store_call
from ui.review_widgets import due_today

S = st.session_state
L = lessons()
QUESTIONS = {q.id: q for q in L.questions}
# Line labels for a question's `curves` block, in drawing order.
CURVE_LABELS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}

st.title("❓ Quiz")
st.caption("Pick an answer and get feedback straight away: why the right one is right, and why yours was not.")

# One seed per browser session: reruns keep the option order, a new visit gets a fresh one.
S.setdefault("quiz_seed", random.randrange(1_000_000))
S.setdefault("quiz_rounds", {})  # level -> that level's round (kept while the learner looks elsewhere)
S.setdefault("quiz_round_no", 0)


def new_round(ids: list, label: str) -> dict:
    # A new round number gives the answer radios fresh keys, so a retried question starts blank.
    S.quiz_round_no += 1
    return {"ids": list(ids), "label": label, "pos": 0, "answers": {}, "recorded": False, "no": S.quiz_round_no}


def start_round(level: str, ids: list, label: str) -> None:
    S.quiz_rounds[level] = new_round(ids, label)


def shuffled_options(question) -> list:
    return [question.options[i] for i in shuffled_order(len(question.options), f"{S.quiz_seed}-{question.id}")]


def harder_level(level: str):
    """The next level up, or None after the hardest one (and for the mixed 'all' round)."""
    if level not in LEVELS or level == LEVELS[-1]:
        return None
    return LEVELS[LEVELS.index(level) + 1]


def curves_figure(curves) -> go.Figure:
    """Loss and accuracy per epoch, side by side, as the Lab draws a run."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    epochs = list(range(1, curves.epochs + 1))
    for name, values in curves.series:
        col = 1 if name.endswith("loss") else 2
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=list(values),
                name=CURVE_LABELS[name],
                mode="lines+markers",
                line={"dash": "dot" if name.startswith("train") else "solid"},
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title_text="epoch", dtick=1 if curves.epochs <= 12 else 5)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=2)
    fig.update_layout(height=320, margin={"t": 40, "b": 40, "l": 40, "r": 10}, legend={"orientation": "h", "y": -0.25})
    return fig


def show_exhibits(q) -> None:
    """What the question shows besides its prompt: code, a printout, a run's curves."""
    if q.code:
        st.code(q.code.rstrip(), language="python")
    if q.output:
        st.code(q.output.rstrip(), language="text")
    if q.curves:
        st.plotly_chart(curves_figure(q.curves), config={"displayModeBar": False}, key=f"quiz_curves_{q.id}")
        # The numbers behind the chart: a text alternative, and what a careful reader checks.
        table = {
            "epoch": list(range(1, q.curves.epochs + 1)),
            **{CURVE_LABELS[name]: [round(v, 3) for v in values] for name, values in q.curves.series},
        }
        with st.expander("The same curves as numbers"):
            st.dataframe(table, hide_index=True)
        st.caption(f"From a real run of the Lab's engine: `{q.curves.source}`")


def marked_options(options: list, chosen_text: str) -> str:
    """The options as a Markdown list, with the right answer and the learner's choice marked."""
    lines = []
    for o in options:
        mark = "✅" if o.correct else ("❌" if o.text == chosen_text else "▫️")
        notes = [n for n, on in (("right answer", o.correct), ("your answer", o.text == chosen_text)) if on]
        lines.append(f"- {mark} {o.text}" + (f" — *{', '.join(notes)}*" if notes else ""))
    return "\n".join(lines)


def ask(q, R: dict, round_ids: list) -> None:
    st.subheader(f"Question {R['pos'] + 1} of {len(round_ids)} {badge(q.level)}")
    st.markdown(q.prompt)
    show_exhibits(q)
    options = shuffled_options(q)
    answered = R["answers"].get(q.id)
    if answered is None:
        choice = st.radio("Your answer", [o.text for o in options], index=None, key=f"quiz_choice_{R['no']}_{q.id}")
        if st.button("Check my answer", key="quiz_submit", type="primary"):
            if choice is None:
                st.warning("Pick one of the options first.")
            else:
                correct = next(o for o in options if o.text == choice).correct
                R["answers"][q.id] = (choice, correct)
                store_call("record_quiz_answer", current_learner(), q.id, choice, correct)
                store_call("record_review", current_learner(), QUESTION, q.id, correct)
                st.rerun()
        return
    chosen_text, correct = answered
    st.markdown(marked_options(options, chosen_text))
    right = next(o for o in options if o.correct)
    if correct:
        st.success(f"**Correct!** {right.why}\n\n{q.explanation}")
    else:
        chosen = next(o for o in options if o.text == chosen_text)
        st.error(f"**Not quite.** {chosen.why}")
        st.info(f"**Right answer:** {right.text}\n\n{right.why}\n\n{q.explanation}")
    last = R["pos"] + 1 == len(round_ids)
    if st.button("See my score" if last else "Next question", key="quiz_next", type="primary"):
        R["pos"] += 1
        st.rerun()


def summary(R: dict, round_ids: list, level: str, n_right: int) -> None:
    """End of the round: the score, stored once, and the single retry of what was missed."""
    total = len(round_ids)
    if not R["recorded"]:
        store_call("record_quiz_round", current_learner(), n_right, total, level)
        R["recorded"] = True
    st.subheader(f"You scored {n_right} of {total}")
    if n_right == total:
        st.balloons()
        harder = harder_level(level)
        if harder:
            nxt = f"Try the {harder.capitalize()} level next, or explain"
        elif level == "all":
            nxt = "Every level, every question: now explain"
        else:
            nxt = "That was the hardest set: now explain"
        st.success(f"Perfect round. {nxt} a concept in your own words on *Explain it*.")
    missed = [qid for qid in round_ids if not R["answers"].get(qid, ("", False))[1]]
    for qid in missed:
        st.markdown(f"- ❌ {QUESTIONS[qid].prompt.splitlines()[0]}")
    cols = st.columns(2)
    if missed and cols[0].button(f"Retry the {len(missed)} missed one(s)", key="quiz_retry", type="primary"):
        start_round(level, missed, "retry")
        st.rerun()
    if cols[1].button("Start a new round", key="quiz_restart"):
        start_round(level, [q.id for q in by_level(L.questions, level)], level)
        st.rerun()


level = level_filter("quiz_level")
# ?question=<id> (the Teacher page links each question so) opens a round of that one question; the
# parameter is used once, so reruns and a reload carry on with the round.
linked = st.query_params.get("question")
if linked is not None:
    del st.query_params["question"]
    if linked in QUESTIONS:
        start_round(level, [linked], "linked question")
    else:
        st.warning(f"The linked question “{md_text(linked)}” is not in the quiz (any more): here is the usual round.")
# ?review=due (the links on Home and Progress) opens a round of the questions due for review today.
due = due_today(L)
if st.query_params.get("review") == "due":
    del st.query_params["review"]
    if due is not None and due.questions:
        start_round(level, list(due.questions), "due for review")
    else:
        st.info("No missed questions are due for review today: here is the usual round.")
if level not in S.quiz_rounds:
    start_round(level, [q.id for q in by_level(L.questions, level)], level)
R = S.quiz_rounds[level]
kept = [lv for lv, r in S.quiz_rounds.items() if lv != level and r["answers"] and r["pos"] < len(r["ids"])]
if kept:
    st.caption(
        "Rounds in progress, kept for you: "
        + ", ".join(lv.capitalize() for lv in kept)
        + ". Switch the level back to carry on."
    )

round_ids = [qid for qid in R["ids"] if qid in QUESTIONS]
if not round_ids:
    st.info("No questions at this level yet. Pick another level.")
    st.stop()

# Reviews due and earlier misses are offered only before a round is under way, so no button competes
# with a round's own retry (the end of a round offers its own misses instead).
if due is not None and due.questions and not R["answers"] and R["label"] != "due for review":
    if st.button(f"Review the {len(due.questions)} question(s) due today", key="quiz_review_due", type="primary"):
        start_round(level, list(due.questions), "due for review")
        st.rerun()
missed_before = [qid for qid in store_call("missed_questions", current_learner(), default=[]) if qid in QUESTIONS]
if missed_before and not R["answers"]:
    if st.button(f"Practise the {len(missed_before)} question(s) you missed before", key="quiz_missed_before"):
        start_round(level, missed_before, "missed before")
        st.rerun()

n_right = sum(1 for _, ok in R["answers"].values() if ok)
st.progress(
    len(R["answers"]) / len(round_ids),
    text=f"Score: {n_right} of {len(R['answers'])} answered · {len(round_ids)} questions in this round ({R['label']})",
)

if R["pos"] < len(round_ids):
    ask(QUESTIONS[round_ids[R["pos"]]], R, round_ids)
else:
    summary(R, round_ids, level, n_right)
