"""Explain it in a real browser (issue 11, section 3): an answer that puts the learning rates the
wrong way round, in the checklist's own words, is not graded as right; the misconception is named
with the learner's sentence, and what matching cannot decide is left to a self-check tick."""
import re

import pytest
from playwright.sync_api import expect

from core.content.lessons import load_lessons
from tests.e2e.helpers import assert_no_exception, choose, click_button, expect_on, key, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

PROMPT = load_lessons().by_id("prompts", "explain-discriminative")
WRONG = "The early layers should get a larger learning rate than the head."


def label(prompt) -> str:
    return f"{prompt.prompt.splitlines()[0][:90]} ({prompt.level})"


def test_reversed_learning_rates_are_named_as_a_misconception(page):
    open_page(page, "/explain", "Your explanation")
    choose(page, "explain_prompt", label(PROMPT))
    wait_idle(page)
    box = key(page, "explain_text").locator("textarea")
    box.fill(f"Discriminative learning rates give every layer a different learning rate. {WRONG}")
    box.press("Control+Enter")
    wait_idle(page)
    click_button(page, "explain_score")
    wait_idle(page)

    summary = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"covers \d+ of \d+ concepts"))
    # the keyword scorer gave this 2 of 4 or more
    expect(summary).to_contain_text(f"covers 1 of {len(PROMPT.checklist)} concepts")

    named = page.locator('[data-testid="stAlert"]').filter(has_text="This sounds like the misconception that")
    expect(named).to_have_count(1)
    expect(named).to_contain_text(WRONG)
    expect(named).to_contain_text(PROMPT.checklist[1].label)

    # Gradual unfreezing and protection were not mentioned: the learner may tick them after comparing.
    gradual = f"explain_self_{PROMPT.id}_gradual"
    key(page, gradual).locator("label").first.click()
    wait_idle(page)
    expect_on(page, gradual)
    expect(key(page, "explain_self_check")).to_contain_text("Self-assessed: 1 of 2 ticked")
    assert_no_exception(page)
    shot(page, "explain-misconception")
