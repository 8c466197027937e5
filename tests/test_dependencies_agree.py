"""pyproject.toml (what `pip install .` reads) and the requirements files (what `./ftlab` installs) name the
same packages with the same bounds: a bound changed in one place only would install a different app."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = {"cluster": "requirements-cluster.txt", "postgres": "requirements-postgres.txt",
          "umap": "requirements-umap.txt", "dev": "requirements-dev.txt"}


def own_lines(name: str) -> list[str]:
    """A requirements file's own requirements: no comments, blanks or `-r` includes."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines())
    return sorted(line for line in lines if line and not line.startswith("-r"))


def test_base_dependencies_are_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sorted(project["dependencies"]) == own_lines("requirements.txt")


def test_each_extra_is_its_requirements_file():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == set(EXTRAS)
    for extra, name in EXTRAS.items():
        assert sorted(extras[extra]) == own_lines(name), extra
