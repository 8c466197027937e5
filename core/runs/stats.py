"""How far a validation accuracy can be trusted: its 95% Wilson interval, and what that means for
comparing runs.

Why: the Lab's validation sets are small (the default is 300 images), and a learner reads "87% vs
85%" as a win. At 300 images each of those numbers is uncertain by about 4 points either way, so
the same setup run twice with another seed can swap them. Every accuracy the Lab shows carries its
interval, a comparison whose intervals overlap says "within noise", and a page can say how many
validation images a given difference would need.

Wilson's interval (Wilson 1927) rather than the textbook p ± z·sqrt(p(1-p)/n): that one collapses
to zero width at 0% or 100% (a 20-image set scored 20 of 20 would claim "100% ± 0") and can leave
[0, 1]; Wilson's stays inside and keeps a sensible width at the ends. Pure Python: no statistics
package is needed for one formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the normal distribution's 97.5% quantile: a two-sided 95% interval
DIFFERENCE = 0.05  # the difference (5 points) the too-small warning asks about


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) for a proportion `p` observed on `n` trials."""
    if n <= 0:
        raise ValueError(f"An interval needs at least one validation image; got n={n}.")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"An accuracy lies between 0 and 1; got {p}.")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Accuracy:
    """`correct` of `n` validation images, with its 95% interval."""

    correct: int
    n: int

    @classmethod
    def of(cls, acc: float, n: int) -> Accuracy:
        """From a rate and the set's size (the engine reports rates; counts are whole images)."""
        return cls(int(round(acc * n)), int(n))

    @property
    def value(self) -> float:
        return self.correct / self.n

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.value, self.n)

    def band(self) -> str:
        """The interval as a table shows it: '88–95%'."""
        low, high = self.interval
        return f"{100 * low:.0f}–{100 * high:.0f}%"

    def words(self) -> str:
        """'87.0% (95% interval 82.7–90.3%, 300 validation images)'."""
        low, high = self.interval
        return f"{self.value:.1%} (95% interval {100 * low:.1f}–{100 * high:.1f}%, {self.n} validation images)"

    def overlaps(self, other: Accuracy) -> bool:
        a, b = self.interval, other.interval
        return a[0] <= b[1] and b[0] <= a[1]


def within_noise(a: Accuracy, b: Accuracy) -> bool:
    """True when the two intervals overlap: the data do not tell the runs apart.

    Overlap is the cautious test (two intervals can overlap a little while a paired test would
    call the difference real); a learner is told "within noise" rather than shown a false winner.
    """
    return a.overlaps(b)


def compare(label_a: str, a: Accuracy, label_b: str, b: Accuracy) -> str:
    """Which run is ahead, and whether the difference is more than noise, in one sentence."""
    (top, x), (other, y) = sorted(((label_a, a), (label_b, b)), key=lambda r: -r[1].value)
    gap = 100 * (x.value - y.value)
    if within_noise(x, y):
        return (
            f"**{top}** ({x.value:.1%}, {x.band()}) and **{other}** ({y.value:.1%}, {y.band()}): "
            f"{gap:.1f} points apart, **within noise**: the 95% intervals overlap, so these validation "
            f"sets cannot tell the two apart."
        )
    return (
        f"**{top}** ({x.value:.1%}, {x.band()}) beats **{other}** ({y.value:.1%}, {y.band()}) by "
        f"{gap:.1f} points, more than noise: the 95% intervals do not overlap."
    )


def near_chance(acc: float, n: int, chance: float) -> bool:
    """True when `acc` on `n` images is within noise of guessing: its interval overlaps the interval a
    guesser scoring `chance` would get on the same `n` images."""
    return within_noise(Accuracy.of(acc, n), Accuracy.of(chance, n))


def versus_best(accs: list[Accuracy | None]) -> list[str]:
    """For a table of runs: each run against the most accurate one ("best", "within noise", or how
    many points lower); '' where a run's validation size is unknown (rows stored before sizes were)."""
    known = [a for a in accs if a is not None]
    if len(known) < 2:
        return ["" for _ in accs]
    best = max(known, key=lambda a: a.value)
    out = []
    for a in accs:
        if a is None:
            out.append("")
        elif a is best:
            out.append("best")
        elif within_noise(a, best):
            out.append("within noise")
        else:
            out.append(f"{100 * (best.value - a.value):.1f} points lower")
    return out


# ---- how big a validation set has to be ------------------------------------------------------------


def _pair(acc: float, diff: float) -> tuple[float, float]:
    """Two accuracies `diff` apart around `acc`, kept inside [0, 1]."""
    centre = min(max(acc, diff / 2), 1 - diff / 2)
    return centre - diff / 2, centre + diff / 2


def _separated(acc: float, diff: float, n: int) -> bool:
    low, high = _pair(acc, diff)
    return wilson(low, n)[1] < wilson(high, n)[0]


def images_needed(acc: float, diff: float = DIFFERENCE) -> int:
    """The fewest validation images at which two runs `diff` apart near `acc` have intervals that no
    longer overlap (same size set for both). 554 for 5 points near 90%, 1,537 near 50%."""
    if not 0 < diff <= 1:
        raise ValueError(f"The difference is a share between 0 and 1; got {diff}.")
    hi = 1
    while not _separated(acc, diff, hi):
        hi *= 2
    lo = hi // 2  # not separated at lo (or lo is 0): bisect the smallest n that is
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _separated(acc, diff, mid) else (mid, hi)
    return hi


def resolvable_difference(acc: float, n: int) -> float:
    """The smallest difference between two runs near `acc`, each scored on `n` images, whose
    intervals do not overlap (1.0 when even 0% against 100% would overlap)."""
    if not _separated(acc, 1.0, n):
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(40):  # 2^-40: far finer than any difference a page shows
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if _separated(acc, mid, n) else (mid, hi)
    return hi


def too_small_warning(acc: float, n: int, num_classes: int = 0, diff: float = DIFFERENCE) -> str:
    """A warning when `n` validation images cannot separate runs `diff` apart near `acc`, else ''."""
    if n <= 0:
        return ""
    if _separated(acc, diff, n):
        return ""
    need = images_needed(acc, diff)
    per_class = f" (about {math.ceil(need / num_classes)} per class)" if num_classes else ""
    return (
        f"With {n} validation images, two runs near {acc:.0%} must differ by about "
        f"{100 * resolvable_difference(acc, n):.0f} points before their 95% intervals stop overlapping. "
        f"Telling apart runs {100 * diff:.0f} points apart needs about {need:,} validation "
        f"images{per_class}: raise *validation images per class*, or treat smaller differences as noise."
    )
