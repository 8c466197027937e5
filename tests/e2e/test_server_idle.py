"""The server as users start it stays idle while a learner only reads a page.

Streamlit's default file watcher walks .venv/ (about 4,700 folders), overflows inotify and keeps a core
busy as long as any page is open: the default Lab run took 35.8 s with it and 17.9 s without. The
suite's server is started like `./ftlab app` (its settings come from .streamlit/config.toml), so this
test sees what users get. It guards against any constant idle burn; on the machine where it was
written the watcher set back to "auto" did not burn CPU within this window, so the config itself is
pinned by tests/test_server_config.py.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import open_page, server_pid

pytestmark = pytest.mark.browser
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def test_an_open_page_costs_the_server_almost_no_cpu(page, app_url):
    open_page(page, "/concepts")
    pid = server_pid(app_url)
    time.sleep(2)  # let the page's own run finish its tail work
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(8)
    used = cpu_seconds(pid) - before
    wall = time.monotonic() - t0
    # A watcher spinning on inotify overflows burned about one core (8 s here); idle is well under 1 s.
    assert used < 0.25 * wall, f"the server used {used:.1f} s of CPU in {wall:.1f} s with one idle page open"
