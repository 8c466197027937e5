"""ProgressStore: persistence, concurrency, learner isolation and clear errors for broken databases.

Tests that take `store` or `progress_db` run twice: on a SQLite file and on a PostgreSQL database
(tests/conftest.py). Those about SQLite files as such (pragmas, a corrupt file, migrations of old
files) take `db_path`; PostgreSQL's own cases are in tests/test_progress_pg.py."""
import os
import sqlite3
import stat
import threading
import time
from types import SimpleNamespace as Item

import pytest

from core.classroom import identity as ident
from core.classroom.identity import IdentityError
from core.classroom.progress import SCHEMA_VERSION, ProgressError, ProgressStore, build_report
from core.classroom.progress_db import SQLiteBackend
from tests.helpers import record_marked


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "progress.sqlite3")


@pytest.fixture
def store(progress_db):
    store = ProgressStore(progress_db)
    yield store
    store.close()


def test_constructor_does_not_touch_the_file(db_path):
    ProgressStore(db_path)
    assert not os.path.exists(db_path)


def test_schema_version_and_pragmas(db_path):
    ProgressStore(db_path).mark_done("ada", "concept", "c1")
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_records_survive_a_restart(progress_db):
    first = ProgressStore(progress_db)
    first.record_quiz_answer("ada", "q1", "Option A", False)
    first.record_quiz_round("ada", 3, 5, "beginner")
    first.set_card_status("ada", "card-1", True)
    record_marked(first, "ada", "p1", 2, 4, "pretrained weights")
    first.mark_done("ada", "concept", "freezing")

    second = ProgressStore(progress_db)  # a server restart: new object, same file
    assert second.card_statuses("ada") == {"card-1": True}
    assert second.done_items("ada") == {("concept", "freezing")}
    rounds = second.quiz_history("ada")
    assert [(r["score"], r["total"], r["level"]) for r in rounds] == [(3, 5, "beginner")]
    answers = second.answer_history("ada")
    assert [(a["question_id"], a["chosen_text"], a["correct"]) for a in answers] == [("q1", "Option A", False)]
    explains = second.explain_history("ada")
    assert [(e["prompt_id"], e["found"], e["total"], e["answer"]) for e in explains] == [
        ("p1", 2, 4, "pretrained weights")]
    assert second.learners() == ["ada"]


def test_card_status_is_overwritten_not_duplicated(store):
    store.set_card_status("ada", "c1", True)
    store.set_card_status("ada", "c1", False)
    store.set_card_status("ada", "c2", True)
    assert store.card_statuses("ada") == {"c1": False, "c2": True}
    summary = store.summary("ada")
    assert (summary["cards_known"], summary["cards_not_yet"]) == (1, 1)


def test_mark_done_is_idempotent_and_filterable(store):
    store.mark_done("ada", "concept", "c1")
    store.mark_done("ada", "concept", "c1")
    store.mark_done("ada", "step", "s1")
    assert store.done_items("ada") == {("concept", "c1"), ("step", "s1")}
    assert store.done_items("ada", "step") == {("step", "s1")}
    assert store.summary("ada")["done"] == {"concept": 1, "step": 1, "myth": 0, "practice": 0, "pitfall": 0}
    store.unmark_done("ada", "step", "s1")
    assert store.done_items("ada", "step") == set()


def test_missed_questions_uses_the_latest_answer(store):
    store.record_quiz_answer("ada", "q1", "wrong", False)
    store.record_quiz_answer("ada", "q1", "right", True)   # fixed: no longer missed
    store.record_quiz_answer("ada", "q2", "right", True)
    store.record_quiz_answer("ada", "q2", "wrong", False)  # regressed: missed again
    store.record_quiz_answer("ada", "q3", "wrong", False)
    assert store.missed_questions("ada") == ["q2", "q3"]


