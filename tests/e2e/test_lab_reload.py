"""Issue 10 in a real browser, on the old code each of these failed: a reload lost the Lab's run
history (it lived in the session), a reload mid-run lost the run (the new session did not know its
job, and the old one cancelled it), and leaving projector mode kept the sidebar collapsed.

The browser keeps its cookie across page.reload(), as a learner's does; a second browser context
is another learner's browser. Runs are tiny (2 classes of faces, 32 px) to spare the shared machine.
"""
import re

import pytest
from playwright.sync_api import Page, expect

from core.models.backbones import group_names
from tests.e2e.helpers import (
    LOAD_TIMEOUT_MS,
    assert_no_exception,
    click_button,
    expect_on,
    expect_url,
    key,
    open_page,
    wait_idle,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 180_000
TINY = "dataset=faces&size=32&per_class=10&val_per_class=10&train=head&epochs=1"
# About 25 s on an idle 2-core machine: long enough to reload in the middle of it.
MID_EPOCHS = 24
MID_RUN = f"dataset=faces&size=32&per_class=10&val_per_class=10&batch=8&epochs={MID_EPOCHS}" \
          f"&train={','.join(group_names('mobilenet_v2'))}"


def outcome(page: Page, text: str = r"finished \d+ epochs|about chance"):
    return page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(text))


TRACES_PER_RUN = 3  # a run's validation-accuracy line and the two edges of its 95% band


def history_traces(page: Page):
    return key(page, "lab_history_overlay").locator(".scatterlayer .trace")


def reload(page: Page) -> None:
    page.reload(wait_until="domcontentloaded")
    expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=LOAD_TIMEOUT_MS)


def test_history_and_its_chart_come_back_after_a_reload_but_not_in_another_browser(page, browser, app_url):
    open_page(page, f"/lab?{TINY}", "Start training")
    click_button(page, "lab_start")
    expect(outcome(page).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    expect(history_traces(page)).to_have_count(TRACES_PER_RUN)

    reload(page)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Your runs")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(history_traces(page)).to_have_count(TRACES_PER_RUN)  # the chart, drawn from the stored row
    expect(key(page, "lab_compare")).to_contain_text("1. run 1")
    expect(page.get_by_text(re.compile(r"Chart summary: Validation accuracy at each run's last epoch: 1\. run 1 "
                                       r"\d+%"))).to_be_visible()
    expect(outcome(page).first).to_be_visible()  # the last run's outcome is shown again, too
    assert_no_exception(page)

    other = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    try:
        stranger = other.new_page()
        stranger.set_default_timeout(30_000)
        open_page(stranger, f"/lab?{TINY}", "Start training")
        expect(stranger.get_by_role("heading", name="Your runs")).to_have_count(0)
        expect(key(stranger, "lab_history_overlay")).to_have_count(0)
        expect(outcome(stranger)).to_have_count(0)
    finally:
        other.close()


def test_a_reload_mid_run_shows_the_run_live_again_and_it_finishes(page):
    open_page(page, f"/lab?{MID_RUN}", "Start training")
    click_button(page, "lab_start")
    progress = page.get_by_text(re.compile(rf"epoch \d+/{MID_EPOCHS}"))
    expect(progress.first).to_be_visible(timeout=RUN_TIMEOUT_MS)  # training, not just queued

    reload(page)
    expect(key(page, "lab_stop")).to_be_visible(timeout=LOAD_TIMEOUT_MS)  # was: Start, the run unknown
    expect(progress.first).to_be_visible(timeout=60_000)
    expect(outcome(page, rf"finished {MID_EPOCHS} epochs|about chance").first).to_be_visible(
        timeout=RUN_TIMEOUT_MS)  # not cancelled when the old session closed
    wait_idle(page)
    expect(key(page, "lab_start")).to_be_visible()
    assert_no_exception(page)


def test_leaving_projector_mode_brings_the_sidebar_back(page):
    open_page(page, "/lab?mode=projector", "Start training")
    expect_on(page, "lab_presenter")
    page.wait_for_function("() => { const s = document.querySelector('[data-testid=stSidebar]');"
                           " const b = s && s.getBoundingClientRect(); return !b || b.right <= 0 || b.width === 0; }")
    key(page, "lab_presenter").locator("label").first.click()
    wait_idle(page)
    expect_on(page, "lab_presenter", False)
    page.wait_for_function("() => { const s = document.querySelector('[data-testid=stSidebar]');"
                           " const b = s && s.getBoundingClientRect(); return b && b.right > 100; }", timeout=15_000)
    expect_url(page, absent=("mode=projector",))
    assert_no_exception(page)
