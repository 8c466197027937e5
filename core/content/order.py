"""The order in which a page shows a question's options: a shuffle fixed by a key.

Why one place: the quiz and deep-dive pages shuffle with a per-session key, and
tests/test_guessability.py measures "always pick position N" on the same orders the pages show.
"""

from __future__ import annotations

import random

__all__ = ["shuffled_order"]


def shuffled_order(count: int, key: str) -> list[int]:
    """Indices 0..count-1 in the order `key` fixes (the same key, the same order)."""
    order = list(range(count))
    random.Random(key).shuffle(order)
    return order
