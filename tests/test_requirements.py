"""The requirement files: today's releases admitted, the heavy parts optional (issue 22, section 3).

A school installs on the day it teaches, so the bounds must take the registry's newest releases that
the tests were run on; and a plain install must not pull in umap-learn (numba, llvmlite: about
210 MB) or psycopg, which only a UMAP map or a PostgreSQL server needs.
"""
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def requirements(name: str) -> dict[str, Requirement]:
    """The requirements a file names itself (its `-r` includes left out), by project name."""
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            found[req.name.lower()] = req
    return found


def includes(name: str) -> list[str]:
    return [line.split()[1] for line in (ROOT / name).read_text().splitlines() if line.startswith("-r ")]


@pytest.mark.parametrize("project, release", [("plotly", "7.1.0"), ("pillow", "13.0.0")])
def test_the_bounds_admit_todays_release(project, release):
    assert Version(release) in requirements("requirements.txt")[project].specifier


@pytest.mark.parametrize("project", ["plotly", "pillow"])
def test_the_installed_version_is_one_the_bounds_admit(project):
    installed = metadata.version(project)
    assert Version(installed) in requirements("requirements.txt")[project].specifier, installed


@pytest.mark.parametrize("project, extra_file", [("umap-learn", "requirements-umap.txt"),
                                                 ("psycopg", "requirements-postgres.txt")])
def test_heavy_parts_are_optional_but_tested(project, extra_file):
    assert project not in requirements("requirements.txt")
    assert project in requirements(extra_file)
    assert includes(extra_file) == ["requirements.txt"]
    assert extra_file in includes("requirements-dev.txt")  # so the tests still run them
