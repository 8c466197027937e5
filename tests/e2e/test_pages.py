"""Every page opens by its URL path in a real browser, shows its title and no exception box."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_no_exception, open_page, shot, wait_idle

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
    ("/teacher", "Teacher", "teacher"),
]


def test_every_page_opens_by_url(page):
    """One browser session walks all pages (one session is faster than ten on a 2-core machine)."""
    for path, title, name in PAGES:
        open_page(page, path)
        h1 = page.locator('[data-testid="stMain"] h1').first
        expect(h1).to_contain_text(title)
        expect(page).to_have_url(re.compile(re.escape(path.rstrip("/")) + r"/?(\?.*)?$"))  # not redirected
        expect(page.locator('[role="dialog"]')).to_have_count(0)  # e.g. Streamlit's "Page not found"
        assert_no_exception(page)
        shot(page, f"page-{name}")


# What Streamlit's old-style sidebar lists for this project: its entry script and pages/ modules by file name.
MODULE_NAMES = {"app", "entry", "home", "concepts", "deep dive", "pitfalls", "flashcards", "quiz", "explain",
                "practice", "progress", "lab", "teacher"}


def test_deep_link_to_a_fresh_server_shows_the_app_navigation(first_visit):
    """The server's first visit, by deep link, shows the app's own navigation from its first paint:
    never Streamlit's list of the modules in pages/ (lower-case file names, "deep dive")."""
    assert "Quiz" in first_visit["h1"]
    for title in ("Home", "Concepts", "Quiz", "Lab", "Check yourself"):
        assert title in first_visit["nav"], f"{title!r} missing from the sidebar: {first_visit['nav']!r}"
    seen = first_visit["nav_seen"]
    assert seen and seen[0].startswith("Start"), f"the first sidebar painted is not the app's: {seen!r}"
    for nav in seen:
        listed = MODULE_NAMES.intersection(line.strip() for line in nav.splitlines())
        assert not listed, f"modules {sorted(listed)} listed as pages in a sidebar the first visit showed: {seen!r}"


def _no_page_not_found(pg) -> None:
    expect(pg.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=90_000)
    wait_idle(pg)
    expect(pg.locator('[role="dialog"]')).to_have_count(0)
    assert_no_exception(pg)


def test_every_address_the_app_shows_opens_cleanly_in_a_fresh_browser(browser, app_url, first_visit):
    """Every link of the sidebar and of the home page, and /home (typed or shared by a teacher),
    opened in a brand-new browser after the server's first visit: no "Page not found" dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(60_000)
    try:
        pg = context.new_page()
        open_page(pg, "/")
        hrefs = pg.eval_on_selector_all(
            '[data-testid="stSidebarNav"] a[href], [data-testid="stMain"] a[href]',
            "links => links.map(a => a.getAttribute('href'))")
        paths = {"/home", "/home?from=a-teacher"} | {
            "/" + h.split("://", 1)[-1].split("/", 1)[-1] for h in hrefs if h.startswith(app_url) or h.startswith("/")}
        assert len(paths) >= 10, paths  # nine pages and the lab demo link at least
        for path in sorted(paths):
            fresh = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
            try:
                one = fresh.new_page()
                one.set_default_timeout(60_000)
                one.goto(path)
                _no_page_not_found(one)
            except AssertionError as exc:
                raise AssertionError(f"{path}: {exc}") from exc
            finally:
                fresh.close()
    finally:
        context.close()
