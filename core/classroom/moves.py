"""Where a browser's nickname went: the record a recovery code leaves behind on the browser it left.

A browser whose nickname was moved away shows no progress on its next visit, which reads as lost work.
So the store keeps, per browser that lost a name (by its hash, as identities does), which name moved
and when, until that browser takes or moves back a nickname, or the learner puts the note away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.classroom import identity as ident

# Part of schema step 7 (core/classroom/progress._MIGRATIONS); written for SQLite, adapted for PostgreSQL.
MIGRATION = """
CREATE TABLE IF NOT EXISTS name_moves (
    browser_hash TEXT PRIMARY KEY, name TEXT NOT NULL, ts REAL NOT NULL);
"""
TABLE = "name_moves"


@dataclass(frozen=True)
class NameMove:
    """A nickname this browser held until a recovery code moved it to another browser, at `ts`."""

    name: str
    ts: float


def record_move(conn, from_browser_hash: str, name: str) -> None:
    """Inside the caller's transaction: `name` just left the browser with this hash."""
    conn.execute(
        "INSERT INTO name_moves (browser_hash, name, ts) VALUES (?,?,?) "
        "ON CONFLICT (browser_hash) DO UPDATE SET name = excluded.name, ts = excluded.ts",
        (from_browser_hash, name, time.time()),
    )


def forget_moves(conn, browser_hash: str) -> None:
    """Inside the caller's transaction: this browser holds a nickname again, so the note is moot."""
    conn.execute("DELETE FROM name_moves WHERE browser_hash = ?", (browser_hash,))


class NameMoves:
    """Mixed into ProgressStore (which provides _read and _write)."""

    _read: Callable[[str, tuple], list]
    _write: Callable[[str, tuple], None]

    def name_moved_from(self, browser_id: str) -> NameMove | None:
        """The nickname a recovery code last moved away from this browser, or None."""
        rows = self._read("SELECT name, ts FROM name_moves WHERE browser_hash = ?", (ident.browser_hash(browser_id),))
        return NameMove(rows[0]["name"], float(rows[0]["ts"])) if rows else None

    def dismiss_name_move(self, browser_id: str) -> None:
        """The learner has read where the name went: stop saying it."""
        self._write("DELETE FROM name_moves WHERE browser_hash = ?", (ident.browser_hash(browser_id),))
