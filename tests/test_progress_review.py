"""The progress store's review schedule and nickname-move records (schema 7), on SQLite and PostgreSQL
(the `progress_db` fixture runs each test on both)."""
import json
import time
from datetime import UTC, datetime

import pytest

from core.classroom import identity as ident
from core.classroom.progress import SCHEMA_VERSION, ProgressStore
from core.classroom.review import CARD, QUESTION

DAY = 86_400.0
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def store(progress_db):
    store = ProgressStore(progress_db)
    yield store
    store.close()


@pytest.fixture
def clock(monkeypatch):
    """time.time() as a settable value, starting at noon UTC on 7 Dec 2026."""
    now = {"t": START}
    monkeypatch.setattr(time, "time", lambda: now["t"])
    return now


def test_a_card_marked_not_yet_is_due_tomorrow_and_known_later(store, clock):
    store.record_review("ada", CARD, "k1", False)
    store.record_review("ada", CARD, "k2", True)
    assert [(i.item_id, i.due - START) for i in store.review_items("ada")] == [("k1", DAY), ("k2", 2 * DAY)]
    assert store.due_summary("ada").total == 0
    clock["t"] = START + DAY  # the next day, same hour: k1 is due
    due = store.due_summary("ada")
    assert due.cards == ("k1",) and due.questions == ()
    store.record_review("ada", CARD, "k1", True)  # reviewed: it leaves today's list
    assert store.due_summary("ada").total == 0
    card = json.loads(store.review_card_json("ada", CARD, "k1"))
    assert card["last_review"].startswith("2026-12-08T12:00")  # the FSRS card itself is kept


def test_a_question_enters_the_schedule_only_when_missed(store, clock):
    store.record_review("ada", QUESTION, "q-right", True)
    store.record_review("ada", QUESTION, "q-wrong", False)
    assert [i.item_id for i in store.review_items("ada")] == ["q-wrong"]
    clock["t"] = START + DAY
    assert store.due_summary("ada").questions == ("q-wrong",)
    store.record_review("ada", QUESTION, "q-wrong", True)  # right later: a review
    assert store.review_items("ada")[0].due > START + 2 * DAY


def test_the_schedule_is_per_learner(store, clock):
    store.record_review("ada", CARD, "k1", False)
    assert store.review_items("bob") == []
    with pytest.raises(ValueError):
        store.record_review("", CARD, "k1", False)
    with pytest.raises(ValueError):
        store.record_review("ada", "concept", "c1", False)


def test_the_schedule_goes_with_a_nickname_and_its_recovery_code(store, clock):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    store.record_review(store.learner_key(laptop), CARD, "k1", False)
    code = store.claim_name(laptop, "ada")
    assert [i.item_id for i in store.review_items("ada")] == ["k1"]
    assert store.review_items(ident.anonymous_key(laptop)) == []
    clock["t"] += 60
    store.record_review(store.learner_key(phone), CARD, "k1", True)  # the phone's own mark, newer
    store.record_review(store.learner_key(phone), CARD, "k2", True)
    store.recover(phone, "ada", code)
    items = {i.item_id: i.due for i in store.review_items("ada")}
    assert set(items) == {"k1", "k2"} and items["k1"] == pytest.approx(START + 60 + 2 * DAY)  # the moved mark
    assert store.review_items(store.learner_key(laptop)) == []


def test_old_spellings_merge_their_schedules_newest_first(store, clock):
    store.record_review("Ada", CARD, "k1", True)
    clock["t"] += 60
    store.record_review("ADA", CARD, "k1", False)
    store.claim_name(ident.new_browser_id(), "ada")
    assert [(i.item_id, i.due) for i in store.review_items("ada")] == [("k1", START + 60 + DAY)]


def test_class_activity_counts_reviews(store, clock):
    store.record_review("ada", CARD, "k1", True)
    assert store.class_activity() == {"ada": (START, START)}


# ---- where a nickname went ----------------------------------------------------------------------------


def test_the_browser_a_name_left_keeps_where_it_went_until_it_takes_a_name(store, clock):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    code = store.claim_name(laptop, "ada")
    assert store.name_moved_from(laptop) is None
    clock["t"] += 3600
    next_code = store.recover(phone, "ada", code)
    moved = store.name_moved_from(laptop)
    assert (moved.name, moved.ts) == ("ada", START + 3600)
    assert store.name_moved_from(phone) is None  # the browser that received it has nothing to be told
    store.recover(laptop, "ada", next_code)  # moved back: the laptop holds it again, the phone lost it
    assert store.name_moved_from(laptop) is None
    assert store.name_moved_from(phone).name == "ada"
    store.claim_name(phone, "bo")  # a new name on the phone: the note is moot
    assert store.name_moved_from(phone) is None


def test_the_move_note_can_be_put_away(store):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    store.recover(phone, "ada", store.claim_name(laptop, "ada"))
    store.dismiss_name_move(laptop)
    assert store.name_moved_from(laptop) is None


def test_a_wrong_code_records_no_move(store):
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    store.claim_name(laptop, "ada")
    with pytest.raises(ident.IdentityError):
        store.recover(phone, "ada", "AAAA-AAAA-AAAA")
    assert store.name_moved_from(laptop) is None


# ---- schema 7 on a database from before ------------------------------------------------------------------


def test_a_schema_6_database_is_upgraded_in_place_and_keeps_its_rows(progress_db, monkeypatch):
    import core.classroom.progress as progress

    monkeypatch.setattr(progress, "SCHEMA_VERSION", 6)  # the app before this schema step
    old = ProgressStore(progress_db)
    old.set_card_status("ada", "k1", True)
    old.record_quiz_answer("ada", "q1", "an answer", False)
    old.close()
    monkeypatch.setattr(progress, "SCHEMA_VERSION", 7)
    new = ProgressStore(progress_db)
    assert new.card_statuses("ada") == {"k1": True} and new.missed_questions("ada") == ["q1"]
    new.record_review("ada", CARD, "k1", True)
    assert [i.item_id for i in new.review_items("ada")] == ["k1"]
    laptop, phone = ident.new_browser_id(), ident.new_browser_id()
    new.recover(phone, "ada", new.claim_name(laptop, "ada"))
    assert new.name_moved_from(laptop).name == "ada"
    with new._connection(write=False) as conn:
        assert [tuple(r) for r in conn.execute("SELECT version FROM schema_version")] == [(SCHEMA_VERSION,)] == [(7,)]
    assert new.integrity_ok()
    new.close()


def test_due_dates_keep_their_seconds(store, clock):
    store.record_review("ada", CARD, "k1", False)
    assert store.review_items("ada")[0].due == START + DAY  # a double on PostgreSQL, not a 4-byte REAL
