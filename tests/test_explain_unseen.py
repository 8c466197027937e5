"""The "Explain it" matcher on answers it was never tuned on (tests/explain_unseen.yaml).

The matcher only suggests; a learner's mark comes from the probes and the self-check. What it
suggests must still never mislead: no wrong answer may have the idea it gets wrong reported as
spotted (so no wrong answer reads as mastered), and no right paraphrase may be called wrong.
"""
from pathlib import Path

import pytest
import yaml

from core.content.lessons import load_lessons
from core.content.scoring import COVERED, OPPOSITE, SPOTTED, score_explanation, suggestions

CORPUS = yaml.safe_load(Path(__file__).with_name("explain_unseen.yaml").read_text(encoding="utf-8"))
PROMPTS = {p.id: p for p in load_lessons().prompts}
WRONG = [(pid, i, a["item"], a["text"]) for pid in CORPUS for i, a in enumerate(CORPUS[pid]["wrong"])]
RIGHT = [(pid, i, text) for pid in CORPUS for i, text in enumerate(CORPUS[pid]["right"])]


def verdicts(pid: str, text: str) -> dict[str, str]:
    return {v.id: v.status for v in score_explanation(text, PROMPTS[pid].checklist).verdicts}


def suggested(pid: str, text: str) -> dict[str, list[str]]:
    """Suggestion kind -> the texts of that kind the learner would read."""
    checklist = PROMPTS[pid].checklist
    out: dict[str, list[str]] = {}
    for s in suggestions(score_explanation(text, checklist), {i.id: i.label for i in checklist}):
        out.setdefault(s.kind, []).append(s.text)
    return out


def test_corpus_is_large_and_spread_over_every_prompt():
    assert set(CORPUS) == set(PROMPTS)
    assert len(WRONG) >= 30 and len(RIGHT) >= 20
    for pid, prompt in PROMPTS.items():
        assert len(CORPUS[pid]["wrong"]) >= 3 and len(CORPUS[pid]["right"]) >= 2, pid
        ids = {item.id for item in prompt.checklist}
        assert {a["item"] for a in CORPUS[pid]["wrong"]} <= ids, pid


def test_corpus_answers_are_new():
    """None of them is in the tuning corpus (tests/explain_corpus.yaml) or a model answer."""
    tuned = yaml.safe_load(Path(__file__).with_name("explain_corpus.yaml").read_text(encoding="utf-8"))
    seen = {" ".join(t.split()) for p in tuned.values() for kind in p.values() for t in kind}
    seen |= {" ".join(p.model_answer.split()) for p in PROMPTS.values()}
    for _, _, _, text in WRONG:
        assert " ".join(text.split()) not in seen
    for _, _, text in RIGHT:
        assert " ".join(text.split()) not in seen


@pytest.mark.parametrize("pid, index, item, text", WRONG, ids=[f"{p}-wrong{i}" for p, i, _, _ in WRONG])
def test_a_wrong_idea_is_never_reported_as_spotted(pid, index, item, text):
    found = verdicts(pid, text)
    assert found[item] != COVERED, found
    assert set(found.values()) != {COVERED}  # the answer as a whole is never "every idea is there"
    label = next(i.label for i in PROMPTS[pid].checklist if i.id == item)
    assert label not in " ".join(suggested(pid, text).get(SPOTTED, []))


@pytest.mark.parametrize("pid, index, text", RIGHT, ids=[f"{p}-right{i}" for p, i, _ in RIGHT])
def test_a_right_paraphrase_is_never_called_wrong(pid, index, text):
    assert OPPOSITE not in suggested(pid, text), suggested(pid, text)
