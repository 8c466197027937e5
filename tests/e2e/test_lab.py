"""The Lab in a real browser: a tiny fine-tune to the end (curves, confusion matrix), Stop during a
longer run, a shared link filling the form, and bad uploads answered with readable messages."""
import io
import re
import time
import zipfile

import pytest
from playwright.sync_api import expect

from core.models.backbones import group_names
from tests.e2e.helpers import (
    assert_no_exception,
    choose,
    click_button,
    expect_on,
    expect_slider,
    expect_url,
    fill_number,
    key,
    open_page,
    run_to_the_end,
    shot,
    slide_to,
    wait_idle,
)

pytestmark = pytest.mark.browser

GROUPS = group_names("mobilenet_v2")
RUN_TIMEOUT_MS = 150_000
STOP_LIMIT_S = 15  # from the click on Stop to the page saying the run stopped  # a 2-epoch run on tiny images; the shared 2-core machine may be busy


def test_tiny_finetune_runs_to_the_end_with_curves_and_confusion_matrix(page):
    open_page(page, "/lab", "Start training")
    # A tiny setup, made with the widgets: 2 classes of 25x25 faces, 10 per class, 32 px, 2 epochs.
    choose(page, "lab_dataset", "Faces vs not faces (200 images, 2 classes)")
    wait_idle(page)
    fill_number(page, "lab_per_class", 10)
    wait_idle(page)
    fill_number(page, "lab_val_per_class", 10)
    wait_idle(page)
    slide_to(page, "lab_size", "32")
    slide_to(page, "lab_epochs", "2")
    wait_idle(page)
    expect_slider(page, "lab_size", "32")
    expect_slider(page, "lab_epochs", "2")
    expect(key(page, "lab_est_wide").get_by_text("Estimated run time", exact=False)).to_be_visible()
    # The form is mirrored in the address bar, so this setup could be shared.
    expect_url(page, "dataset=faces", "epochs=2")

    # A finished run says what its accuracy means: above chance (a tick) or about chance (a warning).
    done = run_to_the_end(page, 2, RUN_TIMEOUT_MS)
    acc = float(re.search(r"accuracy (\d+(?:\.\d+)?)%", done.inner_text()).group(1))
    assert 0 <= acc <= 100
    assert ("about chance" in done.inner_text()) == (acc <= 55.0), done.inner_text()  # 2 classes: chance 50%

    # Curves of the run (loss, accuracy, trainable parameters, weight change), with their titles, in
    # the results' first tab.
    curves = key(page, "lab_result_tabs").locator('[role="tabpanel"]').first
    expect(curves.locator('[data-testid="stPlotlyChart"]')).to_have_count(4)
    for title in ("Loss", "Accuracy"):
        expect(curves.locator(".gtitle", has_text=re.compile(rf"^{title}"))).to_have_count(1)
    expect(curves.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace').first).to_be_attached()
    # The confusion matrix: a heatmap over the two class names, in the scores tab.
    page.get_by_role("tab", name=re.compile("Scores")).click()
    expect(page.get_by_role("heading", name="Confusion matrix")).to_be_visible()
    cm = page.locator('[class*="_cm "] [data-testid="stPlotlyChart"], [class$="_cm"] [data-testid="stPlotlyChart"]')
    expect(cm).to_have_count(1)
    expect(cm.locator(".hm, .heatmaplayer").first).to_be_attached()
    expect(cm.locator(".xtick", has_text="not a face")).to_have_count(1)
    expect(page.get_by_role("heading", name="Accuracy per class")).to_be_visible()
    # The run is in the session's history table.
    expect(page.get_by_role("heading", name="Your runs")).to_be_visible()

    # A "photo" that is really text, on the try-it-on-your-photo uploader: a plain message, no traceback.
    page.get_by_role("tab", name=re.compile("photo")).click()
    photo = page.locator('[class*="_photo"] input[type="file"]').first
    photo.set_input_files(files=[{"name": "cat.png", "mimeType": "image/png", "buffer": b"this is not an image\n"}])
    expect(page.get_by_text("Could not use this file:", exact=False)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("not an image", exact=False).first).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "lab-run-finished")


