"""The Teacher page under AppTest: closed without FTLAB_TEACHER_CODE, nothing shown for a wrong passcode,
slowed retries, the class view with the right one; and the Quiz page opened on one question by the
link the class view gives it."""
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.classroom import teacher_gate
from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons
from core.lab.presets import PRESETS
from tests.helpers import record_marked

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "teacher.py")
QUIZ = str(ROOT / "pages" / "quiz.py")
CODE = "a-long-teacher-code"
TIMEOUT = 60


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """A fresh server-wide gate per test, on a clock the test moves."""
    fake = Clock()
    monkeypatch.setattr(teacher_gate, "_SHARED", teacher_gate.PasscodeGate(clock=fake))
    return fake


@pytest.fixture
def class_db(tmp_path, monkeypatch, clock):
    """A store where ada missed the first question and explained once, and bob ran a demo."""
    path = str(tmp_path / "progress.sqlite3")
    monkeypatch.setenv("FTLAB_DB", path)
    monkeypatch.setenv(teacher_gate.ENV, CODE)
    lessons = load_lessons()
    store = ProgressStore(path)
    store.record_quiz_answer("ada", lessons.questions[0].id, "wrong", False)
    store.record_quiz_answer("bob", lessons.questions[0].id, "right", True)
    record_marked(store, "ada", lessons.prompts[0].id, 2, 4, "my answer")
    label, _ = PRESETS["lr-too-high"].runs[0]
    store.record_lab_run("bob", {"id": "r1", "label": label, "status": "finished", "val_acc": 0.1})
    return lessons


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote, as one string."""
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success", "code")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def type_code(at: AppTest, code: str) -> AppTest:
    at.text_input(key="teacher_code").input(code)
    at.button[0].click()  # the form's submit button
    return run(at)


def test_without_a_passcode_the_page_says_how_to_open_it(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    monkeypatch.delenv(teacher_gate.ENV, raising=False)
    at = run(AppTest.from_file(PAGE, default_timeout=TIMEOUT))
    assert "switched off" in at.info[0].value
    assert at.code[0].value == teacher_gate.ENABLE_COMMAND == "FTLAB_TEACHER_CODE='pick-a-passcode' ./ftlab app"
    assert len(at.text_input) == 0 and len(at.metric) == 0


def test_the_teacher_reads_an_answer_marks_it_and_comments(class_db):
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    store = ProgressStore(os.environ["FTLAB_DB"])
    (attempt,) = store.class_explain_answers(class_db.prompts[0].id)
    assert "my answer" in [t.value for t in at.text]
    assert any("2 of 4" in m.value and "ada" in m.value for m in at.markdown)
    at.radio(key=f"teacher_review_mark_{attempt['id']}").set_value("partly")
    at.text_area(key=f"teacher_review_comment_{attempt['id']}").input("Say which layers stay frozen.")
    next(b for b in at.button if b.label == "Save review").click()
    run(at)
    assert [(f["review_mark"], f["review_comment"]) for f in store.explain_feedback("ada")] == [
        ("partly", "Say which layers stay frozen.")]
    assert any("the learner sees your mark and comment" in c.value for c in at.caption)


def test_attempts_from_before_the_probes_are_named_and_left_out_of_the_mean(class_db):
    store = ProgressStore(os.environ["FTLAB_DB"])
    store._write("INSERT INTO explain_attempts (learner, prompt_id, found, total, answer, ts) VALUES (?,?,?,?,?,?)",
                 ("bob", class_db.prompts[0].id, 4, 4, "keyword era", 1.0))
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    assert any("1 attempt(s) were recorded before the probes" in i.value for i in at.info)
    explain = at.dataframe[0].value
    assert list(explain["mean best mark"]) == [0.5] and list(explain["keyword scored"]) == [1]


def test_a_wrong_passcode_shows_no_data(class_db):
    at = run(AppTest.from_file(PAGE, default_timeout=TIMEOUT))
    assert at.text_input(key="teacher_code").proto.type == at.text_input(key="teacher_code").proto.PASSWORD
    type_code(at, "not-the-code")
    assert "That passcode is wrong" in at.error[0].value
    shown = texts(at)
    assert class_db.questions[0].prompt.splitlines()[0] not in shown and "ada" not in shown
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.tabs) == 0
    assert at.text_input(key="teacher_code").value == ""  # the typed code is not kept


def test_the_right_passcode_shows_the_class(class_db):
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Learners": "2", "Quiz answers": "2", "Explain it prompts tried": "1", "Lab runs": "1"}
    first = class_db.questions[0]
    link = next(m.value for m in at.markdown if first.id in m.value)  # page_link's stand-in when run alone
    assert f"/quiz?question={first.id}" in link and "50% missed it" in link
    assert any("1 of 2 learner(s) got it wrong the first time" in c.value for c in at.caption)
    assert any(f"demo: {PRESETS['lr-too-high'].title}" in m.value and "bob" in m.value for m in at.markdown)
    explain = at.dataframe[0].value
    assert list(explain["prompt id"]) == [class_db.prompts[0].id] and list(explain["mean best mark"]) == [0.5]
    assert [b.proto.label for b in at.get("download_button")] == [
        "⬇️ Quiz questions (CSV)", "⬇️ Explain it marks (CSV)", "⬇️ Lab runs (CSV)", "⬇️ Learners (CSV)"]
    assert "browser:" not in texts(at)
    assert sorted(at.dataframe[-1].value["learner"]) == ["ada", "bob"]  # the Learners tab
    at.button(key="teacher_lock").click()
    assert len(run(at).metric) == 0 and at.text_input(key="teacher_code") is not None


def test_repeated_wrong_tries_are_slowed_down(class_db, clock):
    at = run(AppTest.from_file(PAGE, default_timeout=TIMEOUT))
    type_code(at, "guess-1")
    type_code(at, CODE)  # at once: refused without being checked
    assert "Too many wrong passcodes. Wait 1 s" in at.error[0].value and len(at.metric) == 0
    clock.now += 1
    type_code(at, "guess-2")
    assert "try again in 2 s" in at.error[0].value
    other = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)  # another browser
    assert len(other.metric) == 4
    clock.now += 2
    assert len(type_code(at, CODE).metric) == 4


def test_a_new_passcode_on_the_server_locks_open_views(class_db, monkeypatch):
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    assert len(at.metric) == 4
    monkeypatch.setenv(teacher_gate.ENV, "another-long-code")
    assert len(run(at).metric) == 0 and at.text_input(key="teacher_code") is not None


def test_a_short_passcode_gets_a_warning(class_db, monkeypatch):
    monkeypatch.setenv(teacher_gate.ENV, "1234")
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), "1234")
    assert "This passcode is short (4 characters)" in at.warning[0].value


def test_an_empty_class_says_so(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    monkeypatch.setenv(teacher_gate.ENV, CODE)
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    assert "No learner has stored anything yet" in at.info[0].value


def test_the_page_is_in_the_navigation(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    monkeypatch.delenv(teacher_gate.ENV, raising=False)
    at = run(AppTest.from_file(str(ROOT / "web" / "entry.py"), default_timeout=TIMEOUT))
    run(at.switch_page(str(ROOT / "pages" / "teacher.py")))
    assert at.title[0].value == "🧑‍🏫 Teacher's view"


def test_a_question_link_opens_the_quiz_on_that_question(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    question = load_lessons().questions[5]
    at = AppTest.from_file(QUIZ, default_timeout=TIMEOUT)
    at.query_params["question"] = question.id
    run(at)
    assert at.subheader[0].value.startswith("Question 1 of 1 ")
    assert any(m.value == question.prompt for m in at.markdown)
    assert "question" not in at.query_params  # used once: a rerun keeps the round
    run(at)
    assert at.subheader[0].value.startswith("Question 1 of 1 ")


def test_a_link_to_an_unknown_question_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "p.sqlite3"))
    at = AppTest.from_file(QUIZ, default_timeout=TIMEOUT)
    at.query_params["question"] = "no-such-question"
    run(at)
    assert "“no\\-such\\-question” is not in the quiz" in at.warning[0].value  # as text (tests/test_link_echo.py)
    assert not at.subheader[0].value.startswith("Question 1 of 1 ")


def test_the_explain_tile_counts_the_prompts_its_table_lists(class_db):
    """Two learners on one prompt: one row in the Explain it table, so the tile says 1 (it said 2)."""
    import os

    record_marked(ProgressStore(os.environ["FTLAB_DB"]), "bob", class_db.prompts[0].id, 1, 4, "bob's answer")
    at = type_code(run(AppTest.from_file(PAGE, default_timeout=TIMEOUT)), CODE)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Explain it prompts tried"] == "1" == str(len(at.dataframe[0].value))
