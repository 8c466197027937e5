"""Learner progress in one SQLite file, or one PostgreSQL database, shared by every session.

Why SQLite by default: embedded (no server to run in a classroom), safe for many writer threads when
each thread uses its own connection, short transactions and WAL. Where several app servers serve
one class, FTLAB_DB=postgresql://... puts the same tables on a PostgreSQL server that all of them
share (core/classroom/progress_db.py holds both backends). The SQL here is written once, in what both
understand. Every query filters by learner.

A learner key is a nickname owned by one browser, or a browser's anonymous key (core/classroom/identity.py);
the identities table binds names to browsers, storing only hashes of browser ids and recovery codes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

from core import settings
from core.classroom import identity as ident
from core.classroom import moves, review_records
from core.classroom.explain_records import MIGRATION as EXPLAIN_MIGRATION
from core.classroom.explain_records import PROBES, REVIEW_MARKS, ExplainRecords
from core.classroom.identity import IdentityError

# ProgressError lives with the backends that raise it; pages catch it as core.classroom.progress.ProgressError.
from core.classroom.progress_db import KEPT, ProgressError, open_backend  # noqa: F401
from core.errors import LearnerError

SCHEMA_VERSION = 7
DONE_KINDS = ("concept", "step", "myth", "practice", "pitfall")
# Stored answers are for the learner's own review; cap them so a pasted novel cannot bloat the file.
MAX_STORED_ANSWER = 20_000
# A Lab history row is about 1 kB (settings plus a short curve per epoch); the newest 100 per
# learner are kept, more than a class session produces, so one learner cannot grow the file unbounded.
MAX_LAB_RUNS = 100

# Written for SQLite; core/classroom/progress_pg.pg_ddl derives PostgreSQL's equivalent from the same text.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quiz_answers (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, question_id TEXT NOT NULL,
    chosen_text TEXT NOT NULL, correct INTEGER NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS quiz_answers_learner ON quiz_answers (learner, question_id, id);
CREATE TABLE IF NOT EXISTS quiz_rounds (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, score INTEGER NOT NULL, total INTEGER NOT NULL,
    level TEXT, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS quiz_rounds_learner ON quiz_rounds (learner, id);
CREATE TABLE IF NOT EXISTS card_status (
    learner TEXT NOT NULL, card_id TEXT NOT NULL, known INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (learner, card_id));
CREATE TABLE IF NOT EXISTS explain_attempts (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, prompt_id TEXT NOT NULL, found INTEGER NOT NULL,
    total INTEGER NOT NULL, answer TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS explain_attempts_learner ON explain_attempts (learner, id);
CREATE TABLE IF NOT EXISTS done_items (
    learner TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (learner, kind, item_id));
"""
# Applied in order to a database at an older version, each in the schema transaction. A fresh file
# gets the baseline above and then every migration, so both paths build the same tables.
_MIGRATIONS = {
    2: """
CREATE TABLE IF NOT EXISTS identities (
    name TEXT PRIMARY KEY COLLATE NOCASE, browser_hash TEXT NOT NULL UNIQUE,
    code_salt BLOB, code_hash BLOB, wrong_codes INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0, created REAL NOT NULL);
""",
    # The Lab's run history (issue 10: a reload lost it). run_key is unique per server run of a job,
    # so two tabs of one browser that both see a run end store it once.
    3: """
CREATE TABLE IF NOT EXISTS lab_runs (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, run_key TEXT NOT NULL, row_json TEXT NOT NULL,
    ts REAL NOT NULL, UNIQUE (learner, run_key));
CREATE INDEX IF NOT EXISTS lab_runs_learner ON lab_runs (learner, id);
""",
    # "Explain it" marks from probes and the learner's own check, and the teacher's reviews (issue 25).
    4: EXPLAIN_MIGRATION,
    # Wrong recovery codes count against the browser that typed them, not the name: a lock per name
    # let anyone stop its owner moving it. (identities.wrong_codes and locked_until are unused since.)
    5: """
CREATE TABLE IF NOT EXISTS recovery_tries (
    browser_hash TEXT PRIMARY KEY, wrong_codes INTEGER NOT NULL, locked_until REAL NOT NULL, ts REAL NOT NULL);
""",
}


