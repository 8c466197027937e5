"""Where the progress store's rows live: one SQLite file (the default) or a PostgreSQL server.

Why two: SQLite needs no server, which suits one laptop or one class server. Several app servers
behind a load balancer must share one class's progress, which a file on one machine cannot do, so
FTLAB_DB=postgresql://... keeps it on PostgreSQL instead (issue 13). ProgressStore writes its SQL
once, in the subset both understand, with `?` placeholders; a backend here opens connections, runs
one short transaction, adapts the little that differs (DDL types, placeholders) and turns driver
errors into a ProgressError that says what happened and what to do.

Why psycopg 3 directly and not SQLAlchemy: the store's SQL is hand-written text, so SQLAlchemy's
expression language would go unused, and its pysqlite layer manages transactions itself, which
fights the explicit BEGIN IMMEDIATE that SQLite's concurrency rests on here. What PostgreSQL needs
beyond the driver is a small connection pool (a new connection costs 19 ms on loopback with
scram passwords, a pooled one about nothing) and the placeholder rewrite: both fit in this module.

Both backends have one writer at a time: SQLite by its write lock, PostgreSQL by one advisory lock
that each write transaction takes. So a claim race has one winner on either backend, with the same
code. A whole write call took 2.9 ms on loopback PostgreSQL (31 ms on SQLite, which syncs the file),
measured on this shared 2-core machine at load 15: a class's answers are far from keeping it busy.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

KEPT = "your answers in this session are kept until then."
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class ProgressError(RuntimeError):
    """The progress database cannot be used; the message says what happened and what to do."""


def open_backend(location: str, timeout: float):
    """The backend for FTLAB_DB's value: a postgresql:// URL, or else a SQLite file path."""
    scheme = _URL.match(location)
    if scheme is None:
        return SQLiteBackend(location, timeout)
    name = scheme.group(1).lower().split("+")[0]  # postgresql+psycopg:// as SQLAlchemy writes it
    if name in ("postgresql", "postgres"):
        from core.classroom.progress_pg import PostgresBackend  # psycopg only where a URL asks for it

        return PostgresBackend("postgresql://" + location[scheme.end() :], timeout)
    return UnsupportedBackend(name)


# ---- SQLite ------------------------------------------------------------------------------------


def explain_sqlite_error(path: str, exc: Exception, timeout: float) -> ProgressError:
    """Turn sqlite3/OS errors into a message a teacher can act on."""
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        msg = (
            f"The progress database at {path} is not a valid SQLite file (it may be corrupt). "
            f"Move it aside or set FTLAB_DB to a new path; {KEPT}"
        )
    elif "locked" in text or "busy" in text:
        msg = (
            f"The progress database at {path} is locked by another program or process "
            f"(waited {timeout:g} s). Try again in a moment; if this persists, close whatever "
            f"holds it or set FTLAB_DB to a new path; {KEPT}"
        )
    elif "readonly" in text or "read-only" in text or "permission" in text or "disk" in text or "full" in text:
        msg = (
            f"The progress database at {path} cannot be written ({exc}). Check the file and "
            f"folder permissions and free disk space, or set FTLAB_DB to a writable path; {KEPT}"
        )
    elif "unable to open" in text or isinstance(exc, OSError):
        msg = (
            f"The progress database at {path} cannot be opened ({exc}). Check that the folder "
            f"exists and is writable, or set FTLAB_DB to another path; {KEPT}"
        )
    else:
        msg = (
            f"The progress database at {path} failed: {exc}. Set FTLAB_DB to a new path if this keeps happening; {KEPT}"
        )
    return ProgressError(msg)


class SQLiteBackend:
    """One file; a connection per transaction, taken from a few kept open. Opening one (connect and
    its pragmas) cost 0.6 ms, nearly all of a short read, and a page run makes several: a tenth of the
    server's CPU under the 30-learner load test. A kept connection is used only while it still points
    at the file on disk (same device and inode), so a file that was fixed or moved aside is picked up
    without a restart; a connection that saw an error is closed, not kept."""

    kind = "sqlite"
    KEEP = 4  # idle connections kept; a page run holds one at a time

    def __init__(self, path: str, timeout: float):
        self.where, self.timeout = path, timeout
        self._idle: list[tuple[sqlite3.Connection, tuple[int, int]]] = []
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(os.path.abspath(self.where)), exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so every transaction is explicit and short.
        conn = sqlite3.connect(self.where, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.where)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _take(self) -> sqlite3.Connection:
        """A kept connection to the file as it is now, else a new one."""
        now = self._file_id()
        stale = []
        try:
            with self._lock:
                while self._idle:
                    conn, file_id = self._idle.pop()
                    if file_id == now:
                        return conn
                    stale.append(conn)  # the file was replaced or removed since
        finally:
            for conn in stale:
                conn.close()
        return self._open()

    def _keep(self, conn: sqlite3.Connection) -> None:
        file_id = self._file_id()
        with self._lock:
            if file_id is not None and len(self._idle) < self.KEEP:
                self._idle.append((conn, file_id))
                return
        conn.close()

    @contextmanager
    def transaction(self, write: bool, setup: bool = False) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction; `setup` first turns WAL on (stored in the file)."""
        conn, healthy = None, False
        try:
            conn = self._take()
            if setup:
                self._use_wal(conn)
            # IMMEDIATE takes the write lock up front, so a busy database fails here, not mid-way.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            healthy = True
        except (sqlite3.Error, OSError) as exc:
            raise explain_sqlite_error(self.where, exc, self.timeout) from exc
        finally:
            if conn is not None:
                if healthy:
                    self._keep(conn)
                else:
                    conn.close()

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """WAL lets readers work while one thread writes. Switching a file into it needs the file to
        itself, and SQLite then answers "database is locked" at once, without its busy timeout: two
        stores opening a new file together failed 24 times in 150 (two app servers starting, two
        threads). So the switch is made only when the file is not in WAL yet, and retried until the
        timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        """Close the kept connections (a later transaction opens new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    def ddl(self, script: str) -> list[str]:
        # Statement by statement: executescript() would COMMIT our BEGIN first.
        return [s.strip() for s in script.split(";") if s.strip()]

    def integrity_ok(self, conn, tables) -> bool:
        return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()] == ["ok"]


class UnsupportedBackend:
    """FTLAB_DB holds a URL of a database the store does not speak: every call says so."""

    kind = "unsupported"

    def __init__(self, scheme: str):
        self.where = f"{scheme}://…"
        self.scheme = scheme

    def close(self) -> None:
        """Nothing was opened."""

    @contextmanager
    def transaction(self, write: bool, setup: bool = False):
        raise ProgressError(
            f"FTLAB_DB holds a {self.scheme}:// address, but progress can be kept only in PostgreSQL "
            "(postgresql://USER:PASSWORD@HOST:5432/DATABASE) or in a SQLite file (a plain path). "
            f"Change FTLAB_DB, or unset it to use the local SQLite file; {KEPT}"
        )
        yield  # unreachable; makes this a generator for contextmanager
