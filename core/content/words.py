"""Words as the "Explain it" matcher compares them: normalised, tokenised, stemmed, typo-tolerant.

core.content.text_match finds phrases in sentences; what counts as the same word is decided here, once.
"""

from __future__ import annotations

import difflib
import re
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
    text = re.sub(r"(?<=[a-z0-9])['\u2019](?=[a-z0-9])", "", text)
    # "task-specific" is two words, so the pattern "task specific" meets it; the joined form
    # ("pretrained" for "pre-trained") is still indexed, as for any two neighbouring words.
    return re.sub(r"(?<=[a-z0-9])[\-\u2010\u2011\u2013_](?=[a-z0-9])", " ", text)


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


def word_keys(word: str) -> frozenset[str]:
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
