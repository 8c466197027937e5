"""The Progress page under Streamlit's AppTest: empty state, real counts and chart, broken database."""
import json
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons
from tests.helpers import record_marked

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "progress.py")  # AppTest resolves relative paths oddly
TIMEOUT = 30


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)  # the store helper is cached per path, so no cache clearing
    return path


def run_page(learner=None):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    if learner:
        at.session_state["learner"] = learner
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def all_markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_teachers_comment_comes_back_to_its_learner_only(db):
    prompt = load_lessons().prompts[0]
    store = ProgressStore(db)
    attempt = record_marked(store, "ada", prompt.id, 3, 4, "Freezing keeps the early layers as they were.")
    record_marked(store, "bob", prompt.id, 1, 4, "bob's answer")
    store.review_explain(attempt, "partly", "Good start: now say why the early layers stay frozen.")
    at = run_page("ada")
    assert any(s.value == "Feedback from your teacher" for s in at.subheader)
    assert any(i.value == "Good start: now say why the early layers stay frozen." for i in at.info)
    assert f"**{prompt.prompt}** · Partly there" in all_markdown(at)
    assert any("Freezing keeps the early layers as they were." in c.value for c in at.caption)
    bob = run_page("bob")
    assert not any(s.value == "Feedback from your teacher" for s in bob.subheader)
    assert "Good start" not in "\n".join(i.value for i in bob.info)


def test_empty_state_is_friendly(db):
    at = run_page()
    assert any("No progress yet for this browser" in i.value for i in at.info)
    assert len(at.metric) == 0
    assert len(at.get("plotly_chart")) == 0
    assert len(at.warning) == 0


def test_counts_chart_and_review_lists_for_a_learner(db):
    lessons = load_lessons()
    concept, other_concept = lessons.concepts[0], lessons.concepts[1]
    card_known, card_not_yet = lessons.cards[0], lessons.cards[1]
    question = lessons.questions[0]
    prompt = lessons.prompts[0]

    store = ProgressStore(db)
    store.mark_done("ada", "concept", concept.id)
    store.set_card_status("ada", card_known.id, True)
    store.set_card_status("ada", card_not_yet.id, False)
    store.record_quiz_answer("ada", question.id, "some option", False)
    store.record_quiz_answer("ada", question.id, "another wrong option", False)  # the same question again
    store.record_quiz_answer("ada", "some-other-question", "right option", True)
    store.record_quiz_round("ada", 2, 5, "beginner")
    store.record_quiz_round("ada", 4, 5, "beginner")
    record_marked(store, "ada", prompt.id, 3, 4, "an answer")
    store.mark_done("bob", "concept", other_concept.id)  # another learner: must not count for ada

    at = run_page("ada")
    shown = metrics(at)
    assert shown["Concepts"] == f"1 / {len(lessons.concepts)}"
    assert shown["Flashcards known"] == f"1 / {len(lessons.cards)}"
    assert shown["Quiz attempts right"] == "1 / 3"  # attempts, not questions: 2 questions were answered

    charts = at.get("plotly_chart")
    assert len(charts) == 1
    figure = json.loads(charts[0].proto.spec)
    trace, xaxis = figure["data"][0], figure["layout"]["xaxis"]
    assert trace["y"] == [40, 80]  # 2/5 and 4/5 as percentages
    assert trace["x"] == [1, 2]  # rounds, not clock times a second apart
    today = datetime.now().strftime("%b %d")
    assert xaxis["ticktext"] == [f"1<br>{today}", f"2<br>{today}"]
    assert any(c.value == f"Chart summary: 2 quiz rounds on {today}: first 40%, latest 80%, best 80%."
               for c in at.caption)

    text = all_markdown(at)
    assert "**3 of 4**" in text and "best marks from probes and your own check" in text
    assert card_not_yet.front in text
    assert card_known.front not in text
    assert question.prompt in text
    assert other_concept.title in text  # ada has not done it (bob has)
    assert "Questions you missed** (1)" in text


def test_learner_with_no_history_among_others(db):
    ProgressStore(db).mark_done("bob", "concept", load_lessons().concepts[0].id)
    at = run_page("ada")
    assert any("No progress yet for **ada**" in i.value for i in at.info)


def test_corrupt_database_shows_a_warning_not_a_traceback(db):
    with open(db, "wb") as f:
        f.write(b"\x00garbage, not sqlite\xff" * 300)
    at = run_page("ada")
    assert len(at.warning) == 1
    assert "not a valid SQLite file" in at.warning[0].value
    assert any("cannot be read right now" in i.value for i in at.info)


def test_failed_writes_are_kept_and_replayed_when_the_database_works(tmp_path, monkeypatch):
    bad = tmp_path / "db.sqlite3"
    bad.write_bytes(b"garbage" * 500)
    monkeypatch.setenv("FTLAB_DB", str(bad))
    script = """
import streamlit as st
from ui.common import get_progress_store, safe_store_call
store = get_progress_store()
safe_store_call(store.mark_done, "ada", "concept", st.session_state.get("item", "c1"))
"""
    at = AppTest.from_string(script, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert len(at.warning) == 1
    assert at.session_state["_unsaved_progress"] == [("mark_done", ("ada", "concept", "c1"), {})]

    at.session_state["item"] = "c2"
    at.run()
    assert len(at.warning) == 0  # already told once this session

    bad.replace(tmp_path / "moved-aside.sqlite3")  # the teacher moves the broken file away
    at.session_state["item"] = "c3"
    at.run()
    assert not at.exception
    assert at.session_state["_unsaved_progress"] == []
    assert ProgressStore(str(bad)).done_items("ada") == {("concept", "c1"), ("concept", "c2"),
                                                         ("concept", "c3")}


def test_two_unnamed_browsers_never_see_each_others_progress(db):
    first = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    ProgressStore(db).record_quiz_round(first.session_state["learner"], 3, 5, "beginner")
    first.run()
    assert len(first.get("plotly_chart")) == 1
    second = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()  # another browser, no cookie
    assert second.session_state["learner"] != first.session_state["learner"]
    assert len(second.get("plotly_chart")) == 0
    assert any("No progress yet for this browser" in i.value for i in second.info)
