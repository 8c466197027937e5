"""When a flashcard or a missed quiz question comes back for review: spaced repetition by FSRS.

FSRS (the `fsrs` package) sets each item's next review from how well the learner held it so far: an
item remembered each time comes back ever later, one forgotten comes back the next day. Plain Python
with no database and no clock of its own: the caller passes the time, so a test can fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from fsrs import Card, Rating, Scheduler

__all__ = ["CARD", "KINDS", "QUESTION", "DueSummary", "ReviewItem", "day_end", "enters_schedule", "rate", "summarize"]

CARD, QUESTION = "card", "question"  # the kinds of item a learner reviews
KINDS = (CARD, QUESTION)

# Whole days only (no learning steps of minutes): within a session a card marked "Not yet" already
# comes first when the deck is dealt again, so the schedule is about coming back on later days, and
# "due today" then means the same thing all day. No fuzzing: one history gives one date, for every
# learner and in every test.
SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


@dataclass(frozen=True)
class ReviewItem:
    """One scheduled item of one learner: what it is and when it is due (seconds since the epoch)."""

    kind: str
    item_id: str
    due: float


@dataclass(frozen=True)
class DueSummary:
    """What a learner has to review: due by the end of their day, and the next day after that."""

    cards: tuple[str, ...]  # ids due today, the longest overdue first
    questions: tuple[str, ...]
    scheduled: int  # items in the schedule at all
    next_day: date | None = None  # the first day after today with reviews due
    next_count: int = 0

    @property
    def total(self) -> int:
        return len(self.cards) + len(self.questions)


def enters_schedule(kind: str, remembered: bool) -> bool:
    """Whether a first review puts an item in the schedule: every marked flashcard, but only a missed
    question (one answered right at the first try needs no coming back)."""
    return kind == CARD or not remembered


def rate(card_json: str | None, remembered: bool, now: datetime) -> tuple[str, float]:
    """The item's schedule after one review at `now` (a new item when `card_json` is None):
    remembered is FSRS's Good, forgotten its Again. Returns the card as JSON and its due time."""
    card = Card.from_json(card_json) if card_json else Card(due=now)
    card, _ = SCHEDULER.review_card(card, Rating.Good if remembered else Rating.Again, now)
    return card.to_json(), card.due.timestamp()


def day_end(now: datetime, tz: tzinfo | None) -> float:
    """The first second after the learner's today (midnight in `tz`; UTC where it is not known)."""
    local = now.astimezone(tz or UTC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=local.tzinfo)
    return midnight.timestamp()


def summarize(
    items: Iterable[ReviewItem], now: datetime, tz: tzinfo | None, known: dict[str, set[str]] | None = None
) -> DueSummary:
    """Items due before the learner's day ends, per kind. With `known` (kind -> ids that still exist in
    the lessons), items of edited-out content are left out, so a count never names a missing card."""
    kept = [i for i in items if known is None or i.item_id in known.get(i.kind, set())]
    end = day_end(now, tz)
    due = sorted((i for i in kept if i.due < end), key=lambda i: i.due)
    later = [i for i in kept if i.due >= end]
    next_day, next_count = None, 0
    if later:
        zone = tz or UTC
        next_day = min(datetime.fromtimestamp(i.due, zone).date() for i in later)
        next_count = sum(1 for i in later if datetime.fromtimestamp(i.due, zone).date() == next_day)
    return DueSummary(
        cards=tuple(i.item_id for i in due if i.kind == CARD),
        questions=tuple(i.item_id for i in due if i.kind == QUESTION),
        scheduled=len(kept),
        next_day=next_day,
        next_count=next_count,
    )
