"""Issue 27 item 5 in a real browser: at 1024x768 in projector mode the live chart and, after the
run, its outcome sit above the fold with the demos panel folded; on a phone (390x844) the sticky
Start/Stop bar covers at most 12% of the screen and no chart is wider than the screen.

Positions are read with page.wait_for_function, which polls: the page may still be laying out."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_no_exception, click_button, key, open_page, run_to_the_end, wait_idle

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 180_000
PROJECTOR = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
LONG = "dataset=faces&size=64&per_class=60&val_per_class=20&train=stage5,stage6,head&epochs=30"
TINY = "dataset=faces&size=32&per_class=10&val_per_class=10&train=head&epochs=3"
MAX_BAR_SHARE = 0.12

# The element's box relative to the viewport; Streamlit scrolls inside stMain, which is at the top here.
BOTTOM_IN_VIEW = "([sel, h]) => { const e = document.querySelector(sel); if (!e) return false;" \
                 " const r = e.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= h; }"
TOP_IN_VIEW = "([sel, h]) => { const e = document.querySelector(sel); if (!e) return false;" \
              " const r = e.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.top <= h - 150; }"
BAR_AT_MOST = "([sel, px]) => { const e = document.querySelector(sel); if (!e) return false;" \
              " const r = e.getBoundingClientRect(); return r.height > 0 && r.height <= px; }"


def test_projector_mode_keeps_the_live_chart_and_the_result_above_the_fold(page):
    page.set_viewport_size(PROJECTOR)
    open_page(page, f"/lab?mode=projector&{LONG}", "Start training")
    demos = page.locator('[data-testid="stExpander"]').filter(has_text="Classroom demos")
    expect(demos.locator("details")).to_have_js_property("open", True)  # before any run: open, to pick one
    click_button(page, "lab_start")
    chart = ".ftlab-live-chart"
    expect(page.locator(chart).locator(".gtitle").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(BOTTOM_IN_VIEW, arg=[chart, PROJECTOR["height"]])  # the whole chart: no scrolling
    click_button(page, "lab_stop")
    expect(page.get_by_text("Stopped by request").first).to_be_visible(timeout=60_000)
    wait_idle(page)

    open_page(page, f"/lab?mode=projector&{TINY}", "Start training")
    run_to_the_end(page, 3, RUN_TIMEOUT_MS)
    outcome = '[data-testid="stAlert"]'
    page.wait_for_function(BOTTOM_IN_VIEW, arg=[outcome, PROJECTOR["height"]])
    page.wait_for_function(TOP_IN_VIEW, arg=['.st-key-lab_result_tabs [data-testid="stPlotlyChart"]',
                                             PROJECTOR["height"]])
    expect(demos.locator("details")).to_have_js_property("open", False)  # folded after a run
    assert_no_exception(page)


def test_on_a_phone_the_sticky_bar_stays_small_and_no_chart_is_clipped(page):
    page.set_viewport_size(PHONE)
    open_page(page, f"/lab?{LONG}", "Start training")
    most = MAX_BAR_SHARE * PHONE["height"]
    page.wait_for_function(BAR_AT_MOST, arg=[".st-key-lab_runbar", most])
    expect(key(page, "lab_est_narrow").get_by_text("Estimated run time")).to_be_visible()  # moved, not dropped
    click_button(page, "lab_start")
    expect(page.get_by_text(re.compile(r"epoch \d+/30")).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(BAR_AT_MOST, arg=[".st-key-lab_runbar", most])
    click_button(page, "lab_stop")
    expect(page.get_by_text("Stopped by request").first).to_be_visible(timeout=60_000)
    wait_idle(page)

    open_page(page, f"/lab?{TINY}", "Start training")
    run_to_the_end(page, 3, RUN_TIMEOUT_MS)
    charts = page.locator('[data-testid="stPlotlyChart"]:visible')
    expect(charts.first).to_be_visible()
    widths = charts.evaluate_all("els => els.map(e => e.getBoundingClientRect().right)")
    assert widths and max(widths) <= PHONE["width"], widths
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_no_exception(page)
