"""The server as users start it (`./ftlab app`, i.e. `streamlit run app.py` in this folder) reads
.streamlit/config.toml; these are the settings a classroom depends on, read back through Streamlit."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shown_config() -> str:
    out = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_file_watcher_is_off_for_users():
    # With the watcher on, Streamlit walks .venv/, overflows inotify and keeps a core busy (35.8 s vs
    # 17.9 s for the default Lab run).
    text = shown_config()
    assert 'fileWatcherType = "none"' in text
    assert "runOnSave = false" in text


def test_no_full_garbage_collection_after_every_script_run():
    # Streamlit's default gc.collect() after each run (fragment ticks too) was half the server's CPU
    # under the 30-learner load test with torch loaded (bench/load_test.py: lesson pages median 4.3 s
    # with it, 0.4 s without). The option is hidden from `config show`, so it is read back here.
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(config.get_option('runner.postScriptGC'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
