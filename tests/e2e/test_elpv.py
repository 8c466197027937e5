"""The ELPV solar-cell set in a real browser: picked in the Lab, its licence shown, and a tiny run on
the real images to a confusion matrix over "functional" and "defective"."""
import re

import pytest
from playwright.sync_api import expect

from core.data.datasets import DATASETS
from tests.e2e.helpers import choose, expect_url, fill_number, open_page, run_to_the_end, slide_to, wait_idle

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 150_000


def test_elpv_is_picked_with_its_licence_and_trains(page):
    open_page(page, "/lab", "Start training")
    choose(page, "lab_dataset", DATASETS["elpv"].title)
    wait_idle(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("CC BY-NC-SA 4.0", exact=False)).to_be_visible()
    expect(main.get_by_text("non-commercial", exact=False).first).to_be_visible()
    expect(main.locator('a[href^="https://github.com/zae-bayern/elpv-dataset"]')).to_have_count(1)
    expect_url(page, "dataset=elpv")

    fill_number(page, "lab_per_class", 5)
    wait_idle(page)
    fill_number(page, "lab_val_per_class", 5)
    wait_idle(page)
    slide_to(page, "lab_size", "32")
    slide_to(page, "lab_epochs", "1")
    wait_idle(page)
    run_to_the_end(page, 1, RUN_TIMEOUT_MS)
    page.get_by_role("tab", name=re.compile("Scores")).click()
    cm = page.locator('[class*="_cm "] [data-testid="stPlotlyChart"], [class$="_cm"] [data-testid="stPlotlyChart"]')
    expect(cm.locator(".xtick", has_text="defective")).to_have_count(1)
    expect(cm.locator(".xtick", has_text="functional")).to_have_count(1)
