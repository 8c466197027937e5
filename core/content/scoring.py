"""Scoring for "Explain it" answers: each checklist item is a claim, not a keyword.

A keyword list scored "early layers should get a larger learning rate than the head" as fully right,
because every keyword was there. Here an item counts only when the answer *states* it:

- its phrases (`any_of`) appear in one sentence, in any order within a small window, and are not
  negated ("do not freeze", "never", "isn't") in their own clause;
- for an item with a `direction` (which side gets the smaller learning rate), the answer pairs the
  two sides with the right ends of the scale ("smaller ... for the early layers", "the head gets a
  larger rate than the backbone"); the opposite pairing is named as a misconception;
- none of the item's known `misconceptions` matches (an ordered pattern, not negated); a match is
  named in the feedback and the item does not count, even if its phrases appear elsewhere.

Words are compared loosely: case, punctuation and hyphens are normalised, a light stemmer makes
frozen == freeze and layers == layer, and small typos in longer words are forgiven. Where the text
cannot decide (a phrase only in a negated clause, a direction left unsaid), the item is reported as
`unclear` rather than guessed, and the page asks the learner to compare with the model answer.
Deterministic, pure Python, and bounded: answers are cut at MAX_ANSWER_CHARS.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Longer answers are cut here: no honest explanation is this long, and it bounds the work per answer.
MAX_ANSWER_CHARS = 20_000
# Typos are forgiven only in words this long; short words differ by one letter too often (lr/lo).
FUZZY_MIN_LEN = 6
FUZZY_MIN_RATIO = 0.85

# Negations are deliberately NOT stop words: a phrase such as "not update" then needs the "not".
# Neither are words that claims turn on: "more", "few", "all", "both", "one", "only", "same",
# "once", "again", "up", "down" ("bottom up", "top down"), "off" ("switched off").
STOP_WORDS = frozenset(
    """a an the and or but if then so to of in on at by for with from into onto over under
    about as is are was were be been being am do does did doing done have has had having it its
    this that these those there here which who whom whose what when where why how any 
    each other some such too very can will just should would could much far even bit
    times twice ten hundred thousand
    may might must shall i me my we our you your he him his she her they them their also
    use used using uses via out further just really basically like e g eg
    ie etc let lets get gets got make makes made thing things way""".split()
)

# Irregular forms and common abbreviations, mapped before suffix stripping.
IRREGULAR = {
    "frozen": "freeze",
    "froze": "freeze",
    "unfrozen": "unfreeze",
    "unfroze": "unfreeze",
    "learnt": "learn",
    "taught": "teach",
    "ran": "run",
    "kept": "keep",
    "took": "take",
    "taken": "take",
    "chose": "choose",
    "chosen": "choose",
    "fed": "feed",
    "lower": "low",
    "smaller": "small",
    "larger": "large",
    "bigger": "big",
    "params": "parameter",
    "param": "parameter",
    "convnet": "cnn",
    "nn": "network",
    "net": "network",
    "backprop": "backpropagation",
    "smallest": "small",
    "lowest": "low",
    "largest": "large",
    "highest": "high",
    "biggest": "big",
    "tiniest": "tiny",
    "fastest": "fast",
    "slowest": "slow",
    "least": "less",
    "fewer": "few",
    "fewest": "few",
    "cannot": "not",
}
# Abbreviations that stand for several words; expanded in answers and phrases alike.
ABBREVIATIONS = {"lr": ("learning", "rate"), "bn": ("batch", "norm"), "tl": ("transfer", "learning")}

# Prefixes that writers attach with a space, a hyphen or nothing ("pre trained" / "pretrained").
JOINABLE_PREFIXES = frozenset("pre re fine un non over under multi sub co self semi post cross back mid".split())

# Longest first so "ations" wins over "s"; one derivational suffix is stripped after plurals.
_SUFFIXES = (
    "izations",
    "isations",
    "ization",
    "isation",
    "ations",
    "ation",
    "ingly",
    "ments",
    "ment",
    "izing",
    "ising",
    "izers",
    "izer",
    "ized",
    "ised",
    "izes",
    "ises",
    "ings",
    "ness",
    "able",
    "ible",
    "ize",
    "ise",
    "ing",
    "ers",
    "ive",
    "ity",
    "er",
    "ed",
    "ly",
)
_WORD = re.compile(r"[a-z0-9]+")


def _normalise(text: str) -> str:
    """Lower case, join hyphenated and apostrophe words, expand n't (and "dont"), keep punctuation."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"n't\b", " not", text)
    # "block(s)" is one word, not a word and a stray "s"; "model.eval()" is no parenthesised clause
    text = text.replace("(s)", "").replace("()", "")
    text = re.sub(r"\b(do|does|did|is|are|was|were|should|would|could|can|must|has|have|had)nt\b", r"\1 not", text)
    text = re.sub(r"(?<=[a-z0-9])['\-\u2010\u2011\u2013_](?=[a-z0-9])", "", text)
    return text


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(_normalise(text)):
        out.extend(ABBREVIATIONS.get(word, (word,)))
    return out


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, consistent stem: plurals, then one common suffix, then a trailing e."""
    word = IRREGULAR.get(word, word)
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            # stopping -> stopp -> stop, so it meets "stop"
            if (
                suffix in ("ing", "ed", "er", "ers")
                and len(word) > 3
                and word[-1] == word[-2]
                and word[-1] not in "lsz"
            ):
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _keys(word: str) -> frozenset[str]:
    """The raw word and its stem both identify it: "bias" then matches "biases" either way."""
    return frozenset((word, IRREGULAR.get(word, word), stem(word)))


@lru_cache(maxsize=262144)
def _fuzzy_equal(a: str, b: str) -> bool:
    """Small typos in long words ("pretrianed"); cheap length and bag-of-letters checks first."""
    if len(a) < FUZZY_MIN_LEN or len(b) < FUZZY_MIN_LEN:
        return False
    if a.endswith(b) or b.endswith(a):
        return False  # a prefix is a different word, not a typo: unfreeze != freeze
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < FUZZY_MIN_RATIO:
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= FUZZY_MIN_RATIO and matcher.ratio() >= FUZZY_MIN_RATIO


def _join_prefixes(tokens: list[str]) -> list[str]:
    """Glue a free-standing prefix to the next word: ["pre", "trained"] -> ["pretrained"]."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in JOINABLE_PREFIXES and i + 1 < len(tokens):
            out.append(tokens[i] + tokens[i + 1])
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


