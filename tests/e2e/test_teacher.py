"""The Teacher page in a real browser: a wrong passcode shows nothing, the right one shows a question the
class missed (from answers this test stores), and its link opens the Quiz on that question."""
import time

import pytest
from playwright.sync_api import expect

from core.classroom.identity import anonymous_key, new_browser_id
from core.classroom.progress import ProgressStore
from core.content.lessons import load_lessons
from tests.e2e.conftest import TEACHER_CODE
from tests.e2e.helpers import assert_no_exception, expect_url, open_page, shot, wait_idle
from tests.e2e.test_a11y import axe_violations

pytestmark = pytest.mark.browser


def type_passcode(page, code: str) -> None:
    page.locator(".st-key-teacher_code input").fill(code)
    page.get_by_role("button", name="Open the class view").click()
    wait_idle(page)
    assert_no_exception(page)


def test_teacher_sees_a_missed_question_and_opens_it(page, server_tmp):
    question = load_lessons().questions[-1]  # the last, hardest one: other tests answer early ones
    store = ProgressStore(str(server_tmp / "progress.sqlite3"))
    store.record_quiz_answer("e2e_ada", question.id, "a wrong option", False)
    store.record_quiz_answer(anonymous_key(new_browser_id()), question.id, "another wrong option", False)

    open_page(page, "/teacher", "Type the teacher passcode")
    main = page.locator('[data-testid="stMain"]')
    type_passcode(page, "not-" + TEACHER_CODE)
    expect(main.get_by_text("That passcode is wrong")).to_be_visible()
    expect(page.locator(f'a[href*="question={question.id}"]')).to_have_count(0)
    expect(main.get_by_text("e2e_ada")).to_have_count(0)

    time.sleep(1.2)  # the first wrong try makes this browser wait 1 s
    type_passcode(page, TEACHER_CODE)
    link = main.locator(f'a[href*="question={question.id}"]')
    expect(link).to_be_visible()
    expect(link).to_contain_text("100% missed it")
    expect(main.get_by_text("2 of 2 learner(s) got it wrong the first time", exact=False).first).to_be_visible()
    expect(page.locator(".st-key-teacher_csv_quiz button")).to_be_visible()
    shot(page, "teacher-view")
    assert axe_violations(page) == []

    link.click()
    expect(main.locator("h1").first).to_contain_text("Quiz")
    wait_idle(page)
    expect(main.get_by_text("Question 1 of 1", exact=False)).to_be_visible()
    for option in question.options:  # its options, as radio buttons named by their plain text
        expect(main.get_by_role("radio", name=option.text.replace("`", "").replace("*", ""))).to_have_count(1)
    expect_url(page, absent=("question=",))  # used once: a reload carries on with the round
    assert_no_exception(page)
