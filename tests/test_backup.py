"""core.classroom.backup: a copy of the live SQLite progress database taken while a writer keeps
writing opens, passes PRAGMA integrity_check and holds every row committed before it started; a
restore puts a copy back under a store that is already open (as a running server's is)."""
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.classroom.progress import ProgressStore

ROOT = Path(__file__).resolve().parents[1]
# A second process writing one quiz answer per transaction through the real store, as fast as it can.
WRITER = """
import sys
from core.classroom.progress import ProgressStore
store = ProgressStore(sys.argv[1])
i = 0
while True:
    store.record_quiz_answer("ada", f"w{i}", "a written answer " * 10, i % 2 == 0)
    i += 1
"""


def cli(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.classroom.backup", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "FTLAB_DB": db})


def question_ids(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT question_id FROM quiz_answers")}


def integrity(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def live_db(tmp_path):
    """A progress database with 20,000 answers (a few MB) and a writer process adding more."""
    path = str(tmp_path / "progress.sqlite3")
    store = ProgressStore(path)
    store.record_quiz_answer("bob", "first", "x", True)  # creates the schema (WAL mode)
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO quiz_answers (learner, question_id, chosen_text, correct, ts) "
                         "VALUES (?,?,?,?,?)", [("bob", f"p{i}", "an answer " * 15, 1, 0.0) for i in range(20_000)])
    # one learner key writing nonstop: past the hourly cap on kept answers, which is not under test here
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path], cwd=ROOT,
                              env={**os.environ, "FTLAB_MAX_ANSWERS_PER_HOUR": str(10**9)})
    try:
        deadline = time.monotonic() + 60
        while not any(q.startswith("w") for q in question_ids(path)):
            assert writer.poll() is None and time.monotonic() < deadline, "the writer did not start writing"
            time.sleep(0.1)
        yield path, writer
    finally:
        writer.kill()
        writer.wait(timeout=10)


def test_a_backup_taken_while_writing_is_whole_and_holds_every_earlier_row(live_db, tmp_path):
    path, writer = live_db
    committed = question_ids(path)  # every row committed before the backup starts
    dest = tmp_path / "copy.sqlite3"
    done = cli("backup", str(dest), db=path)
    assert done.returncode == 0, done.stderr
    assert writer.poll() is None  # still writing all along
    assert "integrity ok" in done.stdout and str(dest) in done.stdout
    assert integrity(dest) == "ok"
    copied = question_ids(dest)
    assert committed <= copied
    assert len(question_ids(path)) > len(committed)  # the writer went on during the backup


def test_a_backup_into_a_folder_gets_a_dated_name(live_db, tmp_path):
    path, _ = live_db
    folder = tmp_path / "backups"
    folder.mkdir()
    done = cli("backup", str(folder), db=path)
    assert done.returncode == 0, done.stderr
    (copy,) = folder.iterdir()
    assert copy.name.startswith("progress-") and copy.suffix == ".sqlite3"
    assert integrity(copy) == "ok"


def test_restore_puts_the_copy_back_under_an_open_store(tmp_path):
    path = str(tmp_path / "progress.sqlite3")
    server = ProgressStore(path)  # stands for the running server, its connections kept open
    server.record_quiz_answer("ada", "before", "x", True)
    backup = tmp_path / "copy.sqlite3"
    assert cli("backup", str(backup), db=path).returncode == 0
    server.record_quiz_answer("ada", "after", "y", False)
    done = cli("restore", str(backup), db=path)
    assert done.returncode == 0, done.stderr
    assert [a["question_id"] for a in server.answer_history("ada")] == ["before"]
    assert integrity(path) == "ok"


def test_restore_refuses_a_file_that_is_not_a_sound_database_and_leaves_the_live_one(tmp_path):
    path = str(tmp_path / "progress.sqlite3")
    ProgressStore(path).record_quiz_answer("ada", "kept", "x", True)
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database " * 100)
    done = cli("restore", str(bad), db=path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "not a valid SQLite progress database" in done.stderr and "nothing was changed" in done.stderr
    assert question_ids(path) == {"kept"}


@pytest.mark.parametrize("args, db, message", [
    (["backup", "x.sqlite3"], "postgresql://ftlab@db/ftlab", "pg_dump"),
    (["backup", "x.sqlite3"], "no/such/progress.sqlite3", "no progress database at"),
    (["restore", "no-such-copy.sqlite3"], "progress.sqlite3", "no file at"),
])
def test_what_cannot_be_done_is_said_without_a_traceback(tmp_path, args, db, message):
    done = cli(*args, db=str(tmp_path / db) if "://" not in db else db)
    assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr


def test_the_copy_is_one_file_and_a_restored_database_stays_in_wal_mode(tmp_path):
    path = str(tmp_path / "live" / "progress.sqlite3")
    ProgressStore(path).record_quiz_answer("ada", "q", "x", True)
    copy = tmp_path / "copy.sqlite3"
    assert cli("backup", str(copy), db=path).returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["copy.sqlite3"]
    assert cli("restore", str(copy), db=path).returncode == 0
    with sqlite3.connect(path) as conn:  # the server's readers and writers keep not blocking each other
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
