"""ui/live_chart.py: plotly.js is put where the app's static serving finds it, once, and a place
it cannot be written makes the live view fall back instead of failing."""
import pytest

from ui import live_chart


@pytest.fixture
def static_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(live_chart, "STATIC_DIR", tmp_path / "static")
    live_chart.served.cache_clear()
    yield tmp_path / "static"
    live_chart.served.cache_clear()


def test_plotly_js_is_copied_into_the_static_folder_once(static_dir):
    assert live_chart.served()
    copy = static_dir / live_chart.PLOTLY_FILE
    assert copy.read_bytes() == live_chart.PACKAGED_PLOTLY.read_bytes()
    assert b"plotly.js v" in copy.read_bytes()[:200]  # the library itself, not a pointer to it
    assert [p.name for p in static_dir.iterdir()] == [live_chart.PLOTLY_FILE]  # no partial file left


def test_a_stale_copy_is_replaced(static_dir):
    static_dir.mkdir()
    (static_dir / live_chart.PLOTLY_FILE).write_text("/* an older plotly.js */")
    assert live_chart.served()
    assert (static_dir / live_chart.PLOTLY_FILE).stat().st_size == live_chart.PACKAGED_PLOTLY.stat().st_size


def test_a_folder_that_cannot_be_written_is_reported_not_raised(static_dir, caplog):
    static_dir.write_text("a file where the folder should be")  # mkdir and the copy both fail
    assert live_chart.served() is False
    assert "fall back to st.plotly_chart" in caplog.text


def test_the_app_serves_its_static_folder():
    import re
    from pathlib import Path

    config = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    server = config.split("[server]", 1)[1].split("\n[", 1)[0]  # the [server] table (tomllib is 3.11+)
    assert re.search(r"^enableStaticServing\s*=\s*true\s*$", server, re.M), server
    assert live_chart.STATIC_DIR == Path(__file__).resolve().parent.parent / "web" / "static"  # beside web/entry.py
