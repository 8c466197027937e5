"""An "Explain it" mark: misconception probes and the learner's own check, never the text matcher.

Why: a keyword matcher cannot tell a fluent wrong answer from a right one in other words, so the
mark counts only what can be judged reliably: the probes answered right (short multiple-choice
questions, each aimed at one known misconception) and the checklist ideas the learner ticks after
comparing their text with the model answer. Options are shown in an order of their own for each
learner, so a position remembered from a classmate's screen is no help.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ExplainMark", "ProbeOutcome", "grade_probes", "option_order"]


def option_order(learner: str, prompt_id: str, probe_id: str, n_options: int) -> tuple[int, ...]:
    """The order (indexes into the probe's options) this learner sees; the same on every visit."""
    seed = hashlib.sha256(f"{learner}\x1f{prompt_id}\x1f{probe_id}".encode()).digest()
    order = list(range(n_options))
    random.Random(seed).shuffle(order)
    return tuple(order)


@dataclass(frozen=True)
class ProbeOutcome:
    probe_id: str
    chosen: int | None  # index into the probe's options as written in the lessons, None if unanswered
    correct: bool
    why: str  # the chosen option's explanation ("" when unanswered)


def grade_probes(probes: Sequence, chosen: Mapping[str, int | None]) -> tuple[ProbeOutcome, ...]:
    """One outcome per probe; an unanswered probe counts as wrong."""
    out = []
    for probe in probes:
        index = chosen.get(probe.id)
        valid = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(probe.options)
        option = probe.options[index] if valid else None
        out.append(
            ProbeOutcome(
                probe.id, index if valid else None, bool(option and option.correct), option.why if option else ""
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class ExplainMark:
    """Probes right plus checklist ideas the learner ticked, out of probes plus checklist items."""

    probes_right: int
    probes_total: int
    self_checked: int
    checklist_total: int

    @property
    def found(self) -> int:
        return self.probes_right + self.self_checked

    @property
    def total(self) -> int:
        return self.probes_total + self.checklist_total

    @property
    def fraction(self) -> float:
        return self.found / self.total if self.total else 0.0

    @property
    def mastered(self) -> bool:
        return self.total > 0 and self.found == self.total

    def summary(self) -> str:
        return (
            f"{self.found} of {self.total}: {self.probes_right} of {self.probes_total} probes right, "
            f"{self.self_checked} of {self.checklist_total} ideas in your own check"
        )
