"""What comes back for review today: the count and links that Home and Progress show, and the
learner's own day (their browser's time zone), which decides what "today" means.

The dates themselves come from core/classroom/review.py through the progress store.
"""

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.classroom.progress import ProgressError
from core.classroom.review import CARD, QUESTION, DueSummary
from ui.common import current_learner, get_progress_store
from ui.page_files import page_file

REVIEW_QUERY = {"review": "due"}  # ?review=due opens the Flashcards and the Quiz on what is due
# Page file -> (url path from app.py, icon), for links that also work where a page runs on its own.
PAGES = {CARD: (page_file("flashcards"), "flashcards", "🃏"), QUESTION: (page_file("quiz"), "quiz", "❓")}


def learner_timezone() -> tzinfo | None:
    """The browser's time zone, else the server's own (a test, or a browser that does not say)."""
    name = st.context.timezone
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return datetime.now().astimezone().tzinfo


def when_text(ts: float) -> str:
    """A moment as the learner reads it: "7 Dec 2026 at 14:05", in their own time zone."""
    return f"{datetime.fromtimestamp(ts, learner_timezone()):%-d %b %Y at %H:%M}"


def quiet_read(method: str, *args):
    """A store read whose failure needs no warning of its own: None when the database fails. The
    pages' own reads say what is wrong (once each; a second warning would only repeat it)."""
    try:
        return getattr(get_progress_store(), method)(*args)
    except ProgressError:
        return None


def due_today(lessons) -> DueSummary | None:
    """The learner's reviews due by the end of their day, counting only items still in the lessons;
    None when the progress database cannot be read."""
    known = {CARD: {c.id for c in lessons.cards}, QUESTION: {q.id for q in lessons.questions}}
    return quiet_read("due_summary", current_learner(), learner_timezone(), known)


def review_link(kind: str, count: int) -> None:
    path, url, icon = PAGES[kind]
    noun = "flashcard" if kind == CARD else "missed question"
    label = f"Review {count} {noun}{'s' if count != 1 else ''}"
    try:
        st.page_link(path, label=label, icon=icon, query_params=REVIEW_QUERY)
    except StreamlitAPIException:  # page run on its own (tests, single-page mode)
        st.markdown(f"{icon} [{label}](/{url}?review=due)")


def due_today_block(lessons, explain_empty: bool = True) -> None:
    """How many items are due today, with a link to each kind's review; else when the next ones are.
    An empty schedule is explained where `explain_empty`, else nothing is shown."""
    due = due_today(lessons)
    if due is None or not (due.scheduled or explain_empty):
        return
    with st.container(key="due_today"):
        if due.total:
            st.metric("Due for review today", due.total)
            for kind, ids in ((CARD, due.cards), (QUESTION, due.questions)):
                if ids:
                    review_link(kind, len(ids))
        elif due.next_day is not None:
            st.markdown(f"**Nothing to review today.** {next_text(due)}")
        else:
            st.caption(
                "Flashcards you mark and quiz questions you miss come back here on the day they are due: "
                "soon after a slip, later each time you remember."
            )


def review_deck_done(reviewed: int, due: DueSummary | None) -> None:
    """The end of the due flashcards (or a due deck with nothing in it): what comes next, and the way back."""
    if reviewed:
        st.success(
            f"Review done: {reviewed} card{'s' if reviewed != 1 else ''}. Each comes back on a day of its own: "
            "a card you knew in a few days or more, one marked “Not yet” tomorrow."
        )
    else:
        st.info("No flashcards are due for review today.")
    if due is not None and due.next_day is not None:
        st.markdown(next_text(due))
    if due is not None and due.questions:
        review_link(QUESTION, len(due.questions))
    st.button(
        "Back to all cards", key="card_deck_all", on_click=st.session_state.__setitem__, args=("card_deck", "all")
    )


def next_text(due: DueSummary) -> str:
    n = due.next_count
    return f"Next review: {n} item{'s' if n != 1 else ''} on {due.next_day:%a %-d %b}."