def test_summary_counts(store):
    assert store.summary("ada")["has_history"] is False
    store.record_quiz_round("ada", 2, 4)
    store.record_quiz_round("ada", 4, 5)
    store.record_quiz_round("ada", 1, 5)
    store.record_quiz_answer("ada", "q1", "a", True)
    store.record_quiz_answer("ada", "q2", "b", False)
    record_marked(store, "ada", "p1", 1, 3, "x")
    record_marked(store, "ada", "p1", 3, 3, "y")
    summary = store.summary("ada")
    assert summary["quiz_rounds"] == 3
    assert summary["best_round"] == (4, 5)
    assert summary["last_round"] == (1, 5)
    assert (summary["quiz_answers"], summary["quiz_correct"]) == (2, 1)
    assert (summary["explain_attempts"], summary["explain_prompts"]) == (2, 1)
    assert summary["has_history"] is True
    assert store.explain_best("ada") == {"p1": (3, 3)}


def test_learners_are_isolated(store):
    store.record_quiz_answer("ada", "q1", "a", False)
    store.set_card_status("ada", "c1", True)
    store.mark_done("ada", "concept", "c1")
    store.record_quiz_round("ada", 1, 2)
    record_marked(store, "ada", "p1", 1, 2, "ada's answer")
    store.record_quiz_answer("bob", "q2", "b", False)

    assert store.missed_questions("bob") == ["q2"]
    assert store.card_statuses("bob") == {}
    assert store.done_items("bob") == set()
    assert store.quiz_history("bob") == []
    assert store.explain_history("bob") == []
    assert [a["question_id"] for a in store.answer_history("bob")] == ["q2"]
    assert store.summary("bob")["quiz_answers"] == 1
    assert store.missed_questions("ada") == ["q1"]
    assert store.learners() == ["ada", "bob"]


def test_class_wide_reads_give_the_same_python_types_on_both_backends(store):
    # The private _read is how class-wide views query the store: one SQL text for both backends.
    store.record_quiz_answer("ada", "q1", "a", True)
    store.record_quiz_answer("bob", "q1", "b", False)
    rows = store._read("SELECT question_id, COUNT(*) AS n, AVG(correct) AS rate, SUM(correct) AS ok, "
                       "MAX(ts) AS last FROM quiz_answers WHERE question_id = ? GROUP BY question_id", ("q1",))
    row = rows[0]
    assert dict(row) == {"question_id": "q1", "n": 2, "rate": 0.5, "ok": 1, "last": row["last"]}
    assert [type(v) for v in row] == [str, int, float, int, float] and row[1] == row["n"]

def test_empty_learner_name_is_rejected(store):
    with pytest.raises(ValueError):
        store.mark_done("  ", "concept", "c1")


def test_concurrent_writes_from_many_threads(progress_db):
    store = ProgressStore(progress_db)
    threads, errors = 8, []
    per_thread = 100

    def work(t):
        try:
            for i in range(per_thread):
                learner = f"learner{t}"
                if i % 4 == 0:
                    store.record_quiz_answer(learner, f"q{i}", "x", i % 8 == 0)
                elif i % 4 == 1:
                    store.set_card_status(learner, f"c{i}", True)
                elif i % 4 == 2:
                    store.mark_done(learner, "concept", f"k{i}")
                else:
                    record_marked(store, learner, f"p{i}", 1, 2, "answer")
        except Exception as exc:  # collected: an exception in a thread would otherwise be lost
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []

    fresh = ProgressStore(progress_db)
    for t in range(threads):
        learner = f"learner{t}"
        assert len(fresh.answer_history(learner)) == per_thread // 4
        assert len(fresh.card_statuses(learner)) == per_thread // 4
        assert len(fresh.done_items(learner)) == per_thread // 4
        assert len(fresh.explain_history(learner)) == per_thread // 4
    assert len(fresh.learners()) == threads
    if fresh.backend == "sqlite":
        conn = sqlite3.connect(progress_db)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
    assert fresh.integrity_ok()


def test_corrupt_file_raises_a_clear_error(db_path):
    with open(db_path, "wb") as f:
        f.write(b"this is not a database, just garbage bytes " * 200)
    store = ProgressStore(db_path)
    with pytest.raises(ProgressError) as info:
        store.card_statuses("ada")
    message = str(info.value)
    assert db_path in message
    assert "not a valid SQLite file" in message
    assert "FTLAB_DB" in message
    with pytest.raises(ProgressError):
        store.mark_done("ada", "concept", "c1")
    assert isinstance(info.value, RuntimeError)


