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


# ---- sizes: short modules (400 lines at most) and short functions (50 at most) in the app's code ----
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
# Modules allowed to be longer for now. Each entry names why; remove it with the split.
LONG_MODULES_ALLOWED = {
    "core/classroom/progress.py",  # other branches are changing it; split after their merge
    "core/content/lessons.py",  # other branches are changing it; split after their merge
}


def _app_sources() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in ("core", "ui", "pages"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def test_no_module_over_400_lines():
    long = {str(f.relative_to(ROOT)): n for f in _app_sources()
            if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES}
    assert set(long) - LONG_MODULES_ALLOWED == set(), f"modules over {MAX_MODULE_LINES} lines: {long}"
    assert LONG_MODULES_ALLOWED <= set(long), "an allowed module is short now: take it off LONG_MODULES_ALLOWED"


def test_no_function_over_50_lines():
    import ast

    long = []
    for f in _app_sources():
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: {long}"
