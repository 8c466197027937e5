"""Quiz answers and "Explain it" attempts kept per learner per hour are capped (FTLAB_MAX_*_PER_HOUR),
anonymous learners included, so one learner cannot fill the database; past the cap the page says
so and nothing breaks. Store tests run on SQLite and PostgreSQL (tests/conftest.py)."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.classroom import identity as ident
from core.classroom.progress import ProgressStore, RecordLimit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(progress_db):
    store = ProgressStore(progress_db)
    yield store
    store.close()


def test_quiz_answers_past_the_hourly_cap_are_refused_with_a_clear_message(store, monkeypatch):
    monkeypatch.setenv("FTLAB_MAX_ANSWERS_PER_HOUR", "3")
    anonymous = ident.anonymous_key(ident.new_browser_id())
    for i in range(3):
        store.record_quiz_answer(anonymous, f"q{i}", "A", True)
    with pytest.raises(RecordLimit, match=r"3 quiz answers in the last hour.*FTLAB_MAX_ANSWERS_PER_HOUR"):
        store.record_quiz_answer(anonymous, "q9", "A", True)
    assert len(store.answer_history(anonymous)) == 3
    store.record_quiz_answer("someone-else", "q1", "A", True)  # the cap is per learner
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    store.record_quiz_answer(anonymous, "q9", "A", True)  # an hour on, answers are kept again


def test_explain_attempts_past_the_hourly_cap_are_refused(store, monkeypatch):
    monkeypatch.setenv("FTLAB_MAX_EXPLAINS_PER_HOUR", "2")
    for _ in range(2):
        store.start_explain("ada", "p1", "an answer", 2, 3)
    with pytest.raises(RecordLimit, match="2 “Explain it” attempts in the last hour"):
        store.start_explain("ada", "p1", "an answer", 2, 3)
    assert len(store.explain_history("ada")) == 2


def test_the_explain_page_says_when_an_attempt_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    monkeypatch.setenv("FTLAB_MAX_EXPLAINS_PER_HOUR", "1")
    at = AppTest.from_file(str(ROOT / "pages" / "explain.py"), default_timeout=30).run()
    for _ in range(2):
        at.text_area(key="explain_text").input("Frozen layers keep their pretrained weights.")
        at.button(key="explain_score").click().run()
        assert not at.exception, [e.value for e in at.exception]
    assert any("not kept" in w.value and "FTLAB_MAX_EXPLAINS_PER_HOUR" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert at.session_state["_unsaved_progress"] == []  # a refusal is not retried as a failed write
