"""What the Lab shows is what it trains (issue 24 items 1 and 2), in a real browser: the setup after a
live classroom demo, and a slider moved by keys pressed faster than the page reruns."""
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from core.lab.presets import PRESETS
from core.models.backbones import group_names
from core.train.config import LAB_DEFAULT
from tests.e2e.helpers import assert_no_exception, click_button, key, open_page, wait_idle

pytestmark = pytest.mark.browser

GROUPS = group_names("mobilenet_v2")
DEMO = "pretrained-vs-scratch"
DEMO_TIMEOUT_MS = 900_000  # two full fine-tunes of 10 epochs on a shared, busy 2-core machine
SLIDERS = ("lab_size", "lab_epochs", "lab_lr", "lab_batch")
TOGGLES = tuple(f"lab_group_{g}" for g in GROUPS) + ("lab_pretrained", "lab_bn_eval", "lab_augment")


def thumb(page: Page, widget_key: str):
    return key(page, widget_key).locator('input[type="range"]').first


def checkbox(page: Page, widget_key: str):
    return key(page, widget_key).locator('input[type="checkbox"]').first


def setup_seen(page: Page) -> dict:
    """What the form shows: slider texts, switch states, the per-class number."""
    seen = {k: thumb(page, k).get_attribute("aria-valuetext") for k in SLIDERS}
    seen.update({k: checkbox(page, k).is_checked() for k in TOGGLES})
    seen["lab_per_class"] = key(page, "lab_per_class").locator("input").input_value()
    return seen


def expect_setup(page: Page, seen: dict) -> None:
    """Wait until the form shows `seen` (polled: the page may still be redrawing)."""
    for k in SLIDERS:
        expect(thumb(page, k)).to_have_attribute("aria-valuetext", seen[k])
    for k in TOGGLES:
        (expect(checkbox(page, k)).to_be_checked if seen[k] else expect(checkbox(page, k)).not_to_be_checked)()
    expect(key(page, "lab_per_class").locator("input")).to_have_value(seen["lab_per_class"])


def start_and_read_run_line(page: Page) -> str:
    """Press Start, read the 'This run:' line (what the server trains), then Stop the run."""
    click_button(page, "lab_start")
    line = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="This run:").first
    expect(line).to_be_visible(timeout=60_000)
    text = line.inner_text()
    click_button(page, "lab_stop")
    expect(key(page, "lab_stop")).to_have_count(0, timeout=60_000)
    wait_idle(page)
    return text


def test_the_setup_survives_a_live_demo_and_start_trains_it(page):
    open_page(page, f"/lab?preset={DEMO}", "Start training")
    before, url_before = setup_seen(page), page.url
    assert before["lab_epochs"] == "10" and all(before[f"lab_group_{g}"] for g in GROUPS), before
    labels = [label for label, _ in PRESETS[DEMO].runs]
    key(page, f"lab_guess_{DEMO}").get_by_text(labels[0], exact=True).click()
    wait_idle(page)
    key(page, f"lab_margin_{DEMO}").get_by_text("more than 20 points", exact=True).click()
    wait_idle(page)
    expect(key(page, "lab_run_all").locator("button")).to_be_enabled()
    click_button(page, "lab_run_all")
    reveal = page.get_by_text("You predicted", exact=False)
    expect(reveal).to_be_visible(timeout=DEMO_TIMEOUT_MS)
    wait_idle(page)

    # The form is back as it was before Run all (the demo's first variant, the preset), in the widgets
    # and in the address; the demo's results stay.
    expect_setup(page, before)
    expect(page).to_have_url(url_before)
    # A rerun sends every widget's value from the browser: nothing may fall back to a minimum then.
    thumb(page, "lab_lastk").focus()
    thumb(page, "lab_lastk").press("ArrowRight")
    wait_idle(page)
    expect_setup(page, before)
    expect(page).to_have_url(url_before)
    expect(reveal).to_be_visible()
    assert_no_exception(page)

    # Start trains what the form shows: every group, pretrained, 10 epochs.
    line = start_and_read_run_line(page)
    assert "(pretrained)" in line and ", ".join(GROUPS) in line and "10 epochs" in line, line
    assert "Every layer group is frozen" not in page.locator('[data-testid="stMain"]').inner_text()


def _url_lr(url: str) -> float:
    values = parse_qs(urlparse(url).query).get("lr")
    return float(values[0]) if values else LAB_DEFAULT.lr


def test_a_slider_moved_by_fast_keys_shows_what_trains(page):
    open_page(page, "/lab", "Start training")
    lr = thumb(page, "lab_lr")
    lr.focus()
    for _ in range(8):  # → as a learner taps it, 0.15 s apart: faster than the page reruns
        lr.press("ArrowRight")
        time.sleep(0.15)
    epochs = thumb(page, "lab_epochs")
    epochs.focus()
    for _ in range(4):
        epochs.press("ArrowRight")
        time.sleep(0.15)
    wait_idle(page)
    time.sleep(2)  # any late write-back of an older value would land by now
    wait_idle(page)
    shown_lr, shown_epochs = float(lr.get_attribute("aria-valuetext")), int(epochs.get_attribute("aria-valuetext"))
    assert shown_lr > LAB_DEFAULT.lr and shown_epochs == LAB_DEFAULT.epochs + 4, (shown_lr, shown_epochs)
    expect(page).to_have_url(re.compile(rf"[?&]epochs={shown_epochs}(&|$)"))
    # the page's own address is never read back as a link someone opened
    expect(page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"Loaded .*link"))).to_have_count(0)
    assert _url_lr(page.url) == pytest.approx(shown_lr), (page.url, shown_lr)
    line = start_and_read_run_line(page)
    assert f"learning rate {shown_lr:g}" in line and f"{shown_epochs} epochs" in line, (line, shown_lr, shown_epochs)
    # and the form still shows it after the run
    expect(lr).to_have_attribute("aria-valuetext", re.compile(".+"))
    assert float(lr.get_attribute("aria-valuetext")) == pytest.approx(shown_lr)
