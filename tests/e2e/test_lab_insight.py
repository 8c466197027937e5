"""The Lab's "Why it works" section in a real browser: the feature maps appear when asked, a hover
names the image, a click on a dot shows it (Plotly's hover box cannot hold a picture), and the
Grad-CAM columns of a head-only run are said to be identical."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_no_exception, click_button, open_page, shot, wait_idle

pytestmark = pytest.mark.browser

# Two classes of 25x25 faces, 10 per class, 32 px, head only: a run of a few seconds.
TINY = "dataset=faces&size=32&per_class=10&val_per_class=10&epochs=2&train=head"
RUN_TIMEOUT_MS = 150_000
MAP_TIMEOUT_MS = 120_000  # first maps on a busy shared machine: the from-scratch backbone's forward pass


def toggle(page, key_suffix: str):
    return page.locator(f'[class*="{key_suffix}"] label').first


def test_feature_maps_show_the_clicked_image_and_gradcam_says_frozen_maps_match(page):
    open_page(page, f"/lab?{TINY}", "Start training")
    click_button(page, "lab_start")
    done = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"finished 2 epochs|about chance"))
    expect(done).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    page.get_by_role("tab", name=re.compile("Scores")).click()
    expect(page.get_by_role("heading", name=re.compile("Why it works"))).to_be_visible()

    toggle(page, "_fmap_on").click()
    maps = page.locator('[class*="_fmap_pca_"] [data-testid="stPlotlyChart"]')
    expect(maps).to_have_count(3, timeout=MAP_TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("Linear probe (validation)")).to_have_count(3)
    expect(page.get_by_text("Random backbone (from scratch)", exact=True)).to_be_visible()
    expect(page.get_by_text("Click a dot to see its image.")).to_have_count(3)

    # Hover: the class and the image's number.
    first_map = maps.first
    first_map.scroll_into_view_if_needed()
    dot = first_map.locator(".scatterlayer .trace .points path").first
    dot.hover(force=True)
    expect(first_map.locator(".hoverlayer")).to_contain_text(re.compile(r"validation image #\d+"), timeout=10_000)
    # Click: the page reruns with the selection and shows that image under the map.
    dot.click(force=True)
    caption = page.get_by_text(re.compile(r"^validation image #\d+: class (face|not a face)$"))
    expect(caption).to_have_count(1, timeout=60_000)
    wait_idle(page)
    expect(page.get_by_text("Click a dot to see its image.")).to_have_count(2)
    assert_no_exception(page)

    # Grad-CAM: a head-only run leaves the backbone as it was, and the page says so.
    toggle(page, "_cam_on").click()
    expect(page.get_by_text("This run trained only the head", exact=False)).to_be_visible(timeout=MAP_TIMEOUT_MS)
    expect(page.get_by_text("after: same map")).to_have_count(4, timeout=60_000)
    expect(page.get_by_text(re.compile(r"^before \(stage2\)$"))).to_have_count(4)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "lab-why-it-works")
