"""core.settings: every FTLAB_* variable is read there and nowhere else, with its default and a bad value's fallback."""
import re
from pathlib import Path

from core.settings import ENV, REPO_DIR, Settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_with_an_empty_environment():
    s = Settings.from_env({})
    assert s.data_dir == REPO_DIR / "data"
    assert s.db == str(REPO_DIR / "data" / "progress.sqlite3")
    assert (s.teacher_code, s.ray_address, s.packages_dir) == ("", "", None)
    assert (s.max_jobs, s.torch_threads, s.worker_nice) == (None, None, 10)
    assert (s.data_cache_mb, s.feature_cache_mb) == (1024, 1024)


def test_each_variable_sets_its_field(tmp_path):
    s = Settings.from_env({
        "FTLAB_DATA_DIR": str(tmp_path), "FTLAB_TEACHER_CODE": " code ", "FTLAB_MAX_JOBS": "3",
        "FTLAB_WORKER_NICE": "-2", "FTLAB_TORCH_THREADS": "4", "FTLAB_RAY_ADDRESS": " ray://h:1 ",
        "FTLAB_PACKAGES_DIR": str(tmp_path / "pk"), "FTLAB_DATA_CACHE_MB": "0", "FTLAB_FEATURE_CACHE_MB": "64"})
    assert s.data_dir == tmp_path and s.db == str(tmp_path / "progress.sqlite3")  # the DB follows the data folder
    assert (s.teacher_code, s.max_jobs, s.worker_nice, s.torch_threads) == ("code", 3, -2, 4)
    assert (s.ray_address, s.packages_dir) == ("ray://h:1", tmp_path / "pk")
    assert (s.data_cache_mb, s.feature_cache_mb) == (0, 64)  # 0 is a real choice: no cache
    assert Settings.from_env({"FTLAB_DB": "postgresql://x/y"}).db == "postgresql://x/y"


def test_a_value_that_is_not_a_number_falls_back_to_its_default_with_a_warning(caplog):
    s = Settings.from_env({"FTLAB_MAX_JOBS": "two", "FTLAB_WORKER_NICE": "low", "FTLAB_TORCH_THREADS": "0",
                           "FTLAB_DATA_CACHE_MB": "lots"})
    assert (s.max_jobs, s.worker_nice, s.torch_threads, s.data_cache_mb) == (None, 10, None, 1024)
    assert "FTLAB_MAX_JOBS='two' is not a whole number" in caplog.text
    assert Settings.from_env({"FTLAB_MAX_JOBS": "0"}).max_jobs == 1  # at least one run at a time


def test_no_module_but_settings_reads_the_environment():
    readers = []
    for folder in ("core", "ui", "pages"):
        for py in (ROOT / folder).rglob("*.py"):
            if re.search(r"environ\.get\(|environ\[|getenv\(", py.read_text(encoding="utf-8")):
                readers.append(str(py.relative_to(ROOT)))
    assert readers == ["core/settings.py"]


def test_every_variable_the_code_names_is_declared_once():
    named = set()
    for folder in ("core", "ui", "pages"):
        for py in (ROOT / folder).rglob("*.py"):
            named |= set(re.findall(r"\bFTLAB_[A-Z_]+[A-Z]\b", py.read_text(encoding="utf-8")))
    assert named == set(ENV)
