"""Issue 10 in a real browser, each test written to fail on the code the issue was filed against:
a copied link after a freeze preset, a lesson link after a first Lab visit, projector mode at
1024x768, and (on two tiny runs) the Compare chart, export file names, the sticky Start/Stop bar
and the model's-eye view of a photo."""
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from core.models.backbones import group_names
from tests.e2e.helpers import (
    assert_no_exception,
    click_button,
    expect_on,
    expect_url,
    key,
    open_page,
    slide_to,
    wait_idle,
)

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
GROUPS = group_names("mobilenet_v2")
RUN_TIMEOUT_MS = 180_000
TINY = "dataset=faces&size=32&per_class=10&val_per_class=10&train=head"
ENDED = re.compile(r"finished \d+ epochs|about chance")
DEEPEST_FONT = """el => { let n = el; while (n.firstElementChild) n = n.firstElementChild;
                         return parseFloat(getComputedStyle(n).fontSize); }"""


def metric(page: Page, label: str):
    """The value of the metric tile labelled `label` (a locator, so checks on it poll)."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]')


def outcome(page: Page):
    return page.locator('[data-testid="stAlert"]').filter(has_text=ENDED)


def start_and_wait(page: Page) -> None:
    click_button(page, "lab_start")
    expect(outcome(page).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)


def test_a_copied_link_after_a_freeze_preset_opens_the_same_setup(page, browser, app_url):
    open_page(page, "/lab?preset=pretrained-vs-scratch", "Start training")
    click_button(page, "lab_fz_lastk")
    wait_idle(page)
    sent = "1,694,154"
    expect(metric(page, "Trainable parameters")).to_have_text(sent)
    expect_url(page, "train=stage5,stage6,head")
    link = page.url

    fresh = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    try:
        other = fresh.new_page()
        other.set_default_timeout(30_000)
        open_page(other, link, "Start training")
        expect(metric(other, "Trainable parameters")).to_have_text(sent)  # was 2,236,682: all 8 groups
        for g in GROUPS:
            expect_on(other, f"lab_group_{g}", g in ("stage5", "stage6", "head"))
        expect(other.get_by_text("Loaded", exact=False).first).to_be_visible()
        other.set_viewport_size({"width": 1280, "height": 1900})  # down to the trainable count
        wait_idle(other)
        DOCS.mkdir(exist_ok=True)
        other.screenshot(path=str(DOCS / "screenshot-shared-link.png"))
    finally:
        fresh.close()


def test_a_lesson_link_after_a_first_lab_visit_loads_the_bug_and_says_what_changed(page):
    open_page(page, "/lab?preset=lr-too-high", "Start training")  # a first Lab visit, a preset chosen
    page.locator('[data-testid="stSidebarNav"] a', has_text="Pitfalls").click()
    expect(page.locator('[data-testid="stMain"] h1', has_text="Pitfalls")).to_be_visible(timeout=60_000)
    wait_idle(page)
    key(page, "pitfalls_toc_pitfall-freeze-everything").locator("button").click()  # one pitfall at a time
    expect(page.get_by_role("heading", name=re.compile("Freezing the new head"))).to_be_visible()
    wait_idle(page)
    pitfall = page.locator('[data-testid="stVerticalBlock"]').filter(
        has=page.get_by_role("heading", name=re.compile("Freezing the new head"))).last
    pitfall.get_by_text("Try it in the lab: watch this bug happen").click()
    expect(page.get_by_text("Start training").or_(page.get_by_text("Fix the setting")).first).to_be_visible(
        timeout=60_000)
    wait_idle(page)
    expect(key(page, "lab_preset").locator('input[role="combobox"]')).to_have_value(
        "The pitfall: the new head frozen along with the backbone")
    for g in GROUPS:  # the bug, not the fix (head-only)
        expect_on(page, f"lab_group_{g}", False)
    note = page.locator('[data-testid="stAlert"]').filter(has_text="from the link")
    expect(note).to_contain_text("learning rate 0.1 → 0.001")
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="nothing can learn").first).to_be_visible()
    assert_no_exception(page)


def test_projector_mode_reads_from_the_back_of_the_room(page):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, f"/lab?mode=projector&{TINY}&epochs=3", "Start training")
    expect_on(page, "lab_presenter")
    # the sidebar is collapsed (» reopens it): it took 30% of the screen
    page.wait_for_function("() => { const s = document.querySelector('[data-testid=stSidebar]');"
                           " const b = s && s.getBoundingClientRect(); return !b || b.right <= 0 || b.width === 0; }")
    expect_url(page, "mode=projector")
    value = page.locator('[data-testid="stMetricValue"]').first
    assert value.evaluate(DEEPEST_FONT) >= 36  # was 21 px: the metrics shrank
    expect(page.get_by_text(re.compile("⏱️ Live: about")).nth(4)).to_be_attached()  # every demo says how long
    ticks = key(page, "lab_params_chart").locator(".xtick text").first
    assert float(ticks.evaluate("t => parseFloat(t.style.fontSize || getComputedStyle(t).fontSize)")) >= 20

    start_and_wait(page)
    curves = key(page, "lab_result_tabs").locator('[role="tabpanel"]').first
    charts = curves.locator('[data-testid="stPlotlyChart"]')
    expect(charts).to_have_count(1)  # one large chart at a time
    expect(charts.locator(".gtitle")).to_have_text(re.compile("^Loss"))
    curves.locator('[data-testid="stButtonGroup"] button', has_text=re.compile("^Accuracy$")).click()
    wait_idle(page)
    expect(curves.locator(".gtitle", has_text=re.compile("^Accuracy"))).to_have_count(1)
    expect(curves.locator('[data-testid="stPlotlyChart"]')).to_have_count(1, timeout=15_000)  # still one
    size = curves.locator(".ytick text").first.evaluate("t => parseFloat(t.style.fontSize)")
    assert size >= 20, size
    width = curves.locator(".scatterlayer .trace path.js-line").last.evaluate(
        "p => parseFloat(p.style.strokeWidth)")
    assert width >= 4, width
    outcome(page).first.scroll_into_view_if_needed()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "screenshot-projector.png"))
    assert_no_exception(page)


def _ink_on_paper() -> bytes:
    arr = np.full((80, 80, 3), 245, dtype=np.uint8)
    arr[15:65, 36:44] = 15  # a dark stroke on white: the opposite polarity of the training images
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _metrics_file_name(page: Page) -> str:
    page.get_by_role("tab", name=re.compile("Export")).click()
    button = page.locator('[class*="_dl_csv"] button').first
    expect(button).to_be_visible()
    with page.expect_download() as download:
        button.click()
    return download.value.suggested_filename


def test_two_runs_compare_exports_sticky_bar_and_the_models_view(page):
    open_page(page, f"/lab?{TINY}&epochs=1", "Start training")
    start_and_wait(page)
    first_name = _metrics_file_name(page)
    # The Start button stays in reach after scrolling to the bottom of the page.
    page.locator('[data-testid="stMain"]').evaluate("m => m.scrollTo(0, m.scrollHeight)")
    expect(key(page, "lab_start").locator("button")).to_be_in_viewport()

    slide_to(page, "lab_epochs", "2")
    wait_idle(page)
    start_and_wait(page)
    second_name = _metrics_file_name(page)
    assert first_name != second_name and first_name.endswith(".csv"), (first_name, second_name)

    # The Compare chart picks up the new run without the learner re-selecting it.
    tags = key(page, "lab_compare").locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]')
    expect(tags).to_have_count(2)
    # two runs, each a line and the two edges of its 95% band
    expect(key(page, "lab_history_overlay").locator(".scatterlayer .trace")).to_have_count(2 * 3)

    # The predict tab: what the model sees, and the warnings about labels and polarity.
    page.get_by_role("tab", name=re.compile("photo")).click()
    expect(page.get_by_text("photo, a cat or a car, gets one of them", exact=False)).to_be_visible()
    field = page.locator('[class*="_photo"] input[type="file"]').first
    field.set_input_files(files=[{"name": "seven.png", "mimeType": "image/png", "buffer": _ink_on_paper()}])
    expect(page.get_by_text("what the model sees: 32x32 grey")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("mostly light with dark marks", exact=False)).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
