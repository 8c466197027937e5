"""Issue 14 items 4 and 5 in Chromium: after a real tiny run the accuracy chart carries the 95% band,
and the "Quiz on your run" tab asks about the run, answers at once with a pointer to the chart, and
the answer counts on the Progress page. On the old code there was no band and no such tab."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import open_page, run_to_the_end, shot, wait_idle

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 180_000
# 4 epochs so the loss questions can be asked; two groups train, so "which moved most" has a contest.
SETUP = "/lab?dataset=faces&size=32&per_class=8&val_per_class=6&epochs=4&train=stage6,head&lr=0.003"


def test_band_and_a_quiz_on_the_run_counted_in_progress(page):
    open_page(page, SETUP, "Start training")
    run_to_the_end(page, 4, RUN_TIMEOUT_MS)

    results = page.locator('[data-testid="stTabs"]').filter(has=page.get_by_role("tab", name=re.compile("Quiz on")))
    curves = results.locator('[role="tabpanel"]').first
    expect(curves.locator(".legendtext", has_text="validation 95% interval")).to_have_count(1)
    expect(curves.get_by_text(re.compile(r"validation \d+%, 95% interval \d+–\d+%")).first).to_be_attached()

    page.get_by_role("tab", name=re.compile("Quiz on your run")).click()
    moved = page.locator('[class*="_runquiz_moved_most"]').first
    expect(moved.get_by_text("moved most", exact=False)).to_be_visible()
    moved.locator('[role="radiogroup"] label').first.click()
    moved.get_by_role("button", name="Check my answer").click()
    feedback = moved.locator('[data-testid="stAlert"]')
    expect(feedback).to_be_visible(timeout=30_000)
    wait_idle(page)
    text = feedback.inner_text()
    assert "Weight change" in text, text
    top = re.search(r"On the Weight change chart, (\S+) ends highest", text).group(1)
    expect(moved.locator("li", has_text="✅")).to_contain_text(top)  # the marked answer is the run's own top mover
    shot(page, "lab_run_quiz")

    open_page(page, "/progress", "What you have done")
    right = 1 if text.startswith("Right") else 0
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Quiz attempts right")
    expect(metric).to_contain_text(f"{right} / 1")
