"""Fixtures shared by the test files: progress databases on both backends (issue 13).

`progress_db` is a fresh, empty progress database, once as a SQLite file and once as a PostgreSQL
database on a throwaway server (tests/pg.py) that starts once per session, the first time a test
asks for it. Where PostgreSQL is missing, those cases skip with how to install it, or fail under CI.
"""
import pytest

from tests import pg


@pytest.fixture(scope="session")
def pg_server():
    """A running throwaway PostgreSQL (initdb in a temp folder, loopback, a free port), removed at the end."""
    reason = pg.missing_reason()
    if reason:
        message = f"PostgreSQL tests need a local PostgreSQL: {reason}"
        if pg.required():
            pytest.fail(message + " (required here: CI or FTLAB_REQUIRE_POSTGRES is set)", pytrace=False)
        pytest.skip(message)
    server = pg.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def progress_db(request, tmp_path) -> str:
    """Where a fresh progress database lives: a SQLite file's path, or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "progress.sqlite3")
    return request.getfixturevalue("pg_server").create_database()
