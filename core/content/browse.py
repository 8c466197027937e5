"""One item at a time through an ordered list (Concepts, Pitfalls): which item a link asks for, and
its neighbours.

Why here and not in the pages: the page scripts stay thin views, and the rules a link depends on
(an unknown id falls back to the first item, an old `#anchor` still names its item) are tested
without Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Place", "locate", "normalise_id"]


@dataclass(frozen=True)
class Place:
    """Where the reader is: the item shown, its neighbours in the stepping order, and what went wrong."""

    current: str | None  # None only when there is nothing to show
    position: int | None  # 1-based place in the stepping order; None for an extra page (takeaways)
    total: int  # items in the stepping order
    previous: str | None
    next: str | None
    unknown: str | None = None  # the requested id when it named no item (the first item is shown)

    @property
    def is_first(self) -> bool:
        return self.position == 1

    @property
    def is_last(self) -> bool:
        return self.position == self.total


def normalise_id(raw: str | None) -> str | None:
    """An id as a link may carry it: "#freezing-layers" (the old page's anchors), " Freezing-Layers ".
    None or blank gives None."""
    if raw is None:
        return None
    cleaned = raw.strip().lstrip("#").strip().lower()
    return cleaned or None


def locate(order: Sequence[str], requested: str | None, extras: Sequence[str] = ()) -> Place:
    """The item `requested` names in `order` (stepped through with previous/next) or in `extras`
    (pages reached from the contents only, outside the stepping order). No request gives the first
    item; an unknown one gives the first item and says which id it was."""
    wanted = normalise_id(requested)
    if wanted in extras:
        return Place(current=wanted, position=None, total=len(order), previous=None, next=None)
    unknown = wanted if wanted is not None and wanted not in order else None
    if not order:
        return Place(current=None, position=None, total=0, previous=None, next=None, unknown=unknown)
    index = order.index(wanted) if wanted in order else 0
    return Place(
        current=order[index],
        position=index + 1,
        total=len(order),
        previous=order[index - 1] if index > 0 else None,
        next=order[index + 1] if index + 1 < len(order) else None,
        unknown=unknown,
    )
