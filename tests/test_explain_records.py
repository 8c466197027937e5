"""The store's "Explain it" records on SQLite and PostgreSQL (the `store` fixture runs both): an
attempt, its mark from probes and self-check, the teacher's review that the learner reads back,
and the migration of a database from before the probes."""
import sqlite3

import pytest

from core.classroom.progress import _MIGRATIONS, _SCHEMA, SCHEMA_VERSION, ProgressStore


@pytest.fixture
def store(progress_db):
    store = ProgressStore(progress_db)
    yield store
    store.close()


def test_an_attempt_is_stored_unmarked_then_marked_by_probes_and_self_check(store):
    attempt = store.start_explain("ada", "p1", "Freezing keeps the weights.", probes_total=3, checklist_total=4)
    assert store.explain_best("ada") == {}  # not marked yet: no best mark
    store.mark_explain("ada", attempt, probes_right=2, self_checked=3)
    assert store.explain_best("ada") == {"p1": (5, 7)}
    row = store.class_explain_answers("p1")[0]
    assert (row["id"], row["learner"], row["answer"], row["marked"]) == (attempt, "ada", "Freezing keeps the weights.", True)
    assert (row["probes_right"], row["probes_total"], row["self_checked"]) == (2, 3, 3)


def test_a_learner_cannot_mark_someone_elses_attempt(store):
    attempt = store.start_explain("ada", "p1", "text", 3, 4)
    store.mark_explain("bob", attempt, 3, 4)
    assert store.explain_best("ada") == {} and store.explain_best("bob") == {}


def test_the_teachers_review_reaches_the_learner_and_a_second_one_replaces_it(store):
    attempt = store.start_explain("ada", "p1", "my answer", 3, 4)
    store.start_explain("bob", "p1", "his answer", 3, 4)
    assert store.explain_feedback("ada") == []
    store.review_explain(attempt, "partly", "Say which layers stay frozen.")
    store.review_explain(attempt, "good", "Better: you named the early layers.")
    feedback = store.explain_feedback("ada")
    assert [(f["prompt_id"], f["answer"], f["review_mark"], f["review_comment"]) for f in feedback] == [
        ("p1", "my answer", "good", "Better: you named the early layers.")]
    assert store.explain_feedback("bob") == []  # a review is seen by its learner only
    with pytest.raises(ValueError, match="unknown mark"):
        store.review_explain(attempt, "excellent", "")


def test_class_reads_tell_old_keyword_scores_from_new_marks(store):
    # A row as the app wrote it before the probes: no method given, so the column's default.
    store._write("INSERT INTO explain_attempts (learner, prompt_id, found, total, answer, ts) VALUES (?,?,?,?,?,?)",
                 ("ada", "p1", 4, 4, "old keyword-scored answer", 1.0))
    attempt = store.start_explain("ada", "p1", "new answer", 3, 4)
    store.mark_explain("ada", attempt, 1, 2)
    rows = store.class_explain_attempts()
    assert [(r["method"], r["marked"], r["found"], r["total"]) for r in rows] == [
        ("keyword", False, 4, 4), ("probes", True, 3, 7)]
    assert store.explain_best("ada") == {"p1": (3, 7)}  # the old 4 of 4 is no mark


def test_reviews_follow_a_nickname(store):
    from core.classroom import identity as ident
    browser = ident.new_browser_id()
    anonymous = store.learner_key(browser)
    attempt = store.start_explain(anonymous, "p1", "answer", 3, 4)
    store.review_explain(attempt, "good", "Well put.")
    store.claim_name(browser, "ada")
    assert [f["review_comment"] for f in store.explain_feedback("ada")] == ["Well put."]


# The schema this app had before the probes: the baseline and steps 2 and 3.
V3_SCHEMA = _SCHEMA + _MIGRATIONS[2] + _MIGRATIONS[3] + "INSERT INTO schema_version VALUES (3);"


def test_a_version_3_database_gets_marks_and_reviews_and_keeps_its_scores(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    conn = sqlite3.connect(path)
    conn.executescript(V3_SCHEMA)
    conn.execute("INSERT INTO explain_attempts (learner, prompt_id, found, total, answer, ts) "
                 "VALUES ('ada', 'p1', 3, 4, 'before probes', 1.0)")
    conn.commit()
    conn.close()
    store = ProgressStore(path)
    old = store.class_explain_attempts()
    assert [(r["method"], r["found"], r["total"], r["marked"]) for r in old] == [("keyword", 3, 4, False)]
    attempt = store.start_explain("ada", "p1", "after", 3, 4)
    store.review_explain(attempt, "good", "ok")
    assert store.integrity_ok()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
