"""Issue 10 items 6 and 8 in a real browser: the deep dive hides each step's text until a prediction
is locked and counts the step at once; the quiz marks the chosen and the right option in the list and
keeps a level's round when the learner looks at another level."""
import re

import pytest
from playwright.sync_api import Page, expect

from core.content.lessons import load_lessons
from tests.e2e.helpers import assert_no_exception, click_button, key, open_page, shot, wait_idle
from tests.e2e.test_learning import current_question, pick_option, plain

pytestmark = pytest.mark.browser

L = load_lessons()
MAIN = '[data-testid="stMain"]'


def test_deep_dive_reveals_after_the_prediction_and_counts_it(page: Page):
    open_page(page, "/deep_dive", "Steps done:")
    step = L.steps[0]
    main = page.locator(MAIN)
    expect(main.get_by_text(f"Steps done: 0 of {len(L.steps)}")).to_be_visible()
    expect(main.get_by_text(plain(step.predict.question))).to_be_visible()
    # The step's own text answers its question: it must not be on screen yet.
    first_line = plain(step.body.splitlines()[0])
    assert first_line not in plain(main.inner_text())

    box = key(page, f"dive_step_{step.id}_choice")
    box.locator("label").filter(has_text=plain(step.predict.answer_text)).first.click()
    click_button(page, f"dive_step_{step.id}_lock")
    expect(main.get_by_text(f"Steps done: 1 of {len(L.steps)}")).to_be_visible()  # no lag of one step
    expect(main.get_by_text(first_line, exact=False).first).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "deep-dive-after-prediction")


def test_quiz_marks_the_options_and_keeps_the_round_across_levels(page: Page):
    open_page(page, "/quiz", "Question 1 of")
    q = current_question(page)
    wrong = next(o for o in q.options if not o.correct)
    pick_option(page, wrong.text)
    click_button(page, "quiz_submit")
    main = page.locator(MAIN)
    mine = main.locator("li").filter(has_text=plain(wrong.text))
    expect(mine).to_contain_text("❌")
    expect(mine).to_contain_text("your answer")
    right = main.locator("li").filter(has_text=plain(q.correct_option.text))
    expect(right).to_contain_text("✅")
    expect(right).to_contain_text("right answer")
    expect(page.get_by_text(re.compile(r"Score: 0 of 1 answered"))).to_be_visible()
    wait_idle(page)
    shot(page, "quiz-marked-options")

    level = key(page, "quiz_level")
    level.locator("label").filter(has_text="Beginner").click()
    expect(page.get_by_text(re.compile(r"kept for you: All"))).to_be_visible()
    wait_idle(page)
    level.locator("label").filter(has_text="All").click()
    expect(page.get_by_text(re.compile(r"Score: 0 of 1 answered"))).to_be_visible()
    expect(main.locator("li").filter(has_text=plain(wrong.text))).to_contain_text("your answer")
    wait_idle(page)
    assert_no_exception(page)