@lru_cache(maxsize=8192)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    """Content words of a checklist phrase; a phrase made only of stop words keeps them all."""
    words = _join_prefixes(_tokens(phrase))
    content = [w for w in words if w not in STOP_WORDS]
    return tuple(content or words)


# Words that turn the claim in their clause around. "cannot" is mapped to "not" by IRREGULAR.
# "unlike", "instead", "rather": "unlike a network that starts from random weights" negates too.
NEGATIONS = frozenset("not no never without nor neither none nothing hardly unlike instead rather except".split())
# A negation this many content words before a phrase, in the same clause, negates it.
NEGATION_LOOKBACK = 3
# Clause boundaries inside a sentence: a negation does not reach across them.
CLAUSE_WORDS = frozenset(
    "and but because since if unless when while whereas although though so otherwise or then".split()
)
# Words that set two halves of a sentence against each other: a scale word pairs with a side in
# its own half first ("the early blocks move very little, while the new head moves a lot").
CONTRAST_WORDS = frozenset("but while whereas although though however unlike".split())
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n\s*\n")
_CLAUSE_PUNCT = re.compile(r"[,:()\[\]\u2014\u2013]|\s-\s")
_ABBREV_DOTS = re.compile(r"\b(e\.g|i\.e|etc|vs|approx)\.", re.IGNORECASE)

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
# Ordered patterns: words follow each other with at most this many words between; "..." allows GAP_WIDE.
GAP = 1
GAP_WIDE = 5


