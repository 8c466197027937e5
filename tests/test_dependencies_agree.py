"""Each extra of pyproject.toml (what `pip install .[x]` reads) is its requirements file (what `./ftlab`
installs); tests/test_code_checks.py holds the base dependencies to requirements.txt the same way."""
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


def test_each_extra_is_its_requirements_file():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) == set(EXTRAS)
    for extra, name in EXTRAS.items():
        assert sorted(extras[extra]) == own_lines(name), extra