def _add_name_keys(conn) -> None:
    """Schema 6: identities.name_key (identity.name_key: NFKC + casefold), unique. Names from before
    that now share a key ("Émile" and "émile" had two owners on SQLite) keep their owners: the
    oldest gets the key, a later one a key no typed name can reach, so no one new takes either."""
    conn.execute("ALTER TABLE identities ADD COLUMN name_key TEXT")
    seen = set()
    for row in conn.execute("SELECT name, browser_hash FROM identities ORDER BY created, name").fetchall():
        key = ident.name_key(row["name"])
        if key in seen:
            key = f"{key}#{row['browser_hash'][:16]}"  # '#' is not allowed in a nickname
        seen.add(key)
        conn.execute("UPDATE identities SET name_key = ? WHERE browser_hash = ?", (key, row["browser_hash"]))
    conn.execute("CREATE UNIQUE INDEX identities_name_key ON identities (name_key)")


_MIGRATIONS[6] = _add_name_keys
_MIGRATIONS[7] = review_records.MIGRATION + moves.MIGRATION  # the review schedule; where a moved nickname went
# Tables keyed by learner: what moves when a browser takes a name or a name moves to a browser.
PROGRESS_TABLES = ("quiz_answers", "quiz_rounds", "card_status", "explain_attempts", "done_items", "lab_runs")
PROGRESS_TABLES += (review_records.TABLE,)  # the review schedule is kept per learner too

# Columns besides `learner` that make a row unique (the tables' PRIMARY KEY / UNIQUE above): where a
# move between learner keys can clash.
_UNIQUE_KEYS = {"card_status": ("card_id",), "done_items": ("kind", "item_id"), "lab_runs": ("run_key",)}
_UNIQUE_KEYS[review_records.TABLE] = review_records.UNIQUE_KEY


class RecordLimit(LearnerError):
    """A learner has sent more answers this hour than the server keeps; the message says so."""


_HOUR_S = 3600.0


def within_hourly_cap(conn, table: str, learner: str, cap: int, what: str, setting: str) -> None:
    """RecordLimit when `learner` already has `cap` rows in `table` from the last hour (anonymous
    keys too: every learner key is counted), inside the caller's write transaction."""
    kept = conn.execute(
        f"SELECT COUNT(*) FROM {table} WHERE learner = ? AND ts > ?", (learner, time.time() - _HOUR_S)
    ).fetchone()[0]
    if kept >= cap:
        raise RecordLimit(
            f"This one is checked but not kept: you have sent {kept} {what} in the last hour, the most "
            f"this server keeps per learner ({setting}={cap}). Take a break; they are kept again as the "
            "hour moves on."
        )


def _check_learner(learner: str) -> str:
    name = (learner or "").strip()
    if not name:
        raise ValueError("learner nickname must not be empty")
    return name


