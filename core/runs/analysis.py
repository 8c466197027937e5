"""After a run: where the model goes wrong, and what it says about a learner's own photo.

Everything works from a finished ``RunResult`` and the ``PreparedData`` it was trained on. The
gallery needs each validation image's confidence: the engine keeps the probabilities of its last
validation pass (``RunResult.val_probs``), so they are recomputed only for a result without them.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import NamedTuple

import numpy as np
import torch

from core.data.datasets import DATASETS, PreparedData, prepare, to_square_tensor
from core.data.imagefiles import DataError, read_image
from core.runs import stats
from core.train import events, freezing
from core.train.engine import RunResult
from core.train.events import EpochEnded, final_epoch  # noqa: F401  (final_epoch: used here and by callers)
from core.train.freezing import ever_trainable
from core.train.inputs import normalise

MAX_UPLOAD_MB = 20  # a phone photo is 2-8 MB; more is a mistake or an attack (the upload widgets refuse it first)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_ASPECT = 20  # longest side / shortest side of a photo we classify
_EVAL_BATCH = 128


class Mistake(NamedTuple):
    index: int  # position in the validation set (data.val_x[index])
    true: str  # class name
    predicted: str
    confidence: float  # softmax probability of the (wrong) predicted class


# ---- counting ---------------------------------------------------------------------------------


def confusion_matrix(true, pred, n_classes: int) -> np.ndarray:
    """Counts [n_classes, n_classes]: row = true class, column = predicted class."""
    true, pred = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"{len(true)} true labels but {len(pred)} predictions.")
    if len(true) and (min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= n_classes):
        raise ValueError(f"Labels must lie in 0..{n_classes - 1}.")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)  # add.at, not +=: repeated (true, pred) pairs must all count
    return cm


def per_class_accuracy(true, pred, class_names: list[str]) -> list[tuple[str, int, int, float]]:
    """(class name, correct, total, accuracy) per class; accuracy is NaN for a class with no images."""
    cm = confusion_matrix(true, pred, len(class_names))
    rows = []
    for i, name in enumerate(class_names):
        total = int(cm[i].sum())
        correct = int(cm[i, i])
        rows.append((name, correct, total, correct / total if total else float("nan")))
    return rows


# ---- the data and the model's view of it -------------------------------------------------------


def data_for(result: RunResult, data: PreparedData | None = None) -> PreparedData:
    """The PreparedData the run was trained on: given (uploaded sets), or rebuilt from the config.

    prepare() is cached per server and seeded, so rebuilding returns the very same split.
    """
    cfg = result.config
    if data is None:
        if cfg.dataset not in DATASETS:
            raise DataError(
                f"The run used the uploaded dataset {cfg.dataset!r}; its images are needed "
                f"to show the validation gallery."
            )
        data = prepare(cfg.dataset, cfg.per_class, cfg.val_per_class, cfg.image_size, cfg.seed)
    if list(data.class_names) != list(result.class_names) or (
        result.val_true and len(data.val_y) != len(result.val_true)
    ):
        raise DataError(
            "These images are not the ones this run was trained on (classes or validation "
            "size differ). Train again to analyse this dataset."
        )
    return data


def _require_model(result: RunResult) -> torch.nn.Module:
    if result.model is None:
        raise ValueError("This run has no model (it stopped before training); nothing to analyse.")
    return result.model


def validation_probabilities(result: RunResult, data: PreparedData | None = None) -> torch.Tensor:
    """Softmax probabilities [N_val, n_classes] of the run's final model, in eval mode."""
    data = data_for(result, data)
    if result.val_probs is not None and len(result.val_probs) == len(data.val_y):
        return result.val_probs  # the engine's own validation pass of the model it handed back
    model = _require_model(result)
    model.eval()  # dropout off and BatchNorm on running statistics, as at validation time
    device = next(model.parameters()).device
    outs = []
    with torch.inference_mode():
        for i in range(0, len(data.val_x), _EVAL_BATCH):
            logits = model(normalise(data.val_x[i : i + _EVAL_BATCH], device)).float()
            outs.append(torch.softmax(logits, dim=1).cpu())
    return torch.cat(outs) if outs else torch.zeros(0, len(data.class_names))


