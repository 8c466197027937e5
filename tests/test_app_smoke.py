"""The app frame: it starts headless, and each page opens through the navigation with no exception."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "web" / "entry.py"  # what the server runs (asgi.py)
PAGES = ["home", "concepts", "deep_dive", "pitfalls", "flashcards", "quiz", "explain", "practice", "progress", "lab",
         "teacher"]


@pytest.fixture(autouse=True)
def private_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))


def test_home_is_the_default_page():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.startswith("🔬 Fine-Tuning Lab")
    assert any("Where to start" in s.value for s in at.subheader)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_through_the_navigation(page):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(str(ROOT / "pages" / f"{page}.py")).run()
    assert not at.exception, at.exception
    assert at.title, f"{page} shows no title"