class ProgressStore(ExplainRecords, review_records.ReviewRecords, moves.NameMoves):
    """Progress of all learners in the SQLite file at `path`, or in the PostgreSQL database when
    `path` is a postgresql:// URL (created, with its schema, on first use).

    `timeout` is how long a call waits for another writer's lock before raising ProgressError.
    Nothing touches the database until the first call, so constructing a store never fails.
    """

    # Every public method that writes, in one of two sets (tests/test_store_writes.py checks it).
    # Replayed: a learner's own answers, which a page keeps and writes again once a failed database
    # works (ui.common.safe_store_call). Not replayed: identity changes and clearing, which the learner
    # must see happen or fail at once.
    REPLAYED_WRITES: ClassVar[frozenset[str]] = frozenset(
        {
            "record_quiz_answer",
            "record_quiz_round",
            "set_card_status",
            "mark_done",
            "unmark_done",
            "record_lab_run",
            "mark_explain",
            "record_review",  # the schedule follows the answer: a lost review would leave it wrong
        }
    )
    UNREPLAYED_WRITES: ClassVar[frozenset[str]] = frozenset(
        {
            "clear_lab_runs",
            "claim_name",
            "new_recovery_code",
            "recover",
            "start_explain",
            "review_explain",
            "dismiss_name_move",
        }
    )

    def __init__(self, path: str, timeout: float = 5.0):
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self._db = open_backend(self.path, self.timeout)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql" (or "unsupported" for a URL of another database)."""
        return self._db.kind

    # ---- connections -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections this store keeps open (PostgreSQL's pool); it may be used again after."""
        self._db.close()

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with self._db.transaction(write=True, setup=True) as conn:
                for statement in self._db.ddl(_SCHEMA):
                    conn.execute(statement)
                version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
                if version is None:
                    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
                    version = 1
                elif version > SCHEMA_VERSION:
                    raise ProgressError(
                        f"The progress database at {self._db.where} was written by a newer version of "
                        f"Fine-Tuning Lab (schema {version}, this one knows {SCHEMA_VERSION}). "
                        f"Update the app or set FTLAB_DB to a new path; {KEPT}"
                    )
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    migration = _MIGRATIONS[target]
                    if callable(migration):  # one that needs Python (Unicode rules SQL lacks)
                        migration(conn)
                    else:
                        for statement in self._db.ddl(migration):
                            conn.execute(statement)
                    conn.execute("UPDATE schema_version SET version = ?", (target,))
            self._schema_ready = True

    @contextmanager
    def _connection(self, write: bool) -> Iterator:
        """One connection for one short transaction (`conn.execute(sql, params)` with `?`
        placeholders on either backend); database errors become ProgressError."""
        self._ensure_schema()
        with self._db.transaction(write) as conn:
            yield conn

    def _write(self, sql: str, params: tuple) -> None:
        """One statement in its own write transaction. Portable SQL only: `?` placeholders, no
        INSERT OR IGNORE / COLLATE NOCASE / PRAGMA (ON CONFLICT DO NOTHING and LOWER() work on both)."""
        with self._connection(write=True) as conn:
            conn.execute(sql, params)

    def _read(self, sql: str, params: tuple) -> list:
        """Rows of one query (each readable as row["column"], row[0] or dict(row)); portable SQL only."""
        with self._connection(write=False) as conn:
            return conn.execute(sql, params).fetchall()

    # ---- writes ------------------------------------------------------------------------------

    def record_quiz_answer(self, learner: str, question_id: str, chosen_text: str, correct: bool) -> None:
        """Keep one answer; RecordLimit past FTLAB_MAX_ANSWERS_PER_HOUR for this learner."""
        name = _check_learner(learner)
        with self._connection(write=True) as conn:
            cap = settings.current().max_answers_per_hour
            within_hourly_cap(conn, "quiz_answers", name, cap, "quiz answers", "FTLAB_MAX_ANSWERS_PER_HOUR")
            conn.execute(
                "INSERT INTO quiz_answers (learner, question_id, chosen_text, correct, ts) VALUES (?,?,?,?,?)",
                (name, str(question_id), str(chosen_text)[:MAX_STORED_ANSWER], int(bool(correct)), time.time()),
            )

    def record_quiz_round(self, learner: str, score: int, total: int, level: str | None = None) -> None:
        self._write(
            "INSERT INTO quiz_rounds (learner, score, total, level, ts) VALUES (?,?,?,?,?)",
            (_check_learner(learner), int(score), int(total), level, time.time()),
        )

    def set_card_status(self, learner: str, card_id: str, known: bool) -> None:
        self._write(
            "INSERT INTO card_status (learner, card_id, known, ts) VALUES (?,?,?,?) "
            "ON CONFLICT (learner, card_id) DO UPDATE SET known = excluded.known, ts = excluded.ts",
            (_check_learner(learner), str(card_id), int(bool(known)), time.time()),
        )

    def mark_done(self, learner: str, kind: str, item_id: str) -> None:
        self._write(
            "INSERT INTO done_items (learner, kind, item_id, ts) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            (_check_learner(learner), str(kind), str(item_id), time.time()),
        )

    def unmark_done(self, learner: str, kind: str, item_id: str) -> None:
        self._write(
            "DELETE FROM done_items WHERE learner = ? AND kind = ? AND item_id = ?",
            (_check_learner(learner), str(kind), str(item_id)),
        )

    def record_lab_run(self, learner: str, row: dict) -> None:
        """Keep one ended Lab run (a JSON-able dict with a unique "id"); a second call for the same
        run is ignored. Only the newest MAX_LAB_RUNS rows of a learner are kept."""
        name = _check_learner(learner)
        data = json.dumps(row)  # before the transaction: a bad row fails without taking the lock
        with self._connection(write=True) as conn:
            conn.execute(
                "INSERT INTO lab_runs (learner, run_key, row_json, ts) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                (name, str(row["id"]), data, time.time()),
            )
            conn.execute(
                "DELETE FROM lab_runs WHERE learner = ? AND id NOT IN ("
                "SELECT id FROM lab_runs WHERE learner = ? ORDER BY id DESC LIMIT ?)",
                (name, name, MAX_LAB_RUNS),
            )

    def clear_lab_runs(self, learner: str) -> None:
        self._write("DELETE FROM lab_runs WHERE learner = ?", (_check_learner(learner),))

    # ---- reads -------------------------------------------------------------------------------

    def lab_runs(self, learner: str) -> list[dict]:
        """The learner's Lab history, oldest first."""
        rows = self._read("SELECT row_json FROM lab_runs WHERE learner = ? ORDER BY id", (_check_learner(learner),))
        return [json.loads(r["row_json"]) for r in rows]

    def card_statuses(self, learner: str) -> dict[str, bool]:
        rows = self._read("SELECT card_id, known FROM card_status WHERE learner = ?", (_check_learner(learner),))
        return {r["card_id"]: bool(r["known"]) for r in rows}

    def done_items(self, learner: str, kind: str | None = None) -> set[tuple[str, str]]:
        if kind is None:
            rows = self._read("SELECT kind, item_id FROM done_items WHERE learner = ?", (_check_learner(learner),))
        else:
            rows = self._read(
                "SELECT kind, item_id FROM done_items WHERE learner = ? AND kind = ?",
                (_check_learner(learner), str(kind)),
            )
        return {(r["kind"], r["item_id"]) for r in rows}

    def quiz_history(self, learner: str) -> list[dict]:
        rows = self._read(
            "SELECT ts, score, total, level FROM quiz_rounds WHERE learner = ? ORDER BY id", (_check_learner(learner),)
        )
        return [dict(r) for r in rows]

    def answer_history(self, learner: str) -> list[dict]:
        rows = self._read(
            "SELECT ts, question_id, chosen_text, correct FROM quiz_answers WHERE learner = ? ORDER BY id",
            (_check_learner(learner),),
        )
        return [{**dict(r), "correct": bool(r["correct"])} for r in rows]

    def missed_questions(self, learner: str) -> list[str]:
        """Questions whose latest answer was wrong (answered right since = no longer missed)."""
        rows = self._read(
            "SELECT a.question_id FROM quiz_answers a JOIN ("
            "  SELECT question_id, MAX(id) AS last_id FROM quiz_answers WHERE learner = ?"
            "  GROUP BY question_id) latest ON a.id = latest.last_id "
            "WHERE a.correct = 0 ORDER BY a.id",
            (_check_learner(learner),),
        )
        return [r["question_id"] for r in rows]

    def explain_history(self, learner: str) -> list[dict]:
        """Every attempt, oldest first; `method` is "keyword" for those scored before probes existed."""
        rows = self._read(
            "SELECT ts, prompt_id, found, total, answer, method, probes_right FROM explain_attempts "
            "WHERE learner = ? ORDER BY id",
            (_check_learner(learner),),
        )
        return [dict(r) for r in rows]

    def explain_best(self, learner: str) -> dict[str, tuple[int, int]]:
        """Best marked (found, total) per prompt, probes and self-check only; ties keep the latest."""
        best: dict[str, tuple[int, int]] = {}
        for row in self.explain_history(learner):
            if row["method"] != PROBES or row["probes_right"] is None:
                continue
            old = best.get(row["prompt_id"])
            if old is None or row["found"] >= old[0]:
                best[row["prompt_id"]] = (row["found"], row["total"])
        return best

    def summary(self, learner: str) -> dict:
        """Counts for the Progress page, read in one transaction so they agree with each other."""
        name = _check_learner(learner)
        with self._connection(write=False) as conn:

            def one(sql: str) -> int:
                return int(conn.execute(sql, (name,)).fetchone()[0] or 0)

            done_rows = conn.execute(
                "SELECT kind, COUNT(*) FROM done_items WHERE learner = ? GROUP BY kind", (name,)
            ).fetchall()
            best_round = conn.execute(
                "SELECT score, total FROM quiz_rounds WHERE learner = ? AND total > 0 "
                "ORDER BY score * 1.0 / total DESC, id DESC LIMIT 1",
                (name,),
            ).fetchone()
            last_round = conn.execute(
                "SELECT score, total FROM quiz_rounds WHERE learner = ? ORDER BY id DESC LIMIT 1", (name,)
            ).fetchone()
            result = {
                "quiz_rounds": one("SELECT COUNT(*) FROM quiz_rounds WHERE learner = ?"),
                "quiz_answers": one("SELECT COUNT(*) FROM quiz_answers WHERE learner = ?"),
                "quiz_correct": one("SELECT SUM(correct) FROM quiz_answers WHERE learner = ?"),
                "cards_known": one("SELECT COUNT(*) FROM card_status WHERE learner = ? AND known = 1"),
                "cards_not_yet": one("SELECT COUNT(*) FROM card_status WHERE learner = ? AND known = 0"),
                "explain_attempts": one("SELECT COUNT(*) FROM explain_attempts WHERE learner = ?"),
                "explain_prompts": one("SELECT COUNT(DISTINCT prompt_id) FROM explain_attempts WHERE learner = ?"),
                "done": {kind: 0 for kind in DONE_KINDS} | {r[0]: int(r[1]) for r in done_rows},
                "best_round": tuple(best_round) if best_round else None,
                "last_round": tuple(last_round) if last_round else None,
            }
        result["has_history"] = any(
            result[k] for k in ("quiz_rounds", "quiz_answers", "cards_known", "cards_not_yet", "explain_attempts")
        ) or any(result["done"].values())
        return result

    def learners(self) -> list[str]:
        rows = self._read(
            "SELECT learner FROM quiz_answers UNION SELECT learner FROM quiz_rounds "
            "UNION SELECT learner FROM card_status UNION SELECT learner FROM explain_attempts "
            "UNION SELECT learner FROM done_items",
            (),
        )
        return sorted(r[0] for r in rows)  # in Python: PostgreSQL's order follows its locale

    def integrity_ok(self) -> bool:
        """SQLite: PRAGMA integrity_check; PostgreSQL: every table is there and reads. For tests."""
        with self._connection(write=False) as conn:
            return self._db.integrity_ok(
                conn,
                ("schema_version", "identities", "explain_reviews", "recovery_tries", moves.TABLE, *PROGRESS_TABLES),
            )

    # ---- identities: a nickname belongs to the browser that took it ---------------------------

    def name_of(self, browser_id: str) -> str | None:
        """The nickname this browser owns, or None."""
        rows = self._read("SELECT name FROM identities WHERE browser_hash = ?", (ident.browser_hash(browser_id),))
        return rows[0]["name"] if rows else None

    def learner_key(self, browser_id: str) -> str:
        """Where this browser's progress is kept: its nickname, or its own anonymous key."""
        return self.name_of(browser_id) or ident.anonymous_key(browser_id)

    def claim_name(self, browser_id: str, name: str) -> str:
        """Give `name` to this browser and return its first recovery code.

        The browser's progress so far (anonymous, or under its previous nickname: a rename) moves to
        the name. A name another browser owns is refused with IdentityError. A name from before
        identities existed (progress but no owner) goes to the first browser that claims it.
        """
        name = ident.check_name(name)
        mine = ident.browser_hash(browser_id)
        code = ident.new_recovery_code()
        salt, digest = ident.salted_code_hash(code)  # 0.12 s: outside the write transaction
        with self._connection(write=True) as conn:
            owners = conn.execute(
                "SELECT browser_hash FROM identities WHERE name_key = ? OR name = ?", (ident.name_key(name), name)
            ).fetchall()
            if any(owner["browser_hash"] != mine for owner in owners):
                raise IdentityError(
                    f"The nickname “{name}” is taken by another browser. Pick another one; if it is "
                    "yours, open “Move my nickname here” and type its recovery code."
                )
            old = conn.execute("SELECT name FROM identities WHERE browser_hash = ?", (mine,)).fetchone()
            source = old["name"] if old else ident.anonymous_key(browser_id)
            conn.execute("DELETE FROM identities WHERE browser_hash = ?", (mine,))
            conn.execute(
                "INSERT INTO identities (name, name_key, browser_hash, code_salt, code_hash, created) "
                "VALUES (?,?,?,?,?,?)",
                (name, ident.name_key(name), mine, salt, digest, time.time()),
            )
            _move_progress(conn, source, name)
            _move_progress(conn, name, name, other_spellings=True)  # "Ada" from before: now "ada"
            moves.forget_moves(conn, mine)
        return code

    def new_recovery_code(self, browser_id: str) -> str:
        """A fresh recovery code for this browser's nickname; any earlier code stops working."""
        code = ident.new_recovery_code()
        salt, digest = ident.salted_code_hash(code)
        with self._connection(write=True) as conn:
            changed = conn.execute(
                "UPDATE identities SET code_salt = ?, code_hash = ? WHERE browser_hash = ?",
                (salt, digest, ident.browser_hash(browser_id)),
            ).rowcount
        if not changed:
            raise IdentityError("This browser has no nickname yet: take one first.")
        return code

    def recover(self, browser_id: str, name: str, code: str) -> str:
        """Move `name` to this browser with its recovery code; returns the next code (each works once).

        The device that had the name is anonymous from its next page load. Wrong codes count against
        the browser that typed them: after MAX_WRONG_CODES it may not try any name for LOCK_SECONDS.
        A guesser that drops its cookie gets five more tries, which is harmless: a code has 60 random
        bits and each check costs 0.12 s, so guessing one would take far longer than any class.
        """
        name = ident.check_name(name)
        mine = ident.browser_hash(browser_id)
        row = self._recovery_row(name, mine)
        ok = ident.code_matches(code, row["code_salt"], row["code_hash"])
        fresh = ident.new_recovery_code()
        salt, digest = ident.salted_code_hash(fresh)
        with self._connection(write=True) as conn:
            # The code must still be the one checked: two devices racing with one code, one wins.
            code_now = ("code_hash = ?", (row["code_hash"],)) if row["code_hash"] else ("code_hash IS NULL", ())
            still = conn.execute(
                f"SELECT name FROM identities WHERE name = ? AND {code_now[0]}", (row["name"], *code_now[1])
            ).fetchone()
            if still is None:
                ok, left = False, None
            elif not ok:
                left = ident.MAX_WRONG_CODES - _count_wrong_code(conn, mine)
            else:
                conn.execute(
                    "UPDATE identities SET browser_hash = ?, code_salt = ?, code_hash = ? WHERE name = ?",
                    (mine, salt, digest, row["name"]),
                )
                conn.execute("DELETE FROM recovery_tries WHERE browser_hash = ?", (mine,))
                _move_progress(conn, ident.anonymous_key(browser_id), row["name"])
                moves.record_move(conn, row["browser_hash"], row["name"])  # the browser it left says so
                moves.forget_moves(conn, mine)
        if not ok:
            raise IdentityError(_wrong_code_message(row["name"], left))
        return fresh

    def _recovery_row(self, name: str, mine: str):
        """The identity row to recover, or IdentityError when recovery cannot even be tried."""
        with self._connection(write=False) as conn:
            tries = conn.execute("SELECT locked_until FROM recovery_tries WHERE browser_hash = ?", (mine,)).fetchone()
            # The name as typed first: a look-alike pair from before schema 6 has two rows.
            row = conn.execute(
                "SELECT * FROM identities WHERE name = ? OR name_key = ? "
                "ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END LIMIT 1",
                (name, ident.name_key(name), name),
            ).fetchone()
            held = conn.execute("SELECT name FROM identities WHERE browser_hash = ?", (mine,)).fetchone()
        wait = (tries["locked_until"] if tries else 0) - time.time()
        if wait > 0:
            raise IdentityError(
                f"Too many wrong codes from this browser. Try again in {max(1, round(wait / 60))} minute(s)."
            )
        if row is None:
            raise IdentityError(f"No one uses the nickname “{name}” yet: take it with “Keep my answers”.")
        if row["browser_hash"] == mine:
            raise IdentityError(f"This browser already uses “{row['name']}”.")
        if held is not None:
            raise IdentityError(f"This browser already uses “{held['name']}”; a browser holds one nickname.")
        return row

    # ---- class-wide reads for the Teacher page (issue 13) -------------------------------------
    # The only reads across learners; pages/teacher.py calls them behind FTLAB_TEACHER_CODE, every
    # other caller stays on its own learner. Read-only, through _read with portable SQL (no
    # sqlite-only functions), so they carry over to another database engine unchanged.

    def class_quiz_outcomes(self) -> list[dict]:
        """Per learner and question: how many answers and wrong ones, and whether the first and the
        latest answer were right (first-try misses and questions still missed)."""
        rows = self._read(
            "SELECT g.learner, g.question_id, g.answers, g.wrong, f.correct AS first_correct, "
            "l.correct AS last_correct FROM ("
            "  SELECT learner, question_id, COUNT(*) AS answers, "
            "  SUM(CASE WHEN correct = 0 THEN 1 ELSE 0 END) AS wrong, MIN(id) AS first_id, MAX(id) AS last_id"
            "  FROM quiz_answers GROUP BY learner, question_id) g "
            "JOIN quiz_answers f ON f.id = g.first_id JOIN quiz_answers l ON l.id = g.last_id "
            "ORDER BY g.question_id, g.learner",
            (),
        )
        return [
            {
                "learner": r["learner"],
                "question_id": r["question_id"],
                "answers": int(r["answers"]),
                "wrong": int(r["wrong"]),
                "first_correct": bool(r["first_correct"]),
                "last_correct": bool(r["last_correct"]),
            }
            for r in rows
        ]

    def class_explain_attempts(self) -> list[dict]:
        """Every "Explain it" mark (learner, prompt, found, total, method, marked), oldest first; no
        answer texts. Keyword-scored attempts from before the probes keep method KEYWORD."""
        rows = self._read(
            "SELECT learner, prompt_id, found, total, method, probes_right FROM explain_attempts ORDER BY id", ()
        )
        return [
            {
                "learner": r["learner"],
                "prompt_id": r["prompt_id"],
                "found": int(r["found"]),
                "total": int(r["total"]),
                "method": r["method"],
                "marked": r["method"] == PROBES and r["probes_right"] is not None,
            }
            for r in rows
        ]

    def class_lab_runs(self) -> list[dict]:
        """Every kept Lab run: its learner, when it was stored and its history row, oldest first."""
        rows = self._read("SELECT learner, ts, row_json FROM lab_runs ORDER BY id", ())
        return [{"learner": r["learner"], "ts": float(r["ts"]), "row": json.loads(r["row_json"])} for r in rows]

    def class_activity(self) -> dict[str, tuple[float, float]]:
        """Learner key -> (first, last) time it stored anything, over every progress table."""
        union = " UNION ALL ".join(f"SELECT learner, ts FROM {table}" for table in PROGRESS_TABLES)
        rows = self._read(
            f"SELECT learner, MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM ({union}) t GROUP BY learner", ()
        )
        return {r["learner"]: (float(r["first_ts"]), float(r["last_ts"])) for r in rows}