def misclassified(result: RunResult, data: PreparedData | None = None, limit: int = 24) -> list[Mistake]:
    """Wrong validation predictions, most confident first (confident mistakes teach the most)."""
    data = data_for(result, data)
    probs = validation_probabilities(result, data)
    if len(probs) == 0:
        return []
    conf, pred = probs.max(dim=1)
    names = data.class_names
    wrong = [
        Mistake(i, names[int(t)], names[int(p)], float(c))
        for i, (t, p, c) in enumerate(zip(data.val_y.tolist(), pred.tolist(), conf.tolist()))
        if t != p
    ]
    wrong.sort(key=lambda m: -m.confidence)
    return wrong[: max(0, limit)]


def val_image(data: PreparedData, index: int) -> np.ndarray:
    """Validation image `index` as HxWx3 uint8, as the model saw it (after resizing)."""
    return data.val_x[index].permute(1, 2, 0).numpy()


def is_greyscale(data: PreparedData) -> bool:
    """True when every training image has three equal channels (MNIST, faces...)."""
    x = data.train_x
    return bool(len(x)) and bool((x[:, 0] == x[:, 1]).all() and (x[:, 1] == x[:, 2]).all())


# ---- a learner's own photo ---------------------------------------------------------------------


def read_image_bytes(
    content: bytes, name: str = "upload", max_bytes: int = MAX_UPLOAD_BYTES, max_short_side: int | None = None
) -> np.ndarray:
    """Decode uploaded bytes to HxWx3 uint8 with read_image's checks, or raise DataError; with
    `max_short_side`, kept at most that size (read_image's kept_size)."""
    if len(content) > max_bytes:
        raise DataError(
            f"{name} is {len(content) / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB. Use a smaller photo."
        )
    if not content:
        raise DataError(
            f"{name} is empty (0 bytes). Choose the photo again; if it still fails, save it again as JPEG or PNG."
        )
    # read_image works on paths (so its messages can name the file); a temp file keeps one decoder.
    # The learner's file name is untrusted: keep plain characters only, never a path.
    safe = re.sub(r"[^\w.\- ]", "_", os.path.basename(name))[:80].strip(". ") or "upload"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, safe)
        with open(path, "wb") as fh:
            fh.write(content)
        return read_image(path, max_short_side=max_short_side)


def model_view(image: np.ndarray, size: int, greyscale: bool = False, invert: bool = False) -> np.ndarray:
    """The photo as the model receives it: SxSx3 uint8 after the grey conversion, the optional
    inversion and the dataset's resize (short side to `size`, centre crop). Shown to the learner,
    because a 4000-pixel colour photo and the 64-pixel grey square the model sees differ a lot."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise DataError("Expected an HxW or HxWx3 image of 8-bit pixels.")
    h, w = image.shape[:2]
    if min(h, w) < 1 or max(h, w) > MAX_ASPECT * min(h, w):
        # Resizing the short side of a 1x40,000,000 strip up to `size` would need gigabytes.
        raise DataError(f"The image is {w}x{h} pixels: too long and thin to classify. Crop it closer to a square.")
    if greyscale and image.ndim == 3:
        # ITU-R 601 luma, the weights PIL's convert("L") uses
        image = (image @ np.array([0.299, 0.587, 0.114])).round().clip(0, 255).astype(np.uint8)
    if invert:  # MNIST digits are white on black; a photo of ink on paper is the opposite
        image = 255 - image
    return to_square_tensor(image, size).permute(1, 2, 0).numpy()


def mostly_light(view: np.ndarray) -> bool:
    """True when a picture is mostly bright (dark ink on paper): the opposite of MNIST's polarity."""
    return float(np.median(view)) > 127


def predict_image(
    model: torch.nn.Module,
    image: np.ndarray,
    class_names: list[str],
    size: int,
    greyscale: bool = False,
    invert: bool = False,
) -> list[tuple[str, float]]:
    """(class, probability) for every class, most likely first, for the photo as `model_view` makes it.

    With greyscale=True the photo is first turned grey, because a model trained on grey images has
    never seen colour.
    """
    x = torch.from_numpy(model_view(image, size, greyscale, invert)).permute(2, 0, 1)[None]
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        probs = torch.softmax(model(normalise(x, device)).float(), dim=1)[0].cpu().tolist()
    if len(probs) != len(class_names):
        raise ValueError(f"The model has {len(probs)} outputs but {len(class_names)} class names were given.")
    return sorted(zip(class_names, probs), key=lambda cp: -cp[1])


