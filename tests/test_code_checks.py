"""The code checks CI runs with the tests: the import layers (lint-imports), ruff's lint and format, mypy on
core/, pyproject's dependencies equal to requirements.txt, and lesson content that imports without torch."""
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt")
        return found
    return str(path)


def _check(*cmd: str) -> None:
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"


def test_import_layers_hold():
    _check(_tool("lint-imports"))


def test_ruff_lint():
    _check(_tool("ruff"), "check", ".")


def test_ruff_format():
    _check(_tool("ruff"), "format", "--check", "core", "ui", "pages")


def test_mypy_on_core():
    _check(_tool("mypy"))


def test_pyproject_dependencies_mirror_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    assert sorted(project["dependencies"]) == sorted(line for line in lines if line)


@pytest.mark.parametrize("module", ["core.content", "core.content.lessons", "core.content.scoring",
                                    "core.content.codediff", "core.settings",
                                    # the registries' names: what a config, a lesson or a link needs
                                    "core.train.config", "core.lab.presets", "core.models.names", "core.data.names",
                                    "core.train.schedules", "core.train.freezing"])
def test_imports_without_torch(module):
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"importing {module} imported torch\n{done.stderr}"