def _wrong_code_message(name: str, left: int | None) -> str:
    if left is None:
        return f"That code for “{name}” was just used or replaced. Ask for the newest code on your other device."
    if left <= 0:
        return (
            f"That recovery code does not match “{name}”. Too many wrong codes from this browser: "
            f"try again in {ident.LOCK_SECONDS // 60} minutes."
        )
    return f"That recovery code does not match “{name}”. Check it and try again ({left} tries left)."


def _count_wrong_code(conn, browser: str) -> int:
    """Count a wrong recovery code against `browser` (locking it at MAX_WRONG_CODES) inside the
    caller's transaction; returns its wrong codes in a row. Rows idle for LOCK_SECONDS are dropped,
    so browsers that tried once do not pile up."""
    now = time.time()
    conn.execute("DELETE FROM recovery_tries WHERE ts < ? AND locked_until < ?", (now - ident.LOCK_SECONDS, now))
    row = conn.execute("SELECT wrong_codes FROM recovery_tries WHERE browser_hash = ?", (browser,)).fetchone()
    wrong = (row["wrong_codes"] if row else 0) + 1
    lock = now + ident.LOCK_SECONDS if wrong >= ident.MAX_WRONG_CODES else 0
    conn.execute(
        "INSERT INTO recovery_tries (browser_hash, wrong_codes, locked_until, ts) VALUES (?,?,?,?) "
        "ON CONFLICT (browser_hash) DO UPDATE SET wrong_codes = excluded.wrong_codes, "
        "locked_until = excluded.locked_until, ts = excluded.ts",
        (browser, 0 if lock else wrong, lock, now),
    )
    return wrong