# ---- what a run's outcome means -----------------------------------------------------------------
# A finished run is not a success by itself: issue 10 saw an lr-0.1 run at 8.3% (chance is 10%)
# end with a green tick. A verdict names chance level, wrecked models, the gap in points and a
# best epoch the final one fell short of.

CHANCE_MARGIN = 0.05  # within 5 points of 1/num_classes counts as "about chance"
WRECK_RISE = 0.10  # a run that once stood 10 points above that band and fell back was wrecked
BEST_BEAT = 0.01  # a best epoch 1 point above the final one is worth saying


class Verdict(NamedTuple):
    level: str  # success | info | warning | error: how the page draws it
    headline: str
    notes: tuple[str, ...] = ()


def chance_level(num_classes: int) -> float:
    return 1.0 / max(1, num_classes)


def points(delta: float) -> str:
    """An accuracy difference in percentage points, as a teacher says it: '12 points'."""
    v = abs(100 * delta)
    return f"{v:.0f} points" if v >= 10 else f"{v:.1f} points"


def gap_words(train_acc: float, val_acc: float) -> str:
    """The train-minus-validation gap, with its sign explained."""
    gap = train_acc - val_acc
    if abs(gap) < 0.005:
        return "Training and validation accuracy are equal: no sign of overfitting."
    if gap > 0:
        return f"Training accuracy is {points(gap)} above validation" + (
            ": the model memorised its training images (overfitting)."
            if gap > 0.1
            else ": a small gap, usual for a model that generalises."
        )
    return (
        f"Validation accuracy is {points(gap)} above training: normal with augmentation (training "
        f"images are made harder) or a small, noisy validation set."
    )


def head_frozen(cfg) -> bool:
    return freezing.head_frozen(ever_trainable(cfg))


def _chance_cause(cfg, epochs: list[EpochEnded], floor: float, final: EpochEnded, n: int = 0) -> str:
    """Why a run ended near chance. With `n` (validation images) given, a final accuracy above `floor`
    whose interval still touches chance's is put down to the small validation set."""
    peak = max(epochs, key=lambda e: e.val_acc)
    if head_frozen(cfg):
        return "the new head is frozen, so its random outputs never learn your classes"
    # "Wrecked" only for a run that fell: one that ends at its peak was never wrecked.
    if peak.val_acc > floor + WRECK_RISE and peak.val_acc - final.val_acc > WRECK_RISE:
        return (
            f"it reached {peak.val_acc:.1%} in epoch {peak.epoch} and was then wrecked: "
            f"the learning rate ({cfg.lr:g}) is most likely too high"
        )
    if n and final.val_acc > floor:
        return (
            f"{n} validation images are too few to tell its lead over guessing from luck; more "
            "validation images per class narrow the interval"
        )
    if cfg.lr >= 0.01:
        return f"the learning rate ({cfg.lr:g}) is most likely so high that it wrecked the features at once"
    return "the model learned nothing: try more epochs, more images or a pretrained start"


def best_vs_final(status: str, epochs: list[EpochEnded], best_epoch: int | None = None) -> str:
    """A sentence when the best epoch (lowest validation loss: the one early stopping keeps) is not
    the one the run handed back, and another when a different epoch had the highest validation
    accuracy, under that name; '' when there is nothing to say."""
    if len(epochs) < 2:
        return ""
    final, best = final_epoch(status, epochs, best_epoch), events.best_epoch(epochs)
    notes = []
    if best is not None and best.epoch != final.epoch:
        what = {
            "stopped": "the stopped run's weights are from its last epoch",
        }.get(status, "early stopping (Training section) would have kept it")
        notes.append(
            f"Its best epoch (lowest validation loss) was epoch {best.epoch} ({best.val_acc:.1%}), "
            f"not the final one ({final.val_acc:.1%}): {what}."
        )
    top = max(epochs, key=lambda e: e.val_acc)
    if top.epoch not in (final.epoch, best and best.epoch) and top.val_acc - final.val_acc >= BEST_BEAT:
        notes.append(
            f"Its highest validation accuracy was in epoch {top.epoch} ({top.val_acc:.1%}), "
            f"{points(top.val_acc - final.val_acc)} above the weights it kept; accuracy on a small "
            f"validation set jumps more than the loss, so early stopping watches the loss."
        )
    return " ".join(notes)


