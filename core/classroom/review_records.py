"""The progress store's review schedule: per learner, each flashcard and missed question with its
FSRS card and due time (core/classroom/review.py decides the dates).

Only what the learner reviews is scheduled: a flashcard they marked, a lesson question they missed (the
Lab's questions about one run are not lesson items). ProgressStore inherits these methods; they run on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, tzinfo
from typing import Any

from core.classroom import review
from core.classroom.review import DueSummary, ReviewItem

# Part of schema step 7 (core/classroom/progress._MIGRATIONS); written for SQLite, adapted for PostgreSQL.
MIGRATION = """
CREATE TABLE IF NOT EXISTS review_cards (
    learner TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL, card_json TEXT NOT NULL,
    due REAL NOT NULL, ts REAL NOT NULL, PRIMARY KEY (learner, kind, item_id));
CREATE INDEX IF NOT EXISTS review_cards_due ON review_cards (learner, due);
"""
TABLE, UNIQUE_KEY = "review_cards", ("kind", "item_id")  # for the store's moves between learner keys


def schedule_review(conn, learner: str, kind: str, item_id: str, remembered: bool) -> None:
    """Count one review of an item inside the caller's write transaction (a first one only where
    review.enters_schedule says so)."""
    row = conn.execute(
        "SELECT card_json FROM review_cards WHERE learner = ? AND kind = ? AND item_id = ?", (learner, kind, item_id)
    ).fetchone()
    if row is None and not review.enters_schedule(kind, remembered):
        return
    now = time.time()
    card_json, due = review.rate(row["card_json"] if row else None, remembered, datetime.fromtimestamp(now, UTC))
    conn.execute(
        "INSERT INTO review_cards (learner, kind, item_id, card_json, due, ts) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (learner, kind, item_id) DO UPDATE SET card_json = excluded.card_json, "
        "due = excluded.due, ts = excluded.ts",
        (learner, kind, item_id, card_json, due, now),
    )


class ReviewRecords:
    """Mixed into ProgressStore (which provides _read and _connection)."""

    _read: Callable[[str, tuple], list]
    _connection: Callable[..., AbstractContextManager[Any]]

    def record_review(self, learner: str, kind: str, item_id: str, remembered: bool) -> None:
        """One review of a lesson item: a flashcard marked known or not yet, a quiz question answered
        right or wrong (a question enters the schedule when missed, and a right answer later reviews it)."""
        if kind not in review.KINDS or not str(learner).strip():
            raise ValueError(f"cannot review a {kind!r} for learner {learner!r}")
        with self._connection(write=True) as conn:
            schedule_review(conn, str(learner).strip(), kind, str(item_id), bool(remembered))

    def review_items(self, learner: str) -> list[ReviewItem]:
        """Every scheduled item of the learner, the soonest due first."""
        rows = self._read(
            "SELECT kind, item_id, due FROM review_cards WHERE learner = ? ORDER BY due, kind, item_id",
            (str(learner),),
        )
        return [ReviewItem(r["kind"], r["item_id"], float(r["due"])) for r in rows]

    def review_card_json(self, learner: str, kind: str, item_id: str) -> str | None:
        """The stored FSRS card of one item (JSON), or None when it is not scheduled."""
        rows = self._read(
            "SELECT card_json FROM review_cards WHERE learner = ? AND kind = ? AND item_id = ?",
            (str(learner), kind, item_id),
        )
        return rows[0]["card_json"] if rows else None

    def due_summary(
        self, learner: str, tz: tzinfo | None = None, known: dict[str, set[str]] | None = None
    ) -> DueSummary:
        """What the learner has to review by the end of their day (in `tz`), now."""
        now = datetime.fromtimestamp(time.time(), UTC)
        return review.summarize(self.review_items(learner), now, tz, known)