def _move_progress(conn, source: str, target: str, other_spellings: bool = False) -> None:
    """Re-key progress rows from `source` to `target` inside the caller's transaction. Rows that
    clash (the same card or done item under both keys) keep the moved one: the newer mark. With
    `other_spellings`, the source is every other spelling of `target` ("Ada", "ADA" for "ada")."""
    if source == target and not other_spellings:
        return
    where = "LOWER(learner) = LOWER(?) AND learner != ?" if other_spellings else "learner = ?"
    params = (source, target) if other_spellings else (source,)
    moved = where.replace("learner", "o.learner")
    for table in PROGRESS_TABLES:
        same_key = " AND ".join(f"o.{k} = {table}.{k}" for k in _UNIQUE_KEYS.get(table, ()))
        if same_key and other_spellings:  # two spellings with the same card: the newest mark stays
            conn.execute(
                f"DELETE FROM {table} WHERE {where} AND EXISTS (SELECT 1 FROM {table} o WHERE "
                f"{moved} AND {same_key} AND (o.ts > {table}.ts OR (o.ts = {table}.ts AND "
                f"o.learner > {table}.learner)))",
                params + params,
            )
        if same_key:  # the moved row replaces the target's row with the same key
            conn.execute(
                f"DELETE FROM {table} WHERE learner = ? AND EXISTS (SELECT 1 FROM {table} o "
                f"WHERE {moved} AND {same_key})",
                (target, *params),
            )
        conn.execute(f"UPDATE {table} SET learner = ? WHERE {where}", (target, *params))


