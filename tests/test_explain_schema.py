"""Loader checks for the claim fields of explain checklist items (`direction`, `misconceptions`):
valid content loads into typed objects, and every mistake names file, item and field."""
import copy

import pytest

from core.content.lessons import Direction, LessonError, Misconception, load_lessons
from tests.test_lessons_schema import MINIMAL, write_folder

ITEM = ("explain", "prompts", 0, "checklist", 0)
DIRECTION = {"about": ["learning rate"], "low": ["early layers"], "high": ["head"], "belief": "it is reversed."}
MISCONCEPTIONS = [{"belief": "frozen layers still learn.", "patterns": ["still learn", "update ... slowly"]}]


def with_item(**fields):
    data = copy.deepcopy(MINIMAL)
    target = data
    for key in ITEM:
        target = target[key]
    target.update(fields)
    return data


def test_direction_and_misconceptions_load(tmp_path):
    L = load_lessons(write_folder(tmp_path / "ok", with_item(direction=DIRECTION, misconceptions=MISCONCEPTIONS)))
    item = L.prompts[0].checklist[0]
    assert item.direction == Direction(about=("learning rate",), low=("early layers",), high=("head",),
                                       belief="it is reversed.")
    assert item.misconceptions == (Misconception(belief="frozen layers still learn.",
                                                 patterns=("still learn", "update ... slowly")),)


def test_items_without_claim_fields_stay_valid(tmp_path):
    item = load_lessons(write_folder(tmp_path / "ok", MINIMAL)).prompts[0].checklist[0]
    assert item.direction is None and item.misconceptions == ()


CASES = [
    ("direction missing low", {"direction": {k: v for k, v in DIRECTION.items() if k != "low"}},
     ["'low'", "missing"]),
    ("direction empty high", {"direction": {**DIRECTION, "high": []}}, ["'high'", "at least 1"]),
    ("direction unknown field", {"direction": {**DIRECTION, "lo": ["x"]}}, ["'lo'", "unknown field"]),
    ("direction not a mapping", {"direction": ["early layers"]}, ["direction", "mapping"]),
    ("misconceptions empty", {"misconceptions": []}, ["'misconceptions'", "at least 1"]),
    ("misconception without belief", {"misconceptions": [{"patterns": ["x"]}]},
     ["misconceptions[0]", "'belief'", "missing"]),
    ("misconception pattern of stop words", {"misconceptions": [{"belief": "b", "patterns": ["ok", "the ... it"]}]},
     ["misconceptions[0]", "'patterns[1]'", "no word the scorer can match"]),
    ("misconception pattern not text", {"misconceptions": [{"belief": "b", "patterns": [3]}]},
     ["misconceptions[0]", "'patterns[0]'", "text"]),
]


@pytest.mark.parametrize("name, fields, expected", CASES, ids=[c[0] for c in CASES])
def test_claim_field_errors_name_file_item_and_field(tmp_path, name, fields, expected):
    with pytest.raises(LessonError) as info:
        load_lessons(write_folder(tmp_path / "bad", with_item(**fields)))
    message = str(info.value)
    for part in ["explain.yaml", "explain-one", "checklist[0]", *expected]:
        assert part in message, f"{name}: {part!r} not in {message!r}"


def test_no_phrase_shrinks_to_one_word_when_stop_words_are_dropped():
    """"from the head" would match any mention of "head": a phrase of several words must keep at
    least two that the scorer matches on (a one-word phrase is written as one word)."""
    from core.content.text_match import pattern_words
    from core.content.words import _join_prefixes, _phrase_words, _tokens

    def words(text):  # "the head" is one word written with its article, "pre-trained" one word
        return [w for w in _join_prefixes(_tokens(text.replace("...", " "))) if w not in ("a", "an", "the")]

    shrunk = []
    for prompt in load_lessons().prompts:
        for item in prompt.checklist:
            phrases = list(item.any_of)
            if item.direction:
                phrases += [*item.direction.low, *item.direction.high, *item.direction.about]
            shrunk += [p for p in phrases if len(words(p)) > 1 and len(_phrase_words(p)) < 2]
            patterns = [p for m in item.misconceptions for p in m.patterns]
            shrunk += [p for p in patterns if len(words(p)) > 1 and len(pattern_words(p)) < 2]
    assert not shrunk


PROMPT = ("explain", "prompts", 0)


def with_probes(probes):
    data = copy.deepcopy(MINIMAL)
    data["explain"]["prompts"][0]["probes"] = probes
    return data


def probe(pid="p1", item="c1", correct=(True, False, False)):
    return {"id": pid, "item": item, "misconception": "m", "question": "Q?",
            "options": [{"text": f"o{i}", "correct": c, "why": "w"} for i, c in enumerate(correct)]}


PROBE_CASES = [
    ("one probe only", [probe()], ["'probes'", "at least 2"]),
    ("five probes", [probe(f"p{n}") for n in range(5)], ["'probes'", "at most 4"]),
    ("probe of an unknown item", [probe(), probe("p2", item="nope")], ["probe item 'nope'", "c1"]),
    ("two correct options", [probe(), probe("p2", correct=(True, True, False))], ["exactly one correct"]),
    ("two options only", [probe(), probe("p2", correct=(True, False))], ["'options'", "at least 3"]),
    ("same probe id twice", [probe(), probe()], ["two probes have the same id"]),
]


@pytest.mark.parametrize("name, probes, expected", PROBE_CASES, ids=[c[0] for c in PROBE_CASES])
def test_probe_errors_name_file_prompt_and_field(tmp_path, name, probes, expected):
    with pytest.raises(LessonError) as info:
        load_lessons(write_folder(tmp_path / "bad", with_probes(probes)))
    message = str(info.value)
    for part in ["explain.yaml", "explain-one", *expected]:
        assert part in message, f"{name}: {part!r} not in {message!r}"


def test_every_prompt_has_probes_aimed_at_its_checklist():
    for prompt in load_lessons().prompts:
        assert 2 <= len(prompt.probes) <= 4, prompt.id
        assert {p.item for p in prompt.probes} <= {i.id for i in prompt.checklist}
        assert all(p.misconception and len(p.options) >= 3 for p in prompt.probes)
