"""The "Explain it" scorer against a corpus of its own (tests/explain_corpus.yaml, original sentences).

For every prompt: answers built on a misconception but worded with the checklist's own vocabulary
must score under 75% and have the misconception named; correct answers in other, plain words must
score at least 50% and never be accused of a misconception; every model answer scores 100%.
"""
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from core.content.lessons import load_lessons
from core.content.scoring import COVERED, MISCONCEPTION, score_explanation

CORPUS = yaml.safe_load((Path(__file__).with_name("explain_corpus.yaml")).read_text(encoding="utf-8"))
PROMPTS = {p.id: p for p in load_lessons().prompts}
MISCONCEPTIONS = [(pid, i, text) for pid in PROMPTS for i, text in enumerate(CORPUS[pid]["misconceptions"])]
PARAPHRASES = [(pid, i, text) for pid in PROMPTS for i, text in enumerate(CORPUS[pid]["paraphrases"])]


def keyword_only(prompt):
    """The checklist as the old keyword scorer saw it: phrases only, no direction, no misconceptions."""
    return [replace(item, direction=None, misconceptions=()) for item in prompt.checklist]


def describe(result) -> str:
    return "; ".join(f"{v.id}: {v.status} {v.note[:60]}" for v in result.verdicts)


def test_corpus_covers_every_prompt_with_several_answers_of_each_kind():
    assert set(CORPUS) == set(PROMPTS)
    for pid in PROMPTS:
        assert len(CORPUS[pid]["misconceptions"]) >= 3, pid
        assert len(CORPUS[pid]["paraphrases"]) >= 3, pid


@pytest.mark.parametrize("pid, index, text", MISCONCEPTIONS, ids=[f"{p}-{i}" for p, i, _ in MISCONCEPTIONS])
def test_misconception_scores_under_75_percent_and_is_named(pid, index, text):
    prompt = PROMPTS[pid]
    # The answer really does use the checklist's words: a keyword scorer gives it at least half.
    assert score_explanation(text, keyword_only(prompt)).fraction >= 0.5
    result = score_explanation(text, prompt.checklist)
    assert result.fraction < 0.75, describe(result)
    named = result.with_status(MISCONCEPTION)
    assert named, describe(result)
    assert all(v.feedback.startswith("This sounds like the misconception that ") for v in named)
    assert all(v.evidence and v.evidence in " ".join(text.split()) for v in named)


@pytest.mark.parametrize("pid, index, text", PARAPHRASES, ids=[f"{p}-{i}" for p, i, _ in PARAPHRASES])
def test_correct_paraphrase_scores_at_least_half_and_is_never_accused(pid, index, text):
    result = score_explanation(text, PROMPTS[pid].checklist)
    assert result.fraction >= 0.5, describe(result)
    assert not result.with_status(MISCONCEPTION), describe(result)


@pytest.mark.parametrize("pid, index, text", PARAPHRASES, ids=[f"{p}-{i}" for p, i, _ in PARAPHRASES])
def test_paraphrase_is_not_a_copy_of_the_model_answer(pid, index, text):
    def runs(s, n=8):
        words = re.findall(r"[a-z0-9]+", s.lower())
        return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

    assert not runs(text) & runs(PROMPTS[pid].model_answer)


@pytest.mark.parametrize("pid", list(PROMPTS))
def test_model_answer_scores_full_marks_with_nothing_unclear(pid):
    result = score_explanation(PROMPTS[pid].model_answer, PROMPTS[pid].checklist)
    assert {v.status for v in result.verdicts} == {COVERED}, describe(result)