# ---- report for the Progress page --------------------------------------------------------------

# done-item kind -> (Lessons attribute holding its items, label shown to learners)
DONE_KIND_SOURCES = {
    "concept": ("concepts", "Concepts"),
    "step": ("steps", "Deep-dive steps"),
    "myth": ("myths", "Myths"),
    "practice": ("problems", "Practice problems"),
    "pitfall": ("pitfalls", "Pitfalls"),
}


def item_label(item) -> str:
    """The text a learner recognises an item by, whatever its kind."""
    for name in ("title", "front", "prompt", "belief"):
        value = getattr(item, name, None)
        if value:
            return str(value)
    return str(getattr(item, "id", item))


@dataclass(frozen=True)
class DoneRow:
    kind: str
    label: str
    done: int
    total: int


@dataclass(frozen=True)
class ProgressReport:
    """Everything the Progress page shows, computed from the store and the lesson content."""

    learner: str
    done: tuple[DoneRow, ...]
    cards_known: int
    cards_total: int
    quiz_history: tuple[dict, ...]
    quiz_answers: int
    quiz_correct: int
    explain_best: tuple[tuple[str, str, int, int], ...]  # (prompt id, prompt, found, total): marked attempts
    explain_total: int
    review_cards: tuple[tuple[str, str], ...]  # (id, label): cards marked "not yet"
    review_questions: tuple[tuple[str, str], ...]  # questions whose latest answer was wrong
    review_concepts: tuple[tuple[str, str], ...]  # concepts not yet marked done, teaching order
    has_history: bool
    # (prompt, teacher's mark, comment, the answer it is about), the newest review first
    explain_feedback: tuple[tuple[str, str, str, str], ...] = ()


