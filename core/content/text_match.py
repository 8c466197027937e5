"""Loose text matching for "Explain it": does an answer say a phrase, in which sentence, negated?

Why a module of its own: the checklist matcher (core.content.scoring) asks only "where does this
answer say X, and is it negated there?"; everything about sentences and phrases lives here, and
core.content.words decides which words are the same (frozen == freeze, small typos forgiven). A phrase matches in one sentence, its
words in any order within a small window; an ordered pattern matches its words in order with small
gaps ("..." for a wider one). Deterministic, pure Python, bounded: answers are cut at MAX_ANSWER_CHARS.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from core.content.words import (
    FUZZY_MIN_LEN,
    MAX_ANSWER_CHARS,
    STOP_WORDS,
    _fuzzy_equal,
    _join_prefixes,
    _normalise,
    _phrase_words,
    _tokens,
    word_keys,
)

# Words that turn the claim in their clause around. "cannot" is mapped to "not" by IRREGULAR.
# "unlike", "instead", "rather": "unlike a network that starts from random weights" negates too.
NEGATIONS = frozenset("not no never without nor neither none nothing hardly unlike instead rather except".split())
# A negation this many content words before a phrase, in the same clause, negates it: six reach
# "never reuses general features such as edges" from "never" to "edges".
NEGATION_LOOKBACK = 6
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

# Ordered patterns: words follow each other with at most this many words between; "..." allows GAP_WIDE.
GAP = 1
GAP_WIDE = 5


class Sentence:
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
        for key in word_keys(word):
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


class Answer:
    """An answer prepared once: sentences, plus a shared cache of loose word matches."""

    def __init__(self, text: str):
        text = _ABBREV_DOTS.sub(r"\1", text[:MAX_ANSWER_CHARS])
        self.sentences = [s for s in (Sentence(part) for part in _SENTENCES.split(text)) if s.words]
        self._vocabulary = frozenset(w for s in self.sentences for w in s.words if len(w) >= FUZZY_MIN_LEN)
        self.word_keys: dict[str, frozenset[str]] = {}
        # key -> sentences holding it, so a phrase only visits sentences that have all its words
        self._where: dict[str, set[int]] = {}
        for i, sentence in enumerate(self.sentences):
            for key in sentence.index:
                self._where.setdefault(key, set()).add(i)

    def candidates(self, words: Iterable[str]) -> list[Sentence]:
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
        keys = self.word_keys.get(phrase_word)
        if keys is None:
            keys = word_keys(phrase_word)
            if len(phrase_word) >= FUZZY_MIN_LEN:
                keys |= {w for w in self._vocabulary if _fuzzy_equal(phrase_word, w)}
            self.word_keys[phrase_word] = keys
        return keys


@dataclass(frozen=True)
class Match:
    sentence: Sentence
    lo: int
    hi: int
    negated: bool


def unordered(answer: Answer | OneSentence, phrase: str) -> list[Match]:
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
                    out.append(Match(s, start, max(used), s.negated(start, max(used), set(used))))
    return out


def phrase_matches(answer: Answer, phrase: str) -> list[Match]:
    """A phrase that holds its own negation ("not updated") must be said as written: in any order
    within a window, "does not preserve what was learned" would read as "not learned"."""
    if NEGATIONS.isdisjoint(_phrase_words(phrase)):
        return unordered(answer, phrase)
    return ordered(answer, phrase, tight=True)


@lru_cache(maxsize=8192)
def pattern_steps(phrase: str) -> tuple[tuple[str, int], ...]:
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
    return tuple(w for w, _ in pattern_steps(pattern))


def ordered(answer: Answer | OneSentence, phrase: str, one_clause: bool = False, tight: bool = False) -> list[Match]:
    """Every place where the pattern's words come in order with small gaps, in one sentence (and,
    with one_clause, in one clause: "freeze the early layers and train the later layers" must not
    read as "freeze ... later layers")."""
    steps = pattern_steps(phrase)
    if not steps:
        return []
    out = []
    for s in answer.candidates(w for w, _ in steps):
        hits = [s.hits(answer.keys(w)) for w, _ in steps]
        for start in hits[0]:
            used, cur = [start], start
            for h, (_, gap) in zip(hits[1:], steps[1:]):
                i = bisect.bisect_right(h, cur)
                if i == len(h) or h[i] - cur > (0 if tight else gap) + 1:
                    break
                cur = h[i]
                used.append(cur)
            else:
                if not one_clause or s.clause[start] == s.clause[cur]:
                    out.append(Match(s, start, cur, s.negated(start, cur, set(used))))
    return out


class OneSentence:
    """An answer view with one sentence, so the pattern matchers can be reused per sentence."""

    def __init__(self, answer: Answer, sentence: Sentence):
        self.sentences = [sentence]
        self.keys = answer.keys

    def candidates(self, words: Iterable[str]) -> list[Sentence]:
        s = self.sentences[0]
        return [s] if all(any(k in s.index for k in self.keys(w)) for w in words) else []
