"""Review that comes back, in a real browser: a flashcard due today is counted on Home, its link opens
the Flashcards' due deck, and marking the card there takes it off today's count."""
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from core.classroom import review_records
from core.classroom.identity import anonymous_key
from core.classroom.progress import ProgressStore
from core.classroom.review import CARD
from core.content.lessons import load_lessons
from tests.e2e.helpers import click_button, key, open_page, wait_idle

pytestmark = pytest.mark.browser
DAY = 86_400


def test_a_card_due_today_is_counted_on_home_and_reviewing_it_takes_it_off(page, server_tmp, monkeypatch):
    card = next(c for c in load_lessons().cards if not set("*`_$[") & set(c.front))  # shown as typed
    open_page(page, "/")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "ftlab_browser")
    store = ProgressStore(str(server_tmp / "progress.sqlite3"))
    # This browser marked the card "Not yet" three days ago: it was due two days ago.
    three_days_ago = review_records.time.time() - 3 * DAY
    monkeypatch.setattr(review_records, "time", SimpleNamespace(time=lambda: three_days_ago))
    store.record_review(anonymous_key(cookie), CARD, card.id, False)
    monkeypatch.undo()
    store.close()

    open_page(page, "/")
    due = key(page, "due_today")
    expect(due).to_contain_text("Due for review today")
    expect(due.locator('[data-testid="stMetricValue"]')).to_have_text("1")
    due.get_by_text("Review 1 flashcard").click()

    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Reviewed: 0 of 1 due cards")
    expect(key(page, "card_deck")).to_contain_text("Due today (1)")
    expect(main).to_contain_text(card.front)
    wait_idle(page)
    click_button(page, "card_flip")
    expect(key(page, "card_known").locator("button")).to_be_enabled()  # the back was seen: it may be marked
    click_button(page, "card_known")
    expect(main).to_contain_text("Review done: 1 card")
    expect(key(page, "card_deck")).to_contain_text("Due today (0)")

    open_page(page, "/")
    expect(key(page, "due_today")).to_contain_text("Nothing to review today")
    expect(key(page, "due_today").locator('[data-testid="stMetricValue"]')).to_have_count(0)