def test_store_recovers_once_the_bad_file_is_moved_aside(db_path):
    with open(db_path, "wb") as f:
        f.write(b"garbage" * 500)
    store = ProgressStore(db_path)
    with pytest.raises(ProgressError):
        store.learners()
    os.replace(db_path, db_path + ".broken")
    store.mark_done("ada", "concept", "c1")  # no restart needed
    assert store.done_items("ada") == {("concept", "c1")}


def test_a_kept_connection_is_not_used_once_the_file_is_replaced(tmp_path):
    # SQLiteBackend keeps a few connections open between transactions. One still open on a replaced
    # file reads the old, unlinked file: the check is on the file's identity (device, inode).
    path = str(tmp_path / "progress.sqlite3")
    db = SQLiteBackend(path, timeout=5.0)
    with db.transaction(write=True) as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES ('old')")
    other = sqlite3.connect(tmp_path / "other.sqlite3")
    other.execute("CREATE TABLE t (v TEXT)")
    other.execute("INSERT INTO t VALUES ('new')")
    other.commit()
    other.close()
    os.replace(tmp_path / "other.sqlite3", path)
    with db.transaction(write=False) as conn:
        assert [r[0] for r in conn.execute("SELECT v FROM t")] == ["new"]
        first = conn
    with db.transaction(write=False) as conn:  # while the file stays, a kept connection is reused
        assert conn is first
    db.close()


def test_locked_database_raises_a_clear_error(db_path):
    store = ProgressStore(db_path, timeout=0.2)
    store.mark_done("ada", "concept", "c1")  # create the schema first
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProgressError) as info:
            store.mark_done("ada", "concept", "c2")
        assert "locked" in str(info.value)
        assert db_path in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.mark_done("ada", "concept", "c2")  # works again once the lock is released
    assert store.done_items("ada") == {("concept", "c1"), ("concept", "c2")}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_folder_raises_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(ProgressError) as info:
            ProgressStore(str(folder / "p.sqlite3")).mark_done("ada", "concept", "c1")
        assert "FTLAB_DB" in str(info.value)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_newer_schema_is_refused(db_path):
    ProgressStore(db_path).mark_done("ada", "concept", "c1")
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(ProgressError, match="newer version"):
        ProgressStore(db_path).learners()


def test_build_report_joins_records_with_lessons(store):
    lessons = Item(
        concepts=[Item(id="c1", title="Concept one"), Item(id="c2", title="Concept two")],
        cards=[Item(id="k1", front="Card one"), Item(id="k2", front="Card two"), Item(id="k3", front="Card 3")],
        questions=[Item(id="q1", prompt="Question one"), Item(id="q2", prompt="Question two")],
        prompts=[Item(id="p1", prompt="Explain one")],
        steps=[Item(id="s1", title="Step")], myths=[], pitfalls=[], problems=[],
    )
    store.mark_done("ada", "concept", "c2")
    store.mark_done("ada", "concept", "gone")  # not in the lessons any more: ignored
    store.set_card_status("ada", "k1", True)
    store.set_card_status("ada", "k2", False)
    store.record_quiz_answer("ada", "q1", "a", False)
    record_marked(store, "ada", "p1", 2, 3, "text")
    store.record_quiz_round("ada", 1, 2)
    report = build_report(store, "ada", lessons)
    concept_row = next(r for r in report.done if r.kind == "concept")
    assert (concept_row.done, concept_row.total) == (1, 2)
    assert (report.cards_known, report.cards_total) == (1, 3)
    assert report.review_cards == (("k2", "Card two"),)
    assert report.review_questions == (("q1", "Question one"),)
    assert report.review_concepts == (("c1", "Concept one"),)
    assert report.explain_best == (("p1", "Explain one", 2, 3),)
    assert len(report.quiz_history) == 1
    assert report.has_history


