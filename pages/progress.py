"""Progress page: what the learner has done, quiz scores over time, and what to review next."""
from datetime import datetime

import plotly.graph_objects as go
import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.progress import build_report
from pages.common import current_learner, get_progress_store, require_app_frame, safe_store_call
from pages.lesson_widgets import lessons

require_app_frame()

# Page file -> (url path from app.py, label); page_link needs st.navigation, the URL works anyway.
REVIEW_PAGES = {
    "flashcards": ("pages/flashcards.py", "flashcards", "Review flashcards", "🃏"),
    "quiz": ("pages/quiz.py", "quiz", "Retake the quiz", "❓"),
    "concepts": ("pages/concepts.py", "concepts", "Open Concepts", "📘"),
    "explain": ("pages/explain.py", "explain", "Try Explain it", "✍️"),
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


def quiz_chart(history) -> go.Figure:
    when = [datetime.fromtimestamp(row["ts"]) for row in history]
    percent = [round(100 * row["score"] / row["total"]) if row["total"] else 0 for row in history]
    labels = [f"{row['score']} of {row['total']}" + (f" ({row['level']})" if row["level"] else "")
              for row in history]
    fig = go.Figure(go.Scatter(x=when, y=percent, mode="lines+markers", text=labels,
                               hovertemplate="%{x|%b %d %H:%M}<br>%{text}<extra></extra>"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(title="Score (%)", range=[0, 105]), xaxis_title="Quiz round")
    return fig


learner = current_learner()
st.title("📈 Progress")
st.caption(f"Progress saved for **{learner}**. Change the nickname in the sidebar to switch learner.")

L = lessons()
report = safe_store_call(build_report, get_progress_store(), learner, L)
if report is None:
    st.info("Saved progress cannot be read right now. What you do in this session is kept, "
            "and saved once the database works again.")
    st.stop()

if not report.has_history:
    st.info(f"No progress yet for **{learner}**. Read a concept, flip some flashcards or take a "
            "quiz, and it will show up here.")
    page_link("concepts")
    page_link("quiz")
    st.stop()

st.subheader("What you have done")
metrics = [(r.label, f"{r.done} / {r.total}") for r in report.done if r.total]
metrics += [("Flashcards known", f"{report.cards_known} / {report.cards_total}"),
            ("Quiz answers right", f"{report.quiz_correct} / {report.quiz_answers}")]
PER_ROW = 4  # seven metrics in one row cut their labels short ("Practice proble…")
for start in range(0, len(metrics), PER_ROW):
    for column, (label, value) in zip(st.columns(PER_ROW), metrics[start:start + PER_ROW]):
        column.metric(label, value)

if report.explain_best:
    st.markdown(f"**Explain it** — best scores ({len(report.explain_best)} of "
                f"{report.explain_total} prompts tried):")
    st.markdown("\n".join(f"- {prompt}: **{found} of {total}** concepts"
                          for _, prompt, found, total in report.explain_best))

st.subheader("Quiz scores over time")
if report.quiz_history:
    st.plotly_chart(quiz_chart(report.quiz_history), config={"displayModeBar": False})
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
