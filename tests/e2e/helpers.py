"""Helpers for driving the Streamlit app in Chromium: wait until a page is rendered and idle, check
that no exception box is shown, screenshots, and the few widget gestures the tests need."""
from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
APP = '[data-testid="stApp"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# The first page load also builds the lessons and imports torch: slow on a busy 2-core machine.
LOAD_TIMEOUT_MS = 90_000


def wait_idle(page: Page, timeout_ms: int = LOAD_TIMEOUT_MS, settle_s: float = 0.4) -> None:
    """Wait until the script run is over (stApp reports notRunning) and stays over for `settle_s`,
    with no element still fading in (stale elements are dimmed while a rerun is pending)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = max(1_000, int((deadline - time.monotonic()) * 1000))
        page.wait_for_selector(IDLE, timeout=left)
        time.sleep(settle_s)
        if page.locator(IDLE).count() == 1:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the app did not become idle")


def assert_no_exception(page: Page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise AssertionError("Streamlit shows an exception:\n" + "\n---\n".join(boxes.all_inner_texts()))


def open_page(page: Page, path: str, expect_text: str | None = None) -> None:
    """Load a page by URL path, wait for its content (a heading or `expect_text`) and for idle."""
    page.goto(path, wait_until="domcontentloaded")
    page.wait_for_selector(APP, timeout=LOAD_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    if expect_text:
        expect(main.get_by_text(expect_text).first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    else:
        expect(main.locator("h1").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)


def shot(page: Page, name: str) -> Path:
    """Full-page screenshot to artifacts/screenshots/<name>.png (Streamlit scrolls inside stMain, so the
    main area is temporarily unclipped for a capture of the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = page.evaluate(
        """() => {
            const m = document.querySelector('[data-testid="stMain"]');
            return Math.max(document.body.scrollHeight, m ? m.scrollHeight : 0);
        }""")
    vp = page.viewport_size
    page.set_viewport_size({"width": vp["width"], "height": min(max(vp["height"], int(height) + 20), 12_000)})
    try:
        time.sleep(0.5)  # let charts resize to the taller viewport
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(vp)
    return path


def key(page: Page, widget_key: str) -> Locator:
    """The container of a keyed widget (Streamlit adds the class st-key-<key>)."""
    return page.locator(f".st-key-{widget_key}")


def click_button(page: Page, widget_key: str) -> None:
    key(page, widget_key).locator("button").first.click()


def choose(page: Page, widget_key: str, option_text: str) -> None:
    """Pick an option of a selectbox (a combobox) by its visible label."""
    box = key(page, widget_key)
    box.locator('input[role="combobox"]').click()
    page.get_by_role("option", name=option_text, exact=True).click()
    expect(box.locator('input[role="combobox"]')).to_have_value(option_text)


def fill_number(page: Page, widget_key: str, value: int) -> None:
    field = key(page, widget_key).locator("input")
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))


def slider_value(page: Page, widget_key: str) -> str:
    """The text a slider or select_slider shows for its value (aria-valuetext of its range input)."""
    return key(page, widget_key).locator('input[type="range"]').first.get_attribute("aria-valuetext") or ""


def slide_to(page: Page, widget_key: str, target_text: str, max_steps: int = 40) -> None:
    """Move a slider or select_slider with the keyboard (Home, then right arrows) until it shows
    `target_text`. Each press commits a value, so each is followed by a wait for the rerun."""
    thumb = key(page, widget_key).locator('input[type="range"]').first
    if thumb.get_attribute("aria-valuetext") == target_text:
        return
    thumb.focus()
    thumb.press("Home")
    for _ in range(max_steps):
        wait_idle(page)
        thumb = key(page, widget_key).locator('input[type="range"]').first
        if thumb.get_attribute("aria-valuetext") == target_text:
            return
        thumb.focus()
        thumb.press("ArrowRight")
    raise AssertionError(f"slider {widget_key} never reached {target_text!r} (at {slider_value(page, widget_key)!r})")


def expect_slider(page: Page, widget_key: str, text: str, timeout_ms: int = 30_000) -> None:
    """Wait until a slider or select_slider shows `text` (polls: the page may still be rerunning)."""
    thumb = key(page, widget_key).locator('input[type="range"]').first
    expect(thumb).to_have_attribute("aria-valuetext", text, timeout=timeout_ms)


def expect_on(page: Page, widget_key: str, on: bool = True, timeout_ms: int = 30_000) -> None:
    """Wait until a toggle or checkbox is in the state `on`."""
    box = key(page, widget_key).locator('input[type="checkbox"]').first
    expect(box).to_be_checked(checked=on, timeout=timeout_ms)


def expect_url(page: Page, *parts: str, absent: tuple[str, ...] = (), timeout_ms: int = 30_000) -> None:
    """Wait until the address holds every one of `parts` (a comma may be written %2C) and none of `absent`:
    the page writes its query parameters after a rerun, so the address is polled like any other text."""
    def alt(part: str) -> str:
        return re.escape(part).replace(",", "(?:,|%2C)")
    pattern = "".join(f"(?=.*{alt(p)})" for p in parts) + "".join(f"(?!.*{alt(p)})" for p in absent)
    expect(page).to_have_url(re.compile(f"^{pattern}"), timeout=timeout_ms)


def run_to_the_end(page: Page, epochs: int, timeout_ms: int, settle: bool = True) -> Locator:
    """Press Start and wait for the run's outcome: "finished N epochs" (above chance) or "about
    chance" / "within noise of chance" (warnings; the run still finished). With `settle`, then wait for the page to be idle and
    check it shows no exception. Returns the outcome message."""
    click_button(page, "lab_start")
    done = page.locator('[data-testid="stAlert"]').filter(
        has_text=re.compile(rf"finished {epochs} epochs: final validation accuracy|about chance: validation accuracy"
                           rf"|within noise of chance \(finished {epochs} epochs\)"))
    expect(done).to_be_visible(timeout=timeout_ms)
    if settle:
        wait_idle(page)
        assert_no_exception(page)
    return done

def server_pid(app_url: str) -> int:
    """The pid of the app server listening on `app_url`'s port: `./ftlab app` execs serve.py, which
    runs Streamlit in the same process."""
    port = app_url.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"serve.py") for arg in cmd) and b"--server.port" in cmd and port in cmd:
            return int(entry.name)
    raise AssertionError(f"no app server (serve.py) on port {port.decode()}")
