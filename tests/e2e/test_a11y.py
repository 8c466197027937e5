"""Accessibility in a real browser: axe-core finds no serious or critical violation on any page, and
the quiz, the flashcards and the Lab's Start/Stop work from the keyboard alone.

Excluded from axe, and only this: Streamlit's own sidebar page navigation ([data-testid=
"stSidebarNav"]), markup the app does not write. Everything the app draws is checked.
"""
import os
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import click_button, key, open_page, wait_idle
from tests.e2e.test_pages import PAGES

pytestmark = pytest.mark.browser

AXE_EXCLUDE = [['[data-testid="stSidebarNav"]']]
BLOCKING = ("serious", "critical")


def _axe():
    """axe-core's runner; missing, it skips locally and fails on CI (like the browser itself)."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        problem = "axe-playwright-python is missing (pip install -r requirements-dev.txt)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"accessibility tests must run on CI, but {problem}", pytrace=False)
        pytest.skip(problem)
    return Axe()


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations on the page as shown, one line per rule."""

    # The frame makes code blocks focusable from a script; let it finish before checking.
    expect(page.locator('[data-testid="stCode"] pre:not([tabindex])')).to_have_count(0)
    result = _axe().run(page, context={"exclude": AXE_EXCLUDE})
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['help']}; e.g. {v['nodes'][0]['html'][:160]}"
            for v in result.response["violations"] if v["impact"] in BLOCKING]


def test_no_serious_or_critical_axe_violation_on_any_page(page):
    found = {}
    for path, _title, _name in PAGES:
        open_page(page, path)
        found[path] = axe_violations(page)
    assert not any(found.values()), "\n".join(f"{p}: {v}" for p, vs in found.items() for v in vs)


def test_no_serious_or_critical_axe_violation_after_interactions(page):
    """States a page load does not show: a flipped card, a committed practice answer, the nickname
    box with its recovery code and a refusal."""
    found = {}
    open_page(page, "/flashcards", "Known:")
    click_button(page, "card_flip")
    wait_idle(page)
    found["flashcards, flipped"] = axe_violations(page)
    open_page(page, "/practice", "Your answer first")
    page.get_by_role("button", name="No idea yet: show the first step").click()
    expect(page.get_by_text("Step 1:", exact=False)).to_be_visible()
    wait_idle(page)
    found["practice, first step"] = axe_violations(page)
    key(page, "identity_name").locator("input").fill("guest")
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Keep my answers under this name").click()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("reserved")
    found["nickname refused"] = axe_violations(page)
    key(page, "identity_name").locator("input").fill(f"axe-{int(time.time() * 1000) % 10**8}")
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Keep my answers under this name").click()
    expect(page.locator('[data-testid="stSidebar"] [data-testid="stCode"]')).to_be_visible()
    wait_idle(page)
    found["nickname taken, code shown"] = axe_violations(page)
    assert not any(found.values()), "\n".join(f"{p}: {v}" for p, vs in found.items() for v in vs)


def focus_by_tab(page: Page, css: str, max_presses: int = 250) -> None:
    """Press Tab (only the keyboard) until the focused element is inside `css`."""
    for _ in range(max_presses):
        if page.evaluate("(css) => !!(document.activeElement && document.activeElement.closest(css))", css):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {css}")


def test_flashcards_by_keyboard_alone(page):
    open_page(page, "/flashcards", "Known:")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Known: 0 of")
    page.keyboard.press("k")  # not flipped yet: marking is refused
    wait_idle(page)
    expect(main).to_contain_text("Known: 0 of")
    page.keyboard.press("f")
    expect(page.get_by_role("button", name=re.compile("Hide answer"))).to_be_visible()
    wait_idle(page)
    page.keyboard.press("k")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Known: 1 of")
    expect(page.get_by_role("button", name=re.compile("^Flip"))).to_be_visible()  # next card, face down


def test_quiz_by_keyboard_alone(page):
    open_page(page, "/quiz", "Question 1 of")
    focus_by_tab(page, '[class*="st-key-quiz_choice_"]')
    page.keyboard.press("Space")  # choose the focused option
    wait_idle(page)
    focus_by_tab(page, ".st-key-quiz_submit")
    page.keyboard.press("Enter")
    feedback = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile("Correct!|Not quite"))
    expect(feedback).to_be_visible()
    expect(page.get_by_text(re.compile(r"Score: [01] of 1 answered"))).to_be_visible()


def test_lab_start_and_stop_by_keyboard_alone(page):
    open_page(page, "/lab", "Start training")
    focus_by_tab(page, ".st-key-lab_start")
    page.keyboard.press("Enter")
    stop = page.locator(".st-key-lab_stop button")
    expect(stop).to_be_visible(timeout=60_000)
    focus_by_tab(page, ".st-key-lab_stop")
    pressed = time.monotonic()
    page.keyboard.press("Enter")
    expect(page.locator(".st-key-lab_stop")).to_have_count(0, timeout=30_000)
    assert time.monotonic() - pressed < 30
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(re.compile("stopped", re.I))