def test_stop_ends_a_long_run_within_seconds(page, record_property):
    # A long run from a link: all layers train for 30 epochs (minutes on a CPU), in small batches of
    # small images, so that the check for Stop between batches comes often even on a busy machine.
    open_page(page, f"/lab?epochs=30&size=32&batch=8&per_class=50&train={','.join(GROUPS)}", "Start training")
    expect_slider(page, "lab_epochs", "30")
    click_button(page, "lab_start")
    expect(page.get_by_text(re.compile(r"epoch \d+/30"))).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(key(page, "lab_stop")).to_be_visible()
    shot(page, "lab-live")
    t0 = time.monotonic()
    click_button(page, "lab_stop")
    stopped = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"Stopped by request during epoch \d+"))
    try:
        expect(stopped).to_be_visible(timeout=60_000)  # normally fails on the time limit below instead
    except AssertionError:
        still = key(page, "lab_stop").count() > 0
        progress = page.locator('[data-testid="stProgress"]').all_inner_texts()
        raise AssertionError(f"no 'Stopped by request' 60 s after the click on Stop; Stop button still shown: "
                             f"{still}; progress: {progress}") from None
    took = time.monotonic() - t0
    record_property("stop_seconds", round(took, 1))
    print(f"Stop shown {took:.1f} s after the click")
    assert took < STOP_LIMIT_S, f"Stop took {took:.1f} s to show"
    expect(key(page, "lab_stop")).to_have_count(0)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "lab-stopped")


def test_shared_link_fills_the_form(page):
    # A preset link: the preset's settings appear in the widgets.
    open_page(page, "/lab?preset=lr-too-high", "Start training")
    expect(key(page, "lab_preset").locator('input[role="combobox"]')).to_have_value(
        "A learning rate far too high, on all layers")
    expect_slider(page, "lab_lr", "1e-1")
    expect_slider(page, "lab_epochs", "6")
    for g in GROUPS:
        expect_on(page, f"lab_group_{g}")
    # A demo asks for a prediction first; its "what to watch for" (the answer) waits for the runs.
    expect(page.get_by_text("Predict first: which run wins", exact=False)).to_be_visible()
    expect(key(page, "lab_run_all").locator("button")).to_be_disabled()
    expect(page.get_by_text("What to watch for:", exact=False)).to_have_count(0)
    shot(page, "lab-link-preset")

    # Explicit parameters, as the lab writes them into the address bar.
    open_page(page, "/lab?dataset=textures&per_class=15&size=96&epochs=3&lr=0.0005&train=stage6,head&augment=1",
              "Start training")
    expect(key(page, "lab_dataset").locator('input[role="combobox"]')).to_have_value(
        "Textures (brick, grass, gravel: 192 tiles)")
    expect(key(page, "lab_per_class").locator("input")).to_have_value("15")
    for widget, shown in (("lab_size", "96"), ("lab_epochs", "3"), ("lab_lr", "5e-4")):
        expect_slider(page, widget, shown)
    for g in GROUPS:
        expect_on(page, f"lab_group_{g}", g in ("stage6", "head"))
    expect_on(page, "lab_augment")
    expect_url(page, "dataset=textures", "per_class=15", "size=96", "epochs=3", "train=stage6,head")
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Ignored the link parameter")).to_have_count(0)
    assert_no_exception(page)
    shot(page, "lab-link-params")


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_bad_uploads_get_readable_errors(page):
    open_page(page, "/lab", "Start training")
    choose(page, "lab_dataset", "Your own images (zip of class folders)")
    uploader = key(page, "lab_upload")
    expect(uploader).to_be_visible()
    wait_idle(page)
    field = uploader.locator('input[type="file"]')

    # A bare .png that is really text, given to the zip uploader: the widget refuses it by type (a red
    # file chip; the reason is in its tooltip and its screen-reader alert) and the page does not crash.
    fake = b"hello, I am text, not a PNG\n"
    field.set_input_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": fake}])
    chip = uploader.locator('[data-testid="stFileChip"][aria-invalid="true"]')
    expect(chip).to_contain_text("photo.png", timeout=30_000)
    expect(uploader.get_by_role("alert")).to_contain_text("files are not allowed")
    wait_idle(page)
    assert_no_exception(page)
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="Could not use this zip")).to_have_count(0)

    # A zip whose member climbs out of its folder (zip slip): refused, nothing extracted.
    field.set_input_files(files=[{"name": "slip.zip", "mimeType": "application/zip",
                                  "buffer": _zip({"cats/a.png": b"x", "../evil.png": b"x"})}])
    err = page.locator('[data-testid="stAlert"]').filter(has_text="Could not use this zip")
    expect(err).to_contain_text("unsafe path", timeout=60_000)
    expect(err).to_contain_text("../evil.png")
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "lab-upload-zip-slip")

    # Class folders of ".png" files that are really text: no readable image, and the page says so.
    field.set_input_files(files=[{"name": "fake.zip", "mimeType": "application/zip", "buffer": _zip(
        {"cats/1.png": fake, "cats/2.png": fake, "dogs/1.png": fake, "dogs/2.png": fake})}])
    err = page.locator('[data-testid="stAlert"]').filter(has_text="Could not use this zip")
    expect(err).to_contain_text("needs at least two classes", timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)

    shot(page, "lab-upload-bad-files")
