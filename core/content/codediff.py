"""Which lines differ between a pitfall's wrong and correct code, so the page can mark them.

Read side by side, two 15-line snippets that differ in one line hide their point; marking the
changed lines ("-" in the wrong code, "+" in the correct one) shows it at a glance. Line-level
difflib matching, ignoring trailing spaces: a reflowed comment is not a change a learner must study.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    text: str
    changed: bool


def changed_lines(wrong: str, correct: str) -> tuple[list[Line], list[Line]]:
    """(wrong lines, correct lines), each flagged when it has no equal line matched on the other side."""
    a = wrong.rstrip("\n").split("\n")
    b = correct.rstrip("\n").split("\n")
    matcher = difflib.SequenceMatcher(None, [s.rstrip() for s in a], [s.rstrip() for s in b], autojunk=False)
    same_a, same_b = set(), set()
    for block in matcher.get_matching_blocks():
        same_a.update(range(block.a, block.a + block.size))
        same_b.update(range(block.b, block.b + block.size))
    return ([Line(t, i not in same_a) for i, t in enumerate(a)], [Line(t, i not in same_b) for i, t in enumerate(b)])
