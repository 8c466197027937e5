"""Which lines differ between a pitfall's wrong and correct code, so the page can mark them.

Read side by side, two 15-line snippets that differ in one line hide their point; marking the
changed lines ("-" in the wrong code, "+" in the correct one) shows it at a glance. Line-level
difflib matching on the code alone (comments and trailing spaces left out): a line whose code is the
same on both sides, or that holds only a comment, is not a change a learner must study.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    text: str
    changed: bool


def code_of(line: str) -> str:
    """The line without its comment and trailing spaces (a '#' inside a string literal is code)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip()
    return line.rstrip()


def changed_lines(wrong: str, correct: str) -> tuple[list[Line], list[Line]]:
    """(wrong lines, correct lines), each flagged when it has no equal line matched on the other side."""
    a = wrong.rstrip("\n").split("\n")
    b = correct.rstrip("\n").split("\n")
    code_a, code_b = [code_of(s) for s in a], [code_of(s) for s in b]
    matcher = difflib.SequenceMatcher(None, code_a, code_b, autojunk=False)
    same_a = {i for i, c in enumerate(code_a) if not c.strip()}  # blank or only a comment: never marked
    same_b = {i for i, c in enumerate(code_b) if not c.strip()}
    for block in matcher.get_matching_blocks():
        same_a.update(range(block.a, block.a + block.size))
        same_b.update(range(block.b, block.b + block.size))
    return ([Line(t, i not in same_a) for i, t in enumerate(a)], [Line(t, i not in same_b) for i, t in enumerate(b)])
