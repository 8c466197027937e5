"""A Lab run as the learner's history keeps it and as the page describes it: the stored row, the
progress figures, the model a run handed back, and how two runs compare.

The page only draws these; keeping them here lets them be tested without Streamlit, and makes the
stored row and the Compare view report the same epoch the run's summary reports.
"""

from __future__ import annotations

from typing import Any

from core.data.datasets import DATASETS
from core.runs import stats
from core.train import schedules
from core.train.events import EpochEnded, final_epoch

# A core.jobs.manager.JobSnapshot: jobs sits above runs in the layers, so its type is not imported here.
JobSnapshot = Any

ACC_DIGITS = 4  # accuracies are stored to 0.01 points: float32 noise (0.8733333349227905) says nothing


def settings_of(cfg) -> dict:
    """The settings a history row keeps, in plain JSON values, so the class report can match a single
    run to the preset it was started from."""
    groups = list(cfg.trainable) + [f"{g}@{e}" for e, gs in sorted(cfg.unfreeze_at.items()) for g in gs]
    return {
        "dataset": cfg.dataset,
        "model": cfg.model,
        "pretrained": cfg.pretrained,
        "trainable": " ".join(groups),
        "lr": cfg.lr,
        "group_lr": ", ".join(f"{g}:{v:g}" for g, v in cfg.group_lr.items()),
        "schedule": schedules.describe(cfg),
        "optimizer": cfg.optimizer,
        "epochs": str(cfg.epochs),
        "per_class": cfg.per_class,
        "size": cfg.image_size,
        "batch": cfg.batch_size,
        "augment": cfg.augment,
    }


def kept_epoch(snap: JobSnapshot) -> EpochEnded | None:
    """The epoch whose weights the run handed back (early stopping restores its best epoch)."""
    best = snap.result.best_epoch if snap.result is not None and not isinstance(snap.result, dict) else None
    return final_epoch(snap.status, snap.epochs, best)


def kept_acc(snap: JobSnapshot) -> float | None:
    """Validation accuracy of the model the run handed back."""
    kept = kept_epoch(snap)
    return kept.val_acc if kept else None


def val_images(snap: JobSnapshot) -> int | None:
    """How many validation images the run's accuracies were measured on (None: not known)."""
    if snap.start is not None and snap.start.val_images:
        return snap.start.val_images
    if snap.result is not None and not isinstance(snap.result, dict) and snap.result.val_true:
        return len(snap.result.val_true)
    return None


def num_classes_of(snap: JobSnapshot) -> int:
    """Classes of the run: as it reported them, else as its dataset declares them."""
    classes = (snap.start.classes if snap.start else ()) or (snap.result.class_names if snap.result else [])
    if classes:
        return len(classes)
    spec = DATASETS.get(snap.config.dataset)
    if spec is None:
        raise ValueError(
            f"Run {snap.id} reported no classes and its dataset {snap.config.dataset!r} is not in the registry."
        )
    return spec.num_classes


def _acc(value: float | None) -> float | None:
    return None if value is None else round(float(value), ACC_DIGITS)


def history_row(snap: JobSnapshot, number: int) -> dict:
    """The run as the history keeps it (plain JSON values: it is stored in the progress database).
    Its accuracies are those of the model it handed back, and `kept_epoch` says which epoch that is."""
    cfg, kept = snap.config, kept_epoch(snap)
    return {
        "id": snap.id,
        "label": snap.label or f"run {number}",
        "status": snap.status,
        **settings_of(cfg),
        "epochs": f"{len(snap.epochs)}/{cfg.epochs}",
        "kept_epoch": kept and kept.epoch,
        "val_acc": kept and _acc(kept.val_acc),
        "val_images": val_images(snap),
        "train_acc": kept and _acc(kept.train_acc),
        "seconds": round((snap.finished or 0) - (snap.started or snap.created), 1),
        "curve": [
            {
                "epoch": e.epoch,
                "val_acc": _acc(e.val_acc),
                "train_acc": _acc(e.train_acc),
                "val_loss": e.val_loss,
                "train_loss": e.train_loss,
            }
            for e in snap.epochs
        ],
        "message": snap.message,
    }


def kept_note(row: dict) -> str:
    """' (weights of epoch 2 of 5)' when a stored run handed back an earlier epoch's weights, else ''."""
    kept, done = row.get("kept_epoch"), len(row.get("curve") or [])
    return f" (weights of epoch {kept} of {done})" if kept and done and kept != done else ""


def progress_numbers(snap: JobSnapshot) -> dict:
    """Fraction done, epoch, images/s and a naive ETA (time per step so far x steps left)."""
    if not snap.batches:
        return {"fraction": 0.0, "epoch": 0, "ips": None, "eta": None}
    last = snap.batches[-1]
    total = last.steps * snap.config.epochs
    done = last.global_step
    per_step = (last.elapsed - snap.batches[0].elapsed) / max(1, done - 1) if done > 1 else None
    eta = per_step * (total - done) if per_step is not None else None
    return {"fraction": min(1.0, done / max(1, total)), "epoch": last.epoch, "ips": last.images_per_s, "eta": eta}


def accuracy_of(acc: float | None, n: int | None) -> stats.Accuracy | None:
    """A validation accuracy on `n` images as an Accuracy, or None when either is not known."""
    return stats.Accuracy.of(acc, n) if acc is not None and acc == acc and n else None


def compare_runs(finals: list[tuple[str, float | None, int | None]]) -> str:
    """The leader against the runner-up: with intervals ("within noise") when both sizes are known."""
    ranked = sorted(((label, acc, n) for label, acc, n in finals if acc is not None), key=lambda f: -f[1])
    if len(ranked) < 2:
        return ""
    first, second = accuracy_of(*ranked[0][1:]), accuracy_of(*ranked[1][1:])
    if first is None or second is None:
        from core.runs.analysis import compare_finals  # torch-heavy; only runs without validation sizes

        return compare_finals([(label, acc) for label, acc, _ in ranked])
    return stats.compare(ranked[0][0], first, ranked[1][0], second)
