"""The "Explain it" checklist matcher: which ideas an answer seems to state, as suggestions only.

Why it only suggests: matching words cannot tell a right idea in other words from a fluent wrong one,
so a learner's mark comes from probes and their own check (core.content.explain_probes), never from
here. Each checklist item is a claim, not a keyword. An item is spotted only when the answer states it:
its phrases (`any_of`) in one sentence and not negated there; for an item with a `direction` (which
side gets the smaller learning rate), the two sides paired with the right ends of the scale; and none
of its known `misconceptions` matched. A reversed direction or a known misconception is suggested as
"you may mean the opposite"; a phrase said only with a negation likewise. Words: core.content.text_match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.content.text_match import (
    NEGATIONS,
    Answer,
    OneSentence,
    Sentence,
    ordered,
    pattern_steps,
    phrase_matches,
    unordered,
)
from core.content.words import stem, word_keys

# Ends of a scale for `direction` items; compared by stem ("smaller" == "small").
LOW_WORDS = """small low tiny less slow slowly little gentle gently slight slightly barely reduced
    modest cautious careful minimal fraction lesser reduce decrease cut shrink""".split()
# "more" is left out: "a few more epochs" next to "compile again" is not a claim about the rate.
HIGH_WORDS = "large high big fast quickly quick huge bigger aggressive lot raise increase boost".split()
# Speed words carry their own topic ("the head learns fast"); other scale words count only this close
# (content words) to an `about` word: "tiny steps", "a smaller learning rate", "change less".
ABOUT_REACH = 3
SPEED_WORDS = "slow slowly fast quick quickly".split()
# How far (content words) a scale word may sit from the side it describes when no "than" links them.
PAIR_DISTANCE = 5


def _stems(words: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words) | frozenset(words)


_LOW = _stems(LOW_WORDS)
_HIGH = _stems(HIGH_WORDS)
_SPEED = _stems(SPEED_WORDS)


# ---- direction: which side of a comparison gets the small end of the scale ---------------------


@dataclass(frozen=True)
class _Side:
    side: str  # "low" or "high": the end of the scale this side should get
    lo: int
    hi: int


def _sides(answer: Answer, s: Sentence, direction) -> list[_Side]:
    """Where the sentence names a side of the comparison ("early layers", "the head")."""
    only = OneSentence(answer, s)
    return [
        _Side(side, m.lo, m.hi)
        for side in ("low", "high")
        for phrase in _field(direction, side) or ()
        for m in ordered(only, phrase)
    ]


def _scale_words(s: Sentence, sides: list[_Side], about: set[int]) -> list[tuple[int, int]]:
    """(position, sign) of scale words outside the sides' own words: -1 low end, +1 high end.
    A negation just before flips the sign ("not larger"); a scale word far from every `about`
    position counts only if it is a speed word."""
    inside = {p for side in sides for p in range(side.lo, side.hi + 1)}
    out = []
    for p, word in enumerate(s.words):
        if p in inside:
            continue
        keys = word_keys(word)
        sign = -1 if keys & _LOW else 1 if keys & _HIGH else 0
        near = any(abs(p - q) <= ABOUT_REACH for q in about)
        if not sign or not (near or keys & _SPEED):
            continue
        if any(s.words[q] in NEGATIONS and s.clause[q] == s.clause[p] for q in range(max(0, p - 2), p)):
            sign = -sign
        out.append((p, sign))
    return out


def _nearest(sides: list[_Side], p: int, s: Sentence) -> _Side | None:
    """The side a scale word describes: nearest in its clause, else in its half of the sentence,
    else anywhere within reach; ties go to the side before it."""

    def dist(side: _Side) -> int:
        return side.lo - p if side.lo > p else p - side.hi

    for pool in (
        [x for x in sides if s.clause[x.lo] == s.clause[p]],
        [x for x in sides if s.half[x.lo] == s.half[p]],
        sides,
    ):
        pool = [x for x in pool if dist(x) <= PAIR_DISTANCE]
        if pool:
            return min(pool, key=lambda x: (dist(x), x.lo > p))
    return None


def _pairs(s: Sentence, sides: list[_Side], scale: list[tuple[int, int]]) -> list[tuple[str, int]]:
    """(side, sign) claims. "A ... smaller ... than B" gives A the sign and B its opposite."""
    thans = [p for p, w in enumerate(s.words) if w == "than"]
    out = []
    for p, sign in scale:
        t = next((t for t in thans if t > p), None)
        before = [x for x in sides if t is not None and x.hi < t]
        after = [x for x in sides if t is not None and x.lo > t]
        if t is not None and after and t - p <= PAIR_DISTANCE:
            subject = _nearest(before, p, s) or (min(before, key=lambda x: abs(x.lo - p)) if before else None)
            if subject:
                out.append((subject.side, sign))
            out.append((min(after, key=lambda x: x.lo).side, -sign))
            continue
        side = _nearest(sides, p, s)
        if side:
            out.append((side.side, sign))
    return out


def _direction(answer: Answer, direction) -> tuple[list[str], list[str]]:
    """Sentences that state the direction right, and sentences that state it the wrong way round."""
    right, wrong = [], []
    about = _field(direction, "about") or ()
    phrases = [*(_field(direction, "low") or ()), *(_field(direction, "high") or ())]
    with_side = {id(s) for p in phrases for s in answer.candidates(w for w, _ in pattern_steps(p))}
    for s in (s for s in answer.sentences if id(s) in with_side):
        sides = _sides(answer, s, direction)
        if not sides:
            continue
        only = OneSentence(answer, s)
        near = {p for a in about for m in unordered(only, a) for p in range(m.lo, m.hi + 1)}
        claims = _pairs(s, sides, _scale_words(s, sides, near))
        verdicts = {(side == "low") == (sign < 0) for side, sign in claims}
        # Right needs the low side named: "the head gets a large rate" alone says nothing of the rest.
        if verdicts == {True} and any(side == "low" for side, _ in claims):
            right.append(s.text)
        elif verdicts == {False}:
            wrong.append(s.text)
    return right, wrong


# ---- verdicts -------------------------------------------------------------------------------

COVERED, MISCONCEPTION, UNCLEAR, NEGATED, MISSING = "covered", "misconception", "unclear", "negated", "missing"


@dataclass(frozen=True)
class ItemVerdict:
    """What the answer does with one checklist item, and the words that show it."""

    id: str
    status: str  # COVERED, MISCONCEPTION (named in `note`), UNCLEAR (why in `note`), NEGATED or MISSING
    note: str = ""
    evidence: str = ""  # the answer's sentence that led to the verdict

    @property
    def feedback(self) -> str:
        if self.status == MISCONCEPTION:
            return f"This sounds like the misconception that {self.note}"
        return self.note


def _judge(answer: Answer, item) -> ItemVerdict:
    item_id = _field(item, "id")
    for belief in _field(item, "misconceptions") or ():
        for pattern in _field(belief, "patterns") or ():
            hit = next((m for m in ordered(answer, pattern, one_clause=True) if not m.negated), None)
            if hit:
                return ItemVerdict(item_id, MISCONCEPTION, _field(belief, "belief"), hit.sentence.text)
    phrases = _field(item, "any_of") or ()
    matches = [m for p in ((phrases,) if isinstance(phrases, str) else phrases) for m in phrase_matches(answer, p)]
    affirmed = next((m for m in matches if not m.negated), None)
    direction = _field(item, "direction")
    if direction is not None:
        right, wrong = _direction(answer, direction)
        if wrong:
            return ItemVerdict(item_id, MISCONCEPTION, _field(direction, "belief"), wrong[0])
        if right:
            return ItemVerdict(item_id, COVERED, evidence=right[0])
        if affirmed:
            return ItemVerdict(
                item_id,
                UNCLEAR,
                "You touch on this, but the text does not say which side gets the smaller and which the larger value.",
                affirmed.sentence.text,
            )
    elif affirmed:
        return ItemVerdict(item_id, COVERED, evidence=affirmed.sentence.text)
    if matches:
        return ItemVerdict(
            item_id, NEGATED, "you mention it only in a negated clause (not, never, no ...).", matches[0].sentence.text
        )
    return ItemVerdict(item_id, MISSING)


@dataclass(frozen=True)
class ExplainScore:
    found: tuple[str, ...]  # checklist item ids the answer states, in checklist order
    missing: tuple[str, ...]  # every other id: misconception, unclear or not mentioned
    total: int
    verdicts: tuple[ItemVerdict, ...] = ()

    @property
    def score(self) -> int:
        return len(self.found)

    @property
    def fraction(self) -> float:
        return self.score / self.total if self.total else 0.0

    def with_status(self, *statuses: str) -> tuple[ItemVerdict, ...]:
        return tuple(v for v in self.verdicts if v.status in statuses)

    def summary(self) -> str:
        noun = "concept" if self.total == 1 else "concepts"
        return f"{self.score} of {self.total} {noun}"


def score_explanation(answer: str, checklist: Sequence) -> ExplainScore:
    """Which checklist items (objects or dicts with id, label, any_of and optional direction and
    misconceptions) the free-text answer states, item by item."""
    items = list(checklist)
    prepared = Answer(answer or "")
    verdicts = tuple(_judge(prepared, item) for item in items)
    found = tuple(v.id for v in verdicts if v.status == COVERED)
    missing = tuple(v.id for v in verdicts if v.status != COVERED)
    return ExplainScore(found=found, missing=missing, total=len(items), verdicts=verdicts)


# What a learner reads about the matcher: it suggests, it never marks.
SUGGESTION_NOTICE = (
    "These are suggestions from text matching, not a mark. Matching words cannot tell a right "
    "idea in other words from a fluent wrong one, so it never marks an idea as mastered: your "
    "mark comes from the probes and your own check below."
)
SPOTTED, NOT_SEEN, OPPOSITE = "spotted", "not seen", "opposite"


@dataclass(frozen=True)
class Suggestion:
    kind: str  # SPOTTED, NOT_SEEN or OPPOSITE
    text: str
    evidence: str = ""  # the learner's sentence behind an OPPOSITE


def suggestions(result: ExplainScore, labels: dict[str, str]) -> tuple[Suggestion, ...]:
    """The match as suggestions: "we spotted ...", "we did not see ...", and one "you may mean the
    opposite of ..." per idea the text seems to contradict (negated, reversed, a known misconception)."""

    def named(statuses) -> str:
        return "; ".join(f"“{labels[v.id]}”" for v in result.verdicts if v.status in statuses)

    out = []
    if named((COVERED,)):
        out.append(Suggestion(SPOTTED, f"We spotted {named((COVERED,))}."))
    if named((MISSING, UNCLEAR)):
        out.append(Suggestion(NOT_SEEN, f"We did not see {named((MISSING, UNCLEAR))}."))
    for v in result.with_status(MISCONCEPTION, NEGATED):
        why = f"it reads as if {v.note}" if v.status == MISCONCEPTION else v.note
        out.append(Suggestion(OPPOSITE, f"You may mean the opposite of “{labels[v.id]}”: {why}", v.evidence))
    return tuple(out)


def check_choice(options: Sequence, chosen_index) -> bool:
    """True when chosen_index points at an option whose `correct` is true; no choice is wrong."""
    if chosen_index is None or isinstance(chosen_index, bool):
        return False
    try:
        index = int(chosen_index)
    except (TypeError, ValueError):
        return False
    if not 0 <= index < len(options):
        return False
    return bool(_field(options[index], "correct"))


def _field(item, name: str):
    """Attribute access that also accepts plain dicts (YAML loaded without the lesson classes)."""
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)
