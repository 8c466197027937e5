"""Probes and the "Explain it" mark (core/explain_probes.py), and that no probe can be answered by a
trick: picking the longest, the shortest, an option with an absolute word, or always the same
position scores within 10 points of chance, in the lessons' order and in the order learners see."""
import re

import pytest

from core.content.explain_probes import ExplainMark, grade_probes, option_order
from core.content.lessons import load_lessons

MARGIN = 0.10
ABSOLUTE = re.compile(r"\b(always|only|never|every)\b", re.IGNORECASE)
PROMPTS = load_lessons().prompts
PROBES = [(p.id, probe) for p in PROMPTS for probe in p.probes]
LEARNERS = [f"learner-{n}" for n in range(60)]


def items(order_for=None):
    """(option texts as shown, index of the right one) for every probe."""
    out = []
    for pid, probe in PROBES:
        order = order_for(pid, probe) if order_for else tuple(range(len(probe.options)))
        texts = [probe.options[i].text for i in order]
        out.append((texts, order.index(probe.correct_index)))
    return out


def score(items_, choose) -> float:
    """Mean score of a strategy that picks uniformly among the options `choose(texts)` returns."""
    total = 0.0
    for texts, answer in items_:
        chosen = choose(texts) or list(range(len(texts)))
        total += (answer in chosen) / len(chosen)
    return total / len(items_)


def by_length(pick):
    return lambda texts: [i for i, t in enumerate(texts) if len(t) == pick(len(x) for x in texts)]


STRATEGIES = {
    "longest": by_length(max),
    "shortest": by_length(min),
    "absolute word": lambda texts: [i for i, t in enumerate(texts) if ABSOLUTE.search(t)],
}


def at_position(k):
    return lambda texts: [min(k, len(texts) - 1)]


STRATEGIES.update({f"position {k}": at_position(k) for k in range(4)})


def chance(items_) -> float:
    return sum(1 / len(texts) for texts, _ in items_) / len(items_)


def test_the_strategy_scorer_counts_ties_as_a_fair_pick():
    two = [(["aaa", "b", "ccc"], 0), (["a", "bb", "c"], 1)]
    assert score(two, STRATEGIES["longest"]) == pytest.approx((0.5 + 1) / 2)
    assert score(two, STRATEGIES["position 0"]) == pytest.approx(0.5)
    assert score(two, STRATEGIES["absolute word"]) == pytest.approx(1 / 3)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_no_trick_beats_chance_by_10_points_in_the_written_order(strategy):
    bank = items()
    assert len(bank) >= 2 * len(PROMPTS)
    assert abs(score(bank, STRATEGIES[strategy]) - chance(bank)) <= MARGIN, strategy


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_no_trick_beats_chance_by_10_points_in_the_order_learners_see(strategy):
    rates = [score(items(lambda pid, probe: option_order(who, pid, probe.id, len(probe.options))),
                   STRATEGIES[strategy]) for who in LEARNERS]
    assert abs(sum(rates) / len(rates) - chance(items())) <= MARGIN, strategy


def test_option_order_is_a_stable_permutation_that_differs_between_learners():
    pid, probe = PROBES[0]
    order = option_order("ada", pid, probe.id, 3)
    assert sorted(order) == [0, 1, 2] and order == option_order("ada", pid, probe.id, 3)
    assert len({option_order(who, pid, probe.id, 3) for who in LEARNERS}) == 6  # all orders occur


def test_grading_counts_right_answers_and_treats_bad_input_as_unanswered():
    probes = PROMPTS[0].probes
    right = {p.id: p.correct_index for p in probes}
    assert all(o.correct and o.why for o in grade_probes(probes, right))
    wrong = {probes[0].id: (probes[0].correct_index + 1) % 3, probes[1].id: True, probes[2].id: 99}
    outcomes = grade_probes(probes, wrong)
    assert [o.correct for o in outcomes] == [False] * len(probes)
    assert outcomes[0].why == probes[0].options[wrong[probes[0].id]].why
    assert [o.chosen for o in outcomes[1:]] == [None] * (len(probes) - 1)


def test_mark_needs_every_probe_and_every_idea_for_mastered():
    assert ExplainMark(3, 3, 4, 4).mastered
    assert not ExplainMark(2, 3, 4, 4).mastered and not ExplainMark(3, 3, 3, 4).mastered
    mark = ExplainMark(2, 3, 1, 4)
    assert (mark.found, mark.total, round(mark.fraction, 3)) == (3, 7, 0.429)
    assert mark.summary() == "3 of 7: 2 of 3 probes right, 1 of 4 ideas in your own check"
