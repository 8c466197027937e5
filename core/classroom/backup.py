"""Back up the live SQLite progress database, and restore a backup, while the server runs.

Why SQLite's online backup API and not `cp`: the server keeps writing (WAL mode), and a file copied
byte by byte can catch a page half-written, or miss answers that are committed but still only in the
`-wal` file beside it. The backup API copies one consistent snapshot through SQLite's own locking.
Restore goes through it too, into the live file: a file copied over a database whose `-wal` is still
there would be corrupted by it, and the running server's open connections see the restored data.

    python -m core.classroom.backup backup DEST    (`./ftlab backup DEST`; DEST a file or a folder)
    python -m core.classroom.backup restore SRC    (`./ftlab restore SRC`)

Both act on FTLAB_DB (default: data/progress.sqlite3). A PostgreSQL database is backed up with its
own tools (pg_dump).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

from core import settings


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _integrity(path: Path | str) -> str:
    """PRAGMA integrity_check's verdict ("ok" or the first problem), or the error opening the file."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        return str(exc)


def _row_count(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return sum(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)


def _live_path(db: str) -> Path:
    if "://" in db:
        raise BackupError(
            f"FTLAB_DB is a server database ({db.split('://')[0]}://...), not a SQLite file: "
            "back it up with its own tools, e.g. `pg_dump -Fc -f ftlab.dump DATABASE-URL` "
            "and `pg_restore --clean -d DATABASE-URL ftlab.dump`."
        )
    return Path(db)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # pages=-1: the whole database in one step, one snapshot. Step by step, each write by the server
    # would restart the copy, which then might never finish while a class is answering.
    source.backup(target, pages=-1)


def backup(dest: Path, db: str | None = None) -> str:
    """Copy the live database to `dest` (a folder gets progress-YYYYMMDD-HHMMSS.sqlite3); a report."""
    live = _live_path(db or settings.current().db)
    if not live.is_file():
        raise BackupError(f"There is no progress database at {live} (FTLAB_DB): nothing to back up.")
    if dest.is_dir():
        dest = dest / time.strftime("progress-%Y%m%d-%H%M%S.sqlite3")
    partial = dest.with_name(dest.name + ".partial")  # a crash mid-copy never leaves a half file at DEST
    t0 = time.perf_counter()
    with closing(sqlite3.connect(live, timeout=30)) as source, closing(sqlite3.connect(partial)) as target:
        _copy(source, target)
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    verdict = _integrity(partial)
    if verdict != "ok":
        partial.unlink()
        raise BackupError(
            f"The copy of {live} failed its integrity check ({verdict}); nothing was written "
            f"to {dest}. Run the live database's check: sqlite3 {live} 'PRAGMA integrity_check'."
        )
    os.replace(partial, dest)
    return (
        f"Backed up {live} to {dest}: {_row_count(dest):,} rows, {dest.stat().st_size / 1e6:.1f} MB, "
        f"in {time.perf_counter() - t0:.2f} s; integrity ok."
    )


def restore(src: Path, db: str | None = None) -> str:
    """Replace the live database's content by the backup `src` (checked first); a report."""
    live = _live_path(db or settings.current().db)
    if not src.is_file():
        raise BackupError(f"There is no file at {src}: give the path of a backup (`./ftlab backup` wrote it).")
    verdict = _integrity(src)
    if verdict == "ok" and not _has_progress_tables(src):
        verdict = "a SQLite file, but without the progress tables"
    if verdict != "ok":
        raise BackupError(f"{src} is not a valid SQLite progress database ({verdict}); nothing was changed in {live}.")
    live.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(live, timeout=30)) as target,
    ):
        _copy(source, target)
    return (
        f"Restored {live} from {src}: {_row_count(live):,} rows; integrity {_integrity(live)}. "
        "A running server's next read sees it."
    )


def _has_progress_tables(path: Path) -> bool:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"schema_version", "quiz_answers"} <= names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.classroom.backup", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", help="copy the live database (FTLAB_DB) to DEST").add_argument("dest", type=Path)
    sub.add_parser("restore", help="put the backup SRC back as the live database").add_argument("src", type=Path)
    args = parser.parse_args(argv)
    try:
        report = backup(args.dest) if args.command == "backup" else restore(args.src)
    except BackupError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    except (sqlite3.Error, OSError) as exc:
        print(f"{args.command} failed: {exc}. Check the paths and that their folders are writable.", file=sys.stderr)
        return 1
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
