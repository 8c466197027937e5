"""The Progress page's quiz chart in a real browser: one point per round on an axis of round numbers
and dates (rounds taken seconds apart used to show as clock seconds), its summary in words, and no
serious axe violation with the chart on screen."""
import re

import pytest
from playwright.sync_api import expect

from core.classroom.identity import anonymous_key
from core.classroom.progress import ProgressStore
from tests.e2e.helpers import open_page
from tests.e2e.test_a11y import axe_violations

pytestmark = pytest.mark.browser


def test_quiz_chart_counts_rounds_with_dates_and_says_it_in_words(page, server_tmp):
    open_page(page, "/")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "ftlab_browser")
    store = ProgressStore(str(server_tmp / "progress.sqlite3"))
    for score in (2, 3, 5):  # three rounds within a second, as a quick learner does
        store.record_quiz_round(anonymous_key(cookie), score, 5, "beginner")

    open_page(page, "/progress", "Quiz scores over time")
    chart = page.locator('[data-testid="stPlotlyChart"]')
    expect(chart.locator(".scatterlayer .point")).to_have_count(3)
    expect(chart.locator(".xtick text")).to_have_count(3)
    ticks = chart.locator(".xtick text").evaluate_all("els => els.map(e => e.textContent)")
    assert len(ticks) == 3 and [t[0] for t in ticks] == ["1", "2", "3"], ticks
    assert not any(re.search(r"\d\d:\d\d:\d\d|\.\d{3}", t) for t in ticks), ticks  # no clock seconds
    expect(page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Chart summary")).to_contain_text(
        re.compile(r"3 quiz rounds on \w{3} \d\d: first 40%, latest 100%, best 100%"))
    assert axe_violations(page) == []
