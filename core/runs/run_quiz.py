"""A quiz made from the learner's own run: questions whose answers are in the run's charts.

Why: after a run the charts are there, but a learner scrolls past them. Asking "in which epoch did
validation loss bottom out?" about *this* run makes them read the Loss chart, and the answer is
checked against the run's own numbers, so it cannot be learned by heart. Each question is built
from the epochs the engine reported (core.train.events.EpochEnded) and is left out when the data make it
ambiguous: two epochs with practically the same loss, a one-epoch run, signals that disagree. A
question is never graded against a guess.

Deterministic: the same run gives the same questions, options, order and ids; the order is a shuffle
keyed by the id, so no position and no place in a sorted list gives the answer away. An id names the kind
of question and a digest of the run's numbers ("run:val_loss_min:3f2a…"), so answers
go into the progress store next to lesson quiz answers (ids that start with RUN_PREFIX are not
lesson questions; the Progress page and the quiz's "missed before" list leave them out).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.content.order import shuffled_order
from core.train.events import best_epoch

RUN_PREFIX = "run:"
LOSS_TIE = 0.01  # two validation losses within 1% of each other look level on the chart: a tie
MOVE_TIE = 0.05  # two groups' weight changes within 5% of each other: no clear "moved most"
OVERFIT_RISE = 0.05  # validation loss 5% above its minimum by the last epoch: it clearly turned up
OVERFIT_GAP = 0.10  # a train - validation accuracy gap of 10 points: the Accuracy chart labels it
MAX_OPTIONS = 4
NOT_OVERFITTING = "No: validation loss was still at its lowest in the last epoch"


@dataclass(frozen=True)
class RunQuestion:
    id: str
    kind: str  # val_loss_min | moved_most | overfitting
    prompt: str
    options: tuple[str, ...]
    answer: int  # index of the right option
    explanation: str  # what the chart shows, with the numbers
    chart: str  # the Lab chart that holds the answer

    @property
    def right_option(self) -> str:
        return self.options[self.answer]

    def check(self, chosen: str) -> bool:
        return chosen == self.right_option


def _shown(
    qid: str, kind: str, prompt: str, options: Sequence[str], answer: int, explanation: str, chart: str
) -> RunQuestion:
    """The question with its options in an order fixed by its id: built in a natural order, the right
    epoch sat at option 3 in 3 of 4 questions ("always pick option 3" beat chance by 47 points)."""
    order = shuffled_order(len(options), qid)
    return RunQuestion(qid, kind, prompt, tuple(options[i] for i in order), order.index(answer), explanation, chart)


def is_run_question(question_id: str) -> bool:
    return question_id.startswith(RUN_PREFIX)


def questions_for(epochs: Sequence) -> list[RunQuestion]:
    """The questions this run can answer unambiguously (none, one, two or three)."""
    epochs = [e for e in epochs if e is not None]
    made = (val_loss_min_question(epochs), moved_most_question(epochs), overfitting_question(epochs))
    return [q for q in made if q is not None]


def _digest(kind: str, epochs: Sequence) -> str:
    """The question's id: its kind and a digest of the run's numbers (the same run, the same id)."""
    values = [
        (e.epoch, e.train_loss, e.val_loss, e.train_acc, e.val_acc, sorted(e.weight_change.items())) for e in epochs
    ]
    text = repr(values)  # floats print exactly (shortest round-trip repr), so this is stable
    return f"{RUN_PREFIX}{kind}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def _finite(epochs: Sequence) -> bool:
    return all(math.isfinite(e.val_loss) and math.isfinite(e.train_loss) for e in epochs)


def _lowest(epochs: Sequence):
    """The epoch with the lowest validation loss, or None when another comes within LOSS_TIE of it."""
    best = best_epoch(epochs)  # the epoch early stopping keeps and the Loss chart stars
    if best is None:
        return None
    others = [e.val_loss for e in epochs if e is not best and math.isfinite(e.val_loss)]
    if others and min(others) - best.val_loss <= LOSS_TIE * abs(best.val_loss):
        return None
    return best


def _epoch_options(right: int, last: int, first: int = 1, count: int = MAX_OPTIONS) -> list[int]:
    """Up to `count` epochs including `right`: its neighbours, then the ends of the run."""
    picks = [right]
    for e in (right - 1, right + 1, first, last, right - 2, right + 2):
        if first <= e <= last and e not in picks and len(picks) < count:
            picks.append(e)
    return sorted(picks)


# ---- in which epoch did validation loss bottom out? -------------------------------------------------


def val_loss_min_question(epochs: Sequence) -> RunQuestion | None:
    finite = [e for e in epochs if math.isfinite(e.val_loss)]
    if len(finite) < 2:
        return None  # one epoch: nothing to compare
    best = _lowest(finite)
    if best is None:
        return None
    last = finite[-1]
    picks = _epoch_options(best.epoch, last.epoch, finite[0].epoch)
    after = (
        f" and ended at {last.val_loss:.3g} in epoch {last.epoch}"
        if last.epoch != best.epoch
        else ": it was still falling when the run ended"
    )
    return _shown(
        _digest("val_loss_min", epochs),
        "val_loss_min",
        "In which epoch did **validation loss** bottom out in your run?",
        tuple(f"Epoch {e}" for e in picks),
        picks.index(best.epoch),
        f"Validation loss was lowest in epoch {best.epoch} ({best.val_loss:.3g}){after}. The Loss chart "
        f'marks it with a star ("best epoch"); early stopping would keep that epoch\'s weights.',
        "Loss",
    )


# ---- which group's weights moved most? ----------------------------------------------------------------


def moved_most_question(epochs: Sequence) -> RunQuestion | None:
    if not epochs or not epochs[-1].weight_change:
        return None
    change = dict(epochs[-1].weight_change)
    if len(change) < 2 or not all(math.isfinite(v) for v in change.values()):
        return None
    ranked = sorted(change, key=lambda g: -change[g])
    top, second = ranked[0], ranked[1]
    if change[top] <= 0 or change[top] - change[second] <= MOVE_TIE * change[top]:
        return None  # nothing moved, or two groups moved about as much
    order = list(change)  # the engine's order: input to output
    shown = sorted(ranked[:MAX_OPTIONS], key=order.index)
    still = [g for g in order if change[g] == 0]
    frozen = f" Groups that never trained ({', '.join(still)}) stay at 0." if still else ""
    return _shown(
        _digest("moved_most", epochs),
        "moved_most",
        "Which layer group's weights **moved most** from where they started, relative to their size?",
        tuple(shown),
        shown.index(top),
        f"On the Weight change chart, {top} ends highest ({change[top]:.3g}, that is ‖ΔW‖/‖W₀‖), ahead of "
        f"{second} ({change[second]:.3g}).{frozen}",
        "Weight change",
    )


# ---- is this run overfitting, and from which epoch? ---------------------------------------------------


def overfitting_question(epochs: Sequence) -> RunQuestion | None:
    if len(epochs) < 3 or not _finite(epochs):
        return None  # too short to see a turn, or a diverged run (that is not overfitting)
    best = _lowest(epochs)
    if best is None:
        return None
    last = epochs[-1]
    gap = max(e.train_acc - e.val_acc for e in epochs)
    if best.epoch == last.epoch:
        if gap > OVERFIT_GAP:
            return None  # the Accuracy chart labels a gap "overfitting" while val loss still falls
        return _overfit_q(
            epochs,
            None,
            (
                f"Validation loss was still falling: its lowest point is the last epoch ({last.epoch}, "
                f"{last.val_loss:.3g}) on the Loss chart, and training and validation accuracy stay within "
                f"{100 * max(gap, 0):.0f} points of each other. More epochs might still help."
            ),
        )
    rose = last.val_loss >= best.val_loss * (1 + OVERFIT_RISE)
    train_fell = last.train_loss < best.train_loss
    if not (rose and train_fell):
        return None  # a plateau, or both losses rising (an unstable run, not overfitting)
    start = best.epoch + 1
    return _overfit_q(
        epochs,
        start,
        (
            f"Yes. On the Loss chart validation loss bottoms out in epoch {best.epoch} ({best.val_loss:.3g}) and "
            f"rises to {last.val_loss:.3g} by epoch {last.epoch}, while training loss keeps falling "
            f"({best.train_loss:.3g} → {last.train_loss:.3g}): from epoch {start} the model fits its own "
            f"training images at the cost of new ones."
        ),
    )


def _overfit_q(epochs: Sequence, start: int | None, explanation: str) -> RunQuestion:
    last = epochs[-1].epoch
    first = epochs[0].epoch + 1  # overfitting "from epoch 1" would need a minimum before the run
    shown = _epoch_options(start if start is not None else last, last, first, MAX_OPTIONS - 1)
    options = [NOT_OVERFITTING] + [f"Yes, from epoch {e}" for e in shown]
    answer = 0 if start is None else options.index(f"Yes, from epoch {start}")
    return _shown(
        _digest("overfitting", epochs),
        "overfitting",
        "Is this run **overfitting**, and if so, from which epoch?",
        options,
        answer,
        explanation,
        "Loss",
    )