def build_report(store: ProgressStore, learner: str, lessons) -> ProgressReport:
    """Join the learner's records with the lesson content. Records for items that no longer exist in
    the lessons are ignored, so totals never read "13 of 12" after content is edited."""
    summary = store.summary(learner)
    done = store.done_items(learner)
    cards = store.card_statuses(learner)
    missed = store.missed_questions(learner)
    best = store.explain_best(learner)
    history = store.quiz_history(learner)

    rows = []
    for kind, (attr, label) in DONE_KIND_SOURCES.items():
        ids = {item.id for item in getattr(lessons, attr, ())}
        rows.append(DoneRow(kind, label, len({i for k, i in done if k == kind} & ids), len(ids)))
    card_items = list(getattr(lessons, "cards", ()))
    questions = {q.id: q for q in getattr(lessons, "questions", ())}
    prompts = {p.id: p for p in getattr(lessons, "prompts", ())}
    done_concepts = {i for k, i in done if k == "concept"}
    return ProgressReport(
        learner=learner,
        done=tuple(rows),
        cards_known=sum(1 for c in card_items if cards.get(c.id) is True),
        cards_total=len(card_items),
        quiz_history=tuple(history),
        quiz_answers=summary["quiz_answers"],
        quiz_correct=summary["quiz_correct"],
        explain_best=tuple((pid, item_label(prompts[pid]), f, t) for pid, (f, t) in best.items() if pid in prompts),
        explain_total=len(prompts),
        review_cards=tuple((c.id, item_label(c)) for c in card_items if cards.get(c.id) is False),
        review_questions=tuple((q, item_label(questions[q])) for q in missed if q in questions),
        review_concepts=tuple(
            (c.id, item_label(c)) for c in getattr(lessons, "concepts", ()) if c.id not in done_concepts
        ),
        has_history=summary["has_history"],
        explain_feedback=tuple(
            (item_label(prompts[f["prompt_id"]]), REVIEW_MARKS[f["review_mark"]], f["review_comment"], f["answer"])
            for f in store.explain_feedback(learner)
            if f["prompt_id"] in prompts
        ),
    )
