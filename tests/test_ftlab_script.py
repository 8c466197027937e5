"""./ftlab installs the optional parts a setting asks for, and only those (and, under CI, the system
packages a test needs).

The script runs for real against a stand-in virtualenv whose `python` records its arguments, so what
it would install and start is read back without installing anything.
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def calls_of(tmp_path: Path, command: str, *args: str, **env: str) -> list[str]:
    """The stand-in python's command lines while `./ftlab COMMAND` runs with `env` set."""
    log = tmp_path / "calls.log"
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    python.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FTLAB_", "CI"))}
    subprocess.run(["./ftlab", command, *args], cwd=ROOT, check=True, timeout=60, capture_output=True,
                   env={**clean, "FTLAB_VENV": str(python.parent.parent), **env})
    return log.read_text().splitlines()


def test_app_on_sqlite_installs_neither_postgres_nor_ray(tmp_path):
    calls = calls_of(tmp_path, "app")
    assert "-m pip install -q -r requirements.txt" in calls
    assert not any("requirements-postgres.txt" in c or "requirements-cluster.txt" in c for c in calls)
    assert calls[-1].startswith("serve.py")


def test_app_on_a_postgresql_url_installs_the_postgres_extra_first(tmp_path):
    calls = calls_of(tmp_path, "app", FTLAB_DB="postgresql://ftlab:pw@db.example:5432/ftlab")
    assert "-m pip install -q -r requirements-postgres.txt" in calls
    assert calls[-1].startswith("serve.py")


@pytest.mark.skipif(os.geteuid() != 0, reason="./ftlab installs Debian packages as root (or with sudo)")
def test_test_under_ci_installs_nginx_and_openssl_when_missing(tmp_path):
    apt_log = tmp_path / "apt.log"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {apt_log}\n')
    (fake_bin / "apt-get").chmod(0o755)
    calls = calls_of(tmp_path, "test", CI="true", FTLAB_NGINX=str(tmp_path / "no-nginx"),
                     PATH=f"{fake_bin}:{os.environ['PATH']}")
    assert any(line.split()[-2:] == ["nginx", "openssl"] for line in apt_log.read_text().splitlines())
    assert calls[-1].startswith("-m pytest")


def test_backup_and_restore_run_the_backup_module(tmp_path):
    assert calls_of(tmp_path, "backup", "/srv/backups")[-1] == "-m core.classroom.backup backup /srv/backups"
    calls = calls_of(tmp_path / "again", "restore", "/srv/backups/progress.sqlite3")
    assert calls[-1] == "-m core.classroom.backup restore /srv/backups/progress.sqlite3"
