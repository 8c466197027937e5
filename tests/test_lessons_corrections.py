"""Lesson statements an expert review found wrong, each checked against what is true.

Why: the review (issue 26) found the term "catastrophic forgetting" used for divergence, a linear
head called nearly impossible to overfit, BatchNorm's harmful batch size given as 8 where the Lab's
runs show 4, a "new optimizer" offered without its cost, and the seed's "which is NOT a benefit"
question missing. The true facts are computed here (the preset's batch size, Adam's step sizes) or
pinned to the items that state them.
"""
import dataclasses
import json
import re

import torch

from core.content.lessons import load_lessons
from core.lab.presets import PRESETS


def _text(item) -> str:
    return " ".join(json.dumps(dataclasses.asdict(item)).split())


def _by_id(items, item_id):
    return next(i for i in items if i.id == item_id)


def test_catastrophic_forgetting_is_not_used_for_divergence():
    L = load_lessons()
    for item in (_by_id(L.cards, "card-high-lr-effect"), _by_id(L.questions, "q-large-lr"),
                 _by_id(L.pitfalls, "pitfall-high-lr-all-layers")):
        text = _text(item)
        assert "catastrophic forgetting" not in text.lower() and "diverge" in text, item.id
    concept = _text(_by_id(L.concepts, "small-learning-rate"))
    assert "diverge" in concept and "different failure from *catastrophic forgetting*" in concept


def test_a_linear_head_is_not_said_to_be_safe_from_overfitting():
    L = load_lessons()
    for item in (_by_id(L.myths, "belief-head-only-enough"), _by_id(L.questions, "q-count-head-weights")):
        assert "hardly overfit" not in _text(item) and "hard to overfit" not in _text(item), item.id


def _bn_preset():
    preset = PRESETS["bn-train-mode"]
    sizes = {cfg.batch_size for _, cfg in preset.runs}
    assert len(sizes) == 1
    return sizes.pop()


def test_batchnorm_examples_use_the_batch_size_the_preset_measured():
    batch = _bn_preset()
    L = load_lessons()
    items = [i for i in (*L.concepts, *L.cards, *L.questions, *L.pitfalls, *L.problems)
             if getattr(i, "concept", getattr(i, "id", "")) == "batchnorm-frozen" or i.id == "batchnorm-frozen"]
    stated = set()
    for item in items:
        text = _text(item)
        stated |= {int(n) for n in re.findall(r"(?:[Bb]atches of|[Ww]ith|noisy) (\d+)[ -]image", text)}
        stated |= {int(n) for n in re.findall(r"batches of (\d+)\b(?! between)", text)}
    assert batch in stated and stated <= {batch, 8}, stated
    concept = _text(_by_id(L.concepts, "batchnorm-frozen"))
    assert "batches of 8 between -0.3 and 8.7" in concept and "AdaBN" in concept


def test_a_fresh_adam_steps_the_full_rate_where_a_running_one_had_settled():
    """Why `add_param_group` beats a new optimizer in gradual unfreezing: noisy gradients with a
    small mean leave a running Adam taking small steps; a new Adam's first step is lr per weight."""
    torch.manual_seed(0)
    w = torch.zeros(1000, requires_grad=True)
    lr = 1e-3
    running = torch.optim.Adam([w], lr=lr)
    for _ in range(300):
        w.grad = 0.1 + torch.randn(1000)          # signal 0.1, noise 1
        running.step()
    before = w.detach().clone()
    w.grad = 0.1 + torch.randn(1000)
    running.step()
    settled = float((w.detach() - before).abs().mean())
    fresh = torch.optim.Adam([w], lr=lr)
    before = w.detach().clone()
    fresh.step()
    first = float((w.detach() - before).abs().mean())
    assert abs(first - lr) < 1e-6 and settled < 0.5 * first, (settled, first)
    text = _text(_by_id(load_lessons().concepts, "gradual-unfreezing"))
    assert "moments" in text and "add_param_group" in text


def test_the_seed_not_a_benefit_question_has_a_quiz_item():
    L = load_lessons()
    entry = next(c for c in L.coverage if c.label.startswith("002 mcq 5"))
    quizzes = [ref.split(":")[1] for ref in entry.covered_by if ref.startswith("quizzes:")]
    assert quizzes and any("*not*" in _by_id(L.questions, q).prompt for q in quizzes)
    benefit = next(c for c in L.coverage if c.label.startswith("004 mcq 4"))
    assert not any("diagnose" in ref for ref in benefit.covered_by), benefit.covered_by


def test_fast_ai_is_credited_before_ulmfit():
    text = _text(_by_id(load_lessons().sections, "why-designed"))
    assert "fast.ai's 2017" in text and "ULMFiT (2018)" in text
