"""Every page opens by its URL path in a real browser, shows its title and no exception box."""
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_no_exception, open_page, shot

pytestmark = pytest.mark.browser

PAGES = [
    ("/", "Fine-Tuning Lab", "home"),
    ("/concepts", "Concepts", "concepts"),
    ("/deep_dive", "Deep dive", "deep-dive"),
    ("/pitfalls", "Pitfalls", "pitfalls"),
    ("/flashcards", "Flashcards", "flashcards"),
    ("/quiz", "Quiz", "quiz"),
    ("/explain", "Explain it", "explain"),
    ("/practice", "Practice", "practice"),
    ("/progress", "Progress", "progress"),
    ("/lab", "Lab", "lab"),
]


def test_every_page_opens_by_url(page):
    """One browser session walks all pages (one session is faster than ten on a 2-core machine)."""
    for path, title, name in PAGES:
        open_page(page, path)
        h1 = page.locator('[data-testid="stMain"] h1').first
        expect(h1).to_contain_text(title)
        assert page.url.rstrip("/").endswith(path.rstrip("/")), f"{path} redirected to {page.url}"
        expect(page.locator('[role="dialog"]')).to_have_count(0)  # e.g. Streamlit's "Page not found"
        assert_no_exception(page)
        shot(page, f"page-{name}")


def test_deep_link_to_a_fresh_server_shows_the_app_navigation(first_visit):
    nav = first_visit["nav"]
    assert "Quiz" in first_visit["h1"]
    for title in ("Home", "Concepts", "Quiz", "Lab"):
        assert title in nav, f"{title!r} missing from the sidebar: {nav!r}"
    for module in ("common", "lab charts", "lab state", "lesson widgets"):
        assert module not in nav.splitlines(), f"helper module {module!r} listed as a page: {nav!r}"
