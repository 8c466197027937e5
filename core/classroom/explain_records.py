"""The progress store's "Explain it" records: attempts with their mark, and the teacher's reviews.

Why apart from core/classroom/progress.py: a mark here comes from probes and the learner's own check
(core/content/explain_probes.py), and a teacher may mark an answer and write a comment the learner reads
back, which is the one place where the teacher writes into a learner's records. ProgressStore
inherits these methods; they use its transactions, so they run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from core import settings

# Attempts recorded before probes existed were scored by keyword matching (method "keyword"); they
# keep their old found/total but count in no average of the new marks.
PROBES, KEYWORD = "probes", "keyword"
# A teacher's mark on one answer, and how pages name it.
REVIEW_MARKS = {"good": "Good", "partly": "Partly there", "revise": "Needs another go"}
MAX_COMMENT = 2_000

# Schema step 4 (core/progress._MIGRATIONS): written for SQLite, adapted for PostgreSQL as the rest.
MIGRATION = """
ALTER TABLE explain_attempts ADD COLUMN method TEXT NOT NULL DEFAULT 'keyword';
ALTER TABLE explain_attempts ADD COLUMN probes_right INTEGER;
ALTER TABLE explain_attempts ADD COLUMN probes_total INTEGER;
ALTER TABLE explain_attempts ADD COLUMN self_checked INTEGER;
CREATE TABLE IF NOT EXISTS explain_reviews (
    attempt_id INTEGER NOT NULL PRIMARY KEY, mark TEXT NOT NULL, comment TEXT NOT NULL, ts REAL NOT NULL);
"""

_ATTEMPT = (
    "SELECT a.id, a.learner, a.prompt_id, a.found, a.total, a.answer, a.ts, a.method, a.probes_right, "
    "a.probes_total, a.self_checked, r.mark AS review_mark, r.comment AS review_comment, "
    "r.ts AS review_ts FROM explain_attempts a LEFT JOIN explain_reviews r ON r.attempt_id = a.id "
)


def _attempt(row) -> dict:
    out = dict(row)
    out["marked"] = out["method"] == PROBES and out["probes_right"] is not None
    return out


class ExplainRecords:
    """Mixed into ProgressStore (which provides _connection, _read and _write). core.classroom.progress is
    imported inside the methods: it imports this module to build the store."""

    # Provided by ProgressStore, which mixes this class in (declared for the type checker).
    _connection: Callable[..., AbstractContextManager[Any]]
    _write: Callable[[str, tuple], None]
    _read: Callable[[str, tuple], list]

    def start_explain(self, learner: str, prompt_id: str, answer: str, probes_total: int, checklist_total: int) -> int:
        """Store a written answer, not marked yet; returns the attempt's id for mark_explain.
        RecordLimit past FTLAB_MAX_EXPLAINS_PER_HOUR for this learner."""
        from core.classroom.progress import MAX_STORED_ANSWER, _check_learner, within_hourly_cap

        with self._connection(write=True) as conn:
            cap = settings.current().max_explains_per_hour
            within_hourly_cap(
                conn, "explain_attempts", learner, cap, "“Explain it” attempts", "FTLAB_MAX_EXPLAINS_PER_HOUR"
            )
            row = conn.execute(
                "INSERT INTO explain_attempts (learner, prompt_id, found, total, answer, ts, method, probes_total) "
                "VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                (
                    _check_learner(learner),
                    str(prompt_id),
                    0,
                    int(probes_total) + int(checklist_total),
                    str(answer or "")[:MAX_STORED_ANSWER],
                    time.time(),
                    PROBES,
                    int(probes_total),
                ),
            ).fetchone()
        return int(row[0])

    def mark_explain(self, learner: str, attempt_id: int, probes_right: int, self_checked: int) -> None:
        """Set the learner's mark on their own attempt: probes right plus ideas they ticked."""
        from core.classroom.progress import _check_learner

        self._write(
            "UPDATE explain_attempts SET probes_right = ?, self_checked = ?, found = ? "
            "WHERE id = ? AND learner = ? AND method = ?",
            (
                int(probes_right),
                int(self_checked),
                int(probes_right) + int(self_checked),
                int(attempt_id),
                _check_learner(learner),
                PROBES,
            ),
        )

    def review_explain(self, attempt_id: int, mark: str, comment: str) -> None:
        """The teacher's mark and comment on one attempt; a second review replaces the first."""
        if mark not in REVIEW_MARKS:
            raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(REVIEW_MARKS)}")
        self._write(
            "INSERT INTO explain_reviews (attempt_id, mark, comment, ts) VALUES (?,?,?,?) "
            "ON CONFLICT (attempt_id) DO UPDATE SET mark = excluded.mark, comment = excluded.comment, "
            "ts = excluded.ts",
            (int(attempt_id), mark, str(comment or "")[:MAX_COMMENT], time.time()),
        )

    def explain_feedback(self, learner: str) -> list[dict]:
        """The learner's attempts a teacher reviewed, the newest review first."""
        from core.classroom.progress import _check_learner

        rows = self._read(
            _ATTEMPT + "WHERE a.learner = ? AND r.mark IS NOT NULL ORDER BY r.ts DESC", (_check_learner(learner),)
        )
        return [_attempt(r) for r in rows]

    def class_explain_answers(self, prompt_id: str) -> list[dict]:
        """Every attempt at one prompt, with its learner key and any review, the newest first.
        For the Teacher page only, like the other class-wide reads."""
        return [
            _attempt(r) for r in self._read(_ATTEMPT + "WHERE a.prompt_id = ? ORDER BY a.id DESC", (str(prompt_id),))
        ]
