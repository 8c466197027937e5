"""Browser end-to-end fixtures: one Streamlit server for the whole session, one headless Chromium.

The server runs the real app as the README starts it (`./ftlab app`) on a free port, with its progress database and
data folder in a temporary directory (TORCH_HOME is left alone so the offline ImageNet weights are
found). Chromium is Debian's /usr/bin/chromium driven by Playwright; without it the tests skip
locally and fail on CI (CI=true), where they must run.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect

    # Every poll waits up to 30 s (Playwright's default is 5 s): on a busy 2-core machine a tab's content can
    # take longer than 5 s to render. A longer poll is not a retry: it still fails if the page never shows it.
    expect.set_options(timeout=30_000)
except ImportError:  # no Playwright: the browser fixture skips (locally) or fails (CI) with the reason
    pass

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
HEALTH_TIMEOUT_S = 600  # `./ftlab app` first checks the install: minutes where it must install
TEACHER_CODE = "e2e-teacher-passcode"  # the test server's FTLAB_TEACHER_CODE (tests/e2e/test_teacher.py)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the page fixture can tell a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_browser() -> None:
    """Skip (locally) or fail (CI) when the browser or Playwright is missing."""
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} is missing (install it: apt-get install -y chromium, or run ./ftlab test)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install -r requirements-dev.txt)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run on CI, but {problem}", pytrace=False)
        pytest.skip(problem)


def _health(url: str) -> str:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
            return r.read().decode().strip()
    except OSError:
        return ""


@pytest.fixture(scope="session")
def server_tmp(tmp_path_factory) -> Path:
    """The test server's own folder: its progress database (progress.sqlite3) and data folder."""
    return tmp_path_factory.mktemp("ftlab-e2e")


@pytest.fixture(scope="session")
def app_url(server_tmp):
    """Base URL of a Streamlit server running app.py; stopped at the end of the session."""
    _require_browser()
    tmp = server_tmp
    port = _free_port()
    env = dict(os.environ, FTLAB_DB=str(tmp / "progress.sqlite3"), FTLAB_DATA_DIR=str(tmp / "data"),
               FTLAB_TEACHER_CODE=TEACHER_CODE, PYTHONUNBUFFERED="1")
    log_path = tmp / "streamlit.log"
    log = open(log_path, "w")
    # The README's command (its config, serve.py's warm start), in this interpreter's environment;
    # only where it listens is set here.
    env["FTLAB_VENV"] = sys.prefix
    cmd = ["./ftlab", "app", "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while _health(url) != "ok":
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {HEALTH_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        tail = log_path.read_text()[-4000:]
        if re.search(r"Traceback|Error", tail):
            sys.stderr.write(f"\n--- streamlit log (tail) ---\n{tail}\n")


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# Installed before the page's own scripts: every distinct text the sidebar navigation shows, in order,
# from its first paint on (a MutationObserver sees each render, even one replaced at once).
NAV_RECORDER_JS = """
window.__ftlabNavSeen = [];
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  const seen = window.__ftlabNavSeen;
  if (nav && seen[seen.length - 1] !== nav.innerText) seen.push(nav.innerText);
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture(scope="session")
def first_visit(browser, app_url) -> dict:
    """The server's very first visit is a deep link (/quiz), as when a teacher shares a link to a page
    of a freshly started app; every state of its sidebar navigation, from the first paint, is recorded
    for a test. Then the home page is opened, which also warms the server up (imports, lessons) for
    the other tests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(90_000)
    context.add_init_script(NAV_RECORDER_JS)
    try:
        pg = context.new_page()
        pg.goto("/quiz")
        expect(pg.locator('[data-testid="stMain"] h1').first).to_contain_text("Quiz", timeout=90_000)
        expect(pg.locator('[data-testid="stSidebarNav"]')).to_contain_text("Check yourself", timeout=90_000)
        record = {"url": pg.url, "nav": pg.locator('[data-testid="stSidebarNav"]').inner_text(),
                  "nav_seen": pg.evaluate("window.__ftlabNavSeen"),
                  "h1": pg.locator('[data-testid="stMain"] h1').first.inner_text()}
        pg.screenshot(path=str(_screens() / "first-visit-deep-link.png"))
        pg.goto("/")
        pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        pg.wait_for_selector('[data-testid="stMain"] h1')
        return record
    finally:
        context.close()


def _screens() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def page(request, browser, app_url, first_visit):
    """A fresh browser context (a new Streamlit session) per test, 1280x900, generous timeouts.
    A failed test leaves artifacts/screenshots/FAILED-<test>.png of what the browser showed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                pg.screenshot(path=str(_screens() / f"FAILED-{request.node.name}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a screenshot must not hide the real failure
                pass
        context.close()


