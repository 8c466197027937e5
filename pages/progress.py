"""Progress page: what the learner has done, quiz scores over time, and what to review next."""

from datetime import datetime

import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.classroom.progress import build_report
from ui.common import (
    PALETTE,
    chart_with_summary,
    current_learner,
    get_progress_store,
    learner_name,
    name_md,
    safe_store_call,
)
from ui.lesson_widgets import lessons
from ui.name_move_note import name_move_note
from ui.page_files import page_file
from ui.review_widgets import due_today_block

# Page file -> (url path from app.py, label); page_link needs st.navigation, the URL works anyway.
REVIEW_PAGES = {
    "flashcards": (page_file("flashcards"), "flashcards", "Review flashcards", "🃏"),
    "quiz": (page_file("quiz"), "quiz", "Retake the quiz", "❓"),
    "concepts": (page_file("concepts"), "concepts", "Open Concepts", "📘"),
    "explain": (page_file("explain"), "explain", "Try Explain it", "✍️"),
}
SHOW_AT_MOST = 5  # per review list: a short list gets done, a long one gets ignored


def page_link(key: str) -> None:
    path, url, label, icon = REVIEW_PAGES[key]
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitAPIException:  # page run on its own (tests, single-page mode)
        st.markdown(f"{icon} [{label}](/{url})")


def bullet_list(items) -> None:
    lines = [f"- {label}" for _, label in items[:SHOW_AT_MOST]]
    if len(items) > SHOW_AT_MOST:
        lines.append(f"- … and {len(items) - SHOW_AT_MOST} more")
    st.markdown("\n".join(lines))


def _percent(row) -> int:
    return round(100 * row["score"] / row["total"]) if row["total"] else 0


def quiz_chart(history) -> go.Figure:
    """Score per round against the round's number, labelled with its date: rounds taken minutes
    apart stay apart, and the axis never shows clock seconds."""
    rounds = list(range(1, len(history) + 1))
    when = [datetime.fromtimestamp(row["ts"]) for row in history]
    labels = [
        f"Round {n} · {w:%b %d %H:%M}<br>{row['score']} of {row['total']}"
        + (f" ({row['level']})" if row["level"] else "")
        for n, w, row in zip(rounds, when, history)
    ]
    fig = go.Figure(
        go.Scatter(
            x=rounds,
            y=[_percent(r) for r in history],
            mode="lines+markers",
            text=labels,
            hovertemplate="%{text}<extra></extra>",
            line=dict(color=PALETTE[0], width=3),
            marker=dict(size=9),
        )
    )
    step = max(1, len(rounds) // 12)  # at most about 12 tick labels
    ticks = rounds[::step]
    fig.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(title="Score (%)", range=[0, 105]),
        xaxis=dict(
            title="Quiz round (date taken)",
            tickmode="array",
            tickvals=ticks,
            ticktext=[f"{n}<br>{when[n - 1]:%b %d}" for n in ticks],
            range=[0.5, len(rounds) + 0.5],
        ),
    )
    return fig


def quiz_summary(history) -> str:
    """The chart in words, for screen readers and for a quick glance."""
    first, last = (datetime.fromtimestamp(history[i]["ts"]) for i in (0, -1))
    span = f"on {first:%b %d}" if first.date() == last.date() else f"from {first:%b %d} to {last:%b %d}"
    scores = [_percent(r) for r in history]
    n = len(history)
    return (
        f"{n} quiz round{'s' if n != 1 else ''} {span}: first {scores[0]}%, latest {scores[-1]}%, best {max(scores)}%."
    )


learner = current_learner()
name = learner_name()
who = f"**{name_md(name)}**" if name else "this browser"
st.title("📈 Progress")
if name:
    st.caption(f"Progress saved for **{name_md(name)}**, on this browser only: no one else can see it.")
else:
    st.caption(
        "Progress of this browser. No one else can see it; take a nickname in the sidebar to keep it under your name."
    )

L = lessons()
report = safe_store_call(build_report, get_progress_store(), learner, L)
if report is None:
    st.info(
        "Saved progress cannot be read right now. What you do in this session is kept, "
        "and saved once the database works again."
    )
    st.stop()

name_move_note()
if not report.has_history:
    st.info(
        f"No progress yet for {who}. Read a concept, flip some flashcards or take a quiz, and it will show up here."
    )
    page_link("concepts")
    page_link("quiz")
    st.stop()

st.subheader("Coming back for review")
due_today_block(L)

st.subheader("What you have done")
metrics = [(r.label, f"{r.done} / {r.total}") for r in report.done if r.total]
metrics += [
    ("Flashcards known", f"{report.cards_known} / {report.cards_total}"),
    # Every answer counts, a question answered three times three times: attempts, said so.
    ("Quiz attempts right", f"{report.quiz_correct} / {report.quiz_answers}"),
]
PER_ROW = 4  # seven metrics in one row cut their labels short ("Practice proble…")
for start in range(0, len(metrics), PER_ROW):
    for column, (label, value) in zip(st.columns(PER_ROW), metrics[start : start + PER_ROW]):
        column.metric(label, value)

if report.explain_best:
    st.markdown(
        f"**Explain it** — best marks from probes and your own check ({len(report.explain_best)} of "
        f"{report.explain_total} prompts):"
    )
    st.markdown("\n".join(f"- {prompt}: **{found} of {total}**" for _, prompt, found, total in report.explain_best))

if report.explain_feedback:
    st.subheader("Feedback from your teacher")
    for prompt, mark, comment, answer in report.explain_feedback:
        with st.container(border=True, key=None):
            st.markdown(f"**{prompt}** · {mark}")
            if comment:
                st.info(comment, icon="🧑‍🏫")
            st.caption(f"Your answer: {answer[:300]}{'…' if len(answer) > 300 else ''}")

st.subheader("Quiz scores over time")
if report.quiz_history:
    chart_with_summary(quiz_chart(report.quiz_history), quiz_summary(report.quiz_history))
else:
    st.caption("No finished quiz rounds yet.")
    page_link("quiz")

st.subheader("What to review next")
if not (report.review_cards or report.review_questions or report.review_concepts):
    st.success("Nothing waiting: every card is known, no missed questions and all concepts done.")
if report.review_questions:
    st.markdown(f"**Questions you missed** ({len(report.review_questions)})")
    bullet_list(report.review_questions)
    page_link("quiz")
if report.review_cards:
    st.markdown(f"**Cards marked “not yet”** ({len(report.review_cards)})")
    bullet_list(report.review_cards)
    page_link("flashcards")
if report.review_concepts:
    st.markdown(f"**Concepts not done yet** ({len(report.review_concepts)})")
    bullet_list(report.review_concepts)
    page_link("concepts")