def _stems(words: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words) | frozenset(words)


_LOW = _stems(LOW_WORDS)
_HIGH = _stems(HIGH_WORDS)
_SPEED = _stems(SPEED_WORDS)


class _Sentence:
    """One sentence as content words, each with its clause number and an index by word form."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())  # the learner's own words, quoted in the feedback
        self.words: list[str] = []
        self.clause: list[int] = []
        self.half: list[int] = []
        self.index: dict[str, list[int]] = {}
        clause = half = 0
        for chunk in _CLAUSE_PUNCT.split(_normalise(text)):
            clause += 1
            raw = _tokens(chunk)
            for i, word in enumerate(raw):
                if word in CLAUSE_WORDS:
                    clause += 1
                half += word in CONTRAST_WORDS
                if word in STOP_WORDS:
                    # "pre trained" also offers "pretrained" even when the prefix is a stop word
                    if i + 1 < len(raw):
                        self._add(word + raw[i + 1], len(self.words))
                    continue
                pos = len(self.words)
                self.words.append(word)
                self.clause.append(clause)
                self.half.append(half)
                self._add(word, pos)
                if i + 1 < len(raw):
                    self._add(word + raw[i + 1], pos)

    def _add(self, word: str, pos: int) -> None:
        for key in _keys(word):
            self.index.setdefault(key, []).append(pos)

    def hits(self, keys: Iterable[str]) -> list[int]:
        found: set[int] = set()
        for key in keys:
            found.update(self.index.get(key, ()))
        return sorted(found)

    def negated(self, lo: int, hi: int, own: set[int]) -> bool:
        """A negation shortly before the span in its clause, or inside it in a clause that a
        phrase word follows ("weights are not updated" with own word "not" is not negated)."""
        for p in range(max(0, lo - NEGATION_LOOKBACK), hi + 1):
            if p in own or self.words[p] not in NEGATIONS:
                continue
            if p < lo and self.clause[p] == self.clause[lo]:
                return True
            if p > lo and any(q > p and self.clause[q] == self.clause[p] for q in own):
                return True
        return False


class _Answer:
    """An answer prepared once: sentences, plus a shared cache of loose word matches."""

    def __init__(self, text: str):
        text = _ABBREV_DOTS.sub(r"\1", text[:MAX_ANSWER_CHARS])
        self.sentences = [s for s in (_Sentence(part) for part in _SENTENCES.split(text)) if s.words]
        self._vocabulary = frozenset(w for s in self.sentences for w in s.words if len(w) >= FUZZY_MIN_LEN)
        self._keys: dict[str, frozenset[str]] = {}
        # key -> sentences holding it, so a phrase only visits sentences that have all its words
        self._where: dict[str, set[int]] = {}
        for i, sentence in enumerate(self.sentences):
            for key in sentence.index:
                self._where.setdefault(key, set()).add(i)

    def candidates(self, words: Iterable[str]) -> list[_Sentence]:
        """Sentences that contain every one of the words (in some form)."""
        common: set[int] | None = None
        for word in words:
            here = set().union(*(self._where.get(k, ()) for k in self.keys(word)))
            common = here if common is None else common & here
            if not common:
                return []
        return [self.sentences[i] for i in sorted(common or ())]

    def keys(self, phrase_word: str) -> frozenset[str]:
        """Index keys that stand for a phrase word: its forms, and answer words that are near-typos."""
        keys = self._keys.get(phrase_word)
        if keys is None:
            keys = _keys(phrase_word)
            if len(phrase_word) >= FUZZY_MIN_LEN:
                keys |= {w for w in self._vocabulary if _fuzzy_equal(phrase_word, w)}
            self._keys[phrase_word] = keys
        return keys


@dataclass(frozen=True)
class _Match:
    sentence: _Sentence
    lo: int
    hi: int
    negated: bool


def _unordered(answer: _Answer, phrase: str) -> list[_Match]:
    """Every place where all content words of the phrase sit within a small window, any order.
    A word the phrase repeats needs as many occurrences ("layer by layer" is not one "layer")."""
    words = _phrase_words(phrase)
    if not words:
        return []
    window = 2 * len(words) + 1
    counts = Counter(words)
    out = []
    for s in answer.candidates(counts):
        hits = {w: s.hits(answer.keys(w)) for w in counts}
        for start in sorted({p for h in hits.values() for p in h}):
            used = []
            for w, k in counts.items():
                i = bisect.bisect_left(hits[w], start)
                used += hits[w][i : i + k]
                if len(hits[w]) < i + k:
                    break
            else:
                if start in used and max(used) - start < window:
                    out.append(_Match(s, start, max(used), s.negated(start, max(used), set(used))))
    return out


@lru_cache(maxsize=8192)
def _pattern(phrase: str) -> tuple[tuple[str, int], ...]:
    """An ordered pattern as (word, widest gap before it); "..." widens the next gap."""
    out, gap = [], GAP
    for part in re.split(r"(\.\.\.|\u2026)", phrase):
        if part in ("...", "\u2026"):
            gap = GAP_WIDE
            continue
        for word in (w for w in _join_prefixes(_tokens(part)) if w not in STOP_WORDS):
            out.append((word, gap))
            gap = GAP
    return tuple(out)


def pattern_words(pattern: str) -> tuple[str, ...]:
    """The words an ordered pattern needs, in order; empty when it has none the scorer can match
    (only stop words such as "the ... it"), which the lesson loader rejects."""
    return tuple(w for w, _ in _pattern(pattern))


def _ordered(answer: _Answer, phrase: str, one_clause: bool = False) -> list[_Match]:
    """Every place where the pattern's words come in order with small gaps, in one sentence (and,
    with one_clause, in one clause: "freeze the early layers and train the later layers" must not
    read as "freeze ... later layers")."""
    pattern = _pattern(phrase)
    if not pattern:
        return []
    out = []
    for s in answer.candidates(w for w, _ in pattern):
        hits = [s.hits(answer.keys(w)) for w, _ in pattern]
        for start in hits[0]:
            used, cur = [start], start
            for h, (_, gap) in zip(hits[1:], pattern[1:]):
                i = bisect.bisect_right(h, cur)
                if i == len(h) or h[i] - cur > gap + 1:
                    break
                cur = h[i]
                used.append(cur)
            else:
                if not one_clause or s.clause[start] == s.clause[cur]:
                    out.append(_Match(s, start, cur, s.negated(start, cur, set(used))))
    return out


# ---- direction: which side of a comparison gets the small end of the scale ---------------------


@dataclass(frozen=True)
class _Side:
    side: str  # "low" or "high": the end of the scale this side should get
    lo: int
    hi: int


def _sides(answer: _Answer, s: _Sentence, direction) -> list[_Side]:
    """Where the sentence names a side of the comparison ("early layers", "the head")."""
    only = _Only(answer, s)
    return [
        _Side(side, m.lo, m.hi)
        for side in ("low", "high")
        for phrase in _field(direction, side) or ()
        for m in _ordered(only, phrase)
    ]


class _Only:
    """An answer view with one sentence, so the pattern matchers can be reused per sentence."""

    def __init__(self, answer: _Answer, sentence: _Sentence):
        self.sentences = [sentence]
        self.keys = answer.keys

    def candidates(self, words: Iterable[str]) -> list[_Sentence]:
        s = self.sentences[0]
        return [s] if all(any(k in s.index for k in self.keys(w)) for w in words) else []


def _scale_words(s: _Sentence, sides: list[_Side], about: set[int]) -> list[tuple[int, int]]:
    """(position, sign) of scale words outside the sides' own words: -1 low end, +1 high end.
    A negation just before flips the sign ("not larger"); a scale word far from every `about`
    position counts only if it is a speed word."""
    inside = {p for side in sides for p in range(side.lo, side.hi + 1)}
    out = []
    for p, word in enumerate(s.words):
        if p in inside:
            continue
        keys = _keys(word)
        sign = -1 if keys & _LOW else 1 if keys & _HIGH else 0
        near = any(abs(p - q) <= ABOUT_REACH for q in about)
        if not sign or not (near or keys & _SPEED):
            continue
        if any(s.words[q] in NEGATIONS and s.clause[q] == s.clause[p] for q in range(max(0, p - 2), p)):
            sign = -sign
        out.append((p, sign))
    return out


def _nearest(sides: list[_Side], p: int, s: _Sentence) -> _Side | None:
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


def _pairs(s: _Sentence, sides: list[_Side], scale: list[tuple[int, int]]) -> list[tuple[str, int]]:
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


def _direction(answer: _Answer, direction) -> tuple[list[str], list[str]]:
    """Sentences that state the direction right, and sentences that state it the wrong way round."""
    right, wrong = [], []
    about = _field(direction, "about") or ()
    phrases = [*(_field(direction, "low") or ()), *(_field(direction, "high") or ())]
    with_side = {id(s) for p in phrases for s in answer.candidates(w for w, _ in _pattern(p))}
    for s in (s for s in answer.sentences if id(s) in with_side):
        sides = _sides(answer, s, direction)
        if not sides:
            continue
        only = _Only(answer, s)
        near = {p for a in about for m in _unordered(only, a) for p in range(m.lo, m.hi + 1)}
        claims = _pairs(s, sides, _scale_words(s, sides, near))
        verdicts = {(side == "low") == (sign < 0) for side, sign in claims}
        # Right needs the low side named: "the head gets a large rate" alone says nothing of the rest.
        if verdicts == {True} and any(side == "low" for side, _ in claims):
            right.append(s.text)
        elif verdicts == {False}:
            wrong.append(s.text)
    return right, wrong


# ---- verdicts -------------------------------------------------------------------------------

COVERED, MISCONCEPTION, UNCLEAR, MISSING = "covered", "misconception", "unclear", "missing"


@dataclass(frozen=True)
class ItemVerdict:
    """What the answer does with one checklist item, and the words that show it."""

    id: str
    status: str  # COVERED, MISCONCEPTION (named in `note`), UNCLEAR (why in `note`) or MISSING
    note: str = ""
    evidence: str = ""  # the answer's sentence that led to the verdict

    @property
    def feedback(self) -> str:
        if self.status == MISCONCEPTION:
            return f"This sounds like the misconception that {self.note}"
        return self.note


def _judge(answer: _Answer, item) -> ItemVerdict:
    item_id = _field(item, "id")
    for belief in _field(item, "misconceptions") or ():
        for pattern in _field(belief, "patterns") or ():
            hit = next((m for m in _ordered(answer, pattern, one_clause=True) if not m.negated), None)
            if hit:
                return ItemVerdict(item_id, MISCONCEPTION, _field(belief, "belief"), hit.sentence.text)
    phrases = _field(item, "any_of") or ()
    matches = [m for p in ((phrases,) if isinstance(phrases, str) else phrases) for m in _unordered(answer, p)]
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
            item_id,
            UNCLEAR,
            "You mention this only in a negated clause (not, never, no ...), so it is not counted.",
            matches[0].sentence.text,
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
    prepared = _Answer(answer or "")
    verdicts = tuple(_judge(prepared, item) for item in items)
    found = tuple(v.id for v in verdicts if v.status == COVERED)
    missing = tuple(v.id for v in verdicts if v.status != COVERED)
    return ExplainScore(found=found, missing=missing, total=len(items), verdicts=verdicts)


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
