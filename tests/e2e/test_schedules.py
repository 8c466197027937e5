"""Learning-rate schedules in a real browser (issue 14 item 6): picking one-cycle draws the planned rate
before the run and puts the schedule in the address; the finished run's curves include the rate each
group stepped with."""
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import (
    assert_no_exception,
    expect_slider,
    expect_url,
    key,
    open_page,
    run_to_the_end,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 150_000
TINY = "/lab?dataset=faces&size=32&per_class=20&val_per_class=10&epochs=2&batch=8&train=stage6,head"  # 10 steps


def pick(page: Page, widget_key: str, option_text: str) -> None:
    """choose(), after opening the list until it shows: right after a link loads, the first click on
    a selectbox leaves it closed (seen at 21:45 with the workers merge; later clicks open it)."""
    box = key(page, widget_key).locator('input[role="combobox"]')
    for _ in range(3):
        box.click()
        try:
            expect(page.get_by_role("option", name=option_text, exact=True)).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    page.get_by_role("option", name=option_text, exact=True).click()
    expect(box).to_have_value(option_text)


def test_one_cycle_is_drawn_before_the_run_and_its_rates_after(page: Page):
    open_page(page, TINY, "Start training")
    expect(key(page, "lab_sched_chart")).to_have_count(0)  # constant: the slider says it all
    pick(page, "lab_schedule", "One-cycle")
    wait_idle(page)
    expect_slider(page, "lab_warmup", "30%")  # one-cycle climbs during its warm-up: it got one
    planned = key(page, "lab_sched_chart")
    expect(planned.locator(".gtitle")).to_have_text(re.compile("^Planned learning rate per group"))
    expect(planned.locator(".scatterlayer .trace")).to_have_count(1)  # three groups, one shared curve
    expect(page.get_by_text(re.compile(r"peaks at 1\.0e-3 in epoch"))).to_be_visible()
    expect_url(page, "sched=onecycle", "warmup=0.3")
    assert_no_exception(page)

    run_to_the_end(page, 2, RUN_TIMEOUT_MS)
    curves = key(page, "lab_result_tabs").locator('[role="tabpanel"]').first  # not the code section's tabs
    rate = curves.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".gtitle", has_text="Learning rate per group"))
    expect(rate).to_have_count(1)
    expect(rate.locator(".scatterlayer .trace")).to_have_count(1)
    expect(curves.get_by_text(re.compile(r"Learning rate per group at epoch 2\.0 of 2: stage6, head 4\.0e-9"))
           ).to_be_visible()  # OneCycleLR ends at peak/25/1e4
    shot(page, "lab-schedule-one-cycle")
