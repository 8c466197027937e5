"""Error analysis after a run: the validation images the model finds hardest, and those whose label
it doubts.

An image's loss is the cross-entropy of its own label, -log p(true class): a confident mistake costs
far more than an unsure one, so sorting by loss puts first what most deserves a look. A mistake the
model makes with at least CONFIDENT probability is flagged as *likely mislabelled*: on a dataset the
model otherwise gets mostly right, such an image is often labelled wrong, but it may also be a hard or
ambiguous image, so the flag is a reason to inspect, never proof. The probabilities are the run's own
(``core.runs.analysis.validation_probabilities``: the engine's last validation pass of the model it
handed back), so nothing here trains or re-scores more than the gallery already does.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
import torch

from core.data.datasets import PreparedData
from core.runs.analysis import data_for, validation_probabilities
from core.train.engine import RunResult

__all__ = ["CONFIDENT", "HardImage", "advice", "confused_pairs", "hardest", "highest_loss", "image_losses"]

CONFIDENT = 0.9  # a mistake made at this probability or more is worth checking the label of
_FLOOR = 1e-7  # p(true) is clipped here so a loss stays finite (16.1 at most)


class HardImage(NamedTuple):
    val_index: int  # position in the validation set (data.val_x[index])
    true: str
    predicted: str
    confidence: float  # probability of the predicted class
    loss: float  # -log p(true class)
    likely_mislabelled: bool  # wrong, and confident: inspect its label


def image_losses(probs: torch.Tensor | np.ndarray, labels) -> np.ndarray:
    """Cross-entropy of each image's own label, from softmax probabilities [N, C] and labels [N]."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"{len(p)} rows of probabilities but {len(y)} labels.")
    return -np.log(np.clip(p[np.arange(len(y)), y], _FLOOR, 1.0))


def highest_loss(
    probs: torch.Tensor | np.ndarray, labels, class_names: list[str], limit: int = 12, confident: float = CONFIDENT
) -> list[HardImage]:
    """The `limit` images with the highest loss, highest first; ties keep validation order."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    losses = image_losses(p, y)
    order = np.argsort(-losses, kind="stable")[: max(0, limit)]
    rows = []
    for i in order.tolist():
        pred = int(p[i].argmax())
        conf = float(p[i, pred])
        wrong = pred != int(y[i])
        rows.append(
            HardImage(i, class_names[y[i]], class_names[pred], conf, float(losses[i]), wrong and conf >= confident)
        )
    return rows


def hardest(result: RunResult, data: PreparedData | None = None, limit: int = 12) -> list[HardImage]:
    """highest_loss for a finished run, on the validation images it was judged on."""
    data = data_for(result, data)
    probs = validation_probabilities(result, data)
    return highest_loss(probs, data.val_y.tolist(), list(data.class_names), limit)


def confused_pairs(rows: list[HardImage]) -> list[tuple[str, str, int]]:
    """(true, predicted, count) among the mistakes in `rows`, most frequent first."""
    counts = Counter((r.true, r.predicted) for r in rows if r.true != r.predicted)
    return [(t, p, n) for (t, p), n in counts.most_common()]


def advice(rows: list[HardImage]) -> list[str]:
    """What to do next, one sentence per finding, from what `rows` hold."""
    flagged = [r for r in rows if r.likely_mislabelled]
    wrong = [r for r in rows if r.true != r.predicted]
    steps = []
    if flagged:
        steps.append(
            f"{len(flagged)} image{'s' if len(flagged) != 1 else ''} marked ⚑: the model is at least "
            f"{CONFIDENT:.0%} sure of another class. Look at each one: if its label is wrong, fix it in your "
            f"data (a wrong validation label makes a right answer count as a mistake; a wrong training label "
            f"teaches the mistake). If the label is right, the image is hard or unusual: keep it, and add more like it."
        )
    pairs = confused_pairs(rows)
    if pairs and pairs[0][2] > 1:
        t, p, n = pairs[0]
        steps.append(
            f"The most frequent confusion here is true {t} read as {p} ({n} images): collect more training "
            f"images of both, especially ones that show what tells them apart."
        )
    if wrong and not flagged:
        steps.append(
            "No mistake is confident enough to doubt its label: the model is unsure on these. More training "
            "images, more epochs or training more layers usually help more than fixing labels."
        )
    if not wrong:
        steps.append(
            "Every image here is classified right; they only have the lowest confidence. Nothing to fix: "
            "these are the cases closest to the boundary between classes."
        )
    return steps
