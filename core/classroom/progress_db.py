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

import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

from core.errors import install_command

KEPT = "your answers in this session are kept until then."
# Connections one app server keeps open to PostgreSQL at most. Its default max_connections is 100,
# so ten app servers fit; a Streamlit server rarely has more than a few store calls in flight.
PG_POOL_SIZE = 10
# pg_advisory_xact_lock key of "one writer at a time" (the bytes of "ftlab").
PG_WRITE_LOCK = 0x66746C6162
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


# ---- PostgreSQL --------------------------------------------------------------------------------


class Row(tuple):
    """A PostgreSQL result row read like sqlite3.Row: by position, by column name, or as dict(row)."""

    def __new__(cls, values, names: tuple[str, ...]):
        row = super().__new__(cls, values)
        row._names = names
        return row

    def keys(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)


def _row_factory(cursor):
    names = tuple(c.name for c in cursor.description or ())
    return lambda values: Row(values, names)


_PLACEHOLDER_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s`; a literal `%` doubled (psycopg reads it as a placeholder),
    and a `?` inside a quoted string left alone."""
    return _PLACEHOLDER_TOKENS.sub(lambda m: "%s" if m.group() == "?" else m.group().replace("%", "%%"), sql)


# SQLite DDL -> PostgreSQL: the types that differ. REAL must become a double: PostgreSQL's REAL
# holds 7 digits, which would round time.time() to minutes.
_PG_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
)
# SQLite's `name TEXT PRIMARY KEY COLLATE NOCASE` (unique whatever the case): a plain column plus a
# unique index on LOWER(name), which also serves the store's `LOWER(name) = LOWER(?)` lookups.
_NOCASE_KEY = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\(.*?\b(\w+) TEXT PRIMARY KEY COLLATE NOCASE", re.S)


def pg_ddl(statement: str) -> list[str]:
    """One SQLite DDL statement as the PostgreSQL statements that build the same thing."""
    extra = []
    nocase = _NOCASE_KEY.search(statement)
    if nocase:
        table, column = nocase.groups()
        extra.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_{column}_nocase ON {table} (LOWER({column}))")
        statement = statement.replace(" COLLATE NOCASE", "")
    for pattern, replacement in _PG_TYPES:
        statement = pattern.sub(replacement, statement)
    return [statement, *extra]


def redact(url: str) -> str:
    """The URL as messages show it: never its password, wherever it was written."""
    url = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def _driver():
    try:
        import psycopg
        import psycopg.types.numeric  # noqa: F401  (FloatLoader, below)
    except ImportError as exc:
        raise ProgressError(
            "FTLAB_DB names a PostgreSQL server, but its driver (psycopg, an optional part) is not "
            f"installed. Install it with {install_command('postgres')} (`./ftlab app` does this itself "
            f"when FTLAB_DB is a postgresql:// URL), or unset FTLAB_DB to keep progress in the local "
            f"SQLite file; {KEPT}"
        ) from exc
    return psycopg


def explain_pg_error(where: str, exc: Exception, timeout: float) -> ProgressError:
    """Turn psycopg errors into a message a teacher can act on. Errors while connecting carry no
    SQLSTATE (psycopg 3.3), so libpq's words are read too."""
    psycopg = _driver()
    text, state = str(exc).lower(), getattr(exc, "sqlstate", None) or ""
    detail = redact(" ".join(str(exc).split()))[:300]
    if state == "55P03" or "lock timeout" in text:
        msg = (
            f"The progress database at {where} is locked by another program or process "
            f"(waited {timeout:g} s). Try again in a moment; {KEPT}"
        )
    elif (
        state.startswith("28")
        or "password" in text
        or "authentication" in text
        or ("role" in text and "does not exist" in text)
    ):
        msg = (
            f"The PostgreSQL server at {where} refused the login ({detail}). Check the user name "
            f"and password in FTLAB_DB; {KEPT}"
        )
    elif state == "3D000" or ("database" in text and "does not exist" in text):
        msg = (
            f"The database named in FTLAB_DB does not exist on the PostgreSQL server at {where}. "
            f"Create it (createdb NAME) or correct the name in FTLAB_DB; {KEPT}"
        )
    elif state in ("42501", "25006", "53100") or "permission denied" in text or "read-only" in text:
        msg = (
            f"The progress database at {where} cannot be written ({detail}). Give FTLAB_DB's user "
            f"the right to create and write tables there, or free disk space on the server; {KEPT}"
        )
    elif isinstance(exc, psycopg.OperationalError):
        msg = (
            f"The PostgreSQL server at {where} cannot be reached ({detail}). Check that it is "
            f"running and that FTLAB_DB names the right host and port, or unset FTLAB_DB to keep "
            f"progress in the local SQLite file; {KEPT}"
        )
    else:
        msg = f"The progress database at {where} failed: {detail}. Try again in a moment; {KEPT}"
    return ProgressError(msg)


class PgConnection:
    """A psycopg connection that takes the store's `?` SQL."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql: str, params=()):
        # PostgreSQL text cannot hold NUL characters (SQLite's can): a pasted one must not make an
        # answer unsavable, so it is stored as U+FFFD.
        params = tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params)
        return self._conn.execute(pg_sql(sql), params)


class PostgresBackend:
    """A PostgreSQL database shared by every app server that names it; a small pool of connections."""

    kind = "postgresql"

    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout
        self.where = redact(url)
        self._idle: list = []
        self._idle_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(PG_POOL_SIZE)

    def _check_url(self, psycopg) -> None:
        try:
            psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.ProgrammingError as exc:
            raise ProgressError(
                f"FTLAB_DB is not a valid PostgreSQL address ({redact(str(exc))}). Write it as "
                "postgresql://USER:PASSWORD@HOST:5432/DATABASE, or unset it to keep progress in the "
                f"local SQLite file; {KEPT}"
            ) from exc

    def _connect(self):
        psycopg = _driver()
        self._check_url(psycopg)
        # libpq's connect_timeout is whole seconds, at least 2.
        conn = psycopg.connect(
            self.url, autocommit=True, row_factory=_row_factory, connect_timeout=max(2, math.ceil(self.timeout))
        )
        # AVG() and integer arithmetic with 1.0 give NUMERIC, which psycopg reads as Decimal; SQLite
        # gives float. Read them as float, so class-wide figures are the same type on both.
        conn.adapters.register_loader("numeric", psycopg.types.numeric.FloatLoader)
        try:  # waits for a row or advisory lock end after `timeout`, as SQLite's busy timeout does
            conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _begin(self):
        """A connection inside BEGIN: a pooled one, or a new one if it was dropped while idle (a
        server restart), since BEGIN is the first thing sent, nothing is lost by trying again."""
        psycopg = _driver()
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            try:
                conn.execute("BEGIN")
                return conn
            except psycopg.OperationalError:
                conn.close()
        conn = self._connect()
        try:
            conn.execute("BEGIN")
        except BaseException:
            conn.close()
            raise
        return conn

    def _give_back(self, conn) -> None:
        if conn is not None:
            psycopg = _driver()
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                with self._idle_lock:
                    self._idle.append(conn)
            else:
                conn.close()
        self._slots.release()

    @contextmanager
    def transaction(self, write: bool, setup: bool = False) -> Iterator[PgConnection]:
        psycopg = _driver()
        if not self._slots.acquire(timeout=self.timeout):
            raise ProgressError(
                f"The progress database at {self.where} is busy: this server's {PG_POOL_SIZE} "
                f"connections were all in use for {self.timeout:g} s. Try again in a moment; {KEPT}"
            )
        conn = None
        try:
            conn = self._begin()
            if write or setup:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_WRITE_LOCK,))
            try:
                yield PgConnection(conn)
                conn.execute("COMMIT")
            except BaseException:
                with suppress(psycopg.Error):  # a dropped connection cannot roll back: it did already
                    conn.execute("ROLLBACK")
                raise
        except psycopg.Error as exc:
            raise explain_pg_error(self.where, exc, self.timeout) from exc
        finally:
            self._give_back(conn)

    def ddl(self, script: str) -> list[str]:
        return [out for s in script.split(";") if s.strip() for out in pg_ddl(s.strip())]

    def close(self) -> None:
        """Close the idle pooled connections (those in use close when they come back)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def integrity_ok(self, conn, tables) -> bool:
        """PostgreSQL checks its own pages; here: every table of the schema is there and reads."""
        for table in tables:
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return True


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
