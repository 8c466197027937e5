"""What a run hands back: its reason for ending, every epoch's and batch's events, the model and the
validation predictions. core.train.engine builds it; pages, reports and the CLI read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from core.train.config import TrainConfig
from core.train.events import BatchEnded, EpochEnded


@dataclass
class RunResult:
    reason: str  # finished | early_stopped | stopped | diverged
    message: str
    config: TrainConfig
    class_names: list[str]
    epochs: list[EpochEnded]  # one per finished epoch
    batches: list[BatchEnded]  # one per batch
    val_true: list[int] = field(default_factory=list)
    val_pred: list[int] = field(default_factory=list)
    best_epoch: int | None = None
    device: str = "cpu"
    timings: dict = field(default_factory=dict)
    cache: str = ""  # how the frozen prefix was handled: a core.train.freezing.CACHE_* code
    model: torch.nn.Module | None = None
    val_probs: torch.Tensor | None = None  # softmax [N_val, n_classes] of the returned model, on the CPU
    test_acc: float | None = None  # the returned model on held-out test images (None: no test images)
    test_images: int = 0

    @property
    def final(self) -> EpochEnded | None:
        """Metrics of the model the run hands back: after early stopping, the restored best epoch."""
        if self.reason == "early_stopped" and self.best_epoch:
            return self.epochs[self.best_epoch - 1]
        return self.epochs[-1] if self.epochs else None

    def summary(self) -> dict:
        f = self.final
        return {
            "reason": self.reason,
            "message": self.message,
            "epochs_run": len(self.epochs),
            "best_epoch": self.best_epoch,
            "train_acc": f and f.train_acc,
            "val_acc": f and f.val_acc,
            "train_loss": f and f.train_loss,
            "val_loss": f and f.val_loss,
            "trainable_params": f and f.trainable_params,
            "total_params": f and f.total_params,
            "device": self.device,
            "cache": self.cache,
            "test_acc": self.test_acc,
            "test_images": self.test_images,
            "seconds": round(self.timings.get("total_s", 0.0), 2),
            "timings": self.timings,
        }