def test_path_under_a_file_raises_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ProgressError) as info:
        ProgressStore(str(blocker / "p.sqlite3")).learners()
    assert "cannot be opened" in str(info.value)
    assert "FTLAB_DB" in str(info.value)


# ---- identities: a nickname belongs to one browser -----------------------------------------------

V1_SCHEMA_WITH_DATA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE done_items (learner TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (learner, kind, item_id));
INSERT INTO done_items VALUES ('Ada', 'concept', 'c1', 1.0);
INSERT INTO done_items VALUES ('guest', 'concept', 'c2', 1.0);
"""


def test_a_version_1_database_is_migrated_and_keeps_its_rows(db_path):
    conn = sqlite3.connect(db_path)
    conn.executescript(V1_SCHEMA_WITH_DATA)
    conn.close()
    store = ProgressStore(db_path)
    browser = ident.new_browser_id()
    store.claim_name(browser, "ada")  # the first browser to claim an unowned old name gets its rows
    assert store.done_items("ada") == {("concept", "c1")}
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
    with pytest.raises(IdentityError, match="reserved"):
        store.claim_name(ident.new_browser_id(), "Guest")  # the old shared pool goes to no one


def test_an_unnamed_browser_keeps_its_own_progress(store):
    one, two = ident.new_browser_id(), ident.new_browser_id()
    store.mark_done(store.learner_key(one), "concept", "c1")
    assert store.learner_key(one) == store.learner_key(one) != store.learner_key(two)
    assert store.done_items(store.learner_key(two)) == set()
    assert one not in store.learner_key(one)  # the key reveals nothing that would let anyone act as it


def test_claim_binds_the_name_and_moves_anonymous_progress(store, progress_db):
    browser = ident.new_browser_id()
    store.mark_done(store.learner_key(browser), "concept", "c1")
    code = store.claim_name(browser, "  ada ")
    assert store.name_of(browser) == "ada" == store.learner_key(browser)
    assert store.done_items("ada") == {("concept", "c1")}
    assert store.learners() == ["ada"]  # nothing left under the anonymous key
    if store.backend == "sqlite":
        raw = b"".join(open(f, "rb").read() for f in (progress_db, progress_db + "-wal") if os.path.exists(f))
    else:  # every stored value of the identities table, as text and bytes
        raw = repr([tuple(r) for r in store._read("SELECT * FROM identities", ())]).encode()
    assert b"ada" in raw  # the stored data was really read
    assert browser.encode() not in raw and ident.normalize_code(code).encode() not in raw  # hashed only


def test_someone_elses_name_is_refused_whatever_its_case(store):
    owner, other = ident.new_browser_id(), ident.new_browser_id()
    store.claim_name(owner, "ada")
    store.mark_done(store.learner_key(other), "concept", "mine")
    for attempt in ("ada", "ADA", " Ada"):
        with pytest.raises(IdentityError, match="taken by another browser"):
            store.claim_name(other, attempt)
    assert store.name_of(other) is None
    assert store.done_items("ada") == set()  # the refused browser's answers did not leak into ada's
    assert store.done_items(store.learner_key(other)) == {("concept", "mine")}


def test_a_rename_moves_the_progress_and_frees_the_old_name(store):
    browser = ident.new_browser_id()
    store.claim_name(browser, "adda")
    store.set_card_status("adda", "k1", True)
    store.claim_name(browser, "ada")
    assert store.name_of(browser) == "ada" and store.card_statuses("ada") == {"k1": True}
    assert store.card_statuses("adda") == {}
    store.claim_name(ident.new_browser_id(), "adda")  # free again



def test_claiming_your_own_name_again_keeps_your_progress(store):
    browser = ident.new_browser_id()
    store.claim_name(browser, "ada")
    store.mark_done("ada", "concept", "c1")
    store.set_card_status("ada", "k1", True)
    store.record_lab_run("ada", _run(1))
    store.claim_name(browser, "ada")  # the same name, the same spelling: nothing moves, nothing is lost
    assert store.done_items("ada") == {("concept", "c1")}
    assert store.card_statuses("ada") == {"k1": True}
    assert [r["id"] for r in store.lab_runs("ada")] == ["job-abc-1"]


def test_old_spellings_of_a_claimed_name_merge_into_it_newest_mark_first(store, monkeypatch):
    clock = iter(range(1, 100))
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))
    store.set_card_status("Ada", "k1", True)    # from before nicknames had owners: two spellings
    store.set_card_status("ADA", "k1", False)   # the newer mark of the same card
    store.mark_done("Ada", "concept", "c1")
    store.mark_done("ADA", "concept", "c1")
    store.mark_done("ADA", "concept", "c2")
    store.record_quiz_answer("Ada", "q1", "a", False)
    store.record_quiz_answer("bob", "q1", "b", True)
    store.claim_name(ident.new_browser_id(), "ada")
    assert store.card_statuses("ada") == {"k1": False}
    assert store.done_items("ada") == {("concept", "c1"), ("concept", "c2")}
    assert [a["chosen_text"] for a in store.answer_history("ada")] == ["a"]
    assert store.learners() == ["ada", "bob"]


def test_recovery_code_moves_the_name_once(store):
    laptop, phone, third = ident.new_browser_id(), ident.new_browser_id(), ident.new_browser_id()
    code = store.claim_name(laptop, "ada")
    store.mark_done("ada", "concept", "c1")
    store.mark_done(store.learner_key(phone), "concept", "c2")  # done on the phone before moving
    next_code = store.recover(phone, "ada", code.lower().replace("-", " "))  # typed loosely
    assert store.name_of(phone) == "ada" and store.name_of(laptop) is None
    assert store.done_items("ada") == {("concept", "c1"), ("concept", "c2")}
    assert store.done_items(store.learner_key(laptop)) == set()  # the old device sees nothing of ada's
    with pytest.raises(IdentityError, match="does not match"):
        store.recover(third, "ada", code)  # one-time: the used code is dead
    assert next_code != code
    store.recover(laptop, "ada", next_code)  # and the new one works
    assert store.name_of(laptop) == "ada"


def test_a_new_code_replaces_the_old_one(store):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    first = store.claim_name(laptop, "ada")
    second = store.new_recovery_code(laptop)
    with pytest.raises(IdentityError):
        store.recover(phone, "ada", first)
    store.recover(phone, "ada", second)
    with pytest.raises(IdentityError, match="no nickname"):
        store.new_recovery_code(laptop)


def test_wrong_codes_lock_the_trying_browser_not_the_name(store, monkeypatch):
    """Five wrong codes lock recovery for the browser that typed them; the owner's new device,
    with the right code, still moves the name at once."""
    owner, thief, new_phone = ident.new_browser_id(), ident.new_browser_id(), ident.new_browser_id()
    code = store.claim_name(owner, "ada")
    for left in range(ident.MAX_WRONG_CODES - 1, 0, -1):
        with pytest.raises(IdentityError, match=f"{left} tries left"):
            store.recover(thief, "ada", "AAAA-AAAA-AAAA")
    with pytest.raises(IdentityError, match="Too many wrong codes"):
        store.recover(thief, "ada", "AAAA-AAAA-AAAA")
    with pytest.raises(IdentityError, match="Too many wrong codes"):
        store.recover(thief, "ada", code)  # even the right code waits out the lock, from this browser
    with pytest.raises(IdentityError, match="Too many wrong codes"):
        store.recover(thief, "bob", "AAAA-AAAA-AAAA")  # and for every other name
    next_code = store.recover(new_phone, "ada", code)  # the owner is not locked out
    assert store.name_of(new_phone) == "ada"
    later = time.time() + ident.LOCK_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the lock has run out
    store.recover(thief, "ada", next_code)
    assert store.name_of(thief) == "ada"


def test_recovery_refusals_say_what_to_do(store):
    browser, other = ident.new_browser_id(), ident.new_browser_id()
    with pytest.raises(IdentityError, match="No one uses"):
        store.recover(browser, "nobody", "AAAA-AAAA-AAAA")
    store.claim_name(browser, "ada")
    store.claim_name(other, "bob")
    with pytest.raises(IdentityError, match="already uses “bob”"):
        store.recover(other, "ada", "AAAA-AAAA-AAAA")
    with pytest.raises(IdentityError, match="Use up to"):
        store.claim_name(browser, "<script>")


def test_two_browsers_claiming_one_name_at_once_get_one_owner(progress_db):
    browsers = [ident.new_browser_id() for _ in range(6)]
    won, refused = [], []
    start = threading.Barrier(len(browsers))

    def claim(bid):
        store = ProgressStore(progress_db)  # each server thread has its own connection
        start.wait()
        try:
            store.claim_name(bid, "ada")
            won.append(bid)
        except IdentityError:
            refused.append(bid)

    threads = [threading.Thread(target=claim, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == len(browsers) - 1
    assert ProgressStore(progress_db).name_of(won[0]) == "ada"


# ---- the Lab's run history (issue 10: a reload lost it) ----------------------------------------------

def _run(i: int, acc: float = 0.5) -> dict:
    curve = [{"epoch": 1, "val_acc": acc, "train_acc": acc, "val_loss": float("nan"), "train_loss": 1.0}]
    return {"id": f"job-abc-{i}", "label": f"run {i}", "lr": 1e-3, "pretrained": True, "curve": curve}


def test_lab_history_survives_a_new_store_and_stays_with_its_learner(progress_db):
    mine, other = ident.anonymous_key(ident.new_browser_id()), ident.anonymous_key(ident.new_browser_id())
    first = ProgressStore(progress_db)
    first.record_lab_run(mine, _run(1, 0.8))
    first.record_lab_run(mine, _run(2))
    first.record_lab_run(mine, _run(1, 0.1))  # the same run seen ending by a second tab: kept once
    again = ProgressStore(progress_db)  # a reload on a restarted server: a new store object, the same file
    rows = again.lab_runs(mine)
    assert [r["id"] for r in rows] == ["job-abc-1", "job-abc-2"]
    assert rows[0]["curve"][0]["val_acc"] == 0.8 and rows[0]["pretrained"] is True
    assert rows[0]["curve"][0]["val_loss"] != rows[0]["curve"][0]["val_loss"]  # NaN comes back as NaN
    assert again.lab_runs(other) == []  # another browser sees none of it
    again.clear_lab_runs(mine)
    assert again.lab_runs(mine) == []


def test_lab_history_keeps_the_newest_runs_of_a_learner_only(store, monkeypatch):
    import core.classroom.progress as progress

    monkeypatch.setattr(progress, "MAX_LAB_RUNS", 3)
    store.record_lab_run("other", _run(0))
    for i in range(1, 6):
        store.record_lab_run("ada", _run(i))
    assert [r["id"] for r in store.lab_runs("ada")] == ["job-abc-3", "job-abc-4", "job-abc-5"]
    assert len(store.lab_runs("other")) == 1


def test_lab_history_follows_a_nickname(store):
    browser = ident.new_browser_id()
    store.record_lab_run(store.learner_key(browser), _run(1))
    store.claim_name(browser, "ada")
    assert [r["id"] for r in store.lab_runs("ada")] == ["job-abc-1"]
    assert store.lab_runs(ident.anonymous_key(browser)) == []


V2_SCHEMA = V1_SCHEMA_WITH_DATA.replace("INSERT INTO schema_version VALUES (1);", "INSERT INTO schema_version VALUES (2);")


def test_a_version_2_database_gets_the_lab_history_table_and_keeps_its_rows(db_path):
    from core.classroom.progress import _MIGRATIONS

    conn = sqlite3.connect(db_path)
    conn.executescript(V2_SCHEMA + _MIGRATIONS[2])  # the schema this app had before the Lab history
    conn.close()
    store = ProgressStore(db_path)
    store.record_lab_run("ada", _run(1))
    assert [r["id"] for r in store.lab_runs("ada")] == ["job-abc-1"]
    assert store.done_items("Ada") == {("concept", "c1")}  # old rows untouched
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
