"""The project installs with pip from pyproject.toml into a fresh virtual environment and its `ftlab` command
answers --help. Dependencies are left out (--no-deps) so the test stays offline and quick:
tests/test_code_checks.py and tests/test_dependencies_agree.py hold pyproject's dependencies to the
requirements files that `./ftlab` installs and the rest of the suite runs on."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_install_into_a_fresh_venv_gives_a_working_ftlab_command(tmp_path):
    # from a copy of the tracked files: setuptools writes build/ and *.egg-info beside the source it builds
    source = tmp_path / "source"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # pip builds in isolation: pyproject's build-system (setuptools) comes from the package index
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    helped = subprocess.run([str(venv / "bin" / "ftlab"), "--help"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "usage: ftlab" in helped.stdout
    # the installed packages alone hold no app to serve: the command says to install from a checkout
    app = subprocess.run([str(venv / "bin" / "ftlab"), "app"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert app.returncode == 2 and "pip install -e ." in app.stderr, app.stderr
