"""Review that comes back, under AppTest: "due today" on Home and Progress with links to it, the
Flashcards' due deck, and the Quiz's round of missed questions due; each mark or answer is a review."""
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.classroom import identity as ident
from core.classroom.progress import ProgressStore
from core.classroom.review import CARD, QUESTION
from core.content.lessons import load_lessons

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
L = load_lessons()
DAY = 86_400


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)
    st.cache_resource.clear()
    store = ProgressStore(path)
    yield store
    store.close()
    st.cache_resource.clear()


@pytest.fixture
def bid() -> str:
    return ident.new_browser_id()


def reviewed_days_ago(store, bid, days, kind, item_id, remembered, monkeypatch):
    """A flashcard mark or a quiz answer this browser made `days` days ago, as the pages record them (a
    missed item is due one day later)."""
    then, learner = time.time() - days * DAY, ident.anonymous_key(bid)
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: then)
        if kind == CARD:
            store.set_card_status(learner, item_id, remembered)
        else:
            store.record_quiz_answer(learner, item_id, "an answer", remembered)
        store.record_review(learner, kind, item_id, remembered)


def visit(bid, page=None, query=None) -> AppTest:
    """This browser on `page` (Home by default) with `query` in the address. Home and Progress open
    through the app's navigation, so their page links are real; the Quiz and the Flashcards run on
    their own: there AppTest registers a click on an `if st.button(...)`, through the navigation it did not."""
    framed = page in (None, "pages/progress.py")
    at = AppTest.from_file(APP if framed else str(ROOT / page), default_timeout=60)
    at.session_state["_browser_id"] = bid
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page and framed:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def due_metric(at):
    return {m.label: m.value for m in at.metric}.get("Due for review today")


def links(at) -> dict:
    return {p.proto.label: (p.proto.page, p.proto.query_string) for p in at.get("page_link")}


def shown(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "success") for e in getattr(at.main, kind))


def test_home_and_progress_count_what_is_due_and_link_to_each_review(store, bid, monkeypatch):
    reviewed_days_ago(store, bid, 3, CARD, L.cards[0].id, False, monkeypatch)  # due two days ago
    reviewed_days_ago(store, bid, 1, QUESTION, L.questions[0].id, False, monkeypatch)  # due now
    reviewed_days_ago(store, bid, 0, CARD, L.cards[1].id, True, monkeypatch)  # due in two days
    reviewed_days_ago(store, bid, 3, CARD, "a-card-no-longer-in-the-lessons", False, monkeypatch)
    for page in (None, "pages/progress.py"):
        at = visit(bid, page)
        assert due_metric(at) == "2"
        assert links(at)["Review 1 flashcard"] == ("flashcards", "review=due")
        assert links(at)["Review 1 missed question"] == ("quiz", "review=due")


def test_with_nothing_due_home_names_the_next_day_and_a_new_learner_sees_no_block(store, bid, monkeypatch):
    assert due_metric(visit(bid)) is None and "Nothing to review today" not in shown(visit(bid))
    progress = visit(bid, "pages/progress.py")
    assert "No progress yet" in shown(progress)
    reviewed_days_ago(store, bid, 0, CARD, L.cards[0].id, True, monkeypatch)
    in_two_days = datetime.now(UTC) + timedelta(days=2)
    for page in (None, "pages/progress.py"):
        at = visit(bid, page)
        assert due_metric(at) is None
        assert "**Nothing to review today.** Next review: 1 item on" in shown(at)
        assert f"{in_two_days:%-d %b}" in shown(at)


def test_marking_a_flashcard_puts_it_in_the_schedule(store, bid):
    at = visit(bid, "pages/flashcards.py")
    at.button("card_flip").click().run()
    at.button("card_not_yet").click().run()
    items = store.review_items(ident.anonymous_key(bid))
    assert [(i.kind, i.item_id) for i in items] == [(CARD, L.cards[0].id)]
    assert items[0].due == pytest.approx(time.time() + DAY, abs=120)  # "not yet": back tomorrow


def test_the_due_deck_deals_the_due_cards_once_and_then_says_what_comes_next(store, bid, monkeypatch):
    first, second = L.cards[5], L.cards[9]
    reviewed_days_ago(store, bid, 2, CARD, first.id, False, monkeypatch)
    reviewed_days_ago(store, bid, 4, CARD, second.id, False, monkeypatch)  # the longer overdue: first
    at = visit(bid, "pages/flashcards.py", {"review": "due"})
    assert at.radio("card_deck").value == "due" and at.radio("card_level").disabled
    assert "Due today (2)" in at.radio("card_deck").options
    assert at.progress[0].text == "Reviewed: 0 of 2 due cards"
    assert second.front in shown(at)
    at.button("card_flip").click().run()
    at.button("card_known").click().run()
    assert first.front in shown(at) and "Due today (1)" in at.radio("card_deck").options
    at.button("card_flip").click().run()
    at.button("card_not_yet").click().run()
    assert "Review done: 2 cards" in shown(at) and "Due today (0)" in at.radio("card_deck").options
    assert "Next review: 1 item on" in shown(at)  # the one marked "not yet", tomorrow
    due = {i.item_id: i.due for i in store.review_items(ident.anonymous_key(bid))}
    assert due[first.id] == pytest.approx(time.time() + DAY, abs=120) and due[second.id] > time.time() + DAY
    at.button("card_deck_all").click().run()
    assert at.radio("card_deck").value == "all" and at.progress[0].text.startswith("Known: 1 of")


def test_an_empty_due_deck_says_so(store, bid):
    at = visit(bid, "pages/flashcards.py", {"review": "due"})
    assert "No flashcards are due for review today." in shown(at)


def test_a_missed_question_is_scheduled_and_comes_back_as_a_quiz_round(store, bid, monkeypatch):
    question = L.questions[0]
    wrong = next(o.text for o in question.options if not o.correct)
    at = visit(bid, "pages/quiz.py")
    next(r for r in at.radio if r.key and r.key.startswith("quiz_choice_")).set_value(wrong)
    at.button("quiz_submit").click().run()
    assert [(i.kind, i.item_id) for i in store.review_items(ident.anonymous_key(bid))] == [(QUESTION, question.id)]

    reviewed_days_ago(store, bid, 2, QUESTION, L.questions[1].id, False, monkeypatch)
    later = visit(bid, "pages/quiz.py", {"review": "due"})
    assert later.progress[0].text.endswith("1 questions in this round (due for review)")
    radio = next(r for r in later.radio if r.key and r.key.startswith("quiz_choice_"))
    assert radio.key.endswith(L.questions[1].id)
    right = next(o.text for o in L.questions[1].options if o.correct)
    radio.set_value(right)
    later.button("quiz_submit").click().run()
    reviewed = {i.item_id: i.due for i in store.review_items(ident.anonymous_key(bid))}
    assert reviewed[L.questions[1].id] > time.time()  # answered right: no longer due today


def test_the_quiz_offers_the_due_questions_before_a_round(store, bid, monkeypatch):
    reviewed_days_ago(store, bid, 2, QUESTION, L.questions[2].id, False, monkeypatch)
    at = visit(bid, "pages/quiz.py")
    at.button("quiz_review_due").click().run()
    assert at.progress[0].text.endswith("1 questions in this round (due for review)")

