"""The progress store on PostgreSQL: what only a server database has (several app servers on one
database, a pool, a server that drops connections) and what a teacher sees when FTLAB_DB is wrong.

Everything both backends share is tested on both in tests/test_progress.py."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.classroom import identity as ident
from core.classroom.progress import ProgressError, ProgressStore
from core.classroom.progress_pg import PG_POOL_SIZE, PG_WRITE_LOCK, pg_sql
from tests.helpers import record_marked

ROOT = Path(__file__).resolve().parents[1]

# Server B: another process, building its store from FTLAB_DB as an app server does.
SERVER_B = """
import json, os, sys
from core.classroom.identity import IdentityError
from core.classroom.progress import ProgressStore

store = ProgressStore(os.environ["FTLAB_DB"])
laptop, phone, code = sys.argv[1:4]
seen = {"done": sorted(map(list, store.done_items("ada"))), "owner_is_laptop": store.name_of(laptop) == "ada"}
store.record_quiz_answer("ada", "q1", "answered on server B", True)
try:
    store.claim_name(phone, "ADA")
    seen["claim"] = "granted"
except IdentityError as exc:
    seen["claim"] = str(exc)
seen["next_code"] = store.recover(phone, "ada", code)
print(json.dumps(seen))
"""


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.create_database()


def test_two_app_servers_on_one_database_see_each_others_writes(pg_url):
    server_a = ProgressStore(pg_url)
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    code = server_a.claim_name(laptop, "ada")
    server_a.mark_done("ada", "concept", "c1")
    env = dict(os.environ, FTLAB_DB=pg_url, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SERVER_B, laptop, phone, code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["done"] == [["concept", "c1"]] and seen["owner_is_laptop"]  # B reads what A wrote
    assert "taken by another browser" in seen["claim"]  # one owner per name across servers
    # ...and A reads what B wrote: the answer, and the name moved to the phone by its recovery code.
    assert [a["chosen_text"] for a in server_a.answer_history("ada")] == ["answered on server B"]
    assert server_a.name_of(phone) == "ada" and server_a.name_of(laptop) is None
    server_a.recover(laptop, "ada", seen["next_code"])  # the code B handed out works on A
    assert server_a.name_of(laptop) == "ada"
    server_a.close()


def test_times_keep_their_seconds(pg_url):
    # REAL on PostgreSQL is 4 bytes: time.time() would come back rounded to about two minutes.
    store = ProgressStore(pg_url)
    before = time.time()
    store.record_quiz_round("ada", 1, 2)
    assert abs(store.quiz_history("ada")[0]["ts"] - before) < 5
    store.close()


def test_a_nul_character_in_an_answer_does_not_make_it_unsavable(pg_url):
    store = ProgressStore(pg_url)
    record_marked(store, "ada", "p1", 1, 2, "frozen\x00layers")
    assert store.explain_history("ada")[0]["answer"] == "frozen\ufffdlayers"
    store.close()


def test_the_pool_is_bounded_and_reused(pg_server, pg_url):
    store = ProgressStore(pg_url)
    store.mark_done("ada", "concept", "c1")
    start = threading.Barrier(3 * PG_POOL_SIZE)
    errors = []

    def read():
        start.wait()
        try:
            for _ in range(5):
                store.summary("ada")
        except Exception as exc:  # collected: an exception in a thread would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(3 * PG_POOL_SIZE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg_server.admin() as admin:
        open_now = admin.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'ftlab_tests' "
                                 "AND pid <> pg_backend_pid()").fetchone()[0]
    assert 1 <= open_now <= PG_POOL_SIZE
    store.close()


def test_connections_the_server_dropped_are_replaced_without_an_error(pg_server, pg_url):
    store = ProgressStore(pg_url)
    store.mark_done("ada", "concept", "c1")
    with pg_server.admin() as admin:  # as a server restart or an idle timeout would
        ended = admin.execute("SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = 'ftlab_tests' AND pid <> pg_backend_pid()) t").fetchone()[0]
    assert ended >= 1
    store.mark_done("ada", "concept", "c2")
    assert store.done_items("ada") == {("concept", "c1"), ("concept", "c2")}
    store.close()


def test_a_held_write_lock_says_locked_and_then_works(pg_server, pg_url):
    import psycopg

    store = ProgressStore(pg_url, timeout=0.3)
    store.mark_done("ada", "concept", "c1")
    with psycopg.connect(pg_url) as holder:  # another server in the middle of a write
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (PG_WRITE_LOCK,))
        with pytest.raises(ProgressError, match="is locked by another program") as info:
            store.mark_done("ada", "concept", "c2")
        assert "waited 0.3 s" in str(info.value)
        assert store.done_items("ada") == {("concept", "c1")}  # reads go on meanwhile
    store.mark_done("ada", "concept", "c2")  # released: writes work again
    assert store.done_items("ada") == {("concept", "c1"), ("concept", "c2")}
    store.close()


def test_a_newer_schema_is_refused(pg_url):
    import psycopg

    ProgressStore(pg_url).mark_done("ada", "concept", "c1")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ProgressError, match="newer version"):
        ProgressStore(pg_url).learners()


# ---- what a teacher reads when FTLAB_DB is wrong -----------------------------------------------------

def test_an_unreachable_server_says_what_to_do_and_hides_the_password():
    store = ProgressStore("postgresql://teacher:hunter2@127.0.0.1:1/class")  # constructing never fails
    with pytest.raises(ProgressError) as info:
        store.record_quiz_answer("ada", "q1", "a", True)
    message = str(info.value)
    assert "cannot be reached" in message and "FTLAB_DB" in message and "127.0.0.1" in message
    assert "hunter2" not in message and "teacher:***@127.0.0.1:1/class" in message


def test_a_wrong_password_and_a_missing_database_say_what_to_do(pg_server):
    with pytest.raises(ProgressError, match="refused the login") as info:
        ProgressStore(pg_server.url(password="not-the-password")).learners()
    assert "not-the-password" not in str(info.value) and "user name and password in FTLAB_DB" in str(info.value)
    with pytest.raises(ProgressError, match="does not exist") as info:
        ProgressStore(pg_server.url("no_such_class")).learners()
    assert "createdb" in str(info.value)


@pytest.mark.parametrize("url, expected", [
    ("postgresql://ada:pw@host/db?nonsense_option=1", "not a valid PostgreSQL address"),
    ("mysql://ada:pw@host/db", "only in PostgreSQL"),
])
def test_a_bad_address_says_how_to_write_one(url, expected):
    with pytest.raises(ProgressError, match=expected) as info:
        ProgressStore(url).mark_done("ada", "concept", "c1")
    assert "postgresql://USER:PASSWORD@HOST:5432/DATABASE" in str(info.value)
    assert ":pw@" not in str(info.value)


def test_without_psycopg_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(ProgressError, match=r"pip install -r requirements-postgres\.txt"):
        ProgressStore("postgresql://ada@127.0.0.1/class").learners()


def test_question_marks_become_placeholders_only_outside_quotes():
    assert pg_sql("SELECT a FROM t WHERE b = ? AND c LIKE 'x%?' AND d % 2 = ?") == \
        "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%?' AND d %% 2 = %s"