def _near_chance(
    status: str, epochs: list[EpochEnded], num_classes: int, cfg, final: EpochEnded, n: int, notes: tuple[str, ...]
) -> Verdict:
    """A warning, never a green tick: the accuracy's 95% interval overlaps what guessing scores on
    the same number of validation images."""
    chance, acc = chance_level(num_classes), final.val_acc
    cause = _chance_cause(cfg, epochs, chance + CHANCE_MARGIN, final, n)
    ended = {"finished": f"finished {len(epochs)} epochs", "early_stopped": "stopped early", "stopped": "stopped"}.get(
        status, "ended"
    )
    return Verdict(
        "warning",
        f"within noise of chance ({ended}): validation accuracy "
        f"{stats.Accuracy.of(acc, n).words()}, while guessing among {num_classes} classes "
        f"scores {chance:.0%} ({stats.Accuracy.of(chance, n).band()} on {n} images). The "
        f"intervals overlap, so this run may have learned nothing: {cause}.",
        notes,
    )


def run_verdict(
    status: str,
    epochs: list[EpochEnded],
    num_classes: int,
    cfg,
    message: str = "",
    error: str = "",
    best_epoch: int | None = None,
    val_images: int | None = None,
) -> Verdict:
    """What a run's end means, in words, with the level to draw it at. With `val_images` known, an
    accuracy within noise of chance is a warning whatever the run's status."""
    if status == "failed":
        return Verdict("error", f"the run could not start: {error}")
    if status == "diverged":
        return Verdict(
            "error", f"the run diverged. {message} The LR range test (Learning rate section) finds a safer value."
        )
    if not epochs:
        return Verdict("info", message or "no epoch finished.")
    final = final_epoch(status, epochs, best_epoch)
    chance, acc = chance_level(num_classes), final.val_acc
    notes = tuple(n for n in [best_vs_final(status, epochs, best_epoch)] if n)
    if acc <= chance + CHANCE_MARGIN and status != "stopped":
        return Verdict(
            "error",
            f"about chance: validation accuracy {acc:.1%}, and guessing among "
            f"{num_classes} classes scores {chance:.0%}. The model is no better than a "
            f"guess: {_chance_cause(cfg, epochs, chance + CHANCE_MARGIN, final)}.",
            notes,
        )
    if val_images and stats.near_chance(acc, val_images, chance):
        return _near_chance(status, epochs, num_classes, cfg, final, val_images, notes)
    if status == "stopped":  # cut short by the learner: no verdict on what it would have learned
        return Verdict("info", f"{message} Validation accuracy when stopped: {acc:.1%} (chance: {chance:.0%}).", notes)
    above = f"{points(acc - chance)} above chance ({chance:.0%})"
    if status == "finished":
        return Verdict(
            "success", f"finished {len(epochs)} epochs: final validation accuracy **{acc:.1%}**, {above}.", notes
        )
    if status == "early_stopped":
        return Verdict("success", f"{message} Validation accuracy **{acc:.1%}**, {above}.", notes)
    return Verdict("info", message, notes)


def compare_finals(runs: list[tuple[str, float]]) -> str:
    """Which run won and by how much, from (label, final validation accuracy) pairs."""
    ranked = sorted(runs, key=lambda r: -r[1])
    if len(ranked) < 2:
        return ""
    (best, a), (second, b) = ranked[0], ranked[1]
    if a - b < 0.02:
        return f"**{best}** and **{second}** end about level ({a:.1%} vs {b:.1%}, {points(a - b)} apart)."
    return f"**{best}** won with {a:.1%}, {points(a - b)} ahead of **{second}** ({b:.1%})."
