"""The held-out test score in words, said the same way by the Lab's results and the command line.

One place for the sentence, because the point it makes (validation chose things, so report test) must
not drift between the two: the Lab shows it as Markdown, the terminal as plain text.
"""

from __future__ import annotations

from core.runs import stats
from core.train.engine import RunResult

__all__ = ["test_accuracy_words"]


def test_accuracy_words(result: RunResult, bold: str = "**") -> str:
    """Empty for a replay (no model) or a run cut short (no test pass); a complete run with no images
    left over says so. `bold` wraps the score (Markdown's ** in the Lab, nothing on a terminal)."""
    if result.test_acc is None or result.final is None:
        complete = (
            result.final is not None and result.model is not None and result.reason in ("finished", "early_stopped")
        )
        return (
            "No test images: every image went to training or validation, so no score here is free "
            "of the choices made on validation."
            if complete
            else ""
        )
    val, n = result.final.val_acc, result.test_images
    chose = (
        f"it chose epoch {result.best_epoch}, the one with the lowest validation loss"
        if result.reason == "early_stopped"
        else "you compare runs and settings on it"
    )
    return (
        f"{bold}Test accuracy {result.test_acc:.1%}{bold} ({stats.Accuracy.of(result.test_acc, n).band()} likely, "
        f"{n} held-out test images); validation {val:.1%} ({100 * (val - result.test_acc):+.1f} points "
        f"against test). The test images played no part in training or in any choice; validation did ({chose}), "
        f"so its score leans optimistic. Report the test score."
    )
