"""Spaced repetition (core/classroom/review.py): dates from FSRS for tiny histories at fixed times,
and what counts as due today in the learner's own time zone."""
from datetime import UTC, datetime, timedelta, timezone

from core.classroom.review import CARD, QUESTION, ReviewItem, day_end, enters_schedule, rate, summarize

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def due_of(history, start=NOON):
    """The due date after reviewing one item at each of its due times; `history` holds True/False."""
    card, when, dues = None, start, []
    for remembered in history:
        card, due = rate(card, remembered, when)
        when = datetime.fromtimestamp(due, UTC)
        dues.append(when)
    return dues


def test_forgotten_comes_back_the_next_day_and_remembered_later():
    assert due_of([False]) == [NOON + timedelta(days=1)]
    assert due_of([True]) == [NOON + timedelta(days=2)]


def test_each_time_it_is_remembered_the_gap_grows():
    dues = due_of([True, True, True, True])
    gaps = [(b - a).days for a, b in zip([NOON, *dues], dues)]
    assert gaps == sorted(gaps) and gaps[0] < gaps[-1] and len(set(gaps)) == 4, gaps


def test_a_lapse_after_a_long_gap_brings_it_back_within_days():
    dues = due_of([True, True, True, False])
    long_gap = (dues[2] - dues[1]).days
    lapse_gap = (dues[3] - dues[2]).days
    assert long_gap > 20 and 1 <= lapse_gap < long_gap / 4, (long_gap, lapse_gap)


def test_the_same_history_gives_the_same_dates():
    assert due_of([True, False, True]) == due_of([True, False, True])  # no random fuzz


def test_a_review_on_the_same_day_barely_moves_the_date():
    card, due = rate(None, True, NOON)
    _, again = rate(card, True, NOON + timedelta(minutes=5))
    assert abs(again - due) < 3600


def test_today_ends_at_the_learners_midnight():
    tokyo = timezone(timedelta(hours=9))
    assert day_end(NOON, UTC) == datetime(2026, 12, 8, tzinfo=UTC).timestamp()
    # noon UTC is 21:00 in Tokyo: its day ends three hours later
    assert day_end(NOON, tokyo) == (NOON + timedelta(hours=3)).timestamp()
    assert day_end(NOON, None) == day_end(NOON, UTC)


def item(kind, item_id, when):
    return ReviewItem(kind, item_id, when.timestamp())


def test_due_today_counts_what_is_due_before_midnight_longest_overdue_first():
    items = [
        item(CARD, "c-later-today", NOON + timedelta(hours=6)),
        item(CARD, "c-overdue", NOON - timedelta(days=3)),
        item(QUESTION, "q-now", NOON),
        item(CARD, "c-tomorrow", NOON + timedelta(hours=13)),
    ]
    due = summarize(items, NOON, UTC)
    assert due.cards == ("c-overdue", "c-later-today") and due.questions == ("q-now",)
    assert due.total == 3 and due.scheduled == 4
    assert (due.next_day, due.next_count) == ((NOON + timedelta(days=1)).date(), 1)  # after today


def test_nothing_due_today_names_the_next_day_and_its_count():
    items = [
        item(CARD, "a", NOON + timedelta(days=2)),
        item(QUESTION, "b", NOON + timedelta(days=2, hours=3)),
        item(CARD, "c", NOON + timedelta(days=5)),
    ]
    due = summarize(items, NOON, UTC)
    assert due.total == 0 and due.next_day == (NOON + timedelta(days=2)).date() and due.next_count == 2


def test_items_no_longer_in_the_lessons_are_left_out():
    items = [item(CARD, "kept", NOON), item(CARD, "removed", NOON), item(QUESTION, "run-quiz-1", NOON)]
    due = summarize(items, NOON, UTC, known={CARD: {"kept"}, QUESTION: set()})
    assert due.cards == ("kept",) and due.questions == () and due.scheduled == 1


def test_an_empty_schedule():
    due = summarize([], NOON, UTC)
    assert (due.total, due.scheduled, due.next_day) == (0, 0, None)


def test_every_marked_card_is_scheduled_but_only_missed_questions():
    assert enters_schedule(CARD, True) and enters_schedule(CARD, False)
    assert enters_schedule(QUESTION, False) and not enters_schedule(QUESTION, True)
