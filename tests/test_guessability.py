"""Nothing in the quiz or the deep dive can be answered by a trick instead of knowledge.

Why: an expert review found the keyed quiz option was the longest in 24 of 35 questions, every
deep-dive prediction's answer was the second option, and every "myth" was false. A learner who
picks the longest option, or always says "myth", should score what blind guessing scores.

The margin: over a bank of N questions with 4 options, blind guessing scores 1/4 with a standard
error of sqrt(0.25 * 0.75 / N), about 0.065 at N = 45. We allow chance + 0.07 (about one standard
error): a content author who balances option lengths stays well inside it, while the old bank
(0.69 for "pick the longest") fails it by a wide margin. Tied lengths count as a fractional hit,
as a learner picking among the tied options at random would score.
"""
from statistics import median

import pytest

from core.content.lessons import load_lessons

MARGIN = 0.07


@pytest.fixture(scope="module")
def L():
    return load_lessons()


def _items(L):
    """(option texts, index of the keyed one) for every quiz question and deep-dive prediction."""
    items = [([o.text for o in q.options], q.correct_index) for q in L.questions]
    items += [(list(s.predict.options), s.predict.answer) for s in L.steps if s.predict]
    return items


def hit_rate(items, pick) -> float:
    """Mean score of a strategy that picks the options for which `pick(lengths)` holds."""
    total = 0.0
    for texts, answer in items:
        lengths = [len(t) for t in texts]
        chosen = [i for i, n in enumerate(lengths) if n == pick(lengths)]
        total += (answer in chosen) / len(chosen)
    return total / len(items)


def chance(items) -> float:
    return sum(1 / len(texts) for texts, _ in items) / len(items)


def test_strategy_scores_are_computed_right():
    # Two 4-option items: the keyed option is the longest in one, tied-longest with one other in the other.
    items = [(["aaaa", "b", "c", "d"], 0), (["aa", "bb", "c", "d"], 1)]
    assert hit_rate(items, max) == pytest.approx((1 + 0.5) / 2)
    assert hit_rate(items, min) == pytest.approx((0 + 0) / 2)
    assert chance(items) == pytest.approx(0.25)


@pytest.mark.parametrize("strategy,pick", [("longest", max), ("shortest", min)])
def test_picking_by_length_scores_near_chance(L, strategy, pick):
    items = _items(L)
    rate, base = hit_rate(items, pick), chance(items)
    assert rate <= base + MARGIN, (
        f"'pick the {strategy}' scores {rate:.2f} over {len(items)} items; chance is {base:.2f}. "
        f"Rewrite options so the keyed one is not the {strategy}.")


def test_keyed_option_is_not_systematically_longer(L):
    """Even when it is not the very longest, the answer should not be much longer than its rivals."""
    ratios = []
    for texts, answer in _items(L):
        others = [len(t) for i, t in enumerate(texts) if i != answer]
        ratios.append(len(texts[answer]) / (sum(others) / len(others)))
    assert 0.8 <= median(ratios) <= 1.25, median(ratios)


def test_prediction_answers_sit_at_varying_positions(L):
    answers = [s.predict.answer for s in L.steps if s.predict]
    assert len(set(answers)) >= 2, answers
    # No position holds more than half of the answers.
    assert max(answers.count(a) for a in set(answers)) <= len(answers) / 2, answers


def test_myths_hold_true_and_false_statements(L):
    verdicts = [m.predict_answer for m in L.myths]
    assert len(set(verdicts)) == 2, "all statements have the same verdict: 'always myth' would score 100%"
    # "Always say myth" and "always say true" both stay within the margin of a coin flip.
    share_true = sum(verdicts) / len(verdicts)
    assert abs(share_true - 0.5) <= 0.5 - 1 / 3, share_true


def test_no_question_repeats_another_prompt(L):
    """Recall questions asked twice in other words were replaced; a prompt appears once."""
    asked = [(" ".join(q.prompt.lower().split()), q.code, q.output, q.curves) for q in L.questions]
    assert len(set(asked)) == len(asked)
    assert not {"q-benefit-pretrained", "q-not-a-benefit"} & {q.id for q in L.questions}


def test_diagnosis_questions_show_a_real_exhibit(L):
    """At least a few questions ask to diagnose a run from its curves or an optimizer printout."""
    with_curves = [q for q in L.questions if q.curves]
    with_output = [q for q in L.questions if q.output and "group" in q.output]
    assert len(with_curves) >= 3 and len(with_output) >= 2
    for q in with_curves:
        assert q.curves.source.startswith("python -m core.cli"), q.id  # provenance: a command that reran it
        assert q.curves.epochs >= 5, q.id
