"""The entry script Streamlit serves has no pages/ folder beside it, so a fresh server's first deep link
runs through the app's frame (web/entry.py says why); the frame runs from there headless."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ROOT / "web" / "entry.py"


def test_the_served_entry_script_has_no_pages_folder_beside_it():
    import asgi

    entry = (ROOT / asgi.app.script_path).resolve()
    assert entry == ENTRY
    assert (ROOT / "pages").is_dir()  # the design's page scripts, one folder up
    assert not (entry.parent / "pages").exists(), "Streamlit would run it as an old-style multipage app"


def test_the_entry_runs_the_frame_and_its_page_links_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_DB", str(tmp_path / "progress.sqlite3"))
    at = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("🔬 Fine-Tuning Lab")  # the home page, through the navigation
    at.switch_page(str(ROOT / "pages" / "quiz.py")).run()
    assert not at.exception, at.exception
    assert any("Quiz" in t.value for t in at.title)


def test_no_code_touches_streamlit_internals():
    """Streamlit's private runtime (PagesManager and the like) can change in any release."""
    sources = [ROOT / "app.py", ROOT / "asgi.py", ROOT / "serve.py", *(ROOT / "web").rglob("*.py")]
    for package in ("core", "ui", "pages"):
        sources += (ROOT / package).rglob("*.py")
    touching = [str(p.relative_to(ROOT)) for p in sources
                if any(word in p.read_text() for word in ("PagesManager", "streamlit.runtime", "uses_pages_directory"))]
    assert touching == []
