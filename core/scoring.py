"""Scoring for "Explain it" answers (concept checklist) and multiple-choice questions.

An explanation is scored by which checklist concepts it mentions, not by how it is worded: each
checklist item lists phrases (`any_of`), and an item counts as covered when any phrase appears in
the answer in a loose sense -- same words after normalising case, punctuation and hyphens, light
stemming (frozen == freeze, layers == layer), the phrase's content words in any order within a small
window, and small typos in longer words. Words that are in no phrase never earn anything, so
nonsense, filler, or a copy of the prompt score zero unless they happen to name a concept.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

# Longer answers are cut here: no honest explanation is this long, and it bounds the work per answer.
MAX_ANSWER_CHARS = 20_000
# Typos are forgiven only in words this long; short words differ by one letter too often (lr/lo).
FUZZY_MIN_LEN = 6
FUZZY_MIN_RATIO = 0.85

# Negations are deliberately NOT stop words: a phrase such as "not update" then needs the "not".
STOP_WORDS = frozenset(
    """a an the and or but if then than so to of in on at by for with from into onto over under
    about as is are was were be been being am do does did doing done have has had having it its
    this that these those there here which who whom whose what when where why how all any both
    each few more most other some such only own same too very can will just should would could
    may might must shall i me my we our you your he him his she her they them their one also
    use used using uses via up down out off again further once just really basically like e g eg
    ie etc let lets get gets got make makes made thing things way""".split()
)

# Irregular forms and common abbreviations, mapped before suffix stripping.
IRREGULAR = {
    "frozen": "freeze", "froze": "freeze", "unfrozen": "unfreeze", "unfroze": "unfreeze",
    "learnt": "learn", "taught": "teach", "ran": "run", "kept": "keep", "took": "take",
    "taken": "take", "chose": "choose", "chosen": "choose", "fed": "feed", "lower": "low",
    "smaller": "small", "larger": "large", "bigger": "big", "params": "parameter",
    "param": "parameter", "convnet": "cnn", "nn": "network", "net": "network",
    "backprop": "backpropagation",
}
# Abbreviations that stand for several words; expanded in answers and phrases alike.
ABBREVIATIONS = {"lr": ("learning", "rate"), "bn": ("batch", "norm"), "tl": ("transfer", "learning")}

# Prefixes that writers attach with a space, a hyphen or nothing ("pre trained" / "pretrained").
JOINABLE_PREFIXES = frozenset(
    "pre re fine un non over under multi sub co self semi post cross back mid".split()
)

# Longest first so "ations" wins over "s"; one derivational suffix is stripped after plurals.
_SUFFIXES = (
    "izations", "isations", "ization", "isation", "ations", "ation", "ingly", "ments", "ment",
    "izing", "ising", "izers", "izer", "ized", "ised", "izes", "ises", "ings", "ness", "able",
    "ible", "ize", "ise", "ing", "ers", "ive", "ity", "er", "ed", "ly",
)
_WORD = re.compile(r"[a-z0-9]+")


def _normalise(text: str) -> str:
    """Lower case, join hyphenated and apostrophe words, expand n't, drop other punctuation."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"n't\b", " not", text)
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
            if suffix in ("ing", "ed", "er", "ers") and len(word) > 3 and word[-1] == word[-2] \
                    and word[-1] not in "lsz":
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


def _phrase_words(phrase: str) -> list[str]:
    """Content words of a checklist phrase; a phrase made only of stop words keeps them all."""
    words = _join_prefixes(_tokens(phrase))
    content = [w for w in words if w not in STOP_WORDS]
    return content or words


class _Answer:
    """An answer prepared once for matching against many phrases."""

    def __init__(self, text: str):
        raw = _tokens(text[:MAX_ANSWER_CHARS])
        # Positions are counted over content words, so "freeze the early layers" is 3 words wide.
        self.positions: dict[str, list[int]] = {}
        self._word_positions: dict[str, list[int]] = {}
        pos = -1
        for i, word in enumerate(raw):
            if word not in STOP_WORDS:
                pos += 1
                self._add(word, pos)
                if len(word) >= FUZZY_MIN_LEN:
                    self._word_positions.setdefault(word, []).append(pos)
            # "pre trained" / "over fitting" also offer "pretrained" / "overfitting" (stop word or not).
            if i + 1 < len(raw):
                self._add(word + raw[i + 1], pos + 1 if word in STOP_WORDS else pos)
        self.vocabulary = frozenset(self._word_positions)

    def _add(self, word: str, pos: int) -> None:
        for key in _keys(word):
            self.positions.setdefault(key, []).append(pos)

    def where(self, phrase_word: str) -> list[int]:
        """Positions where a phrase word (or a variant or near-typo of it) occurs."""
        found: set[int] = set()
        for key in _keys(phrase_word):
            found.update(self.positions.get(key, ()))
        if len(phrase_word) >= FUZZY_MIN_LEN:
            for word in self.vocabulary:
                if _fuzzy_equal(phrase_word, word):
                    found.update(self._word_positions[word])
        return sorted(found)

    def contains(self, phrase: str) -> bool:
        words = _phrase_words(phrase)
        if not words:
            return False
        hits = [self.where(w) for w in words]
        if any(not h for h in hits):
            return False
        if len(words) == 1:
            return True
        return _within_window(hits, window=2 * len(words) + 1)


def _within_window(hits: list[list[int]], window: int) -> bool:
    """True when one position per phrase word fits in `window` consecutive words (any order)."""
    events = sorted((pos, idx) for idx, positions in enumerate(hits) for pos in positions)
    need = len(hits)
    counts = [0] * need
    covered = 0
    left = 0
    for pos, idx in events:
        if counts[idx] == 0:
            covered += 1
        counts[idx] += 1
        while covered == need:
            left_pos, left_idx = events[left]
            if pos - left_pos < window:
                return True
            counts[left_idx] -= 1
            if counts[left_idx] == 0:
                covered -= 1
            left += 1
    return False


@dataclass(frozen=True)
class ExplainScore:
    found: tuple[str, ...]  # checklist item ids the answer covers, in checklist order
    missing: tuple[str, ...]
    total: int

    @property
    def score(self) -> int:
        return len(self.found)

    def summary(self) -> str:
        noun = "concept" if self.total == 1 else "concepts"
        return f"{self.score} of {self.total} {noun}"


def score_explanation(answer: str, checklist: Sequence) -> ExplainScore:
    """Which checklist items (objects with id, label, any_of) the free-text answer covers."""
    items = list(checklist)
    prepared = _Answer(answer or "")
    found, missing = [], []
    for item in items:
        phrases: Iterable[str] = _field(item, "any_of") or ()
        if isinstance(phrases, str):
            phrases = (phrases,)
        covered = bool(prepared.positions) and any(prepared.contains(p) for p in phrases)
        (found if covered else missing).append(_field(item, "id"))
    return ExplainScore(found=tuple(found), missing=tuple(missing), total=len(items))


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
