"""Small helpers shared by several test modules (waiting on background jobs, opening the lab page)."""
from __future__ import annotations

import re
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

LAB_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "lab.py")


def wait_until(pred, timeout: float = 10.0) -> bool:
    """Poll `pred` until it is true or `timeout` seconds pass; returns whether it came true."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def lab_page(query: dict | None = None, timeout: float = 120) -> AppTest:
    """The Lab page as AppTest, with the given query parameters (a shared link)."""
    at = AppTest.from_file(LAB_PAGE, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def shown(elements) -> str:
    """The text of AppTest elements (warnings, infos) as the browser shows it: their Markdown source
    backslash-escapes the punctuation that came from an address (ui.common.md_text)."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in elements))


def run_ok(at: AppTest) -> AppTest:
    """Run the script and fail with the exception texts if the page raised."""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def record_marked(store, learner: str, prompt_id: str, found: int, total: int, answer: str) -> int:
    """An "Explain it" attempt with the mark found/total (all of it from the self-check, no probes),
    as the Explain page stores one in two steps; returns its id."""
    attempt = store.start_explain(learner, prompt_id, answer, probes_total=0, checklist_total=total)
    store.mark_explain(learner, attempt, probes_right=0, self_checked=found)
    return attempt
