"""The Lab's "Quiz on your run" tab (ui/lab/run_quiz.py) under AppTest: questions from a run's
epochs, feedback at once, answers recorded in the progress store; and the Progress page with them."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons
from core.runs.run_quiz import NOT_OVERFITTING, questions_for
from tests.test_run_quiz import run

OVERFIT = run([1.0, 0.6, 0.45, 0.5, 0.6, 0.7])  # val loss bottoms out in epoch 3, then rises
PROGRESS_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "progress.py")


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)
    return path


def _quiz_page():
    import streamlit as st

    from ui.lab.run_quiz import render_run_quiz

    render_run_quiz(st.session_state["epochs"], "j1")


def quiz_page(epochs) -> AppTest:
    at = AppTest.from_function(_quiz_page, default_timeout=30)
    at.session_state["epochs"] = epochs
    at.session_state["learner"] = "ada"
    return ok(at)


def ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def check(at: AppTest, kind: str, choice: str | None) -> AppTest:
    if choice is not None:
        at.radio(key=f"j1_runquiz_pick_{kind}").set_value(choice)
    index = [q.kind for q in questions_for(at.session_state["epochs"])].index(kind)
    at.button[index].click()  # the form's submit buttons, one per question in order
    return ok(at)


def test_three_questions_from_the_run_each_with_a_form(db):
    at = quiz_page(OVERFIT)
    assert [r.label for r in at.radio] == ["Your answer"] * 3
    assert [r.options for r in at.radio] == [list(q.options) for q in questions_for(OVERFIT)]
    prompts = " ".join(m.value for m in at.markdown)
    assert "validation loss" in prompts and "moved most" in prompts and "overfitting" in prompts


def test_a_wrong_answer_gets_the_right_one_and_the_chart_and_is_recorded(db):
    at = check(quiz_page(OVERFIT), "overfitting", NOT_OVERFITTING)
    assert len(at.error) == 1
    text = at.error[0].value
    assert "the answer is *Yes, from epoch 4*" in text and "Loss** chart" in text and "bottoms out in epoch 3" in text
    assert len(at.radio) == 2  # the answered question shows its feedback, not its form
    q = next(q for q in questions_for(OVERFIT) if q.kind == "overfitting")
    answers = ProgressStore(db).answer_history("ada")
    assert [(a["question_id"], a["chosen_text"], a["correct"]) for a in answers] == [(q.id, NOT_OVERFITTING, False)]


def test_a_right_answer_is_praised_and_recorded_once(db):
    at = check(quiz_page(OVERFIT), "val_loss_min", "Epoch 3")
    assert len(at.success) == 1 and at.success[0].value.startswith("**Right.**")
    ok(at)  # another rerun records nothing more
    assert [a["correct"] for a in ProgressStore(db).answer_history("ada")] == [True]


def test_checking_without_a_pick_asks_for_one(db):
    at = check(quiz_page(OVERFIT), "moved_most", None)
    assert any("Pick one of the options first" in w.value for w in at.warning)
    assert ProgressStore(db).answer_history("ada") == []


def test_a_run_without_a_clear_question_says_why(db):
    at = quiz_page(run([0.9], change={"head": 0.3}))
    assert len(at.radio) == 0 and "no question a single clear answer" in at.info[0].value


def test_progress_page_counts_run_quiz_answers_but_offers_only_lesson_questions(db):
    lessons = load_lessons()
    store = ProgressStore(db)
    for q in questions_for(OVERFIT):
        store.record_quiz_answer("ada", q.id, q.options[q.answer - 1], False)
    store.record_quiz_answer("ada", lessons.questions[0].id, "x", False)
    at = AppTest.from_file(PROGRESS_PAGE, default_timeout=30)
    at.session_state["learner"] = "ada"
    ok(at)
    assert {m.label: m.value for m in at.metric}["Quiz attempts right"] == "0 / 4"
    text = "\n".join(m.value for m in at.markdown)
    assert "Questions you missed** (1)" in text and lessons.questions[0].prompt in text


def test_quiz_page_offers_to_practise_only_missed_lesson_questions(db):
    lessons = load_lessons()
    store = ProgressStore(db)
    for q in questions_for(OVERFIT):  # three missed run questions: not in the lessons, never offered
        store.record_quiz_answer("ada", q.id, q.options[q.answer - 1], False)
    at = AppTest.from_file(str(Path(PROGRESS_PAGE).with_name("quiz.py")), default_timeout=30)
    at.session_state["learner"] = "ada"
    ok(at)
    assert not [b for b in at.button if b.key == "quiz_missed_before"]
    store.record_quiz_answer("ada", lessons.questions[0].id, "x", False)
    ok(at)
    assert [b.label for b in at.button if b.key == "quiz_missed_before"] == [
        "Practise the 1 question(s) you missed before"]
